"""Distill a PISNN for a canonical problem and write the configuration ``evsim run`` reads.

:func:`distill_problem` sets up the problem on its training window (a
:class:`~evsim.workflow.case.Case`), fits the conductance scale and chooses the quota
against a teacher (:func:`evsim.teachers.distill.distill_graph`, the fitted graph rebuilt by
:meth:`Case.with_diffusivity <evsim.workflow.case.Case.with_diffusivity>`), and writes
the TOML configuration (:func:`write_config`) with a ``[provenance]`` table recording the
teacher, the fit and the quota search.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from evsim.atomic import write_atomic
from evsim.errors import ConfigError
from evsim.teachers.base import Teacher
from evsim.teachers.distill import ConductanceFit, OperatorFit, QuotaChoice, distill_graph

from .case import Case, make_case

__all__ = ["Distilled", "distill_problem", "write_config", "to_toml"]


# --------------------------------------------------------------------------- TOML config
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write a {type(v).__name__} ({v!r}) to TOML")


def _toml_pairs(table: Mapping[str, Any], lines: list[str]) -> list[tuple[str, Mapping]]:
    """Append the ``key = value`` lines of ``table``; return its sub-tables."""
    sub = []
    for k, v in table.items():
        if isinstance(v, Mapping):
            sub.append((k, v))
        elif v is not None:
            lines.append(f"{k} = {_toml_value(v)}")
    return sub


def to_toml(data: Mapping[str, Any]) -> str:
    """Serialise a mapping of scalars, strings, lists and (two levels of nested) tables to TOML.

    Raises
    ------
    ConfigError
        For a value TOML cannot hold here, or tables nested more than two levels.
    """
    lines: list[str] = []
    for name, table in _toml_pairs(data, lines):
        lines += ["", f"[{name}]"]
        for sname, stable in _toml_pairs(table, lines):
            lines += ["", f"[{name}.{sname}]"]
            if _toml_pairs(stable, lines):
                raise ConfigError(f"table [{name}.{sname}] holds tables: TOML tables nested more than two levels are not supported")
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, *, problem: str, cells: int, quota: float, t_end: float,
                 diffusivity: float | None = None, engine: str = "compiled",
                 initial: str | None = None, provenance: Mapping[str, Any] | None = None) -> Path:
    """Write a PISNN configuration that ``evsim run CONFIG.toml`` accepts.

    Parameters
    ----------
    path
        File to write (parent directories are created).
    problem
        Base problem: graph builder, initial condition, reference.
    cells, quota, t_end, engine
        The run.
    diffusivity
        Overrides the problem's (the fitted operator).
    initial
        Name of another problem whose initial condition is used (a zero-shot run).
    provenance
        The free-form ``[provenance]`` table.

    Returns
    -------
    Path
        ``path``.
    """
    data: dict[str, Any] = {"problem": problem, "cells": int(cells), "quota": float(quota),
                            "t_end": float(t_end), "engine": engine}
    if diffusivity is not None:
        data["diffusivity"] = float(diffusivity)
    if initial is not None:
        data["initial"] = initial
    data["provenance"] = dict(provenance or {})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, to_toml(data))


# --------------------------------------------------------------------------- the pipeline
@dataclass
class Distilled:
    """A PISNN distilled from a teacher for a canonical problem (output of :func:`distill_problem`).

    Attributes
    ----------
    base
        The problem on the training window at its own diffusivity (the fit's graph; its
        reference is the problem's exact solution).
    case
        The fitted student: ``base`` rebuilt at the fitted diffusivity, with the chosen quota
        (``case.graph``, ``case.u0``, ``case.times``: the training-window snapshots).
    teacher_field
        ``(T, N)`` teacher field at the cells on ``case.times``.
    fit, quota
        :class:`~evsim.teachers.distill.OperatorFit` and
        :class:`~evsim.teachers.distill.QuotaChoice`.
    config
        Path of the written TOML configuration (or None).
    provenance
        The ``[provenance]`` table written to ``config``.
    """

    base: Case
    case: Case
    teacher_field: np.ndarray
    fit: OperatorFit | ConductanceFit
    quota: QuotaChoice
    config: Path | None
    provenance: dict


def distill_problem(teacher: Teacher, problem: str = "heat1d", cells: int | None = None,
                    t_train: float = 0.5, n_times: int = 51, target_rmse: float | None = 5e-4,
                    spike_budget: int | None = None, t_end: float | None = None,
                    config: str | Path | None = None, engine: str = "compiled",
                    teacher_info: Mapping[str, Any] | None = None, operator: str = "scale",
                    **search: Any) -> Distilled:
    """Distill a PISNN for canonical ``problem`` from ``teacher`` on ``[0, t_train]``.

    Parameters
    ----------
    teacher
        Evaluated at the cell centres.
    problem, cells
        Canonical problem and resolution (default the problem's).
    t_train, n_times
        The training window and its number of uniform snapshots (fit and quota search).
    target_rmse, spike_budget
        Quota criterion (:func:`~evsim.teachers.distill.choose_quota`; a ``spike_budget``
        takes precedence); ``search`` holds its further options.
    t_end
        Final time written to the configuration (default the problem's).
    config
        Where to write the TOML configuration (None: not written).
    engine
        Engine of the quota runs and of the configuration.
    teacher_info
        Extra provenance entries (teacher file, layers, ...).
    operator
        ``"scale"`` (one conductance scale, the default), or a learned operator,
        ``"edges"`` / ``"regions"`` (:func:`~evsim.teachers.distill.fit_conductances`;
        ``regions=`` and ``smoothness=`` go in ``search``): the student's graph then
        carries the learned conductances, which a TOML configuration cannot hold
        (``config`` must be None).

    Returns
    -------
    Distilled

    Raises
    ------
    ConfigError
        For an unknown problem or a non-positive ``cells`` or ``t_train``.
    """
    if operator != "scale" and config is not None:
        raise ConfigError(f"operator={operator!r}: learned conductances cannot be written to a "
                          "run configuration (it holds one diffusivity); pass config=None")
    base = make_case(problem, cells=cells, t_end=t_train,
                     record=np.linspace(0.0, t_train, n_times))
    d = distill_graph(teacher, base.graph, base.u0, base.times,
                      rebuild=lambda kappa: base.with_diffusivity(kappa).graph,
                      target_rmse=target_rmse, spike_budget=spike_budget, engine=engine,
                      operator=operator, **search)
    case = (base.with_diffusivity(d.fit.diffusivity) if operator == "scale"
            else replace(base, graph=d.graph, _memo={})).with_quota(d.quota.quota)
    prov = d.provenance(teacher_info)
    path = None
    if config is not None:
        path = write_config(config, problem=base.name, cells=base.cells, quota=d.quota.quota,
                            t_end=float(t_end if t_end is not None else base.problem.t_end),
                            diffusivity=d.fit.diffusivity, engine=engine, provenance=prov)
    return Distilled(base, case, d.teacher_field, d.fit, d.quota, path, prov)
