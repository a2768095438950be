"""Irregular 2D finite-volume cell graphs: Voronoi cells of a Delaunay mesh.

:func:`triangulate` places quality points in a planar :class:`~evsim.topologies.domains.Domain`
(boundary points at spacing ``h``, Lloyd-relaxed interior points, ``seed``) and
builds their Delaunay triangulation restricted to the domain;
:func:`voronoi_2d` turns it into the cell graph with
:func:`~evsim.topologies.simplicial.simplex_graph`.

Choice of discretization
------------------------
Each mesh vertex is a cell. Conductances are the Voronoi two-point flux

.. math:: g_{ij} = \\kappa \\frac{|\\sigma_{ij}|}{|x_i - x_j|}
         = \\frac{\\kappa}{2} (\\cot\\alpha_{ij} + \\cot\\beta_{ij}),

where ``sigma_ij`` is the Voronoi face dual to the Delaunay edge ``ij`` and
``alpha, beta`` the angles opposite the edge: on a Delaunay triangulation this is
*both* the classical Voronoi-of-Delaunay finite volume flux and the P1
finite-element stiffness. Volumes are the lumped P1 mass ``V_i = sum_T |T|/3``
(``scheme="p1"``, default), so the graph is exactly mass-lumped P1 FEM:
``O(h^2)`` nodal accuracy, volumes always positive and summing exactly to the
domain area. ``scheme="voronoi"`` uses the Voronoi cell areas instead.

Why the conductances are never negative here: interior edges of a Delaunay
triangulation satisfy ``alpha + beta <= pi`` (so ``g >= 0``); boundary chords
are made Gabriel (no point inside their diametral circle: interior points that
encroach are removed, encroached chords are split), so the single angle
opposite a boundary edge is below ``pi/2``. The same Gabriel property makes the
Delaunay triangulation conform to the (non-convex) boundary, so triangles are
kept by a centroid-inside test and the mesh area equals the polygon area.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Unpack

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, MeshError

from .domains import Domain, _contains, get_domain, lloyd_points
from .simplicial import Condition, Discretization, seeded_graph

__all__ = ["triangulate", "voronoi_2d", "spacing_for_cells"]


def spacing_for_cells(domain: Domain, cells: int) -> float:
    """Spacing ``h`` such that about ``cells`` interior points fill ``domain``.

    Equilateral triangles of side ``h`` give ``2 A / (sqrt(3) h^2)`` vertices in
    area ``A``, of which about ``P / h`` lie on the boundary (perimeter ``P``):
    solve ``2 A s^2 / sqrt(3) - P s - cells = 0`` for ``s = 1/h``.
    """
    area = domain.area()
    perimeter = sum(r.length() for r in domain.rings)
    a = 2 * area / np.sqrt(3)
    s = (perimeter + np.sqrt(perimeter ** 2 + 4 * a * cells)) / (2 * a)
    return float(1 / s)


def triangulate(domain: Domain | str = "disk", cells: int = 1000, seed: int | None = 0,
                relax: int = 30) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Quality Delaunay triangulation of a planar domain.

    Parameters
    ----------
    domain
        A :class:`Domain` or a standard name (``"disk"``, ``"annulus"``,
        ``"l_shape"``, ``"square_with_hole"``).
    cells
        Target number of interior points (about; encroaching points are removed).
    seed
        Random seed of the point placement (same seed, same mesh).
    relax
        Lloyd iterations (0 = raw uniform random interior points).

    Returns
    -------
    points : ``(P, 2)`` array
        Boundary points first (ring by ring, in ring order), then interior points.
    triangles : ``(M, 3)`` int array
        Counter-clockwise triangles.
    tags : dict
        Boundary tag -> ``(K, 2)`` boundary edges (vertex index pairs).

    Raises
    ------
    ConfigError
        ``cells < 1`` or an unknown domain name.
    MeshError
        Empty domain, or a triangulation that does not conform to the
        boundary (holes overlapping, self-intersecting polygon).
    """
    from scipy.spatial import Delaunay, cKDTree

    domain = get_domain(domain)
    if int(cells) < 1:
        raise ConfigError(f"empty domain: need at least 1 cell, got cells={cells}")
    if domain.area() <= 0:
        raise MeshError("empty domain: holes cover the outer boundary (area <= 0)")
    h = spacing_for_cells(domain, int(cells))
    rings, names = [], []
    for ring in domain.rings:
        pts, nm = ring.sample(h)
        rings.append(pts)
        names.append(nm)

    interior = lloyd_points(rings, np.concatenate(rings), int(cells), h, seed=seed, iterations=relax)
    # Gabriel boundary: remove encroaching interior points, split chords encroached by boundary points
    for _ in range(50):
        bpts = np.concatenate(rings)
        tree_i = cKDTree(interior) if len(interior) else None
        tree_b = cKDTree(bpts)
        drop: set[int] = set()
        split = False
        new_rings, new_names = [], []
        for ring_pts, ring_names, ring in zip(rings, names, domain.rings):
            out_p, out_n = [], []
            n = len(ring_pts)
            for k in range(n):
                a, b = ring_pts[k], ring_pts[(k + 1) % n]
                mid, r = 0.5 * (a + b), 0.5 * np.linalg.norm(b - a)
                out_p.append(a)
                out_n.append(ring_names[k])
                if tree_i is not None:
                    drop.update(tree_i.query_ball_point(mid, r * (1 - 1e-9)))
                near = tree_b.query_ball_point(mid, r * (1 - 1e-9))
                if near:
                    m = mid
                    if ring.is_circle:  # keep boundary points on the circle
                        c = np.asarray(ring.center)
                        m = c + (mid - c) * ring.radius / np.linalg.norm(mid - c)
                    out_p.append(m)
                    out_n.append(ring_names[k])
                    split = True
            new_rings.append(np.array(out_p))
            new_names.append(out_n)
        rings, names = new_rings, new_names
        if drop:
            interior = np.delete(interior, sorted(drop), axis=0)
        if not split and not drop:
            break
    else:
        raise MeshError("could not make the boundary conforming (boundary rings too close "
                         "to each other for this resolution); increase cells")

    bpts = np.concatenate(rings)
    points = np.concatenate([bpts, interior]) if len(interior) else bpts
    tri = Delaunay(points).simplices
    keep = _contains(rings, points[tri].mean(axis=1))
    tri = tri[keep]
    if len(tri) == 0:
        raise MeshError("empty domain: no triangle lies inside the domain")
    x = points[tri]
    signed = 0.5 * ((x[:, 1, 0] - x[:, 0, 0]) * (x[:, 2, 1] - x[:, 0, 1])
                    - (x[:, 2, 0] - x[:, 0, 0]) * (x[:, 1, 1] - x[:, 0, 1]))
    tri[signed < 0] = tri[signed < 0][:, [1, 0, 2]]
    poly_area = sum((1 if k == 0 else -1) * _shoelace(r) for k, r in enumerate(rings))
    mesh_area = float(np.abs(signed).sum())
    if not np.isclose(mesh_area, poly_area, rtol=1e-9):
        raise MeshError(f"triangulation does not conform to the domain: mesh area {mesh_area:.6g} "
                         f"!= polygon area {poly_area:.6g} (self-intersecting polygon or holes "
                         "outside/overlapping?)")
    tags: dict[str, list] = {}
    start = 0
    for ring_pts, ring_names in zip(rings, names):
        n = len(ring_pts)
        for k in range(n):
            tags.setdefault(ring_names[k], []).append((start + k, start + (k + 1) % n))
        start += n
    return points, tri, {t: np.array(e, dtype=np.int64) for t, e in tags.items()}


def _shoelace(r: np.ndarray) -> float:
    x, y = r.T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def voronoi_2d(domain: Domain | str = "disk", cells: int = 1000, diffusivity: float = 1.0,
               boundary: Condition | Mapping[str, Condition] = 0.0, seed: int | None = 0,
               relax: int = 30, **options: Unpack[Discretization]) -> nx.Graph:
    """Irregular 2D cell graph (Voronoi cells of a Delaunay mesh) of a planar domain.

    Parameters
    ----------
    domain
        A :class:`Domain` (:func:`~evsim.topologies.domains.polygon`, ``disk``,
        ``annulus``, ``l_shape``, ``square_with_hole``) or one of their names.
    cells
        About this many interior mesh vertices. With Dirichlet conditions on
        the whole boundary this is (about) the number of cells; Neumann
        boundary vertices are cells too.
    diffusivity
        ``kappa > 0`` in ``u_t = kappa Lap u``.
    boundary
        A condition for the whole boundary or a mapping boundary tag ->
        condition (tags: ``"outer"``, holes ``"inner"``/``"hole"``/``"hole0"``...
        or the names given to :func:`polygon`). Numbers and ``callable(pos)``
        are Dirichlet values (reservoir per boundary vertex), ``"neumann"`` is
        zero flux. Missing tags are Dirichlet 0.
    seed, relax
        Point placement (see :func:`triangulate`).
    options
        ``scheme`` (``"p1"`` by default for triangles, see the module docstring),
        ``negative``, ``decay``, ``source``, ``latency``: see
        :func:`~evsim.topologies.simplicial.simplex_graph`.

    Returns
    -------
    networkx.Graph
        Cell graph with graph attributes ``dim=2``, ``diffusivity``, ``name``
        (the domain name), ``seed`` and the mesh (``points``, ``simplices``,
        ``vertex_nodes``).

    Examples
    --------
    >>> g = voronoi_2d("disk", cells=200, diffusivity=0.1, seed=1)
    >>> g.graph["dim"], g.graph["name"]
    (2, 'disk')
    """
    dom = get_domain(domain)
    points, tri, tags = triangulate(dom, cells, seed=seed, relax=relax)
    return seeded_graph(points, tri, tags, dom.name, seed, diffusivity, boundary, options)
