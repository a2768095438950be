"""Validation and compilation of a cell graph into flat arrays.

:func:`compile_network` turns any ``nx.Graph`` with the documented attributes
(see :mod:`evsim.topologies.grids`) into a :class:`Network`: cells first (in
node order), then reservoirs, edges as index pairs, and the CSR incidence of
every cell. Every engine simulates a :class:`Network`, never the graph itself.
Bad input raises :class:`GraphError` (a ``ValueError``) naming the node or edge.

A compiled network's arrays are read-only (``flags.writeable`` is False), and a
:class:`Network` built or changed by hand is checked by :func:`validate_network`
before an engine reads it: the kernel indexes its arrays without bounds checks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import GraphError

__all__ = ["Network", "GraphError", "compile_network", "validate_network", "SOURCE_NODE"]

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

    # CSR incidence of cells (reservoir potentials never change, so they need none)
    ends = edges.ravel()
    eids = np.repeat(np.arange(len(edges), dtype=np.int64), 2)
    keep = ends < ncell
    order = np.argsort(ends[keep], kind="stable")
    inc_edge = eids[keep][order]
    inc_ptr = np.zeros(ncell + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends[keep], minlength=ncell), out=inc_ptr[1:])

    network = Network(nodes=nodes, cells=ncell, reservoirs=len(nodes) - ncell, edges=edges,
                      conductance=np.array(cond, dtype=float), drive=np.array(drive, dtype=float),
                      latency=np.array(lat, dtype=float), volume=volume, reservoir_potential=rpot,
                      initial_potential=init, positions=positions, inc_ptr=inc_ptr,
                      inc_edge=inc_edge)
    for name in _ARRAYS:
        getattr(network, name).flags.writeable = False
    return network


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
