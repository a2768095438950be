"""Events, wall time and energy needed to reach RMSE 1e-3 and 1e-4, for every evsim order and
conventional peers, side by side in one run; prints JSON.

    python benchmarks/accuracy_cost.py [--fast] [--problems heat1d heat2d disk] [--no-pypde]
    python benchmarks/accuracy_cost.py --order-in-events [--problems heat1d heat2d]

heat1d (100 cells, to t = 2), heat2d 64 x 64 (to t = 0.8), the Voronoi disk (to t = 0.5) and
pulse1d (a narrow pulse in 1000 cells, to t = 0.5); ``--fast``: 50 cells, 16 x 16, 300 and 400
cells. Against the exact solution and the semi-discrete
reference (the same mesh exact in time), each method's accuracy knob (evsim: the quota per
order; FTCS: the CFL fraction; Crank-Nicolson, py-pde Euler: the step; RK45: rtol) is searched
for the cheapest run meeting each target; every run is reported. The mesh's own error vs exact
(``floor``) bounds what any method can reach against the exact solution. Methods, costs and
the search: ``evsim.experiments.accuracy`` and ``evsim.experiments.peers``; the same table
with figures: ``evsim experiment accuracy-cost``. Wall times are for this shared host; the
machine block names the CPU. py-pde needs the ``bench`` extra (``pip install "evsim[bench]"``).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import evsim
from evsim.experiments.accuracy import PROBLEMS, TARGETS, accuracy_cost, order_ladder
from throughput import cpu_identity      # the sibling benchmark's CPU block


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", action="store_true", help="smaller meshes, fewer search runs")
    ap.add_argument("--problems", nargs="+", choices=list(PROBLEMS), help="default: all")
    ap.add_argument("--targets", nargs="+", type=float, default=list(TARGETS), help="target RMSEs")
    ap.add_argument("--max-runs", type=int, default=None, help="runs per search (default 8, --fast 5)")
    ap.add_argument("--no-pypde", dest="pypde", action="store_false", help="leave py-pde out")
    ap.add_argument("--order-in-events", action="store_true",
                    help="only the fitted slope of log RMSE vs log events of every evsim order "
                         "(3 runs each, predicted RMSE 1e-3 to 1e-4)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.order_in_events:
        data = {"order_in_events": {name: order_ladder(name, fast=args.fast)
                                    for name in (args.problems or ["heat1d", "heat2d"])}}
    else:
        data = accuracy_cost(args.problems, fast=args.fast, targets=args.targets, pypde=args.pypde,
                             max_runs=args.max_runs,
                             progress=lambda s: print(s, file=sys.stderr))
    data["machine"] = {"python": platform.python_version(), "evsim": evsim.__version__,
                       "cpu_identity": cpu_identity()}
    data["benchmark_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(data, indent=1, default=float))


if __name__ == "__main__":
    main()
