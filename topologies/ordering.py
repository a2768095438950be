"""Cell orders for memory locality: reverse Cuthill-McKee and the Morton (Z-order) curve.

The compiled engine touches, per event, the two cells of the fired edge, their
edges, the far ends of those edges, the edges' event-stencil rows and their
leaves in the event queue (one leaf per edge, in edge order; see
:mod:`evsim.state`). On a grid numbered row by row these are a few contiguous
runs of memory; on a mesh whose vertices come out of a Delaunay triangulation
in an arbitrary order they are scattered, and once the state no longer fits in
cache every one of them is a DRAM access. Renumbering the cells so that
neighbours get nearby numbers, and sorting the edges by their cells
(:func:`evsim.network.permute_network`), restores the grid's locality:

``"rcm"``
    Reverse Cuthill-McKee (``scipy.sparse.csgraph.reverse_cuthill_mckee``): a
    breadth-first order from a peripheral cell, reversed; it minimises the
    bandwidth ``max |i - j|`` over edges, so an event's cells lie within one
    "front" of the numbering (about ``sqrt(N)`` cells wide in 2D).
``"morton"``
    The Z-order curve: cell positions quantised to a ``2^b`` lattice per axis and
    sorted by the interleaved bits of their coordinates. Nearby cells share a
    long prefix and so are close in the order at every scale (cache line, page,
    cache), not just within a front.

Orders are opt-in: the default builders keep their cell and edge order, so the
canonical results (which depend on the tie order of simultaneous events) do
not change.
"""
from __future__ import annotations

import numpy as np

from evsim.errors import ConfigError
from evsim.network import Network, permute_network

__all__ = ["ORDERS", "cell_order", "rcm_order", "morton_order", "reorder"]

#: Names accepted by :func:`cell_order` (``None``: keep the order).
ORDERS = ("rcm", "morton")


def rcm_order(network: Network) -> np.ndarray:
    """Reverse Cuthill-McKee order of the cells (edges to reservoirs ignored).

    Returns ``order`` with new cell ``k`` = old cell ``order[k]``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    N = network.cells
    e = network.edges[(network.edges < N).all(axis=1)]
    adj = coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(N, N)).tocsr()
    adj = (adj + adj.T).tocsr()
    return np.asarray(reverse_cuthill_mckee(adj, symmetric_mode=True), dtype=np.int64)


def _spread(x: np.ndarray, dim: int, bits: int) -> np.ndarray:
    """The bits of ``x`` (``bits`` of them) spread ``dim`` apart: bit ``k`` -> bit ``dim k``."""
    out = np.zeros_like(x)
    for k in range(bits):
        out |= ((x >> np.uint64(k)) & np.uint64(1)) << np.uint64(dim * k)
    return out


def morton_order(positions: np.ndarray) -> np.ndarray:
    """Z-order (Morton) curve through the cell ``positions`` (``(N, d)``, d <= 3).

    Coordinates are scaled to ``[0, 2^b)`` with ``b = 63 // d`` (capped at 21) bits
    per axis, by the longest side of their bounding box (the same scale on every
    axis, so the curve's boxes are squares or cubes), and their bits interleaved
    into one key (x in the lowest bit of each group);
    ties (cells in one lattice box) keep their order (stable sort).

    Raises
    ------
    ConfigError
        If positions are missing (NaN) or not 1-3 dimensional.
    """
    x = np.asarray(positions, dtype=float)
    if x.ndim != 2 or not 1 <= x.shape[1] <= 3:
        raise ConfigError(f"morton order needs (N, 1..3) cell positions, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ConfigError("morton order needs every cell's position (some are NaN)")
    d = x.shape[1]
    bits = min(21, 63 // d)
    lo, span = x.min(axis=0), float(np.max(np.ptp(x, axis=0))) or 1.0
    q = np.minimum((x - lo) / span * 2.0 ** bits, 2.0 ** bits - 1).astype(np.uint64)
    key = np.zeros(len(x), dtype=np.uint64)
    for a in range(d):
        key |= _spread(q[:, a], d, bits) << np.uint64(a)
    return np.argsort(key, kind="stable").astype(np.int64)


def cell_order(network: Network, method: str) -> np.ndarray:
    """The cell order ``method`` (one of :data:`ORDERS`) of ``network``.

    Raises
    ------
    ConfigError
        An unknown ``method``.
    """
    if method == "rcm":
        return rcm_order(network)
    if method == "morton":
        return morton_order(network.positions)
    raise ConfigError(f"unknown order {method!r}; use one of {list(ORDERS)} or None")


def reorder(network: Network, method: str | None) -> Network:
    """``network`` renumbered by :func:`cell_order` (``None``: returned as is)."""
    if method is None:
        return network
    return permute_network(network, cell_order(network, method))
