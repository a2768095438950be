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

A firing runs the order-1 kernel's pieces (:mod:`evsim.kernel`) in the order-1
kernel's order: the firing step (``_fire_edge``), the event stencil's two sides
(``_sides``), the pair loops that integrate the touched edges before the packet
moves and reschedule them after it (``_advance_pairs``, ``_reschedule_pairs``),
the early pop and the three prefetch stages of the next event's data, the ledger
deposits, the records. They get the index of the first half-edge, so their flux is
:func:`evsim.kernel.flux_of`'s clamped one on half-edges (the order-1 kernel passes
``None``: no clamp in its compiled code). This module's own: where the packet goes
(over the cut: a message), telling the other parts a boundary cell's new potential
(whose flags are prefetched with the next event's ledgers), and the two inbox events.
"""
from __future__ import annotations

from collections import namedtuple

import numba as nb
import numpy as np

from .kernel import (_SEND, _RECEIVE, _DONE, _advance_pairs, _deposit, _fire_delay, _fire_edge,
                     _jit, _prefetch, _prefetch_event, _prefetch_ledgers, _prefetch_stencil, _rate,
                     _reschedule_pairs, _schedule, _sides, _stencil_row, _take_record, _u)

__all__ = ["CutTuple", "PACKET", "POTENTIAL", "GROW_OUTBOX", "run_window"]

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
def _prefetch_boundary(boundary, edge, f, ncell):
    """Prefetch the boundary flags of the two cells of edge ``f`` (a ghost's: its cell's)."""
    r = edge[_u(f)]
    _prefetch(boundary, r.src)
    _prefetch(boundary, min(r.dst, ncell - 1))


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
            _take_record(rec_pot, rec_count, potential, node, ncell, r)
            r += 1
        cursor[0] = r
        if not (t < w or (final and t <= t_end)):
            return _DONE
        if cnt[1] + _EMIT_MAX > ct.out_time.size:
            return GROW_OUTBOX
        if s < E:  # ---- local edge s fires
            e = s
            sg, sender, receiver = _fire_edge(edge, potential, drive, forward, backward, cursor, e,
                                              t, quota, ncell, half)
            pairs = _stencil_row(stencil, over, over_ptr, e)
            # (a half-edge's destination is a ghost: no pairs on that side)
            s_lo, s_hi, r_lo, r_hi = _sides(pairs, sg)
            if prefetch:   # early pop, the next event's first prefetch stage: as in _run
                _schedule(q, e, np.inf)
                if q[1].slot < E:
                    _prefetch_event(edge, forward, backward, stencil, q[1].slot)
            _advance_pairs(edge, potential, drive, pairs, s_lo, s_hi, t, ncell, half)
            _advance_pairs(edge, potential, drive, pairs, r_lo, r_hi, t, ncell, half)
            _deposit(node, potential, sender, _SEND, quota, ncell)
            if e >= half:  # the packet crosses the cut: in transit until t + L
                _emit(ct, t + lag, PACKET, e - half, 0.0)
                cnt[2] += 1
            else:
                _deposit(node, potential, receiver, _RECEIVE, quota, ncell)
                _tell(ct, t, receiver, potential, ncell)
            _tell(ct, t, sender, potential, ncell)
            j = _rate(edge, potential, drive, e, ncell, half)
            _schedule(q, e, t + _fire_delay(edge[_u(e)].acc, j, quota))
            _reschedule_pairs(edge, potential, drive, pairs, s_lo, s_hi, t, quota, ncell, half, q)
            if prefetch and q[1].slot < E:   # with its cells' boundary flags (for _tell)
                _prefetch_ledgers(edge, node, q, q[1].slot)
                _prefetch_boundary(ct.boundary, edge, q[1].slot, ncell)
            _reschedule_pairs(edge, potential, drive, pairs, r_lo, r_hi, t, quota, ncell, half, q)
            if prefetch and q[1].slot < E:
                _prefetch_stencil(edge, potential, q, stencil, over, over_ptr, q[1].slot)
        else:  # ---- the inbox's next message
            k = cnt[0]
            cnt[0] = k + 1
            _schedule(q, E, ct.in_time[k + 1] if k + 1 < nin else np.inf)
            c = ct.in_target[k]
            if ct.in_kind[k] == PACKET:  # a packet from another part joins cell c
                lo, hi = inc_ptr[c], inc_ptr[c + 1]
                _advance_pairs(edge, potential, drive, incident, lo, hi, t, ncell, half)
                _deposit(node, potential, c, _RECEIVE, quota, ncell)
                cnt[3] += 1
                _tell(ct, t, c, potential, ncell)
                _reschedule_pairs(edge, potential, drive, incident, lo, hi, t, quota, ncell, half, q)
            else:  # ghost c sees its cell's potential of time t - L
                lo, hi = ct.ghost_ptr[c], ct.ghost_ptr[c + 1]
                g = ct.first_ghost + c
                _advance_pairs(edge, potential, drive, ct.ghost_incident, lo, hi, t, ncell, half)
                potential[g] = ct.in_value[k]
                _reschedule_pairs(edge, potential, drive, ct.ghost_incident, lo, hi, t, quota,
                                  ncell, half, q)
        clock[0] = t
