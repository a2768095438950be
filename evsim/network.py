"""Validation and compilation of a cell graph into flat arrays.

:func:`compile_network` turns any ``nx.Graph`` with the documented attributes
(see :mod:`evsim.topologies.grids`) into a :class:`Network`: cells first (in
node order), then reservoirs, edges as index pairs, and the CSR incidence of
every cell. Every engine simulates a :class:`Network`, never the graph itself.
Bad input raises :class:`GraphError` (a ``ValueError``) naming the node or edge.

A compiled network's arrays are read-only (``flags.writeable`` is False), and a
:class:`Network` built or changed by hand is checked by :func:`validate_network`
before an engine reads it: the kernel indexes its arrays without bounds checks.

:func:`network_from_arrays` builds the same :class:`Network` straight from arrays
(meshes of 10^6 cells, where a NetworkX graph is too slow and too large),
:func:`to_networkx` gives a graph view of a network, and :func:`permute_network`
renumbers cells and edges for memory locality (see ``docs/scale.md``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import GraphError

__all__ = ["Network", "GraphError", "compile_network", "validate_network", "as_network", "network_from_arrays",
           "to_networkx", "permute_network", "network_bytes", "engine_bytes", "SOURCE_NODE"]

#: Label of the internal reservoir that feeds cells with a ``source`` attribute.
SOURCE_NODE = "__source__"


def _number(value, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise GraphError(f"{what} must be a number, got {value!r}") from None
    if math.isnan(x):
        raise GraphError(f"{what} is NaN")
    if math.isinf(x):
        raise GraphError(f"{what} is infinite")
    return x


@dataclass(eq=False)
class Network:
    """A compiled cell graph: flat arrays shared by all engines.

    Nodes ``0 .. cells-1`` are cells and ``cells .. cells+reservoirs-1`` are
    reservoirs, labelled by :attr:`nodes`. Edge ``e`` joins ``edges[e, 0]``
    and ``edges[e, 1]``; its forward direction is from the first to the second.
    """

    nodes: list
    cells: int
    reservoirs: int
    edges: np.ndarray          #: (E, 2) int64 node indices
    conductance: np.ndarray    #: (E,) g_ij
    drive: np.ndarray          #: (E,) constant forward flux (sources)
    latency: np.ndarray        #: (E,) tau_ij
    volume: np.ndarray         #: (cells,) V_i
    reservoir_potential: np.ndarray  #: (reservoirs,)
    initial_potential: np.ndarray    #: (cells,) NaN where a cell has no 'potential'
    positions: np.ndarray      #: (cells, dim), NaN where unknown
    inc_ptr: np.ndarray = field(repr=False)   #: CSR incidence of cells (cells + 1,)
    inc_edge: np.ndarray = field(repr=False)  #: edge ids incident to each cell

    @property
    def size(self) -> int:
        """Number of edges ``E``."""
        return len(self.conductance)

    @property
    def has_transit(self) -> bool:
        """Whether some edge has a positive latency (packets spend time in flight)."""
        return bool(np.any(self.latency > 0))

    def __repr__(self) -> str:
        return (f"Network(cells={self.cells}, reservoirs={self.reservoirs}, edges={self.size}, "
                f"dim={self.positions.shape[1]}, latency={self.has_transit})")


def compile_network(graph: nx.Graph) -> Network:
    """Validate ``graph`` and compile it into a :class:`Network`.

    Raises
    ------
    GraphError
        On a missing or invalid attribute (volume <= 0, conductance <= 0,
        negative latency, NaN anywhere), an unknown ``kind``, a cell with no
        edge at all, an edge between two reservoirs, a self-loop or a graph
        without cells. A closed graph (no reservoir, all-Neumann) is valid.
    """
    if not isinstance(graph, nx.Graph) or graph.is_directed() or graph.is_multigraph():
        raise GraphError("expected an undirected networkx.Graph (not directed, not a multigraph)")
    cells, reservoirs = [], []
    for node, data in graph.nodes(data=True):
        kind = data.get("kind", "cell")
        if kind == "cell":
            cells.append(node)
        elif kind == "reservoir":
            reservoirs.append(node)
        else:
            raise GraphError(f"node {node!r} has unknown kind {kind!r} (expected 'cell' or 'reservoir')")
    if not cells:
        raise GraphError("graph has no cell nodes")
    nodes = cells + reservoirs
    index = {n: k for k, n in enumerate(nodes)}
    ncell = len(cells)

    volume = np.empty(ncell)
    init = np.full(ncell, np.nan)
    source = np.zeros(ncell)
    dims = {len(np.atleast_1d(graph.nodes[c]["pos"])) for c in cells if graph.nodes[c].get("pos") is not None}
    dim = max(dims) if dims else 1
    positions = np.full((ncell, dim), np.nan)
    for k, c in enumerate(cells):
        data = graph.nodes[c]
        if "volume" not in data:
            raise GraphError(f"cell {c!r} is missing the 'volume' attribute")
        volume[k] = _number(data["volume"], f"volume of cell {c!r}")
        if volume[k] <= 0:
            raise GraphError(f"cell {c!r} has non-positive volume {volume[k]!r}")
        if data.get("potential") is not None:
            init[k] = _number(data["potential"], f"potential of cell {c!r}")
        if data.get("source") is not None:
            source[k] = _number(data["source"], f"source of cell {c!r}")
        if data.get("pos") is not None:
            p = np.atleast_1d(np.asarray(data["pos"], dtype=float))
            if np.any(np.isnan(p)):
                raise GraphError(f"position of cell {c!r} is NaN")
            positions[k, : p.size] = p
        if graph.degree(c) == 0:
            raise GraphError(f"cell {c!r} has no edge at all (an isolated neuron cannot exchange flux)")
    rpot = np.empty(len(reservoirs))
    for k, r in enumerate(reservoirs):
        if "potential" not in graph.nodes[r]:
            raise GraphError(f"reservoir {r!r} is missing the 'potential' attribute")
        rpot[k] = _number(graph.nodes[r]["potential"], f"potential of reservoir {r!r}")

    pairs, cond, lat = [], [], []
    for u, v, data in graph.edges(data=True):
        if u == v:
            raise GraphError(f"self-loop on node {u!r}")
        iu, iv = index[u], index[v]
        if iu >= ncell and iv >= ncell:
            raise GraphError(f"edge ({u!r}, {v!r}) joins two reservoirs; it would carry no cell mass")
        if "conductance" not in data:
            raise GraphError(f"edge ({u!r}, {v!r}) is missing the 'conductance' attribute")
        g = _number(data["conductance"], f"conductance of edge ({u!r}, {v!r})")
        if g <= 0:
            raise GraphError(f"edge ({u!r}, {v!r}) has non-positive conductance {g!r}")
        tau = _number(data.get("latency", 0.0), f"latency of edge ({u!r}, {v!r})")
        if tau < 0:
            raise GraphError(f"edge ({u!r}, {v!r}) has negative latency {tau!r}")
        pairs.append((iu, iv))
        cond.append(g)
        lat.append(tau)
    drive = [0.0] * len(pairs)
    if np.any(source != 0):
        # constant sources: edges from an internal reservoir with zero conductance
        src = len(nodes)
        nodes.append(SOURCE_NODE)
        rpot = np.append(rpot, 0.0)
        for k in np.flatnonzero(source):
            pairs.append((src, int(k)))
            cond.append(0.0)
            lat.append(0.0)
            drive.append(float(source[k]))
    edges = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return _assemble(nodes, ncell, edges, np.array(cond, dtype=float), np.array(drive, dtype=float),
                     np.array(lat, dtype=float), volume, rpot, init, positions)


def _incidence(edges: np.ndarray, ncell: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR incidence of cells (reservoir potentials never change, so they need none):
    cell ``c``'s edges are ``inc_edge[inc_ptr[c]:inc_ptr[c + 1]]``, in edge order."""
    ends = edges.ravel()
    eids = np.repeat(np.arange(len(edges), dtype=np.int64), 2)
    keep = ends < ncell
    order = np.argsort(ends[keep], kind="stable")
    inc_edge = eids[keep][order]
    inc_ptr = np.zeros(ncell + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends[keep], minlength=ncell), out=inc_ptr[1:])
    return inc_ptr, inc_edge


def _assemble(nodes: list, ncell: int, edges, conductance, drive, latency, volume, rpot, init,
              positions) -> Network:
    """The :class:`Network` of these arrays, its incidence computed and its arrays read-only."""
    inc_ptr, inc_edge = _incidence(edges, ncell)
    network = Network(nodes=nodes, cells=ncell, reservoirs=len(nodes) - ncell, edges=edges,
                      conductance=conductance, drive=drive, latency=latency, volume=volume,
                      reservoir_potential=rpot, initial_potential=init, positions=positions,
                      inc_ptr=inc_ptr, inc_edge=inc_edge)
    for name in _ARRAYS:
        getattr(network, name).flags.writeable = False
    return network


def _floats(a, n: int | None, name: str, default: float | None = None) -> np.ndarray:
    """``a`` as a contiguous float64 array of length ``n`` (``default`` everywhere if None)."""
    if a is None:
        return np.full(n, default, dtype=float)
    out = np.ascontiguousarray(a, dtype=float)
    if out.ndim != 1 or (n is not None and out.size != n):
        raise GraphError(f"{name} must be a 1D array of {n} values, got shape {out.shape}")
    return out


def network_from_arrays(volume, edges, conductance, reservoir_potential=(), *, latency=None,
                        source=None, positions=None, initial_potential=None,
                        nodes: list | None = None) -> Network:
    """A :class:`Network` straight from arrays, without a NetworkX graph.

    The path for meshes too large for a graph (10^6 cells: a NetworkX graph of
    that size costs ~2 kB per node and minutes to build and compile). Node
    ``k < N`` is cell ``k``, node ``N + r`` reservoir ``r``; edge ``e`` joins
    ``edges[e, 0]`` and ``edges[e, 1]`` with conductance ``g_e``. The result is
    what :func:`compile_network` gives for the graph with these cells, reservoirs
    and edges in this order (the same arrays, bit for bit; a graph's edges are
    compiled in NetworkX's edge order, ``to_networkx`` gives one in this order).

    Parameters
    ----------
    volume
        ``(N,)`` cell volumes ``V_i > 0``.
    edges
        ``(E, 2)`` node indices in ``[0, N + R)``, no self-loop, no edge between
        two reservoirs.
    conductance
        ``(E,)`` ``g_ij > 0``.
    reservoir_potential
        ``(R,)`` fixed potentials of the reservoirs (Dirichlet values, ground).
    latency
        ``(E,)`` packet latencies ``tau_ij >= 0`` (default 0).
    source
        ``(N,)`` constant mass injection rates ``S_i`` (as the ``source`` node
        attribute): nonzero ones become drive edges from the internal reservoir
        :data:`SOURCE_NODE`, appended as :func:`compile_network` does.
    positions
        ``(N, dim)`` cell positions (default one NaN column, as for a graph without ``pos``).
    initial_potential
        ``(N,)`` initial potentials (default NaN: none).
    nodes
        ``N + R`` node labels (default ``0 .. N+R-1``).

    Raises
    ------
    GraphError
        Bad shapes, a non-finite or out-of-range value, a cell without edges
        (as :func:`compile_network`, checked by :func:`validate_network`).
    """
    volume = _floats(volume, None, "volume")
    ncell = volume.size
    if ncell == 0:
        raise GraphError("graph has no cell nodes")
    rpot = _floats(reservoir_potential, None, "reservoir_potential")
    edges = np.ascontiguousarray(edges, dtype=np.int64).reshape(-1, 2)
    E = len(edges)
    cond = _floats(conductance, E, "conductance")
    lat = _floats(latency, E, "latency", 0.0)
    drive = np.zeros(E)
    init = _floats(initial_potential, ncell, "initial_potential", np.nan)
    if positions is None:
        positions = np.full((ncell, 1), np.nan)
    positions = np.ascontiguousarray(positions, dtype=float).reshape(ncell, -1)
    nodes = list(range(ncell + rpot.size)) if nodes is None else list(nodes)
    if source is not None:
        source = _floats(source, ncell, "source")
        fed = np.flatnonzero(source)
        if fed.size:
            src = len(nodes)
            nodes.append(SOURCE_NODE)
            rpot = np.append(rpot, 0.0)
            edges = np.concatenate([edges, np.c_[np.full(fed.size, src), fed]])
            cond = np.concatenate([cond, np.zeros(fed.size)])
            lat = np.concatenate([lat, np.zeros(fed.size)])
            drive = np.concatenate([drive, source[fed]])
    network = _assemble(nodes, ncell, edges, cond, drive, lat, volume, rpot, init, positions)
    validate_network(network)
    isolated = np.flatnonzero(np.diff(network.inc_ptr) == 0)
    if isolated.size:
        raise GraphError(f"cell {nodes[isolated[0]]!r} has no edge at all (an isolated neuron "
                         f"cannot exchange flux; {isolated.size} such cells)")
    return network


def to_networkx(network: Network) -> nx.Graph:
    """The cell graph of a :class:`Network` (a graph view for small networks).

    Nodes are ``network.nodes`` with ``kind``, ``volume``, ``pos`` (where known),
    ``potential`` (reservoirs, and cells with an initial potential) and ``source``
    (cells fed by :data:`SOURCE_NODE`, which is not a node of the graph); edges carry
    ``conductance`` and ``latency`` (where positive). ``compile_network`` of the
    result gives ``network`` back (the same arrays; edge order is NetworkX's).
    """
    g = nx.Graph()
    N = network.cells
    fed = network.conductance == 0
    source = np.zeros(N)
    np.add.at(source, network.edges[fed, 1], network.drive[fed])
    for k in range(N):
        attrs = {"kind": "cell", "volume": float(network.volume[k])}
        if not np.isnan(network.positions[k]).all():
            attrs["pos"] = tuple(float(p) for p in network.positions[k])
        if not np.isnan(network.initial_potential[k]):
            attrs["potential"] = float(network.initial_potential[k])
        if source[k]:
            attrs["source"] = float(source[k])
        g.add_node(network.nodes[k], **attrs)
    for r, label in enumerate(network.nodes[N:]):
        if label != SOURCE_NODE:
            g.add_node(label, kind="reservoir", potential=float(network.reservoir_potential[r]))
    for (a, b), c, tau in zip(network.edges[~fed].tolist(), network.conductance[~fed].tolist(),
                              network.latency[~fed].tolist()):
        g.add_edge(network.nodes[a], network.nodes[b], conductance=c,
                   **({"latency": tau} if tau > 0 else {}))
    return g


def permute_network(network: Network, cell_order: np.ndarray) -> Network:
    """``network`` with its cells renumbered and its edges sorted for locality.

    New cell ``k`` is old cell ``cell_order[k]`` (a permutation of ``0..N-1``);
    reservoirs keep their order after the cells. Edges are then sorted by their
    (new) lower end and then their upper end, so the edges of one cell are
    consecutive and neighbouring cells' edges close: the engine's event queue
    has one leaf per edge in edge order and its event stencil one row per edge,
    so an event's memory traffic follows this order. Each edge keeps its
    orientation (``edges[e, 0]`` is still the same node), so flux signs and
    the physics are unchanged; only the tie order of simultaneous events
    (by edge id) differs. Node labels move with their cells.

    Raises
    ------
    GraphError
        If ``cell_order`` is not a permutation of the cells.
    """
    N = network.cells
    order = np.asarray(cell_order, dtype=np.int64)
    if order.shape != (N,) or not np.array_equal(np.sort(order), np.arange(N)):
        raise GraphError(f"cell_order must be a permutation of the {N} cells")
    new_of = np.concatenate([np.empty(N, dtype=np.int64), np.arange(N, N + network.reservoirs)])
    new_of[order] = np.arange(N)
    ends = new_of[network.edges]
    eorder = np.lexsort((ends.max(axis=1), ends.min(axis=1)))
    nodes = [network.nodes[k] for k in order.tolist()] + list(network.nodes[N:])
    return _assemble(nodes, N, ends[eorder], network.conductance[eorder], network.drive[eorder],
                     network.latency[eorder], network.volume[order],
                     network.reservoir_potential.copy(), network.initial_potential[order],
                     network.positions[order])


#: The arrays of a :class:`Network`: dtype kind ("i" integer, "f" float) and shape,
#: in terms of E edges, N cells, R reservoirs (None: any size).
_ARRAYS = {"edges": ("i", ("E", 2)), "conductance": ("f", ("E",)), "drive": ("f", ("E",)),
           "latency": ("f", ("E",)), "volume": ("f", ("N",)), "reservoir_potential": ("f", ("R",)),
           "initial_potential": ("f", ("N",)), "positions": ("f", ("N", None)),
           "inc_ptr": ("i", ("N+1",)), "inc_edge": ("i", (None,))}


def _first_bad(name: str, bad: np.ndarray, what: str) -> None:
    """Raise a :class:`GraphError` at the first ``True`` entry of ``bad``, if any."""
    if bad.any():
        k = np.argwhere(bad)[0]
        at = int(k[0]) if k.size == 1 else tuple(int(i) for i in k)
        raise GraphError(f"Network.{name}[{at}] {what}")


def validate_network(network: Network) -> None:
    """Check a :class:`Network` as :func:`compile_network` would have built it.

    Vectorised numpy, ``O(E + N)``: the dtypes and shapes of every array, node
    indices ``0 <= edges[e, k] < N + R`` with no self-loop and no edge between
    two reservoirs, finite values, ``V_i > 0``, ``g_e >= 0`` (0 only on source
    edges, which carry a drive), ``tau_e >= 0``, and the CSR incidence: ``inc_ptr``
    starts at 0, ends at ``len(inc_edge)`` and counts the cell ends of the edges,
    and the entries of cell ``c`` list each edge with an end ``c`` once.

    Raises
    ------
    GraphError
        Naming the first offending array and index, e.g. ``Network.edges[(3, 1)]``.
    """
    N, R = int(network.cells), int(network.reservoirs)
    E = network.size
    if N < 1 or R < 0 or len(network.nodes) != N + R:
        raise GraphError(f"Network has {N} cells, {R} reservoirs and {len(network.nodes)} node labels")
    sizes = {"E": E, "N": N, "R": R, "N+1": N + 1}
    for name, (kind, shape) in _ARRAYS.items():
        a = getattr(network, name)
        if not isinstance(a, np.ndarray) or a.dtype.kind not in (kind if kind == "f" else "iu"):
            raise GraphError(f"Network.{name} must be a numpy array of "
                             f"{'floats' if kind == 'f' else 'integers'}, got {type(a).__name__} "
                             f"{getattr(a, 'dtype', '')}")
        want = tuple(sizes.get(d, d) for d in shape)
        if a.ndim != len(want) or any(w is not None and n != w for n, w in zip(a.shape, want)):
            raise GraphError(f"Network.{name} has shape {a.shape}, expected "
                             f"{tuple('any' if w is None else w for w in want)}")
    for name in ("conductance", "drive", "latency", "volume", "reservoir_potential"):
        _first_bad(name, ~np.isfinite(getattr(network, name)), "is not finite")
    _first_bad("initial_potential", np.isinf(network.initial_potential), "is infinite")
    _first_bad("volume", network.volume <= 0, "is not positive")
    _first_bad("latency", network.latency < 0, "is negative")
    _first_bad("conductance", (network.conductance < 0)
               | ((network.conductance == 0) & (network.drive == 0)), "is not positive")
    edges = network.edges
    _first_bad("edges", (edges < 0) | (edges >= N + R), f"is not a node index in [0, {N + R})")
    _first_bad("edges", np.c_[edges[:, 0] == edges[:, 1], np.zeros(E, bool)], "is a self-loop")
    _first_bad("edges", np.c_[(edges >= N).all(axis=1), np.zeros(E, bool)], "joins two reservoirs")
    ptr, inc = network.inc_ptr, network.inc_edge
    ends = edges.ravel()
    expected = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends[ends < N], minlength=N), out=expected[1:])
    _first_bad("inc_ptr", ptr != expected, "does not match the cell ends of Network.edges")
    if inc.size != expected[-1]:
        raise GraphError(f"Network.inc_edge has {inc.size} entries, the edges have {expected[-1]} cell ends")
    _first_bad("inc_edge", (inc < 0) | (inc >= E), f"is not an edge index in [0, {E})")
    cell = np.repeat(np.arange(N), np.diff(expected))
    _first_bad("inc_edge", (edges[inc, 0] != cell) & (edges[inc, 1] != cell),
               "is an edge without an end at its cell")
    eid = np.repeat(np.arange(E), 2)[ends < N]
    if not np.array_equal(np.sort(cell * E + inc), np.sort(ends[ends < N] * E + eid)):
        raise GraphError("Network.inc_edge does not list every edge of each cell exactly once")


def network_bytes(network: Network) -> int:
    """Bytes of the arrays of a :class:`Network` (node labels not counted)."""
    return int(sum(getattr(network, name).nbytes for name in _ARRAYS))


def engine_bytes(network: Network, records: int = 2) -> dict[str, int]:
    """Predicted bytes of the engine state (:func:`evsim.state.initial_state`) of ``network``.

    A model of the layout documented in :mod:`evsim.state`, from the counts alone:
    ``E`` edges, ``N`` cells, ``R`` reservoirs, ``I`` cell ends of edges (the CSR
    incidence, ``~2E``), ``T`` record times, ``S`` event slots (``E``, or ``2E``
    when some edge has a latency) and the event-stencil width ``W`` (the 0.99
    quantile of ``2 + 2 n_e`` rounded up to 16 int32, ``n_e`` the other edges at
    the cell ends of edge ``e``; longer rows in a CSR overflow)::

        per edge   32 (record: src, dst, g, a, t_last) + 8 drive + 8 latency + 1 transit
                   + 16 fired forward/backward + 16 FIFO head/tail + 16 route offsets
                   + 4 W stencil                                    (+ overflow rows)
        per slot   2 x 16 (winner tree: time, slot)
        per node   24 (ledger record: base, volume, count) + 8 potential
        per cell   4 CSR offset + 8 I/N incidence (edge, far end: int32 pairs) + 8 T records

    Unrouted runs without a spike log (the packet pool, the log and the NoC
    arrays are empty and grow only when used). Returns the bytes by part and
    their ``total``; ``tests/topologies/test_scale_memory.py`` checks the model
    against a state built by ``initial_state``.
    """
    from .state import EDGE_DTYPE, NODE_DTYPE, QUEUE_DTYPE, _STENCIL_QUANTILE

    E, N, R = network.size, network.cells, network.reservoirs
    T = int(records)
    deg = np.zeros(N + R, dtype=np.int64)
    deg[:N] = np.diff(network.inc_ptr)
    others = np.where(network.edges < N, deg[network.edges] - 1, 0).sum(axis=1)
    need = 2 + 2 * others
    width = max(16, -(-int(np.quantile(need, _STENCIL_QUANTILE) if E else 0) // 16) * 16)
    long = need > width
    slots = 2 * E if network.has_transit else E
    parts = {
        "edge_records": E * (EDGE_DTYPE.itemsize + 8 + 8 + 1 + 16 + 16 + 16) + 8,
        "stencil": 4 * E * width + 4 * int(need[long].sum()) + 8 * (int(long.sum()) + 1),
        "event_queue": 2 * slots * QUEUE_DTYPE.itemsize,
        "nodes": (N + R) * (NODE_DTYPE.itemsize + 8),
        "incidence": 4 * (N + 1) + 8 * network.inc_edge.size,
        "records": 8 * T * (N + 2),
        "counters": 16 + 32 + 8,
    }
    parts["total"] = sum(parts.values())
    parts["stencil_width"] = width
    return parts


def as_network(graph: "nx.Graph | Network") -> Network:
    """``graph`` as a :class:`Network`: a given network validated
    (:func:`validate_network`), a graph compiled (:func:`compile_network`)."""
    if isinstance(graph, Network):
        validate_network(graph)
        return graph
    return compile_network(graph)
