"""Hardware experiments: heat2d mapped onto a mesh of neuromorphic cores.

``evsim experiment hardware-heat2d`` maps the 64 x 64 heat2d cells onto 4 x 4
cores (capacity 256: one 16 x 16 block per core, and a graph partition for
comparison), runs the PISNN, and reports hops per packet, the busiest
network-on-chip link, the energy per profile (breakdown by event kind) and
the Loihi throughput bound on the hardware run time. It
then measures how NoC timing changes accuracy: per-hop latency
``tau_e = h_e t_hop`` and per-link FIFO bandwidth ``B`` (service ``1/B``), with
the busiest link's mean packet rate ``L_max / t_end`` as the bandwidth unit,
checks that the ledger stays exact, and that both engines agree event by event
on a small routed run.

``evsim experiment energy-comparison`` costs heat1d as PISNN vs FTCS vs PINN
at matched accuracy with the break-even activity
(:func:`evsim.workflow.comparison.compare_solvers`).

``evsim experiment hardware-step`` sweeps the hardware step ``dt_hw`` of a
time-stepped chip on heat1d and heat2d: Loihi energy and chip time of the
replayed run, and the RMSE of the closed-loop stepped run, up to and beyond the
explicit-Euler stability bound.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evsim.analysis import figures as F
from evsim.analysis.chip import estimate, stability_bound, stepped_potentials
from evsim.analysis.energy import PROFILE_NAMES, busy_seconds, energy
from evsim.analysis.mapping import CoreMesh, Mapping, cut_edges, map_cells, traffic, with_noc_timing
from evsim.analysis.metrics import rmse
from evsim.errors import ConfigError
from evsim.network import compile_network
from evsim.simulate import simulate
from evsim.workflow.case import Case, make_case
from evsim.workflow.comparison import compare_solvers
from evsim.workflow.problems import get_problem

from .registry import experiment

__all__ = ["energy_comparison", "hardware_heat2d", "hardware_step", "step_sweep", "timing_study"]


def timing_study(case: Case, mapping: Mapping, quota: float,
                 hop_latencies: Sequence[float] = (1e-4, 1e-3, 1e-2),
                 bandwidth_factors: Sequence[float] = (4.0, 2.0, 1.2),
                 combined: tuple[float, float] | None = (1e-3, 2.0)) -> dict[str, Any]:
    """RMSE of the PISNN on ``case`` under NoC latency and congestion.

    Runs ``case`` at ``quota`` on ``mapping`` without timing effects, then with
    each hop latency ``t_hop``, each bandwidth ``B = f L_max / t_end``
    (``L_max``: busiest link load of the untimed run) and one combination
    ``(t_hop, f)`` (:func:`evsim.analysis.mapping.with_noc_timing`).

    Returns
    -------
    dict
        ``quota``, ``busiest_link_rate`` (``L_max / t_end``) and ``rows``: per
        configuration ``hop_latency``, ``bandwidth``, ``bandwidth_factor``,
        ``rmse`` vs the case's reference, ``delta_rmse`` (change vs the untimed
        run), ``rmse_vs_untimed`` (distance to the untimed potentials),
        ``spikes``, ``in_transit`` and ``ledger_residual``.
    """
    def run(hop_latency=0.0, bandwidth=math.inf):
        graph, routing = with_noc_timing(case.graph, mapping, hop_latency, bandwidth)
        return case.simulate(quota=quota, graph=graph, routing=routing, progress=False)

    base = run()
    reference = case.reference(base.times)
    rate = traffic(base, mapping).busiest_link()["packets"] / case.t_end
    configs = [(0.0, math.inf, None)] + [(h, math.inf, None) for h in hop_latencies] \
        + [(0.0, f * rate, f) for f in bandwidth_factors] \
        + ([(combined[0], combined[1] * rate, combined[1])] if combined else [])
    base_rmse = rmse(base.potential, reference)
    rows = []
    for h, bw, factor in configs:
        r = base if (h == 0 and math.isinf(bw)) else run(h, bw)
        e = rmse(r.potential, reference)
        rows.append({"hop_latency": h, "bandwidth": bw, "bandwidth_factor": factor,
                     "rmse": e, "delta_rmse": e - base_rmse,
                     "rmse_vs_untimed": rmse(r.potential, base.potential),
                     "spikes": int(r.spikes), "in_transit": int(r.in_transit),
                     "ledger_residual": int(r.ledger.residual)})
    return {"quota": quota, "busiest_link_rate": rate, "rows": rows}


def _engines_agree(n: int = 12, quota: float = 2e-4) -> dict[str, Any]:
    """Both engines on a routed, latency-carrying heat2d grid: identical spike logs?

    The heat2d graph at ``n x n`` cells, started from
    ``sin(pi x) sin(pi y) (1 + x)``, mapped onto 3 x 3 cores with hop latency
    1e-3 and bandwidth 500, run to ``t = 0.05`` by both engines.
    """
    case = make_case("heat2d", cells=n, quota=quota, t_end=0.05)
    x = case.x
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) * (1 + x[:, 0])
    m = map_cells(case.graph, CoreMesh(3, 3, math.ceil(n * n / 9)))
    graph, routing = with_noc_timing(case.graph, m, hop_latency=1e-3, bandwidth=500.0)
    runs = [simulate(graph, u0, quota=quota, t_end=case.t_end, spike_log=True, routing=routing,
                     engine=e, progress=False) for e in ("compiled", "simpy")]
    same = all(np.array_equal(runs[0].spike_log[k], runs[1].spike_log[k]) for k in ("time", "edge", "sign"))
    return {"cells": n * n, "spikes": int(runs[0].spikes), "identical_spike_logs": bool(same),
            "in_transit": int(runs[0].in_transit),
            "ledger_residuals": [int(r.ledger.residual) for r in runs]}


@experiment("hardware-heat2d")
def hardware_heat2d(out: Path, fast: bool = False, quota: float | None = None,
                    study_quota: float = 5e-6) -> dict[str, Any]:
    """heat2d on a 4 x 4 mesh of cores: traffic, energy per profile, timing effects.

    Parameters
    ----------
    out
        Directory for the figures.
    fast
        32 x 32 cells (64 per core) and quota 5e-6 instead of 64 x 64 at the
        problem's quota; the timing study then runs at ``max(study_quota, quota)``.
    quota
        Override of the main run's quota.
    study_quota
        Quota of the latency/congestion study (several runs).

    Returns
    -------
    dict
        The main run (``cells``, ``quota``, ``spikes``, ``rmse``, ...), per
        mapping its traffic (``mappings``), the Loihi throughput bound
        (``loihi_busy_seconds``), ``energy`` and ``energy_total`` per profile of
        :data:`~evsim.analysis.energy.PROFILE_NAMES`, ``timing``
        (:func:`timing_study`), ``engines_agree_with_routing`` and ``figures``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prob = get_problem("heat2d")
    case = make_case(prob, cells=32 if fast else prob.cells,
                     quota=(5e-6 if fast else prob.quota) if quota is None else quota)
    mesh = CoreMesh(4, 4, case.cells * case.cells // 16)
    result = case.simulate(progress=False)
    summary: dict[str, Any] = {
        "experiment": "hardware-heat2d", "problem": "heat2d", "cells": len(case.x),
        "quota": case.quota, "t_end": case.t_end, "spikes": int(result.spikes),
        "rmse": rmse(result.potential, case.reference(result.times)),
        "ledger_residual": int(result.ledger.residual), "wall_seconds": float(result.wall_seconds),
        "mesh": {"width": mesh.width, "height": mesh.height, "capacity": mesh.capacity},
        "mappings": {},
    }
    traffics = {}
    for method in ("blocks", "partition"):
        m = map_cells(case.graph, mesh, method)
        t = traffic(result, m)
        traffics[method] = (m, t)
        s = t.summary()
        summary["mappings"][method] = {
            "hops_per_packet": s["hops_per_packet"], "hops_per_remote_packet": s["hops_per_remote_packet"],
            "remote_packets": s["remote_packets"], "hops": s["hops"], "busiest_link": s["busiest_link"],
            "cut_edges": cut_edges(case.graph, m), "cells_per_core_max": int(m.load.max())}
        F.savefig(F.link_traffic(t), out / f"link_traffic_{method}.png")
    blocks, t_blocks = traffics["blocks"]
    summary["hops_per_packet"] = t_blocks.hops_per_packet
    summary["busiest_link"] = t_blocks.busiest_link()
    busy = busy_seconds(result, "loihi", blocks)
    summary["loihi_busy_seconds"] = {"seconds": busy["seconds"], "bottleneck": busy["bottleneck"],
                                     "link_seconds_max": busy["link_seconds_max"]}
    breakdowns = {p: energy(result, p, blocks) for p in PROFILE_NAMES}
    summary["energy"] = {p: b.as_dict() for p, b in breakdowns.items()}
    summary["energy_total"] = {p: b.total for p, b in breakdowns.items()}
    F.savefig(F.energy_bars(breakdowns), out / "energy_breakdown.png")
    F.savefig(F.cell_traffic(result), out / "cell_traffic.png")
    F.savefig(F.edge_traffic(result), out / "edge_traffic.png")

    # latency and congestion at a coarser quota (several runs)
    summary["timing"] = timing_study(case, blocks, max(study_quota, case.quota) if fast else study_quota)
    summary["engines_agree_with_routing"] = _engines_agree()

    # animation and raster of a small logged run (16 x 16)
    small = make_case(prob, cells=16, quota=2e-4, record=np.linspace(0, prob.t_end, 25))
    r16 = small.simulate(spike_log=True, progress=False)
    F.savefig(F.spike_raster(r16), out / "spike_raster_16x16.png")
    F.animate_potential(r16, out / "potential_16x16.gif")
    summary["figures"] = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".gif"))
    return summary


@experiment("energy-comparison")
def energy_comparison(out: Path, fast: bool = False) -> dict[str, Any]:
    """heat1d: PISNN (Loihi, 45 nm arithmetic) vs FTCS vs PINN at matched accuracy."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    c = compare_solvers("heat1d", quota=1e-4 if fast else 1e-5, t_end=0.5 if fast else None)
    pisnn_rmse = f"RMSE {c['pisnn']['rmse_semidiscrete']:.2e}"
    bars = {f"PISNN on {p}\n({pisnn_rmse})": e for p, e in c["pisnn"]["energy"].items()}
    bars[f"FTCS on cmos45\n(RMSE {c['ftcs']['rmse_semidiscrete']:.2e})"] = c["ftcs"]["energy"]
    if c["pinn"] is not None:
        pinn_rmse = f"RMSE {c['pinn']['rmse_train_window']:.2e} vs exact,\non its training window"
        bars[f"PINN on cmos45\n({pinn_rmse})"] = c["pinn"]["energy"]
    plt = F.pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4), layout="constrained")
    ax.barh(list(bars), list(bars.values()), color="tab:blue")
    for i, e in enumerate(bars.values()):
        ax.text(e, i, f" {e:.2e} J", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(right=max(bars.values()) * 20)
    F.log_ticks(ax, "x")
    ax.set_xlabel(F.LABELS["energy"])
    ax.set_ylabel("solver on hardware profile")
    ax.yaxis.set_tick_params(labelsize=8)
    ax.set_title(f"{c['problem']}, t \u2264 {c['t_end']:g}: energy at matched accuracy\n"
                 "(RMSE of PISNN and FTCS vs the semi-discrete reference)", fontsize=10)
    F.savefig(fig, out / "energy_comparison.png")
    c["experiment"] = "energy-comparison"
    return c


def step_sweep(case: Case, steps: Sequence[int], profile: str = "loihi") -> dict[str, Any]:
    """Energy, chip time and RMSE of ``case`` on a time-stepped chip, per hardware step.

    Runs ``case`` once with a spike log, maps its cells onto 4 x 4 cores
    (``"blocks"``), and for each ``dt_hw = t_end / k`` (``k`` in ``steps``)
    estimates the time-stepped energy and chip time
    (:func:`evsim.analysis.chip.estimate`) and the RMSE of the closed-loop
    stepped run (:func:`evsim.analysis.chip.stepped_potentials`) against the
    case's reference.

    Parameters
    ----------
    case
        The problem at its resolution and quota.
    steps
        Hardware steps over ``t_end``.
    profile
        Chip profile of the energy estimates.

    Returns
    -------
    dict
        ``problem``, ``cells``, ``quota``, ``t_end``, ``spikes``,
        ``stability_bound`` (``2 / lambda_max``), ``event_rmse`` (exact-event
        run), ``async_joules`` and ``async_chip_seconds`` (asynchronous
        estimate) and ``rows``: per step ``steps``, ``dt_hw``, ``status``
        (``"stable"`` or ``"unstable"``: ``dt_hw`` at or above the bound),
        ``rmse`` (NaN when unstable), ``energy_joules`` and ``chip_seconds``.
    """
    result = case.simulate(spike_log=True, progress=False)
    reference = case.reference(result.times)
    network = compile_network(case.graph)
    cells = len(case.x)
    mapping = map_cells(case.graph, CoreMesh(4, 4, math.ceil(cells / 16)), "blocks")
    asynchronous = estimate(result, mapping, profile, model="asynchronous")
    rows = []
    for k in steps:
        dt = case.t_end / k
        try:
            error = rmse(stepped_potentials(network, case.u0, case.quota, dt, result.times), reference)
        except ConfigError:
            error = math.nan
        stepped = estimate(result, mapping, profile, model="time-stepped", dt_hw=dt)
        rows.append({"steps": int(k), "dt_hw": dt, "status": "unstable" if math.isnan(error) else "stable",
                     "rmse": error, "energy_joules": stepped.breakdown.total,
                     "chip_seconds": stepped.chip_seconds})
    return {"problem": case.name, "cells": cells, "quota": case.quota, "t_end": case.t_end,
            "spikes": int(result.spikes), "stability_bound": stability_bound(network),
            "event_rmse": rmse(result.potential, reference), "async_joules": asynchronous.breakdown.total,
            "async_chip_seconds": asynchronous.chip_seconds, "rows": rows}


def _step_figure(sweeps: Sequence[dict[str, Any]]) -> Any:
    """Energy and RMSE vs ``dt_hw`` (log-log) per sweep of :func:`step_sweep`, with their reference lines."""
    plt = F.pyplot()
    fig, (ax_e, ax_r) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    for s, color in zip(sweeps, ("tab:blue", "tab:orange", "tab:green")):
        dt = np.array([r["dt_hw"] for r in s["rows"]])
        label = f"{s['problem']} ({s['cells']} cells, q = {s['quota']:g})"
        ax_e.plot(dt, [r["energy_joules"] for r in s["rows"]], "o-", color=color,
                  label=f"{label}: time-stepped")
        ax_e.axhline(s["async_joules"], color=color, ls=":", label=f"{s['problem']}: asynchronous")
        ax_r.plot(dt, [r["rmse"] for r in s["rows"]], "o-", color=color, label=f"{label}: stepped run (none where unstable)")
        ax_r.axhline(s["event_rmse"], color=color, ls=":", label=f"{s['problem']}: exact events")
        for ax in (ax_e, ax_r):
            ax.axvline(s["stability_bound"], color=color, ls="--",
                       label=f"{s['problem']}: stability bound 2/\u03bb_max")
    for ax, quantity, title in ((ax_e, "energy", "Loihi energy of the replayed run"),
                                (ax_r, "rmse", "RMSE of the closed-loop stepped run vs reference")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        F.log_ticks(ax)
        ax.set_xlabel("hardware step dt_hw [-]")
        ax.set_ylabel(F.LABELS[quantity])
        ax.set_title(title, fontsize=10)
    ax_e.legend(fontsize=7, loc="lower left")
    ax_r.legend(fontsize=7)
    return fig


@experiment("hardware-step")
def hardware_step(out: Path, fast: bool = False) -> dict[str, Any]:
    """Energy, chip time and RMSE vs the hardware step dt_hw (heat1d and heat2d).

    Parameters
    ----------
    out
        Directory for ``hardware_step.png``.
    fast
        Quotas 1e-4 (heat1d) and 5e-5 (heat2d) instead of the problems' and
        four steps instead of seven.

    Returns
    -------
    dict
        ``sweeps`` (:func:`step_sweep` per problem: heat1d 100 cells, heat2d
        16 x 16), ``summary`` (one row per problem and step) and ``figures``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = (30_000, 10_000, 3_000, 300) if fast else (100_000, 30_000, 10_000, 3_000, 1_000, 300, 100)
    sweeps = [step_sweep(make_case(name, cells=cells, quota=quota if fast else None), steps)
              for name, cells, quota in (("heat1d", 100, 1e-4), ("heat2d", 16, 5e-5))]
    F.savefig(_step_figure(sweeps), out / "hardware_step.png")
    summary = [{"problem": s["problem"], "stability_bound": s["stability_bound"], "event_rmse": s["event_rmse"],
                "async_joules": s["async_joules"], **r} for s in sweeps for r in s["rows"]]
    return {"experiment": "hardware-step", "fast": fast, "sweeps": sweeps, "summary": summary,
            "figures": ["hardware_step.png"]}
