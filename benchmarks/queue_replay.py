"""The compiled engine's event queue alone, on the events of a real run; prints JSON.

    python benchmarks/queue_replay.py [--events N] [--cells 64 256]

For each grid (heat2d, n x n cells) this runs the compiled engine with a spike
log, then replays the winner tree (:func:`evsim.kernel._schedule`) alone on the
same events: at every event it checks that the tree's root is the logged event,
then reschedules the fired edge and every edge sharing a cell with it, each to
the time that edge fires next in the log. That is the queue work of the run
without any physics and without the engine's prefetching. At 64 x 64 the tree
fits in cache, so the figure is the queue's own arithmetic (compare it with the
engine's ns per event there); at 256 x 256 it adds the memory latency that the
engine partly hides by prefetching. A touched edge here gets its final firing
time at once, whereas in the real run its prediction moves a little at every
neighbouring event, so real climbs are, on average, a little longer. An edge
that in the real run fired at once (rounding overshoot) after being
rescheduled at the current time can be met in the other order of a tie here;
the few such roots are counted, not failed.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numba as nb
import numpy as np

import evsim
from evsim import topologies
from evsim.kernel import _schedule, _stencil_row
from evsim.workflow.problems import get_problem
from evsim.state import _paged, initial_state, winner_tree


@nb.njit(cache=True)
def _next_firing(edges, nedge):
    """Index of the next firing of the same edge after each log entry (-1: none),
    and the index of each edge's first firing (-1: none)."""
    nxt = np.full(edges.size, -1, np.int64)
    last = np.full(nedge, -1, np.int64)
    for k in range(edges.size - 1, -1, -1):
        nxt[k] = last[edges[k]]
        last[edges[k]] = k
    return nxt, last


@nb.njit(cache=True)
def _replay(q, due, times, edges, nxt, stencil, over, over_ptr):
    """Replay the queue work of the logged events; ``due`` holds each edge's next
    firing time, the event stencil says which edges a firing touches. Return how
    many roots differ from the log."""
    wrong = 0
    for k in range(edges.size):
        e = edges[k]
        if q[1].slot != e:
            wrong += 1
        due[e] = times[nxt[k]] if nxt[k] >= 0 else np.inf
        _schedule(q, e, due[e])
        row = _stencil_row(stencil, over, over_ptr, e)
        for i in range(1, row[1] + 1):
            f = row[2 * i]
            _schedule(q, f, due[f])
    return wrong


def replay(n: int, events: int) -> dict:
    """Engine rate and queue-only cost per event on heat2d with ``n x n`` cells."""
    heat2d = get_problem("heat2d")
    g = heat2d.build(n, heat2d.diffusivity)
    u0 = heat2d.initial(topologies.cell_positions(g))
    net = evsim.network.compile_network(g)
    run = dict(quota=2e-9 * (256 / n) ** 2, t_end=10.0, max_events=events, progress=False)
    rate = max(evsim.simulate(net, u0, **run).events_per_second for _ in range(2))
    r = evsim.simulate(net, u0, spike_log=True, **run)
    times, edges = r.spike_log["time"], r.spike_log["edge"].astype(np.int64)
    nxt, first = _next_firing(edges, net.edges.shape[0])
    st = initial_state(net, u0, run["quota"], run["t_end"], np.zeros(0))
    best = np.inf
    for _ in range(3):
        due = np.where(first >= 0, times[np.maximum(first, 0)], np.inf)
        q = _paged(winner_tree(due))
        t0 = time.perf_counter()
        wrong = _replay(q, due, times, edges, nxt, st.stencil, st.stencil_over, st.stencil_ptr)
        best = min(best, time.perf_counter() - t0)
        assert wrong <= 1e-4 * edges.size, f"{wrong} roots differ from the logged events"
    return {"problem": f"heat2d {n}x{n}", "edges": int(net.edges.shape[0]),
            "events": int(edges.size), "engine_ns_per_event": round(1e9 / rate, 1),
            "queue_only_ns_per_event": round(best / edges.size * 1e9, 1),
            "roots_differing_from_log": int(wrong)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=3_000_000)
    ap.add_argument("--cells", type=int, nargs="+", default=[64, 256], help="cells per side")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(json.dumps([replay(n, args.events) for n in args.cells], indent=2))


if __name__ == "__main__":
    main()
