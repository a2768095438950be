"""The PISNN paper's experiments (Zhang & Wang 2025, Figs. 2-4), one command each.

``evsim experiment NAME [--fast]`` runs

- ``paper-heat1d``   (Fig. 2): PINN teacher vs distilled PISNN on the training window:
  space-time maps, pointwise error, RMSE over time, total mass with boundary outflow,
  and the RMSE-vs-spikes Pareto frontier over a quota sweep with the PINN's FLOPs marked.
- ``paper-generalize`` (Fig. 3): the PISNN distilled from the sine-trained teacher run
  zero-shot on heat1d-gauss and heat1d-step, and far past the window (to T = 2) next to the PINN.
- ``paper-heat2d``   (Fig. 4): heat2d snapshots at t = 0.1, 0.4, 0.8 vs the analytic solution
  with absolute error, total mass vs the analytic mass, the Pareto frontier, and laplace2d
  converging to the Laplace solution.

Each function writes its figures into ``out`` and returns the summary dictionary (the CLI
writes it to ``out/summary.json``). ``fast=True`` shrinks sweeps and grids for tests.

Spikes vs FLOPs: the PINN's cost is the FLOP count (:meth:`PINNTeacher.flops_per_point`)
of evaluating the same space-time field the PISNN produced, i.e. every cell centre at
every record time. Because the PISNN's state exists at all times, the summary also gives
the PINN's FLOPs at the time resolution an explicit solver on the same grid needs
(the FTCS step at its stability limit, :mod:`evsim.teachers.ftcs`).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from evsim.analysis.figures import (LABELS, after_start, log_ticks, mark_training_window, pyplot,
                                    reference_label, savefig)
from evsim.errors import ConfigError
from evsim.analysis.metrics import rmse, rmse_over_time
from evsim.teachers.base import SemiDiscreteTeacher, teacher_on_cells
from evsim.teachers.distill import choose_quota, fit_diffusivity
from evsim.teachers.ftcs import FTCSTeacher
from evsim.teachers.pinn import HeatPDE, PINNTeacher, load_shipped, mlp_flops, train_pinn
from evsim.teachers.semidiscrete import steady_state
from evsim.workflow.case import Case, make_case
from evsim.workflow.distill import Distilled, distill_problem, write_config
from evsim.workflow.problems import get_problem
from evsim.workflow.sweep import pareto_front

from .registry import experiment

__all__ = ["paper_heat1d", "paper_generalize", "paper_heat2d", "pareto_sweep", "load_teacher"]


# --------------------------------------------------------------------------- helpers
def _save(fig, out: Path, name: str, figures: list[str]) -> None:
    """Lay out ``fig``, save it as ``out / name`` and record the name."""
    fig.tight_layout()
    savefig(fig, out / name)
    figures.append(name)


def load_teacher(teacher: str | Path | PINNTeacher | None = None) -> PINNTeacher:
    """The PINN teacher: the shipped heat1d one (``None`` / ``"shipped"``), a saved one (path),
    or the object itself."""
    if isinstance(teacher, PINNTeacher):
        return teacher
    if teacher in (None, "shipped"):
        return load_shipped()
    return PINNTeacher.load(teacher)


def pareto_sweep(case: Case, quotas, target: np.ndarray,
                 others: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Run ``case`` for every quota; RMSE against ``target`` (and each of ``others``), spikes.

    Parameters
    ----------
    case
        The PISNN set-up (graph, u0, record times).
    quotas
        Packet masses to run.
    target, others
        ``(T, N)`` fields at the case's record times.

    Returns
    -------
    list of dict
        One per quota: ``quota``, ``spikes``, ``rmse``, ``rmse_<name>``,
        ``ledger_residual``, ``wall_seconds``.
    """
    rows = []
    for q in quotas:
        res = case.simulate(float(q), progress=False)
        row = {"quota": float(q), "spikes": int(res.spikes), "rmse": rmse(res.potential, target),
               "ledger_residual": int(res.ledger.residual), "wall_seconds": float(res.wall_seconds)}
        for name, ref in (others or {}).items():
            row[f"rmse_{name}"] = rmse(res.potential, ref)
        rows.append(row)
    return rows


def _pareto_front(rows: list[dict], key: str = "rmse") -> list[int]:
    """Non-dominated rows in (``key``, spikes), ordered by spikes (for drawing)."""
    return sorted(pareto_front(rows, keys=(key, "spikes")), key=lambda i: rows[i]["spikes"])


def _boundary_outflow(res, times: np.ndarray) -> np.ndarray:
    """Net mass delivered into reservoirs by ``times``, from the spike log of ``res``
    (packets counted at firing time; the heat problems have no latency)."""
    N = res.network.cells
    e = res.network.edges
    log = res.spike_log
    to_res = np.where(e[log["edge"], 1] >= N, 1, 0) * np.sign(log["sign"]) \
        - np.where(e[log["edge"], 0] >= N, 1, 0) * np.sign(log["sign"])
    cum = np.concatenate([[0], np.cumsum(to_res)])
    return res.quota * cum[np.searchsorted(log["time"], times, side="right")]


def _spacetime(ax, field, x, times, title, cmap="viridis", label=LABELS["u"]):
    """Space-time map of ``field`` (T, N); an error map (``label`` |error|) starts after t = 0."""
    if label == LABELS["abs_error"]:
        later = after_start(times)
        field, times = field[later], times[later]
    im = ax.imshow(field.T, origin="lower", aspect="auto", cmap=cmap,
                   extent=[times[0], times[-1], x[0], x[-1]])
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel(LABELS["x"])
    ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, label=label)


def _pareto_panel(ax, sweep: list[dict], key: str, pinn_flops: float, rmse_label: str,
                  marks=()) -> list[int]:
    """Draw a quota sweep's RMSE (``key``) vs spikes with its Pareto frontier in that RMSE
    and the PINN's FLOPs on the same cost axis; ``marks(ax)`` draws extras before the
    legend. Returns the frontier's indices, ordered by spikes."""
    front = _pareto_front(sweep, key)
    sp = np.array([r["spikes"] for r in sweep])
    er = np.array([r[key] for r in sweep])
    ax.loglog(sp, er, "o", label="PISNN spikes, quota sweep")
    ax.loglog(sp[front], er[front], "-", color="C0", label="Pareto frontier")
    for mark in marks:
        mark(ax)
    ax.axvline(pinn_flops, color="k", ls="--", label=f"PINN FLOPs, same field ({pinn_flops:.2e})")
    ax.set_xlabel("cost: PISNN spikes (packets) | PINN FLOPs (dashed line)")
    ax.set_ylabel(rmse_label)
    ax.margins(x=0.1, y=0.15)
    log_ticks(ax)
    ax.legend(fontsize=8)
    return front


def _distill_heat1d(pinn: PINNTeacher, out: Path, cells: int, target_rmse: float) -> Distilled:
    info = {"teacher_file": str(pinn.metadata.get("source", "evsim/teachers/data/pinn_heat1d.npz")),
            "teacher_layers": "-".join(map(str, pinn.sizes)),
            "teacher_rmse_vs_exact_window": pinn.metadata.get("rmse_vs_exact_train_window", math.nan),
            "teacher_flops_per_point": pinn.flops_per_point()}
    return distill_problem(pinn, "heat1d", cells=cells, t_train=pinn.pde.t_train, n_times=51,
                           target_rmse=target_rmse, config=out / "pisnn_heat1d.toml", t_end=2.0,
                           teacher_info=info)


# --------------------------------------------------------------------------- Fig. 2
@experiment("paper-heat1d")
def paper_heat1d(out: Path, fast: bool = False, teacher: Any = None, cells: int = 100,
                 target_rmse: float = 5e-4, quotas: list[float] | None = None) -> dict:
    """Paper Fig. 2: PINN teacher vs distilled PISNN on heat1d over ``[0, T_train]``.

    Parameters
    ----------
    out
        Output directory (figures, ``pisnn_heat1d.toml``).
    fast
        Coarser quota sweep (3 quotas instead of 7).
    teacher
        PINN teacher (default: the shipped one).
    cells
        Grid size of the student.
    target_rmse
        Quota criterion: RMSE against the teacher on the window.
    quotas
        Quotas of the Pareto sweep (default: geometric around the chosen one).
    """
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pinn = load_teacher(teacher)
    d = _distill_heat1d(pinn, out, cells, target_rmse)
    base, x, times = d.base, d.base.x, d.case.times
    exact = base.reference()

    fits = {}
    for t in (pinn, SemiDiscreteTeacher(base.graph, base.u0), base.problem.teacher(),
              FTCSTeacher(base.graph, base.u0)):
        f = fit_diffusivity(t, base.graph, times)
        fits[t.name] = {"diffusivity": f.diffusivity, "relative_error": f.relative_error(0.1),
                        "relative_residual": f.relative_residual}
    ftcs = FTCSTeacher(base.graph, base.u0)
    ftcs(x, times)

    res = d.case.simulate(spike_log=True, progress=False)   # the chosen run, logged
    pisnn = res.potential
    outflow = _boundary_outflow(res, times)
    n_points = pisnn.size
    pinn_flops = pinn.flops(n_points)
    pinn_flops_ftcs_res = pinn.flops(cells * (ftcs.steps + 1))

    q0 = d.quota.quota
    quotas = list(quotas) if quotas is not None else list(
        q0 * np.array([0.25, 1.0, 4.0] if fast else [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]))
    sweep = pareto_sweep(d.case, quotas, d.teacher_field, {"exact": exact})

    # ---- figures
    plt = pyplot()
    figures: list[str] = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    _spacetime(axes[0], d.teacher_field, x[:, 0], times, "PINN teacher u(x, t), training window")
    _spacetime(axes[1], pisnn, x[:, 0], times, f"PISNN (q = {q0:.2e}, {res.spikes:,} spikes)")
    _spacetime(axes[2], np.abs(pisnn - d.teacher_field), x[:, 0], times, "|PISNN - PINN teacher|, t > 0",
               cmap="magma", label=LABELS["abs_error"])
    _save(fig, out, "heat1d_spacetime.png", figures)

    fig, ax = plt.subplots(figsize=(6, 4))
    later = after_start(times)
    ax.plot(times[later], rmse_over_time(pisnn, d.teacher_field)[later], label="PISNN vs PINN teacher")
    ax.plot(times[later], rmse_over_time(pisnn, exact)[later], "--", label="PISNN vs exact solution")
    ax.plot(times[later], rmse_over_time(d.teacher_field, exact)[later], ":",
            label="PINN teacher vs exact solution")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel(LABELS["rmse"])
    ax.set_title(f"training window t \u2264 {pinn.pde.t_train:g}", fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, out, "heat1d_rmse_time.png", figures)

    V = d.case.graph.nodes[0]["volume"]
    mass_ref = V * exact.sum(axis=1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(times, res.mass, label="PISNN cell mass")
    ax.plot(times, mass_ref, "--", label="exact solution, cell mass")
    ax.plot(times, outflow, label="PISNN boundary outflow (packets into reservoirs)")
    ax.plot(times, mass_ref[0] - mass_ref, "--", label="exact solution, boundary outflow")
    ax.plot(times, res.mass + outflow, "k:", label="PISNN cells + outflow")
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel(LABELS["mass"])
    ax.set_title(f"ledger residual = {res.ledger.residual}")
    ax.legend(fontsize=8)
    _save(fig, out, "heat1d_mass.png", figures)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    front = _pareto_panel(ax, sweep, "rmse", pinn_flops,
                  f"RMSE vs PINN teacher on t \u2264 {pinn.pde.t_train:g} [-]", marks=(
                      lambda a: a.loglog([res.spikes], [d.quota.rmse], "*", ms=14, color="C3",
                                         label="distilled quota"),
                      lambda a: a.axhline(target_rmse, color="gray", ls=":",
                                          label=f"target RMSE {target_rmse:g}")))
    _save(fig, out, "heat1d_pareto.png", figures)

    summary = {
        "experiment": "paper-heat1d", "fast": fast, "cells": cells, "t_train": pinn.pde.t_train,
        "teacher": {"layers": pinn.sizes, "flops_per_point": pinn.flops_per_point(),
                    "rmse_vs_exact_window": rmse(d.teacher_field, exact)},
        "diffusivity_fits": fits,
        "diffusivity_pinn": fits["pinn"]["diffusivity"],
        "diffusivity_pinn_relative_error": fits["pinn"]["relative_error"],
        "diffusivity_semidiscrete_relative_error": fits["semidiscrete"]["relative_error"],
        "quota": q0, "quota_search": d.quota.to_dict(),
        "rmse_vs_teacher": d.quota.rmse, "rmse_vs_exact": rmse(pisnn, exact),
        "spikes": int(res.spikes), "ledger_residual": int(res.ledger.residual),
        "mass_initial": float(res.mass_initial), "mass_final": float(res.mass_final),
        "boundary_mass": float(res.boundary_mass),
        "mass_balance_error": float(res.mass_initial - res.mass_final - res.boundary_mass),
        "mass_balance_error_over_time": float(np.max(np.abs(res.mass + outflow - res.mass_initial))),
        "boundary_outflow_rmse_vs_reference": rmse(outflow, mass_ref[0] - mass_ref),
        "pinn_field_points": int(n_points), "pinn_flops": int(pinn_flops),
        "flops_over_spikes": pinn_flops / max(res.spikes, 1),
        "pinn_flops_at_ftcs_resolution": int(pinn_flops_ftcs_res),
        "flops_over_spikes_at_ftcs_resolution": pinn_flops_ftcs_res / max(res.spikes, 1),
        "ftcs": {"dt": ftcs.dt, "steps": ftcs.steps, "flops": ftcs.operations},
        "pareto": sweep, "pareto_front": front,
        "config": str(d.config), "figures": figures,
        "checks": {"diffusivity_pinn_within_2pct": fits["pinn"]["relative_error"] < 0.02,
                   "diffusivity_semidiscrete_within_0.1pct": fits["semidiscrete"]["relative_error"] < 1e-3,
                   "rmse_vs_teacher_below_1e-3": d.quota.rmse < 1e-3,
                   "ledger_residual_zero": int(res.ledger.residual) == 0},
        "wall_seconds": time.perf_counter() - t_start,
    }
    return summary


# --------------------------------------------------------------------------- Fig. 3
@experiment("paper-generalize")
def paper_generalize(out: Path, fast: bool = False, teacher: Any = None, cells: int = 100,
                     target_rmse: float = 5e-4, t_end: float = 2.0) -> dict:
    """Paper Fig. 3: zero-shot initial conditions and long-horizon extrapolation.

    The PISNN distilled from the sine-trained PINN (operator and quota fixed on the window,
    not tuned to the new cases) runs on heat1d-gauss and heat1d-step against the
    semi-discrete reference of the true operator, and on heat1d to ``t_end`` against the
    exact solution, next to the PINN evaluated on the same points.
    """
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    pinn = load_teacher(teacher)
    d = _distill_heat1d(pinn, out, cells, target_rmse)
    q, kappa = d.quota.quota, d.fit.diffusivity
    times = np.linspace(0.0, t_end, 41 if fast else 81)
    figures: list[str] = []

    zero_shot: dict[str, dict] = {}
    fig, axes = plt.subplots(2, 4, figsize=(20, 7.5))
    for row, name in enumerate(("heat1d-gauss", "heat1d-step")):
        truth = make_case("heat1d", cells=cells, t_end=t_end, initial=name, record=times)
        x = truth.x
        res = truth.with_diffusivity(kappa).simulate(q, progress=False)
        ref = truth.reference()                # semi-discrete, the true operator
        err_t = rmse_over_time(res.potential, ref)
        cfg = write_config(out / f"pisnn_{name}.toml", problem="heat1d", cells=cells, quota=q,
                           t_end=t_end, diffusivity=kappa, initial=name,
                           provenance={**d.provenance, "zero_shot_initial": name})
        zero_shot[name] = {"rmse": rmse(res.potential, ref), "rmse_final": float(err_t[-1]),
                           "rmse_max_over_time": float(err_t.max()), "spikes": int(res.spikes),
                           "ledger_residual": int(res.ledger.residual),
                           "mass_balance_error": float(res.mass_initial - res.mass_final
                                                       - res.boundary_mass),
                           "config": str(cfg)}
        _spacetime(axes[row, 0], ref, x[:, 0], times, f"{name}:\n{reference_label('semi-discrete')}")
        _spacetime(axes[row, 1], res.potential, x[:, 0], times,
                   f"{name}:\nzero-shot PISNN ({res.spikes:,} spikes)")
        _spacetime(axes[row, 2], np.abs(res.potential - ref), x[:, 0], times,
                   f"{name}:\n|PISNN - semi-discrete reference|, t > 0", cmap="magma",
                   label=LABELS["abs_error"])
        later = after_start(times)
        axes[row, 3].semilogy(times[later], err_t[later], label="zero-shot PISNN")
        axes[row, 3].axhline(2e-3, color="gray", ls=":", label="check: RMSE < 2e-3")
        mark_training_window(axes[row, 3], pinn.pde.t_train)
        axes[row, 3].set_xlabel(LABELS["t"])
        axes[row, 3].set_ylabel("RMSE vs semi-discrete reference [-]")
        axes[row, 3].legend(fontsize=8)
    _save(fig, out, "generalize_zero_shot.png", figures)

    # long horizon on heat1d
    truth = make_case("heat1d", cells=cells, t_end=t_end, record=times)
    x = truth.x
    res = truth.with_diffusivity(kappa).simulate(q, progress=False)
    exact = truth.reference()
    pinn_field = pinn(x, times)
    e_pisnn, e_pinn = rmse_over_time(res.potential, exact), rmse_over_time(pinn_field, exact)
    late = times >= pinn.pde.t_train - 1e-12
    early = ~late | (times == times[late][0])
    long = {"interval": [float(pinn.pde.t_train), float(t_end)],
            "pisnn_rmse": rmse(res.potential[late], exact[late]),
            "pinn_rmse": rmse(pinn_field[late], exact[late]),
            "pisnn_rmse_window": rmse(res.potential[early], exact[early]),
            "pinn_rmse_window": rmse(pinn_field[early], exact[early]),
            "pisnn_rmse_final": float(e_pisnn[-1]), "pinn_rmse_final": float(e_pinn[-1]),
            "spikes": int(res.spikes), "ledger_residual": int(res.ledger.residual),
            "pinn_flops_same_field": int(pinn.flops(res.potential.size))}
    long["flops_over_spikes"] = long["pinn_flops_same_field"] / max(res.spikes, 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    later = after_start(times)
    ax.semilogy(times[later], e_pisnn[later], label="PISNN vs exact solution")
    ax.semilogy(times[later], e_pinn[later], label="PINN teacher vs exact solution")
    mark_training_window(ax, pinn.pde.t_train)
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel(LABELS["rmse"])
    ax.legend()
    _save(fig, out, "generalize_long_horizon.png", figures)

    return {
        "experiment": "paper-generalize", "fast": fast, "cells": cells,
        "distilled": {"diffusivity": kappa, "quota": q, "rmse_vs_teacher": d.quota.rmse,
                      "spikes_on_window": d.quota.spikes, "config": str(d.config)},
        "zero_shot": zero_shot, "long_horizon": long, "figures": figures,
        "checks": {"zero_shot_rmse_below_2e-3": all(v["rmse"] < 2e-3 for v in zero_shot.values()),
                   "zero_shot_ledger_zero": all(v["ledger_residual"] == 0 for v in zero_shot.values()),
                   "long_horizon_pisnn_below_1e-3": long["pisnn_rmse"] < 1e-3,
                   "ledger_residual_zero": long["ledger_residual"] == 0},
        "wall_seconds": time.perf_counter() - t_start,
    }


# --------------------------------------------------------------------------- Fig. 4
def _field_2d(ax, values, n, title, cmap="viridis", label=LABELS["u"]):
    im = ax.imshow(values.reshape(n, n).T, origin="lower", extent=[0, 1, 0, 1], cmap=cmap)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(LABELS["x"])
    ax.set_ylabel(LABELS["y"])
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label=label)


@experiment("paper-heat2d")
def paper_heat2d(out: Path, fast: bool = False, cells: int | None = None,
                 target_rmse: float = 1e-3, teacher: str = "exact",
                 laplace_quota: float | None = None) -> dict:
    """Paper Fig. 4: 2D heat snapshots, mass, Pareto frontier; laplace2d to steady state.

    Parameters
    ----------
    cells
        Cells per axis (default 64, 16 with ``fast``).
    target_rmse
        Quota criterion against the teacher on its window ``[0, 0.5]``; the chosen PISNN
        then runs to ``t = 0.8`` (snapshots are scored against the analytic solution).
    teacher
        ``"exact"`` (the analytic solution, default) or ``"pinn"`` (a 2D PINN trained here on
        ``[0, 0.5]``, a few minutes; seconds with ``fast``). The operator is fitted on ``[0, 0.5]``.
    laplace_quota
        Quota of the laplace2d run (default: the chosen heat2d quota).

    Raises
    ------
    ConfigError
        For another ``teacher``.
    """
    if teacher not in ("exact", "pinn"):
        raise ConfigError(f"teacher must be 'exact' or 'pinn', got {teacher!r}")
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(cells or (16 if fast else 64))
    times = np.linspace(0.0, 0.8, 17)                    # contains the snapshots 0.1, 0.4, 0.8
    truth = make_case("heat2d", cells=n, t_end=0.8, record=times)
    if teacher == "pinn":
        tch = train_pinn(HeatPDE(dim=2, alpha=0.1, lengths=(1.0, 1.0), t_train=0.5),
                         hidden=32, depth=3, n_interior=512 if fast else 4096,
                         adam_iters=300 if fast else 3000, lbfgs_iters=100 if fast else 1000)
        tch.save(out / "pinn_heat2d")
        flops_pp = tch.flops_per_point()
    else:
        tch = truth.problem.teacher()
        flops_pp = 2 * 3 + mlp_flops([3, 32, 32, 32, 1]) + 3 * 2 + 4 * 2 + 4  # same-size PINN
    fit = fit_diffusivity(tch, truth.graph, np.linspace(0.0, 0.5, 26))
    # the quota is chosen against the teacher on its window [0, 0.5], then run to 0.8
    t_win = np.linspace(0.0, 0.5, 11)
    student = truth.with_diffusivity(fit.diffusivity)
    choice = choose_quota(student.graph, student.u0, teacher_on_cells(tch, truth.graph, t_win),
                          t_win, target_rmse=target_rmse, rtol=0.3 if fast else 0.15)
    q = choice.quota
    student = student.with_quota(q)
    target = teacher_on_cells(tch, truth.graph, times)
    exact = truth.reference()
    res = student.simulate(progress=False)
    cfg = write_config(out / "pisnn_heat2d.toml", problem="heat2d", cells=n, quota=q,
                       t_end=0.8, diffusivity=fit.diffusivity,
                       provenance={"teacher": tch.name, "t_train": 0.5, "n_snapshots": 26,
                                   "fitted_diffusivity": fit.diffusivity,
                                   "quota_target": target_rmse, "rmse_vs_teacher": choice.rmse,
                                   "spikes": choice.spikes})
    sweep = pareto_sweep(student, q * np.array([0.5, 1.0, 2.0] if fast else
                                               [0.25, 0.5, 1.0, 2.0, 4.0]),
                         target, {"exact": exact})
    pinn_flops = flops_pp * res.potential.size

    plt = pyplot()
    figures: list[str] = []
    snaps = [int(np.argmin(np.abs(times - s))) for s in (0.1, 0.4, 0.8)]
    fig, axes = plt.subplots(3, 3, figsize=(12, 11))
    snap_err = {}
    for c, k in enumerate(snaps):
        _field_2d(axes[0, c], res.potential[k], n, f"PISNN t = {times[k]:.1f}")
        _field_2d(axes[1, c], exact[k], n, f"exact (analytic) solution t = {times[k]:.1f}")
        err = np.abs(res.potential[k] - exact[k])
        _field_2d(axes[2, c], err, n, f"|PISNN - exact| t = {times[k]:.1f} (max {err.max():.1e})",
                  cmap="magma", label=LABELS["abs_error"])
        snap_err[f"{times[k]:.1f}"] = {"rmse": rmse(res.potential[k], exact[k]),
                                       "max_abs": float(err.max())}
    _save(fig, out, "heat2d_snapshots.png", figures)

    V = 1.0 / n ** 2
    mass_analytic = (4 / np.pi ** 2) * np.exp(-0.2 * np.pi ** 2 * times)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(times, res.mass, "o-", label="PISNN cell mass")
    ax.plot(times, mass_analytic, "--", label="analytic mass 4/pi^2 exp(-0.2 pi^2 t)")
    ax.plot(times, V * exact.sum(1), ":", label="exact at cell centres, summed")
    mark_training_window(ax, float(t_win[-1]))
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel("total mass [-]")
    ax.set_title(f"ledger residual = {res.ledger.residual}")
    ax.legend(fontsize=8)
    _save(fig, out, "heat2d_mass.png", figures)

    fig, ax = plt.subplots(figsize=(6, 4.5))
    front = _pareto_panel(ax, sweep, "rmse_exact", pinn_flops,
                          "RMSE vs exact (analytic) solution on t \u2264 0.8 [-]")
    _save(fig, out, "heat2d_pareto.png", figures)

    # laplace2d
    laplace = get_problem("laplace2d")
    lap = make_case(laplace, cells=n, record=np.linspace(0.0, laplace.t_end, 21 if fast else 41))
    lt = lap.times
    ql = float(laplace_quota or q)
    lres = lap.simulate(ql, progress=False)
    steady = lap.steady()
    discrete = steady_state(lap.graph)
    e_lap = rmse_over_time(lres.potential, np.broadcast_to(steady, lres.potential.shape))
    e_disc = rmse_over_time(lres.potential, np.broadcast_to(discrete, lres.potential.shape))
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
    axes[0].semilogy(lt, e_lap, label="PISNN vs Laplace solution sin(pi x) sinh(pi y)/sinh(pi)")
    axes[0].semilogy(lt, e_disc, "--", label="PISNN vs discrete steady state")
    axes[0].set_xlabel(LABELS["t"])
    axes[0].set_ylabel(LABELS["rmse"])
    axes[0].legend(fontsize=8)
    _field_2d(axes[1], lres.potential[-1], n, f"PISNN t = {lt[-1]:.1f}")
    _field_2d(axes[2], np.abs(lres.potential[-1] - steady), n, f"|PISNN - Laplace solution| t = {lt[-1]:.1f}",
              cmap="magma", label=LABELS["abs_error"])
    _save(fig, out, "laplace2d.png", figures)

    return {
        "experiment": "paper-heat2d", "fast": fast, "cells_per_axis": n, "teacher": tch.name,
        "diffusivity_fit": fit.to_dict(), "diffusivity_relative_error": fit.relative_error(0.1),
        "quota": q, "quota_search": choice.to_dict(), "rmse_vs_teacher": choice.rmse,
        "rmse_vs_teacher_to_0.8": rmse(res.potential, target),
        "rmse_vs_exact": rmse(res.potential, exact), "snapshots": snap_err,
        "spikes": int(res.spikes), "ledger_residual": int(res.ledger.residual),
        "mass_balance_error": float(res.mass_initial - res.mass_final - res.boundary_mass),
        "mass_final": float(res.mass_final), "mass_final_analytic": float(mass_analytic[-1]),
        "pinn_flops_per_point": int(flops_pp), "pinn_flops": int(pinn_flops),
        "flops_over_spikes": pinn_flops / max(res.spikes, 1),
        "pareto": sweep, "pareto_front": front, "config": str(cfg),
        "laplace2d": {"quota": ql, "t_end": float(lt[-1]), "spikes": int(lres.spikes),
                      "rmse_vs_laplace_final": float(e_lap[-1]),
                      "rmse_vs_discrete_steady_final": float(e_disc[-1]),
                      "discretization_rmse": rmse(discrete[None], steady[None]),
                      "ledger_residual": int(lres.ledger.residual)},
        "figures": figures,
        "checks": {"ledger_residual_zero": int(res.ledger.residual) == 0
                   and int(lres.ledger.residual) == 0,
                   "rmse_vs_teacher_met": choice.met},
        "wall_seconds": time.perf_counter() - t_start,
    }
