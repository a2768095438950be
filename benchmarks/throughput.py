"""Packets per second of both engines; prints JSON.

    python benchmarks/throughput.py [--quick] [--repeat N]

heat2d at 256 x 256 cells and heat1d (100 cells) for the compiled engine, heat1d
for the SimPy engine. The process is pinned to one core; numba compilation is
excluded by a warm-up run. Packets/s = firings / wall-clock seconds of the run:
the best of ``--repeat`` runs (default 3), with their median and every run. The
machine block names the CPU (family, model, caches) and reports the latency of a
random load within 0.25, 1 and 16 MiB: at 256 x 256 the engine's state is ~22 MiB,
so its rate follows the last figure (see docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import evsim
from evsim import topologies
from evsim.kernel import cpu_caches


def measure(graph, u0, quota, t_end, engine, max_events=None, repeat=3):
    """Run ``repeat`` times; report the best run, the median rate and every rate
    (this host is shared: the spread is part of the measurement)."""
    runs = [evsim.simulate(graph, u0, quota=quota, t_end=t_end, engine=engine,
                           max_events=max_events, progress=False) for _ in range(repeat)]
    rates = [r.events_per_second for r in runs]
    best = runs[int(np.argmax(rates))]
    assert len({(r.spikes, r.t_final) for r in runs}) == 1, "runs of the same input differ"
    return {"engine": engine, "cells": best.network.cells, "edges": best.network.size,
            "quota": quota, "packets": best.spikes, "wall_seconds": round(best.wall_seconds, 4),
            "packets_per_second": round(best.events_per_second),
            "packets_per_second_median": round(float(np.median(rates))),
            "packets_per_second_runs": [round(x) for x in rates], "t_final": best.t_final,
            "ledger_residual": best.ledger.residual}


def memory_latency_ns(mebibytes: float) -> float:
    """Nanoseconds per dependent load when chasing pointers through ``mebibytes`` of
    memory in random order (one pointer per cache line): what a random access to the
    engine's state costs on this machine once it no longer fits in cache."""
    import numba

    @numba.njit
    def chase(nxt, steps):
        p = 0
        for _ in range(steps):
            p = nxt[p]
        return p

    lines = int(mebibytes * 2**20 / 64)
    order = np.random.default_rng(0).permutation(lines) * 8
    nxt = np.zeros(lines * 8, dtype=np.int64)
    nxt[order] = np.roll(order, -1)
    chase(nxt, 1000)
    steps = 1_000_000
    t0 = time.perf_counter()
    chase(nxt, steps)
    return round((time.perf_counter() - t0) / steps * 1e9, 1)


def cpu_identity() -> dict:
    """What this host's CPU is (Linux ``/proc/cpuinfo`` and sysfs; empty elsewhere).

    Throughput at 256 x 256 follows the cache sizes and memory latency, which differ
    between CPU generations behind the same ``platform.processor()`` string, so the
    report names the family, model and caches (bytes, as the kernel reads them to
    decide whether to prefetch) of the core it ran on.
    """
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break       # the first processor only
                key, _, value = (part.strip() for part in line.partition(":"))
                if key in ("vendor_id", "cpu family", "model", "model name", "stepping", "cpu MHz"):
                    info[key.replace(" ", "_")] = value
    except OSError:
        pass
    info.update({f"{name}_cache_bytes": size for name, size in cpu_caches().items()})
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer packets, one repetition")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    repeat = 1 if args.quick else args.repeat
    scale = 0.2 if args.quick else 1.0

    g1 = topologies.grid_1d(cells=100, diffusivity=0.1)
    u1 = np.sin(np.pi * topologies.cell_positions(g1)[:, 0])
    g2 = topologies.grid_2d(cells=256, diffusivity=0.1)
    x2 = topologies.cell_positions(g2)
    u2 = np.sin(np.pi * x2[:, 0]) * np.sin(np.pi * x2[:, 1])
    evsim.simulate(g1, u1, quota=1e-3, t_end=0.1, progress=False)  # compile

    t0 = time.perf_counter()
    report = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores_used": 1, "evsim": evsim.__version__, "cpu_identity": cpu_identity(),
                    "load_latency_ns": {f"{mb} MiB": memory_latency_ns(mb) for mb in (0.25, 1, 16)}},
        "heat2d_256_compiled": measure(g2, u2, 2e-9, 0.8, "compiled", int(2e7 * scale), repeat),
        "heat1d_compiled": measure(g1, u1, 1e-6 if not args.quick else 1e-5, 2.0, "compiled", None, repeat),
        "heat1d_simpy": measure(g1, u1, 1e-4, 2.0, "simpy", None, repeat),
    }
    report["benchmark_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
