"""The compiled kernel of the cut-latency model: one part of a partitioned network.

The model (:mod:`evsim.cut`) splits every cut edge ``(i, j)`` into two
half-edges, one per part. Half-edge ``i -> j`` is owned by the part of ``i``;
it sees the far potential through a *ghost* node whose value is ``u_j(t - L)``
and fires only outflow packets of ``i``, under the clamped flux

.. math:: J^{half}_{ij}(t) = \\max\\bigl(g_{ij}\\,(u_i(t) - u_j(t - L)),\\ 0\\bigr).

A packet it fires leaves ``i``'s ledger at the firing time ``t`` (``n_i -= 1``),
is in transit between the parts, and joins ``j``'s ledger at ``t + L``. Every
change of the potential of a cell that some other part sees as a ghost is sent
as a message ``(t + L, u_i)``. The kernel runs one part up to the end ``w`` of a
conservative window: everything another part sends at ``t >= w - L`` arrives at
``t + L >= w``, so no event before ``w`` can depend on a message not yet received.

Events (one winner tree over slots, :func:`evsim.kernel._schedule`): slot ``e``
fires local edge ``e`` (internal edges first, then the half-edges, from
``first_half`` on); slot ``E`` is the head of the part's inbox, the messages
received from the other parts in ``(time, sending part, sequence)`` order: a
packet arriving at a local cell (kind :data:`PACKET`) or a ghost's new potential
(kind :data:`POTENTIAL`). Ties: increasing slot, so firings before inbox messages.

The firing step is :mod:`evsim.rule`'s, the tree, ledger deposits and flux of the
order-1 kernel are :mod:`evsim.kernel`'s own compiled helpers; what differs is
only the clamp of half-edge fluxes (:func:`_cut_rate`) and the two inbox events,
so the pair loops here call :func:`_cut_rate` where the order-1 ones call
``_rate``. The order-1 kernel itself is untouched.
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from .kernel import (_SEND, _RECEIVE, _DONE, _advance, _deposit, _ends, _fire, _fire_delay,
                     _jit, _prefetch, _prefetch_pairs, _rate, _schedule, _stencil_row, _u)

__all__ = ["CutTuple", "PACKET", "POTENTIAL", "GROW_OUTBOX", "run_window", "cut_rate"]

#: Message kinds: a packet for a local cell, a new potential of a ghost node.
PACKET, POTENTIAL = 0, 1
#: Return code: the outbox is full (grown by the caller, then the kernel resumes).
GROW_OUTBOX = 100
#: Most messages one event emits (a firing between two boundary cells: two potentials).
_EMIT_MAX = 2

#: The cut-model arrays of one part, passed to the kernel as one argument.
CutTuple = namedtuple("CutTuple", [
    "first_half",      # int: local edges >= first_half are half-edges (edge.dst is a ghost)
    "first_ghost",     # int: local node index of ghost 0
    "latency",         # float L
    "boundary",        # (cells,) int8: 1 if another part sees the cell as a ghost
    "ghost_ptr",       # (ghosts + 1,) CSR offsets into ghost_incident
    "ghost_incident",  # pairs (half-edge, local cell) of each ghost
    "in_time", "in_kind", "in_target", "in_value",   # the inbox (sorted)
    "out_time", "out_kind", "out_index", "out_value",  # the outbox (capacity)
    "counters",        # int64 [inbox head, outbox length, packets sent, packets received]
])


def cut_rate(j: float, half: bool) -> float:
    """The flux a (half-)edge integrates: ``J`` on an internal edge, ``max(J, 0)`` on a
    half-edge (it fires only packets out of its own cell)."""
    return j if (not half or j > 0.0) else 0.0


_cut_clamp = _jit(cut_rate)


@_jit
def _cut_rate(edge, potential, drive, f, ncell, first_half):
    """Flux of local edge ``f`` under the current potentials (a ghost's is the delayed one)."""
    return _cut_clamp(_rate(edge, potential, drive, f, ncell), f >= first_half)


@_jit
def _advance_cut(edge, potential, drive, pairs, lo, hi, t, ncell, first_half):
    """Integrate the edges of entries ``lo..hi-1`` of ``pairs`` up to ``t`` (old potentials)."""
    for k in range(lo, hi):
        f = pairs[_u(2 * k)]
        r = edge[_u(f)]
        r.acc = _advance(r.acc, _cut_rate(edge, potential, drive, f, ncell, first_half), t - r.tlast)
        r.tlast = t


@_jit
def _reschedule_cut(edge, potential, drive, pairs, lo, hi, t, quota, ncell, first_half, q):
    """Schedule the next firing of the edges of entries ``lo..hi-1`` (new potentials)."""
    for k in range(lo, hi):
        f = pairs[_u(2 * k)]
        j = _cut_rate(edge, potential, drive, f, ncell, first_half)
        _schedule(q, f, t + _fire_delay(edge[_u(f)].acc, j, quota))


@_jit
def _emit(ct, t, kind, index, value):
    """Append one message to the outbox (its room was checked before the event)."""
    n = ct.counters[1]
    ct.out_time[n] = t
    ct.out_kind[n] = kind
    ct.out_index[n] = index
    ct.out_value[n] = value
    ct.counters[1] = n + 1


@_jit
def _tell(ct, t, c, potential, ncell):
    """Send the new potential of cell ``c`` to the parts that see it, if any do."""
    if c < ncell and ct.boundary[_u(c)]:
        _emit(ct, t + ct.latency, POTENTIAL, c, potential[_u(c)])


@_jit
def _prefetch_next(st, stage):
    """Prefetch, in three stages, what the next event (the tree's root) reads if it is a
    firing: its edge, counters and stencil row (0); its ledgers and tree path (1); what
    its stencil names (2). As in :func:`evsim.kernel._run`; speed only."""
    q, edge = st.queue, st.edge
    nxt = q[1].slot
    if nxt >= edge.size:
        return
    if stage == 0:
        _prefetch(edge, nxt)
        _prefetch(st.forward, nxt)
        _prefetch(st.backward, nxt)
        _prefetch(st.stencil, nxt * st.stencil.shape[1])
    elif stage == 1:
        r = edge[_u(nxt)]
        _prefetch(st.node, r.src)
        _prefetch(st.node, r.dst)
        i = (q.size // 2 + nxt) >> 1
        for _ in range(4):
            _prefetch(q, i)
            i >>= 1
    else:
        row = _stencil_row(st.stencil, st.stencil_over, st.stencil_ptr, nxt)
        _prefetch_pairs(edge, st.potential, q, row, 1, row[1] + 1)


@nb.njit(cache=True, error_model="numpy")
def run_window(st, ct, w, final, prefetch):
    """Process the events of one part before the window end ``w`` (``final``: up to and
    including ``t_end``); return ``DONE`` or :data:`GROW_OUTBOX`. With ``prefetch``
    (:func:`evsim.kernel.prefetch_pays`) a firing takes its slot out of the tree first, so
    that the next event is known and its data load during this one (same bits).

    ``st`` is the part's :class:`~evsim.state.StateTuple` (its network has the ghosts
    as reservoirs, so their potentials change only here, by inbox messages), ``ct``
    its :data:`CutTuple`. Records at ``t_r`` are taken after every event ``<= t_r``,
    once ``t_r`` lies inside a closed window.
    """
    edge, drive, node, potential = st.edge, st.drive, st.node, st.potential
    inc_ptr, incident, stencil, over, over_ptr = (st.inc_ptr, st.incident, st.stencil,
                                                  st.stencil_over, st.stencil_ptr)
    ncell, quota, t_end, q = st.ncell, st.quota, st.t_end, st.queue
    forward, backward, cursor, clock = st.forward, st.backward, st.cursor, st.clock
    rec_times, rec_pot, rec_count = st.record_times, st.record_potential, st.record_count
    half, lag, cnt = ct.first_half, ct.latency, ct.counters
    E = edge.size
    nrec = rec_times.size
    nin = ct.in_time.size
    _schedule(q, E, ct.in_time[cnt[0]] if cnt[0] < nin else np.inf)
    while True:
        t = q[1].time
        s = q[1].slot
        r = cursor[0]
        while (r < nrec and rec_times[r] < t and rec_times[r] <= t_end
               and (final or rec_times[r] < w)):
            total = 0
            for c in range(ncell):
                rec_pot[r, c] = potential[c]
                total += node[c].count
            rec_count[r] = total
            r += 1
        cursor[0] = r
        if not (t < w or (final and t <= t_end)):
            return _DONE
        if cnt[1] + _EMIT_MAX > ct.out_time.size:
            return GROW_OUTBOX
        if s < E:  # ---- local edge s fires
            e = s
            rec = edge[_u(e)]
            j = _cut_rate(edge, potential, drive, e, ncell, half)
            sg, rec.acc = _fire(_advance(rec.acc, j, t - rec.tlast), j, quota)
            rec.tlast = t
            sender, receiver = _ends(sg, rec.src, rec.dst)
            if sg > 0:
                forward[_u(e)] += 1
            else:
                backward[_u(e)] += 1
            cursor[1] += 1
            pairs = _stencil_row(stencil, over, over_ptr, e)
            n_src = pairs[0] + 1
            n = pairs[1] + 1
            # (a half-edge's destination is a ghost: no pairs on that side)
            s_lo, s_hi, r_lo, r_hi = (1, n_src, n_src, n) if sg > 0 else (n_src, n, 1, n_src)
            if prefetch:
                _schedule(q, e, np.inf)
                _prefetch_next(st, 0)
            _advance_cut(edge, potential, drive, pairs, s_lo, s_hi, t, ncell, half)
            _advance_cut(edge, potential, drive, pairs, r_lo, r_hi, t, ncell, half)
            _deposit(node, potential, sender, _SEND, quota, ncell)
            if e >= half:  # the packet crosses the cut: in transit until t + L
                _emit(ct, t + lag, PACKET, e - half, 0.0)
                cnt[2] += 1
            else:
                _deposit(node, potential, receiver, _RECEIVE, quota, ncell)
                _tell(ct, t, receiver, potential, ncell)
            _tell(ct, t, sender, potential, ncell)
            _schedule(q, e, t + _fire_delay(rec.acc, _cut_rate(edge, potential, drive, e, ncell,
                                                               half), quota))
            _reschedule_cut(edge, potential, drive, pairs, s_lo, s_hi, t, quota, ncell, half, q)
            if prefetch:
                _prefetch_next(st, 1)
            _reschedule_cut(edge, potential, drive, pairs, r_lo, r_hi, t, quota, ncell, half, q)
            if prefetch:
                _prefetch_next(st, 2)
        else:  # ---- the inbox's next message
            k = cnt[0]
            cnt[0] = k + 1
            _schedule(q, E, ct.in_time[k + 1] if k + 1 < nin else np.inf)
            c = ct.in_target[k]
            if ct.in_kind[k] == PACKET:  # a packet from another part joins cell c
                lo, hi = inc_ptr[c], inc_ptr[c + 1]
                _advance_cut(edge, potential, drive, incident, lo, hi, t, ncell, half)
                _deposit(node, potential, c, _RECEIVE, quota, ncell)
                cnt[3] += 1
                _tell(ct, t, c, potential, ncell)
                _reschedule_cut(edge, potential, drive, incident, lo, hi, t, quota, ncell, half, q)
            else:  # ghost c sees its cell's potential of time t - L
                lo, hi = ct.ghost_ptr[c], ct.ghost_ptr[c + 1]
                g = ct.first_ghost + c
                _advance_cut(edge, potential, drive, ct.ghost_incident, lo, hi, t, ncell, half)
                potential[g] = ct.in_value[k]
                _reschedule_cut(edge, potential, drive, ct.ghost_incident, lo, hi, t, quota, ncell,
                                half, q)
        clock[0] = t
