"""The dynamic state of a simulation, as flat arrays shared by every engine.

An :class:`EngineState` is created once by :func:`initial_state` and advanced in
chunks by an engine (:mod:`evsim.kernel` or :mod:`evsim.simpy_engine`); between
chunks it is complete and consistent, so a run stopped by an event or wall-clock
limit still yields an exact ledger and every record taken so far.

Event slots: edge ``e`` fires in slot ``e``; packets in flight on edge ``e``
arrive in slot ``E + e`` (one FIFO per edge, so only its head is scheduled).

The event queue is an indexed binary min-heap of all slots keyed by
``(time, slot)``: a slot's entry moves up or down in place when it is
rescheduled (``heap_pos`` says where it is), so the queue has a fixed size and
no stale entries. Edge and node data are records (one cache line per edge) so
that refreshing an edge touches as little memory as possible.
Events at equal times are processed in increasing slot order: firings before
arrivals, each in increasing edge id. Records at time ``t_r`` are taken after
every event with time ``<= t_r``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rule
from .network import Network
from .routing import Routing

__all__ = ["EngineState", "initial_state", "DONE", "LIMIT", "GROW_POOL", "GROW_LOG"]

#: Engine status codes returned by one chunk of work.
DONE, LIMIT, GROW_POOL, GROW_LOG = 0, 1, 2, 3

_EMPTY_I = np.zeros(0, dtype=np.int64)

#: Per-edge record, one 64-byte cache line: what refreshing an edge reads and writes.
EDGE_DTYPE = np.dtype([("src", np.int64), ("dst", np.int64), ("conductance", np.float64),
                       ("drive", np.float64), ("acc", np.float64), ("tlast", np.float64),
                       ("rate", np.float64), ("_pad", np.float64)], align=True)
#: Per-node record (cells, then reservoirs with base 0 and volume 1).
NODE_DTYPE = np.dtype([("base", np.float64), ("volume", np.float64),
                       ("potential", np.float64), ("count", np.int64)], align=True)


@dataclass(eq=False)
class EngineState:
    """Arrays describing the network (read-only) and its evolving state."""

    edge: np.ndarray           #: (E,) EDGE_DTYPE records
    node: np.ndarray           #: (nodes,) NODE_DTYPE records
    latency: np.ndarray
    inc_ptr: np.ndarray
    inc_edge: np.ndarray
    ncell: int
    route_ptr: np.ndarray
    route_links: np.ndarray
    route_service: np.ndarray
    use_routes: bool
    transit: np.ndarray        #: (E,) bool: packets of this edge travel through a FIFO
    quota: float
    t_end: float
    heap_time: np.ndarray      #: indexed binary heap of slots keyed by (time, slot)
    heap_slot: np.ndarray
    heap_pos: np.ndarray       #: position of each slot in the heap
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

    @property
    def edges(self) -> int:
        return self.edge.size

    # views of the records, by physics name
    src = property(lambda self: self.edge["src"])
    dst = property(lambda self: self.edge["dst"])
    conductance = property(lambda self: self.edge["conductance"])
    drive = property(lambda self: self.edge["drive"])
    acc = property(lambda self: self.edge["acc"], doc="(E,) accumulators a_ij")
    tlast = property(lambda self: self.edge["tlast"], doc="(E,) time of the last advance")
    rate = property(lambda self: self.edge["rate"], doc="(E,) current flux J_ij")
    base = property(lambda self: self.node["base"][: self.ncell], doc="(cells,) b_i = V_i u_i(0)")
    volume = property(lambda self: self.node["volume"][: self.ncell])
    potential = property(lambda self: self.node["potential"], doc="(nodes,) u_i")
    count = property(lambda self: self.node["count"], doc="(nodes,) integer ledger n_i")

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


def initial_state(network: Network, u0: np.ndarray, quota: float, t_end: float,
                  record: np.ndarray, routing: Routing | None = None,
                  spike_log: bool = False) -> EngineState:
    """State at ``t = 0``: ledger zero, accumulators zero, first firings scheduled."""
    E, N = network.size, network.cells
    src = np.ascontiguousarray(network.edges[:, 0])
    dst = np.ascontiguousarray(network.edges[:, 1])
    volume = network.volume
    base = volume * u0
    cell_pot = [rule.potential(b, 0, quota, v) for b, v in zip(base, volume)]
    pot = np.concatenate([np.array(cell_pot, dtype=float), network.reservoir_potential])
    rate = np.array([rule.flux(g, pot[i], pot[j], d) for g, i, j, d in
                     zip(network.conductance, src, dst, network.drive)], dtype=float)
    first = np.array([0.0 + rule.fire_delay(0.0, r, quota) for r in rate], dtype=float)

    use_routes = routing is not None
    if use_routes and routing.edges != E:
        raise ValueError(f"routing covers {routing.edges} edges, the network has {E}")
    transit = (network.latency > 0) | use_routes
    nslots = 2 * E if transit.any() else E
    times = np.concatenate([first, np.full(nslots - E, np.inf)])
    slots = np.arange(nslots, dtype=np.int64)
    order = np.lexsort((slots, times))          # sorted array = valid binary heap
    heap_pos = np.empty(nslots, dtype=np.int64)
    heap_pos[order] = np.arange(nslots)

    edge = np.zeros(E, dtype=EDGE_DTYPE)
    edge["src"], edge["dst"] = src, dst
    edge["conductance"], edge["drive"], edge["rate"] = network.conductance, network.drive, rate
    node = np.zeros(N + network.reservoirs, dtype=NODE_DTYPE)
    node["volume"] = 1.0
    node["base"][:N], node["volume"][:N], node["potential"] = base, volume, pot
    return EngineState(
        edge=edge, node=node, latency=network.latency, inc_ptr=network.inc_ptr,
        inc_edge=network.inc_edge, ncell=N,
        route_ptr=routing.ptr if use_routes else np.zeros(2 * E + 1, dtype=np.int64),
        route_links=routing.links if use_routes else _EMPTY_I,
        route_service=routing.service if use_routes else np.zeros(0),
        use_routes=use_routes, transit=transit, quota=float(quota), t_end=float(t_end),
        heap_time=times[order].copy(), heap_slot=order.astype(np.int64), heap_pos=heap_pos,
        pk_time=np.zeros(0), pk_sign=np.zeros(0, dtype=np.int8), pk_next=_EMPTY_I.copy(),
        fifo_head=np.full(E, -1, dtype=np.int64), fifo_tail=np.full(E, -1, dtype=np.int64),
        pool=np.array([-1, 0], dtype=np.int64),
        link_free=np.zeros(routing.service.size if use_routes else 0),
        forward=np.zeros(E, dtype=np.int64), backward=np.zeros(E, dtype=np.int64),
        record_times=np.asarray(record, dtype=float),
        record_potential=np.full((len(record), N), np.nan),
        record_count=np.zeros(len(record), dtype=np.int64),
        cursor=np.zeros(4, dtype=np.int64), clock=np.zeros(1),
        log_time=np.zeros(0), log_edge=_EMPTY_I.copy(), log_sign=np.zeros(0, dtype=np.int8),
        log_on=bool(spike_log),
    )
