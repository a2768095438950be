"""Run a canonical problem end to end: build, simulate, score, summarize, save.

:func:`run_problem` is what ``evsim run`` does, as a function (sweeps and
experiments call it too). :func:`load_config` reads the TOML form.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from . import topologies
from .analysis.metrics import rmse, rmse_over_time, time_to_tolerance
from .problems import get_problem, reference
from .result import Result
from .simulate import simulate

__all__ = ["run_problem", "load_config", "CONFIG_KEYS"]

#: Keys accepted in a run configuration (TOML) and by :func:`run_problem`.
CONFIG_KEYS = ("problem", "cells", "quota", "t_end", "engine", "diffusivity", "initial",
               "max_events", "max_wall_seconds", "out", "provenance")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a run configuration from a TOML file.

    Keys: ``problem`` (required), ``cells``, ``quota``, ``t_end``, ``engine``,
    ``diffusivity`` (overrides the problem's operator, e.g. a fitted one),
    ``initial`` (name of another problem whose initial condition to use),
    ``max_events``, ``max_wall_seconds``, ``out``, and a free ``[provenance]``
    table copied into ``summary.json``.
    """
    path = Path(path)
    with path.open("rb") as fh:
        config = tomllib.load(fh)
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown configuration key(s) {sorted(unknown)}; "
                         f"allowed: {list(CONFIG_KEYS)}")
    if "problem" not in config:
        raise ValueError(f"{path}: the configuration must name a 'problem'")
    return config


def run_problem(problem: str, *, cells: int | None = None, quota: float | None = None,
                t_end: float | None = None, engine: str = "compiled",
                diffusivity: float | None = None, initial: str | None = None,
                max_events: int | None = None, max_wall_seconds: float | None = None,
                out: str | Path | None = None, provenance: dict | None = None,
                plots: bool = True, progress: bool | None = None) -> tuple[Result, dict]:
    """Simulate a canonical problem and score it against its reference.

    Parameters
    ----------
    problem
        Registered problem name (see :mod:`evsim.problems`).
    cells, quota, t_end, diffusivity
        Overrides of the problem's defaults.
    engine
        ``"compiled"`` or ``"simpy"``.
    initial
        Use the initial condition of this other problem (zero-shot runs); the
        reference is then the semi-discrete solution.
    max_events, max_wall_seconds
        Limits passed to :func:`evsim.simulate`.
    out
        Directory for ``summary.json``, ``result.npz`` and figures (None: keep
        everything in memory).
    provenance
        Free-form dictionary copied into the summary (e.g. distillation source).

    Returns
    -------
    (Result, dict)
        The result and the summary (keys as in DESIGN.md, plus ``records``: record
        times reached and planned). A run stopped before ``t_end`` is scored at the
        state where it stopped: ``rmse_final`` compares ``final_potential`` with the
        reference at ``t_final``.
    """
    prob = get_problem(problem)
    cells = prob.cells if cells is None else int(cells)
    kappa = prob.diffusivity if diffusivity is None else float(diffusivity)
    t_end = prob.t_end if t_end is None else float(t_end)
    quota = prob.quota if quota is None else float(quota)
    graph = prob.build(cells, kappa)
    x = topologies.cell_positions(graph)
    u0 = (prob if initial is None else get_problem(initial)).initial(x)
    record = prob.record_times(t_end)

    result = simulate(graph, u0, quota=quota, t_end=t_end, record=record, engine=engine,
                      max_events=max_events, max_wall_seconds=max_wall_seconds, progress=progress)
    own = initial is None and diffusivity is None
    ref = reference(prob, graph, result.times, u0, use_exact=own)
    err_t = rmse_over_time(result.potential, ref)
    rmse_final = float(err_t[-1])
    if result.stop_reason != "t_end":   # score the state where the run stopped, not the last record
        at_stop = reference(prob, graph, np.array([result.t_final]), u0, use_exact=own)[0]
        rmse_final = rmse(result.final_potential, at_stop)
    summary: dict[str, Any] = {
        "problem": problem, "cells": result.network.cells, "edges": result.network.size,
        "quota": quota, "t_end": t_end, "engine": engine, "spikes": result.spikes,
        "rmse": rmse(result.potential, ref), "rmse_final": rmse_final,
        "records": [int(result.times.size), int(record.size)],
        "reference": "exact" if own and prob.exact is not None else "semi-discrete",
        "ledger_residual": result.ledger.residual, "mass_initial": result.mass_initial,
        "mass_final": result.mass_final, "boundary_mass": result.boundary_mass,
        "in_transit": result.in_transit, "wall_seconds": result.wall_seconds,
        "events_per_second": result.events_per_second, "stop_reason": result.stop_reason,
        "t_final": result.t_final, "diffusivity": kappa,
    }
    if initial is not None:
        summary["initial"] = initial
    if own and prob.exact is not None:  # report the quantization error alone too
        from .teachers import semidiscrete

        semi = semidiscrete(graph, u0, result.times)
        summary["rmse_semidiscrete"] = rmse(result.potential, semi)
        summary["rmse_discretization"] = rmse(semi, ref)
    if prob.steady is not None:
        steady = prob.steady(x)
        steady_err = rmse_over_time(result.potential, steady[None, :].repeat(len(result.times), 0))
        summary["rmse_steady"] = (float(steady_err[-1]) if result.stop_reason == "t_end"
                                  else rmse(result.final_potential, steady))
        summary["t_steady"] = time_to_tolerance(result.times, steady_err, 5e-3)
    if provenance:
        summary["provenance"] = provenance
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result.save(out / "result.npz")
        if plots:
            from .analysis.plots import plot_run

            figures = plot_run(result, ref, graph, out, title=problem)
            if "simplices" in graph.graph:  # irregular mesh: fields and spikes on the mesh itself
                from .analysis.meshplot import plot_mesh_result

                figures += plot_mesh_result(graph, result, out, ref)
            summary["figures"] = [p.name for p in figures]
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return result, summary
