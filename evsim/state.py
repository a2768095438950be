"""The dynamic state of a simulation, as flat arrays shared by every engine.

An :class:`EngineState` is created once by :func:`initial_state` and advanced in
chunks by an engine (:mod:`evsim.kernel` or :mod:`evsim.simpy_engine`); between
chunks it is complete and consistent, so a run stopped by an event or wall-clock
limit still yields an exact ledger and every record taken so far.

Event slots: edge ``e`` fires in slot ``e``; packets in flight on edge ``e``
arrive in slot ``E + e`` (one FIFO per edge, so only its head is scheduled).

The event queue is a tournament (winner) tree over the slots, keyed by
``(time, slot)``: leaf ``n + s`` holds slot ``s``, internal node ``i`` holds
the smaller of its children ``2i`` and ``2i + 1``, and the root ``1`` is the
next event. Rescheduling a slot rewrites its leaf and the path above it, so the
queue has a fixed size and no stale entries; because leaves are in slot
order, the edges one event touches (all incident to two neighbouring cells,
with nearby ids) share most of their paths. Edge data are 32-byte records
(two per cache line; the flux is recomputed from the potentials, not stored),
cell potentials a separate array (what neighbours read), the edges a firing
touches one fixed-width row per edge (:func:`event_stencil`), and the large
arrays live on transparent huge pages, so that an event touches as few cache
lines and pages as possible.
Events at equal times are processed in increasing slot order: firings before
arrivals, each in increasing edge id. Records at time ``t_r`` are taken after
every event with time ``<= t_r``.
"""
from __future__ import annotations

import functools
import mmap
from collections import namedtuple
from dataclasses import dataclass, fields

import numpy as np

from . import rule
from .errors import ConfigError
from .network import Network
from .routing import Routing

__all__ = ["EngineState", "StateTuple", "initial_state", "restore_state", "event_stencil",
           "stencil_row", "winner_tree"]

_EMPTY_I = np.zeros(0, dtype=np.int64)
_HUGE = 2 << 20  #: huge page size (bytes)
_PAGED_MIN = 256 << 10  #: smallest array (bytes) moved to huge pages
_STENCIL_QUANTILE = 0.99  #: share of event stencils stored at a fixed stride
#: The fields an event reads at random places: on huge pages (:func:`_paged`).
_PAGED_FIELDS = ("edge", "node", "potential", "inc_ptr", "incident", "stencil", "queue",
                 "forward", "backward")

#: Per-edge record, half a cache line: what refreshing an edge reads and writes.
#: The flux is not stored: it is recomputed from the potentials when needed.
EDGE_DTYPE = np.dtype([("src", np.int32), ("dst", np.int32), ("conductance", np.float64),
                       ("acc", np.float64), ("tlast", np.float64)], align=True)
#: Entry of the event queue: a slot and its next event time.
QUEUE_DTYPE = np.dtype([("time", np.float64), ("slot", np.int64)], align=True)
#: Per-node ledger record (cells, then reservoirs with base 0 and volume 1).
NODE_DTYPE = np.dtype([("base", np.float64), ("volume", np.float64), ("count", np.int64)],
                      align=True)


@dataclass(eq=False)
class EngineState:
    """Arrays describing the network (read-only) and its evolving state.

    The one list of the state's fields: :class:`StateTuple`, what the compiled
    kernel takes, is derived from it.
    """

    edge: np.ndarray           #: (E,) EDGE_DTYPE records
    drive: np.ndarray          #: (E,) constant drive d_ij (nonzero only on source edges)
    node: np.ndarray           #: (nodes,) NODE_DTYPE ledger records
    potential: np.ndarray      #: (nodes,) u_i, kept equal to (b_i + q n_i) / V_i
    latency: np.ndarray
    inc_ptr: np.ndarray        #: (cells + 1,) CSR offsets into ``incident``
    incident: np.ndarray       #: pairs (edge, other end): cell c's are entries inc_ptr[c]:inc_ptr[c+1]
    stencil: np.ndarray        #: (E, W) what a firing of each edge touches, see event_stencil
    stencil_over: np.ndarray   #: rows too long for ``stencil``
    stencil_ptr: np.ndarray    #: CSR offsets of those rows in ``stencil_over``
    ncell: int
    route_ptr: np.ndarray
    route_links: np.ndarray
    route_service: np.ndarray
    use_routes: bool
    transit: np.ndarray        #: (E,) bool: packets of this edge travel through a FIFO
    quota: float
    t_end: float
    queue: np.ndarray          #: (2 slots,) QUEUE_DTYPE winner tree; slot s is leaf slots + s
    pk_time: np.ndarray        #: packet pool: arrival time
    pk_sign: np.ndarray        #: packet pool: +1 forward, -1 backward
    pk_next: np.ndarray        #: packet pool: next packet in the edge FIFO / free list
    fifo_head: np.ndarray      #: (E,) first packet in flight per edge, -1 if none
    fifo_tail: np.ndarray
    pool: np.ndarray           #: [free-list head, packets in transit]
    link_free: np.ndarray      #: time each NoC link is next free
    forward: np.ndarray        #: (E,) packets fired forward
    backward: np.ndarray       #: (E,) packets fired backward
    record_times: np.ndarray
    record_potential: np.ndarray   #: (T, cells)
    record_count: np.ndarray       #: (T,) sum of cell ledger counts at each record
    cursor: np.ndarray         #: [records taken, firings, arrivals, log length]
    clock: np.ndarray          #: [time of the last processed event]
    log_time: np.ndarray
    log_edge: np.ndarray
    log_sign: np.ndarray
    log_on: bool

    #: the CFQ order this state runs (order 2: :class:`evsim.trajectory_state.TrajectoryState`)
    order = 1

    @property
    def edges(self) -> int:
        return self.edge.size

    @property
    def processed(self) -> int:
        """Events processed: firings and arrivals."""
        return int(self.cursor[1] + self.cursor[2])

    def as_tuple(self) -> StateTuple:
        """The fields as a :class:`StateTuple` (what the compiled kernel takes)."""
        return StateTuple(*(getattr(self, name) for name in StateTuple._fields))

    def stencil_row(self, e: int) -> np.ndarray:
        """Row of edge ``e`` in the event stencil (:func:`stencil_row`)."""
        return stencil_row(self.stencil, self.stencil_over, self.stencil_ptr, e)

    @property
    def slot_time(self) -> np.ndarray:
        """(slots,) next event time of every slot (``inf``: none scheduled)."""
        return self.queue["time"][self.queue.size // 2:]

    # views of the records, by physics name
    src = property(lambda self: self.edge["src"])
    dst = property(lambda self: self.edge["dst"])
    conductance = property(lambda self: self.edge["conductance"])
    acc = property(lambda self: self.edge["acc"], doc="(E,) accumulators a_ij")
    tlast = property(lambda self: self.edge["tlast"], doc="(E,) time of the last advance")
    base = property(lambda self: self.node["base"][: self.ncell], doc="(cells,) b_i = V_i u_i(0)")
    volume = property(lambda self: self.node["volume"][: self.ncell])
    count = property(lambda self: self.node["count"], doc="(nodes,) integer ledger n_i")

    @property
    def rate(self) -> np.ndarray:
        """(E,) current flux ``J_ij`` (computed from the potentials, as the engines do)."""
        return rule.flux(self.conductance, self.potential[self.src], self.potential[self.dst],
                         self.drive)

    def grow_pool(self) -> None:
        """Double the packet pool, chaining the new entries into the free list."""
        old = self.pk_time.size
        new = max(2 * old, 64)
        self.pk_time = np.concatenate([self.pk_time, np.zeros(new - old)])
        self.pk_sign = np.concatenate([self.pk_sign, np.zeros(new - old, dtype=np.int8)])
        nxt = np.arange(old + 1, new + 1, dtype=np.int64)
        nxt[-1] = self.pool[0]
        self.pk_next = np.concatenate([self.pk_next, nxt])
        self.pool[0] = old

    def grow_log(self) -> None:
        """Double the capacity of the spike log."""
        extra = max(self.log_time.size, 1024)
        self.log_time = np.concatenate([self.log_time, np.zeros(extra)])
        self.log_edge = np.concatenate([self.log_edge, np.zeros(extra, dtype=np.int64)])
        self.log_sign = np.concatenate([self.log_sign, np.zeros(extra, dtype=np.int8)])


#: Every field of :class:`EngineState`, in order, as one named tuple: numba compiles a
#: tuple of arrays and scalars as one argument, at no cost over separate ones. Built
#: anew by :meth:`EngineState.as_tuple` for each kernel call (growing the packet pool
#: or the spike log replaces arrays).
StateTuple = namedtuple("StateTuple", [f.name for f in fields(EngineState)])


def _pays_to_page(nbytes: int) -> bool:
    """Whether an array of ``nbytes`` goes to huge pages: large, on a system offering them."""
    return nbytes >= _PAGED_MIN and hasattr(mmap, "MADV_HUGEPAGE")


def _huge_zeros(shape, dtype) -> np.ndarray:
    """A zeroed array in memory backed by transparent huge pages if it is large.

    The engine touches its arrays at random places; with 4 KiB pages a large
    grid misses the TLB on almost every access. Huge pages are advice only
    (``madvise``, Linux); elsewhere, or for small arrays, a plain ``np.zeros``.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    if not _pays_to_page(nbytes):
        return np.zeros(shape, dtype)
    size = -(-(nbytes + _HUGE) // _HUGE) * _HUGE
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)   # zero-filled
    try:
        buffer.madvise(mmap.MADV_HUGEPAGE)
    except OSError:  # a kernel without transparent huge pages: plain pages will do
        pass
    raw = np.frombuffer(buffer, dtype=np.uint8)
    start = -raw.ctypes.data % _HUGE
    return raw[start: start + nbytes].view(dtype).reshape(shape)


def _paged(a: np.ndarray) -> np.ndarray:
    """``a``, copied to memory backed by transparent huge pages if it is large
    (:func:`_huge_zeros`); small arrays, or where huge pages are not offered, ``a`` itself."""
    if not _pays_to_page(a.nbytes):
        return a
    out = _huge_zeros(a.shape, a.dtype)
    out[...] = a
    return out


def winner_tree(times: np.ndarray) -> np.ndarray:
    """Tournament tree over slots ``0..n-1`` with the given times (``QUEUE_DTYPE``, size ``2n``).

    Leaf ``n + s`` is slot ``s``; node ``i`` (``1 <= i < n``) is the smaller
    of nodes ``2i`` and ``2i + 1`` in ``(time, slot)`` order; node 0 is unused.
    """
    n = times.size
    tree = np.zeros(2 * n, dtype=QUEUE_DTYPE)
    tree["time"][n:], tree["slot"][n:] = times, np.arange(n)
    tree["time"][0] = np.inf
    hi = n
    while hi > 1:                   # children of nodes [lo, hi) lie in [hi, 2 hi)
        lo = (hi + 1) // 2
        a, b = tree[2 * lo: 2 * hi: 2], tree[2 * lo + 1: 2 * hi: 2]
        left = (a["time"] < b["time"]) | ((a["time"] == b["time"]) & (a["slot"] < b["slot"]))
        tree[lo:hi] = np.where(left, a, b)
        hi = lo
    return tree


#: Stencil entries filled per block by :func:`event_stencil` (bounds its temporaries).
_STENCIL_BLOCK = 1 << 22


def _stencil_rows(lo, hi, src, dst, ncell, inc_ptr, incident, deg, others, need, width,
                  table, over, over_ptr, row_of) -> None:
    """Fill rows ``lo..hi-1`` of the event stencil (and their overflow rows)."""
    e = np.arange(lo, hi)
    n_src, n = others[0][lo:hi], others[0][lo:hi] + others[1][lo:hi]
    start = np.cumsum(n) - n
    owner = np.repeat(e, n)
    f = np.empty(owner.size, dtype=incident.dtype)
    far = np.empty(owner.size, dtype=incident.dtype)
    for end, kept, offset in ((src[lo:hi], others[0][lo:hi], start),
                              (dst[lo:hi], others[1][lo:hi], start + n_src)):
        m = deg[end]
        k = (np.repeat(inc_ptr[np.minimum(end, ncell)], m) + np.arange(m.sum())
             - np.repeat(np.cumsum(m) - m, m))              # entries of the end's incidence
        k = k[incident[2 * k] != np.repeat(e, m)]           # e itself left out
        slot = np.repeat(offset, kept) + np.arange(k.size) - np.repeat(np.cumsum(kept) - kept, kept)
        f[slot], far[slot] = incident[2 * k], incident[2 * k + 1]
    pos = np.arange(owner.size) - np.repeat(start, n)
    fits = need[owner] <= width
    table[owner[fits], 2 + 2 * pos[fits]] = f[fits]
    table[owner[fits], 3 + 2 * pos[fits]] = far[fits]
    rest = ~fits
    at = over_ptr[row_of[owner[rest]]] + 2 + 2 * pos[rest]
    over[at], over[at + 1] = f[rest], far[rest]


def event_stencil(src: np.ndarray, dst: np.ndarray, ncell: int, inc_ptr: np.ndarray,
                  incident: np.ndarray, quantile: float | None = None):
    """For every edge, the other edges a firing of it touches, in one row.

    A firing of edge ``e = (i, j)`` changes the potentials of ``i`` and ``j``, so
    every other edge of a cell among them must be integrated and rescheduled.
    Row ``e`` is ``[n_src, n, f_0, far_0, ..., f_{n-1}, far_{n-1}]``: the edges
    ``f_k`` (``e`` excluded) with their ends ``far_k`` away from ``i`` (for
    ``k < n_src``) or from ``j`` (the rest); a reservoir end contributes none.
    Rows share one width, enough for the ``quantile`` (default 0.99) of all rows
    (rounded up to a cache line), so a row's address follows from ``e`` alone and
    the engine can fetch it before it needs it; the few longer rows (hubs) go to a
    CSR overflow, and row ``e`` then starts with ``-1 - index into the overflow``
    (:func:`stencil_row` reads either).

    Returns
    -------
    stencil : (E, W) int32
    over, over_ptr : int32 and int64 arrays, the overflow rows and their offsets
    """
    E = src.size
    quantile = _STENCIL_QUANTILE if quantile is None else quantile
    deg = np.zeros(src.size and max(int(src.max()), int(dst.max())) + 1, dtype=np.int64)
    deg[:ncell] = np.diff(inc_ptr)
    # row e: the other edges of its src end, then those of its dst end, each in incidence
    # order; entries are placed by counting (offsets per row), not by sorting
    others = [deg[end] - (end < ncell) for end in (src, dst)]   # a cell end lists e itself once
    n_src, n = others[0], others[0] + others[1]
    need = 2 + 2 * n
    width = max(16, -(-int(np.quantile(need, quantile) if E else 0) // 16) * 16)
    table = _huge_zeros((E, width), np.int32)     # the engine's largest array: built in place
    table[:, 0], table[:, 1] = n_src, n
    long = np.flatnonzero(need > width)
    over_ptr = np.concatenate([[0], np.cumsum(need[long])]).astype(np.int64)
    over = np.zeros(over_ptr[-1], dtype=np.int32)
    over[over_ptr[:-1]], over[over_ptr[:-1] + 1] = n_src[long], n[long]
    row_of = np.full(E, -1)
    row_of[long] = np.arange(long.size)
    # rows are independent: fill them a block of edges at a time, so that the temporary
    # index arrays (~8 per entry) stay near _STENCIL_BLOCK entries (at 10^6 3D cells all
    # at once they took 4x the state: 16 GB)
    total = np.cumsum(n)
    cuts = np.searchsorted(total, np.arange(_STENCIL_BLOCK, int(total[-1]) if E else 0,
                                            _STENCIL_BLOCK))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, E]):
        if hi > lo:
            _stencil_rows(int(lo), int(hi), src, dst, ncell, inc_ptr, incident, deg, others,
                          need, width, table, over, over_ptr, row_of)
    table[long, 0] = -1 - np.arange(long.size)
    return table, over, over_ptr


def stencil_row(stencil: np.ndarray, over: np.ndarray, over_ptr: np.ndarray, e: int) -> np.ndarray:
    """Row ``e`` of an :func:`event_stencil`, wherever it is stored.

    ``[n_src, n, f_0, far_0, ..., f_{n-1}, far_{n-1}]``; read as pairs, pair 0 is
    ``(n_src, n)``, pairs ``1..n_src`` the (edge, other end) of the source end and
    pairs ``n_src+1..n`` those of the destination end. Plain Python, compiled as is
    by :mod:`evsim.kernel` (``e`` is taken as unsigned there: no wraparound test).
    """
    e = np.uintp(e)
    j = stencil[e, 0]
    if j >= 0:
        return stencil[e]
    return over[over_ptr[-1 - j]:over_ptr[-j]]


def restore_state(arrays: dict) -> EngineState:
    """An :class:`EngineState` from its fields by name (as a checkpoint stores them),
    the hot arrays moved back to huge pages (speed only)."""
    return EngineState(**{name: _paged(value) if name in _PAGED_FIELDS else value
                          for name, value in arrays.items()})


@functools.cache
def _fire_delays():
    """:func:`evsim.rule.fire_delay` as a numpy ufunc, compiled by numba from its own
    source (the same bits as the scalar calls, ~10x faster on 10^6 edges)."""
    import numba

    return numba.vectorize(["float64(float64, float64, float64)"], cache=True)(rule.fire_delay)


def initial_state(network: Network, u0: np.ndarray, quota: float, t_end: float,
                  record: np.ndarray, routing: Routing | None = None,
                  spike_log: bool = False) -> EngineState:
    """State at ``t = 0``: ledger zero, accumulators zero, first firings scheduled."""
    E, N = network.size, network.cells
    src = np.ascontiguousarray(network.edges[:, 0])
    dst = np.ascontiguousarray(network.edges[:, 1])
    volume = network.volume
    base = volume * u0
    cell_pot = rule.potential(base, 0, quota, volume)           # elementwise, same bits
    pot = np.concatenate([cell_pot, network.reservoir_potential])
    rate = rule.flux(network.conductance, pot[src], pot[dst], network.drive)
    first = 0.0 + _fire_delays()(0.0, rate, quota)

    use_routes = routing is not None
    if use_routes and routing.edges != E:
        raise ConfigError(f"routing covers {routing.edges} edges, the network has {E}")
    transit = (network.latency > 0) | use_routes
    nslots = 2 * E if transit.any() else E
    queue = _paged(winner_tree(np.concatenate([first, np.full(nslots - E, np.inf)])))

    cell_of = np.repeat(np.arange(N), np.diff(network.inc_ptr))
    incident = np.empty(2 * network.inc_edge.size, dtype=np.int32)
    incident[0::2], incident[1::2] = network.inc_edge, (src + dst)[network.inc_edge] - cell_of
    stencil, over, over_ptr = event_stencil(src, dst, N, network.inc_ptr, incident)
    edge = _huge_zeros(E, EDGE_DTYPE)
    edge["src"], edge["dst"], edge["conductance"] = src, dst, network.conductance
    node = np.zeros(N + network.reservoirs, dtype=NODE_DTYPE)
    node["volume"] = 1.0
    node["base"][:N], node["volume"][:N] = base, volume
    return EngineState(
        edge=edge, drive=network.drive.copy(), node=_paged(node), potential=_paged(pot),
        latency=network.latency.copy(), inc_ptr=_paged(network.inc_ptr.astype(np.int32)),
        incident=_paged(incident), stencil=stencil, stencil_over=over,
        stencil_ptr=over_ptr, ncell=N,
        route_ptr=routing.ptr if use_routes else np.zeros(2 * E + 1, dtype=np.int64),
        route_links=routing.links if use_routes else _EMPTY_I,
        route_service=routing.service if use_routes else np.zeros(0),
        use_routes=use_routes, transit=transit, quota=float(quota), t_end=float(t_end),
        queue=queue,
        pk_time=np.zeros(0), pk_sign=np.zeros(0, dtype=np.int8), pk_next=_EMPTY_I.copy(),
        fifo_head=np.full(E, -1, dtype=np.int64), fifo_tail=np.full(E, -1, dtype=np.int64),
        pool=np.array([-1, 0], dtype=np.int64),
        link_free=np.zeros(routing.service.size if use_routes else 0),
        forward=_huge_zeros(E, np.int64), backward=_huge_zeros(E, np.int64),
        record_times=np.asarray(record, dtype=float),
        record_potential=np.full((len(record), N), np.nan),
        record_count=np.zeros(len(record), dtype=np.int64),
        cursor=np.zeros(4, dtype=np.int64), clock=np.zeros(1),
        log_time=np.zeros(0), log_edge=_EMPTY_I.copy(), log_sign=np.zeros(0, dtype=np.int8),
        log_on=bool(spike_log),
    )
