"""The SimPy reference engine of order 2: :mod:`evsim.trajectory`'s rule, scheduled by SimPy.

Every slot (a firing, an arrival, a cell's trajectory message; see
:mod:`evsim.trajectory`) has a due time in a plain ``heapq`` of ``(time, slot)``;
SimPy is handed the earliest as one event of priority ``slot +
USER_PRIORITIES``, so ties go in slot order as in the compiled engine, and user
processes (SimPy priorities 0 and 1) run before the events due at their time.
The rule's functions are called uncompiled on the state's arrays: the same
floating-point operations as the numba kernel, so the same bits.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from heapq import heapify, heappop

import numpy as np

from . import trajectory as tr
from .engine import Status
from .simpy_adapter import Environment, stop
from .simpy_engine import USER_PRIORITIES, SimPyEngine, _SlotEvent
from .state import winner_tree
from .trajectory_state import TrajectoryState

__all__ = ["TrajectorySimPyEngine"]


class TrajectorySimPyEngine:
    """Advance a :class:`~evsim.trajectory_state.TrajectoryState` with SimPy
    (an :class:`~evsim.engine.Engine`); ``processes`` as for the order-1 engine."""

    name = "simpy"
    chunk = 1 << 13
    consistent_on_interrupt = False

    def __init__(self, state: TrajectoryState, processes: Iterable[Callable] = ()):
        st = self.state = state
        self.s = st.as_tuple()
        self.env = Environment()
        self.E = st.edges
        self.nslots = 2 * self.E + st.ncell
        self.due = st.slot_time.tolist()
        self.heap = [(time, slot) for slot, time in enumerate(self.due) if time != math.inf]
        heapify(self.heap)
        self.stop_after = math.inf
        self.log = list(zip(st.log_time[:st.cursor[3]].tolist(), st.log_edge[:st.cursor[3]].tolist(),
                            st.log_sign[:st.cursor[3]].tolist()))
        self._arm()
        for r in range(int(st.cursor[0]), st.record_times.size):
            if st.record_times[r] <= st.t_end:
                ev = _SlotEvent(self.env, self._on_record, r, float(st.record_times[r]))
                self.env.schedule_at(ev, ev.time, USER_PRIORITIES + self.nslots + r)
        self.end = _SlotEvent(self.env, None, 0, st.t_end)
        self.end.callbacks = []
        self.env.schedule_at(self.end, st.t_end, USER_PRIORITIES + self.nslots + st.record_times.size)
        for process in processes:
            self.env.process(process(self))

    @property
    def potential(self) -> np.ndarray:
        """(cells,) the potentials ``M_i / V_i`` now (for user processes)."""
        s, t = self.s, self.env.now
        return np.array([tr.potential_at(s, i, t) for i in range(self.state.ncell)])

    # the due times and the one armed SimPy event: the order-1 engine's slot queue
    _schedule = SimPyEngine._schedule
    _arm = SimPyEngine._arm

    def _on_slot(self, event: _SlotEvent) -> None:
        st, s, slot, t = self.state, self.s, event.slot, event.time
        heappop(self.heap)
        self.due[slot] = math.inf
        E = self.E
        if slot < E:
            if st.transit[slot] and st.pool[0] < 0:
                st.grow_pool()
                self.s = s = st.as_tuple()
            before = st.forward[slot]
            n = tr.fire_edge(s, slot, t, st.slots, st.times)
            st.cursor[1] += 1
            if st.log_on:
                self.log.append((t, slot, 1 if st.forward[slot] > before else -1))
        elif slot < 2 * E:
            n = tr.arrive(s, slot - E, t, st.slots, st.times)
            st.cursor[2] += 1
        else:
            n = tr.send_trajectory(s, slot - 2 * E, t, st.slots, st.times)
        for k in range(n):
            self._schedule(int(st.slots[k]), float(st.times[k]))
        st.clock[0] = t
        self._arm()
        if st.processed >= self.stop_after:
            stop(Status.LIMIT)

    def _on_record(self, event: _SlotEvent) -> None:
        st, r = self.state, event.slot
        for c in range(st.ncell):
            st.record_potential[r, c] = tr.potential_at(self.s, c, event.time)
        st.record_count[r] = int(st.count[:st.ncell].sum())
        st.cursor[0] = r + 1

    def _next_is_passive(self) -> bool:
        _, priority, ev = self.env.peek_entry()
        if priority < USER_PRIORITIES:
            return True
        if priority >= USER_PRIORITIES + self.nslots:
            return ev is not self.end
        return False

    def run(self, max_events: int) -> Status:
        """Process at most ``max_events`` events; return ``Status.DONE`` or ``Status.LIMIT``."""
        self.stop_after = self.state.processed + max_events
        try:
            if max_events > 0 and self.env.run(until=self.end) != Status.LIMIT:
                self.state.clock[0] = self.state.t_end
                return Status.DONE
            while self._next_is_passive():
                self.env.step()
            return Status.LIMIT
        finally:
            self._sync_log()

    def flush(self) -> None:
        """Write the due times back into the state's winner tree (a checkpoint needs them)."""
        self.state.queue[...] = winner_tree(np.array(self.due, dtype=float))

    def _sync_log(self) -> None:
        st = self.state
        st.cursor[3] = len(self.log)
        if st.log_on:
            log = np.array(self.log, dtype=float).reshape(-1, 3)
            st.log_time = log[:, 0].copy()
            st.log_edge = log[:, 1].astype(np.int64)
            st.log_sign = log[:, 2].astype(np.int8)
