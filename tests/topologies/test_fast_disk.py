"""The fast irregular disk (topologies.fastmesh.disk_mesh / disk_network)."""
import numpy as np
import pytest
from scipy.special import j0, jn_zeros

import evsim
from evsim.errors import ConfigError, MeshError
from evsim.teachers import semidiscrete
from evsim.topologies import fastmesh
from evsim.topologies.fastmesh import MIN_DISK_CELLS, disk_mesh, disk_network
from evsim.topologies.simplicial import boundary_facets, simplex_cells, simplex_volumes

J01 = jn_zeros(0, 1)[0]


@pytest.mark.parametrize("radius, jitter", [(1.0, 0.0), (1.0, 0.25), (2.5, 0.45)])
def test_disk_mesh_covers_the_polygon_with_positive_conductances(radius, jitter):
    points, tri, tags = disk_mesh(3000, radius=radius, jitter=jitter, seed=2)
    n = len(tags["outer"])
    assert np.allclose(np.hypot(*points[:n].T), radius, rtol=1e-14)
    assert np.all(np.hypot(*points[n:].T) < radius * np.cos(np.pi / n))
    area = simplex_volumes(points, tri)
    assert np.all(area > 0)                                    # counter-clockwise
    assert np.isclose(area.sum(), 0.5 * n * radius ** 2 * np.sin(2 * np.pi / n), rtol=1e-12)
    assert abs(area.sum() - np.pi * radius ** 2) < 2.5 * np.pi ** 3 * radius ** 2 / n ** 2
    chords = np.sort(tags["outer"], axis=1)
    facets = boundary_facets(tri)
    assert len(facets) == n and {tuple(f) for f in facets.tolist()} == {tuple(c) for c in chords.tolist()}
    for scheme in ("p1", "voronoi"):
        m = simplex_cells(points, tri, tags=tags, boundary="neumann", scheme=scheme)
        assert np.all(m.weight > 0)                            # every mesh edge, chords too
        assert np.all(m.volume > 0)
        assert np.isclose(m.volume.sum(), area.sum(), rtol=1e-12)
    p1 = simplex_cells(points, tri, tags=tags, scheme="p1")
    vor = simplex_cells(points, tri, tags=tags, scheme="voronoi")
    assert np.allclose(p1.weight, vor.weight, rtol=1e-9)       # cotangent = Voronoi flux in 2D
    assert 0.97 * 3000 < p1.cells < 1.01 * 3000


def test_disk_network_is_the_array_path_of_its_mesh():
    net = disk_network(800, radius=1.5, diffusivity=0.1, jitter=0.2, seed=4)
    points, tri, tags = disk_mesh(800, radius=1.5, jitter=0.2, seed=4)
    want = fastmesh.simplex_network(points, tri, diffusivity=0.1, tags=tags)
    assert net.nodes == want.nodes and np.array_equal(net.edges, want.edges)
    assert np.array_equal(net.conductance, want.conductance)
    assert np.all(net.conductance > 0) and net.reservoirs == len(tags["outer"])
    assert np.array_equal(net.positions, points[len(tags["outer"]):])
    # the disk problem's boundary mapping applies unchanged (tag "outer")
    hot = disk_network(800, radius=1.5, boundary={"outer": 1.0}, jitter=0.2, seed=4)
    assert np.all(hot.reservoir_potential == 1.0)
    neumann = disk_network(800, radius=1.5, boundary={"outer": "neumann"}, jitter=0.2, seed=4)
    assert neumann.reservoirs == 0 and neumann.cells == len(points)
    assert np.isclose(neumann.volume.sum(), simplex_volumes(points, tri).sum(), rtol=1e-12)


def test_same_seed_same_arrays_other_seed_other_points():
    a, b, c = (disk_mesh(1500, jitter=0.3, seed=s) for s in (7, 7, 8))
    for x, y in zip(a[:2], b[:2]):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert np.array_equal(a[2]["outer"], b[2]["outer"])
    assert not np.array_equal(a[0][-100:], c[0][-100:])
    n1, n2 = disk_network(600, seed=3, order="morton"), disk_network(600, seed=3, order="morton")
    for name in ("edges", "conductance", "volume", "positions", "inc_ptr", "inc_edge"):
        assert np.array_equal(getattr(n1, name), getattr(n2, name)), name


def _heat_error(cells: int, radius: float = 1.0) -> float:
    """RMSE of the semi-discrete solution against the J0 mode at t = R^2 (kappa = 0.1)."""
    net = disk_network(cells, radius=radius, diffusivity=0.1, jitter=0.25, seed=1)
    r = np.hypot(*net.positions.T)
    u0 = j0(J01 * r / radius)
    t = radius ** 2
    u = semidiscrete(net, u0, np.array([0.0, t]))[-1]
    exact = u0 * np.exp(-0.1 * (J01 / radius) ** 2 * t)
    return float(np.sqrt(np.mean((u - exact) ** 2)))


def test_dirichlet_disk_heat_converges_to_the_j0_mode_at_second_order():
    errors = np.array([_heat_error(c) for c in (250, 1000, 4000)])    # h halves each time
    orders = np.log2(errors[:-1] / errors[1:])
    assert errors[0] < 2e-3 and errors[-1] < 1e-4
    assert np.all((orders > 1.6) & (orders < 2.5)), orders
    # the mesh scales with the radius: the same relative error at R = 2 (t = R^2)
    assert np.isclose(_heat_error(1000, radius=2.0), errors[1], rtol=1e-6)


def test_simulated_disk_follows_the_semi_discrete_reference():
    """Order 1 on the fast disk: error ~ sqrt(deg/12) q / V against the same graph exact
    in time, halving with the quota, ledger exact."""
    net = disk_network(300, diffusivity=0.1, jitter=0.25, seed=0)
    u0 = j0(J01 * np.hypot(*net.positions.T))
    times = np.array([0.0, 0.25, 0.5])
    ref = semidiscrete(net, u0, times)
    errors = []
    for q in (2e-5, 1e-5):
        result = evsim.simulate(net, u0, quota=q, t_end=0.5, record=times, progress=False)
        assert result.ledger.residual == 0 and result.stop_reason == "t_end"
        errors.append(np.sqrt(np.mean((result.potential[-1] - ref[-1]) ** 2)))
        scale = np.sqrt(6 / 12) * q / net.volume.mean()         # deg ~ 6 on a triangle mesh
        assert 0.5 * scale < errors[-1] < 2 * scale
    assert 1.5 < errors[0] / errors[1] < 2.6


@pytest.mark.parametrize("kwargs, name", [
    (dict(cells=MIN_DISK_CELLS - 1), "cells"), (dict(cells=0), "cells"), (dict(cells=2.5), "cells"),
    (dict(cells="many"), "cells"), (dict(radius=0.0), "radius"), (dict(radius=-1.0), "radius"),
    (dict(radius=np.inf), "radius"), (dict(jitter=-0.1), "jitter"), (dict(jitter=0.5), "jitter"),
    (dict(jitter=np.nan), "jitter"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=rf"\b{name}="):
        disk_mesh(**kwargs)
    with pytest.raises(ConfigError, match=rf"\b{name}="):
        disk_network(**kwargs)


def test_an_encroaching_point_is_refused(monkeypatch):
    """A point inside a chord's diametral circle makes the opposite angle obtuse: MeshError."""
    real = fastmesh._disk_points

    def encroached(radius, h, jitter, seed):
        ring, inner = real(radius, h, jitter, seed)
        mid = 0.5 * (ring[0] + ring[1])
        return ring, np.concatenate([inner, [0.995 * mid]])

    monkeypatch.setattr(fastmesh, "_disk_points", encroached)
    with pytest.raises(MeshError, match="obtuse angle opposite the boundary chord"):
        disk_mesh(500)


def test_a_missing_chord_triangle_is_refused():
    points, tri, tags = disk_mesh(200, seed=1)
    fastmesh._check_chords(points, tri, tags["outer"])                  # the mesh itself passes
    n = len(tags["outer"])
    at_chord = np.flatnonzero(np.isin(tri, [0, 1]).sum(axis=1) == 2)   # the triangle on chord 0-1
    assert len(at_chord) == 1
    with pytest.raises(MeshError, match=r"chord 0 \(vertices \[0, 1\]\) is in 0 triangles"):
        fastmesh._check_chords(points, np.delete(tri, at_chord, axis=0), tags["outer"])
    assert n == len(boundary_facets(tri))
