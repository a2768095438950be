"""Cut size, balance and wall time of the core mappings "blocks", "partition", "metis"; prints JSON.

    python benchmarks/partition.py [--t-end T] [--quota Q] [--repeat R]

Two graphs on a 4 x 4 core mesh: the 64 x 64 grid (``grid_2d(64, 1.0, 0.1)``,
capacity 256: every core exactly full) and the Voronoi disk
(``voronoi_2d("disk", cells=2000, diffusivity=0.1, seed=0)``, capacity 256).
For each mapping: ``cut_edges`` (cell-cell edges between different cores),
``cut_packets`` (packets of a run on those edges: a Gaussian bump
``u0 = exp(-|x - c|^2 / 0.02)`` simulated to ``--t-end`` with ``--quota``; 0 to
skip the run), the load balance ``max load / mean load`` over the cores, and
the best wall time of ``--repeat`` mappings, in seconds. The CPU is reported as
``platform.processor()`` and ``lscpu``'s model name. METIS needs the extra
``hardware`` (pymetis).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time

import numpy as np

import evsim
from evsim import topologies
from evsim.analysis.mapping import CoreMesh, cut_edges, map_cells

METHODS = ("blocks", "partition", "metis")


def _cpu() -> str:
    """``lscpu``'s model name, or ``platform.processor()`` when lscpu is unavailable."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")]
    return names[0] if names else platform.processor()


def _packets(graph, t_end: float, quota: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """``(edges, edge_spikes, cells)`` of a Gaussian-bump run, or ``None`` for ``t_end <= 0``."""
    if t_end <= 0:
        return None
    net = evsim.compile_network(graph)
    centre = np.nanmean(net.positions, axis=0)
    u0 = np.exp(-np.sum((net.positions - centre) ** 2, axis=1) / 0.02)
    r = evsim.simulate(net, u0=u0, quota=quota, t_end=t_end, progress=False)
    return net.edges, np.asarray(r.edge_spikes), net.cells


def bench(graph, mesh: CoreMesh, run, repeat: int) -> dict:
    """One row per method: cut edges, cut packets, balance, wall seconds."""
    rows = {}
    for method in METHODS:
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            m = map_cells(graph, mesh, method)
            best = min(best, time.perf_counter() - t0)
        row = {"cut_edges": cut_edges(graph, m), "balance": float(m.load.max() / m.load.mean()),
               "load_max": int(m.load.max()), "load_min": int(m.load.min()), "seconds": best}
        if run is not None:
            edges, spikes, n = run
            ca, cb, both = m.endpoint_cores(edges, n)
            row["cut_packets"] = int(spikes[both & (ca != cb)].sum())
            row["packets"] = int(spikes.sum())
        rows[method] = row
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-end", type=float, default=0.05)
    ap.add_argument("--quota", type=float, default=1e-4)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    mesh = CoreMesh(4, 4, 256)
    graphs = {"grid_64x64": topologies.grid_2d(64, 1.0, 0.1),
              "disk_2000": topologies.voronoi_2d("disk", cells=2000, diffusivity=0.1, seed=0)}
    out = {"cpu": _cpu(), "processor": platform.processor(), "mesh": "4x4, capacity 256",
           "t_end": a.t_end, "quota": a.quota, "results": {}}
    for name, g in graphs.items():
        out["results"][name] = bench(g, mesh, _packets(g, a.t_end, a.quota), a.repeat)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
