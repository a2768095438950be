"""Fast mesh builders and the array path (topologies.fastmesh, topologies.ordering)."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.errors import ConfigError
from evsim.network import compile_network
from evsim.topologies.fastmesh import (box_network, cube_mesh, cube_network, shuffle_mesh,
                                       simplex_network, square_mesh, square_network)
from evsim.topologies.ordering import cell_order, morton_order, reorder
from evsim.topologies.simplicial import boundary_facets, simplex_cells, unique_rows
from evsim.topologies.tetra import tetrahedralize_box
from identical import assert_same_network



@pytest.mark.parametrize("options", [
    dict(),
    dict(boundary={"outer": "neumann"}, decay=0.5, source=lambda p: p[0], latency=0.01),
    dict(boundary=lambda p: p[0] + 2 * p[1], source=0.3),
])
def test_array_path_equals_the_graph_path_2d(options):
    points, tri, tags = topologies.triangulate("l_shape", 200, seed=3)
    graph = topologies.simplex_graph(points, tri, diffusivity=0.3, tags=tags, **options)
    assert_same_network(simplex_network(points, tri, diffusivity=0.3, tags=tags, **options),
                compile_network(graph))


def test_array_path_equals_the_canonical_cube3d_builder():
    graph = topologies.tetra_box(cells=6, diffusivity=0.1, jitter=0.25, seed=0,
                                 boundary={"left": 1.0, "top": "neumann"})
    net = box_network(6, diffusivity=0.1, boundary={"left": 1.0, "top": "neumann"})
    assert_same_network(net, compile_network(graph))
    assert net.cells == 5 ** 3 + 5 * 5 + 0       # the top face's interior vertices are cells


def test_unique_rows_is_np_unique():
    rng = np.random.default_rng(0)
    for cols, high in ((2, 30), (3, 9), (4, 6), (4, 200_000)):   # the last one is too wide to pack
        rows = rng.integers(0, high, (3000, cols))
        want = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
        got = unique_rows(rows, return_inverse=True, return_counts=True)
        for w, g in zip(want, got):
            assert np.array_equal(np.reshape(w, -1), np.reshape(g, -1))


@pytest.mark.parametrize("jitter", [0.0, 0.25])
def test_square_mesh_is_valid(jitter):
    points, tri, tags = square_mesh(12, lengths=(2.0, 1.0), jitter=jitter, seed=4)
    cells = simplex_cells(points, tri, tags=tags)
    assert cells.volume.sum() == pytest.approx(2.0, rel=1e-12)          # the rectangle's area
    assert np.all(cells.weight[cells.active] > 0)                       # positive conductances
    facets = boundary_facets(tri)                                       # watertight: the boundary
    length = np.linalg.norm(points[facets[:, 1]] - points[facets[:, 0]], axis=1).sum()
    assert length == pytest.approx(6.0, rel=1e-12)                      # is the perimeter
    assert sum(len(t) for t in tags.values()) == len(facets) == 2 * (12 + 12)
    assert {t: len(f) for t, f in tags.items()} == {"left": 12, "right": 12, "bottom": 12, "top": 12}
    assert cells.cells == 11 * 11


def test_unjittered_square_is_the_five_point_grid():
    net = square_network(10, diffusivity=0.7, jitter=0.0)
    assert net.cells == 81 and net.size == 2 * 9 * 8 + 4 * 9        # cell-cell + boundary edges
    assert np.allclose(net.conductance, 0.7, rtol=1e-12)           # g = kappa h / h
    assert np.allclose(net.volume, 0.01, rtol=1e-12)
    assert np.all(np.diff(net.inc_ptr) == 4)


def test_box_mesh_is_valid():
    points, tets, tags = tetrahedralize_box(5, jitter=0.25, seed=1)
    cells = simplex_cells(points, tets, tags=tags, scheme="voronoi")
    assert cells.volume.sum() == pytest.approx(1.0, rel=1e-9)
    assert np.all(cells.weight[cells.active] > 0)
    facets = boundary_facets(tets)
    x = points[facets]
    area = 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1).sum()
    assert area == pytest.approx(6.0, rel=1e-12)
    assert sum(len(t) for t in tags.values()) == len(facets)


def test_shuffled_mesh_is_the_same_mesh():
    points, tri, tags = square_mesh(8, seed=2)
    p2, t2, g2 = shuffle_mesh(points, tri, tags, seed=2)
    assert not np.array_equal(p2, points)
    a = square_network(8, seed=2)
    b = square_network(8, seed=2, shuffle=True)
    assert a.cells == b.cells and a.size == b.size
    assert sorted(a.volume) == pytest.approx(sorted(b.volume), rel=1e-12)
    assert sorted(a.conductance) == pytest.approx(sorted(b.conductance), rel=1e-12)
    assert {t: len(f) for t, f in g2.items()} == {t: len(f) for t, f in tags.items()}


def _span(net):
    """Mean |i - j| over cell-cell edges, in units of the cell count."""
    e = net.edges[(net.edges < net.cells).all(axis=1)]
    return float(np.mean(np.abs(e[:, 0] - e[:, 1]))) / net.cells


def test_orders_restore_locality():
    shuffled = square_network(41, seed=0, shuffle=True)
    assert _span(shuffled) > 0.3                                        # random: ~1/3
    for method in ("rcm", "morton"):
        ordered = reorder(shuffled, method)
        assert _span(ordered) < 0.05, method                           # a front: ~1/sqrt(N)
        assert sorted(ordered.nodes[:ordered.cells]) == sorted(shuffled.nodes[:shuffled.cells])
    assert reorder(shuffled, None) is shuffled
    with pytest.raises(ConfigError, match="unknown order 'hilbert'"):
        cell_order(shuffled, "hilbert")


def test_morton_order_on_a_lattice():
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [2, 0], [3, 0], [2, 1], [3, 1]], float)
    perm = np.random.default_rng(0).permutation(8)
    order = morton_order(x[perm])
    assert [tuple(p) for p in x[perm][order]] == [tuple(p) for p in x]
    with pytest.raises(ConfigError, match="position"):
        morton_order(np.array([[0.0, np.nan]]))


def _heat(net, quota):
    """u_t = Lap u on the unit square or cube from prod sin(pi x_a), Dirichlet 0:
    RMSE to u0 exp(-d pi^2 t) at t = 0.05."""
    d = net.positions.shape[1]
    u0 = np.prod(np.sin(np.pi * net.positions), axis=1)
    r = evsim.simulate(net, u0, quota=quota, t_end=0.05, progress=False)
    exact = u0 * np.exp(-d * np.pi ** 2 * 0.05)
    return float(np.sqrt(np.mean((r.final_potential - exact) ** 2))), r


@pytest.mark.parametrize("order", [None, "rcm", "morton"])
def test_diffusion_converges_and_orders_keep_the_physics(order):
    """Same physics in every order: RMSE to the exact solution shrinks with the mesh and
    the quota (O(h^2) + O(q/V), q ~ h^4), identical within tie-order noise, ledger exact."""
    errors = []
    for n, q in ((8, 4e-5), (16, 2.5e-6)):
        net = square_network(n, jitter=0.25, seed=1, shuffle=order is not None, order=order)
        err, r = _heat(net, q)
        assert r.ledger.residual == 0 and r.stop_reason == "t_end"
        errors.append(err)
    assert errors[0] < 0.0055 and errors[1] < 0.0015          # measured 0.00487, 0.00125
    assert errors[1] < 0.3 * errors[0]                         # second order: ~1/4


def test_box_network_diffusion():
    err, r = _heat(box_network(6, jitter=0.25, seed=0, order="rcm"), 2e-6)
    assert r.ledger.residual == 0
    assert err < 0.007                                         # measured 0.0061


def test_cube_mesh_fills_the_box_with_positive_conductances():
    points, tets, tags = cube_mesh(9, jitter=0.25, seed=5)
    cells = simplex_cells(points, tets, tags=tags, scheme="voronoi")
    assert len(points) == 10 ** 3                                       # the ghosts are gone
    assert cells.volume.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(cells.weight[cells.active] > 0)
    facets = boundary_facets(tets)
    assert sorted(map(tuple, np.sort(np.concatenate(list(tags.values())), axis=1))) == \
        sorted(map(tuple, facets))                                      # every side facet tagged once
    x = points[facets]
    assert 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1).sum() == \
        pytest.approx(6.0, rel=1e-12)
    side = points[np.unique(tags["left"])]
    assert np.all(side[:, 0] == 0.0) and np.ptp(side[:, 1]) == 1.0      # side vertices stay on it
    insulated = cube_network(6, boundary={"top": "neumann", "left": 1.0}, seed=1)
    assert np.all(insulated.conductance > 0)


def test_cube_network_diffusion():
    err, r = _heat(cube_network(6, jitter=0.25, seed=0, order="morton"), 2e-6)
    assert r.ledger.residual == 0
    assert err < 0.007
