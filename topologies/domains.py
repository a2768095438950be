"""Planar domains (polygons and circles, with holes) and quality point placement.

A :class:`Domain` is an outer boundary ring and optional hole rings. A ring is
a polygon (vertices, one boundary *tag* name per edge) or a circle (centre,
radius, one tag). Rings are discretized at a target spacing ``h`` by
:meth:`Domain.boundary`; the meshed domain is the polygon through those
boundary points, so curved boundaries are approximated by inscribed chords
(an ``O(h^2)`` geometric error).

Interior points are placed by :func:`lloyd_points`: uniform random points
(``seed``) relaxed towards a centroidal Voronoi tessellation (CVT) by Lloyd
iterations, with the boundary points as fixed generators. CVT points give
near-equilateral Delaunay triangles, which is what makes the finite-volume
graph accurate (``O(h^2)`` nodal error) and the conductances positive.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evsim.errors import ConfigError, MeshError

__all__ = ["Ring", "Domain", "polygon", "disk", "annulus", "l_shape", "square_with_hole",
           "get_domain", "lloyd_points", "DOMAINS"]


@dataclass(frozen=True)
class Ring:
    """One closed boundary curve.

    Attributes
    ----------
    vertices
        ``(K, 2)`` polygon vertices in order (``None`` for a circle).
    names
        Boundary tag of each polygon edge ``vertices[k] -> vertices[k + 1]``,
        or a single tag (circle).
    center, radius
        Circle centre and radius (``None`` for a polygon).
    """

    vertices: np.ndarray | None = None
    names: tuple[str, ...] = ("boundary",)
    center: tuple[float, float] | None = None
    radius: float | None = None

    @property
    def is_circle(self) -> bool:
        """Whether the ring is a circle (no polygon vertices)."""
        return self.vertices is None

    def area(self) -> float:
        """Enclosed area (absolute)."""
        if self.is_circle:
            return float(np.pi * self.radius ** 2)
        x, y = self.vertices.T
        return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)

    def length(self) -> float:
        """Perimeter."""
        if self.is_circle:
            return float(2 * np.pi * self.radius)
        return float(np.linalg.norm(np.roll(self.vertices, -1, axis=0) - self.vertices, axis=1).sum())

    def sample(self, h: float) -> tuple[np.ndarray, list[str]]:
        """Points along the ring at spacing about ``h`` (polygon corners kept).

        Returns the points in ring order and the tag of each chord
        ``points[k] -> points[k + 1]`` (cyclic).
        """
        if self.is_circle:
            n = max(8, int(np.ceil(2 * np.pi * self.radius / h)))
            a = 2 * np.pi * np.arange(n) / n
            pts = np.c_[np.cos(a), np.sin(a)] * self.radius + np.asarray(self.center)
            return pts, [self.names[0]] * n
        pts, names = [], []
        v = self.vertices
        for k in range(len(v)):
            a, b = v[k], v[(k + 1) % len(v)]
            m = max(1, int(np.ceil(np.linalg.norm(b - a) / h - 1e-9)))
            t = np.arange(m)[:, None] / m
            pts.append(a + t * (b - a))
            names += [self.names[k]] * m
        return np.concatenate(pts), names


@dataclass(frozen=True)
class Domain:
    """A planar domain: ``outer`` ring minus the ``holes``.

    Attributes
    ----------
    outer
        Outer boundary ring.
    holes
        Hole rings (must lie inside ``outer`` and not overlap).
    name
        Domain name (stored on the graph).
    """

    outer: Ring
    holes: tuple[Ring, ...] = field(default_factory=tuple)
    name: str = "polygon"

    @property
    def rings(self) -> tuple[Ring, ...]:
        """The outer ring followed by the holes."""
        return (self.outer, *self.holes)

    def area(self) -> float:
        """Area of the exact domain (circles exact)."""
        return self.outer.area() - sum(r.area() for r in self.holes)

    def tags(self) -> list[str]:
        """Boundary tag names, in ring order."""
        out: list[str] = []
        for r in self.rings:
            for n in r.names:
                if n not in out:
                    out.append(n)
        return out


def _ring(vertices, names, default: str) -> Ring:
    v = np.asarray(vertices, dtype=float)
    if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
        raise MeshError(f"a polygon needs at least 3 vertices as an (K, 2) array, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise MeshError("polygon vertices must be finite")
    zero = np.flatnonzero(np.linalg.norm(np.roll(v, -1, axis=0) - v, axis=1) == 0)
    if zero.size:
        raise MeshError(f"polygon has repeated consecutive vertices (zero-length edge) at vertex "
                        f"{int(zero[0])} {v[zero[0]].tolist()}")
    if names is None:
        names = (default,) * len(v)
    elif isinstance(names, str):
        names = (names,) * len(v)
    else:
        names = tuple(str(n) for n in names)
        if len(names) != len(v):
            raise ConfigError(f"need one boundary tag per polygon edge ({len(v)}), got {len(names)}")
    ring = Ring(vertices=v, names=names)
    if ring.area() <= 1e-14 * max(1.0, np.ptp(v)) ** 2:
        raise MeshError("empty domain: polygon has zero area")
    return ring


def polygon(vertices: Sequence[Sequence[float]], holes: Sequence[Sequence[Sequence[float]]] = (),
            names: str | Sequence[str] | None = None,
            hole_names: Sequence[str | Sequence[str]] | None = None, name: str = "polygon") -> Domain:
    """Polygonal domain with optional polygonal holes.

    Parameters
    ----------
    vertices
        Outer polygon vertices ``(K, 2)`` in order (either orientation).
    holes
        Hole polygons.
    names
        Boundary tag for every outer edge (a string) or one per edge; default ``"outer"``.
    hole_names
        Per hole: a tag or one tag per edge; default ``"hole0"``, ``"hole1"``, ...
    name
        Domain name.

    Raises
    ------
    MeshError
        A ring with fewer than 3 vertices, non-finite or repeated consecutive
        vertices, or zero area.
    ConfigError
        A number of edge tags that does not match the number of edges.
    """
    outer = _ring(vertices, names, "outer")
    rings = []
    for k, hole in enumerate(holes):
        rings.append(_ring(hole, None if hole_names is None else hole_names[k], f"hole{k}"))
    return Domain(outer, tuple(rings), name)


def disk(radius: float = 1.0, center: tuple[float, float] = (0.0, 0.0)) -> Domain:
    """Disk of ``radius`` (boundary tag ``"outer"``)."""
    if not radius > 0:
        raise ConfigError(f"empty domain: disk radius must be > 0, got {radius}")
    return Domain(Ring(names=("outer",), center=tuple(center), radius=float(radius)), (), "disk")


def annulus(inner: float = 0.5, outer: float = 1.0, center: tuple[float, float] = (0.0, 0.0)) -> Domain:
    """Annulus ``inner < r < outer`` (tags ``"outer"`` and ``"inner"``)."""
    if not 0 < inner < outer:
        raise ConfigError(f"empty domain: annulus needs 0 < inner < outer, got {inner}, {outer}")
    return Domain(Ring(names=("outer",), center=tuple(center), radius=float(outer)),
                  (Ring(names=("inner",), center=tuple(center), radius=float(inner)),), "annulus")


def l_shape(size: float = 1.0) -> Domain:
    """L-shaped domain ``[0, s]^2`` minus ``(s/2, s] x (s/2, s]`` (tag ``"outer"``)."""
    s = float(size)
    v = [(0, 0), (s, 0), (s, s / 2), (s / 2, s / 2), (s / 2, s), (0, s)]
    return polygon(v, name="l_shape")


def square_with_hole(size: float = 1.0, hole_radius: float = 0.25) -> Domain:
    """Square ``[0, s]^2`` with a centred circular hole (tags ``"outer"``, ``"hole"``)."""
    s = float(size)
    if not 0 < hole_radius < s / 2:
        raise ConfigError(f"hole_radius must be in (0, size/2), got {hole_radius}")
    outer = _ring([(0, 0), (s, 0), (s, s), (0, s)], None, "outer")
    return Domain(outer, (Ring(names=("hole",), center=(s / 2, s / 2), radius=float(hole_radius)),),
                  "square_with_hole")


#: Named standard domains.
DOMAINS = {"disk": disk, "annulus": annulus, "l_shape": l_shape,
           "square_with_hole": square_with_hole}


def get_domain(domain: Domain | str) -> Domain:
    """A :class:`Domain`, or a standard one by name (see ``DOMAINS``).

    Raises
    ------
    ConfigError
        If ``domain`` is a name not in ``DOMAINS``.
    """
    if isinstance(domain, Domain):
        return domain
    try:
        return DOMAINS[domain]()
    except KeyError:
        raise ConfigError(f"unknown domain {domain!r}; known: {sorted(DOMAINS)} "
                         "or pass a Domain (topologies.polygon(...))") from None


def _contains(rings: Sequence[np.ndarray], pts: np.ndarray) -> np.ndarray:
    """Points inside the polygon ``rings[0]`` and outside every ``rings[1:]``."""
    from matplotlib.path import Path

    inside = Path(rings[0]).contains_points(pts)
    for hole in rings[1:]:
        inside &= ~Path(hole).contains_points(pts)
    return inside


def lloyd_points(rings: Sequence[np.ndarray], fixed: np.ndarray, count: int, h: float,
                 seed: int | None = 0, iterations: int = 30, density: int = 6) -> np.ndarray:
    """Interior points relaxed towards a centroidal Voronoi tessellation.

    Starts from ``count`` uniform random points in the polygon ``rings`` and
    applies Lloyd iterations: each point moves to the centroid of its Voronoi
    region, estimated on a fine lattice of sample points (spacing ``h/density``,
    randomly offset). The ``fixed`` (boundary) points act as generators that
    do not move, so interior points keep a distance of about ``h/2`` from the
    boundary.

    Parameters
    ----------
    rings
        Polygon rings (outer first, then holes) of the discretized domain.
    fixed
        ``(B, 2)`` fixed generators (boundary points).
    count
        Number of interior points.
    h
        Target spacing.
    seed
        Seed of ``numpy.random.default_rng``.
    iterations
        Lloyd iterations (0: plain uniform random points).
    density
        Sample lattice points per ``h`` along each axis.

    Returns
    -------
    numpy.ndarray
        ``(count, 2)`` interior points.
    """
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    lo, hi = rings[0].min(axis=0), rings[0].max(axis=0)
    pts = np.empty((0, 2))
    while len(pts) < count:
        cand = lo + (hi - lo) * rng.random((2 * count + 16, 2))
        pts = np.concatenate([pts, cand[_contains(rings, cand)]])
    pts = pts[:count]
    if iterations <= 0 or count == 0:
        return pts
    step = h / density
    offset = rng.random(2) * step
    gx = np.arange(lo[0] + offset[0], hi[0], step)
    gy = np.arange(lo[1] + offset[1], hi[1], step)
    samples = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1).reshape(-1, 2)
    samples = samples[_contains(rings, samples)]
    nf = len(fixed)
    for _ in range(iterations):
        _, owner = cKDTree(np.concatenate([fixed, pts])).query(samples)
        owner = owner - nf
        mine = owner >= 0
        o = owner[mine]
        n = np.bincount(o, minlength=count)
        sx = np.bincount(o, weights=samples[mine, 0], minlength=count)
        sy = np.bincount(o, weights=samples[mine, 1], minlength=count)
        has = n > 0
        pts[has] = np.c_[sx[has], sy[has]] / n[has, None]
    return pts
