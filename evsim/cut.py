"""The cut-latency model: one network partitioned into parts that see each other late.

The exact rule of :mod:`evsim.rule` has no lookahead: the flux of an edge changes
whenever either end changes, so two parts of a network cannot advance
independently for any positive time. Multi-chip hardware has a latency ``L``
between chips; this module defines that model so that parts can run in
conservative windows of length ``L``, in one process (:func:`simulate_cut`) or one
part per MPI rank (the same function with an mpi4py communicator), bit for bit
alike.

Given an assignment of the cells to parts, an edge whose cells lie in different
parts is *cut*. Cut edge ``(i, j)`` (``i`` in part ``A``, ``j`` in ``B``) becomes
two half-edges, each owned and fired by one part:

* half-edge ``i -> j`` (part ``A``) integrates the clamped flux
  ``max(g (u_i(t) - u_j(t - L)), 0)``: its own cell's current potential and the far
  one as it was ``L`` earlier (before ``t = 0``: the initial potential), and fires
  only packets *out of* ``i``;
* a packet it fires at ``t`` leaves ``n_i`` at once (``n_i -= 1``), counts as in
  transit between the parts, and joins ``n_j`` at ``t + L``;
* half-edge ``j -> i`` (part ``B``) does the same the other way.

The net flux ``max(g (u_i - u_j'), 0) - max(g (u_j - u_i'), 0)`` tends to
``g (u_i - u_j)`` as ``L -> 0``; mass still moves only in integer packets, so
``sum(n_cells) + sum(n_reservoirs) + n_in_transit == 0`` exactly (the packets sent
across the cut and not yet received are in transit). Result counts of a cut edge:
``edge_forward`` = packets fired by the half-edge of its first node, ``edge_backward``
= those of its second.

A part's kernel (:func:`evsim.cut_kernel.run_window`) reads the far potential from a
ghost node, updated by a message ``(t + L, u_j)`` whenever ``u_j`` changes. The
windows end at ``w_k = w_{k-1} + L`` (the last one, closed, at ``t_end``): a message
sent at ``t >= w_{k-1}`` arrives at ``t + L >= w_k`` (float addition is monotone), so
after each window every part exchanges its messages and none is ever late. Each
part's events, and their floating-point operations, depend only on its own state
and its inbox, so the result does not depend on how the parts are spread over
processes (nor on the window length, as long as it is at most ``L``). Reservoirs
adjacent to several parts are copied into each; their ledgers are summed.

Not in the model (:class:`~evsim.errors.ConfigError`/:class:`~evsim.errors.GraphError`):
per-edge packet latency ``tau`` (:mod:`evsim.rule`'s, a different thing: there the
flux uses both current potentials), network-on-chip routing, event limits and the
spike log.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np

from . import rule
from .checks import check_scales
from .cut_kernel import GROW_OUTBOX, PACKET, CutTuple, run_window
from .errors import ConfigError, GraphError
from .kernel import flux_of, prefetch_pays
from .network import Network, as_network
from .result import Result
from .simulate import _initial_field, _positive, _record_times
from .state import _paged, initial_state, winner_tree

__all__ = ["CutPart", "CutPlan", "plan_cut", "simulate_cut", "ENGINE_NAME"]

#: ``Result.engine`` of a cut-latency run.
ENGINE_NAME = "compiled-cut"
_OUTBOX0 = 1 << 12


@dataclass(eq=False)
class CutPart:
    """One part of a :class:`CutPlan`: its local network and how it talks to the others.

    Local nodes: the part's cells (in global order), copies of the reservoirs they
    touch, then one ghost per far cell of a cut edge. Local edges: the internal
    edges (global order), then the half-edges (global order of their cut edges),
    each from the local cell to its ghost.
    """

    index: int
    cells: np.ndarray         #: (n,) global cell ids
    reservoirs: np.ndarray    #: (r,) global node ids of the copied reservoirs
    ghosts: np.ndarray        #: (h,) global cell ids seen as ghosts
    edges: np.ndarray         #: (E_int,) global ids of the internal edges
    half: np.ndarray          #: (E_half,) global ids of the cut edges owned here
    half_forward: np.ndarray  #: (E_half,) bool: the local cell is the edge's first node
    half_part: np.ndarray     #: (E_half,) part of the far cell
    half_target: np.ndarray   #: (E_half,) local index of the far cell in its part
    tell_ptr: np.ndarray      #: (n + 1,) CSR: which parts see each cell, ...
    tell_part: np.ndarray     #: ... the part ...
    tell_ghost: np.ndarray    #: ... and the cell's ghost index there
    network: Network          #: the local network (ghosts as reservoirs)


@dataclass(eq=False)
class CutPlan:
    """A network, the assignment of its cells to parts, and the latency ``L`` of the cut."""

    network: Network
    assignment: np.ndarray
    latency: float
    parts: list

    @property
    def cut_edges(self) -> int:
        """Number of cut edges."""
        return sum(p.half.size for p in self.parts) // 2


def _check_assignment(network: Network, assignment) -> np.ndarray:
    a = np.asarray(assignment)
    if a.shape != (network.cells,):
        raise ConfigError(f"assignment must give one part per cell, shape ({network.cells},), "
                          f"got {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ConfigError(f"assignment must hold integer part numbers, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        k = int(np.flatnonzero(a < 0)[0])
        raise ConfigError(f"assignment gives cell {network.nodes[k]!r} the negative part {int(a[k])}")
    parts = int(a.max()) + 1 if a.size else 0
    empty = np.flatnonzero(np.bincount(a, minlength=parts) == 0)
    if empty.size:
        raise ConfigError(f"assignment leaves part {int(empty[0])} of 0..{parts - 1} without cells")
    return a


def _check_latency(latency, t_end: float) -> float:
    lag = _positive(latency, "cut_latency")
    if not t_end + lag > t_end:
        raise ConfigError(f"cut_latency {lag!r} is below the float resolution of t_end={t_end!r}")
    return lag


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of ``keys`` and the CSR offsets of each key ``0..n-1``."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return order, ptr


def plan_cut(network: Network, assignment, latency: float, t_end: float = 1.0) -> CutPlan:
    """Split ``network`` into the parts of ``assignment`` under the cut latency ``latency``.

    Parameters
    ----------
    network
        A compiled network (:func:`evsim.compile_network`) without per-edge latency.
    assignment
        ``(cells,)`` integer part of every cell; parts ``0..P-1`` all non-empty.
    latency
        The cut latency ``L > 0``.
    t_end
        The run's final time (``L`` must be above its float resolution).

    Raises
    ------
    ConfigError
        A bad ``assignment`` or ``cut_latency`` (named in the message).
    GraphError
        An edge with a per-edge latency ``tau > 0`` (named).
    """
    lag = _check_latency(latency, t_end)
    part_of = _check_assignment(network, assignment)
    if network.has_transit:
        e = int(np.flatnonzero(network.latency > 0)[0])
        u, v = (network.nodes[int(k)] for k in network.edges[e])
        raise GraphError(f"edge ({u!r}, {v!r}) has latency {float(network.latency[e])!r}: the cut-latency "
                         "model does not take per-edge latencies")
    N = network.cells
    a, b = network.edges[:, 0], network.edges[:, 1]
    pa = np.where(a < N, part_of[np.minimum(a, N - 1)], -1)
    pb = np.where(b < N, part_of[np.minimum(b, N - 1)], -1)
    cut = (pa >= 0) & (pb >= 0) & (pa != pb)
    owner = np.where(pa >= 0, pa, pb)             # the part of an internal edge
    nparts = int(part_of.max()) + 1
    local = np.zeros(N, dtype=np.int64)           # index of each cell in its part
    for p in range(nparts):
        local[part_of == p] = np.arange(int((part_of == p).sum()))
    cut_ids = np.flatnonzero(cut)
    # ghost index of (part, far cell) for every half-edge, then who tells whom
    halves = []
    for p in range(nparts):
        mine = cut_ids[(pa[cut_ids] == p) | (pb[cut_ids] == p)]
        fwd = pa[mine] == p
        far = np.where(fwd, b[mine], a[mine])
        ghosts, gidx = np.unique(far, return_inverse=True)
        halves.append((mine, fwd, far, ghosts, gidx))
    parts = []
    for p in range(nparts):
        mine, fwd, far, ghosts, gidx = halves[p]
        cells = np.flatnonzero(part_of == p)
        n = cells.size
        internal = np.flatnonzero(~cut & (owner == p))
        ends = network.edges[internal]
        res = np.unique(ends[ends >= N])
        lnode = np.full(N + network.reservoirs, -1, dtype=np.int64)
        lnode[cells] = np.arange(n)
        lnode[res] = n + np.arange(res.size)
        first_ghost = n + res.size
        own = np.where(fwd, a[mine], b[mine])
        edges = np.concatenate([lnode[ends].reshape(-1, 2),
                                np.stack([lnode[own], first_ghost + gidx], axis=1)]).astype(np.int64)
        # which other parts see each of my cells as a ghost, and as which
        tp, tg, tc = [], [], []
        for d in range(nparts):
            if d != p:
                g = halves[d][3]
                at = np.flatnonzero(part_of[g] == p)
                tp.append(np.full(at.size, d, dtype=np.int64))
                tg.append(at)
                tc.append(local[g[at]])
        tell_part, tell_ghost, tell_cell = (np.concatenate(x) if x else np.zeros(0, dtype=np.int64)
                                            for x in (tp, tg, tc))
        order, tell_ptr = _csr(tell_cell, n)
        E_loc = edges.shape[0]
        ends_flat = edges.ravel()
        keep = ends_flat < n
        inc_order, inc_ptr = _csr(ends_flat[keep], n)
        ghost_pot = np.zeros(ghosts.size)  # set by _start from the initial field
        net = Network(
            nodes=[network.nodes[c] for c in cells] + [network.nodes[r] for r in res]
            + [("ghost", network.nodes[g]) for g in ghosts],
            cells=n, reservoirs=res.size + ghosts.size, edges=edges,
            conductance=np.concatenate([network.conductance[internal], network.conductance[mine]]),
            drive=np.concatenate([network.drive[internal], np.zeros(mine.size)]),
            latency=np.zeros(E_loc), volume=network.volume[cells],
            reservoir_potential=np.concatenate([network.reservoir_potential[res - N], ghost_pot]),
            initial_potential=network.initial_potential[cells],
            positions=network.positions[cells],
            inc_ptr=inc_ptr, inc_edge=np.repeat(np.arange(E_loc), 2)[keep][inc_order])
        parts.append(CutPart(
            index=p, cells=cells, reservoirs=res, ghosts=ghosts, edges=internal, half=mine,
            half_forward=fwd, half_part=part_of[far], half_target=local[far],
            tell_ptr=tell_ptr, tell_part=tell_part[order], tell_ghost=tell_ghost[order],
            network=net))
    return CutPlan(network=network, assignment=part_of, latency=lag, parts=parts)


class _PartRun:
    """One part's engine state, inbox and outbox, advanced window by window."""

    def __init__(self, plan: CutPlan, part: CutPart, u0: np.ndarray, quota: float, t_end: float,
                 times: np.ndarray):
        net, network = part.network, plan.network
        n, E = net.cells, net.size
        V = network.volume[part.ghosts]
        # a ghost starts at its cell's initial potential, computed as the owner computes it
        ghost_u = np.array([rule.potential(v * u, 0, quota, v)
                            for v, u in zip(V.tolist(), u0[part.ghosts].tolist())], dtype=float)
        net.reservoir_potential[net.reservoirs - part.ghosts.size:] = ghost_u
        st = initial_state(net, u0[part.cells], quota, t_end, times)
        first_half = E - part.half.size
        # the half-edges' first firings under the clamped flux, and one inbox slot
        rate = st.rate
        times0 = st.slot_time[:E].copy()
        for e in range(first_half, E):
            times0[e] = 0.0 + rule.fire_delay(0.0, flux_of(float(rate[e]), e, first_half), quota)
        st.queue = _paged(winner_tree(np.concatenate([times0, [np.inf]])))  # hot: huge pages
        self.state, self.part = st, part
        self.prefetch = prefetch_pays(st)
        gp = net.edges[first_half:, 1] - (n + part.reservoirs.size)
        order, ghost_ptr = _csr(gp, part.ghosts.size)
        ghost_inc = np.empty(2 * order.size, dtype=np.int32)
        ghost_inc[0::2], ghost_inc[1::2] = first_half + order, net.edges[first_half + order, 0]
        boundary = np.zeros(n, dtype=np.int8)
        boundary[np.diff(part.tell_ptr) > 0] = 1
        self.cut = CutTuple(
            first_half=first_half, first_ghost=n + part.reservoirs.size, latency=plan.latency,
            boundary=boundary, ghost_ptr=ghost_ptr, ghost_incident=ghost_inc,
            in_time=np.zeros(0), in_kind=np.zeros(0, dtype=np.int8),
            in_target=np.zeros(0, dtype=np.int64), in_value=np.zeros(0),
            out_time=np.zeros(_OUTBOX0), out_kind=np.zeros(_OUTBOX0, dtype=np.int8),
            out_index=np.zeros(_OUTBOX0, dtype=np.int64), out_value=np.zeros(_OUTBOX0),
            counters=np.zeros(4, dtype=np.int64))
        self.in_key = np.zeros((0, 2), dtype=np.int64)   # (sending part, sequence) per message
        self.sent = 0                                    # messages sent so far (the sequence)

    def run(self, w: float, final: bool) -> dict:
        """Advance to the window end; return the outbox routed to the other parts:
        ``{part: (time, kind, target, value, key)}``."""
        ct = self.cut
        while run_window(self.state.as_tuple(), ct, w, final, self.prefetch) == GROW_OUTBOX:
            size = 2 * ct.out_time.size
            ct = self.cut = ct._replace(**{f: np.resize(getattr(ct, f), size) for f in
                                           ("out_time", "out_kind", "out_index", "out_value")})
        m = int(ct.counters[1])
        ct.counters[1] = 0
        return self._route(ct.out_time[:m].copy(), ct.out_kind[:m].copy(), ct.out_index[:m].copy(),
                           ct.out_value[:m].copy())

    def _route(self, t, kind, index, value) -> dict:
        """Destinations of this part's messages: a packet to the far cell's part, a
        potential to every part that sees the cell as a ghost."""
        part, m = self.part, t.size
        seq = self.sent + np.arange(m)
        self.sent += m
        pk = kind == PACKET
        h = index[pk]
        c = np.where(pk, 0, index)
        reps = np.where(pk, 0, part.tell_ptr[c + 1] - part.tell_ptr[c])
        at = np.repeat(part.tell_ptr[c] - np.cumsum(reps) + reps, reps) + np.arange(reps.sum())
        src = np.repeat(np.arange(m), reps)
        dest = np.concatenate([part.half_part[h], part.tell_part[at]])
        target = np.concatenate([part.half_target[h], part.tell_ghost[at]])
        which = np.concatenate([np.flatnonzero(pk), src])
        out = {}
        for d in np.unique(dest).tolist():
            sel = dest == d
            w = which[sel]
            key = np.stack([np.full(w.size, part.index), seq[w]], axis=1)
            out[d] = (t[w], kind[w], target[sel], value[w], key)
        return out

    def receive(self, messages: list) -> None:
        """Merge messages into the inbox, in ``(time, sending part, sequence)`` order."""
        ct = self.cut
        head = int(ct.counters[0])
        parts = [(ct.in_time[head:], ct.in_kind[head:], ct.in_target[head:], ct.in_value[head:],
                  self.in_key[head:])] + messages
        t, kind, target, value, key = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((key[:, 1], key[:, 0], t))
        self.in_key = key[order]
        self.cut = ct._replace(in_time=t[order], in_kind=kind[order], in_target=target[order],
                               in_value=value[order])
        self.cut.counters[0] = 0

    def summary(self) -> dict:
        """What the result needs from this part (small: sent to rank 0 under MPI)."""
        st, ct = self.state, self.cut
        return {"index": self.part.index, "taken": int(st.cursor[0]),
                "record_potential": st.record_potential, "record_count": st.record_count,
                "potential": st.potential[:st.ncell].copy(), "count": st.count.copy(),
                "forward": st.forward.copy(), "backward": st.backward.copy(),
                "firings": int(st.cursor[1]), "sent": int(ct.counters[2]),
                "received": int(ct.counters[3]), "clock": float(st.clock[0])}


def _windows(t_end: float, lag: float):
    """Window ends ``(w, final)``: ``w_k = w_{k-1} + L`` while below ``t_end``, then ``t_end`` closed."""
    w = 0.0
    while True:
        nxt = w + lag
        if nxt > t_end:
            yield t_end, True
            return
        yield nxt, False
        w = nxt


def simulate_cut(graph: nx.Graph | Network, assignment, cut_latency: float, u0=None,
                 quota: float = 1e-5, t_end: float = 1.0, record=None, *, comm=None) -> Result | None:
    """Simulate a network whose cells are split into parts that see each other after
    the latency ``cut_latency`` (the cut-latency model of :mod:`evsim.cut`).

    Parameters
    ----------
    graph, u0, quota, t_end, record
        As for :func:`evsim.simulate`.
    assignment
        ``(cells,)`` integer part of every cell (e.g. from a METIS partition).
    cut_latency
        ``L > 0``: the far end of a cut edge is seen ``L`` late and its packets arrive
        ``L`` after they leave.
    comm
        ``None``: every part in this process. An mpi4py communicator (duck-typed:
        ``rank``, ``size``, ``alltoall``, ``gather``, ``barrier``) with one rank per part:
        rank ``r`` runs part ``r``, the messages are exchanged after every window.
        The result is the same, bit for bit.

    Returns
    -------
    Result
        The whole network's result (``engine == "compiled-cut"``; the ledger sums every
        part's, the packets between parts in transit included; ``metadata`` holds
        ``cut_latency``, ``parts``, ``cut_edges``, ``windows``, ``process_cpu_seconds``
        (the CPU time of the windows in each process, by rank); ``wall_seconds`` is the
        time of the windows, set-up excluded, as in :func:`evsim.simulate`); ``None`` on
        ranks other than 0.

    Raises
    ------
    ConfigError
        A bad assignment, latency or argument, or a communicator whose size is not the
        number of parts.
    GraphError
        As :func:`evsim.simulate`; also for a per-edge latency.
    """
    network = as_network(graph)
    quota = _positive(quota, "quota")
    t_end = float(t_end)
    if not np.isfinite(t_end) or t_end < 0:
        raise ConfigError(f"t_end must be a finite number >= 0, got {t_end!r}")
    u0 = _initial_field(network, u0)
    times = _record_times(record, t_end)
    if check_scales(network, u0, quota):
        raise ConfigError("the cut-latency model does not take the potential offset that these "
                          "potentials need (far from 0 against the quota); shift u0 instead")
    plan = plan_cut(network, assignment, cut_latency, t_end)
    nparts = len(plan.parts)
    if comm is not None and comm.size != nparts:
        raise ConfigError(f"the assignment has {nparts} parts but the communicator {comm.size} ranks")
    mine = range(nparts) if comm is None else [comm.rank]
    runs = {p: _PartRun(plan, plan.parts[p], u0, quota, t_end, times) for p in mine}
    if comm is not None:
        comm.barrier()
    start, cpu = time.perf_counter(), time.process_time()
    windows = 0
    for w, final in _windows(t_end, plan.latency):
        outgoing = {p: runs[p].run(w, final) for p in mine}
        windows += 1
        if final:
            break
        if comm is None:
            for d in mine:
                runs[d].receive([outgoing[p][d] for p in mine if d in outgoing[p]])
        else:
            sent = outgoing[comm.rank]
            got = comm.alltoall([sent.get(d) for d in range(nparts)])
            runs[comm.rank].receive([m for m in got if m is not None])
    wall = time.perf_counter() - start
    summaries = [runs[p].summary() for p in mine]
    summaries[0]["cpu"] = time.process_time() - cpu     # this process's CPU time
    if comm is not None:
        gathered = comm.gather(summaries[0], root=0)
        if comm.rank != 0:
            return None
        summaries = gathered
    return _result(plan, u0, quota, t_end, times, summaries, wall, windows)


def _result(plan: CutPlan, u0, quota, t_end, times, summaries, wall, windows) -> Result:
    """The whole network's :class:`Result` from every part's summary."""
    network = plan.network
    N, E = network.cells, network.size
    summaries = sorted(summaries, key=lambda s: s["index"])
    taken = min(s["taken"] for s in summaries)
    potential = np.empty((taken, N))
    final = np.empty(N)
    cells = np.zeros(N, dtype=np.int64)
    res = np.zeros(network.reservoirs, dtype=np.int64)
    fwd = np.zeros(E, dtype=np.int64)
    bwd = np.zeros(E, dtype=np.int64)
    cell_count = np.zeros(taken, dtype=np.int64)
    for part, s in zip(plan.parts, summaries):
        n, e = part.cells.size, part.edges.size
        potential[:, part.cells] = s["record_potential"][:taken]
        cell_count += s["record_count"][:taken]
        final[part.cells] = s["potential"]
        cells[part.cells] = s["count"][:n]
        np.add.at(res, part.reservoirs - N, s["count"][n:n + part.reservoirs.size])
        fwd[part.edges], bwd[part.edges] = s["forward"][:e], s["backward"][:e]
        hf = s["forward"][e:]
        fwd[part.half[part.half_forward]] = hf[part.half_forward]
        bwd[part.half[~part.half_forward]] = hf[~part.half_forward]
    sent = sum(s["sent"] for s in summaries)
    received = sum(s["received"] for s in summaries)
    return Result(
        times=times[:taken], potential=potential, cell_count=cell_count, edge_forward=fwd,
        edge_backward=bwd, edges=network.edges, positions=network.positions,
        final_potential=final, ledger_cells=cells, ledger_reservoirs=res,
        in_transit=sent - received, quota=quota, t_end=t_end, t_final=t_end,
        engine=ENGINE_NAME, stop_reason="t_end", wall_seconds=wall,
        firings=sum(s["firings"] for s in summaries), arrivals=received,
        mass_initial=float((network.volume * u0).sum()), spike_log=None, network=network,
        metadata={"cut_latency": plan.latency, "parts": len(plan.parts),
                  "cut_edges": plan.cut_edges, "windows": windows,
                  "process_cpu_seconds": [s["cpu"] for s in summaries if "cpu" in s]})
