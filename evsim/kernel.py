"""The compiled engine: the CFQ rule of :mod:`evsim.rule` in a numba kernel.

The scheduler is an *indexed* binary min-heap over event slots keyed by
``(time, slot)``: every edge owns exactly one firing slot (and, with latency,
one arrival slot for the head of its FIFO of packets in flight), and a
reschedule moves that slot up or down in place, so the queue never holds
stale entries and its size is fixed (``E`` or ``2 E``). Events are processed in
exactly the order of the SimPy reference engine, with the same floating-point
operations, so both produce bit-identical spike sequences.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from . import rule
from .state import DONE, GROW_LOG, GROW_POOL, LIMIT, EngineState

__all__ = ["CompiledEngine"]

_jit = nb.njit(cache=True, inline="always")
_potential = _jit(rule.potential)
_flux = _jit(rule.flux)
_advance = _jit(rule.advance)
_fire_delay = _jit(rule.fire_delay)
_route_delay = _jit(rule.route_delay)


@nb.njit(cache=True, inline="always")
def _less(ta, sa, tb, sb):
    return ta < tb or (ta == tb and sa < sb)


@nb.njit(cache=True)
def _heap_set(ht, hs, hpos, slot, t):
    """Give ``slot`` the new time ``t`` and restore the heap order."""
    size = ht.size
    k = hpos[slot]
    if t < ht[k]:
        while k > 0:
            p = (k - 1) >> 1
            if _less(t, slot, ht[p], hs[p]):
                ht[k] = ht[p]
                hs[k] = hs[p]
                hpos[hs[k]] = k
                k = p
            else:
                break
    else:
        while True:
            c = 2 * k + 1
            if c >= size:
                break
            c2 = c + 1
            if c2 < size and _less(ht[c2], hs[c2], ht[c], hs[c]):
                c = c2
            if _less(ht[c], hs[c], t, slot):
                ht[k] = ht[c]
                hs[k] = hs[c]
                hpos[hs[k]] = k
                k = c
            else:
                break
    ht[k] = t
    hs[k] = slot
    hpos[slot] = k


@nb.njit(cache=True, inline="always")
def _refresh(f, t, quota, src, dst, cond, drive, pot, acc, tlast, rate, ht, hs, hpos):
    """Advance edge ``f`` to ``t``, recompute its flux, reschedule its firing."""
    acc[f] = _advance(acc[f], rate[f], t - tlast[f])
    tlast[f] = t
    rate[f] = _flux(cond[f], pot[src[f]], pot[dst[f]], drive[f])
    _heap_set(ht, hs, hpos, f, t + _fire_delay(acc[f], rate[f], quota))


@nb.njit(cache=True)
def _run(src, dst, cond, drive, latency, volume, inc_ptr, inc_edge, ncell,
         route_ptr, route_links, route_service, use_routes, transit, quota, t_end,
         base, count, pot, acc, tlast, rate, ht, hs, hpos,
         pk_time, pk_sign, pk_next, fifo_head, fifo_tail, pool, link_free,
         forward, backward, rec_times, rec_pot, rec_count, cursor, clock,
         log_time, log_edge, log_sign, log_on, max_events):
    E = src.size
    nrec = rec_times.size
    done = 0
    while True:
        t = ht[0]
        s = hs[0]
        r = cursor[0]
        while r < nrec and rec_times[r] < t and rec_times[r] <= t_end:
            rec_pot[r, :] = pot[:ncell]
            rec_count[r] = count[:ncell].sum()
            r += 1
        cursor[0] = r
        if t > t_end:
            clock[0] = t_end
            return DONE
        if done >= max_events:
            return LIMIT
        if s < E:  # ---- edge s fires
            e = s
            if transit[e] and pool[0] < 0:
                return GROW_POOL
            if log_on and cursor[3] >= log_time.size:
                return GROW_LOG
            a = _advance(acc[e], rate[e], t - tlast[e])
            if rate[e] > 0.0:
                sg = 1
                sender = src[e]
                receiver = dst[e]
                forward[e] += 1
            else:
                sg = -1
                sender = dst[e]
                receiver = src[e]
                backward[e] += 1
            acc[e] = a - sg * quota
            tlast[e] = t
            count[sender] -= 1
            cursor[1] += 1
            if log_on:
                n = cursor[3]
                log_time[n] = t
                log_edge[n] = e
                log_sign[n] = sg
                cursor[3] = n + 1
            deliver = not transit[e]
            if deliver:
                count[receiver] += 1
            else:
                ta = t
                if use_routes:
                    k = 2 * e + (0 if sg > 0 else 1)
                    ta = _route_delay(t, route_ptr[k], route_ptr[k + 1], route_links,
                                      route_service, link_free)
                ta = ta + latency[e]
                p = pool[0]
                pool[0] = pk_next[p]
                pk_time[p] = ta
                pk_sign[p] = sg
                pk_next[p] = -1
                if fifo_tail[e] < 0:
                    fifo_head[e] = p
                    _heap_set(ht, hs, hpos, E + e, ta)
                else:
                    pk_next[fifo_tail[e]] = p
                fifo_tail[e] = p
                pool[1] += 1
            if sender < ncell:
                pot[sender] = _potential(base[sender], count[sender], quota, volume[sender])
            if deliver and receiver < ncell:
                pot[receiver] = _potential(base[receiver], count[receiver], quota, volume[receiver])
            _refresh(e, t, quota, src, dst, cond, drive, pot, acc, tlast, rate, ht, hs, hpos)
            if sender < ncell:
                for k in range(inc_ptr[sender], inc_ptr[sender + 1]):
                    f = inc_edge[k]
                    if f != e:
                        _refresh(f, t, quota, src, dst, cond, drive, pot, acc, tlast, rate, ht, hs, hpos)
            if deliver and receiver < ncell:
                for k in range(inc_ptr[receiver], inc_ptr[receiver + 1]):
                    f = inc_edge[k]
                    if f != e:
                        _refresh(f, t, quota, src, dst, cond, drive, pot, acc, tlast, rate, ht, hs, hpos)
        else:  # ---- a packet in flight on edge s - E arrives
            e = s - E
            p = fifo_head[e]
            receiver = dst[e] if pk_sign[p] > 0 else src[e]
            nxt = pk_next[p]
            fifo_head[e] = nxt
            if nxt < 0:
                fifo_tail[e] = -1
                _heap_set(ht, hs, hpos, s, np.inf)
            else:
                _heap_set(ht, hs, hpos, s, pk_time[nxt])
            pk_next[p] = pool[0]
            pool[0] = p
            pool[1] -= 1
            count[receiver] += 1
            cursor[2] += 1
            if receiver < ncell:
                pot[receiver] = _potential(base[receiver], count[receiver], quota, volume[receiver])
                for k in range(inc_ptr[receiver], inc_ptr[receiver + 1]):
                    _refresh(inc_edge[k], t, quota, src, dst, cond, drive, pot, acc, tlast, rate,
                             ht, hs, hpos)
        clock[0] = t
        done += 1


class CompiledEngine:
    """Advance an :class:`~evsim.state.EngineState` with the numba kernel."""

    name = "compiled"

    def __init__(self, state: EngineState):
        self.state = state

    def run(self, max_events: int) -> int:
        """Process at most ``max_events`` events; return ``DONE`` or ``LIMIT``."""
        st = self.state
        target = int(st.cursor[1] + st.cursor[2]) + max_events
        while True:
            status = _run(st.src, st.dst, st.conductance, st.drive, st.latency, st.volume,
                          st.inc_ptr, st.inc_edge, st.ncell, st.route_ptr, st.route_links,
                          st.route_service, st.use_routes, st.transit, st.quota, st.t_end,
                          st.base, st.count, st.potential, st.acc, st.tlast, st.rate,
                          st.heap_time, st.heap_slot, st.heap_pos, st.pk_time, st.pk_sign,
                          st.pk_next, st.fifo_head, st.fifo_tail, st.pool, st.link_free,
                          st.forward, st.backward, st.record_times, st.record_potential,
                          st.record_count, st.cursor, st.clock, st.log_time, st.log_edge,
                          st.log_sign, st.log_on, target - int(st.cursor[1] + st.cursor[2]))
            if status == GROW_POOL:
                st.grow_pool()
            elif status == GROW_LOG:
                st.grow_log()
            else:
                return status
