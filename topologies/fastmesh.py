"""Million-cell meshes: vectorised builders that go from arrays to a compiled network.

:func:`simplex_network` is :func:`~evsim.topologies.simplicial.simplex_graph`
without the graph: the same mesh validation, boundary conditions and
conductances (:func:`~evsim.topologies.simplicial.simplex_cells`, vectorised
numpy), turned into an :class:`evsim.network.Network` by
:func:`evsim.network.network_from_arrays`. No NetworkX graph is built, so a
10^6-cell mesh costs seconds and ~1 kB per cell instead of minutes and
several kB per cell; for a small mesh, ``simplex_graph`` (or
:func:`evsim.network.to_networkx`) still gives the graph view.

With ``order=None`` the network is *identical* to
``compile_network(simplex_graph(...))``: same nodes, cells, reservoirs, edge
order and orientation, same bits. That order is NetworkX's edge order, which
this module reproduces: ``graph.edges()`` visits nodes in insertion order
(cells in vertex order, then the Dirichlet reservoirs in vertex order, then
``"ground"``) and yields each edge once, from its end inserted first, in the
order the edges were added at that node. So edge ``(u, w)`` added ``k``-th is
compiled as ``(min(r_u, r_w), max(r_u, r_w))`` in the lexicographic order of
``(min(r_u, r_w), k)``, ``r`` being node ranks. ``order="rcm"`` or
``"morton"`` then renumbers cells and edges for locality
(:mod:`evsim.topologies.ordering`).

Meshes
------
:func:`square_mesh` is the 2D counterpart of
:func:`~evsim.topologies.tetra.tetrahedralize_box`: an ``n x n`` lattice of the
square ``[0, L]^2`` whose interior vertices are moved by up to ``jitter * h``
per coordinate, triangulated by Delaunay (Qhull); ``jitter=0`` gives the
structured lattice with one diagonal per square, whose P1 conductances are
exactly the 5-point stencil (diagonals get ``g = 0`` and are dropped), i.e. a
vertex-centred grid through the same code. :func:`square_network` and
:func:`box_network` (the canonical ``tetra_box`` mesh, Voronoi two-point flux)
build the compiled networks; :func:`cube_mesh` / :func:`cube_network` are the 3D
builder for 10^6 cells (a ghost layer keeps Qhull fast, see :func:`cube_mesh`). Boundary vertices stay on the lattice of the sides, so the opposite
angle of a boundary edge is at most ``2 atan(0.5 / (1 - jitter)) < 90°`` and every
P1 conductance is positive. :func:`disk_mesh` / :func:`disk_network` are the curved
domain: the disk of the canonical ``disk`` problem (tag ``"outer"``) as a jittered
hexagonal lattice inside a safe radius and equally spaced points on the circle, whose
chords are Gabriel edges (positive conductances, checked), 10^6 cells in about a
minute instead of ``voronoi_2d``'s ~20.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Unpack

import numpy as np

from evsim.errors import ConfigError, MeshError
from evsim.network import Network, network_from_arrays

from .domains import disk
from .grids import is_finite_number
from .ordering import reorder
from .simplicial import (Condition, Discretization, MeshOptions, boundary_facets, simplex_cells,
                         simplex_volumes)
from .tetra import _box_tags, box_shape, tetrahedralize_box
from .voronoi import spacing_for_cells

__all__ = ["simplex_network", "square_mesh", "square_network", "cube_mesh", "cube_network",
           "box_network", "shuffle_mesh", "disk_mesh", "disk_network", "MIN_DISK_CELLS"]


def simplex_network(points: np.ndarray, simplices: np.ndarray, diffusivity: float = 1.0,
                    boundary: Condition | Mapping[str, Condition] = 0.0, *,
                    order: str | None = None, **options: Unpack[MeshOptions]) -> Network:
    """Compiled cell network of a triangle or tetrahedron mesh, without a graph.

    Parameters are those of :func:`~evsim.topologies.simplicial.simplex_graph`
    (same discretization ``V_i du_i/dt = -sum_j g_ij (u_i - u_j) - lambda V_i u_i
    + S_i``, same checks and errors), plus

    order
        ``None`` (default): exactly ``compile_network(simplex_graph(...))``;
        ``"rcm"`` or ``"morton"``: cells and edges renumbered for locality
        (:func:`~evsim.topologies.ordering.reorder`).

    Returns
    -------
    Network
        Cells labelled by their index in vertex order (they keep these labels
        when reordered), reservoirs ``("bc", tag, vertex)`` and ``"ground"``.
    """
    m = simplex_cells(points, simplices, diffusivity=diffusivity, boundary=boundary, **options)
    cell_v = np.flatnonzero(m.cell_of >= 0)
    res_v = np.flatnonzero(m.cell_of < 0)
    N = cell_v.size
    rank = m.cell_of.copy()
    rank[res_v] = N + np.arange(res_v.size)
    nodes: list = list(range(N)) + [("bc", m.vertex_tag[v], v) for v in res_v.tolist()]
    rpot = [m.reservoir_potential(v) for v in res_v.tolist()]
    volume = m.volume[cell_v]
    ends = rank[m.pairs[m.active]]
    cond = m.conductance
    if m.decay > 0:
        nodes.append("ground")
        rpot.append(0.0)
        ends = np.concatenate([ends, np.c_[np.arange(N), np.full(N, len(nodes) - 1)]])
        cond = np.concatenate([cond, m.decay * volume])
    lo, hi = ends.min(axis=1), ends.max(axis=1)
    edge_order = np.lexsort((np.arange(len(ends)), lo))        # NetworkX's edge order
    edges = np.c_[lo, hi][edge_order]
    network = network_from_arrays(volume, edges, cond[edge_order], np.array(rpot, dtype=float),
                                  latency=np.full(len(edges), float(m.latency)), source=m.source,
                                  positions=m.points[cell_v], nodes=nodes)
    return reorder(network, order)


def shuffle_mesh(points: np.ndarray, simplices: np.ndarray, tags: Mapping[str, np.ndarray],
                 seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The same mesh with its vertices numbered in a random order (``seed + 1``).

    Vertex ``k`` of the result is vertex ``perm[k]`` of the input; simplices and
    tag facets are renumbered alike. A benchmark device: a mesh as a generator
    or a file delivers it, without the lattice's locality.
    """
    perm = np.random.default_rng(None if seed is None else seed + 1).permutation(len(points))
    new_of = np.empty_like(perm)
    new_of[perm] = np.arange(len(perm))
    return points[perm], new_of[simplices], {t: new_of[f] for t, f in tags.items()}


def _lattice(shape: tuple[int, ...], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lattice points (C order) and their integer indices."""
    grids = np.meshgrid(*(np.arange(n + 1) for n in shape), indexing="ij")
    index = np.stack(grids, axis=-1).reshape(-1, len(shape))
    return index * (lengths / np.array(shape)), index


def square_mesh(cells: int | Sequence[int] = 64, lengths: float | Sequence[float] = 1.0,
                jitter: float = 0.25, seed: int | None = 0, shuffle: bool = False
                ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Triangle mesh of the rectangle ``[0, Lx] x [0, Ly]`` (2D :func:`tetrahedralize_box`).

    Vertices are the lattice with ``cells`` intervals per axis; interior vertices
    are moved by a uniform random offset of up to ``jitter * h`` per coordinate
    (``seed``) and triangulated by Delaunay. ``jitter=0``: each lattice square is
    split by its diagonal from the lower left corner (structured, no Qhull).
    ``shuffle=True`` numbers the vertices in a random order (``seed``), as a mesh
    generator or a mesh file may (e.g. :func:`~evsim.topologies.voronoi.voronoi_2d`,
    whose Lloyd points keep their random order): the same mesh without the
    lattice's locality, which :mod:`~evsim.topologies.ordering` restores.

    Returns
    -------
    points : ``(P, 2)``, triangles : ``(M, 3)`` counter-clockwise,
    tags : dict side -> ``(K, 2)`` boundary edges (``left/right/bottom/top``).

    Raises
    ------
    ConfigError
        Fewer than one interval per axis, non-positive lengths, ``jitter``
        outside ``[0, 0.5)``.
    MeshError
        If the triangulation does not cover the rectangle (area mismatch).
    """
    from scipy.spatial import Delaunay

    shape, lengths = box_shape(cells, lengths, 2)
    if not 0 <= jitter < 0.5:
        raise ConfigError(f"jitter must be in [0, 0.5) (fraction of the spacing), got {jitter}")
    points, index = _lattice(shape, lengths)
    h = lengths / np.array(shape)
    if jitter == 0:
        ny = shape[1] + 1
        i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
        a = (i * ny + j).ravel()
        b, c, d = a + ny, a + ny + 1, a + 1             # (i+1, j), (i+1, j+1), (i, j+1)
        tri = np.concatenate([np.c_[a, b, c], np.c_[a, c, d]])
    else:
        rng = np.random.default_rng(seed)
        inner = np.all((index > 0) & (index < np.array(shape)), axis=1)
        points[inner] += (rng.random((int(inner.sum()), 2)) * 2 - 1) * jitter * h
        tri = Delaunay(points).simplices.astype(np.int64)
    if shuffle:
        points, tri, _ = shuffle_mesh(points, tri, {}, seed)
    area = simplex_volumes(points, tri)
    keep = np.abs(area) > 1e-9 * h.prod()                # flat triangles on collinear sides
    tri, area = tri[keep], area[keep]
    tri[area < 0] = tri[area < 0][:, [1, 0, 2]]
    total = float(np.abs(area).sum())
    if not np.isclose(total, lengths.prod(), rtol=1e-9):
        raise MeshError(f"triangulation does not cover the rectangle: area {total:.12g} != "
                        f"{lengths.prod():.12g}")
    return points, tri, _box_tags(points, tri, lengths)


#: How far (fraction of ``h``) :func:`cube_mesh` moves side vertices within their side.
_SIDE_JITTER = 0.02


def cube_mesh(cells: int | Sequence[int] = 12, lengths: float | Sequence[float] = 1.0,
              jitter: float = 0.25, seed: int | None = 0
              ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Delaunay tetrahedra of the box ``[0, Lx] x [0, Ly] x [0, Lz]``, fast at 10^6 vertices.

    Like :func:`~evsim.topologies.tetra.tetrahedralize_box`, vertices are the
    lattice with ``cells`` intervals per axis (the same spacing ``h`` on every
    axis), interior ones moved by up to ``jitter * h`` per coordinate (``seed``);
    a vertex on a side moves by up to ``0.02 h`` *within* its side (faces in-plane,
    edges along the edge, corners not at all), and the points are triangulated
    together with one layer of jittered *ghost* points outside the box, whose
    tetrahedra are then dropped. Qhull is slow on the thousands of coplanar,
    cocircular points of a lattice face on the convex hull (30 s for 70,000
    points, where 70,000 random points take 4 s); with the ghosts the hull is
    jittered and the faces are inside the point set. The faces still come out as
    unions of Delaunay facets: the faces' triangles (lattice squares split by a
    diagonal, vertices within ``0.02 h``) have circumradii below ``0.736 h``, and
    every interior and ghost point is more than ``(1 - jitter) h >= 0.75 h`` off
    the face plane, so a face triangle's smallest circumsphere is empty, no
    Delaunay edge crosses a side and the kept tetrahedra fill the box (checked:
    volume, side area and tags; a :class:`~evsim.errors.MeshError` otherwise).
    Larger in-plane jitter breaks this: at 0.25 h a 10^6-point box left cracks. The kept mesh is a piece of a
    Delaunay triangulation, so the Voronoi two-point flux of every edge with an
    end inside the box is positive. Not the canonical ``cube3d`` mesh (whose
    boundary vertices stay on the lattice): use it for the large sizes.

    Returns
    -------
    points : ``(P, 3)`` (the ghosts removed), tets : ``(M, 4)`` positively oriented,
    tags : dict side -> ``(K, 3)`` boundary triangles (sides as in ``grid_3d``).
    """
    from scipy.spatial import Delaunay

    shape, lengths = box_shape(cells, lengths, 3)
    if not 0 < jitter <= 0.25:
        raise ConfigError(f"jitter must be in (0, 0.25] (fraction of the spacing), got {jitter}")
    n = np.array(shape)
    h = lengths / n
    axes = [np.arange(-1, k + 2) for k in shape]
    index = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    box = np.all((index >= 0) & (index <= n), axis=1)
    free = (index > 0) & (index < n) | ~box[:, None]
    inner = np.all(free, axis=1)             # interior and ghost points move freely
    rng = np.random.default_rng(seed)
    amount = np.where(inner, jitter, _SIDE_JITTER)[:, None]
    points = (index + np.where(free, (rng.random(index.shape) * 2 - 1) * amount, 0.0)) * h
    for a in range(3):                       # ghosts stay (1 - jitter) h off the sides
        low, high = index[:, a] < 0, index[:, a] > n[a]
        points[low, a] = np.minimum(points[low, a], -(1 - jitter) * h[a])
        points[high, a] = np.maximum(points[high, a], lengths[a] + (1 - jitter) * h[a])
    tets = Delaunay(points).simplices.astype(np.int64)
    tets = tets[box[tets].all(axis=1)]
    new_of = np.full(len(points), -1, dtype=np.int64)
    new_of[box] = np.arange(int(box.sum()))
    points, tets = points[box], new_of[tets]
    vol = simplex_volumes(points, tets)
    tets[vol < 0] = tets[vol < 0][:, [1, 0, 2, 3]]
    tags = _box_tags(points, tets, lengths)
    x = points[np.concatenate(list(tags.values()))]
    area = 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1).sum()
    want = 2 * (lengths[0] * lengths[1] + lengths[1] * lengths[2] + lengths[0] * lengths[2])
    if not (np.isclose(np.abs(vol).sum(), lengths.prod(), rtol=1e-9)
            and np.isclose(area, want, rtol=1e-9)
            and sum(len(t) for t in tags.values()) == len(boundary_facets(tets))):
        raise MeshError(f"tetrahedralization does not fill the box: volume {np.abs(vol).sum():.12g} "
                        f"(want {lengths.prod():.12g}), side area {area:.12g} (want {want:.12g})")
    return points, tets, tags


#: Fewest cells :func:`disk_mesh` accepts (a hexagon and its ring: below this the
#: lattice has no point inside the safe radius).
MIN_DISK_CELLS = 10


def disk_mesh(cells: int = 2000, radius: float = 1.0, jitter: float = 0.25,
              seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Delaunay triangles of the disk ``|x| < radius``, vectorised, fast at 10^6 cells.

    The fast counterpart of ``triangulate("disk")`` (:mod:`~evsim.topologies.voronoi`,
    Lloyd points and a Python loop over the boundary chords, ~20 min at 10^6).
    Interior points are a hexagonal lattice of spacing ``h`` (near-equilateral
    triangles) whose points are moved by up to ``jitter * h`` per coordinate
    (``seed``); ``h`` is chosen so that about ``cells`` of them fall inside
    (:func:`~evsim.topologies.voronoi.spacing_for_cells`, then one correction by
    the actual count). The boundary is ``n = ceil(2 pi R / h)`` points equally
    spaced on the circle (chord ``c = 2 R sin(pi / n)``), which bound the inscribed
    ``n``-gon of area ``n R^2 sin(2 pi / n) / 2``: the domain meshed, as for
    ``voronoi_2d`` (an ``O(h^2)`` geometric error).

    Why every conductance is positive: a lattice point is kept only when
    ``|x| < R cos(pi / n) - (1 + 0.05) c / 2``; the midpoint of every chord is at
    ``R cos(pi / n)`` from the centre, so every kept point lies outside the
    chord's diametral circle (by 5 % of its radius). Each chord is then Gabriel:
    a Delaunay edge (the hull of the point set is the ``n``-gon, every circle
    point an extreme point) whose opposite angle is below ``2 atan(1 / 1.05)
    ~ 87°``, so its cotangent weight is positive; interior Delaunay edges have
    ``alpha + beta < pi``. Both are checked (:class:`~evsim.errors.MeshError`
    otherwise), and so is the area.

    Parameters
    ----------
    cells
        About this many interior vertices (the cells, with a Dirichlet boundary);
        at least :data:`MIN_DISK_CELLS`.
    radius
        ``R > 0``, centred at the origin.
    jitter
        Offset of the lattice points, fraction of ``h`` per coordinate, in
        ``[0, 0.5)``; 0 is the hexagonal lattice itself.
    seed
        Random seed of the offsets (same seed, same arrays).

    Returns
    -------
    points : ``(P, 2)``, circle points first (counter-clockwise from angle 0), then
    the lattice points in row-major order; triangles : ``(M, 3)`` counter-clockwise;
    tags : ``{"outer": (n, 2)}`` the chords (the tag of :func:`~evsim.topologies.domains.disk`,
    so ``boundary`` mappings written for ``voronoi_2d("disk")`` apply unchanged).

    Raises
    ------
    ConfigError
        ``cells`` below :data:`MIN_DISK_CELLS`, ``radius`` not a positive finite
        number, ``jitter`` outside ``[0, 0.5)`` (the message names the parameter).
    MeshError
        A chord that is not a mesh edge, an angle opposite a chord of at least 90°,
        or a mesh area other than the polygon's.
    """
    from scipy.spatial import Delaunay

    if not is_finite_number(cells) or int(cells) != cells or cells < MIN_DISK_CELLS:
        raise ConfigError(f"cells must be an integer of at least {MIN_DISK_CELLS}, got cells={cells!r}")
    if not is_finite_number(radius) or radius <= 0:
        raise ConfigError(f"radius must be a positive finite number, got radius={radius!r}")
    if not is_finite_number(jitter) or not 0 <= jitter < 0.5:
        raise ConfigError(f"jitter must be in [0, 0.5) (fraction of the spacing), got jitter={jitter!r}")
    cells, radius = int(cells), float(radius)
    h = spacing_for_cells(disk(radius), cells)
    for _ in range(2):                       # the second pass corrects h by the actual count
        ring, inner = _disk_points(radius, h, jitter, seed)
        h *= np.sqrt(len(inner) / cells)
    points = np.concatenate([ring, inner])
    n = len(ring)
    tri = Delaunay(points).simplices.astype(np.int64)
    area = simplex_volumes(points, tri)
    tri[area < 0] = tri[area < 0][:, [1, 0, 2]]
    chords = np.c_[np.arange(n), (np.arange(n) + 1) % n]
    _check_chords(points, tri, chords)
    want = 0.5 * n * radius ** 2 * np.sin(2 * np.pi / n)
    if not np.isclose(np.abs(area).sum(), want, rtol=1e-9):
        raise MeshError(f"triangulation does not cover the disk polygon: area "
                        f"{np.abs(area).sum():.12g} != {want:.12g}")
    return points, tri, {"outer": chords}


def _disk_points(radius: float, h: float, jitter: float, seed: int | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The circle points and the kept (jittered) hexagonal lattice points of :func:`disk_mesh`."""
    n = max(8, int(np.ceil(2 * np.pi * radius / h)))
    angle = 2 * np.pi * np.arange(n) / n
    ring = radius * np.c_[np.cos(angle), np.sin(angle)]
    chord = 2 * radius * np.sin(np.pi / n)
    safe = radius * np.cos(np.pi / n) - 1.05 * chord / 2
    dy = h * np.sqrt(3) / 2
    rows, cols = int(np.ceil(radius / dy)) + 1, int(np.ceil(radius / h)) + 1
    j, i = np.meshgrid(np.arange(-rows, rows + 1), np.arange(-cols, cols + 1), indexing="ij")
    lattice = np.c_[((i + 0.5 * (j % 2)) * h).ravel(), (j * dy).ravel()]
    offset = np.random.default_rng(seed).random(lattice.shape) * 2 - 1
    lattice += offset * (jitter * h)
    return ring, lattice[np.hypot(lattice[:, 0], lattice[:, 1]) < safe]


def _check_chords(points: np.ndarray, tri: np.ndarray, chords: np.ndarray) -> None:
    """Every chord ``(a, a + 1)`` is an edge of exactly one triangle, whose angle opposite
    the chord is acute (a positive cotangent weight); :class:`MeshError` otherwise."""
    n = len(chords)
    local = np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]])
    ends = tri[:, local].reshape(-1, 3)              # (a, b, opposite) per triangle edge
    a, b = ends[:, 0], ends[:, 1]
    on = (a < n) & (b < n) & ((b - a) % n == 1)      # counter-clockwise chord a -> a + 1
    hit = np.bincount(a[on], minlength=n)
    if np.any(hit != 1):
        k = int(np.flatnonzero(hit != 1)[0])
        raise MeshError(f"the disk triangulation does not follow its boundary: chord {k} "
                        f"(vertices {chords[k].tolist()}) is in {int(hit[k])} triangles")
    x = points[ends[on]]
    cos = np.einsum("md,md->m", x[:, 0] - x[:, 2], x[:, 1] - x[:, 2])
    if np.any(cos <= 0):
        k = int(np.argmin(cos))
        raise MeshError(f"obtuse angle opposite the boundary chord {ends[on][k, :2].tolist()} "
                        f"(vertex {int(ends[on][k, 2])}): a negative or zero conductance")


def square_network(cells: int | Sequence[int] = 64, lengths: float | Sequence[float] = 1.0,
                   diffusivity: float = 1.0, boundary: Condition | Mapping[str, Condition] = 0.0,
                   jitter: float = 0.25, seed: int | None = 0, shuffle: bool = False,
                   order: str | None = None, **options: Unpack[Discretization]) -> Network:
    """Compiled network of a jittered Delaunay triangulation of a rectangle.

    :func:`square_mesh` then :func:`simplex_network` (P1 conductances, lumped
    volumes; ``options``: ``scheme``, ``negative``, ``decay``, ``source``,
    ``latency``). With Dirichlet sides, about ``(cells - 1)^2`` cells;
    ``jitter=0`` is the vertex-centred 5-point grid.
    """
    points, tri, tags = square_mesh(cells, lengths, jitter=jitter, seed=seed, shuffle=shuffle)
    return simplex_network(points, tri, diffusivity=diffusivity, boundary=boundary, tags=tags,
                           order=order, **options)


def cube_network(cells: int | Sequence[int] = 12, lengths: float | Sequence[float] = 1.0,
                 diffusivity: float = 1.0, boundary: Condition | Mapping[str, Condition] = 0.0,
                 jitter: float = 0.25, seed: int | None = 0, order: str | None = None,
                 **options: Unpack[Discretization]) -> Network:
    """Compiled network of :func:`cube_mesh` (Voronoi two-point flux): the 3D builder for
    10^6 cells. ``options`` as for :func:`square_network`."""
    points, tets, tags = cube_mesh(cells, lengths, jitter=jitter, seed=seed)
    return simplex_network(points, tets, diffusivity=diffusivity, boundary=boundary, tags=tags,
                           scheme=options.pop("scheme", "voronoi"), order=order, **options)


def box_network(cells: int | Sequence[int] = 12, lengths: float | Sequence[float] = 1.0,
                diffusivity: float = 1.0, boundary: Condition | Mapping[str, Condition] = 0.0,
                jitter: float = 0.25, seed: int | None = 0, shuffle: bool = False,
                order: str | None = None, scheme: str = "voronoi",
                **options: Unpack[Discretization]) -> Network:
    """Compiled network of :func:`~evsim.topologies.tetra.tetra_box`, without the graph.

    ``order=None`` gives exactly ``compile_network(tetra_box(...))`` (the
    canonical ``cube3d`` network for ``cells=12, jitter=0.25, seed=0``);
    ``jitter=0`` is the 7-point grid (Kuhn subdivision); ``shuffle`` numbers the
    vertices randomly (:func:`shuffle_mesh`).
    """
    points, tets, tags = tetrahedralize_box(cells, lengths, jitter=jitter, seed=seed)
    if shuffle:
        points, tets, tags = shuffle_mesh(points, tets, tags, seed)
    return simplex_network(points, tets, diffusivity=diffusivity, boundary=boundary, tags=tags,
                           scheme=scheme, order=order, **options)


def disk_network(cells: int = 2000, radius: float = 1.0, diffusivity: float = 1.0,
                 boundary: Condition | Mapping[str, Condition] = 0.0, jitter: float = 0.25,
                 seed: int | None = 0, order: str | None = None,
                 **options: Unpack[Discretization]) -> Network:
    """Compiled network of :func:`disk_mesh`: the disk problem's mesh family at 10^6 cells.

    A stand-in for ``compile_network(voronoi_2d("disk", cells, ...))`` (same tag
    ``"outer"``, same default P1 scheme, about the same cell count), built in
    seconds instead of minutes; not the same points, so not the canonical ``disk``
    network. ``options`` (``scheme``, ``negative``, ``decay``, ``source``,
    ``latency``) go to :func:`simplex_network`; ``scheme="voronoi"`` gives the
    circumcentric dual volumes (the same conductances in 2D, all positive here).
    """
    points, tri, tags = disk_mesh(cells, radius, jitter=jitter, seed=seed)
    return simplex_network(points, tri, diffusivity=diffusivity, boundary=boundary, tags=tags,
                           order=order, **options)
