"""Validation and compilation of a cell graph into flat arrays.

:func:`compile_network` turns any ``nx.Graph`` with the documented attributes
(see :mod:`evsim.topologies.grids`) into a :class:`Network`: cells first (in
node order), then reservoirs, edges as index pairs, and the CSR incidence of
every cell. Every engine simulates a :class:`Network`, never the graph itself.
Bad input raises :class:`GraphError` (a ``ValueError``) naming the node or edge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .errors import GraphError

__all__ = ["Network", "GraphError", "compile_network", "SOURCE_NODE"]

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

    return Network(nodes=nodes, cells=ncell, reservoirs=len(nodes) - ncell, edges=edges,
                   conductance=np.array(cond, dtype=float), drive=np.array(drive, dtype=float),
                   latency=np.array(lat, dtype=float), volume=volume, reservoir_potential=rpot,
                   initial_potential=init, positions=positions, inc_ptr=inc_ptr, inc_edge=inc_edge)
