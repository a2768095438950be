"""The cut kernel against the order-1 kernel on the same events (prints JSON).

For each ``cells x cells`` grid of :mod:`benchmarks.scale_ranks` (``u_t = 0.1 Lap u``,
``u = 0`` on the sides, the asymmetric initial field, quota ``1e-8 (512 / cells)^2``), it
runs, alternately and ``--rounds`` times in this process,

* ``order1``: :func:`evsim.simulate`, the order-1 kernel (:func:`evsim.kernel._run`);
* ``cut``: :func:`evsim.cut.simulate_cut` with every cell in one part and one window
  (``L > t_end``): the cut kernel (:func:`evsim.cut_kernel.run_window`) with no cut
  edge, so no half-edge, ghost or message, on exactly the order-1 events,

checks that both fire the same packets on every edge with the same final potentials,
and reports the wall times of every round (set-up excluded, as ``Result.wall_seconds``),
their medians and the median of the per-round ratios ``cut / order1``. Both kernels
prefetch or not by the same rule (:func:`evsim.kernel.prefetch_pays`). The host is shared:
only the ratio of one process's alternating runs means something; the machine block
names the CPU and the load average.

    python benchmarks/cut_part.py [--cells 256 512] [--packets 4e6] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np

import evsim
from evsim.checks import ScaleWarning
from evsim.cut import simulate_cut
from evsim.kernel import prefetch_pays
from evsim.state import initial_state

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_ranks import machine, problem, quota_for  # noqa: E402  (the same problem)


def compare(cells: int, packets: float, rounds: int) -> dict:
    """Alternating runs of both kernels on one grid; the run length gives about ``packets``."""
    _, network, u0 = problem(cells)
    q = quota_for(cells)
    probe_t = 1e-4 * (512 / cells) ** 2
    probe = evsim.simulate(network, u0=u0, quota=q, t_end=probe_t)
    t_end = probe_t * packets / probe.spikes
    parts = np.zeros(network.cells, dtype=np.int64)
    lag = 2 * t_end                                        # one window, closed at t_end

    def order1():
        return evsim.simulate(network, u0=u0, quota=q, t_end=t_end)

    def cut():
        return simulate_cut(network, parts, lag, u0=u0, quota=q, t_end=t_end)

    simulate_cut(network, parts, lag, u0=u0, quota=q, t_end=probe_t)   # compile or load both
    times = {"order1": [], "cut": []}
    for k in range(rounds):
        for name, run in (("order1", order1), ("cut", cut))[::1 if k % 2 == 0 else -1]:
            r = run()
            times[name].append(r.wall_seconds)
            if name == "order1":
                ref = r
            else:
                got = r
        same = (got.spikes == ref.spikes
                and np.array_equal(got.edge_forward, ref.edge_forward)
                and np.array_equal(got.edge_backward, ref.edge_backward)
                and np.array_equal(got.final_potential, ref.final_potential))
        if not same:
            raise SystemExit(f"{cells}x{cells}: the one-part cut run differs from evsim.simulate")
    ratios = [c / o for c, o in zip(times["cut"], times["order1"])]
    prefetch = prefetch_pays(initial_state(network, u0, q, t_end, np.zeros(0)))
    return {"grid": f"{cells}x{cells}", "cells": network.cells, "edges": network.size,
            "packets": int(ref.spikes), "t_end": t_end, "prefetch": prefetch,
            "order1_seconds": times["order1"], "cut_seconds": times["cut"],
            "order1_median": statistics.median(times["order1"]),
            "cut_median": statistics.median(times["cut"]),
            "ratio_runs": ratios, "ratio_median": statistics.median(ratios),
            "order1_packets_per_second_median": ref.spikes / statistics.median(times["order1"]),
            "cut_packets_per_second_median": ref.spikes / statistics.median(times["cut"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--packets", type=float, default=4e6, help="packets per run (about)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per grid")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ScaleWarning)
    rows = [compare(c, args.packets, args.rounds) for c in args.cells]
    print(json.dumps({"machine": machine(), "rounds": args.rounds, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
