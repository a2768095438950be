"""Cell graphs from simplicial meshes (triangles in 2D, tetrahedra in 3D).

This module turns any conforming simplicial mesh into the C-LIF cell graph that
:func:`evsim.simulate` reads. It is the common core of
:mod:`evsim.topologies.voronoi` (2D point sets in polygons),
:mod:`evsim.topologies.tetra` (3D boxes and balls) and
:mod:`evsim.topologies.meshfile` (meshes read by meshio).

Discretization: vertex-centred finite volumes
----------------------------------------------
Every mesh *vertex* carries one unknown. A vertex whose boundary condition is
Dirichlet becomes a reservoir node; every other vertex becomes a cell (a C-LIF
neuron). Mesh edges become graph edges. The graph discretizes

.. math:: V_i \\frac{du_i}{dt} = -\\sum_j g_{ij} (u_i - u_j) - \\lambda V_i u_i + S_i ,

the finite-volume form of ``u_t = kappa Lap u - lambda u + f``. Two consistent
choices of ``(g, V)`` are offered (``scheme``):

``"p1"`` (default for triangles)
    ``g_ij = -K_ij``, the off-diagonal of the P1 finite-element stiffness matrix
    ``K_ij = kappa sum_T |T| grad(phi_i) . grad(phi_j)``, and the lumped P1 mass
    ``V_i = sum_{T ni i} |T| / (d + 1)`` (barycentric dual cell). The graph is
    then exactly the mass-lumped P1 finite-element method, whose nodal error is
    ``O(h^2)`` on any shape-regular mesh, and volumes are always positive. In 2D
    the stiffness is the cotangent formula ``g_ij = kappa (cot a_ij + cot b_ij) / 2``
    and equals the Voronoi two-point flux ``kappa |sigma_ij| / |x_i - x_j|``
    (``sigma_ij`` the Voronoi face dual to the Delaunay edge ``ij``), so it is
    non-negative exactly when the triangulation is Delaunay (``a + b <= pi``)
    and, on boundary edges, the opposite angle is at most ``pi / 2``.
``"voronoi"`` (default for tetrahedra)
    The two-point flux on the circumcentric (Voronoi) dual,
    ``g_ij = kappa |sigma_ij| / |x_i - x_j|``, and the dual cell volume
    ``V_i = sum_j |sigma_ij| |x_i - x_j| / (2 d)`` (a sum of pyramids, clipped to
    the mesh). In 3D the P1 stiffness of a Delaunay mesh is *not* sign-definite
    (slivers give large negative off-diagonals), but the Voronoi face of every
    interior Delaunay edge is a convex polygon, so ``g_ij >= 0``: this is the
    admissible finite-volume scheme of Eymard, Gallouet and Herbin. ``|sigma|``
    and ``V`` are summed from signed per-simplex pieces (edge midpoint, facet
    circumcentres, simplex circumcentre), so the same code handles meshes from
    files. In 2D this ``g`` equals the P1 one.

Negative conductances (non-Delaunay meshes, obtuse boundary angles) cannot be
simulated as packets of positive mass and are rejected with a :class:`~evsim.errors.MeshError`
naming the worst edge (``negative="raise"``) or dropped (``negative="clip"``,
which loses consistency on those edges). Edges between two reservoirs carry no
cell flux and are dropped; conductances below ``1e-12`` of the largest are
treated as exact zeros (right angles) and dropped.

Boundary conditions are set per boundary *tag* (a named set of boundary facets,
e.g. a gmsh physical group): a number or ``callable(pos)`` is a Dirichlet value
(one reservoir per boundary vertex, ``potential = value(vertex position)``), and
``"neumann"`` is zero flux (no edge). A vertex on several tags takes Dirichlet
over Neumann, and among Dirichlet tags the first in the ``boundary`` mapping.
Boundary facets that no tag lists (tag ``"boundary"``) take the single
condition when ``boundary`` is one condition; a ``boundary`` mapping must name
them, so an incompletely tagged mesh is an error rather than silently Dirichlet 0.

Tolerances are relative to the mesh (its extent, or the element's longest
edge), and meshes of extreme size are computed on coordinates divided by a
power of two (:func:`unit_scale`): a mesh scaled by ``c`` gives volumes
``c^d V`` and conductances ``c^(d-2) g`` to round-off, or a
:class:`~evsim.errors.MeshError` when these leave the float64 range.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import TypedDict, Union, Unpack

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, GraphError, MeshError

from .grids import check_physics, is_finite_number

__all__ = ["simplex_graph", "simplex_cells", "SimplexCells", "Discretization", "MeshOptions",
           "validate_mesh", "boundary_facets", "simplex_volumes",
           "edge_weights", "graph_mesh", "seeded_graph", "unit_scale", "unique_rows", "DEFAULT_TAG", "Condition"]

#: Boundary condition of one tag: Dirichlet number, ``callable(pos)``, or ``"neumann"``.
Condition = Union[float, str, Callable[[np.ndarray], float]]

#: A source density: a number or ``callable(pos)`` (see :func:`simplex_graph`).
Source = Union[float, Callable[[np.ndarray], float], None]


class Discretization(TypedDict, total=False):
    """Keywords every mesh builder passes on to :func:`simplex_graph` (documented there):
    ``scheme``, ``negative``, ``decay``, ``source``, ``latency``."""

    scheme: str
    negative: str
    decay: float
    source: Source
    latency: float


class MeshOptions(Discretization, total=False):
    """:class:`Discretization` and the mesh's own keywords, ``tags`` and ``orient``: what
    :func:`simplex_graph` and :func:`~evsim.topologies.fastmesh.simplex_network` take
    after ``diffusivity`` and ``boundary``."""

    tags: Mapping[str, np.ndarray] | None
    orient: bool


#: Tag given to boundary facets that no tag names.
DEFAULT_TAG = "boundary"

_NAMES = {2: "triangle", 3: "tetrahedron"}


def simplex_volumes(points: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Signed simplex volumes ``det[x_1 - x_0, ..., x_d - x_0] / d!``."""
    x = points[simplices]
    d = x.shape[2]
    jac = x[:, 1:, :] - x[:, :1, :]
    return np.linalg.det(jac) / (2.0 if d == 2 else 6.0)


def unique_rows(rows: np.ndarray, return_inverse: bool = False, return_counts: bool = False):
    """``np.unique(rows, axis=0, ...)`` for non-negative integer rows, in ``O(n log n)`` on int64 keys.

    Each row ``(r_0, ..., r_{k-1})`` is packed into the integer
    ``sum_a r_a b^(k-1-a)`` with ``b = max + 1``; this map is strictly increasing in
    the lexicographic order of rows, so the unique keys come out in the same order as
    ``np.unique(axis=0)`` sorts the rows, and the result (rows, inverse, counts) is
    identical. When ``b^k`` does not fit in int64 (e.g. 4 columns of more than
    ~55,000 vertices) the key is the row's rank in a lexicographic ``np.lexsort``
    instead. Both avoid the
    structured (void) view ``np.unique`` sorts for ``axis=0``, which costs ~10x more
    on a million-element mesh.
    """
    rows = np.asarray(rows)
    n, k = rows.shape
    base = int(rows.max()) + 1 if rows.size else 1
    if rows.size == 0 or rows.min() < 0:
        return np.unique(rows, axis=0, return_inverse=return_inverse, return_counts=return_counts)
    if k * np.log2(max(base, 2)) >= 62:
        # too wide to pack: the lexicographic rank of each row (a stable lexsort) is the key
        order = np.lexsort(rows.T[::-1])
        sorted_rows = rows[order]
        step = np.empty(n, dtype=bool)
        step[0] = True
        step[1:] = np.any(sorted_rows[1:] != sorted_rows[:-1], axis=1)
        key = np.empty(n, dtype=np.int64)
        key[order] = np.cumsum(step) - 1
        uniq = sorted_rows[step]
        out = np.unique(key, return_inverse=return_inverse, return_counts=return_counts)
    else:
        key = np.zeros(n, dtype=np.int64)
        for a in range(k):
            key = key * base + rows[:, a].astype(np.int64)
        out = np.unique(key, return_inverse=return_inverse, return_counts=return_counts)
        keys = out[0] if isinstance(out, tuple) else out
        uniq = np.empty((len(keys), k), dtype=rows.dtype)
        rest = keys.copy()
        for a in range(k - 1, -1, -1):
            uniq[:, a] = rest % base
            rest //= base
    if not isinstance(out, tuple):
        return uniq
    extra = list(out[1:])
    if return_inverse:
        extra[0] = extra[0].reshape(-1)
    return (uniq, *extra)


def unit_scale(points: np.ndarray) -> float:
    """A power of two ``s`` such that ``points / s`` has an extent safe for float64 geometry.

    ``s = 1`` when the extent of ``points`` (largest coordinate range) is in
    ``[2^-64, 2^64]``, where squared lengths, volumes and circumcentre systems
    of any element stay far inside the float64 range; otherwise ``s`` is the
    power of two that brings the extent into ``[1, 2)``. Dividing by a power
    of two is exact, so results scale back exactly by powers of ``s``.

    Raises
    ------
    MeshError
        If the extent of the coordinates overflows (coordinates near the
        largest float).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        extent = float(np.max(np.ptp(points, axis=0)))
    if not np.isfinite(extent):
        raise MeshError(f"coordinates too large: the mesh extent overflows float64 (points up to "
                        f"{float(np.max(np.abs(points))):.3g}); rescale the mesh")
    if extent == 0.0 or 2.0 ** -64 <= extent <= 2.0 ** 64:
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(extent)[1]) - 1))


def validate_mesh(points: np.ndarray, simplices: np.ndarray, orient: bool = False,
                  rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Check a simplicial mesh and return ``(points, simplices)`` cleaned.

    Unreferenced points are removed (simplices are re-indexed). 3D points of a
    planar triangle mesh (constant z) are reduced to 2D.

    Parameters
    ----------
    points
        ``(P, d)`` vertex coordinates, ``d`` in {2, 3}.
    simplices
        ``(M, d + 1)`` vertex indices (triangles in 2D, tetrahedra in 3D).
    orient
        If true, simplices with negative orientation are re-ordered to positive
        orientation (for generators that do not orient elements); if false, a
        mesh mixing both orientations is rejected as *inverted*.
    rtol
        Relative tolerance for coincident points (closer than ``rtol`` times
        the extent of the mesh) and degenerate simplices (``|volume| <= rtol
        l^d`` with ``l`` the longest edge of the simplex). Both tests are
        scale-invariant: a mesh scaled by any factor passes or fails alike.

    Raises
    ------
    MeshError
        Empty mesh, bad shapes or indices, non-finite or overflowing
        coordinates, duplicate points, degenerate (zero-volume or sliver) or
        inverted simplices, facets shared by more than two simplices
        (overlapping or non-manifold mesh).
    """
    points = np.asarray(points, dtype=float)
    simplices = np.asarray(simplices)
    if simplices.size == 0:
        raise MeshError("empty mesh: no triangle or tetrahedron elements (empty domain?)")
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] not in (2, 3):
        raise MeshError(f"points must be an (P, 2) or (P, 3) array, got shape {points.shape}")
    if simplices.ndim != 2 or simplices.shape[1] not in (3, 4):
        raise MeshError(f"simplices must be (M, 3) triangles or (M, 4) tetrahedra, "
                         f"got shape {simplices.shape}")
    if not np.issubdtype(simplices.dtype, np.integer):
        if not np.all(np.equal(np.mod(simplices, 1), 0)):
            raise MeshError("simplices must hold integer vertex indices")
    simplices = simplices.astype(np.int64)
    d = simplices.shape[1] - 1
    if simplices.min() < 0 or simplices.max() >= len(points):
        raise MeshError(f"simplex vertex index out of range [0, {len(points)}): "
                         f"min {simplices.min()}, max {simplices.max()}")
    if not np.all(np.isfinite(points)):
        bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))[0]
        raise MeshError(f"non-finite coordinates at point {bad}: {points[bad]}")
    if d == 2 and points.shape[1] == 3:
        z = points[:, 2]
        if np.ptp(z[np.unique(simplices)]) > rtol * np.max(np.ptp(points[:, :2], axis=0)):
            raise MeshError("triangle mesh is not planar (z varies): surface meshes in 3D "
                             "are not supported")
        points = points[:, :2]
    if d == 3 and points.shape[1] == 2:
        raise MeshError("tetrahedra need 3D points, got 2D coordinates")
    # drop unreferenced points
    used = np.unique(simplices)
    if len(used) < len(points):
        remap = -np.ones(len(points), dtype=np.int64)
        remap[used] = np.arange(len(used))
        points, simplices = points[used], remap[simplices]
    # repeated vertex inside one simplex
    srt = np.sort(simplices, axis=1)
    rep = np.flatnonzero(np.any(srt[:, 1:] == srt[:, :-1], axis=1))
    if rep.size:
        raise MeshError(f"degenerate {_NAMES[d]}: {rep.size} element(s) repeat a vertex, "
                         f"first element {rep[0]} = {simplices[rep[0]].tolist()}")
    # duplicate points (closer than rtol * extent), on coordinates of a safe scale
    from scipy.spatial import cKDTree

    unit = points / unit_scale(points)
    r = rtol * (float(np.max(np.ptp(unit, axis=0))) or 1.0)
    pairs = cKDTree(unit).query_pairs(r=r, output_type="ndarray")
    if len(pairs):
        i, j = pairs[0]
        raise MeshError(f"duplicate points: {len(pairs)} pair(s) of mesh vertices coincide, "
                         f"first vertices {i} and {j} at {points[i].tolist()}")
    # duplicate elements
    uniq, counts = unique_rows(srt, return_counts=True)
    if np.any(counts > 1):
        raise MeshError(f"duplicate {_NAMES[d]}: vertices {uniq[counts > 1][0].tolist()} "
                         "appear in more than one element")
    vol = simplex_volumes(unit, simplices)
    x = unit[simplices]
    longest = np.max([np.linalg.norm(x[:, a] - x[:, b], axis=1)
                      for a, b in combinations(range(d + 1), 2)], axis=0)
    tiny = np.abs(vol) <= rtol * longest ** d
    if np.any(tiny):
        k = int(np.flatnonzero(tiny)[0])
        raise MeshError(f"degenerate {_NAMES[d]}: {int(tiny.sum())} element(s) have zero "
                         f"{'area' if d == 2 else 'volume'} (collinear/coplanar vertices, or a "
                         f"sliver: |volume| <= {rtol:g} * longest edge^{d}), first element {k} = "
                         f"{simplices[k].tolist()} at {points[simplices[k]].tolist()}")
    neg = vol < 0
    if np.any(neg):
        if orient:
            simplices = simplices.copy()
            simplices[neg, :2] = simplices[neg, 1::-1]
        elif not np.all(neg):
            minority = neg if neg.sum() <= (~neg).sum() else ~neg
            k = int(np.flatnonzero(minority)[0])
            raise MeshError(f"inverted {_NAMES[d]}: {int(minority.sum())} of {len(vol)} elements "
                             f"have the opposite orientation to the rest (tangled mesh), first "
                             f"element {k} = {simplices[k].tolist()}; pass orient=True if the "
                             "mesh generator does not orient elements")
        else:  # consistently negative (clockwise) mesh: flip all
            simplices = simplices.copy()
            simplices[:, :2] = simplices[:, 1::-1]
    facets, counts = _facet_counts(simplices)
    if np.any(counts > 2):
        raise MeshError(f"non-manifold or overlapping mesh: facet {facets[counts > 2][0].tolist()} "
                         f"is shared by {int(counts.max())} elements")
    return points, simplices


def _all_facets(simplices: np.ndarray) -> np.ndarray:
    d1 = simplices.shape[1]
    return np.sort(np.concatenate([np.delete(simplices, k, axis=1) for k in range(d1)]), axis=1)


def _facet_counts(simplices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return unique_rows(_all_facets(simplices), return_counts=True)


def boundary_facets(simplices: np.ndarray) -> np.ndarray:
    """Facets (edges in 2D, triangles in 3D) that belong to exactly one simplex.

    Returns
    -------
    numpy.ndarray
        ``(K, d)`` sorted vertex indices of the boundary facets.
    """
    facets, counts = _facet_counts(np.asarray(simplices, dtype=np.int64))
    return facets[counts == 1]


def _solve(matrices: np.ndarray, rhs: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Per-element ``np.linalg.solve(matrices, rhs)`` (``(M, k, k)``, ``(M, k, r)``).

    Raises
    ------
    MeshError
        If the system of some element is singular or its solution not finite
        (a degenerate element, a sliver); names the first such element of
        ``simplices`` (``(M, d + 1)``) and the count.
    """
    try:
        out = np.linalg.solve(matrices, rhs)
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        for m in range(len(matrices)):
            try:
                out[m] = np.linalg.solve(matrices[m], rhs[m])
            except np.linalg.LinAlgError:
                continue
    bad = np.flatnonzero(~np.all(np.isfinite(out.reshape(len(out), -1)), axis=1))
    if len(bad):
        k = int(bad[0])
        raise MeshError(f"degenerate {_NAMES[simplices.shape[1] - 1]} (sliver): {len(bad)} "
                        f"element(s) have a singular geometry system, first element {k} = "
                        f"{simplices[k].tolist()}; remove or remesh it")
    return out


def _circumcentres(x: np.ndarray, simplices: np.ndarray) -> np.ndarray:
    """Circumcentres of simplices ``x`` of shape ``(M, k + 1, d)`` (``k`` = simplex dim).

    The centre is ``x_0 + a^T c`` with ``a`` the edge vectors from ``x_0`` and
    ``(a a^T) c = diag(a a^T) / 2``; ``simplices`` names the elements in errors.
    """
    base = x[:, 0, :]
    a = x[:, 1:, :] - base[:, None, :]                       # (M, k, d)
    rhs = 0.5 * np.einsum("mkd,mkd->mk", a, a)             # (M, k)
    gram = np.einsum("mkd,mld->mkl", a, a)                 # (M, k, k)
    coef = _solve(gram, rhs[..., None], simplices)[..., 0]  # (M, k)
    return base + np.einsum("mk,mkd->md", coef, a)


def edge_weights(points: np.ndarray, simplices: np.ndarray, scheme: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-simplex edge weights and vertex volumes (before multiplying by ``kappa``).

    Parameters
    ----------
    points, simplices
        A validated, positively oriented mesh (see :func:`validate_mesh`).
    scheme
        ``"p1"`` or ``"voronoi"`` (see the module docstring).

    Returns
    -------
    pairs : ``(E, 2)`` int array
        Unique vertex pairs ``i < j`` (mesh edges).
    weight : ``(E,)`` float array
        ``w_ij`` with ``g_ij = kappa w_ij``: ``-K_ij / kappa`` (``"p1"``) or
        ``|sigma_ij| / |x_i - x_j|`` (``"voronoi"``), summed over simplices.
    volume : ``(P,)`` float array
        Vertex (dual cell) volumes.

    Notes
    -----
    The geometry is computed on ``points / s`` (:func:`unit_scale`, a power of
    two, 1 for ordinary extents) and scaled back exactly: ``w = s^(d-2) w_unit``
    and ``V = s^d V_unit``,
    so a mesh scaled by ``c`` has weights ``c^(d-2) w`` and volumes ``c^d V``
    to round-off, at any scale whose results are representable.

    Raises
    ------
    MeshError
        A degenerate element (names it), or weights or volumes that overflow
        or underflow float64 (coordinates too large or too small).
    """
    m, d1 = simplices.shape
    d = d1 - 1
    s = unit_scale(points)
    points = points / s
    x = points[simplices]                                  # (M, d+1, d)
    vol = simplex_volumes(points, simplices)
    local = list(combinations(range(d1), 2))
    w = np.empty((m, len(local)))
    volume = np.zeros(len(points))
    if scheme == "p1":
        aug = np.concatenate([x, np.ones((m, d1, 1))], axis=2)     # rows [x_i, 1]
        eye = np.broadcast_to(np.eye(d1), aug.shape)
        inv = _solve(aug, eye, simplices)                          # phi_i = inv[:d, i] . x + inv[d, i]
        grad = np.swapaxes(inv[:, :d, :], 1, 2)                    # (M, d+1, d)
        for e, (a, b) in enumerate(local):
            w[:, e] = -vol * np.einsum("md,md->m", grad[:, a], grad[:, b])
        np.add.at(volume, simplices.ravel(), np.repeat(vol / d1, d1))
    elif scheme == "voronoi":
        cc = _circumcentres(x, simplices)
        for e, (a, b) in enumerate(local):
            pa, pb = x[:, a], x[:, b]
            mid = 0.5 * (pa + pb)
            vec = pb - pa
            length = np.linalg.norm(vec, axis=1)
            others = [k for k in range(d1) if k not in (a, b)]
            if d == 2:
                (k,) = others
                # signed distance from the edge midpoint to the circumcentre, towards vertex k
                normal = np.stack([-vec[:, 1], vec[:, 0]], axis=1) / length[:, None]
                side = np.sign(np.einsum("md,md->m", x[:, k] - mid, normal))
                dual = side * np.einsum("md,md->m", cc - mid, normal)       # |sigma| piece
            else:
                k, l = others
                ck = _circumcentres(x[:, [a, b, k]], simplices)
                cl = _circumcentres(x[:, [a, b, l]], simplices)
                area2 = (np.cross(ck - mid, cc - mid) + np.cross(cc - mid, cl - mid))
                ori = np.sign(np.einsum("md,md->m", np.cross(x[:, k] - pa, x[:, l] - pa), vec))
                dual = ori * np.einsum("md,md->m", area2, vec) / (2.0 * length)
            w[:, e] = dual / length
            piece = dual * length / (2.0 * d)
            np.add.at(volume, simplices[:, a], piece)
            np.add.at(volume, simplices[:, b], piece)
    else:
        raise ConfigError(f"unknown scheme {scheme!r}; use 'p1' or 'voronoi'")
    ends = np.array(local)
    pairs = np.sort(simplices[:, ends].reshape(-1, 2), axis=1)
    uniq, inverse = unique_rows(pairs, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=w.ravel(), minlength=len(uniq))
    with np.errstate(over="ignore", under="ignore"):
        weight_scaled = weight * np.float64(s) ** (d - 2)
        volume_scaled = volume * np.float64(s) ** d
    for what, unit, scaled in (("conductance", weight, weight_scaled),
                               ("volume", volume, volume_scaled)):
        lost = np.flatnonzero(~np.isfinite(scaled)
                              | ((unit != 0) & (np.abs(scaled) < np.finfo(float).tiny)))
        if len(lost):
            problem = "underflow" if np.isfinite(scaled[lost[0]]) else "overflow"
            raise MeshError(f"coordinates out of range: {len(lost)} {what}(s) {problem} float64 "
                            f"for a mesh of extent about {s:.3g} in {d}D ({what} ~ extent^"
                            f"{d - 2 if what == 'conductance' else d}); rescale the coordinates")
    return uniq, weight_scaled, volume_scaled


def _conditions(boundary: Condition | Mapping[str, Condition], tags: list[str]
                ) -> dict[str, Condition]:
    if isinstance(boundary, Mapping):
        unknown = set(boundary) - set(tags)
        if unknown:
            raise ConfigError(f"unknown boundary tag(s) {sorted(unknown)}; this mesh has tags {tags}")
        ordered = list(boundary) + [t for t in tags if t not in boundary]
        specs = {t: boundary.get(t, 0.0) for t in ordered}
    else:
        specs = {t: boundary for t in tags}
    for t, v in specs.items():
        if isinstance(v, str):
            if v != "neumann":
                raise ConfigError(f"boundary {t!r}: unknown condition {v!r} "
                                 "(use a number, a callable or 'neumann')")
        elif not callable(v) and not is_finite_number(v):
            raise ConfigError(f"boundary {t!r}: Dirichlet value must be finite, got {v!r}")
    return specs


@dataclass(eq=False)
class SimplexCells:
    """The cell graph of a simplicial mesh as arrays (what :func:`simplex_cells` returns).

    Vertex ``v`` of the cleaned mesh is cell ``cell_of[v]`` (cells numbered in vertex
    order) or, where ``cell_of[v] == -1``, a Dirichlet reservoir with tag
    ``vertex_tag[v]``. ``pairs[active]`` are the graph's mesh edges (vertex pairs
    ``i < j`` in the lexicographic order of :func:`edge_weights`), with conductance
    ``kappa * weight``.
    """

    points: np.ndarray         #: (P, d) cleaned vertex coordinates
    simplices: np.ndarray      #: (M, d + 1) positively oriented elements
    scheme: str                #: "p1" or "voronoi"
    specs: dict                #: boundary tag -> condition, in priority order
    vertex_tag: dict           #: boundary vertex -> the tag whose condition it takes
    cell_of: np.ndarray        #: (P,) cell index of each vertex, -1 for a Dirichlet vertex
    pairs: np.ndarray          #: (K, 2) mesh edges (vertex pairs i < j)
    weight: np.ndarray         #: (K,) w_ij (exact zeros where below 1e-12 of the largest)
    volume: np.ndarray         #: (P,) dual cell volumes
    active: np.ndarray         #: (K,) bool: the edge is in the graph
    clipped: int               #: edges dropped for a negative weight (negative="clip")
    spacing: float             #: median mesh edge length
    diffusivity: float         #: kappa (conductance = kappa * weight)
    decay: float               #: lambda (an edge of conductance lambda V_i to "ground")
    latency: float             #: tau of every edge
    source: np.ndarray | None  #: (N,) S_i = f(x_i) V_i per cell (cell order), or None

    @property
    def conductance(self) -> np.ndarray:
        """``kappa w_ij`` of the graph's mesh edges (``pairs[active]``)."""
        return float(self.diffusivity) * self.weight[self.active]

    @property
    def dim(self) -> int:
        """Spatial dimension ``d``."""
        return self.simplices.shape[1] - 1

    @property
    def cells(self) -> int:
        """Number of cells ``N``."""
        return int(np.count_nonzero(self.cell_of >= 0))

    def reservoir_potential(self, v: int) -> float:
        """Dirichlet value of boundary vertex ``v`` (a reservoir)."""
        value = self.specs[self.vertex_tag[v]]
        return float(value(self.points[v])) if callable(value) else float(value)


def simplex_cells(
    points: np.ndarray,
    simplices: np.ndarray,
    diffusivity: float = 1.0,
    boundary: Condition | Mapping[str, Condition] = 0.0,
    tags: Mapping[str, np.ndarray] | None = None,
    scheme: str = "auto",
    negative: str = "raise",
    decay: float = 0.0,
    source: Source = None,
    latency: float = 0.0,
    orient: bool = False,
) -> SimplexCells:
    """Validate a mesh and compute its cells, reservoirs, edge weights and sources as arrays.

    The array core shared by :func:`simplex_graph` (which builds the NetworkX graph
    from it) and :func:`evsim.topologies.fastmesh.simplex_network` (which builds the
    compiled :class:`~evsim.network.Network` directly, without a graph). Parameters,
    checks and errors as in :func:`simplex_graph`; ``decay`` and ``latency`` are
    checked and kept, ``source`` evaluated at the cells.
    """
    check_physics(diffusivity, decay, latency)
    if negative not in ("raise", "clip"):
        raise ConfigError(f"negative must be 'raise' or 'clip', got {negative!r}")
    raw_points = np.asarray(points, dtype=float)
    n_raw = len(raw_points) if raw_points.ndim == 2 else 0
    # remember the original indices so tags can be re-indexed after cleaning
    simplices_in = np.asarray(simplices)
    points, simplices = validate_mesh(raw_points, simplices_in, orient=orient)
    d = simplices.shape[1] - 1
    used = np.unique(simplices_in.astype(np.int64))
    remap = -np.ones(n_raw, dtype=np.int64)
    remap[used] = np.arange(len(used))
    if scheme == "auto":
        scheme = "p1" if d == 2 else "voronoi"

    # boundary facets and their tags
    bfacets = boundary_facets(simplices)
    facet_tag = np.full(len(bfacets), DEFAULT_TAG, dtype=object)
    tag_names: list[str] = []
    if tags:
        index = {tuple(f): k for k, f in enumerate(bfacets.tolist())}
        for t, facets in tags.items():
            facets = np.asarray(facets, dtype=np.int64).reshape(-1, d)
            if facets.size and (facets.min() < 0 or facets.max() >= n_raw):
                raise MeshError(f"boundary tag {t!r}: facet vertex index out of range")
            mapped = np.sort(remap[facets], axis=1) if facets.size else facets
            hit = 0
            for f in mapped.tolist():
                k = index.get(tuple(f))
                if k is not None and facet_tag[k] == DEFAULT_TAG:
                    facet_tag[k] = t
                    hit += 1
            tag_names.append(str(t))
    untagged = int(np.sum(facet_tag == DEFAULT_TAG))
    if untagged or not tag_names:
        tag_names.append(DEFAULT_TAG)
    specs = _conditions(boundary, tag_names)
    if untagged and isinstance(boundary, Mapping) and DEFAULT_TAG not in boundary:
        k = int(np.flatnonzero(facet_tag == DEFAULT_TAG)[0])
        raise MeshError(f"{untagged} of {len(bfacets)} boundary facets belong to no tag (tag "
                        f"{DEFAULT_TAG!r}), first facet {bfacets[k].tolist()} at "
                        f"{points[bfacets[k]].tolist()}; tag them in the mesh or give them a "
                        f"condition explicitly, e.g. boundary={{..., {DEFAULT_TAG!r}: 'neumann'}}")

    # condition of each vertex: Dirichlet (first in mapping order) over Neumann
    vertex_tag: dict[int, str] = {}
    order = {t: k for k, t in enumerate(specs)}
    for facet, t in zip(bfacets.tolist(), facet_tag):
        dirichlet = specs[t] != "neumann"
        for v in facet:
            old = vertex_tag.get(v)
            if old is None:
                vertex_tag[v] = t
                continue
            old_dir = specs[old] != "neumann"
            if (dirichlet and not old_dir) or (dirichlet == old_dir and order[t] < order[old]):
                vertex_tag[v] = t

    pairs, weight, volume = edge_weights(points, simplices, scheme)
    scale = float(np.max(np.abs(weight)))
    weight = np.where(np.abs(weight) <= 1e-12 * scale, 0.0, weight)

    dirichlet = np.zeros(len(points), dtype=bool)
    for v, t in vertex_tag.items():
        dirichlet[v] = specs[t] != "neumann"
    n_cells = int(np.count_nonzero(~dirichlet))
    if n_cells == 0:
        raise MeshError("empty domain: every mesh vertex is a Dirichlet boundary vertex, "
                         "so there is no cell to simulate (refine the mesh)")
    cell_of = np.full(len(points), -1, dtype=np.int64)
    cell_of[~dirichlet] = np.arange(n_cells)
    bad_volume = np.flatnonzero(~dirichlet & (volume <= 0))
    if len(bad_volume):
        v = int(bad_volume[0])
        raise MeshError(f"non-positive dual volume {volume[v]:.3g} at vertex {v} "
                         f"{points[v].tolist()} ({len(bad_volume)} vertices) with scheme "
                         f"{scheme!r}: obtuse boundary elements; use scheme='p1'")
    kind = ~dirichlet
    active = (kind[pairs[:, 0]] | kind[pairs[:, 1]]) & (weight != 0.0)
    neg = active & (weight < 0)
    if np.any(neg):
        if negative == "raise":
            k = int(np.argmin(np.where(neg, weight, np.inf)))
            i, j = pairs[k]
            raise MeshError(
                f"negative conductance: {int(neg.sum())} of {int(active.sum())} edges have "
                f"g < 0 (non-Delaunay mesh or obtuse boundary elements); worst edge between "
                f"vertices {i} {points[i].tolist()} and {j} {points[j].tolist()}, "
                f"g = {diffusivity * weight[k]:.3g}. Remesh (Delaunay, better quality), try "
                f"scheme='voronoi' for Delaunay tetrahedra, or pass negative='clip'")
        active &= ~neg
    lengths = np.linalg.norm(points[pairs[:, 1]] - points[pairs[:, 0]], axis=1)
    cell_v = np.flatnonzero(~dirichlet)
    if source is None:
        rate = None
    elif callable(source):
        rate = np.array([float(source(p)) for p in points[cell_v]]) * volume[cell_v]
    else:
        rate = float(source) * volume[cell_v]
    return SimplexCells(points=points, simplices=simplices, scheme=scheme, specs=specs,
                        vertex_tag=vertex_tag, cell_of=cell_of, pairs=pairs, weight=weight,
                        volume=volume, active=active, clipped=int(neg.sum()),
                        spacing=float(np.median(lengths)), diffusivity=diffusivity, decay=decay,
                        latency=latency, source=rate)


def simplex_graph(points: np.ndarray, simplices: np.ndarray, diffusivity: float = 1.0,
                  boundary: Condition | Mapping[str, Condition] = 0.0, *, name: str = "mesh",
                  **options: Unpack[MeshOptions]) -> nx.Graph:
    """Vertex-centred finite-volume cell graph of a triangle or tetrahedron mesh.

    Parameters
    ----------
    points
        ``(P, d)`` vertex coordinates (``d`` = 2 or 3).
    simplices
        ``(M, d + 1)`` vertex indices: triangles (2D) or tetrahedra (3D).
    diffusivity
        ``kappa > 0`` in ``u_t = kappa Lap u``.
    boundary
        One condition for every boundary facet, or a mapping tag -> condition.
        A condition is a number or ``callable(pos)`` (Dirichlet: the boundary
        vertex becomes a reservoir at that potential) or ``"neumann"`` (zero
        flux). Tags of ``tags`` missing from the mapping are Dirichlet 0.
        Boundary facets that no tag lists form the tag ``"boundary"``, which
        never defaults: with a mapping it must be named (e.g.
        ``{"inlet": 1.0, "boundary": "neumann"}``), else a
        :class:`~evsim.errors.MeshError` gives the count of untagged facets.
    tags
        Mapping tag name -> ``(K, d)`` array of boundary facets (vertex indices
        into ``points``), e.g. gmsh physical groups. Boundary facets not listed
        belong to the tag ``"boundary"``. Facets that are not on the mesh
        boundary are ignored.
    scheme
        ``"p1"`` (P1 stiffness, lumped mass), ``"voronoi"`` (circumcentric
        two-point flux and dual volumes) or ``"auto"`` (``"p1"`` for triangles,
        ``"voronoi"`` for tetrahedra). See the module docstring.
    negative
        ``"raise"`` (default): a negative conductance is a :class:`~evsim.errors.MeshError`;
        ``"clip"``: such edges are dropped.
    decay
        ``lambda >= 0``: every cell gets an edge of conductance ``lambda V_i``
        to a ``"ground"`` reservoir at potential 0.
    source
        Constant source density ``f`` (number or ``callable(pos)``); each cell
        gets ``source = f V_i``, fed by a hidden reservoir whose packets and
        mass count in ``spikes`` and ``boundary_mass`` (see
        :func:`~evsim.topologies.grids.grid`).
    latency
        Packet latency ``tau >= 0`` on every edge.
    orient
        Re-orient negatively oriented simplices instead of rejecting mixed
        orientation (see :func:`validate_mesh`).
    name
        Stored as ``graph.graph["name"]``.

    Returns
    -------
    networkx.Graph
        Cells are the integers ``0 .. N-1`` (non-Dirichlet vertices in mesh
        vertex order) with ``kind="cell"``, ``volume``, ``pos``; reservoirs are
        ``("bc", tag, vertex)`` with ``potential`` and ``pos``. ``graph.graph``
        holds ``dim``, ``diffusivity``, ``name``, ``scheme``, ``spacing`` (median
        edge length), and the mesh: ``points`` (P, d), ``simplices`` (M, d+1),
        ``vertex_nodes`` (node label of each vertex) and ``boundary_tags``.

    Raises
    ------
    MeshError
        Invalid mesh (see :func:`validate_mesh`), a tag facet outside the mesh,
        untagged boundary facets that a ``boundary`` mapping does not name, no
        cell left, non-positive volumes, volumes or conductances out of the
        float64 range, or negative conductances with ``negative="raise"`` (the
        message names the vertex, element, facet or edge).
    ConfigError
        Bad physical parameters, ``scheme`` or ``negative``, unknown boundary
        tags or conditions (the message names the parameter or tag).

    Examples
    --------
    >>> pts = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]])
    >>> tri = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    >>> g = simplex_graph(pts, tri, diffusivity=1.0)
    >>> [d["kind"] for _, d in g.nodes(data=True)].count("cell")
    1
    """
    m = simplex_cells(points, simplices, diffusivity=diffusivity, boundary=boundary, **options)
    points, volume, pairs = m.points, m.volume, m.pairs
    g = nx.Graph(dim=m.dim, diffusivity=float(diffusivity), name=name, scheme=m.scheme)
    node_of: list = [None if c < 0 else c for c in m.cell_of.tolist()]
    for c, v in enumerate(np.flatnonzero(m.cell_of >= 0).tolist()):
        attrs = dict(kind="cell", volume=float(volume[v]), pos=tuple(float(p) for p in points[v]))
        if m.source is not None:
            attrs["source"] = m.source[c]
        g.add_node(node_of[v], **attrs)
    for v in np.flatnonzero(m.cell_of < 0).tolist():
        node = ("bc", m.vertex_tag[v], v)
        g.add_node(node, kind="reservoir", pos=tuple(float(p) for p in points[v]),
                   potential=m.reservoir_potential(v))
        node_of[v] = node
    edge = dict(latency=float(m.latency)) if m.latency > 0 else {}
    for (i, j), g_ij in zip(pairs[m.active], m.conductance):
        g.add_edge(node_of[i], node_of[j], conductance=float(g_ij), **edge)
    if m.decay > 0:
        g.add_node("ground", kind="reservoir", potential=0.0)
        for c in range(m.cells):
            g.add_edge(c, "ground", conductance=m.decay * g.nodes[c]["volume"], **edge)
    g.graph.update(spacing=m.spacing, points=points, simplices=m.simplices,
                   vertex_nodes=node_of, boundary_tags=list(m.specs), clipped_edges=m.clipped)
    return g

def graph_mesh(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray, list]:
    """The mesh a cell graph was built from, as stored by :func:`simplex_graph`.

    Parameters
    ----------
    graph
        A cell graph from ``voronoi_2d``, ``tetra_box``/``tetra_ball``,
        ``mesh_graph`` or ``simplex_graph``.

    Returns
    -------
    points : ``(P, d)`` float array
        Mesh vertices.
    simplices : ``(M, d + 1)`` int array
        Triangles or tetrahedra.
    vertex_nodes : list
        Graph node (cell or reservoir) of each mesh vertex.

    Raises
    ------
    GraphError
        If ``graph.graph`` lacks ``points``, ``simplices`` or ``vertex_nodes``.
    """
    info = graph.graph
    missing = [k for k in ("points", "simplices", "vertex_nodes") if k not in info]
    if missing:
        raise GraphError(f"graph carries no mesh (graph.graph has no {missing}): build it with "
                         "voronoi_2d, tetra_box/ball, mesh_graph or simplex_graph")
    return (np.asarray(info["points"], dtype=float), np.asarray(info["simplices"]),
            list(info["vertex_nodes"]))


def seeded_graph(points: np.ndarray, simplices: np.ndarray, tags: Mapping[str, np.ndarray],
                 name: str, seed: int | None, diffusivity: float,
                 boundary: Condition | Mapping[str, Condition], options: Discretization) -> nx.Graph:
    """:func:`simplex_graph` of a generated mesh, with its generator's ``seed`` in
    ``graph.graph["seed"]``: the last step of ``voronoi_2d``, ``tetra_box`` and ``tetra_ball``."""
    g = simplex_graph(points, simplices, diffusivity, boundary, tags=tags, name=name, **options)
    g.graph["seed"] = seed
    return g
