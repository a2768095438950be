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
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .registry import experiment

__all__ = ["hardware_heat2d", "energy_comparison", "timing_study"]


def _cut_edges(graph, mapping) -> int:
    from evsim.topologies import cell_nodes
    index = {c: i for i, c in enumerate(cell_nodes(graph))}
    return sum(1 for u, v in graph.edges() if u in index and v in index
               and mapping.core[index[u]] != mapping.core[index[v]])


def timing_study(graph, u0, times, reference, mapping, quota: float, t_end: float,
                 hop_latencies=(1e-4, 1e-3, 1e-2), bandwidth_factors=(4.0, 2.0, 1.2),
                 combined=(1e-3, 2.0)) -> dict[str, Any]:
    """RMSE of the PISNN under NoC latency and congestion.

    Runs without timing effects, then with each hop latency ``t_hop``, each
    bandwidth ``B = f L_max / t_end`` (``L_max``: busiest link load of the
    untimed run) and one combination. Each row: ``rmse`` vs ``reference``,
    ``delta_rmse`` (change vs the untimed run), ``rmse_vs_untimed`` (distance to
    the untimed potentials), ``spikes``, ``in_transit``, ``ledger_residual``.
    """
    import evsim
    from evsim.analysis.mapping import build_routing, traffic, with_hop_latency
    from evsim.analysis.metrics import rmse

    def run(hop_latency=0.0, bandwidth=math.inf):
        g = with_hop_latency(graph, mapping, hop_latency) if hop_latency > 0 else graph
        routing = None
        if math.isfinite(bandwidth):
            net = evsim.compile_network(g)
            routing = build_routing(net.edges, net.cells, mapping, bandwidth)
        return evsim.simulate(g, u0, quota=quota, t_end=t_end, record=times, routing=routing,
                              progress=False)

    base = run()
    load = traffic(base, mapping).busiest_link()["packets"]
    rate = load / t_end
    rows = []
    configs = [(0.0, math.inf, None)] + [(h, math.inf, None) for h in hop_latencies] \
        + [(0.0, f * rate, f) for f in bandwidth_factors] \
        + ([(combined[0], combined[1] * rate, combined[1])] if combined else [])
    base_rmse = rmse(base.potential, reference)
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
    """Both engines on a routed, latency-carrying heat2d grid: identical spike logs?"""
    import evsim
    from evsim import topologies
    from evsim.analysis.mapping import CoreMesh, build_routing, map_cells, with_hop_latency
    g = topologies.grid_2d(n, 1.0, 0.1)
    x = topologies.cell_positions(g)
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) * (1 + x[:, 0])
    m = map_cells(g, CoreMesh(3, 3, math.ceil(n * n / 9)))
    gl = with_hop_latency(g, m, 1e-3)
    net = evsim.compile_network(gl)
    routing = build_routing(net.edges, net.cells, m, bandwidth=500.0)
    runs = [evsim.simulate(gl, u0, quota=quota, t_end=0.05, spike_log=True, routing=routing,
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
        problem's quota.
    quota
        Override of the main run's quota.
    study_quota
        Quota of the latency/congestion study (several runs).
    """
    import evsim
    from evsim import topologies
    from evsim.analysis import figures as F
    from evsim.analysis.energy import PROFILES, busy_seconds, energy
    from evsim.analysis.mapping import CoreMesh, map_cells, traffic
    from evsim.analysis.metrics import rmse
    from evsim.workflow.case import make_case
    from evsim.workflow.problems import get_problem

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prob = get_problem("heat2d")
    n_axis = 32 if fast else prob.cells
    quota = (5e-6 if fast else prob.quota) if quota is None else float(quota)
    mesh = CoreMesh(4, 4, n_axis * n_axis // 16)
    graph = prob.build(n_axis, prob.diffusivity)
    x = topologies.cell_positions(graph)
    u0 = prob.initial(x)
    times = prob.record_times()
    result = evsim.simulate(graph, u0, quota=quota, t_end=prob.t_end, record=times, progress=False)
    ref = make_case(prob, cells=n_axis).reference(result.times)
    summary: dict[str, Any] = {
        "experiment": "hardware-heat2d", "problem": "heat2d", "cells": len(x), "quota": quota,
        "t_end": prob.t_end, "spikes": int(result.spikes), "rmse": rmse(result.potential, ref),
        "ledger_residual": int(result.ledger.residual), "wall_seconds": float(result.wall_seconds),
        "mesh": {"width": mesh.width, "height": mesh.height, "capacity": mesh.capacity},
        "mappings": {},
    }
    traffics = {}
    for method in ("blocks", "partition"):
        m = map_cells(graph, mesh, method)
        t = traffic(result, m)
        traffics[method] = (m, t)
        s = t.summary()
        summary["mappings"][method] = {
            "hops_per_packet": s["hops_per_packet"], "hops_per_remote_packet": s["hops_per_remote_packet"],
            "remote_packets": s["remote_packets"], "hops": s["hops"], "busiest_link": s["busiest_link"],
            "cut_edges": _cut_edges(graph, m), "cells_per_core_max": int(m.load.max())}
        F.savefig(F.link_traffic(t), out / f"link_traffic_{method}.png")
    blocks, t_blocks = traffics["blocks"]
    summary["hops_per_packet"] = t_blocks.hops_per_packet
    summary["busiest_link"] = t_blocks.busiest_link()
    busy = busy_seconds(result, "loihi", blocks)
    summary["loihi_busy_seconds"] = {"seconds": busy["seconds"], "bottleneck": busy["bottleneck"],
                                     "link_seconds_max": busy["link_seconds_max"]}
    breakdowns = {p: energy(result, p, blocks) for p in PROFILES}
    summary["energy"] = {p: b.as_dict() for p, b in breakdowns.items()}
    summary["energy_total"] = {p: b.total for p, b in breakdowns.items()}
    F.savefig(F.energy_bars(breakdowns), out / "energy_breakdown.png")
    F.savefig(F.cell_traffic(result), out / "cell_traffic.png")
    F.savefig(F.edge_traffic(result), out / "edge_traffic.png")

    # latency and congestion at a coarser quota (several runs)
    if fast:
        sq = max(study_quota, quota)
        study = timing_study(graph, u0, times, ref, blocks, sq, prob.t_end)
    else:
        study = timing_study(graph, u0, times, ref, blocks, study_quota, prob.t_end)
    summary["timing"] = study
    summary["engines_agree_with_routing"] = _engines_agree()

    # animation and raster of a small logged run (16 x 16)
    g16 = prob.build(16, prob.diffusivity)
    x16 = topologies.cell_positions(g16)
    r16 = evsim.simulate(g16, prob.initial(x16), quota=2e-4, t_end=prob.t_end,
                         record=np.linspace(0, prob.t_end, 25), spike_log=True, progress=False)
    F.savefig(F.spike_raster(r16), out / "spike_raster_16x16.png")
    F.animate_potential(r16, out / "potential_16x16.gif")
    summary["figures"] = sorted(p.name for p in out.iterdir() if p.suffix in (".png", ".gif"))
    return summary


@experiment("energy-comparison")
def energy_comparison(out: Path, fast: bool = False) -> dict[str, Any]:
    """heat1d: PISNN (Loihi, 45 nm arithmetic) vs FTCS vs PINN at matched accuracy."""
    from evsim.analysis import figures as F
    from evsim.workflow.comparison import compare_solvers

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    c = compare_solvers("heat1d", quota=1e-4 if fast else 1e-5, t_end=0.5 if fast else None)
    bars = {f"PISNN on {p}": {"energy": {"events": e}, "total": e} for p, e in c["pisnn"]["energy"].items()}
    bars["FTCS (cmos45)"] = {"energy": {"flops": c["ftcs"]["energy"]}, "total": c["ftcs"]["energy"]}
    if c["pinn"] is not None:
        bars["PINN (cmos45)"] = {"energy": {"flops": c["pinn"]["energy"]}, "total": c["pinn"]["energy"]}
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
    ax.barh(list(bars), [b["total"] for b in bars.values()], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("energy [J] at matched accuracy")
    ax.set_title("heat1d: PISNN vs FTCS vs PINN")
    F.savefig(fig, out / "energy_comparison.png")
    c["experiment"] = "energy-comparison"
    return c
