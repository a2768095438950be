"""Energy of a PISNN run vs a time-stepped solver and a PINN, at matched accuracy.

:func:`compare_solvers` sets up one :class:`~evsim.workflow.case.Case`, runs the
PISNN on it and costs it with :func:`evsim.analysis.energy.energy`, FTCS with
:func:`evsim.analysis.costs.ftcs_cost` and the shipped PINN with
:func:`evsim.analysis.costs.pinn_cost` (the operation counts are derived there).

Accuracy is matched on the quantity each method gets wrong: the PISNN's
quantization error and FTCS's time-stepping error are both measured against
the semi-discrete solution of the same graph (exact in time,
:meth:`Case.semidiscrete <evsim.workflow.case.Case.semidiscrete>`). FTCS cannot
take steps above its stability limit ``dt_max``, so if it is already more
accurate than the PISNN at ``dt_max`` the PISNN is re-run at the quota that
matches FTCS's error (first-order law ``RMSE ~ q``):

.. math:: q' = q\\, \\frac{\\mathrm{RMSE}_\\mathrm{FTCS}}{\\mathrm{RMSE}_\\mathrm{PISNN}};

otherwise FTCS is re-run with
``dt = dt_max RMSE_PISNN / RMSE_FTCS``. The break-even activity
(:func:`evsim.analysis.costs.break_even`) is taken against the matched FTCS run.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evsim.analysis.costs import break_even, ftcs_cost, pinn_cost
from evsim.analysis.energy import energy, event_counts
from evsim.analysis.metrics import rmse

from .case import make_case

__all__ = ["compare_solvers"]


def compare_solvers(problem: str = "heat1d", quota: float | None = None, cells: int | None = None,
                    t_end: float | None = None, profiles: Sequence[str] = ("loihi", "cmos45"),
                    use_pinn: bool = True) -> dict[str, Any]:
    """Energy of PISNN vs FTCS vs PINN on a canonical problem at matched accuracy.

    Parameters
    ----------
    problem, quota, cells, t_end
        Problem and overrides (see :func:`evsim.workflow.case.make_case`).
    profiles
        Profiles the PISNN is costed on (FTCS and PINN run on ``cmos45``).
    use_pinn
        Include the shipped PINN teacher when the problem is ``heat1d`` and the
        teacher is available; the PINN is scored on its training window
        ``t <= t_train`` against the case's reference (the exact solution).

    Returns
    -------
    dict
        ``pisnn``, ``ftcs``, ``pinn`` (or None) sections with RMSEs, counts and
        energies, ``matched`` (how accuracy was matched) and ``break_even`` per
        profile.

    Raises
    ------
    ConfigError
        For an unknown problem or a non-positive override.
    """
    case = make_case(problem, cells=cells, t_end=t_end, quota=quota)
    semi = case.semidiscrete()

    def pisnn(q):
        r = case.simulate(quota=q)
        return r, case.score(r)

    quota = case.quota
    result, scores = pisnn(quota)
    err = scores["rmse_semidiscrete"]
    ftcs = ftcs_cost(case.graph, case.u0, case.times)
    err_ftcs = rmse(ftcs["field"], semi)
    if err_ftcs > err:  # FTCS less accurate at dt_max: shrink its step (first order)
        ftcs = ftcs_cost(case.graph, case.u0, case.times, cfl=float(np.clip(err / err_ftcs, 1e-6, 1.0)))
        err_ftcs = rmse(ftcs["field"], semi)
        matched = "ftcs step reduced to the PISNN error"
    elif err_ftcs > 0:  # FTCS more accurate at its largest stable step: coarsen the quota
        quota = quota * err_ftcs / err
        result, scores = pisnn(quota)
        err = scores["rmse_semidiscrete"]
        matched = "pisnn quota set to the FTCS error at its stability limit"
    else:
        matched = "ftcs exact"
    counts = event_counts(result)
    n = counts.neurons
    out: dict[str, Any] = {
        "problem": problem, "cells": n, "t_end": case.t_end, "matched": matched,
        "pisnn": {"quota": quota, "spikes": int(result.spikes), "rmse_semidiscrete": err,
                  "rmse": scores["rmse"], "counts": counts.as_dict(),
                  "energy": {p: energy(counts, p).total for p in profiles}},
        "ftcs": {k: v for k, v in ftcs.items() if k != "field"} | {"rmse_semidiscrete": err_ftcs},
        "pinn": None,
    }
    out["break_even"] = {p: break_even(counts, p, ftcs["energy"], n, case.t_end) for p in profiles}
    out["ratio_ftcs_over_pisnn"] = {p: ftcs["energy"] / out["pisnn"]["energy"][p] for p in profiles}
    if use_pinn and case.name == "heat1d":
        try:
            from evsim.teachers.pinn import load_shipped
            teacher = load_shipped()
        except (ImportError, FileNotFoundError):
            teacher = None
        if teacher is not None:
            window = case.times[case.times <= teacher.pde.t_train + 1e-12]
            exact = case.reference(window)
            cost = pinn_cost(teacher, n * len(case.times))
            cost["rmse_train_window"] = rmse(teacher(case.x, window), exact)
            cost["rmse_pisnn_same_window"] = rmse(result.potential[: len(window)], exact)
            out["pinn"] = cost
            out["ratio_pinn_over_pisnn"] = {p: cost["energy"] / out["pisnn"]["energy"][p] for p in profiles}
            out["pinn_flops_over_spikes"] = cost["flops"] / max(result.spikes, 1)
    return out
