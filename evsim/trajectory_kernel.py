"""The compiled engine of order 2: :mod:`evsim.trajectory`'s rule in a numba kernel.

The rule's functions are compiled as they are; the kernel only pops the next
slot of the winner tree (:func:`evsim.kernel._schedule`, shared with order 1),
takes the records due before it, calls the rule and schedules the slots the
rule rewrote. The SimPy engine (:mod:`evsim.trajectory_simpy`) makes the same
calls in the same order, so both give the same bits.
"""
from __future__ import annotations

from . import trajectory_compiled as tc
from .engine import Status
from .kernel import _schedule, run_growing
from .trajectory_state import TrajectoryState

__all__ = ["TrajectoryCompiledEngine"]

_jit = tc.jit
_fire, _arrive, _send, _record = tc.fire_edge, tc.arrive, tc.send_trajectory, tc.record

_DONE, _LIMIT, _GROW_POOL, _GROW_LOG = (int(s) for s in (Status.DONE, Status.LIMIT,
                                                          Status.GROW_POOL, Status.GROW_LOG))


@_jit
def _run(s, max_events):
    """Process events until the next lies beyond ``t_end`` or ``max_events`` are done."""
    q = s.queue
    E = s.src.size
    nrec = s.record_times.size
    done = 0
    while True:
        t = q[1].time
        slot = q[1].slot
        r = s.cursor[0]
        while r < nrec and s.record_times[r] < t and s.record_times[r] <= s.t_end:
            _record(s, r, s.record_times[r])
            r += 1
        s.cursor[0] = r
        if t > s.t_end:
            s.clock[0] = s.t_end
            return _DONE
        if done >= max_events:
            return _LIMIT
        if slot < E:
            if s.transit[slot] and s.pool[0] < 0:
                return _GROW_POOL
            if s.log_on and s.cursor[3] >= s.log_time.size:
                return _GROW_LOG
            before = s.forward[slot]
            n = _fire(s, slot, t, s.slots, s.times)
            s.cursor[1] += 1
            if s.log_on:
                k = s.cursor[3]
                s.log_time[k] = t
                s.log_edge[k] = slot
                s.log_sign[k] = 1 if s.forward[slot] > before else -1
                s.cursor[3] = k + 1
        elif slot < 2 * E:
            n = _arrive(s, slot - E, t, s.slots, s.times)
            s.cursor[2] += 1
        else:
            n = _send(s, slot - 2 * E, t, s.slots, s.times)
        for k in range(n):
            _schedule(q, s.slots[k], s.times[k])
        s.clock[0] = t
        done += 1


class TrajectoryCompiledEngine:
    """Advance a :class:`~evsim.trajectory_state.TrajectoryState` with the numba kernel
    (an :class:`~evsim.engine.Engine`)."""

    name = "compiled"
    chunk = 1 << 18
    consistent_on_interrupt = True

    def __init__(self, state: TrajectoryState):
        self.state = state

    def flush(self) -> None:
        """Nothing to do: the kernel keeps its whole state in ``state``."""

    def run(self, max_events: int) -> Status:
        """Process at most ``max_events`` events (growing the pool and the log as needed)."""
        return run_growing(self.state, _run, max_events)
