"""The state of an order-2 (trajectory CFQ) run, as flat arrays shared by both engines.

The physics fields are those of :class:`evsim.trajectory.TrajectoryTuple`; a run
adds the event queue (a winner tree over the slots of :mod:`evsim.trajectory`:
firings ``0..E-1``, arrivals ``E..2E-1``, trajectory messages ``2E..2E+N-1``),
the records, the spike log and the counters. Between two chunks of events the
state is complete (the SimPy engine writes its queue back on ``flush``), so a
checkpoint of it continues bit for bit.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, fields

import numpy as np

from . import trajectory as tr
from .network import Network
from .state import EngineState, winner_tree

__all__ = ["TrajectoryState", "trajectory_state", "restore_trajectory_state"]

_EMPTY_I = np.zeros(0, dtype=np.int64)


@dataclass(eq=False)
class TrajectoryState:
    """Arrays of an order-2 run: the physics (:class:`~evsim.trajectory.TrajectoryTuple`'s
    fields) and the run's queue, records, counters and spike log."""

    src: np.ndarray
    dst: np.ndarray
    conductance: np.ndarray
    drive: np.ndarray
    latency: np.ndarray
    transit: np.ndarray        #: (E,) bool: packets travel through a FIFO
    acc: np.ndarray            #: (E,) accumulators a_e at ``tedge``
    j0: np.ndarray             #: (E,) flux at ``tedge``
    j1: np.ndarray             #: (E,) flux slope
    tedge: np.ndarray          #: (E,) time the edge was last integrated to
    value: np.ndarray          #: (nodes,) broadcast value U at ``tline``
    slope: np.ndarray          #: (nodes,) broadcast slope S
    tline: np.ndarray          #: (nodes,) time of the last trajectory message
    m0: np.ndarray             #: (cells,) mass polynomial M, M', M'' at ``tmass``
    m1: np.ndarray
    m2: np.ndarray
    tmass: np.ndarray
    base: np.ndarray           #: (cells,) b_i = V_i u_i(0)
    volume: np.ndarray         #: (cells,)
    count: np.ndarray          #: (nodes,) integer ledger n_i
    inc_ptr: np.ndarray
    inc_edge: np.ndarray
    nbr_ptr: np.ndarray        #: CSR offsets of each cell's neighbouring cells
    nbr: np.ndarray
    quota: float
    tolerance: float
    theta: float
    ncell: int
    pk_time: np.ndarray
    pk_sign: np.ndarray
    pk_next: np.ndarray
    fifo_head: np.ndarray
    fifo_tail: np.ndarray
    pool: np.ndarray           #: [free-list head, packets in transit]
    forward: np.ndarray
    backward: np.ndarray
    counters: np.ndarray       #: [trajectory updates, trajectory messages]
    t_end: float
    queue: np.ndarray          #: winner tree over the 2E + N slots
    record_times: np.ndarray
    record_potential: np.ndarray
    record_count: np.ndarray
    cursor: np.ndarray         #: [records taken, firings, arrivals, log length]
    clock: np.ndarray
    log_time: np.ndarray
    log_edge: np.ndarray
    log_sign: np.ndarray
    log_on: bool
    slots: np.ndarray          #: scratch: reschedules written by one event
    times: np.ndarray

    order = 2

    @property
    def edges(self) -> int:
        return self.src.size

    @property
    def processed(self) -> int:
        """Events processed: firings, arrivals and trajectory messages sent."""
        return int(self.cursor[1] + self.cursor[2] + self.counters[0])

    def as_tuple(self):
        """All fields as one named tuple (what the compiled kernel and the rule take)."""
        return TrajectoryStateTuple(*(getattr(self, name) for name in TrajectoryStateTuple._fields))

    @property
    def slot_time(self) -> np.ndarray:
        """(slots,) next event time of every slot (``inf``: none scheduled)."""
        return self.queue["time"][self.queue.size // 2:]

    @property
    def potential(self) -> np.ndarray:
        """(nodes,) ``u_i = M_i / V_i`` of the cells at the clock
        (:func:`evsim.trajectory.potential_at`), then the reservoirs' potentials."""
        from . import trajectory_compiled as tc   # (numba: imported when a run needs it)

        cells = tc.cell_potentials(self.as_tuple(), float(self.clock[0]))
        return np.concatenate([cells, self.value[self.ncell:]])

    #: the packet pool and the spike log grow as at order 1 (the same fields)
    grow_pool = EngineState.grow_pool
    grow_log = EngineState.grow_log


TrajectoryStateTuple = namedtuple("TrajectoryStateTuple",
                                  [f.name for f in fields(TrajectoryState)])
assert set(tr.TrajectoryTuple._fields) <= set(TrajectoryStateTuple._fields)


def restore_trajectory_state(arrays: dict) -> TrajectoryState:
    """A :class:`TrajectoryState` from its fields by name (as a checkpoint stores them)."""
    return TrajectoryState(**arrays)


def _neighbours(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """CSR of each cell's distinct neighbouring cells (those a trajectory message reaches),
    each row in the order the cell's incident edges first name them."""
    N = network.cells
    cell = np.repeat(np.arange(N, dtype=np.int64), np.diff(network.inc_ptr[:N + 1]))
    ends = network.edges[network.inc_edge[:cell.size]].astype(np.int64)
    other = np.where(ends[:, 0] == cell, ends[:, 1], ends[:, 0])
    keep = (other < N) & (other != cell)
    cell, other = cell[keep], other[keep]
    _, first = np.unique(cell * N + other, return_index=True)    # first mention of each pair
    first.sort()                                                  # rows in incidence order
    counts = np.bincount(cell[first], minlength=N)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, other[first]


def trajectory_state(network: Network, u0: np.ndarray, quota: float, tolerance: float,
                     t_end: float, record: np.ndarray, spike_log: bool = False,
                     theta: float = tr.THETA) -> TrajectoryState:
    """State at ``t = 0``: ledger and accumulators zero, every cell on its QSS2 line
    through ``u0`` (``S = (W0 - G u) / V`` with the neighbours at ``u0``), every
    edge linearized and every first firing and trajectory message scheduled."""
    E, N, R = network.size, network.cells, network.reservoirs
    src = np.ascontiguousarray(network.edges[:, 0]).astype(np.int64)
    dst = np.ascontiguousarray(network.edges[:, 1]).astype(np.int64)
    value = np.concatenate([np.asarray(u0, dtype=float), network.reservoir_potential])
    nbr_ptr, nbr = _neighbours(network)
    transit = network.latency > 0
    st = TrajectoryState(
        src=src, dst=dst, conductance=network.conductance.copy(), drive=network.drive.copy(),
        latency=network.latency.copy(), transit=transit,
        acc=np.zeros(E), j0=np.zeros(E), j1=np.zeros(E), tedge=np.zeros(E),
        value=value, slope=np.zeros(N + R), tline=np.zeros(N + R),
        m0=network.volume * u0, m1=np.zeros(N), m2=np.zeros(N), tmass=np.zeros(N),
        base=network.volume * u0, volume=network.volume.copy(),
        count=np.zeros(N + R, dtype=np.int64),
        inc_ptr=network.inc_ptr.astype(np.int64), inc_edge=network.inc_edge.astype(np.int64),
        nbr_ptr=nbr_ptr, nbr=nbr, quota=float(quota), tolerance=float(tolerance),
        theta=float(theta), ncell=N,
        pk_time=np.zeros(0), pk_sign=np.zeros(0, dtype=np.int8), pk_next=_EMPTY_I.copy(),
        fifo_head=np.full(E, -1, dtype=np.int64), fifo_tail=np.full(E, -1, dtype=np.int64),
        pool=np.array([-1, 0], dtype=np.int64),
        forward=np.zeros(E, dtype=np.int64), backward=np.zeros(E, dtype=np.int64),
        counters=np.zeros(2, dtype=np.int64), t_end=float(t_end),
        queue=np.zeros(0), record_times=np.asarray(record, dtype=float),
        record_potential=np.full((len(record), N), np.nan),
        record_count=np.zeros(len(record), dtype=np.int64),
        cursor=np.zeros(4, dtype=np.int64), clock=np.zeros(1),
        log_time=np.zeros(0), log_edge=_EMPTY_I.copy(), log_sign=np.zeros(0, dtype=np.int8),
        log_on=bool(spike_log), slots=np.zeros(0, dtype=np.int64), times=np.zeros(0),
    )
    degree = np.diff(st.inc_ptr)
    width = 2 * int(degree.max(initial=0)) + 3
    st.slots, st.times = np.zeros(width, dtype=np.int64), np.zeros(width)
    from . import trajectory_compiled as tc       # (numba: imported when a run needs it)

    st.queue = winner_tree(np.full(2 * E + N, np.inf))   # (the kernel's types: compiled once)
    st.queue = winner_tree(tc.initial_lines(st.as_tuple()))
    return st
