"""Energy of a PISNN run vs a time-stepped solver and a PINN, at matched accuracy.

Three ways to get ``u(x, t)`` on the same cell graph, each costed from its
operation counts:

- **PISNN** (event-driven C-LIF/CFQ): the event counts of the run times the
  per-event costs of a profile (:func:`evsim.analysis.energy.energy`).
- **FTCS** (explicit Euler on the same graph, :mod:`evsim.teachers.ftcs`): per
  step ``3 n_cc + 2 n_cr + N`` fp32 adds and ``n_cc + n_cr + N`` fp32 mults
  (the teacher's flux-form count: 4 FLOPs per cell-cell edge, 3 per
  cell-reservoir edge, 2 per cell), so

  .. math:: E_\\mathrm{FTCS} = n_\\mathrm{steps} \\big[(3 n_{cc} + 2 n_{cr} + N) e_\\mathrm{add}
            + (n_{cc} + n_{cr} + N) e_\\mathrm{mult}\\big].

- **PINN** inference (:mod:`evsim.teachers.pinn`): ``sum_l a_l b_l`` MACs per
  point for the dense layers, the remaining FLOPs of
  :meth:`~evsim.teachers.pinn.PINNTeacher.flops_per_point` charged as fp32
  mults, times ``N T`` evaluation points.

Accuracy is matched on the quantity each method gets wrong: the PISNN's
quantization error and FTCS's time-stepping error are both measured against
the semi-discrete solution of the same graph (exact in time). FTCS cannot take
steps above its stability limit ``dt_max``, so if it is already more accurate
than the PISNN at ``dt_max`` the PISNN is re-run at the quota that matches
FTCS's error (first-order law ``RMSE ~ q``); otherwise FTCS is re-run with
``dt = dt_max RMSE_PISNN / RMSE_FTCS``.

Break-even activity: with an average energy ``e_p`` per packet (all dynamic
event kinds of the run divided by its ``P`` packets), the PISNN costs less than
FTCS while ``P < P^* = E_FTCS / e_p``, i.e. while the activity (packets per cell
per unit time) stays below :math:`a^* = P^* / (N\\, t_\\mathrm{end})`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from evsim.analysis.energy import CMOS45, EventCounts, energy, event_counts, get_profile

__all__ = ["ftcs_cost", "pinn_cost", "break_even", "compare_solvers"]


def ftcs_cost(graph, u0: np.ndarray, times: np.ndarray, cfl: float = 1.0,
              profile=CMOS45) -> dict[str, Any]:
    """Run FTCS on ``graph`` and cost it (adds/mults as in the module docstring).

    Returns a dict with ``field`` (T, N), ``steps``, ``dt``, ``flops`` (the
    teacher's count), ``adds``, ``mults`` and ``energy`` (J on ``profile``).
    """
    from evsim.teachers.base import cell_operator
    from evsim.teachers.ftcs import ftcs, ftcs_flops_per_step, ftcs_stable_dt
    op = cell_operator(graph)
    field, steps, flops = ftcs(op, u0, times, cfl=cfl)
    n = len(op.volume)
    n_src = int(np.count_nonzero(op.source))
    adds = steps * (3 * op.n_cell_edges + 2 * op.n_reservoir_edges + n + n_src)
    mults = steps * (op.n_cell_edges + op.n_reservoir_edges + n)
    if adds + mults != flops or flops != steps * ftcs_flops_per_step(op):
        raise RuntimeError("FTCS add/mult split disagrees with the teacher's FLOP count")
    return {"field": field, "steps": int(steps), "dt": cfl * ftcs_stable_dt(op), "cfl": cfl,
            "flops": int(flops), "adds": int(adds), "mults": int(mults),
            "energy": get_profile(profile).flop_energy(adds=adds, mults=mults)}


def pinn_cost(teacher, n_points: int, profile=CMOS45) -> dict[str, Any]:
    """Cost of evaluating a PINN teacher at ``n_points`` space-time points.

    ``macs = sum_l a_l b_l`` over the dense layers (``a_l -> b_l``);
    ``other = flops_per_point - 2 macs`` are charged as fp32 mults.
    """
    sizes = list(teacher.sizes)
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_point = int(teacher.flops_per_point())
    other = per_point - 2 * macs
    if other < 0:
        raise ValueError("PINN FLOP count smaller than its dense-layer MACs")
    e = get_profile(profile).flop_energy(macs=macs * n_points, mults=other * n_points)
    return {"sizes": sizes, "flops_per_point": per_point, "macs_per_point": macs,
            "points": int(n_points), "flops": per_point * int(n_points), "energy": e}


def break_even(counts: EventCounts, profile, reference_energy: float, cells: int,
               t_end: float) -> dict[str, float]:
    """Break-even activity of a PISNN run against a solver costing ``reference_energy``.

    ``e_p = E_dyn / P``; ``P* = E_ref / e_p``; ``a* = P* / (N t_end)`` packets per
    cell per unit time; ``ratio = a / a*`` (< 1: the PISNN is cheaper).
    """
    if counts.packets == 0:
        raise ValueError("break-even needs a run with packets")
    e = energy(counts, profile)
    dyn = e.total - e.energy["static"]
    per_packet = dyn / counts.packets
    p_star = reference_energy / per_packet
    activity = counts.packets / (cells * t_end)
    a_star = p_star / (cells * t_end)
    return {"energy_per_packet": per_packet, "packets_break_even": p_star,
            "activity": activity, "activity_break_even": a_star, "ratio": activity / a_star}


def compare_solvers(problem: str = "heat1d", quota: float | None = None, cells: int | None = None,
                    t_end: float | None = None, profiles=("loihi", "cmos45"),
                    use_pinn: bool = True) -> dict[str, Any]:
    """Energy of PISNN vs FTCS vs PINN on a canonical problem at matched accuracy.

    Parameters
    ----------
    problem, quota, cells, t_end
        Problem and overrides (see :mod:`evsim.workflow.problems`).
    profiles
        Profiles the PISNN is costed on (FTCS and PINN run on ``cmos45``).
    use_pinn
        Include the shipped PINN teacher when the problem is ``heat1d`` and the
        teacher is available; the PINN is scored on its training window
        ``t <= t_train`` against the exact solution.

    Returns
    -------
    dict
        ``pisnn``, ``ftcs``, ``pinn`` (or None) sections with RMSEs, counts and
        energies, ``matched`` (how accuracy was matched) and ``break_even`` per
        profile.
    """
    import evsim
    from evsim import topologies
    from evsim.analysis.metrics import rmse
    from evsim.workflow.case import make_case
    from evsim.workflow.problems import get_problem
    from evsim.teachers import semidiscrete

    prob = get_problem(problem)
    n_axis = prob.cells if cells is None else int(cells)
    t_end = prob.t_end if t_end is None else float(t_end)
    quota = prob.quota if quota is None else float(quota)
    graph = prob.build(n_axis, prob.diffusivity)
    x = topologies.cell_positions(graph)
    u0 = prob.initial(x)
    times = prob.record_times(t_end)
    semi = semidiscrete(graph, u0, times)

    def pisnn(q):
        r = evsim.simulate(graph, u0, quota=q, t_end=t_end, record=times)
        return r, rmse(r.potential, semi)

    result, err = pisnn(quota)
    ftcs = ftcs_cost(graph, u0, times)
    err_ftcs = rmse(ftcs["field"], semi)
    if err_ftcs > err:  # FTCS less accurate at dt_max: shrink its step (first order)
        ftcs = ftcs_cost(graph, u0, times, cfl=float(np.clip(err / err_ftcs, 1e-6, 1.0)))
        err_ftcs = rmse(ftcs["field"], semi)
        matched = "ftcs step reduced to the PISNN error"
    elif err_ftcs > 0:  # FTCS more accurate at its largest stable step: coarsen the quota
        quota = quota * err_ftcs / err
        result, err = pisnn(quota)
        matched = "pisnn quota set to the FTCS error at its stability limit"
    else:
        matched = "ftcs exact"
    counts = event_counts(result)
    n = counts.neurons
    out: dict[str, Any] = {
        "problem": problem, "cells": n, "t_end": t_end, "matched": matched,
        "pisnn": {"quota": quota, "spikes": int(result.spikes), "rmse_semidiscrete": err,
                  "rmse": rmse(result.potential, make_case(prob, cells=n_axis, t_end=t_end).reference(result.times)),
                  "counts": counts.as_dict(),
                  "energy": {p: energy(counts, p).total for p in profiles}},
        "ftcs": {k: v for k, v in ftcs.items() if k != "field"} | {"rmse_semidiscrete": err_ftcs},
        "pinn": None,
    }
    out["break_even"] = {p: break_even(counts, p, ftcs["energy"], n, t_end) for p in profiles}
    out["ratio_ftcs_over_pisnn"] = {p: ftcs["energy"] / out["pisnn"]["energy"][p] for p in profiles}
    if use_pinn and problem == "heat1d":
        try:
            from evsim.teachers.pinn import load_shipped
            teacher = load_shipped()
        except (ImportError, FileNotFoundError):
            teacher = None
        if teacher is not None:
            window = times[times <= teacher.pde.t_train + 1e-12]
            u_pinn = teacher(x, window)
            exact = make_case(prob, cells=n_axis, t_end=t_end).reference(window)
            cost = pinn_cost(teacher, n * len(times))
            cost["rmse_train_window"] = rmse(u_pinn, exact)
            cost["rmse_pisnn_same_window"] = rmse(result.potential[: len(window)], exact)
            out["pinn"] = cost
            out["ratio_pinn_over_pisnn"] = {p: cost["energy"] / out["pisnn"]["energy"][p] for p in profiles}
            out["pinn_flops_over_spikes"] = cost["flops"] / max(result.spikes, 1)
    return out
