"""Irregular 2D meshes, 3D tetrahedra, mesh files, FEM cross-check."""
from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import topologies as T
from evsim.workflow.problems import get_problem
from evsim.teachers import semidiscrete, steady_state
from evsim.topologies.simplicial import boundary_facets, edge_weights, validate_mesh
from identical import assert_same_network

J01 = 2.404825557695773


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def cells_of(g):
    return T.cell_nodes(g)


def disk_u0(g):
    x = T.cell_positions(g)
    from scipy.special import j0

    return j0(J01 * np.hypot(x[:, 0], x[:, 1]))


def disk_exact(g, t):
    return disk_u0(g) * np.exp(-0.1 * J01 ** 2 * t)


# ----------------------------------------------------------------------------- disk (must show)
def test_disk_problem_rmse_below_3em3_and_ledger_zero():
    p = get_problem("disk")
    g = p.build(p.cells, p.diffusivity)
    n = len(cells_of(g))
    assert 1900 <= n <= 2000                                   # "about 2,000 cells"
    u0 = p.initial(T.cell_positions(g))
    res = evsim.simulate(g, u0=u0, quota=p.quota, t_end=0.5, record=np.array([0.0, 0.25, 0.5]))
    exact = p.exact(T.cell_positions(g), res.times)
    err = rmse(res.potential[-1], exact[-1])
    assert err < 3e-3                                          # measured 9.8e-4 (q = 2e-6)
    assert res.ledger.residual == 0
    assert res.spikes > 10 ** 6
    # mass balance: what left the cells went into the boundary reservoirs
    assert res.mass_initial - res.mass_final == pytest.approx(res.boundary_mass, abs=1e-9)
    # separating the errors: discretization alone is 10x below the total
    sd = semidiscrete(g, u0, np.array([0.5]))[-1]
    assert rmse(sd, exact[-1]) < 2e-4                          # measured 1.0e-4
    assert rmse(res.potential[-1], sd) < 3e-3


def test_disk_spatial_order_at_least_1_5():
    """Semi-discrete (exact in time, no quantization) error vs exact J0 under refinement."""
    hs, errs = [], []
    for cells in (250, 500, 1000, 2000):
        g = T.voronoi_2d("disk", cells=cells, diffusivity=0.1, seed=0)
        sd = semidiscrete(g, disk_u0(g), np.array([0.5]))[-1]
        hs.append(g.graph["spacing"])
        errs.append(rmse(sd, disk_exact(g, 0.5)))
    order = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert order >= 1.5, (order, errs)                         # measured 2.1
    assert np.all(np.diff(errs) < 0)


def test_disk_quantization_error_scales_with_quota():
    g = T.voronoi_2d("disk", cells=500, diffusivity=0.1, seed=3)
    u0 = disk_u0(g)
    sd = semidiscrete(g, u0, np.array([0.3]))[-1]
    errs, spikes = [], []
    for q in (4e-5, 1e-5):
        res = evsim.simulate(g, u0=u0, quota=q, t_end=0.3, record=np.array([0.3]))
        assert res.ledger.residual == 0
        errs.append(rmse(res.potential[-1], sd))
        spikes.append(res.spikes)
    assert errs[1] < errs[0] / 2                               # O(q)
    assert 3 < spikes[1] / spikes[0] < 5                       # spikes ~ 1/q


# ----------------------------------------------------------------------------- 3D (must show)
def test_cube3d_problem_rmse_below_5em3_under_a_minute():
    p = get_problem("cube3d")
    start = time.perf_counter()
    g = p.build(p.cells, p.diffusivity)
    x = T.cell_positions(g)
    assert x.shape == (len(cells_of(g)), 3) and g.graph["dim"] == 3
    res = evsim.simulate(g, u0=p.initial(x), quota=p.quota, t_end=p.t_end,
                         record=np.asarray(p.record))
    wall = time.perf_counter() - start
    err = rmse(res.potential, p.exact(x, res.times))
    assert err < 5e-3                                          # measured 1.9e-3
    assert wall < 60                                           # measured ~3 s
    assert res.ledger.residual == 0


def test_kuhn_box_is_the_seven_point_stencil():
    n, kappa = 5, 0.3
    g = T.tetra_box(cells=n, diffusivity=kappa, jitter=0.0)
    h = 1 / n
    assert len(cells_of(g)) == (n - 1) ** 3
    for c in cells_of(g):
        assert g.nodes[c]["volume"] == pytest.approx(h ** 3)
        assert g.degree(c) == 6                                # diagonals have g = 0
        for _, _, d in g.edges(c, data=True):
            assert d["conductance"] == pytest.approx(kappa * h)


def test_tetra_voronoi_conductances_positive_where_p1_is_not():
    points, tets, _ = T.tetrahedralize_ball(cells=600, seed=2)
    p, t = validate_mesh(points, tets)
    _, w_p1, _ = edge_weights(p, t, "p1")
    pairs, w_vor, vol = edge_weights(p, t, "voronoi")
    interior = np.ones(len(p), bool)
    interior[np.unique(boundary_facets(t))] = False
    inner = interior[pairs[:, 0]] | interior[pairs[:, 1]]
    assert np.all(w_vor[inner] >= -1e-12 * w_vor.max())
    assert np.all(vol[interior] > 0)
    assert np.any(w_p1[inner] < 0)                             # slivers: why 3D defaults to voronoi
    with pytest.raises(ValueError, match="negative conductance"):
        T.simplex_graph(points, tets, scheme="p1")
    g = T.tetra_ball(cells=600, seed=2)                        # voronoi: accepted
    assert min(d["conductance"] for *_, d in g.edges(data=True)) > 0


def test_ball_steady_state_and_decay_mode():
    """Ball, u = 1 on the sphere: steady state is 1; the lowest mode decays as exp(-kappa pi^2 t)."""
    g = T.tetra_ball(cells=1500, diffusivity=1.0, boundary=1.0, seed=1)
    assert np.allclose(steady_state(g), 1.0)
    g0 = T.tetra_ball(cells=1500, diffusivity=1.0, boundary=0.0, seed=1)
    x = T.cell_positions(g0)
    r = np.linalg.norm(x, axis=1)
    u0 = np.sinc(r)                                            # sin(pi r) / (pi r)
    sd = semidiscrete(g0, u0, np.array([0.05]))[-1]
    assert rmse(sd, u0 * np.exp(-np.pi ** 2 * 0.05)) < 4e-3      # measured 2.0e-3


# ----------------------------------------------------------------------------- geometry / graphs
@pytest.mark.parametrize("name", ["disk", "annulus", "l_shape", "square_with_hole"])
def test_2d_domains_positive_conductance_and_exact_area(name):
    from evsim.topologies.domains import get_domain

    dom = get_domain(name)
    points, tri, tags = T.triangulate(dom, cells=400, seed=5)
    p, t = validate_mesh(points, tri)
    pairs, w, vol = edge_weights(p, t, "p1")
    assert np.all(w >= -1e-12 * w.max())                       # Delaunay + Gabriel boundary
    # volumes partition the mesh; mesh area -> domain area at O(h^2)
    h = np.median(np.linalg.norm(p[pairs[:, 1]] - p[pairs[:, 0]], axis=1))
    assert abs(vol.sum() - dom.area()) < 2 * h ** 2 * (1 + len(dom.holes))
    # 2D: Voronoi two-point flux == P1 cotangent stiffness
    _, w_vor, _ = edge_weights(p, t, "voronoi")
    assert np.allclose(w, w_vor, atol=1e-12)
    assert set(tags) == set(dom.tags())
    g = T.voronoi_2d(dom, cells=400, seed=5, boundary="neumann", diffusivity=2.0)
    assert len(cells_of(g)) == len(p)                          # Neumann: every vertex is a cell
    assert sum(d["volume"] for _, d in g.nodes(data=True)) == pytest.approx(vol.sum())
    assert g.graph["dim"] == 2 and g.graph["diffusivity"] == 2.0 and g.graph["name"] == name


def test_seed_reproducible():
    a, _, _ = T.triangulate("l_shape", cells=300, seed=7)
    b, _, _ = T.triangulate("l_shape", cells=300, seed=7)
    c, _, _ = T.triangulate("l_shape", cells=300, seed=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_annulus_laplace_matches_log_profile():
    """Steady state with u = 1 on r = 1/2 and 0 on r = 1 is ln(r) / ln(1/2)."""
    g = T.voronoi_2d("annulus", cells=1500, diffusivity=1.0, boundary={"inner": 1.0, "outer": 0.0})
    r = np.hypot(*T.cell_positions(g).T)
    assert rmse(steady_state(g), np.log(r) / np.log(0.5)) < 5e-4  # measured 1.4e-4


def test_boundary_tags_callable_and_precedence():
    dom = T.polygon([(0, 0), (1, 0), (1, 1), (0, 1)], names=["bottom", "right", "top", "left"])
    g = T.voronoi_2d(dom, cells=200, seed=1,
                     boundary={"top": lambda p: 2 * p[0], "left": "neumann", "bottom": "neumann",
                               "right": "neumann"})
    res = [(n, d) for n, d in g.nodes(data=True) if d["kind"] == "reservoir"]
    assert res and all(n[1] == "top" for n, _ in res)
    for _, d in res:
        assert d["potential"] == pytest.approx(2 * d["pos"][0])
    # the corner (0, 1) is on top (Dirichlet) and left (Neumann): Dirichlet wins
    assert any(np.allclose(d["pos"], (0, 1)) for _, d in res)
    with pytest.raises(ValueError, match="unknown boundary tag"):
        T.voronoi_2d(dom, cells=50, boundary={"lid": 1.0})


# ----------------------------------------------------------------------------- ledger everywhere
def _ledger_meshes(tmp_path):
    pts, tri, tags = T.triangulate("square_with_hole", cells=300, seed=2)
    T.write_mesh(tmp_path / "sq.msh", pts, tri, tags)
    tp, tt, ttags = T.tetrahedralize_box(cells=5, jitter=0.2, seed=1)
    T.write_mesh(tmp_path / "box.vtu", tp, tt, ttags)
    return {
        "disk-dirichlet": T.voronoi_2d("disk", cells=300, diffusivity=0.1),
        "annulus-mixed": T.voronoi_2d("annulus", cells=300, boundary={"inner": 1.0, "outer": "neumann"}),
        "l_shape-neumann": T.voronoi_2d("l_shape", cells=300, boundary="neumann", decay=0.5),
        "polygon-latency": T.voronoi_2d(T.polygon([(0, 0), (2, 0), (1.5, 1), (0.2, 0.9)]),
                                        cells=200, latency=0.01, boundary=lambda p: p[0]),
        "ball": T.tetra_ball(cells=300, seed=1),
        "box-neumann-sides": T.tetra_box(cells=5, jitter=0.0,
                                         boundary={"left": 1.0, "right": 0.0, "top": "neumann",
                                                   "bottom": "neumann", "front": "neumann",
                                                   "back": "neumann"}),
        "file-msh": T.mesh_graph(tmp_path / "sq.msh", boundary={"hole": 1.0, "outer": "neumann"}),
        "file-vtu-3d": T.mesh_graph(tmp_path / "box.vtu", diffusivity=0.5),
    }


def test_ledger_residual_zero_on_every_mesh(tmp_path):
    for name, g in _ledger_meshes(tmp_path).items():
        n = len(cells_of(g))
        u0 = np.random.default_rng(0).random(n)
        res = evsim.simulate(g, u0=u0, quota=2e-4, t_end=0.2, record=np.array([0.0, 0.2]))
        assert res.spikes > 100, name
        assert res.ledger.residual == 0, name
        assert (res.mass_initial - res.mass_final - res.boundary_mass
                == pytest.approx(res.quota * res.ledger.in_transit, abs=1e-9)), name


def test_neumann_closed_domain_conserves_mass_exactly():
    g = T.voronoi_2d("annulus", cells=300, boundary="neumann", seed=4)
    assert all(d["kind"] == "cell" for _, d in g.nodes(data=True))
    V = np.array([g.nodes[c]["volume"] for c in cells_of(g)])
    u0 = np.random.default_rng(1).random(len(V))
    res = evsim.simulate(g, u0=u0, quota=1e-4, t_end=5.0, record=np.array([0.0, 5.0]))
    assert res.boundary_mass == 0 and res.ledger.residual == 0
    assert res.mass_final == pytest.approx(res.mass_initial, rel=1e-12)
    # relaxes to the volume-weighted mean, to O(q / V)
    mean = (V * u0).sum() / V.sum()
    assert np.max(np.abs(res.potential[-1] - mean)) < 0.05


# ----------------------------------------------------------------------------- files
def _same_graph(a: nx.Graph, b: nx.Graph) -> None:
    assert list(a.nodes) == list(b.nodes)
    for n in a.nodes:
        da, db = a.nodes[n], b.nodes[n]
        assert da["kind"] == db["kind"]
        assert np.allclose(da["pos"], db["pos"], rtol=0, atol=1e-12)
        for k in ("volume", "potential"):
            if k in da:
                assert db[k] == pytest.approx(da[k], rel=1e-12, abs=1e-15)
    assert {frozenset(e) for e in a.edges} == {frozenset(e) for e in b.edges}
    for u, v, d in a.edges(data=True):
        assert b.edges[u, v]["conductance"] == pytest.approx(d["conductance"], rel=1e-10)


def file_mesh(dim):
    """A 2D (annulus: a Dirichlet callable and Neumann) or 3D (box) mesh to write to files,
    and its boundary conditions."""
    if dim == 2:
        return (*T.triangulate("annulus", cells=300, seed=1),
                {"inner": lambda p: p[0] + 2.0, "outer": "neumann"})
    return *T.tetrahedralize_box(cells=4, jitter=0.2, seed=3), {"left": 1.0, "top": "neumann"}


@pytest.mark.parametrize("dim", [2, 3])
def test_mesh_written_in_two_formats_reads_back_as_same_graph(tmp_path, dim):
    pytest.importorskip("meshio")
    pts, cells, tags, bc = file_mesh(dim)
    ref = T.simplex_graph(pts, cells, diffusivity=0.7, tags=tags, boundary=bc)
    names = {k: name for k, name in enumerate(tags, start=1)}
    graphs = []
    for suffix in (".msh", ".vtu", ".vtk"):
        path = tmp_path / f"mesh{suffix}"
        T.write_mesh(path, pts, cells, tags)
        g = T.mesh_graph(path, diffusivity=0.7, boundary=bc,
                         tag_names=None if suffix == ".msh" else names)  # gmsh keeps names
        graphs.append(g)
        _same_graph(ref, g)
    pts2, cells2, tags2 = T.read_mesh(tmp_path / "mesh.msh")
    assert set(tags2) == set(tags)
    assert np.array_equal(cells2, cells)


@pytest.mark.parametrize("dim", [2, 3])
def test_a_mesh_file_compiles_without_a_graph_to_the_graph_path_network(tmp_path, dim):
    pytest.importorskip("meshio")
    from evsim.network import compile_network

    pts, cells, tags, bc = file_mesh(dim)
    extra = {"decay": 0.3, "source_density": 0.5} if dim == 2 else {"latency": 0.01,
                                                                    "scheme": "voronoi"}
    path = tmp_path / "mesh.msh"
    T.write_mesh(path, pts, cells, tags)
    want = compile_network(T.mesh_graph(path, diffusivity=0.7, boundary=bc, **extra))
    got = T.mesh_network(path, diffusivity=0.7, boundary=bc, **extra)
    assert_same_network(got, want)
    ordered = T.mesh_network(path, diffusivity=0.7, boundary=bc, order="rcm", **extra)
    assert (ordered.cells, ordered.size) == (want.cells, want.size)
    assert np.isclose(ordered.conductance.sum(), want.conductance.sum(), rtol=1e-12)


def test_mesh_network_refuses_a_missing_file_and_an_unknown_order_by_name(tmp_path):
    pytest.importorskip("meshio")
    with pytest.raises(evsim.ResultFileError, match="mesh file '.*missing.msh' does not exist"):
        T.mesh_network(tmp_path / "missing.msh")
    pts, cells, tags, bc = file_mesh(2)
    T.write_mesh(tmp_path / "m.msh", pts, cells, tags)
    with pytest.raises(evsim.ConfigError, match="unknown order 'bogus'"):
        T.mesh_network(tmp_path / "m.msh", boundary=bc, order="bogus")


def test_bad_meshes_clear_errors(tmp_path):
    meshio = pytest.importorskip("meshio")
    sq = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], float)
    tri = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    with pytest.raises(ValueError, match="duplicate points.*vertices"):
        T.simplex_graph(np.r_[sq, [[0.5, 0.5]]], np.r_[tri, [[0, 1, 5]]])
    with pytest.raises(ValueError, match="degenerate triangle.*zero area"):
        T.simplex_graph(np.r_[sq, [[2, 0]]], np.r_[tri, [[0, 1, 5]]])
    with pytest.raises(ValueError, match="degenerate triangle.*repeat a vertex"):
        T.simplex_graph(sq, np.r_[tri, [[0, 0, 4]]])
    inverted = tri.copy()
    inverted[1] = inverted[1][[1, 0, 2]]
    with pytest.raises(ValueError, match="inverted triangle: 1 of 4"):
        T.simplex_graph(sq, inverted)
    assert T.simplex_graph(sq, inverted, orient=True).number_of_nodes() == 5
    with pytest.raises(ValueError, match="non-manifold or overlapping"):
        T.simplex_graph(np.r_[sq, [[0.5, -0.5], [0.5, -0.3]]], np.r_[tri, [[0, 5, 1], [0, 6, 1]]])
    with pytest.raises(ValueError, match="empty mesh"):
        T.simplex_graph(sq, np.empty((0, 3), int))
    with pytest.raises(ValueError, match="empty domain"):
        T.voronoi_2d(T.polygon([(0, 0), (1, 1), (2, 2)]), cells=10)
    with pytest.raises(ValueError, match="empty domain"):
        T.voronoi_2d("disk", cells=0)
    with pytest.raises(ValueError, match="empty domain"):
        T.disk(radius=0.0)
    with pytest.raises(ValueError, match="negative conductance"):
        # obtuse triangle opposite a Neumann edge between two cells
        T.simplex_graph(np.array([[0, 0], [1, 0], [0.5, 0.1], [0.5, -1]]),
                        np.array([[0, 1, 2], [0, 3, 1]]), boundary="neumann")
    pts3 = np.c_[sq, np.zeros(5)]
    mixed = meshio.Mesh(pts3, [("triangle", tri[:2]), ("quad", np.array([[0, 1, 2, 3]]))])
    with pytest.raises(ValueError, match="mixed element types: triangle with \\['quad'\\]"):
        T.mesh_graph(mixed)
    quads = meshio.Mesh(pts3, [("quad", np.array([[0, 1, 2, 3]]))])
    with pytest.raises(ValueError, match="unsupported element type.*quad"):
        T.mesh_graph(quads)
    lines = meshio.Mesh(pts3, [("line", np.array([[0, 1]]))])
    with pytest.raises(ValueError, match="empty mesh"):
        T.mesh_graph(lines)
    path = tmp_path / "dup.vtu"
    meshio.Mesh(np.r_[pts3, [[1, 1, 0]]], [("triangle", np.r_[tri, [[1, 5, 4]]])]).write(path)
    with pytest.raises(ValueError, match="duplicate points"):
        T.mesh_graph(path)


def test_write_results_xdmf_and_pvd(tmp_path):
    meshio = pytest.importorskip("meshio")
    g = T.voronoi_2d("disk", cells=200, diffusivity=0.1, seed=2)
    res = evsim.simulate(g, u0=disk_u0(g), quota=1e-4, t_end=0.2, record=np.linspace(0, 0.2, 3))
    n = len(cells_of(g))
    out = T.write_results(tmp_path / "run.xdmf", g, res)
    with meshio.xdmf.TimeSeriesReader(str(out)) as reader:
        points, _ = reader.read_points_cells()
        assert reader.num_steps == 3
        t, pdata, _ = reader.read_data(2)
    assert t == pytest.approx(0.2)
    cell_vertices = [v for v, node in enumerate(g.graph["vertex_nodes"]) if isinstance(node, int)]
    assert np.allclose(pdata["potential"][cell_vertices], res.potential[-1])
    assert pdata["spikes_sent"][cell_vertices].sum() == res.node_spikes[:n].sum()
    assert pdata["spikes_received"].sum() == res.node_received.sum()
    pvd = T.write_results(tmp_path / "series" / "run.pvd", g, res)
    assert pvd.read_text().count("<DataSet") == 3
    m = meshio.read(tmp_path / "series" / "run_0002.vtu")
    assert np.allclose(m.point_data["potential"][cell_vertices], res.potential[-1])


# ----------------------------------------------------------------------------- FEM cross-check
def test_fem_crosscheck_disk():
    pytest.importorskip("skfem")
    from evsim.teachers.fem import fem_reference

    g = T.voronoi_2d("disk", cells=1000, diffusivity=0.1, seed=0)
    u0 = disk_u0(g)
    fem = fem_reference(g, u0, [0.25, 0.5])
    exact = disk_exact(g, 0.5)
    assert rmse(fem[-1], exact) < 5e-4                         # measured 2.6e-4 (independent FEM)
    sd = semidiscrete(g, u0, np.array([0.5]))[-1]
    assert rmse(fem[-1], sd) < 5e-4                            # same mesh, lumped vs consistent
    res = evsim.simulate(g, u0=u0, quota=4e-6, t_end=0.5, record=np.array([0.5]))
    assert rmse(res.potential[-1], fem[-1]) < 3e-3


def test_fem_crosscheck_tetra_converges_to_same_solution():
    pytest.importorskip("skfem")
    from evsim.teachers.fem import fem_reference

    gaps = []
    for n in (6, 10):
        g = T.tetra_box(cells=n, diffusivity=0.1, jitter=0.25, seed=0)
        x = T.cell_positions(g)
        u0 = np.prod(np.sin(np.pi * x), axis=1)
        gaps.append(rmse(fem_reference(g, u0, [0.5])[-1], semidiscrete(g, u0, np.array([0.5]))[-1]))
    assert gaps[1] < gaps[0] / 2                               # both O(h^2) to the PDE


def test_meshplot_writes_figures(tmp_path):
    from evsim.analysis.meshplot import plot_mesh_result

    g = T.voronoi_2d("l_shape", cells=150, diffusivity=0.1, seed=0)
    res = evsim.simulate(g, u0=np.ones(len(cells_of(g))), quota=1e-3, t_end=0.1,
                         record=np.array([0.0, 0.1]))
    paths = plot_mesh_result(g, res, tmp_path, reference=res.potential * 0.99)
    assert [p.name for p in paths] == ["mesh_field.png", "mesh_spikes.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    g3 = T.tetra_box(cells=4, jitter=0.0)
    res3 = evsim.simulate(g3, u0=np.ones(len(cells_of(g3))), quota=1e-3, t_end=0.05,
                          record=np.array([0.05]))
    assert len(plot_mesh_result(g3, res3, tmp_path, prefix="cube")) == 2
