"""Cell-centred finite-volume grids in 1, 2 and 3 dimensions as NetworkX graphs.

Every builder returns an ``nx.Graph`` whose nodes are C-LIF neurons (cells) and
boundary reservoirs, with the attributes :func:`evsim.simulate` reads:

Node attributes
    ``kind``        ``"cell"`` or ``"reservoir"``.
    ``volume``      cell volume ``V_i > 0`` (cells).
    ``pos``         cell centre, or boundary-face centre for a reservoir (tuple).
    ``potential``   fixed potential of a reservoir (Dirichlet value, ground).
    ``source``      optional constant mass injection rate ``S_i`` (cells).
Edge attributes
    ``conductance`` ``g_ij = kappa * A_face / d_ij > 0``.
    ``latency``     optional packet delay ``tau_ij >= 0``.

Cells are the integer nodes ``0 .. N-1`` in C (row-major) order of the grid
index ``(i, j, k)``: the x index is slowest, ``node = (i * ny + j) * nz + k``. Grids are
cell-centred: along an axis of length ``L`` with ``n`` cells, cell ``i`` sits at
``(i + 1/2) h`` with ``h = L / n``. A Dirichlet reservoir sits on the boundary
face, a distance ``h / 2`` from the cell centre, so its edge has conductance
``2 kappa A / h``. The graph discretizes

.. math:: V_i \\frac{du_i}{dt} = -\\sum_j g_{ij} (u_i - u_j) - \\lambda V_i u_i + S_i ,

the finite-volume form of ``u_t = kappa Lap u - lambda u + f``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import product
from typing import Union

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, GraphError

__all__ = ["grid_1d", "grid_2d", "grid_3d", "grid", "cell_positions", "cell_nodes", "SIDES"]

#: Boundary specification of one side: a number or ``callable(pos) -> number``
#: (Dirichlet value), ``"neumann"`` (zero flux) or ``"periodic"``.
Boundary = Union[float, str, Callable[[np.ndarray], float]]

#: Side names per axis: (low side, high side).
SIDES = (("left", "right"), ("bottom", "top"), ("front", "back"))


def cell_nodes(graph: nx.Graph) -> list:
    """Cell nodes of ``graph`` in simulation order (node iteration order)."""
    return [n for n, d in graph.nodes(data=True) if d.get("kind", "cell") == "cell"]


def cell_positions(graph: nx.Graph) -> np.ndarray:
    """Cell centres as an ``(N, dim)`` float array, in simulation (cell) order.

    Raises
    ------
    GraphError
        If a cell has no ``pos`` attribute (names the cell).
    """
    rows = []
    for n in cell_nodes(graph):
        pos = graph.nodes[n].get("pos")
        if pos is None:
            raise GraphError(f"cell {n!r} has no 'pos' attribute")
        rows.append(np.atleast_1d(np.asarray(pos, dtype=float)))
    return np.array(rows, dtype=float).reshape(len(rows), -1)


def check_physics(diffusivity: float, decay: float = 0.0, latency: float = 0.0) -> None:
    """Validate the physical parameters every builder takes.

    Raises
    ------
    ConfigError
        If ``diffusivity`` is not positive and finite, or ``decay`` or
        ``latency`` is negative or not finite (the message names the parameter).
    """
    if not np.isfinite(diffusivity) or diffusivity <= 0:
        raise ConfigError(f"diffusivity must be positive and finite, got {diffusivity}")
    if not np.isfinite(decay) or decay < 0:
        raise ConfigError(f"decay must be >= 0, got {decay}")
    if not np.isfinite(latency) or latency < 0:
        raise ConfigError(f"latency must be >= 0, got {latency}")


def is_finite_number(value: object) -> bool:
    """Whether ``value`` converts to a finite float."""
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _side_specs(boundary: Boundary | Mapping[str, Boundary], dim: int) -> dict[str, Boundary]:
    names = [s for axis in SIDES[:dim] for s in axis]
    if isinstance(boundary, Mapping):
        unknown = set(boundary) - set(names)
        if unknown:
            raise ConfigError(f"unknown boundary side(s) {sorted(unknown)}; sides are {names}")
        specs = {s: boundary.get(s, 0.0) for s in names}
    else:
        specs = {s: boundary for s in names}
    for axis in SIDES[:dim]:
        lo, hi = (specs[s] for s in axis)
        for s in axis:
            v = specs[s]
            if isinstance(v, str) and v not in ("neumann", "periodic"):
                raise ConfigError(f"boundary {s!r}: unknown condition {v!r} "
                                 "(use a number, a callable, 'neumann' or 'periodic')")
            if not isinstance(v, str) and not callable(v) and not is_finite_number(v):
                raise ConfigError(f"boundary {s!r}: Dirichlet value must be finite, got {v!r}")
        if (lo == "periodic") != (hi == "periodic"):
            raise ConfigError(f"periodic boundary must be set on both {axis[0]!r} and {axis[1]!r}")
    return specs


def _field(value, pos: np.ndarray) -> float:
    return float(value(pos)) if callable(value) else float(value)


def grid(
    cells: Sequence[int],
    lengths: Sequence[float],
    diffusivity: float = 1.0,
    boundary: Boundary | Mapping[str, Boundary] = 0.0,
    decay: float = 0.0,
    source: float | Callable[[np.ndarray], float] | None = None,
    latency: float = 0.0,
) -> nx.Graph:
    """Cell-centred finite-volume grid in ``len(cells)`` dimensions.

    Parameters
    ----------
    cells
        Number of cells along each axis ``(nx[, ny[, nz]])``.
    lengths
        Domain size along each axis; the domain is ``[0, Lx] x [0, Ly] x ...``.
    diffusivity
        ``kappa > 0`` in ``u_t = kappa Lap u``.
    boundary
        One condition for every side, or a mapping side -> condition with sides
        ``left/right`` (x), ``bottom/top`` (y), ``front/back`` (z); missing sides
        default to Dirichlet 0. A condition is a number or ``callable(pos)``
        (Dirichlet value at the face centre ``pos``; one reservoir node per
        boundary face), ``"neumann"`` (zero flux: no edge) or ``"periodic"``.
    decay
        ``lambda >= 0``: every cell gets an edge of conductance ``lambda V_i``
        to a ``"ground"`` reservoir at potential 0.
    source
        Constant source density ``f`` (number or ``callable(pos)``); each cell
        gets ``source = f V_i`` (mass per unit time).

        A source is a hidden reservoir: :func:`evsim.compile_network` adds one
        internal reservoir node ``"__source__"`` (after the graph's own
        reservoirs) with a zero-conductance edge to every cell that has a
        ``source``, and the engine delivers ``S_i`` on that edge as packets of
        mass ``q``. So the source's packets are counted in
        ``Result.spikes``, ``edge_spikes`` and ``node_spikes`` (as sent by
        ``"__source__"``), and the mass it injects is in the reservoir ledger:
        ``Result.boundary_mass`` is the net mass into *all* reservoirs,
        Dirichlet, ground and source, so with sources it includes ``-sum_i S_i
        t`` (e.g. an insulated grid with ``source=1`` run to ``t = 1`` has
        ``boundary_mass = -1``). Subtract the source edges' packets to count
        only the exchange between cells and boundaries.
    latency
        Packet latency ``tau >= 0`` on every edge.

    Returns
    -------
    networkx.Graph
        Cells ``0 .. N-1`` in C order of the grid index with the first axis
        slowest (``index = (i * ny + j) * nz + k``); reservoirs are named
        ``("bc", side, face_index)`` and ``"ground"``. ``graph.graph`` holds
        ``dim``, ``shape``, ``lengths``, ``diffusivity`` and ``spacing``.

    Raises
    ------
    ConfigError
        Bad sizes (``cells``/``lengths``), physical parameters or boundary
        specification (unknown side or condition, non-finite Dirichlet value,
        periodic on one side only); the message names the parameter or side.
    """
    shape = tuple(int(c) for c in cells)
    lengths = tuple(float(x) for x in lengths)
    dim = len(shape)
    if not 1 <= dim <= 3 or len(lengths) != dim:
        raise ConfigError(f"cells and lengths must have the same length, 1 to 3, got "
                          f"cells={shape}, lengths={lengths}")
    if any(c < 1 for c in shape):
        raise ConfigError(f"every axis needs at least one cell, got cells={shape}")
    if any(not np.isfinite(x) or x <= 0 for x in lengths):
        raise ConfigError(f"lengths must be positive and finite, got {lengths}")
    check_physics(diffusivity, decay, latency)
    specs = _side_specs(boundary, dim)
    h = np.array(lengths) / np.array(shape)
    volume = float(np.prod(h))
    face_area = [volume / h[a] for a in range(dim)]

    g = nx.Graph(dim=dim, shape=shape, lengths=lengths, diffusivity=float(diffusivity),
                 spacing=tuple(float(x) for x in h))
    index = np.arange(int(np.prod(shape))).reshape(shape)
    for idx in product(*(range(n) for n in shape)):
        pos = (np.array(idx) + 0.5) * h
        attrs = dict(kind="cell", volume=volume, pos=tuple(pos))
        if source is not None:
            attrs["source"] = _field(source, pos) * volume
        g.add_node(int(index[idx]), **attrs)

    edge = dict(latency=float(latency)) if latency > 0 else {}
    for a in range(dim):
        g_face = diffusivity * face_area[a] / h[a]
        lo_side, hi_side = SIDES[a]
        # interior faces along axis a
        lo = [slice(None)] * dim
        hi = [slice(None)] * dim
        lo[a], hi[a] = slice(0, -1), slice(1, None)
        for u, v in zip(index[tuple(lo)].ravel(), index[tuple(hi)].ravel()):
            g.add_edge(int(u), int(v), conductance=g_face, **edge)
        first = [slice(None)] * dim
        last = [slice(None)] * dim
        first[a], last[a] = 0, -1
        if specs[lo_side] == "periodic":
            if shape[a] > 1:  # wrap-around faces (two faces between the cells if n == 2)
                for u, v in zip(index[tuple(last)].ravel(), index[tuple(first)].ravel()):
                    old = g.edges[int(u), int(v)]["conductance"] if g.has_edge(int(u), int(v)) else 0.0
                    g.add_edge(int(u), int(v), conductance=old + g_face, **edge)
            continue
        for side, sl, offset in ((lo_side, first, 0.0), (hi_side, last, lengths[a])):
            value = specs[side]
            if value == "neumann":
                continue
            for f, c in enumerate(index[tuple(sl)].ravel()):
                pos = np.array(g.nodes[int(c)]["pos"])
                pos[a] = offset
                node = ("bc", side, f)
                g.add_node(node, kind="reservoir", potential=_field(value, pos), pos=tuple(pos))
                g.add_edge(int(c), node, conductance=2.0 * g_face, **edge)
    if decay > 0:
        g.add_node("ground", kind="reservoir", potential=0.0)
        for c in range(index.size):
            g.add_edge(c, "ground", conductance=decay * volume, **edge)
    return g


def grid_1d(cells: int = 100, length: float = 1.0, diffusivity: float = 1.0,
            left: Boundary = 0.0, right: Boundary = 0.0, **kwargs) -> nx.Graph:
    """1D grid of ``cells`` cells on ``[0, length]`` (unit cross-section).

    Cell ``i`` sits at ``(i + 1/2) h``, ``h = length / cells``, volume ``h``;
    interior edges have conductance ``kappa / h``, Dirichlet edges ``2 kappa / h``.
    ``left``/``right`` take a number (Dirichlet), ``"neumann"`` or
    ``"periodic"``; other keywords as in :func:`grid`.

    Examples
    --------
    >>> g = grid_1d(cells=4, length=1.0, diffusivity=0.1)
    >>> g.number_of_nodes(), g.number_of_edges()
    (6, 5)
    """
    return grid((cells,), (length,), diffusivity, {"left": left, "right": right}, **kwargs)


def grid_2d(cells: int | tuple[int, int] = 64, length: float | tuple[float, float] = 1.0,
            diffusivity: float = 1.0, boundary: Boundary | Mapping[str, Boundary] = 0.0,
            **kwargs) -> nx.Graph:
    """2D grid on ``[0, Lx] x [0, Ly]``; cell ``(i, j)`` is node ``i * ny + j``.

    Sides are ``left/right`` (x = 0, Lx) and ``bottom/top`` (y = 0, Ly).
    See :func:`grid` for the parameters.
    """
    shape = (cells, cells) if np.isscalar(cells) else tuple(cells)
    lengths = (length, length) if np.isscalar(length) else tuple(length)
    return grid(shape, lengths, diffusivity, boundary, **kwargs)


def grid_3d(cells: int | tuple[int, int, int] = 16, length: float | tuple[float, float, float] = 1.0,
            diffusivity: float = 1.0, boundary: Boundary | Mapping[str, Boundary] = 0.0,
            **kwargs) -> nx.Graph:
    """3D grid on a box; sides ``left/right``, ``bottom/top``, ``front/back``.

    See :func:`grid` for the parameters.
    """
    shape = (cells,) * 3 if np.isscalar(cells) else tuple(cells)
    lengths = (length,) * 3 if np.isscalar(length) else tuple(length)
    return grid(shape, lengths, diffusivity, boundary, **kwargs)
