"""Placing cells onto neuromorphic cores, XY routing and network-on-chip traffic.

Cores form a 2D mesh of ``width x height`` cores; core ``c`` sits at
``(x, y) = (c % width, c // width)`` and holds at most ``capacity`` cells
(C-LIF neurons). Every core has four outgoing directed links, numbered

.. math:: \\ell = 4 c + d, \\qquad d \\in \\{0{:}\\,+x\\ (E),\\ 1{:}\\,-x\\ (W),\\ 2{:}\\,+y\\ (N),\\ 3{:}\\,-y\\ (S)\\}.

A packet from core ``a`` to core ``b`` follows dimension-ordered XY routing:
first along x, then along y, so it takes
``h = |x_b - x_a| + |y_b - y_a|`` hops. Reservoirs (boundary values, ground)
hold no state on chip: every core keeps its own copy, so packets to or from a
reservoir never leave the core of their cell (zero hops).

Three placements are provided: :func:`block_mapping` (geometric recursive
coordinate bisection: contiguous blocks of cells, 16 x 16 blocks for a 64 x 64
grid on 4 x 4 cores), :func:`partition_mapping` (recursive spectral graph
bisection refined by Kernighan-Lin, for irregular meshes) and
:func:`metis_mapping` (METIS k-way partitioning through pymetis, extra
``hardware``). The first two split the core mesh and the cells together, so
neighbouring parts land on neighbouring cores; METIS parts are placed on the
cores by the same 2-swap local search the partitioner uses.

The engine side: :func:`build_routing` gives an :class:`evsim.Routing` (per-link
FIFO service time ``s = 1 / bandwidth``) and :func:`with_hop_latency` sets the
edge latency ``tau_e = tau_e^0 + h_e t_hop``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, GraphError
from evsim.network import compile_network
from evsim.optional import require
from evsim.routing import Routing
from evsim.topologies import cell_nodes, cell_positions

from .packets import cell_count, directed_counts

__all__ = ["CoreMesh", "Mapping", "Traffic", "block_mapping", "partition_mapping", "metis_mapping",
           "map_cells",
           "xy_route", "cut_edges", "traffic", "build_routing", "with_hop_latency", "with_noc_timing",
           "DIRECTIONS"]

#: Link directions, in link-id order.
DIRECTIONS = ("E", "W", "N", "S")
_STEP = {0: (1, 0), 1: (-1, 0), 2: (0, 1), 3: (0, -1)}


@dataclass(frozen=True)
class CoreMesh:
    """A ``width x height`` mesh of cores, each holding at most ``capacity`` cells."""

    width: int
    height: int
    capacity: int

    def __post_init__(self):
        for name in ("width", "height", "capacity"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(f"CoreMesh.{name} must be a positive integer, got {v!r}")

    @property
    def cores(self) -> int:
        """Number of cores, ``width * height``."""
        return self.width * self.height

    @property
    def links(self) -> int:
        """Number of link ids (``4 * cores``; links leaving the mesh carry nothing)."""
        return 4 * self.cores

    def coords(self, core: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of core id(s): ``x = c % width``, ``y = c // width``."""
        core = np.asarray(core)
        return core % self.width, core // self.width

    def core_at(self, x: int, y: int) -> int:
        """Core id at mesh position ``(x, y)``: ``y * width + x``."""
        return int(y) * self.width + int(x)

    def link_ends(self, link: int) -> tuple[tuple[int, int], tuple[int, int], str]:
        """``((x, y) from, (x, y) to, direction)`` of a link id."""
        core, d = divmod(int(link), 4)
        x, y = (int(v) for v in self.coords(core))
        sx, sy = _STEP[d]
        return (x, y), (x + sx, y + sy), DIRECTIONS[d]

    def link_exists(self) -> np.ndarray:
        """Boolean mask of link ids that stay inside the mesh."""
        x, y = self.coords(np.arange(self.cores))
        ok = np.empty((self.cores, 4), dtype=bool)
        ok[:, 0] = x < self.width - 1
        ok[:, 1] = x > 0
        ok[:, 2] = y < self.height - 1
        ok[:, 3] = y > 0
        return ok.ravel()


def xy_route(mesh: CoreMesh, src: int, dst: int) -> list[int]:
    """Link ids of the XY route from core ``src`` to core ``dst`` (x first, then y)."""
    for c in (src, dst):
        if not 0 <= c < mesh.cores:
            raise ConfigError(f"core {c} outside the {mesh.width}x{mesh.height} mesh")
    x, y = (int(v) for v in mesh.coords(src))
    x1, y1 = (int(v) for v in mesh.coords(dst))
    route = []
    while x != x1:
        d = 0 if x1 > x else 1
        route.append(4 * mesh.core_at(x, y) + d)
        x += 1 if d == 0 else -1
    while y != y1:
        d = 2 if y1 > y else 3
        route.append(4 * mesh.core_at(x, y) + d)
        y += 1 if d == 2 else -1
    return route


@dataclass(frozen=True)
class Mapping:
    """Cell -> core assignment: ``core[i]`` is the core of cell ``i`` (cell order)."""

    mesh: CoreMesh
    core: np.ndarray
    method: str = "blocks"

    def __post_init__(self):
        core = np.ascontiguousarray(self.core, dtype=np.int64)
        if core.ndim != 1:
            raise ConfigError("Mapping.core must be a 1D array (one core per cell)")
        if core.size and (core.min() < 0 or core.max() >= self.mesh.cores):
            raise ConfigError(f"Mapping.core must hold core ids in [0, {self.mesh.cores})")
        load = np.bincount(core, minlength=self.mesh.cores)
        if load.max(initial=0) > self.mesh.capacity:
            raise ConfigError(f"core {int(load.argmax())} holds {int(load.max())} cells > capacity "
                             f"{self.mesh.capacity}")
        object.__setattr__(self, "core", core)

    @property
    def cells(self) -> int:
        """Number of mapped cells."""
        return self.core.size

    @property
    def cores_used(self) -> int:
        """Number of cores holding at least one cell."""
        return int(np.count_nonzero(np.bincount(self.core, minlength=self.mesh.cores)))

    @property
    def load(self) -> np.ndarray:
        """Cells per core, ``(cores,)``."""
        return np.bincount(self.core, minlength=self.mesh.cores)

    def __repr__(self) -> str:
        return (f"Mapping(method={self.method!r}, cells={self.cells}, "
                f"mesh={self.mesh.width}x{self.mesh.height}, capacity={self.mesh.capacity}, "
                f"cores_used={self.cores_used}, max_load={int(self.load.max(initial=0))})")

    def endpoint_cores(self, edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cores of both endpoints of each edge and a mask of cell-cell edges.

        ``edges`` are node indices with cells ``0..n-1`` first (as in
        :attr:`evsim.Network.edges`); a reservoir endpoint takes the core of
        the other (cell) endpoint.
        """
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if n != self.cells:
            raise ConfigError(f"mapping has {self.cells} cells, network has {n}")
        a, b = edges[:, 0], edges[:, 1]
        both = (a < n) & (b < n)
        if np.any((a >= n) & (b >= n)):
            raise GraphError("an edge joins two reservoirs")
        ca = np.where(a < n, self.core[np.minimum(a, n - 1)], -1)
        cb = np.where(b < n, self.core[np.minimum(b, n - 1)], -1)
        ca = np.where(ca < 0, cb, ca)
        cb = np.where(cb < 0, ca, cb)
        return ca, cb, both

    def edge_hops(self, edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(|dx|, |dy|)`` hops of each edge under XY routing (0 for reservoir edges)."""
        ca, cb, _ = self.endpoint_cores(edges, n)
        xa, ya = self.mesh.coords(ca)
        xb, yb = self.mesh.coords(cb)
        return np.abs(xb - xa), np.abs(yb - ya)

    def to_dict(self) -> dict:
        """Method, mesh, cores used and cells per core (JSON-ready)."""
        return {"method": self.method, "width": self.mesh.width, "height": self.mesh.height,
                "capacity": self.mesh.capacity, "cores_used": self.cores_used,
                "cells_per_core_max": int(self.load.max(initial=0)),
                "cells_per_core_min_used": int(self.load[self.load > 0].min()) if self.cells else 0}


# --- placement ------------------------------------------------------------------

def _check_fits(n: int, mesh: CoreMesh) -> None:
    if n > mesh.cores * mesh.capacity:
        raise ConfigError(f"{n} cells do not fit on {mesh.cores} cores of capacity {mesh.capacity}")
    if n == 0:
        raise ConfigError("no cells to map")


def _bisect_cores(idx: np.ndarray, xr: tuple[int, int], yr: tuple[int, int], mesh: CoreMesh,
                  out: np.ndarray, split) -> None:
    """Assign cells ``idx`` to the core rectangle ``[x0, x1) x [y0, y1)`` recursively.

    The larger side of the rectangle is halved; ``split(idx, axis, k)`` returns
    ``(low, high)`` with ``len(low) == k`` (``low`` goes to the lower cores);
    ``k = round(len(idx) * cores_low / cores)`` keeps every core within capacity.
    """
    (x0, x1), (y0, y1) = xr, yr
    ncores = (x1 - x0) * (y1 - y0)
    if ncores == 1:
        out[idx] = mesh.core_at(x0, y0)
        return
    if idx.size == 0:
        return
    axis = 0 if (x1 - x0) >= (y1 - y0) else 1
    if axis == 0:
        xm = x0 + (x1 - x0) // 2
        low_cores, parts = (xm - x0) * (y1 - y0), (((x0, xm), yr), ((xm, x1), yr))
    else:
        ym = y0 + (y1 - y0) // 2
        low_cores, parts = (x1 - x0) * (ym - y0), ((xr, (y0, ym)), (xr, (ym, y1)))
    k = int(round(idx.size * low_cores / ncores))
    low, high = split(idx, axis, k)
    _bisect_cores(low, *parts[0], mesh, out, split)
    _bisect_cores(high, *parts[1], mesh, out, split)


def block_mapping(positions: np.ndarray, mesh: CoreMesh) -> Mapping:
    """Geometric blocks by recursive coordinate bisection.

    Core-mesh x follows space axis 0 and core-mesh y follows axis 1 (axis 0 for
    1D meshes); each bisection sorts the cells along that axis (ties broken by
    the other axes) and cuts at the fraction of cores on the low side. A
    ``64 x 64`` grid on ``4 x 4`` cores of capacity 256 gives ``16 x 16`` blocks.

    Parameters
    ----------
    positions
        ``(N, dim)`` cell centres in cell order (:func:`evsim.topologies.cell_positions`).
    mesh
        The core mesh.
    """
    pos = np.asarray(positions, dtype=float)
    pos = pos.reshape(len(pos), -1)
    _check_fits(len(pos), mesh)
    dim = pos.shape[1]

    def split(idx, axis, k):
        a = min(axis, dim - 1)
        keys = [pos[idx, d] for d in range(dim) if d != a][::-1] + [pos[idx, a]]
        order = idx[np.lexsort(keys)]
        return order[:k], order[k:]

    out = np.full(len(pos), -1, dtype=np.int64)
    _bisect_cores(np.arange(len(pos)), (0, mesh.width), (0, mesh.height), mesh, out, split)
    return Mapping(mesh, out, "blocks")


def _cell_graph(graph: nx.Graph) -> tuple[list, nx.Graph]:
    cells = cell_nodes(graph)
    index = {c: i for i, c in enumerate(cells)}
    g = nx.Graph()
    g.add_nodes_from(range(len(cells)))
    for u, v, d in graph.edges(data=True):
        if u in index and v in index and u != v:
            g.add_edge(index[u], index[v], weight=float(d.get("conductance", 1.0)))
    return cells, g


def _swap_refine(W, low: np.ndarray, high: np.ndarray, passes: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Kernighan-Lin pair swaps that lower the cut weight and keep both part sizes.

    With ``D_v = E_v - I_v`` (weight from ``v`` to the other part minus weight to
    its own part), swapping ``a`` (low) and ``b`` (high) lowers the cut by
    ``g = D_a + D_b - 2 w_ab``. Each pass takes the candidates in decreasing
    ``D`` and swaps pairs with ``g > 0`` whose neighbourhoods were untouched in
    this pass (so every ``D`` used is current); passes stop when none swaps.
    ``W`` is the symmetric CSR weight matrix over global cell indices.
    """
    low, high = low.copy(), high.copy()
    for _ in range(passes):
        nodes = np.concatenate([low, high])
        sub = W[nodes][:, nodes].tocsr()
        in_low = np.zeros(nodes.size, dtype=bool)
        in_low[: low.size] = True
        to_low = sub @ in_low.astype(float)
        to_high = sub @ (~in_low).astype(float)
        D = np.where(in_low, to_high - to_low, to_low - to_high)
        cand_a = np.argsort(-D[: low.size], kind="stable")
        cand_b = low.size + np.argsort(-D[low.size:], kind="stable")
        touched = np.zeros(nodes.size, dtype=bool)
        swaps = []
        ib = 0
        for a in cand_a:
            if D[a] <= 0 and (ib >= cand_b.size or D[a] + D[cand_b[ib]] <= 0):
                break
            if touched[a]:
                continue
            while ib < cand_b.size and touched[cand_b[ib]]:
                ib += 1
            if ib >= cand_b.size:
                break
            b = cand_b[ib]
            if D[a] + D[b] - 2 * sub[a, b] <= 0:
                continue
            swaps.append((a, b))
            ib += 1
            for v in (a, b):
                touched[v] = True
                touched[sub.indices[sub.indptr[v]:sub.indptr[v + 1]]] = True
        if not swaps:
            break
        for a, b in swaps:
            in_low[a], in_low[b] = False, True
        low, high = nodes[in_low], nodes[~in_low]
    return np.sort(low), np.sort(high)


def _improve_placement(W, core: np.ndarray, mesh: CoreMesh, passes: int = 20) -> np.ndarray:
    """Permute parts among cores to lower the weighted hop distance (2-swap local search).

    Minimizes :math:`\\sum_{p<r} C_{pr}\\,(|x_p - x_r| + |y_p - y_r|)` over the
    assignment of parts to cores, with ``C_pr`` the conductance between the
    cells of parts ``p`` and ``r`` (a proxy of their packet traffic); any
    permutation keeps every core within capacity. Deterministic: swaps are tried
    in core order and taken when they strictly lower the cost.
    """
    import scipy.sparse as sp
    P = mesh.cores
    onehot = sp.csr_matrix((np.ones(core.size), (np.arange(core.size), core)), shape=(core.size, P))
    C = (onehot.T @ W @ onehot).toarray()
    np.fill_diagonal(C, 0.0)
    x, y = mesh.coords(np.arange(P))
    dist = np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])
    place = np.arange(P)  # place[p]: core of part p

    def cost(pl):
        return float((C * dist[np.ix_(pl, pl)]).sum())

    best = cost(place)
    for _ in range(passes):
        improved = False
        for a in range(P):
            for b in range(a + 1, P):
                place[a], place[b] = place[b], place[a]
                c = cost(place)
                if c < best - 1e-12 * max(best, 1.0):
                    best, improved = c, True
                else:
                    place[a], place[b] = place[b], place[a]
        if not improved:
            break
    return place[core]


def partition_mapping(graph: nx.Graph, mesh: CoreMesh, refine: bool = True, place: bool = True,
                      seed: int = 0) -> Mapping:
    """Graph-partitioner placement: recursive spectral bisection + Kernighan-Lin.

    Each bisection orders the cells of the part by the Fiedler vector of the
    conductance-weighted graph Laplacian ``L = D - W`` (second eigenvector,
    ``L v = lambda_2 v``), cuts at the core fraction, then (``refine``) swaps
    pairs across the cut Kernighan-Lin style (:func:`_swap_refine`) to lower
    the cut conductance, which keeps both sides' sizes. The eigenvector's sign
    is chosen so that the low cores get the low coordinates, and (``place``) a
    2-swap local search then permutes the
    parts among the cores so that strongly coupled parts sit close. Parts that
    are disconnected are ordered geometrically instead.

    Parameters
    ----------
    graph
        The simulation graph (cells and reservoirs; reservoirs are ignored).
    mesh
        The core mesh.
    refine
        Kernighan-Lin refinement of every cut.
    place
        Permute the parts among the cores to lower the conductance-weighted hop
        distance (:func:`_improve_placement`).
    seed
        Seed of the eigen-solver (deterministic output).
    """
    import scipy.sparse as sp
    cells, g = _cell_graph(graph)
    _check_fits(len(cells), mesh)
    pos = cell_positions(graph)
    W = nx.to_scipy_sparse_array(g, nodelist=range(len(cells)), weight="weight", format="csr")
    W = sp.csr_matrix(W)

    def split(idx, axis, k):
        a = min(axis, pos.shape[1] - 1)
        coord = pos[idx, a]
        if k <= 0 or k >= idx.size:
            order = idx[np.argsort(coord, kind="stable")]
            return order[:k], order[k:]
        sub = g.subgraph(idx.tolist())
        if idx.size > 2 and nx.is_connected(sub):
            fied = nx.fiedler_vector(sub, weight="weight", method="tracemin_lu", seed=seed)
            nodes = np.fromiter(sub.nodes, dtype=np.int64, count=idx.size)
            # orient the eigenvector (sign is arbitrary) along the space axis of the cut
            if np.dot(fied - fied.mean(), pos[nodes, a] - pos[nodes, a].mean()) < 0:
                fied = -fied
            order = nodes[np.lexsort((nodes, np.round(fied, 12)))]
        else:
            order = idx[np.argsort(coord, kind="stable")]
        low, high = order[:k], order[k:]
        if refine and idx.size > 3:
            low, high = _swap_refine(W, low, high, passes=8)
        return low, high

    out = np.full(len(cells), -1, dtype=np.int64)
    _bisect_cores(np.arange(len(cells)), (0, mesh.width), (0, mesh.height), mesh, out, split)
    if place:
        out = _improve_placement(W, out, mesh)
    return Mapping(mesh, out, "partition")


def _metis_weights(W, scale: int = 1000) -> np.ndarray:
    """Integer METIS edge weights ``w_e = max(1, round(scale g_e / max g))`` of the CSR ``W``."""
    data = np.asarray(W.data, dtype=float)
    if data.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.maximum(1, np.rint(scale * data / data.max())).astype(np.int64)


def _enforce_capacity(W, part: np.ndarray, nparts: int, capacity: int) -> np.ndarray:
    """Move cells out of parts above ``capacity`` into parts below it, greedily by gain.

    While a part ``p`` holds more than ``capacity`` cells, the cell ``v`` of
    ``p`` and the part ``r != p`` with room that maximise the gain
    ``W_{v,r} - W_{v,p}`` (weight to ``r`` minus weight to ``p``; ties: lowest
    cell, then lowest part) moves to ``r``; parts are ``0 .. nparts-1``, empty
    ones included. Deterministic; a no-op when METIS already respected the capacity.
    """
    import scipy.sparse as sp
    part = part.copy()
    while True:
        load = np.bincount(part, minlength=nparts)
        over = np.flatnonzero(load > capacity)
        if over.size == 0:
            return part
        p = int(over[0])
        members = np.flatnonzero(part == p)
        onehot = sp.csr_matrix((np.ones(part.size), (np.arange(part.size), part)),
                               shape=(part.size, nparts))
        to = (W[members] @ onehot).toarray()            # (members, parts) weight to each part
        gain = to - to[:, [p]]
        gain[:, load >= capacity] = -np.inf
        v, r = np.unravel_index(int(np.argmax(gain)), gain.shape)
        part[members[v]] = r


def metis_mapping(graph: nx.Graph, mesh: CoreMesh, seed: int = 0, place: bool = True,
                  weight: str | None = None, ncuts: int = 8, recursive: bool = False) -> Mapping:
    """METIS k-way partition into one balanced part per core (pymetis, extra ``hardware``).

    The cell adjacency (reservoirs dropped) goes to ``pymetis.part_graph`` with
    ``nparts = min(cores, N)``. METIS minimises the cut
    :math:`\\sum_{e \\in \\mathrm{cut}} w_e` with unit weights
    (``weight=None``: the number of cut edges) or, with
    ``weight="conductance"``, integer weights proportional to the conductances,
    :math:`w_e = \\max(1, \\mathrm{round}(1000\\, g_e / \\max g))` (a proxy of
    the packet traffic), subject to part sizes at most :math:`1.03\\, N / n_{parts}`
    (METIS' default load imbalance ``ufactor = 30``; a tighter one makes k-way
    METIS cut far more edges); the best of ``ncuts`` tries is kept. A
    deterministic greedy move (:func:`_enforce_capacity`) then guarantees at
    most ``mesh.capacity`` cells per core. Part ``p`` starts on core ``p``;
    with ``place`` the 2-swap local search of :func:`_improve_placement`
    permutes parts among cores so that strongly coupled parts sit close (the
    placement of ``"partition"``).

    Parameters
    ----------
    graph
        The simulation graph; only its cells and the edges between them are partitioned.
    mesh
        The core mesh whose cores receive one part each.
    seed
        METIS random seed (``options.seed``): the same graph and seed give the
        same mapping.
    place
        Permute the parts among cores to lower the conductance-weighted hop distance.
    weight
        ``None`` (unit edge weights) or ``"conductance"``.
    ncuts
        Number of partitions METIS computes; it keeps the one of lowest cut.
    recursive
        Recursive bisection (``METIS_PartGraphRecursive``) instead of k-way.

    Returns
    -------
    Mapping
        ``method == "metis"``.

    Raises
    ------
    MissingDependency
        Without pymetis (``pip install "evsim[hardware]"``).
    ConfigError
        For an unknown ``weight``.
    """
    pymetis = require("pymetis", extra="hardware", feature="METIS core mapping")
    import scipy.sparse as sp
    if weight not in (None, "conductance"):
        raise ConfigError(f"metis weight must be None or 'conductance', got {weight!r}")
    cells, g = _cell_graph(graph)
    n = len(cells)
    _check_fits(n, mesh)
    W = sp.csr_matrix(nx.to_scipy_sparse_array(g, nodelist=range(n), weight="weight", format="csr"))
    W.sort_indices()
    nparts = min(mesh.cores, n)
    if nparts == 1 or W.nnz == 0:
        part = (np.arange(n) * nparts) // n
    else:
        opts = pymetis.Options(seed=int(seed), ufactor=30, ncuts=int(ncuts))
        adjacency = pymetis.CSRAdjacency(W.indptr.astype(np.int64), W.indices.astype(np.int64))
        _, membership = pymetis.part_graph(
            nparts, adjacency, eweights=_metis_weights(W) if weight else None, options=opts,
            recursive=recursive)
        part = np.asarray(membership, dtype=np.int64)
    part = _enforce_capacity(W, part, nparts, mesh.capacity)
    if place:
        part = _improve_placement(W, part, mesh)
    return Mapping(mesh, part, "metis")


def map_cells(graph: nx.Graph, mesh: CoreMesh, method: str = "blocks", **kwargs) -> Mapping:
    """Map the cells of ``graph`` onto ``mesh`` with ``method`` ``"blocks"``, ``"partition"``
    or ``"metis"`` (keywords go to :func:`partition_mapping` / :func:`metis_mapping`)."""
    if method == "blocks":
        return block_mapping(cell_positions(graph), mesh)
    if method == "partition":
        return partition_mapping(graph, mesh, **kwargs)
    if method == "metis":
        return metis_mapping(graph, mesh, **kwargs)
    raise ConfigError(f"unknown mapping method {method!r}; use 'blocks', 'partition' or 'metis'")


def cut_edges(graph: nx.Graph, mapping: Mapping) -> int:
    """Number of cell-cell edges of ``graph`` whose cells sit on different cores."""
    core = dict(zip(cell_nodes(graph), mapping.core.tolist()))
    return sum(1 for u, v in graph.edges() if u in core and v in core and core[u] != core[v])


# --- traffic ----------------------------------------------------------------------

@dataclass(frozen=True)
class Traffic:
    """Network-on-chip traffic of a run on a mapping.

    ``hops_per_packet = sum_e n_e h_e / P`` over all ``P`` packets (local and
    reservoir packets take 0 hops); ``link_load[l]`` packets crossed link ``l``;
    ``core_sent``/``core_received`` count packets by the core of the sending /
    receiving cell (a reservoir counts on its cell's core).
    """

    packets: int
    hops: int
    remote_packets: int
    link_load: np.ndarray
    core_sent: np.ndarray
    core_received: np.ndarray
    mesh: CoreMesh

    @property
    def hops_per_packet(self) -> float:
        """Mean hops over all packets (0 without packets)."""
        return self.hops / self.packets if self.packets else 0.0

    @property
    def hops_per_remote_packet(self) -> float:
        """Mean hops over the packets that leave their core (0 without any)."""
        return self.hops / self.remote_packets if self.remote_packets else 0.0

    def busiest_link(self) -> dict:
        """The most loaded link (lowest id among ties): id, ends, direction, packets."""
        link = int(np.argmax(self.link_load))
        src, dst, d = self.mesh.link_ends(link)
        return {"link": link, "from": list(src), "to": list(dst), "direction": d,
                "packets": int(self.link_load[link])}

    def summary(self) -> dict:
        """Counts, hops per packet, busiest link, mean load of the used links, per-core traffic."""
        return {"packets": self.packets, "hops": self.hops, "remote_packets": self.remote_packets,
                "hops_per_packet": self.hops_per_packet,
                "hops_per_remote_packet": self.hops_per_remote_packet,
                "busiest_link": self.busiest_link(),
                "link_load_mean_used": float(self.link_load[self.link_load > 0].mean())
                if np.any(self.link_load > 0) else 0.0,
                "core_sent": self.core_sent.tolist(), "core_received": self.core_received.tolist()}


def traffic(result: Any, mapping: Mapping) -> Traffic:
    """Hops, per-core and per-link traffic of a run (``result`` as in :func:`~evsim.analysis.energy.event_counts`).

    Packets on each directed edge follow the XY route from the sender's core to
    the receiver's core; forward/backward counts are
    ``(edge_spikes +- edge_flow) / 2``.
    """
    n = cell_count(result)
    edges = np.asarray(result.edges, dtype=np.int64).reshape(-1, 2)
    fwd, bwd = directed_counts(result)
    ca, cb, both = mapping.endpoint_cores(edges, n)
    C = mapping.mesh.cores
    pair = np.zeros((C, C), dtype=np.int64)        # pair[a, b]: packets core a -> core b
    np.add.at(pair, (ca, cb), fwd)
    np.add.at(pair, (cb, ca), bwd)
    load = np.zeros(mapping.mesh.links, dtype=np.int64)
    hops = 0
    for a, b in zip(*np.nonzero(pair)):
        if a == b:
            continue
        route = xy_route(mapping.mesh, int(a), int(b))
        load[route] += pair[a, b]
        hops += len(route) * int(pair[a, b])
    remote = int(pair.sum() - np.trace(pair))
    return Traffic(packets=int(fwd.sum() + bwd.sum()), hops=hops, remote_packets=remote,
                   link_load=load, core_sent=pair.sum(axis=1), core_received=pair.sum(axis=0),
                   mesh=mapping.mesh)


# --- feeding the engine -------------------------------------------------------------

def build_routing(edges: np.ndarray, cells: int, mapping: Mapping,
                  bandwidth: float | np.ndarray) -> Routing:
    """An :class:`evsim.Routing` of the compiled network's edges over the NoC links.

    Edge ``e`` forward (``edges[e, 0] -> edges[e, 1]``) follows the XY route
    between the cores of its endpoints, backward the reverse XY route; edges to
    reservoirs and edges inside a core get an empty route. Every link serves one
    packet per ``s = 1 / bandwidth`` time units (FIFO), so a packet leaving at
    ``t`` arrives at ``t_K + tau_e`` with ``t_{k+1} = max(t_k, F_l) + s_l``.

    Parameters
    ----------
    edges
        ``(E, 2)`` node indices, cells first (``evsim.compile_network(g).edges``).
    cells
        Number of cells ``N``.
    mapping
        Cell-to-core mapping.
    bandwidth
        Packets per unit of simulated time per link (scalar or one per link id);
        ``inf`` means no congestion.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    bw = np.broadcast_to(np.asarray(bandwidth, dtype=float), (mapping.mesh.links,))
    if np.any(~(bw > 0)):
        raise ConfigError("bandwidth must be > 0 (inf for no congestion)")
    ca, cb, both = mapping.endpoint_cores(edges, cells)
    ptr = [0]
    links: list[int] = []
    cache: dict[tuple[int, int], list[int]] = {}
    for a, b, cc in zip(ca.tolist(), cb.tolist(), both.tolist()):
        for s, d in ((a, b), (b, a)):
            if cc and s != d:
                route = cache.get((s, d))
                if route is None:
                    route = cache[(s, d)] = xy_route(mapping.mesh, s, d)
                links.extend(route)
            ptr.append(len(links))
    service = np.where(np.isinf(bw), 0.0, 1.0 / bw)
    return Routing(np.array(ptr, dtype=np.int64), np.array(links, dtype=np.int64), service)


def with_hop_latency(graph: nx.Graph, mapping: Mapping, hop_latency: float) -> nx.Graph:
    """A copy of ``graph`` whose edge latency is ``tau_e = tau_e^0 + h_e t_hop``.

    ``h_e`` is the XY hop count between the cores of the edge's cells (0 for
    reservoir edges and edges inside a core).
    """
    if not np.isfinite(hop_latency) or hop_latency < 0:
        raise ConfigError(f"hop_latency must be finite and >= 0, got {hop_latency}")
    cells = cell_nodes(graph)
    if len(cells) != mapping.cells:
        raise ConfigError(f"mapping has {mapping.cells} cells, graph has {len(cells)}")
    core = dict(zip(cells, mapping.core.tolist()))
    out = graph.copy()
    for u, v, d in out.edges(data=True):
        if u in core and v in core:
            xa, ya = mapping.mesh.coords(core[u])
            xb, yb = mapping.mesh.coords(core[v])
            h = int(abs(xb - xa) + abs(yb - ya))
            if h:
                d["latency"] = float(d.get("latency", 0.0)) + h * hop_latency
    return out


def with_noc_timing(graph: nx.Graph, mapping: Mapping, hop_latency: float = 0.0,
                    bandwidth: float = math.inf) -> tuple[nx.Graph, Routing | None]:
    """The graph and routing that simulate ``graph`` on ``mapping`` with NoC timing.

    A non-zero ``hop_latency`` adds ``h_e t_hop`` to every edge latency
    (:func:`with_hop_latency`); a finite ``bandwidth`` (packets per unit time
    per link) routes the packets through FIFO links (:func:`build_routing`).
    Pass both to :func:`evsim.simulate` (``graph``, ``routing=``).

    Returns
    -------
    (networkx.Graph, Routing or None)
        ``graph`` itself without a hop latency; no routing with an infinite
        bandwidth.
    """
    timed = with_hop_latency(graph, mapping, hop_latency) if hop_latency != 0 else graph
    if not math.isfinite(bandwidth):
        return timed, None
    net = compile_network(timed)
    return timed, build_routing(net.edges, net.cells, mapping, bandwidth)
