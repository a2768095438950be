"""Million-cell meshes on one machine: build, compile, memory and packets/s; prints JSON.

    python benchmarks/scale.py [--sizes 1e4 1e5 1e6] [--kinds 2d 3d disk] [--packets N]
                               [--orders none rcm morton] [--no-grid]
    python benchmarks/scale.py --interleave ROUNDS [--sizes ...] [--orders morton]

For every size (target number of cells) and kind it builds, each in its own
process (so that the peak RSS is the case's own):

- ``2d``: a jittered Delaunay triangulation of the unit square
  (``topologies.fastmesh.square_network``, jitter 0.25h, P1 conductances, Dirichlet 0
  on the sides); ``3d``: the jittered Delaunay tetrahedra of the unit cube
  (``fastmesh.cube_mesh``, Voronoi two-point flux; the ``cube3d`` family with its
  side vertices jittered within the sides, which keeps Qhull fast at 10^6 points);
  ``disk``: the irregular unit disk of ``fastmesh.disk_mesh`` (jittered hexagonal
  lattice, Gabriel chords on the circle, P1, Dirichlet 0 on the chords' vertices), the
  fast counterpart of the canonical ``disk`` problem's ``voronoi_2d`` mesh, with
  ``u0 = J0(j01 r)``;
- the same mesh with its vertices numbered in random order (``shuffled``: what a
  mesh generator or the Lloyd points of ``voronoi_2d`` deliver), as built
  (``order none``) and renumbered by each of ``--orders``;
- a grid of the same size through the same code (``jitter=0``: the 5-point / 7-point
  stencil on a vertex-centred lattice, row-major order; for ``disk`` the 5-point grid
  of the unit square with the same number of cells), for the packets/s ratio.

Each case reports the mesh time (points and Delaunay), the network time (mesh
validation, conductances and the compiled ``Network``, no NetworkX graph), the
reorder time, the engine-state set-up time (``initial_state``, inside ``simulate``), the
simulation's wall time and packets/s (firings / wall seconds of the run, numba
compilation excluded by a warm-up on a small network of the kind), the peak RSS (the
build and one engine state), the bytes of the compiled network and of the engine state
(per cell and per edge: ``evsim.network.engine_bytes``, exact against ``initial_state``
in ``tests/topologies/test_scale_memory.py``), and the ledger residual (0). The run
is ``u_t = Lap u`` from ``u0 = prod sin(pi x_a)`` with quota ``q`` chosen so that
``--packets`` firings end well before ``t_end`` (it stops at ``max_events``).
Every case of one size runs the same ``u0``, ``q`` and number of packets, so the
ratios ``grid / irregular`` printed at the end are measured in one run of this script.
Nothing here is asserted: the host is shared and noisy (docs/performance.md); on a
loaded host ``--interleave`` gives the grid/irregular ratio run by run under the same load.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_ranks import machine  # noqa: E402  (the machine block scale_ranks and cut_part print)


def _rss_mib() -> dict:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
    out = {"peak_rss_mib": round(peak, 1)}
    try:
        import psutil
        out["rss_mib"] = round(psutil.Process().memory_info().rss / 2**20, 1)
    except ImportError:
        pass
    return out


def _nbytes(obj, names) -> dict:
    return {n: int(getattr(obj, n).nbytes) for n in names if isinstance(getattr(obj, n), np.ndarray)}


def build_case(kind: str, n: int, jitter: float, shuffle: bool, order: str | None):
    """The case's compiled network and the clock at each build stage.

    ``n``: lattice intervals per axis (``2d``, ``3d``), target cells (``disk``; its grid
    is the square one with ``round(sqrt(n)) + 1`` intervals, i.e. about ``n`` cells)."""
    from evsim.topologies.fastmesh import (cube_mesh, disk_mesh, shuffle_mesh, simplex_network,
                                           square_mesh)
    from evsim.topologies.ordering import reorder
    from evsim.topologies.tetra import tetrahedralize_box

    t0 = time.perf_counter()
    if kind == "disk" and jitter == 0:
        points, simplices, tags = square_mesh(intervals("2d", n), jitter=0.0)
    elif kind == "disk":
        points, simplices, tags = disk_mesh(n, jitter=jitter, seed=0)
    elif kind == "2d":
        points, simplices, tags = square_mesh(n, jitter=jitter, seed=0, shuffle=shuffle)
    elif jitter == 0:                       # the 7-point grid: Kuhn subdivision, no Qhull
        points, simplices, tags = tetrahedralize_box(n, jitter=0.0)
    else:
        points, simplices, tags = cube_mesh(n, jitter=jitter, seed=0)
    if kind != "2d" and shuffle:
        points, simplices, tags = shuffle_mesh(points, simplices, tags, 0)
    t1 = time.perf_counter()
    network = simplex_network(points, simplices, diffusivity=1.0, tags=tags,
                              scheme="voronoi" if kind == "3d" else "p1")
    t2 = time.perf_counter()
    network = reorder(network, order)
    t3 = time.perf_counter()
    del points, simplices, tags
    return network, (t0, t1, t2, t3)


def _initial(kind: str, jitter: float, network) -> np.ndarray:
    """``J0(j01 r)`` on the disk (its first Dirichlet mode), ``prod sin(pi x_a)`` on the
    square and the cube (and on the disk's grid)."""
    if kind == "disk" and jitter > 0:
        from scipy.special import j0, jn_zeros

        return j0(jn_zeros(0, 1)[0] * np.hypot(*network.positions.T))
    return np.prod(np.sin(np.pi * network.positions), axis=1)


def _quota(network, u0: np.ndarray, packets: int, t_end: float) -> float:
    """The initial total |flux| over ``t_end`` (u decays by ~e^-1 in 2D, ~0.6 on average)
    gives ~3x the packets asked, so every run stops at max_events."""
    pot = np.concatenate([u0, network.reservoir_potential])
    flux = network.conductance * np.abs(pot[network.edges[:, 0]] - pot[network.edges[:, 1]])
    return float(flux.sum()) * t_end * 0.6 / (3 * packets)


def interleaved(kind: str, n: int, order: str | None, packets: int, rounds: int) -> dict:
    """Grid and irregular (shuffled, then ``order``) networks of one size in one process,
    run alternately ``rounds`` times each: the ratio of each pair is taken under the same
    load, which the separate cases cannot promise on a shared host."""
    import evsim

    nets = {"grid": build_case(kind, n, 0.0, False, None)[0],
            "irregular": build_case(kind, n, 0.25, True, order)[0]}
    setup = {}
    for name, net in nets.items():
        u0 = _initial(kind, 0.0 if name == "grid" else 0.25, net)
        setup[name] = (net, u0, _quota(net, u0, packets, 0.05))
        evsim.simulate(net, u0, quota=setup[name][2], t_end=0.05, max_events=1000, progress=False)
    rates = {"grid": [], "irregular": []}
    for _ in range(rounds):
        for name, (net, u0, q) in setup.items():
            r = evsim.simulate(net, u0, quota=q, t_end=0.05, record=[0.0, 0.05],
                               max_events=packets, progress=False)
            assert r.ledger.residual == 0 and r.stop_reason == "max_events"
            rates[name].append(round(r.events_per_second))
    pairs = [g / i for g, i in zip(rates["grid"], rates["irregular"])]
    return {"kind": kind, "intervals": n, "cells": nets["grid"].cells,
            "irregular_cells": nets["irregular"].cells, "order": order or "none",
            "packets_per_run": packets, "packets_per_second": rates,
            "grid_over_irregular_pairs": [round(x, 3) for x in pairs],
            "grid_over_irregular_median": round(float(np.median(pairs)), 3), **_rss_mib()}


def run_case(kind: str, n: int, jitter: float, shuffle: bool, order: str | None,
             packets: int) -> dict:
    """Build, compile and simulate one case (in this process)."""
    import evsim
    from evsim.network import _ARRAYS, engine_bytes

    # numba compiles the kernel once for all sizes: warm it up on a small network of the
    # kind, so that the case builds one engine state only (at 10^6 3D cells one is 3.7 GB)
    small = build_case(kind, 40 if kind == "disk" else 6, jitter, False, None)[0]
    u_small = _initial(kind, jitter, small)
    warm = evsim.simulate(small, u_small, quota=_quota(small, u_small, 1000, 0.05), t_end=0.05,
                          max_events=1000, progress=False)
    assert warm.ledger.residual == 0
    network, times = build_case(kind, n, jitter, shuffle, order)
    t0, t1, t2, t3 = times
    N, E = network.cells, network.size
    u0 = _initial(kind, jitter, network)
    t_end = 0.05
    quota = _quota(network, u0, packets, t_end)
    record = np.array([0.0, t_end])
    state_bytes = {k: v for k, v in engine_bytes(network, record.size).items() if k != "total"}
    gc.collect()
    t4 = time.perf_counter()
    result = evsim.simulate(network, u0, quota=quota, t_end=t_end, record=record,
                            max_events=packets, progress=False)
    t5 = time.perf_counter()
    net_bytes = _nbytes(network, _ARRAYS)
    return {
        "kind": kind, "mesh": "grid" if jitter == 0 else "irregular", "intervals": n,
        "shuffled": shuffle, "order": order or "none", "cells": N, "edges": E,
        "edges_per_cell": round(E / N, 3), "reservoirs": network.reservoirs,
        "mesh_seconds": round(t1 - t0, 2), "network_seconds": round(t2 - t1, 2),
        "reorder_seconds": round(t3 - t2, 2), "build_and_compile_seconds": round(t3 - t0, 2),
        "state_setup_seconds": round(t5 - t4 - result.wall_seconds, 2),
        "quota": quota, "packets": int(result.firings), "stop_reason": result.stop_reason,
        "wall_seconds": round(result.wall_seconds, 2),
        "packets_per_second": round(result.events_per_second),
        "ledger_residual": int(result.ledger.residual),
        "network_bytes": sum(net_bytes.values()),
        "network_bytes_per_cell": round(sum(net_bytes.values()) / N, 1),
        "state_bytes": sum(state_bytes.values()),
        "state_bytes_per_cell": round(sum(state_bytes.values()) / N, 1),
        "state_bytes_per_edge": round(sum(state_bytes.values()) / E, 1),
        "state_arrays": state_bytes, "network_arrays": net_bytes, **_rss_mib(),
    }


def intervals(kind: str, cells: float) -> int:
    """Lattice intervals per axis giving about ``cells`` interior cells (Dirichlet sides);
    the target cell count itself for ``disk``."""
    if kind == "disk":
        return int(round(cells))
    return int(round(cells ** (1 / (2 if kind == "2d" else 3)))) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6],
                    help="target cell counts (default 1e4 1e5 1e6)")
    ap.add_argument("--kinds", nargs="+", choices=["2d", "3d", "disk"],
                    default=["2d", "3d"])
    ap.add_argument("--packets", type=float, default=1e7, help="firings per run (default 1e7)")
    ap.add_argument("--orders", nargs="*", default=["none", "rcm", "morton"],
                    choices=["none", "rcm", "morton"],
                    help="orders of the shuffled mesh (default none rcm morton; none given: no shuffled case)")
    ap.add_argument("--no-grid", action="store_true", help="skip the grid of the same size")
    ap.add_argument("--no-lattice-order", action="store_true",
                    help="skip the irregular mesh in its lattice (unshuffled) order")
    ap.add_argument("--interleave", type=int, metavar="ROUNDS",
                    help="instead: grid and shuffled irregular mesh (first of --orders) of each "
                         "size in one process, run alternately ROUNDS times each")
    ap.add_argument("--case", help=argparse.SUPPRESS)   # kind,n,jitter,shuffle,order,packets
    args = ap.parse_args()
    if args.case:
        kind, n, jitter, shuffle, order, packets = args.case.split(",")
        print(json.dumps(run_case(kind, int(n), float(jitter), shuffle == "1",
                                  None if order == "none" else order, int(float(packets)))))
        return
    if args.interleave:
        order = None if not args.orders or args.orders[0] == "none" else args.orders[0]
        rows = [interleaved(kind, intervals(kind, cells), order, int(args.packets), args.interleave)
                for cells in args.sizes for kind in args.kinds]
        print(json.dumps({"machine": machine(),
                          "interleaved": rows}, indent=1))
        return
    cases = []
    for cells in args.sizes:
        for kind in args.kinds:
            n = intervals(kind, cells)
            plan = [] if args.no_grid else [(0.0, 0, "none")]
            if not args.no_lattice_order:
                plan.append((0.25, 0, "none"))
            plan += [(0.25, 1, o) for o in args.orders]
            for jitter, shuffle, order in plan:
                spec = f"{kind},{n},{jitter},{shuffle},{order},{args.packets}"
                out = subprocess.run([sys.executable, __file__, "--case", spec],
                                     capture_output=True, text=True)
                if out.returncode:
                    cases.append({"case": spec, "error": out.stderr.strip().splitlines()[-1:]})
                else:
                    cases.append(json.loads(out.stdout))
                print(json.dumps(cases[-1]), file=sys.stderr, flush=True)
    ratios = []
    for c in cases:
        if c.get("mesh") != "irregular":
            continue
        grid = [g for g in cases if g.get("mesh") == "grid" and g["kind"] == c["kind"]
                and g["intervals"] == c["intervals"]]
        if grid:
            ratios.append({"kind": c["kind"], "cells": c["cells"], "shuffled": c["shuffled"],
                           "order": c["order"],
                           "grid_over_irregular": round(grid[0]["packets_per_second"]
                                                        / c["packets_per_second"], 3)})
    print(json.dumps({"machine": machine(),
                      "packets": int(args.packets), "cases": cases, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main()
