"""One run's set-up: the pipeline "problem -> graph -> positions -> u0 -> record times ->
simulate -> reference -> score", written once.

>>> from evsim.workflow import get_problem
>>> case = get_problem("heat1d").case(quota=1e-4, t_end=0.5)
>>> result = case.simulate(progress=False)
>>> scores = case.score(result)          # rmse, rmse_final, reference, ...
>>> scores["reference"], result.ledger.residual
('exact', 0)

A :class:`Case` is built by :func:`make_case` (or :meth:`Problem.case
<evsim.workflow.problems.Problem.case>`) and used by the runner, the sweeps, the
solver comparison, the hardware and paper experiments, distillation and the
baselines. Its reference is the problem's exact solution (at the case's
diffusivity) when the run starts from the problem's own initial condition, else the
semi-discrete solution of the same graph (:func:`evsim.teachers.semidiscrete`),
which isolates the quantization error.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np

from evsim.analysis.metrics import rmse, rmse_over_time, time_to_tolerance
from evsim.errors import ConfigError
from evsim.result import Result
from evsim.simulate import simulate
from evsim.teachers import semidiscrete
from evsim.topologies import cell_positions

from .problems import BYTES_PER_CELL, Problem, get_problem

__all__ = ["Case", "make_case", "STEADY_TOLERANCE", "BYTES_PER_CELL"]

#: RMSE to the steady state below which a run counts as converged (``t_steady``).
STEADY_TOLERANCE = 5e-3



def _physical_memory() -> int:
    """Bytes of physical memory of this machine (0 where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass(frozen=True, eq=False)
class Case:
    """A problem at one resolution, diffusivity, horizon and quota, ready to run.

    Attributes
    ----------
    problem
        The :class:`~evsim.workflow.problems.Problem`.
    cells
        Resolution passed to ``problem.build`` (cells per axis, or target cell count).
    diffusivity, t_end, quota
        The operator's diffusivity, the final time and the default packet mass.
    graph
        The cell graph (``problem.build(cells, diffusivity)``).
    x
        ``(N, dim)`` cell positions.
    u0
        ``(N,)`` initial potentials.
    times
        Record times in ``[0, t_end]``.
    initial
        Name of the problem whose initial condition ``u0`` is (None: the problem's own).
    """

    problem: Problem
    cells: int
    diffusivity: float
    t_end: float
    quota: float
    graph: nx.Graph = field(repr=False)
    x: np.ndarray = field(repr=False)
    u0: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    initial: str | None = None
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        """The problem's name."""
        return self.problem.name

    @property
    def reference_kind(self) -> str:
        """``"exact"`` or ``"semi-discrete"``: what :meth:`reference` returns."""
        return "exact" if self.initial is None and self.problem.has_exact else "semi-discrete"

    # ------------------------------------------------------------------ references
    def semidiscrete(self, times: np.ndarray | None = None) -> np.ndarray:
        """The same graph integrated exactly in time, ``(T, N)`` at ``times`` (default :attr:`times`)."""
        times = self.times if times is None else np.asarray(times, dtype=float)
        key = ("semi", times.tobytes())
        if key not in self._memo:
            self._memo[key] = semidiscrete(self.graph, self.u0, times)
        return self._memo[key]

    def reference(self, times: np.ndarray | None = None) -> np.ndarray:
        """Reference potentials ``(T, N)`` at ``times`` (default :attr:`times`).

        The exact solution at :attr:`diffusivity` when :attr:`reference_kind` is
        ``"exact"``, else :meth:`semidiscrete`.
        """
        times = self.times if times is None else np.asarray(times, dtype=float)
        if self.reference_kind == "exact":
            return self.problem.exact(self.x, times, self.diffusivity)
        return self.semidiscrete(times)

    def steady(self) -> np.ndarray | None:
        """The analytic steady state ``(N,)``, or None."""
        return None if self.problem.steady is None else self.problem.steady(self.x)

    # ------------------------------------------------------------------ run and score
    def simulate(self, quota: float | None = None, **options: Any) -> Result:
        """:func:`evsim.simulate` on this case (``quota`` default :attr:`quota`).

        ``options`` are passed on (``engine``, ``routing``, ``spike_log``,
        ``max_events``, ``progress``, ...); ``record`` defaults to :attr:`times`.
        A different ``graph=`` (e.g. with hop latencies) may be passed, with the
        same cells in the same order.
        """
        graph = options.pop("graph", self.graph)
        options.setdefault("record", self.times)
        q = self.quota if quota is None else float(quota)
        return simulate(graph, self.u0, quota=q, t_end=self.t_end, **options)

    def score(self, result: Result, semidiscrete: bool = True) -> dict[str, Any]:
        """Errors of ``result`` against the references.

        Parameters
        ----------
        result
            A run of this case.
        semidiscrete
            Integrate the graph in time where the scores need it (the expensive
            part of scoring on large or stiff graphs). False skips it: with an
            exact reference ``rmse_semidiscrete`` and ``rmse_discretization`` are
            left out; with a semi-discrete reference ``rmse``, ``rmse_final`` and
            ``rmse_semidiscrete`` are None.

        Returns
        -------
        dict
            ``rmse`` (over all record times reached, and for a stopped run the
            state where it stopped), ``rmse_final``, ``records`` (record
            times reached, planned), ``reference`` (:attr:`reference_kind`),
            ``rmse_semidiscrete`` (the quantization error alone), with an exact
            reference ``rmse_discretization`` (semi-discrete vs exact), and with an
            analytic steady state ``rmse_steady`` and ``t_steady``. A run stopped
            before ``t_end`` is scored at the state where it stopped:
            ``rmse_final`` (and ``rmse_steady``) compare ``final_potential`` with
            the reference at ``t_final``.
        """
        stopped = result.stop_reason != "t_end"
        scores: dict[str, Any] = {"rmse": None, "rmse_final": None,
                                  "records": [int(result.times.size), int(self.times.size)],
                                  "reference": self.reference_kind}
        exact = self.reference_kind == "exact"
        if exact or semidiscrete:
            ref = self.reference(result.times)
            fields, refs = result.potential, ref
            if stopped:   # the state where the run stopped counts too (it is not a record)
                at_stop = self.reference(np.array([result.t_final]))
                fields = np.vstack([fields, result.final_potential[None, :]])
                refs = np.vstack([refs, at_stop])
            scores.update(rmse=rmse(fields, refs), rmse_final=float(rmse_over_time(fields, refs)[-1]))
        if exact and semidiscrete:
            semi = self.semidiscrete(result.times)
            scores["rmse_semidiscrete"] = rmse(result.potential, semi)
            scores["rmse_discretization"] = rmse(semi, ref)
        elif not exact:
            scores["rmse_semidiscrete"] = scores["rmse"]
        steady = self.steady()
        if steady is not None:
            steady_err = rmse_over_time(result.potential,
                                        np.broadcast_to(steady, result.potential.shape))
            scores["rmse_steady"] = (rmse(result.final_potential, steady) if stopped
                                     else float(steady_err[-1]))
            scores["t_steady"] = time_to_tolerance(result.times, steady_err, STEADY_TOLERANCE)
        return scores

    def with_diffusivity(self, diffusivity: float) -> "Case":
        """The same case on the graph rebuilt with another diffusivity (e.g. a fitted one)."""
        return make_case(self.problem, cells=self.cells, diffusivity=diffusivity,
                         t_end=self.t_end, quota=self.quota, initial=self.initial,
                         record=self.times)

    def with_quota(self, quota: float) -> "Case":
        """The same case with another default quota (same graph, same references)."""
        return replace(self, quota=float(quota))


def make_case(problem: str | Problem, *, cells: int | None = None,
              diffusivity: float | None = None, t_end: float | None = None,
              quota: float | None = None, initial: str | None = None,
              record: np.ndarray | None = None) -> Case:
    """Set up a run of ``problem`` with any of its defaults overridden.

    Parameters
    ----------
    problem
        A registered name or a :class:`~evsim.workflow.problems.Problem`.
    cells, diffusivity, t_end, quota
        Overrides of the problem's defaults.
    initial
        Use the initial condition of this other problem (a zero-shot run); the
        reference is then the semi-discrete solution.
    record
        Record times (default: ``problem.record_times(t_end)``).

    Raises
    ------
    ConfigError
        For an unknown problem, a non-positive ``cells``, ``diffusivity``,
        ``t_end`` or ``quota``, or a ``cells`` whose cells would not fit in this
        machine's memory (the problem's ``bytes_per_cell`` each; refused before building).
    """
    prob = get_problem(problem) if isinstance(problem, str) else problem
    values = {"cells": prob.cells if cells is None else cells,
              "diffusivity": prob.diffusivity if diffusivity is None else diffusivity,
              "t_end": prob.t_end if t_end is None else t_end,
              "quota": prob.quota if quota is None else quota}
    for key, value in values.items():
        try:
            number = int(value) if key == "cells" else float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
        if not number > 0:
            raise ConfigError(f"{key} must be > 0, got {value!r}")
        values[key] = number
    cells, memory = prob.cell_count(values["cells"]), _physical_memory()
    if memory and cells * prob.bytes_per_cell > memory:
        raise ConfigError(f"cells = {values['cells']} gives {prob.name} about {cells:.3g} cells, "
                          f"which need about {cells * prob.bytes_per_cell / 2**30:.3g} GiB; this "
                          f"machine has {memory / 2**30:.3g} GiB: choose a smaller cells")
    graph = prob.build(values["cells"], values["diffusivity"])
    x = cell_positions(graph)
    u0 = (prob if initial is None else get_problem(initial)).initial(x)
    times = prob.record_times(values["t_end"]) if record is None else np.asarray(record, float)
    return Case(prob, graph=graph, x=x, u0=np.asarray(u0, dtype=float), times=times,
                initial=initial, **values)
