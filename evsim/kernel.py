"""The compiled engine: the CFQ rule of :mod:`evsim.rule` in a numba kernel.

The scheduler is a tournament (winner) tree over event slots keyed by
``(time, slot)``: every edge owns exactly one firing slot (and, with latency,
one arrival slot for the head of its FIFO of packets in flight). Leaves are in
slot order, so the edges one event reschedules (all incident to two
neighbouring cells) share most of their paths, and a reschedule stops climbing
at the first unchanged node; there are no stale entries and the size is fixed.

What a firing touches (every other edge of its two cells, with their far
ends) is read from one precomputed row per edge, the event stencil
(:func:`evsim.state.event_stencil`), whose address follows from the edge id.
On large networks the kernel is bound by memory latency, not arithmetic: an
event touches data scattered over the mesh. The fired slot is taken out of the
tree before the physics (its new time goes in afterwards), so the likely next
event (the new root) is known early; the kernel then
prefetches, in stages while the current event is processed, that event's edge,
counters and stencil row, its ledgers and tree path, and finally the edge
records, far potentials and queue leaves its row names; it does so
only when the state outgrows the caches near the core (:func:`prefetch_pays`),
since in cache the prefetches cost more than they hide. The hot arrays live on
transparent huge pages (:func:`evsim.state.initial_state`).
The flux is recomputed from the potentials instead of stored, which halves the
edge record: every touched edge is first integrated under the old potentials,
then the packet moves, then every touched edge is rescheduled under the new
ones.

The kernel takes the whole state as one argument, a
:class:`~evsim.state.StateTuple` (numba passes a named tuple of arrays as their
fields, so this costs nothing over separate arguments), and returns an
:class:`~evsim.engine.Status` code.

The pieces of a firing (the firing step ``_fire_edge``, the stencil sides, the pair
loops that integrate and reschedule the touched edges, the three prefetch stages, the
records) are also the cut-latency kernel's (:mod:`evsim.cut_kernel`). They take the
index of the first half-edge, whose flux is clamped at zero (:func:`flux_of`); this
kernel passes ``None``, for which the clamp compiles to nothing. The helpers take the
arrays they touch, never the whole ``StateTuple``, and use no array only inside a branch
(:func:`_hold`): numba counts references of the arrays an inlined helper gets, and
unless it can cancel the counts, each costs a call per event (the cut kernel's former
``StateTuple`` prefetch helper made it 1.4x slower than this one on the same events).

Events are processed in exactly the order of the SimPy reference engine, with
the same floating-point operations (the firing step too is :mod:`evsim.rule`'s),
so both produce bit-identical spike sequences.
"""
from __future__ import annotations

from pathlib import Path

import numba as nb
import numpy as np
from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import rule
from .engine import Status
from .state import EngineState, stencil_row

__all__ = ["CompiledEngine", "run_growing", "prefetch_pays", "l2_cache_bytes", "cpu_caches",
           "flux_of"]

#: IEEE division (no Python ZeroDivisionError checks): fire_delay never divides by 0.
_jit = nb.njit(cache=True, inline="always", error_model="numpy")
_potential = _jit(rule.potential)
_flux = _jit(rule.flux)
_advance = _jit(rule.advance)
_fire_delay = _jit(rule.fire_delay)
_fire = _jit(rule.fire)
_ends = _jit(rule.ends)
_deposit_count = _jit(rule.deposit)
_route = _jit(rule.route)
_route_delay = _jit(rule.route_delay)
_stencil_row = _jit(stencil_row)

_SEND, _RECEIVE = rule.SEND, rule.RECEIVE
#: The kernel's return codes (numba compiles module-level ints as constants).
_DONE, _LIMIT, _GROW_POOL, _GROW_LOG = (int(s) for s in (Status.DONE, Status.LIMIT,
                                                          Status.GROW_POOL, Status.GROW_LOG))


@_jit
def _u(i):
    """``i`` as an unsigned index. numba guards every subscript by a signed integer
    with a negative-index wraparound test; indices read from the network's arrays
    are never negative, and unsigned ones skip the test (a fifth of the kernel's
    instructions on heat2d 64 x 64)."""
    return np.uintp(i)


#: Prefetching pays once the arrays an event reads exceed this many times the
#: core's L2 cache; below, they stay in the caches near the core, where the
#: prefetches (and the early removal of the fired slot) only cost instructions.
#: Measured on a Zen 5 EPYC (1 MiB L2): without prefetching heat2d runs 13 %
#: faster at 64 x 64 (1.3 MiB of state), as fast at 80 x 80 (2.0 MiB), and
#: 3-22 % slower from 96 x 96 (2.9 MiB) on; see docs/performance.md.
_PREFETCH_L2_MULTIPLE = 2
#: L2 size assumed where the operating system does not tell it.
_L2_DEFAULT = 512 << 10
#: LLVM's name of the prefetch intrinsic (pointer types became opaque in LLVM 15).
_PREFETCH_INTRINSIC = "llvm.prefetch.p0" if llvm.llvm_version_info >= (15,) else "llvm.prefetch.p0i8"


def cpu_caches() -> dict[str, int]:
    """Cache sizes of the first core in bytes, by name (``"L1d"``, ``"L1i"``, ``"L2"``,
    ``"L3"``), from Linux sysfs; empty where the system does not tell them."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    caches = {}
    try:
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
            name = f"L{level}{'' if kind == 'Unified' else kind[0].lower()}"
            caches[name] = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    except (OSError, ValueError):
        return {}
    return caches


def l2_cache_bytes() -> int:
    """Size of the L2 cache of the first core (:func:`cpu_caches`), or ``_L2_DEFAULT``."""
    return cpu_caches().get("L2", _L2_DEFAULT)


def prefetch_pays(state: EngineState) -> bool:
    """Whether the kernel should prefetch the data of upcoming events: only when the
    arrays an event reads outgrow the caches near the core (``_PREFETCH_L2_MULTIPLE``
    times its L2). Speed only: both paths give the same bits."""
    hot = sum(a.nbytes for a in (state.edge, state.queue, state.stencil, state.node,
                                 state.potential, state.forward, state.backward))
    return hot > _PREFETCH_L2_MULTIPLE * l2_cache_bytes()


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading the cache line of ``array[index]`` (no effect on results)."""
    def codegen(context, builder, signature, args):
        arytype, idxtype = signature.args
        data = context.make_array(arytype)(context, builder, args[0]).data
        ptr = builder.gep(data, [context.cast(builder, args[1], idxtype, types.intp)])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), _PREFETCH_INTRINSIC)
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(array, index), codegen


@intrinsic
def _hold(typingctx, *arrays):
    """No code: only a use of ``arrays`` here, as numba's reference counting sees it.

    An array passed to an inlined helper is counted once more on entry and once less
    after its last use; numba cancels the two when that last use is on every path, but
    not when it lies inside a branch (``if sg > 0:``), and then both cost a call into its
    runtime on every event (4 calls per event in :func:`_fire_edge`; 10-60 such calls
    made the kernel 15-20 % slower on heat2d 64 x 64). A ``_hold`` after the branch
    moves the last use out of it.
    """
    def codegen(context, builder, signature, args):
        return context.get_dummy_value()
    return types.void(types.StarArgTuple.from_types(arrays)), codegen


@_jit
def _prefetch_pairs(edge, potential, q, pairs, lo, hi):
    """Prefetch what refreshing the edges of entries ``lo..hi-1`` of ``pairs``
    (edge, other end) touches: the edge records, the far potentials, the queue leaves."""
    leaves = q.size // 2
    for k in range(lo, hi):
        f = pairs[_u(2 * k)]
        _prefetch(edge, f)
        _prefetch(potential, pairs[_u(2 * k + 1)])
        _prefetch(q, leaves + f)


@_jit
def _schedule(q, slot, t):
    """Give ``slot`` the time ``t`` in the winner tree ``q`` and replay its matches.

    Climbs from the slot's leaf towards the root: at each level the winner so
    far meets the sibling subtree's winner (the sibling addresses do not
    depend on the outcomes, so their loads overlap), and the climb stops at the
    first node whose winner does not change.
    """
    i = q.size // 2 + slot
    q[i].time = t
    wt = t
    ws = slot
    while i > 1:
        sib = q[i ^ 1]
        st = sib.time
        ss = sib.slot
        if st < wt or (st <= wt and ss < ws):   # once st < wt fails, <= is ==, in one flag test
            wt = st
            ws = ss
        i >>= 1
        node = q[i]
        if node.slot == ws and node.time == wt:
            break
        node.time = wt
        node.slot = ws


def flux_of(j: float, f: int, first_half: int | None) -> float:
    """The flux edge ``f`` integrates when ``J = j`` flows along it: ``j`` on a whole edge,
    ``max(j, 0)`` on a half-edge of the cut-latency model (:mod:`evsim.cut`), which fires
    only packets out of its own cell,

    .. math:: J^{half}_{ij} = \\max\\bigl(g_{ij}\\,(u_i(t) - u_j(t - L)),\\ 0\\bigr).

    Half-edges are the local edges from ``first_half`` on; ``first_half=None``: every edge
    is whole (the order-1 kernel, where the compiled test vanishes, see :func:`_flux_of`)."""
    return j if (first_half is None or f < first_half or j > 0.0) else 0.0


@nb.njit(cache=True, error_model="numpy")
def _clamp(j, whole):
    """``j`` on a whole edge, ``max(j, 0)`` on a half-edge. (Not inlined by numba: inside
    the inlined overload below its branch trips numba's SSA checks; LLVM inlines it.)"""
    return j if (whole or j > 0.0) else 0.0


@overload(flux_of, inline="always")
def _flux_of(j, f, first_half):
    """:func:`flux_of` in compiled code, chosen by the type of ``first_half``: for ``None``
    the identity (no test, no instruction), for an integer the clamp."""
    if isinstance(first_half, types.NoneType):
        return lambda j, f, first_half: j
    return lambda j, f, first_half: _clamp(j, f < first_half)


@_jit
def _rate(edge, potential, drive, f, ncell, first_half):
    """Flux of edge ``f`` under the current potentials (only edges from a
    reservoir can carry a drive, so interior edges never read it), clamped on the
    half-edges from ``first_half`` on (:func:`flux_of`; ``None``: no half-edges)."""
    r = edge[_u(f)]
    d = drive[_u(f)] if r.src >= ncell or r.dst >= ncell else 0.0
    return flux_of(_flux(r.conductance, potential[_u(r.src)], potential[_u(r.dst)], d), f,
                   first_half)


@_jit
def _advance_pairs(edge, potential, drive, pairs, lo, hi, t, ncell, first_half):
    """Integrate the edges of entries ``lo..hi-1`` of ``pairs`` (edge, other end)
    up to ``t`` under the potentials before the event."""
    for k in range(lo, hi):
        f = pairs[_u(2 * k)]
        r = edge[_u(f)]
        r.acc = _advance(r.acc, _rate(edge, potential, drive, f, ncell, first_half), t - r.tlast)
        r.tlast = t


@_jit
def _reschedule_pairs(edge, potential, drive, pairs, lo, hi, t, quota, ncell, first_half, q):
    """Schedule the next firing of the edges of entries ``lo..hi-1`` of ``pairs``
    (already advanced to ``t``) under the potentials after the event."""
    for k in range(lo, hi):
        f = pairs[_u(2 * k)]
        j = _rate(edge, potential, drive, f, ncell, first_half)
        _schedule(q, f, t + _fire_delay(edge[_u(f)].acc, j, quota))


@_jit
def _prefetch_event(edge, forward, backward, stencil, f):
    """Prefetch stage 1 of the next event, the firing of edge ``f``: its edge record,
    counters and event stencil row. Speed only."""
    _prefetch(edge, f)
    _prefetch(forward, f)
    _prefetch(backward, f)
    _prefetch(stencil, f * stencil.shape[1])


@_jit
def _prefetch_ledgers(edge, node, q, f):
    """Prefetch stage 2 of the next event, the firing of edge ``f``: its two ledgers and
    the bottom of its tree path (its edge record has arrived by then)."""
    r = edge[_u(f)]
    _prefetch(node, r.src)
    _prefetch(node, r.dst)
    i = (q.size // 2 + f) >> 1
    for _ in range(4):
        _prefetch(q, i)
        i >>= 1


@_jit
def _prefetch_stencil(edge, potential, q, stencil, over, over_ptr, f):
    """Prefetch stage 3 of the next event, the firing of edge ``f``: the edge records, far
    potentials and queue leaves its stencil row names (the row has arrived by then)."""
    row = _stencil_row(stencil, over, over_ptr, f)
    _prefetch_pairs(edge, potential, q, row, 1, row[1] + 1)


@_jit
def _fire_edge(edge, potential, drive, forward, backward, cursor, e, t, quota, ncell, first_half):
    """The firing step of edge ``e`` at ``t`` (:func:`evsim.rule.fire`): integrate its
    accumulator, fire one packet, count it (per edge and direction, and in all); return
    the packet's sign, sender and receiver. ``first_half``: as :func:`_rate`."""
    rec = edge[_u(e)]
    j = _rate(edge, potential, drive, e, ncell, first_half)
    sg, rec.acc = _fire(_advance(rec.acc, j, t - rec.tlast), j, quota)
    rec.tlast = t
    sender, receiver = _ends(sg, rec.src, rec.dst)
    if sg > 0:
        forward[_u(e)] += 1
    else:
        backward[_u(e)] += 1
    cursor[1] += 1
    _hold(forward, backward)
    return sg, sender, receiver


@_jit
def _sides(pairs, sg):
    """The entries of the event stencil row ``pairs`` (every other edge of the fired
    edge's two ends, with its far end, the first end's first) on the sender's side,
    ``s_lo..s_hi-1``, and on the receiver's, ``r_lo..r_hi-1``, for a packet of sign ``sg``."""
    n_src = pairs[0] + 1
    n = pairs[1] + 1
    return (1, n_src, n_src, n) if sg > 0 else (n_src, n, 1, n_src)


@_jit
def _deposit(node, potential, c, packets, quota, ncell):
    """Deposit ``packets`` (``rule.SEND`` or ``rule.RECEIVE``) in the ledger of node
    ``c``; a cell's potential follows, ``u = (b + q n) / V`` (a reservoir's is fixed).

    One node per call, each count stored with its potential: moving a packet's two
    counts in one step (both loaded, then both stored) ran ~15 % slower on heat1d."""
    n = node[_u(c)]
    n.count = _deposit_count(n.count, packets)
    if c < ncell:
        potential[_u(c)] = _potential(n.base, n.count, quota, n.volume)


@_jit
def _take_record(rec_pot, rec_count, potential, node, ncell, r):
    """Record ``r``: every cell's potential and the cells' total ledger count."""
    total = 0
    for c in range(ncell):
        rec_pot[r, c] = potential[c]
        total += node[c].count
    rec_count[r] = total


@nb.njit(cache=True, error_model="numpy")
def _run(st, max_events, prefetch):
    """Process events of the state ``st`` (a :class:`~evsim.state.StateTuple`) until the
    next lies beyond ``t_end`` or ``max_events`` are done; return a :class:`Status` code."""
    edge, drive, node, potential, latency = st.edge, st.drive, st.node, st.potential, st.latency
    inc_ptr, incident, stencil, over, over_ptr = (st.inc_ptr, st.incident, st.stencil,
                                                  st.stencil_over, st.stencil_ptr)
    ncell, quota, t_end, q, transit = st.ncell, st.quota, st.t_end, st.queue, st.transit
    route_ptr, route_links, route_service, link_free, use_routes = (
        st.route_ptr, st.route_links, st.route_service, st.link_free, st.use_routes)
    pk_time, pk_sign, pk_next, fifo_head, fifo_tail, pool = (st.pk_time, st.pk_sign, st.pk_next,
                                                             st.fifo_head, st.fifo_tail, st.pool)
    forward, backward, cursor, clock = st.forward, st.backward, st.cursor, st.clock
    rec_times, rec_pot, rec_count = st.record_times, st.record_potential, st.record_count
    log_time, log_edge, log_sign, log_on = st.log_time, st.log_edge, st.log_sign, st.log_on
    E = edge.size
    nrec = rec_times.size
    any_transit = q.size > 2 * E   # arrival slots exist
    done = 0
    while True:
        t = q[1].time
        s = q[1].slot
        r = cursor[0]
        while r < nrec and rec_times[r] < t and rec_times[r] <= t_end:
            _take_record(rec_pot, rec_count, potential, node, ncell, r)
            r += 1
        cursor[0] = r
        if t > t_end:
            clock[0] = t_end
            return _DONE
        if done >= max_events:
            return _LIMIT
        if s < E:  # ---- edge s fires
            e = s
            deliver = not (any_transit and transit[e])
            if not deliver and pool[0] < 0:
                return _GROW_POOL
            if log_on and cursor[3] >= log_time.size:
                return _GROW_LOG
            sg, sender, receiver = _fire_edge(edge, potential, drive, forward, backward, cursor, e,
                                              t, quota, ncell, None)
            if log_on:
                n = cursor[3]
                log_time[n] = t
                log_edge[n] = e
                log_sign[n] = sg
                cursor[3] = n + 1
            # the stencil: every other edge of the two ends, the sender's side first
            pairs = _stencil_row(stencil, over, over_ptr, e)
            s_lo, s_hi, r_lo, r_hi = _sides(pairs, sg)
            if not deliver:
                r_hi = r_lo   # the receiver changes when the packet arrives
            if prefetch:
                # (this event's own data was prefetched during the previous event)
                # take the fired slot out of the tree now, so that the likely next
                # event (the new root) is known and its edge, counters and stencil
                # row load during this event's physics; its new time goes in below
                _schedule(q, e, np.inf)
                if q[1].slot < E:
                    _prefetch_event(edge, forward, backward, stencil, q[1].slot)
            # every other edge of a changed cell integrates up to t under the old potentials
            _advance_pairs(edge, potential, drive, pairs, s_lo, s_hi, t, ncell, None)
            _advance_pairs(edge, potential, drive, pairs, r_lo, r_hi, t, ncell, None)
            # the packet leaves the sender's ledger for the receiver's, or for transit
            _deposit(node, potential, sender, _SEND, quota, ncell)
            if deliver:
                _deposit(node, potential, receiver, _RECEIVE, quota, ncell)
            else:
                ta = t
                if use_routes:
                    k = _route(e, sg)
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
                    _schedule(q, E + e, ta)
                else:
                    pk_next[fifo_tail[e]] = p
                fifo_tail[e] = p
                pool[1] = _deposit_count(pool[1], _RECEIVE)
            # then every touched edge is rescheduled under the new potentials, the
            # fired edge first (the tree's order is total, so the order of updates
            # never changes the next event)
            j = _rate(edge, potential, drive, e, ncell, None)
            _schedule(q, e, t + _fire_delay(edge[_u(e)].acc, j, quota))
            _reschedule_pairs(edge, potential, drive, pairs, s_lo, s_hi, t, quota, ncell, None, q)
            if prefetch and q[1].slot < E:  # its two ledgers and the bottom of its tree path
                _prefetch_ledgers(edge, node, q, q[1].slot)
            _reschedule_pairs(edge, potential, drive, pairs, r_lo, r_hi, t, quota, ncell, None, q)
            if prefetch and q[1].slot < E:  # what its stencil touches
                _prefetch_stencil(edge, potential, q, stencil, over, over_ptr, q[1].slot)
        else:  # ---- a packet in flight on edge s - E arrives
            e = s - E
            p = fifo_head[e]
            rec = edge[e]
            receiver = _ends(pk_sign[p], rec.src, rec.dst)[1]
            nxt = pk_next[p]
            fifo_head[e] = nxt
            if nxt < 0:
                fifo_tail[e] = -1
                _schedule(q, s, np.inf)
            else:
                _schedule(q, s, pk_time[nxt])
            pk_next[p] = pool[0]
            pool[0] = p
            pool[1] = _deposit_count(pool[1], _SEND)
            cursor[2] += 1
            lo = inc_ptr[receiver] if receiver < ncell else 0
            hi = inc_ptr[receiver + 1] if receiver < ncell else 0
            _advance_pairs(edge, potential, drive, incident, lo, hi, t, ncell, None)
            _deposit(node, potential, receiver, _RECEIVE, quota, ncell)
            _reschedule_pairs(edge, potential, drive, incident, lo, hi, t, quota, ncell, None, q)
        clock[0] = t
        done += 1


class CompiledEngine:
    """Advance an :class:`~evsim.state.EngineState` with the numba kernel
    (an :class:`~evsim.engine.Engine`).

    Parameters
    ----------
    state
        The state to advance, from :func:`~evsim.state.initial_state`.
    """

    name = "compiled"
    chunk = 1 << 19
    #: the kernel returns only between events, and Python sees Ctrl-C only then
    consistent_on_interrupt = True

    def __init__(self, state: EngineState):
        self.state = state
        self.prefetch = prefetch_pays(state)

    def flush(self) -> None:
        """Nothing to do: the kernel keeps its whole state in ``state``."""

    def run(self, max_events: int) -> Status:
        """Process at most ``max_events`` events; return ``Status.DONE`` or ``Status.LIMIT``.

        The kernel stops early when the packet pool or the spike log is full; they
        are grown here and the kernel resumes.
        """
        return run_growing(self.state, lambda st, n: _run(st, n, self.prefetch), max_events)


def run_growing(state, kernel, max_events: int) -> Status:
    """Run ``kernel(state.as_tuple(), n)`` until ``max_events`` more events are processed
    or it returns ``Status.DONE`` / ``Status.LIMIT``, growing the packet pool or the spike
    log (and resuming) when it stops for want of room. Used by the compiled engines of
    both orders."""
    target = state.processed + max_events
    while True:
        status = Status(kernel(state.as_tuple(), target - state.processed))
        if status == Status.GROW_POOL:
            state.grow_pool()
        elif status == Status.GROW_LOG:
            state.grow_log()
        else:
            return status
