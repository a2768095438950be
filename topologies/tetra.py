"""3D tetrahedral cell graphs: Voronoi cells of Delaunay tetrahedra in a box or a ball.

:func:`tetrahedralize_box` and :func:`tetrahedralize_ball` place points (a
boundary lattice / spiral at spacing ``h`` and jittered, optionally
Lloyd-relaxed interior points with a ``seed``) and return their Delaunay
tetrahedralization; :func:`tetra_box` and :func:`tetra_ball` turn it into a
cell graph with :func:`~evsim.topologies.simplicial.simplex_graph`.

Choice of discretization
------------------------
Each mesh vertex is a cell. In 3D the P1 stiffness matrix of a Delaunay mesh
is not sign-definite: sliver tetrahedra (four nearly co-spherical points, which
Delaunay does not exclude) give large negative off-diagonal entries, i.e.
negative conductances. The default ``scheme="voronoi"`` therefore uses the
two-point flux on the Voronoi dual,

.. math:: g_{ij} = \\kappa \\frac{|\\sigma_{ij}|}{|x_i - x_j|}, \\qquad
          V_i = \\sum_j \\frac{|\\sigma_{ij}| \\, |x_i - x_j|}{6},

where ``sigma_ij`` is the Voronoi face dual to the Delaunay edge ``ij`` (the
polygon through the circumcentres of the tetrahedra around the edge) and
``V_i`` the Voronoi cell volume. Voronoi faces of interior Delaunay edges are
convex polygons, so ``g_ij >= 0`` by construction, slivers are harmless (a
sliver only moves a Voronoi vertex slightly), and the face is orthogonal to
the edge, which makes the two-point flux consistent (admissible mesh in the
sense of Eymard, Gallouet and Herbin). With ``jitter=0`` the box mesh is the
structured Kuhn (Freudenthal) subdivision, whose graph is exactly the 7-point
finite-volume stencil (diagonal edges get ``g = 0`` and are dropped).

The generated domains are convex, so the mesh is the convex hull of the points;
boundary vertices lie on the boundary (box faces, or the sphere). Flat
tetrahedra that Qhull emits for cospherical points are dropped without opening
the boundary: the boundary facets are exactly the faces of the convex hull
(checked; a :class:`~evsim.errors.MeshError` otherwise), so every facet of a
box face carries that face's tag and an insulated face stays insulated. Box faces are
tagged ``left/right`` (x), ``bottom/top`` (y), ``front/back`` (z) as in
:func:`~evsim.topologies.grids.grid_3d`; the ball surface is ``"outer"``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import permutations, product
from typing import Unpack

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, MeshError

from .grids import SIDES
from .simplicial import (Condition, Discretization, _circumcentres, boundary_facets, seeded_graph,
                         simplex_volumes)

__all__ = ["tetrahedralize_box", "tetrahedralize_ball", "tetra_box", "tetra_ball"]


def _kuhn(shape: tuple[int, int, int]) -> np.ndarray:
    """Kuhn subdivision of a lattice of ``shape`` cubes: 6 tetrahedra per cube."""
    idx = np.arange(np.prod(np.array(shape) + 1)).reshape(tuple(np.array(shape) + 1))
    corner = np.array(list(product(*(range(n) for n in shape))))   # (C, 3)
    tets = []
    for perm in permutations(range(3)):
        c = corner.copy()
        verts = [idx[tuple(c.T)]]
        for a in perm:
            c = c.copy()
            c[:, a] += 1
            verts.append(idx[tuple(c.T)])
        tets.append(np.stack(verts, axis=1))
    return np.concatenate(tets)


def _delaunay(points: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Delaunay tetrahedra of ``points`` without flat elements, watertight.

    Qhull triangulates a Delaunay cell with more than four cospherical
    vertices (frequent on the lattice boundary of a box) into tetrahedra that
    may include flat ones (four coplanar, cocircular vertices, zero volume).
    They are dropped. A flat element lying in a face of the convex hull leaves
    the boundary on the hull; one that crosses the domain (e.g. a diagonal
    quadrilateral at a box edge) would leave a zero-width crack whose two sides
    split the quadrilateral along different diagonals, so its facets would
    become spurious boundary facets. Such a crack is closed by
    re-triangulating the cospherical cell on one side of it (preferably the one
    whose vertices are all on the hull) by pulling one of its vertices over its
    boundary, with the quadrilateral split as on the other side. Every
    triangulation of a cospherical cell has the same Voronoi dual, so the
    conductances and volumes are unchanged (to round-off; edges between
    Dirichlet vertices only are not in the graph at all).

    Raises
    ------
    MeshError
        If the result is not watertight: the boundary facets do not have the
        area of the convex hull of ``points`` (a crack is left).
    """
    from scipy.spatial import Delaunay

    delaunay = Delaunay(points)
    tets = delaunay.simplices
    vol = simplex_volumes(points, tets)
    h = np.median(np.linalg.norm(points[tets[:, 1]] - points[tets[:, 0]], axis=1))
    tiny = rtol * h ** 3
    flat = tets[np.abs(vol) <= tiny]
    tets = tets[np.abs(vol) > tiny]
    vol = vol[np.abs(vol) > tiny]
    tets[vol < 0] = tets[vol < 0][:, [1, 0, 2, 3]]
    hull_area = _area(points, delaunay.convex_hull)
    if not np.isclose(_area(points, boundary_facets(tets)), hull_area, rtol=rtol, atol=0):
        mesh = _Tetrahedra(points, tets, rtol * h)
        on_hull = np.zeros(len(points), dtype=bool)
        on_hull[delaunay.convex_hull] = True
        for f in flat:
            mesh.close_crack(f, on_hull, tiny)
        tets = mesh.tetrahedra()
    area = _area(points, boundary_facets(tets))
    if not np.isclose(area, hull_area, rtol=rtol, atol=0):
        raise MeshError(f"tetrahedralization is not watertight: its boundary facets have area "
                        f"{area:.12g}, the convex hull {hull_area:.12g} (a crack left by dropping "
                        "degenerate elements)")
    return tets


def _area(points: np.ndarray, triangles: np.ndarray) -> float:
    x = points[triangles]
    return float(0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1).sum())


def _facets_of(tet) -> list[tuple]:
    return [tuple(sorted(tet[:k] + tet[k + 1:])) for k in range(4)]


class _Tetrahedra:
    """Kept tetrahedra with their facet owners and circumcentres, for local re-triangulation."""

    def __init__(self, points: np.ndarray, tets: np.ndarray, tol: float):
        self.points, self.tol = points, tol
        self.tets = [tuple(t) for t in tets.tolist()]
        self.centre: dict[int, np.ndarray] = {}
        self.alive = [True] * len(self.tets)
        self.owner: dict[tuple, set[int]] = {}
        for t, tet in enumerate(self.tets):
            for facet in _facets_of(tet):
                self.owner.setdefault(facet, set()).add(t)

    def tetrahedra(self) -> np.ndarray:
        return np.array([t for t, a in zip(self.tets, self.alive) if a], dtype=np.int64)

    def _centre(self, t: int) -> np.ndarray:
        if t not in self.centre:
            tet = np.array([self.tets[t]])
            self.centre[t] = _circumcentres(self.points[tet], tet)[0]
        return self.centre[t]

    def _same_sphere(self, t: int, u: int) -> bool:
        return bool(np.linalg.norm(self._centre(t) - self._centre(u)) <= self.tol)

    def close_crack(self, flat: np.ndarray, on_hull: np.ndarray, tiny: float) -> None:
        """Close the crack left by the dropped flat tetrahedron ``flat``, if it left one.

        The facets of ``flat`` split into two pairs, one per side of its plane,
        each pair triangulating the same quadrilateral. The cospherical cell on
        one side (the tetrahedra joined through facets whose circumcentre is
        the one of the tetrahedra at the crack) is re-triangulated, by pulling
        one of its vertices off the quadrilateral, so that it meets the
        quadrilateral with the other side's pair. A flat tetrahedron in a face
        of the hull, or a crack of another form, is left alone (the caller's
        watertightness test reports the latter).
        """
        facets = _facets_of(flat.tolist())
        if any(len(self.owner.get(facet, ())) != 1 for facet in facets):
            return
        x = self.points[flat]
        normal = max((np.cross(x[a] - x[c], x[b] - x[c])
                      for a, b, c in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3))),
                     key=np.linalg.norm)
        sides: dict[bool, list[tuple[tuple, int]]] = {True: [], False: []}
        for facet in facets:
            (t,) = self.owner[facet]
            apex = (set(self.tets[t]) - set(facet)).pop()
            sides[bool(np.dot(self.points[apex] - x[0], normal) > 0)].append((facet, t))
        if len(sides[True]) != 2:
            return
        clusters = {}
        for side, touching in sides.items():
            (_, first), (_, second) = touching
            if not self._same_sphere(first, second):
                return
            cluster, todo = {first, second}, [first, second]
            while todo:
                for facet in _facets_of(list(self.tets[todo.pop()])):
                    for t in self.owner[facet] - cluster:
                        if self._same_sphere(t, first):
                            cluster.add(t)
                            todo.append(t)
            clusters[side] = sorted(cluster)
        side = min(clusters, key=lambda s: (not on_hull[[self.tets[t] for t in clusters[s]]].all(),
                                           len(clusters[s])))
        cell = np.array([self.tets[t] for t in clusters[side]])
        swap = {facet for facet, _ in sides[side]}
        hull = [f for f in boundary_facets(cell).tolist() if tuple(f) not in swap]
        hull += [list(f) for f, _ in sides[not side]]
        apex = min(set(cell.ravel().tolist()) - set(flat.tolist()))
        new = np.array([[apex] + f for f in hull if apex not in f], dtype=np.int64).reshape(-1, 4)
        vol = simplex_volumes(self.points, new)
        new, vol = new[np.abs(vol) > tiny], vol[np.abs(vol) > tiny]
        new[vol < 0] = new[vol < 0][:, [1, 0, 2, 3]]
        if not np.isclose(np.abs(vol).sum(), np.abs(simplex_volumes(self.points, cell)).sum(),
                          rtol=1e-9, atol=0):
            return
        for t in clusters[side]:
            self.alive[t] = False
            for facet in _facets_of(list(self.tets[t])):
                self.owner[facet].discard(t)
        centre = self._centre(clusters[side][0])
        for tet in new.tolist():
            t = len(self.tets)
            self.tets.append(tuple(tet))
            self.centre[t] = centre
            self.alive.append(True)
            for facet in _facets_of(tet):
                self.owner.setdefault(facet, set()).add(t)


def _box_tags(points: np.ndarray, tets: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Boundary facets of a box mesh (2D or 3D) by side, sides named as in ``grid``."""
    facets = boundary_facets(tets)
    tags: dict[str, np.ndarray] = {}
    tol = 1e-9 * lengths.max()
    for a in range(points.shape[1]):
        for side, value in zip(SIDES[a], (0.0, lengths[a])):
            on = np.all(np.abs(points[facets][:, :, a] - value) <= tol, axis=1)
            tags[side] = facets[on]
    return tags


def box_shape(cells: int | Sequence[int], lengths: float | Sequence[float], dim: int
              ) -> tuple[tuple[int, ...], np.ndarray]:
    """Interval counts per axis and side lengths of a lattice box mesh (``dim`` 2 or 3), checked.

    Raises
    ------
    ConfigError
        Not one or ``dim`` counts, fewer than one interval per axis, or side lengths
        that are not ``dim`` positive finite numbers (the message names ``cells`` or the
        lengths).
    """
    shape = (int(cells),) * dim if np.isscalar(cells) else tuple(int(c) for c in cells)
    lengths = np.array((lengths,) * dim if np.isscalar(lengths) else lengths, dtype=float)
    count, what = {2: ("two", "rectangle"), 3: ("three", "box")}[dim]
    if len(shape) != dim or min(shape) < 1:
        raise ConfigError(f"cells must be one or {count} interval counts, at least one per axis, "
                          f"got cells={shape}")
    if lengths.shape != (dim,) or np.any(~np.isfinite(lengths)) or np.any(lengths <= 0):
        raise ConfigError(f"empty domain: {what} lengths must be positive, got {lengths.tolist()}")
    return shape, lengths


def tetrahedralize_box(cells: int | Sequence[int] = 12, lengths: float | Sequence[float] = 1.0,
                       jitter: float = 0.25, seed: int | None = 0
                       ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Tetrahedral mesh of the box ``[0, Lx] x [0, Ly] x [0, Lz]``.

    Vertices are the lattice with ``cells`` intervals per axis; interior
    vertices are moved by a uniform random offset of up to ``jitter * h`` per
    coordinate (``seed``), and the mesh is their Delaunay tetrahedralization.
    ``jitter=0`` gives the structured Kuhn subdivision (6 tetrahedra per cube).

    Returns
    -------
    points : ``(P, 3)``, tets : ``(M, 4)`` positively oriented,
    tags : dict side -> ``(K, 3)`` boundary triangles (sides as in ``grid_3d``).

    Raises
    ------
    ConfigError
        Fewer than one interval per axis, non-positive lengths or ``jitter``
        outside ``[0, 0.5)``.
    MeshError
        If the tetrahedralization is not watertight (its boundary is not the
        box; see the module docstring), which the generator prevents.
    """
    shape, lengths = box_shape(cells, lengths, 3)
    if not 0 <= jitter < 0.5:
        raise ConfigError(f"jitter must be in [0, 0.5) (fraction of the spacing), got {jitter}")
    h = lengths / np.array(shape)
    grids = np.meshgrid(*(np.arange(n + 1) for n in shape), indexing="ij")
    index = np.stack(grids, axis=-1).reshape(-1, 3)
    points = index * h
    if jitter == 0:
        tets = _kuhn(shape)
        vol = simplex_volumes(points, tets)
        tets[vol < 0] = tets[vol < 0][:, [1, 0, 2, 3]]
    else:
        rng = np.random.default_rng(seed)
        inner = np.all((index > 0) & (index < np.array(shape)), axis=1)
        points[inner] += (rng.random((int(inner.sum()), 3)) * 2 - 1) * jitter * h
        tets = _delaunay(points)
    return points, tets, _box_tags(points, tets, lengths)


def _sphere_points(n: int, radius: float) -> np.ndarray:
    """``n`` quasi-uniform points on a sphere (Fibonacci spiral)."""
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = np.pi * (1 + 5 ** 0.5) * k
    r = np.sqrt(1 - z ** 2)
    return radius * np.c_[r * np.cos(phi), r * np.sin(phi), z]


def tetrahedralize_ball(cells: int = 2000, radius: float = 1.0, seed: int | None = 0,
                        relax: int = 10) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Tetrahedral mesh of the ball ``|x| < radius`` with about ``cells`` interior vertices.

    Boundary vertices are a Fibonacci spiral on the sphere at spacing ``h``;
    interior points start uniform random (``seed``) and are Lloyd-relaxed
    (``relax`` iterations, centroids estimated on a lattice of samples) with the
    sphere points fixed. The mesh is the Delaunay tetrahedralization (the
    convex hull of the points: an inscribed polyhedron).

    Returns
    -------
    points : ``(P, 3)``, tets : ``(M, 4)``, tags : ``{"outer": (K, 3) triangles}``.

    Raises
    ------
    ConfigError
        A non-positive ``radius`` or ``cells < 1``.
    MeshError
        If the tetrahedralization is not watertight (see the module docstring).
    """
    from scipy.spatial import cKDTree

    if not radius > 0:
        raise ConfigError(f"empty domain: ball radius must be > 0, got {radius}")
    if int(cells) < 1:
        raise ConfigError(f"empty domain: need at least 1 cell, got cells={cells}")
    # ~ sqrt(2) h^3 / 2 per vertex (bcc-like packing); boundary ~ 4 pi R^2 / (sqrt(3)/2 h^2)
    h = radius * (4 / 3 * np.pi / cells * np.sqrt(2) / 2) ** (1 / 3)
    nb = max(12, int(round(4 * np.pi * radius ** 2 / (np.sqrt(3) / 2 * h ** 2))))
    surface = _sphere_points(nb, radius)
    rng = np.random.default_rng(seed)
    pts = np.empty((0, 3))
    while len(pts) < cells:
        c = (rng.random((2 * int(cells) + 16, 3)) * 2 - 1) * radius
        pts = np.concatenate([pts, c[np.linalg.norm(c, axis=1) < radius - 0.5 * h]])
    pts = pts[: int(cells)]
    if relax > 0:
        step = h / 4
        axis = np.arange(-radius + rng.random() * step, radius, step)
        s = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
        s = s[np.linalg.norm(s, axis=1) < radius]
        for _ in range(int(relax)):
            _, owner = cKDTree(np.concatenate([surface, pts])).query(s)
            owner -= nb
            m = owner >= 0
            n = np.bincount(owner[m], minlength=len(pts))
            has = n > 0
            for a in range(3):
                pts[has, a] = np.bincount(owner[m], weights=s[m, a], minlength=len(pts))[has] / n[has]
    points = np.concatenate([surface, pts])
    tets = _delaunay(points)
    return points, tets, {"outer": boundary_facets(tets)}


def tetra_box(cells: int | Sequence[int] = 12, lengths: float | Sequence[float] = 1.0,
              diffusivity: float = 1.0, boundary: Condition | Mapping[str, Condition] = 0.0,
              jitter: float = 0.25, seed: int | None = 0, **options: Unpack[Discretization]
              ) -> nx.Graph:
    """Tetrahedral cell graph of a box (see :func:`tetrahedralize_box`).

    Parameters
    ----------
    cells, lengths, jitter, seed
        Mesh (``cells`` lattice intervals per axis; interior vertices jittered).
    diffusivity
        ``kappa > 0``.
    boundary
        A condition for every side, or a mapping side -> condition with sides
        ``left/right/bottom/top/front/back``; missing sides are Dirichlet 0.
        Numbers and ``callable(pos)`` are Dirichlet, ``"neumann"`` zero flux.
    options
        ``scheme`` (``"voronoi"`` by default for tetrahedra), ``negative``,
        ``decay``, ``source``, ``latency``: see
        :func:`~evsim.topologies.simplicial.simplex_graph`.

    Examples
    --------
    >>> g = tetra_box(cells=4, diffusivity=0.1, jitter=0.0)
    >>> sum(1 for _, d in g.nodes(data=True) if d["kind"] == "cell")
    27
    """
    points, tets, tags = tetrahedralize_box(cells, lengths, jitter=jitter, seed=seed)
    return seeded_graph(points, tets, tags, "box", seed, diffusivity, boundary, options)


def tetra_ball(cells: int = 2000, radius: float = 1.0, diffusivity: float = 1.0,
               boundary: Condition | Mapping[str, Condition] = 0.0, seed: int | None = 0,
               relax: int = 10, **options: Unpack[Discretization]) -> nx.Graph:
    """Tetrahedral cell graph of a ball (see :func:`tetrahedralize_ball`).

    ``boundary`` applies to the sphere (tag ``"outer"``); with Dirichlet
    conditions the cells are the about ``cells`` interior vertices. Other
    parameters as in :func:`tetra_box`.
    """
    points, tets, tags = tetrahedralize_ball(cells, radius, seed=seed, relax=relax)
    return seeded_graph(points, tets, tags, "ball", seed, diffusivity, boundary, options)
