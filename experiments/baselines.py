"""The ``baselines`` experiment: spiking-PINN baselines (LIF, QIF, VSN) against the PISNN.

``evsim experiment baselines`` writes the comparison table (PINN, LIF-PINN direct /
converted, QIF-PINN, VSN-PINN, PISNN) and figures. The trained networks and their event
simulator live in :mod:`evsim.baselines`.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from evsim.analysis.energy import PROFILE_NAMES, EventCounts, energy_table, get_profile
from evsim.analysis.figures import LABELS, mark_training_window, pyplot, savefig
from evsim.analysis.metrics import rmse
from evsim.baselines.models import (DATA_DIR, HEAT_MODELS, HEAT_PDE, SpikingModel, heat_grid,
                                    load_model, x2_table)
from evsim.teachers.pinn import load_shipped
from evsim.workflow.case import make_case

from .registry import experiment

__all__ = ["heat_comparison", "baselines_experiment"]

# --------------------------------------------------------------------------- the experiment


def _mass_defect(model, times: np.ndarray, n_x: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Total mass ``M(t)`` (midpoint rule on the cells) and conservation defect
    ``D(t) = M(t) - M(0) + int_0^t F ds`` of an ansatz model, ``F = alpha (u_x(0) - u_x(1))``
    the boundary outflow. With the ansatz ``u_x(0, t) = pi + 4 (t/T) N(0, t)`` and
    ``u_x(1, t) = -pi - 4 (t/T) N(1, t)`` exactly, so ``F`` needs only ``N`` at the ends;
    ``int F`` by the trapezoidal rule on 401 times per unit time."""
    x, _ = heat_grid(n_x)
    u = model(x[:, None], times)
    mass = u.mean(1) * HEAT_PDE.lengths[0]
    tf = np.linspace(0.0, times[-1], int(400 * times[-1]) + 1)
    z0 = np.column_stack([np.zeros_like(tf), tf])
    z1 = np.column_stack([np.ones_like(tf), tf])
    n0 = model.network_output(z0)[0] if hasattr(model, "network_output") else model.network(z0)
    n1 = model.network_output(z1)[0] if hasattr(model, "network_output") else model.network(z1)
    flux = HEAT_PDE.alpha * (2 * np.pi + 4 * tf / HEAT_PDE.t_train * (n0 + n1))
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (flux[1:] + flux[:-1]) * np.diff(tf))])
    out = np.interp(times, tf, cum)
    return mass, mass - mass[0] + out


def heat_comparison(fast: bool = False, models: dict[str, SpikingModel] | None = None,
                    quota: float | None = None) -> dict[str, Any]:
    """Evaluate PINN, spiking PINNs and the PISNN on heat1d (the rows of the experiment table).

    Evaluation grid: the 100 heat1d cell centres times 41 (``fast``: 21) uniform times on
    ``[0, 2]``; every spiking network is run over all grid points by :mod:`evsim.baselines.layered`, whose
    exact counts give spikes, synaptic ops, neuron updates and the energy per profile
    (:func:`evsim.analysis.energy.energy_table`). The PINN is costed by its FLOPs
    (:meth:`~evsim.teachers.pinn.PINNTeacher.flops`) as ``flops / 2`` fp32 MACs on ``cmos45``
    only. The PISNN is the heat1d case (:func:`evsim.workflow.case.make_case`) on the 100-cell
    grid (exact diffusivity, quota ``1e-6``; ``fast``: ``1e-5``), its conservation defect is
    the integer ledger residual.
    Mass errors are against ``M(t) = (2/pi) exp(-0.1 pi^2 t)``; conservation defects
    (:func:`_mass_defect`) measure ``M(t) - M(0) + outflow`` of each model itself. QIF inputs are
    clipped to the coding window, so beyond ``t = 0.5`` the QIF-PINN's network sees ``t = 0.5``.

    Returns a dict with ``rows`` (one per model), ``fields`` ``{name: (T, N) u}``, ``x``,
    ``times``, ``mass`` and ``defect`` ``{name: (T,)}``, ``exact``.
    """
    x, times = heat_grid(100, 21 if fast else 41)
    exact = HEAT_PDE.exact(x[:, None], times)
    win = times <= HEAT_PDE.t_train + 1e-12
    models = models or {n: load_model(n) for n in HEAT_MODELS if (DATA_DIR / f"{n}.npz").exists()}
    labels = {"heat_lif": "LIF-PINN (direct)", "heat_lifconv": "LIF-PINN (ANN-to-SNN, calibrated)",
              "heat_qif": "QIF-PINN", "heat_vsn": "VSN-NeuroPINN"}
    fields, mass, defect, rows = {}, {}, {}, []
    m_exact = (2 / np.pi) * np.exp(-HEAT_PDE.alpha * np.pi ** 2 * times)

    def cons(name):
        me, de = np.abs(mass[name] - m_exact), np.abs(defect[name])
        return {"mass_error_max_0_0.5": float(me[win].max()), "mass_error_max_0_2.0": float(me.max()),
                "conservation_defect_max_0_0.5": float(de[win].max()),
                "conservation_defect_max_0_2.0": float(de.max())}

    def errors(u):
        return {"rmse_0_0.5": rmse(u[win], exact[win]),
                "relative_l2_0_0.5": float(np.linalg.norm(u[win] - exact[win]) / np.linalg.norm(exact[win])),
                "rmse_0.5_2.0": rmse(u[~win], exact[~win]),
                "relative_l2_0.5_2.0": float(np.linalg.norm(u[~win] - exact[~win]) / np.linalg.norm(exact[~win]))}

    # PINN teacher
    pinn = load_shipped()
    t0 = time.perf_counter()
    u = pinn(x[:, None], times)
    fields["PINN"] = u
    mass["PINN"], defect["PINN"] = _mass_defect(pinn, times)
    flops = pinn.flops(u.size)
    cm = get_profile("cmos45")
    rows.append({"model": "PINN (teacher)", "layers": "-".join(map(str, pinn.sizes)), **errors(u),
                 **cons("PINN"),
                 "spikes": None, "synaptic_ops": None, "neuron_updates": None, "flops": int(flops),
                 "energy_J": {"cmos45": cm.flop_energy(macs=flops / 2)},
                 "train_seconds": pinn.metadata.get("wall_seconds"), "eval_seconds": time.perf_counter() - t0})
    # spiking PINNs, evaluated and counted by evsim.baselines.layered
    for name, m in models.items():
        t0 = time.perf_counter()
        z = np.column_stack([np.tile(x, len(times)), np.repeat(times, len(x))])
        uu, res = m.evaluate(z)
        uu = uu.reshape(len(times), len(x))
        fields[labels.get(name, name)] = uu
        mass[labels.get(name, name)], defect[labels.get(name, name)] = _mass_defect(m, times)
        counts = EventCounts(**res.hardware_counts())
        energies = {k: v["total"] for k, v in energy_table(counts, PROFILE_NAMES).items()}
        rows.append({"model": labels.get(name, name), "layers": "-".join(map(str, m.config.get("sizes", []))),
                     "steps": m.config.get("steps"), **errors(uu),
                     **cons(labels.get(name, name)),
                     "spikes": int(res.spikes), "synaptic_ops": int(res.synaptic_ops),
                     "neuron_updates": int(res.neuron_updates), "flops": None, "energy_J": energies,
                     "train_seconds": m.metadata.get("wall_seconds"), "eval_seconds": time.perf_counter() - t0})
    # PISNN: C-LIF / CFQ, the heat1d case on the 100-cell grid at its own diffusivity
    q = quota or (1e-5 if fast else 1e-6)
    case = make_case("heat1d", cells=len(x), t_end=float(times[-1]), quota=q, record=times)
    t0 = time.perf_counter()
    res = case.simulate(progress=False)
    wall = time.perf_counter() - t0
    fields["PISNN"] = res.potential
    mass["PISNN"] = res.mass
    # conservation certificate: integer ledger (cells + reservoirs + in transit == 0)
    # (the integer ledger is checked after every packet; its residual is the defect, in packets)
    ev = energy_table(res, PROFILE_NAMES)
    counts = next(iter(ev.values()))["counts"]
    defect["PISNN"] = np.full(len(times), float(res.ledger.residual) * q)
    rows.append({"model": f"PISNN (C-LIF/CFQ, q = {q:g})", "layers": "100 cells", **errors(res.potential),
                 **cons("PISNN"), "ledger_residual": int(res.ledger.residual),
                 "float_balance_final": float(res.mass_final + res.boundary_mass - res.mass_initial),
                 "spikes": int(res.spikes), "synaptic_ops": int(counts["synaptic_ops"]),
                 "neuron_updates": int(counts["neuron_updates"]), "flops": None,
                 "energy_J": {k: v["total"] for k, v in ev.items()},
                 "train_seconds": None, "eval_seconds": wall})
    return {"rows": rows, "fields": fields, "x": x, "times": times, "mass": mass, "defect": defect,
            "exact": exact, "mass_exact": m_exact}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:.3e}" if (v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5)) else f"{v:.4g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _markdown(rows: list[dict], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


@experiment("baselines")
def baselines_experiment(out: Path, fast: bool = False, quota: float | None = None) -> dict:
    """Spiking-PINN baselines vs PINN and PISNN on heat1d, plus the x^2 regression benchmark.

    Writes ``heat1d_table.md``, ``x2_table.md``, ``baselines.json`` and figures
    (``heat1d_profiles.png``, ``heat1d_mass.png``, ``heat1d_cost.png``) into ``out``; returns
    the summary (every table number). ``fast``: 21 instead of 41 evaluation times and a
    PISNN quota of 1e-5 instead of 1e-6. Uses the shipped models (no training).
    """
    t_start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    heat = heat_comparison(fast=fast, quota=quota)
    x2 = x2_table()
    rows = heat["rows"]
    flat = []
    for r in rows:
        f = {k: v for k, v in r.items() if k != "energy_J"}
        for p in PROFILE_NAMES:
            f[f"energy_{p}_J"] = r["energy_J"].get(p)
        flat.append(f)
    hcols = ["model", "layers", "relative_l2_0_0.5", "rmse_0_0.5", "relative_l2_0.5_2.0", "rmse_0.5_2.0",
             "mass_error_max_0_0.5", "mass_error_max_0_2.0", "conservation_defect_max_0_0.5",
             "conservation_defect_max_0_2.0", "spikes", "synaptic_ops", "neuron_updates", "flops"] + \
        [f"energy_{p}_J" for p in PROFILE_NAMES] + ["train_seconds"]
    xcols = ["model", "relative_l2_percent", "published_percent", "spikes_per_sample",
             "synaptic_ops_per_sample", "neuron_updates_per_sample", "train_seconds"]
    (out / "heat1d_table.md").write_text(_markdown(flat, hcols) + "\n")
    (out / "x2_table.md").write_text(_markdown(x2, xcols) + "\n")
    figures = _figures(heat, out)
    summary = {"experiment": "baselines", "heat1d": flat, "x2": x2, "figures": figures,
               "evaluation_grid": {"cells": len(heat["x"]), "times": len(heat["times"]),
                                   "t_end": float(heat["times"][-1])},
               "mass_over_time": {k: list(map(float, v)) for k, v in heat["mass"].items()},
               "conservation_defect_over_time": {k: list(map(float, v)) for k, v in heat["defect"].items()},
               "times": list(map(float, heat["times"])),
               "wall_seconds": time.perf_counter() - t_start}
    (out / "baselines.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return summary


def _figures(heat: dict, out: Path) -> list[str]:
    plt = pyplot()
    x, times, fields = heat["x"], heat["times"], heat["fields"]
    t_train = HEAT_PDE.t_train
    names = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    for ax, tt in zip(axes, (0.5, 1.0, 2.0)):
        k = int(np.argmin(np.abs(times - tt)))
        ax.plot(x, heat["exact"][k], "k-", lw=2, label="exact solution")
        for name, u in fields.items():
            ax.plot(x, u[k], lw=1, label=name)
        where = ("end of the training window" if times[k] <= t_train + 1e-12
                 else f"extrapolation, {times[k] / t_train:g} x T_train")
        ax.set_title(f"t = {times[k]:.2f} ({where})")
        ax.set_xlabel(LABELS["x"])
        ax.set_ylabel(LABELS["u"])
    axes[0].legend(fontsize=7, title=f"training window t \u2264 T_train = {t_train:g}",
                   title_fontsize=7)
    fig.tight_layout()
    savefig(fig, out / "heat1d_profiles.png")
    names.append("heat1d_profiles.png")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    axes[0].plot(times, heat["mass_exact"], "k-", lw=2, label="exact solution")
    for name, m in heat["mass"].items():
        axes[0].plot(times, m, lw=1, label=name)
        axes[1].plot(times, np.abs(heat["defect"][name]) + 1e-18, lw=1, label=name)
    axes[0].set_title("total mass M(t)")
    axes[0].set_ylabel("total mass M [-]")
    axes[1].set_yscale("log")
    axes[1].set_title("conservation defect |M(t) - M(0) + outflow|\n(PISNN: exactly 0, drawn at 1e-18)",
                      fontsize=9)
    axes[1].set_ylabel("|conservation defect| [-]")
    for ax in axes:
        mark_training_window(ax, t_train)
        ax.set_xlabel(LABELS["t"])
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, loc="center right")
    fig.tight_layout()
    savefig(fig, out / "heat1d_mass.png")
    names.append("heat1d_mass.png")
    rows = heat["rows"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    labels = [r["model"] for r in rows]
    for j, p in enumerate(PROFILE_NAMES):
        vals = [r["energy_J"].get(p, np.nan) or np.nan for r in rows]
        ax.bar(np.arange(len(rows)) + 0.2 * (j - 1.5), vals, 0.2, label=p)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)))
    ax.set_xticklabels(labels, rotation=20, ha="right", rotation_mode="anchor", fontsize=7)
    ax.set_xlabel("model")
    ax.set_ylabel(f"energy over the evaluation grid [J]\n({len(x)} x {len(times)} points)")
    ax.set_title("energy per model, each at its own accuracy (not matched; errors in heat1d_table.md)",
                 fontsize=9)
    ax.legend(fontsize=7, title="hardware profile", title_fontsize=7)
    fig.tight_layout()
    savefig(fig, out / "heat1d_cost.png")
    names.append("heat1d_cost.png")
    return names
