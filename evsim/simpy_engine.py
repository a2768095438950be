"""The SimPy reference engine: the CFQ rule of :mod:`evsim.rule`, scheduled by SimPy.

Readable by design and the place to extend evsim with custom SimPy processes
(sensors, probes, hardware models): ``simulate(..., engine="simpy",
processes=[f])`` starts ``env.process(f(engine))`` for each ``f``; the process
sees :attr:`SimPyEngine.env` (a :class:`simpy.Environment`, with
``env.now``), the live :attr:`SimPyEngine.potential` and
:attr:`SimPyEngine.count` lists (cells first) and the counters
:attr:`SimPyEngine.firings` / :attr:`SimPyEngine.arrivals`. Processes observe;
they must not change the state.

Every packet event (an edge's next firing, or the arrival of the packet at
the head of an edge's in-flight FIFO: an event *slot*) is a SimPy event with
priority ``slot + USER_PRIORITIES``, so SimPy's queue order ``(time,
priority, insertion)`` is exactly the documented tie-break: at equal times
firings precede arrivals, each in increasing edge id. User processes keep
SimPy's own priorities (0 and 1) and so run before the packets due at the same
time. The engine keeps the due time of every slot in a plain ``heapq`` of
``(time, slot)`` (a reschedule pushes a new entry; outdated ones are skipped)
and hands SimPy one packet event at a time, the earliest, re-armed after each;
so SimPy's queue holds no stale events. Events are scheduled at absolute times
(not ``now + delay``) so that the times are bit-identical to the compiled
engine's; that and the other uses of SimPy's internals go through
:mod:`evsim.simpy_adapter`, which checks the installed SimPy version.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush

import numpy as np

from . import rule
from .rule import RECEIVE, SEND, advance, deposit, ends, fire
from .engine import Status
from .simpy_adapter import BornEvent, Environment, stop
from .state import EngineState, winner_tree

__all__ = ["SimPyEngine", "USER_PRIORITIES"]

#: SimPy priorities below this (URGENT = 0, NORMAL = 1) belong to user processes.
USER_PRIORITIES = 2


class _SlotEvent(BornEvent):
    """A triggered SimPy event standing for one scheduling of an event slot."""

    def __init__(self, env, callback, slot: int, time: float):
        self.env = env
        self.callbacks = [callback]
        self.slot = slot
        self.time = time


class SimPyEngine:
    """Advance an :class:`~evsim.state.EngineState` with SimPy (an :class:`~evsim.engine.Engine`).

    Parameters
    ----------
    state
        The state to advance, from :func:`~evsim.state.initial_state`.
    processes
        Generator functions ``f(engine)``, each started as a SimPy process.
    """

    name = "simpy"
    chunk = 1 << 14
    #: Ctrl-C may land inside an event's Python code, between two of its steps
    consistent_on_interrupt = False

    def __init__(self, state: EngineState, processes: Iterable[Callable] = ()):
        st = self.state = state
        self.env = Environment()
        E = self.E = st.edges
        # plain Python lists: the fastest scalar access CPython offers
        self.src, self.dst = st.src.tolist(), st.dst.tolist()
        self.cond, self.drive = st.conductance.tolist(), st.drive.tolist()
        self.latency, self.volume, self.base = st.latency.tolist(), st.volume.tolist(), st.base.tolist()
        self.transit = st.transit.tolist()
        self.incident = [st.incident[2 * st.inc_ptr[c]:2 * st.inc_ptr[c + 1]:2].tolist()
                         for c in range(st.ncell)]
        # the other edges of each end of every edge (its event stencil), and all that a
        # delivered packet touches (refresh order is immaterial: every edge sees the new
        # potentials)
        self.around = []
        for e in range(E):
            row = st.stencil_row(e)
            n_src, n, edges = int(row[0]), int(row[1]), row[2::2].tolist()
            self.around.append((edges[:n_src], edges[n_src:n]))
        self.touched = [[e, *a, *b] for e, (a, b) in enumerate(self.around)]
        self.route_ptr, self.route_links = st.route_ptr.tolist(), st.route_links.tolist()
        self.route_service, self.link_free = st.route_service.tolist(), st.link_free.tolist()
        self.count, self.potential = st.count.tolist(), st.potential.tolist()
        self.acc, self.tlast, self.rate = st.acc.tolist(), st.tlast.tolist(), st.rate.tolist()
        self.forward, self.backward = st.forward.tolist(), st.backward.tolist()
        # a state from initial_state or from a checkpoint (written by flush): packets
        # in flight, the spike log, counters and clock continue from where it stands
        self.in_flight = [deque() for _ in range(E)]
        for e in np.flatnonzero(st.fifo_head >= 0).tolist():
            p = int(st.fifo_head[e])
            while p >= 0:
                self.in_flight[e].append((float(st.pk_time[p]), int(st.pk_sign[p])))
                p = int(st.pk_next[p])
        self.in_transit = int(st.pool[1])
        n = int(st.cursor[3])
        self.log = list(zip(st.log_time[:n].tolist(), st.log_edge[:n].tolist(),
                            st.log_sign[:n].tolist()))
        self.due = st.slot_time.tolist() + [math.inf] * (2 * E - st.slot_time.size)
        self.heap = [(time, slot) for slot, time in enumerate(self.due) if time != math.inf]
        heapify(self.heap)
        self.quota, self.ncell, self.log_on = st.quota, st.ncell, st.log_on
        self.firings, self.arrivals = int(st.cursor[1]), int(st.cursor[2])
        self.stop_after = math.inf
        self.clock = float(st.clock[0])
        self._arm()
        for r in range(int(st.cursor[0]), st.record_times.size):
            if st.record_times[r] <= st.t_end:
                ev = _SlotEvent(self.env, self._on_record, r, float(st.record_times[r]))
                self.env.schedule_at(ev, ev.time, USER_PRIORITIES + 2 * E + r)
        # after every event at t_end (largest priority), stop the run
        self.end = _SlotEvent(self.env, None, 0, st.t_end)
        self.end.callbacks = []  # env.run(until=self.end) adds its stop callback
        self.env.schedule_at(self.end, st.t_end, USER_PRIORITIES + 2 * E + st.record_times.size)
        for process in processes:
            self.env.process(process(self))

    # ------------------------------------------------------------------ scheduling
    def _schedule(self, slot: int, time: float) -> None:
        """(Re)schedule ``slot`` at ``time`` (``inf``: nothing due)."""
        if self.due[slot] != time:
            self.due[slot] = time
            if time != math.inf:
                heappush(self.heap, (time, slot))

    def _arm(self) -> None:
        """Hand SimPy the earliest due packet event, dropping outdated entries."""
        heap, due = self.heap, self.due
        while heap:
            time, slot = heap[0]
            if due[slot] == time:
                ev = _SlotEvent(self.env, self._on_slot, slot, time)
                self.env.schedule_at(ev, time, USER_PRIORITIES + slot)
                return
            heappop(heap)

    def _refresh(self, edges, t: float) -> None:
        """Advance ``edges`` to ``t``, recompute their fluxes, reschedule their firings."""
        acc, tlast, rate, pot = self.acc, self.tlast, self.rate, self.potential
        src, dst, cond, drive, quota = self.src, self.dst, self.cond, self.drive, self.quota
        advance, flux, fire_delay, schedule = rule.advance, rule.flux, rule.fire_delay, self._schedule
        for f in edges:
            a = acc[f] = advance(acc[f], rate[f], t - tlast[f])
            tlast[f] = t
            j = rate[f] = flux(cond[f], pot[src[f]], pot[dst[f]], drive[f])
            schedule(f, t + fire_delay(a, j, quota))

    def _set_potential(self, c: int) -> None:
        """Potential of cell ``c`` from its ledger, ``u = (b + q n) / V``."""
        self.potential[c] = rule.potential(self.base[c], self.count[c], self.quota, self.volume[c])

    # ------------------------------------------------------------------ events
    def _on_slot(self, event: _SlotEvent) -> None:
        slot, t = event.slot, event.time
        heappop(self.heap)  # this event's entry: the heap's head since it was armed
        self.due[slot] = math.inf
        if slot < self.E:
            self._fire(slot, t)
        else:
            self._arrive(slot - self.E, t)
        self.clock = t
        self._arm()
        if self.firings + self.arrivals >= self.stop_after:
            stop(Status.LIMIT)

    def _fire(self, e: int, t: float) -> None:
        ncell, count = self.ncell, self.count
        j = self.rate[e]
        sign, self.acc[e] = fire(advance(self.acc[e], j, t - self.tlast[e]), j, self.quota)
        self.tlast[e] = t
        sender, receiver = ends(sign, self.src[e], self.dst[e])
        if sign > 0:
            self.forward[e] += 1
        else:
            self.backward[e] += 1
        self.firings += 1
        if self.log_on:
            self.log.append((t, e, sign))
        deliver = not self.transit[e]
        count[sender] = deposit(count[sender], SEND)
        if deliver:
            count[receiver] = deposit(count[receiver], RECEIVE)
        else:
            self.in_transit = deposit(self.in_transit, RECEIVE)
            arrival = t
            if self.state.use_routes:
                k = rule.route(e, sign)
                arrival = rule.route_delay(t, self.route_ptr[k], self.route_ptr[k + 1],
                                           self.route_links, self.route_service, self.link_free)
            arrival = arrival + self.latency[e]
            if not self.in_flight[e]:
                self._schedule(self.E + e, arrival)
            self.in_flight[e].append((arrival, sign))
        if sender < ncell:
            self._set_potential(sender)
        if deliver:
            if receiver < ncell:
                self._set_potential(receiver)
            self._refresh(self.touched[e], t)
        else:
            self._refresh([e, *self.around[e][0 if sign > 0 else 1]], t)

    def _arrive(self, e: int, t: float) -> None:
        queue = self.in_flight[e]
        _, sign = queue.popleft()
        receiver = ends(sign, self.src[e], self.dst[e])[1]
        self._schedule(self.E + e, queue[0][0] if queue else math.inf)
        self.in_transit = deposit(self.in_transit, SEND)
        self.count[receiver] = deposit(self.count[receiver], RECEIVE)
        self.arrivals += 1
        if receiver < self.state.ncell:
            self._set_potential(receiver)
            self._refresh(self.incident[receiver], t)

    def _on_record(self, event: _SlotEvent) -> None:
        st, r = self.state, event.slot
        st.record_potential[r, :] = self.potential[: st.ncell]
        st.record_count[r] = sum(self.count[: st.ncell])
        st.cursor[0] = r + 1

    # ------------------------------------------------------------------ driver
    def _next_is_passive(self) -> bool:
        """Whether the next queued SimPy event is a record or a user process's
        event (neither counts as a simulation event)."""
        _, priority, ev = self.env.peek_entry()
        if priority < USER_PRIORITIES:
            return True
        if priority >= USER_PRIORITIES + 2 * self.E:
            return ev is not self.end
        return False

    def run(self, max_events: int) -> Status:
        """Process at most ``max_events`` events; return ``Status.DONE`` or ``Status.LIMIT``."""
        self.stop_after = self.firings + self.arrivals + max_events
        try:
            if max_events > 0 and self.env.run(until=self.end) != Status.LIMIT:
                self.clock = self.state.t_end
                return Status.DONE
            # like the kernel: take the records (and drop stale events) due before the next event
            while self._next_is_passive():
                self.env.step()
            return Status.LIMIT
        finally:
            self._sync()

    def flush(self) -> None:
        """Write the due times (as the winner tree) and the FIFOs of packets in flight
        into the state, which :meth:`run` leaves out (a checkpoint needs them)."""
        st = self.state
        st.queue[...] = winner_tree(np.array(self.due[:st.slot_time.size], dtype=float))
        packets = [(e, packet) for e, fifo in enumerate(self.in_flight) for packet in fifo]
        st.pk_time = np.array([t for _, (t, _) in packets], dtype=float)
        st.pk_sign = np.array([sign for _, (_, sign) in packets], dtype=np.int8)
        st.pk_next = np.arange(1, len(packets) + 1, dtype=np.int64)
        st.pool[0] = -1
        st.fifo_head[:], st.fifo_tail[:] = -1, -1
        for k, (e, _) in enumerate(packets):
            if st.fifo_head[e] < 0:
                st.fifo_head[e] = k
            st.fifo_tail[e] = k
        if packets:
            st.pk_next[st.fifo_tail[st.fifo_tail >= 0]] = -1

    def _sync(self) -> None:
        """Copy the Python-side state back into the shared arrays."""
        st = self.state
        st.count[:] = self.count
        st.potential[:] = self.potential
        st.acc[:], st.tlast[:] = self.acc, self.tlast
        st.forward[:], st.backward[:] = self.forward, self.backward
        st.link_free[:] = self.link_free
        st.pool[1] = self.in_transit
        st.cursor[1], st.cursor[2], st.cursor[3] = self.firings, self.arrivals, len(self.log)
        st.clock[0] = self.clock
        if st.log_on:
            log = np.array(self.log, dtype=float).reshape(-1, 3)
            st.log_time = log[:, 0].copy()
            st.log_edge = log[:, 1].astype(np.int64)
            st.log_sign = log[:, 2].astype(np.int8)
