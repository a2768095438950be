"""1 vs 2 MPI ranks on one heat2d-like grid under the cut-latency model (prints JSON).

For a ``cells x cells`` grid (default 512^2, ``u_t = 0.1 Lap u``, ``u = 0`` on the
sides, an asymmetric initial field ``sin(pi x) sin(pi y) (1 + x / 2 + y / 4)``, symmetric
about no line, so that mass crosses any cut) split into two METIS parts, and for cut latencies ``L`` of
``--spacings`` mean event spacings per edge (``t_end E / packets`` of the exact
order-1 run over the same time), it times

* ``order1``: :func:`evsim.simulate` (the exact model, zero lookahead, one process);
* ``one_process``: :func:`evsim.cut.simulate_cut`, both parts in this process;
* ``two_ranks``: the same under ``mpiexec -n 2`` (one part per rank),

checks that the two cut runs agree bit for bit (spikes per edge, final potentials)
with an exact ledger, and reports wall times (set-up excluded; the fastest of
``--repeat`` runs), ``speedup =
one_process / two_ranks``, ``speedup_vs_order1`` and ``cpu_speedup`` (CPU time of
the one process over that of the busier rank: the speedup two dedicated cores would
give, MPI's busy waiting at the exchanges included). Speed depends on the machine
and its load: the machine block names the CPU and the load average.

    python benchmarks/scale_ranks.py [--cells 512] [--spacings 1 10 100] [--t-end-spacings 20]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import evsim
from evsim import topologies
from evsim.checks import ScaleWarning
from evsim.cut import simulate_cut

QUOTA = 1e-8


def problem(cells: int):
    """The grid, its network and the asymmetric initial field."""
    graph = topologies.grid_2d(cells=cells, length=1.0, diffusivity=0.1)
    network = evsim.compile_network(graph)
    x = network.positions
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) * (1 + 0.5 * x[:, 0] + 0.25 * x[:, 1])
    return graph, network, u0


def quota_for(cells: int) -> float:
    """A quota of about 1/400 of a cell's volume times the field's scale."""
    return QUOTA * (512 / cells) ** 2


def machine() -> dict:
    """The CPU, core count, load average and Python version (speed depends on them)."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(),
            "python": platform.python_version()}


def digest(result) -> str:
    """Hash of what must agree bit for bit: spikes per edge and direction, final potentials."""
    h = hashlib.sha256()
    for a in (result.edge_forward, result.edge_backward, result.final_potential, result.potential):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def row(result) -> dict:
    return {"wall_seconds": result.wall_seconds, "packets": result.spikes,
            "packets_per_second": result.spikes / result.wall_seconds,
            "ledger_residual": result.ledger.residual, "in_transit": result.in_transit,
            "windows": result.metadata.get("windows"),
            "process_cpu_seconds": result.metadata["process_cpu_seconds"], "digest": digest(result)}


def best(runs) -> dict:
    """The row of the fastest of repeated runs, with every wall time."""
    out = row(min(runs, key=lambda r: r.wall_seconds))
    out["wall_seconds_runs"] = [r.wall_seconds for r in runs]
    return out


def warm_up(network, assignment, u0, cells, lag, comm=None) -> None:
    """One short run first, so that no timed run loads the compiled kernel."""
    simulate_cut(network, assignment, lag, u0=u0, quota=quota_for(cells), t_end=lag, comm=comm)


def worker(args) -> None:
    """Under mpiexec: one part per rank, every latency in turn; rank 0 prints JSON rows."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    _, network, u0 = problem(args.cells)
    assignment = np.load(args.assignment)
    warm_up(network, assignment, u0, args.cells, args.latencies[0], comm)
    out = []
    for lag in args.latencies:
        runs = [simulate_cut(network, assignment, lag, u0=u0, quota=quota_for(args.cells),
                             t_end=args.t_end, comm=comm) for _ in range(args.repeat)]
        if comm.rank == 0:
            out.append(best(runs))
    if comm.rank == 0:
        print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=512)
    parser.add_argument("--spacings", type=float, nargs="+", default=[1.0, 10.0, 100.0],
                        help="cut latencies in mean event spacings per edge")
    parser.add_argument("--t-end-spacings", dest="t_end_spacings", type=float, default=20.0,
                        help="run length in mean event spacings per edge")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per configuration; the fastest is reported (a shared machine)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--assignment", help=argparse.SUPPRESS)
    parser.add_argument("--latencies", type=float, nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--t-end", dest="t_end", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ScaleWarning)
    if args.worker:
        return worker(args)
    from evsim.workflow.partitioned import mpiexec, partition

    start = time.perf_counter()
    graph, network, u0 = problem(args.cells)
    q = quota_for(args.cells)
    built = time.perf_counter() - start
    # the mean event spacing per edge, from a short exact run
    probe_t = 1e-4 * (512 / args.cells) ** 2
    probe = evsim.simulate(network, u0=u0, quota=q, t_end=probe_t)
    spacing = probe_t * network.size / probe.spikes
    t_end = args.t_end_spacings * spacing
    order1 = min((evsim.simulate(network, u0=u0, quota=q, t_end=t_end) for _ in range(args.repeat)),
                 key=lambda r: r.wall_seconds)
    start = time.perf_counter()
    assignment = partition(graph, 2)
    metis = time.perf_counter() - start
    latencies = [k * spacing for k in args.spacings]
    warm_up(network, assignment, u0, args.cells, latencies[0])
    rows = []
    for k, lag in zip(args.spacings, latencies):
        runs = [simulate_cut(network, assignment, lag, u0=u0, quota=q, t_end=t_end)
                for _ in range(args.repeat)]
        rows.append({"spacings": k, "cut_latency": lag, "one_process": best(runs)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "assignment.npy"
        np.save(path, assignment)
        proc = subprocess.run([mpiexec(), "-n", "2", sys.executable, __file__, "--worker",
                               "--cells", str(args.cells), "--assignment", str(path),
                               "--repeat", str(args.repeat),
                               "--t-end", repr(t_end), "--latencies", *map(repr, latencies)],
                              capture_output=True, text=True, check=True)
    for entry, two in zip(rows, json.loads(proc.stdout.strip().splitlines()[-1])):
        one = entry["one_process"]
        entry["two_ranks"] = two
        entry["bit_identical"] = one["digest"] == two["digest"]
        entry["speedup"] = one["wall_seconds"] / two["wall_seconds"]
        entry["speedup_vs_order1"] = order1.wall_seconds / two["wall_seconds"]
        # what two dedicated cores would give: CPU time of one process / of the busier rank
        entry["cpu_speedup"] = one["process_cpu_seconds"][0] / max(two["process_cpu_seconds"])
        if not entry["bit_identical"] or two["ledger_residual"] != 0:
            raise SystemExit(f"2 ranks differ from one process at L = {entry['cut_latency']}")
    a, b = network.edges.T
    cell = (a < network.cells) & (b < network.cells)
    print(json.dumps({
        "machine": machine(),
        "grid": f"{args.cells}x{args.cells}", "cells": network.cells, "edges": network.size,
        "quota": q, "t_end": t_end, "mean_event_spacing": spacing, "build_seconds": built,
        "metis_seconds": metis,
        "cut_edges": int(np.count_nonzero(assignment[a[cell]] != assignment[b[cell]])),
        "order1": {"wall_seconds": order1.wall_seconds, "packets": order1.spikes,
                   "packets_per_second": order1.spikes / order1.wall_seconds},
        "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
