"""Cost of monitors and of real-time sensor correction; prints JSON.

    python benchmarks/assimilation.py [--quick]

1. Segment overhead: heat1d (100 cells) with and without a ``StateMonitor`` of one
   cell at ``--segments`` times, both engines (the spike sequence is the same; the
   difference is the cost of cutting the run into segments).
2. Sensor samples assimilated per second of wall time: ``evsim experiment twin``'s
   study (:func:`evsim.experiments.twin.twin_study`) on the compiled engine and, on a
   shorter horizon, on the SimPy engine; wall time of the corrected run, PISNN included.

numba compilation is excluded by a warm-up run.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import evsim
from evsim import topologies
from evsim.experiments.twin import twin_study
from evsim.monitors import StateMonitor


def segment_overhead(engine: str, segments: int, t_end: float) -> dict:
    g = topologies.grid_1d(cells=100, diffusivity=0.1)
    u0 = np.sin(np.pi * topologies.cell_positions(g)[:, 0])
    walls = {}
    for label, monitors in (("plain", None),
                            ("monitored", [StateMonitor([50], np.linspace(0, t_end, segments))])):
        start = time.perf_counter()
        r = evsim.simulate(g, u0, quota=1e-5, t_end=t_end, engine=engine, progress=False,
                           monitors=monitors)
        walls[label] = time.perf_counter() - start
    return {"engine": engine, "segments": segments, "spikes": r.spikes,
            "wall_plain": walls["plain"], "wall_monitored": walls["monitored"],
            "overhead_ms_per_segment": 1e3 * (walls["monitored"] - walls["plain"]) / segments}


def assimilation_rate(engine: str, **study) -> dict:
    s = twin_study(engine=engine, **study)
    return {k: s[k] for k in ("engine", "cells", "t_end", "quota", "samples", "segments",
                              "wall_seconds_corrected", "samples_per_second", "rmse_ratio",
                              "theta_error", "ledger_residual_corrected")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args()
    twin_study(cells=12, t_end=0.2, quota=1e-3)                 # warm-up: numba compiles
    quick = args.quick
    tiny = dict(cells=12, quota=1e-3)
    study = dict(cells=24, quota=5e-5)
    report = {
        "segments_compiled": segment_overhead("compiled", *((50, 0.2) if quick else (1000, 2.0))),
        "segments_simpy": segment_overhead("simpy", *((20, 0.02) if quick else (200, 0.2))),
        "twin_compiled": assimilation_rate("compiled", **(tiny if quick else study),
                                           t_end=1.0 if quick else 16.0),
        "twin_simpy": assimilation_rate("simpy", **(tiny if quick else study),
                                        t_end=0.4 if quick else 2.0),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
