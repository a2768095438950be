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

from evsim.errors import ConfigError, ResultFileError
from evsim.result import Result

from .case import make_case

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
    try:
        with path.open("rb") as fh:
            config = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ResultFileError(f"{path}: not a valid TOML file ({err})") from None
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown configuration key(s) {sorted(unknown)}; "
                          f"allowed: {list(CONFIG_KEYS)}")
    if "problem" not in config:
        raise ConfigError(f"{path}: the configuration must name a 'problem'")
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
        Registered problem name (see :mod:`evsim.workflow.problems`).
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
        The result and the summary (keys as in the README, plus ``records``: record
        times reached and planned). A run stopped before ``t_end`` is scored at the
        state where it stopped: ``rmse_final`` compares ``final_potential`` with the
        reference at ``t_final``.
    """
    case = make_case(problem, cells=cells, diffusivity=diffusivity, t_end=t_end, quota=quota,
                     initial=initial)
    result = case.simulate(engine=engine, max_events=max_events,
                           max_wall_seconds=max_wall_seconds, progress=progress)
    scores = case.score(result)
    summary: dict[str, Any] = {
        "problem": problem, "cells": result.network.cells, "edges": result.network.size,
        "quota": case.quota, "t_end": case.t_end, "engine": engine, "spikes": result.spikes,
        "rmse": scores["rmse"], "rmse_final": scores["rmse_final"], "records": scores["records"],
        "reference": scores["reference"],
        "ledger_residual": result.ledger.residual, "mass_initial": result.mass_initial,
        "mass_final": result.mass_final, "boundary_mass": result.boundary_mass,
        "in_transit": result.in_transit, "wall_seconds": result.wall_seconds,
        "events_per_second": result.events_per_second, "stop_reason": result.stop_reason,
        "t_final": result.t_final, "diffusivity": case.diffusivity,
    }
    if initial is not None:
        summary["initial"] = initial
    summary.update({k: v for k, v in scores.items() if k not in summary})
    if provenance:
        summary["provenance"] = provenance
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result.save(out / "result.npz")
        if plots:
            from evsim.analysis.plots import plot_run

            ref = case.reference(result.times)
            figures = plot_run(result, ref, case.graph, out, title=problem,
                               reference_kind=case.reference_kind)
            if "simplices" in case.graph.graph:  # irregular mesh: fields and spikes on the mesh itself
                from evsim.analysis.meshplot import plot_mesh_result

                figures += plot_mesh_result(case.graph, result, out, ref,
                                            reference_kind=case.reference_kind)
            summary["figures"] = [p.name for p in figures]
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return result, summary
