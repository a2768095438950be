"""A mesh never silently gives a wrong answer: watertight boundaries, no untagged
defaults, slivers and extreme scales are MeshErrors, results scale exactly."""
from __future__ import annotations

import numpy as np
import pytest

from evsim import topologies as T
from evsim.errors import MeshError
from evsim.teachers import steady_state
from evsim.topologies.simplicial import boundary_facets, edge_weights

INSULATED = {"bottom": "neumann", "top": "neumann", "front": "neumann", "back": "neumann"}


def cell_x(g, axis=0):
    return T.cell_positions(g)[:, axis]


# ----------------------------------------------------------------------------- watertight tetrahedra
@pytest.mark.parametrize("cells", [3, 4, 6, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jittered_box_boundary_is_exactly_the_six_faces(cells, seed):
    points, tets, tags = T.tetrahedralize_box(cells, jitter=0.25, seed=seed)
    facets = boundary_facets(tets)
    assert len(facets) == 6 * 2 * cells ** 2          # two triangles per boundary square
    tagged = np.concatenate(list(tags.values()))
    assert len(tagged) == len(facets)
    assert {tuple(f) for f in np.sort(tagged, axis=1).tolist()} == {tuple(f) for f in facets.tolist()}
    x = points[tets]
    volume = np.abs(np.linalg.det(x[:, 1:] - x[:, :1])).sum() / 6
    assert volume == pytest.approx(1.0, rel=1e-12)


def test_ball_boundary_is_the_convex_hull():
    from scipy.spatial import ConvexHull

    points, tets, tags = T.tetrahedralize_ball(cells=400, seed=2)
    x = points[boundary_facets(tets)]
    area = 0.5 * np.linalg.norm(np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0]), axis=1).sum()
    assert area == pytest.approx(ConvexHull(points).area, rel=1e-12)
    assert len(tags["outer"]) == len(x)


@pytest.mark.parametrize("cells", [4, 6, 9])
@pytest.mark.parametrize("seed", [0, 1, 3])
def test_jittered_box_with_insulated_sides_reaches_the_linear_steady_state(cells, seed):
    g = T.tetra_box(cells, jitter=0.25, seed=seed,
                    boundary={"left": 0.0, "right": 1.0, **INSULATED})
    assert "boundary" not in g.graph["boundary_tags"]
    assert np.max(np.abs(steady_state(g) - cell_x(g))) < 1e-10


def test_jittered_box_linear_steady_state_along_every_axis():
    for axis, (lo, hi) in enumerate(T.SIDES):
        sides = {s: "neumann" for pair in T.SIDES for s in pair}
        sides.update({lo: 0.0, hi: 2.0})
        g = T.tetra_box(5, lengths=2.0, jitter=0.25, seed=7, boundary=sides)
        assert np.max(np.abs(steady_state(g) - cell_x(g, axis))) < 1e-10


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cells", [100, 400])
def test_voronoi_square_with_two_insulated_sides_reaches_the_linear_steady_state(seed, cells):
    square = T.polygon([(0, 0), (1, 0), (1, 1), (0, 1)], names=["bottom", "right", "top", "left"],
                       name="square")
    g = T.voronoi_2d(square, cells=cells, seed=seed,
                     boundary={"left": 0.0, "right": 1.0, "bottom": "neumann", "top": "neumann"})
    assert np.max(np.abs(steady_state(g) - cell_x(g))) < 1e-10


# ----------------------------------------------------------------------------- no untagged default
SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], float)
FAN = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])


def test_untagged_boundary_facets_are_an_error_naming_the_tag_and_count():
    tags = {"inlet": np.array([[3, 0]])}
    with pytest.raises(MeshError, match=r"3 of 4 boundary facets belong to no tag \(tag 'boundary'\)"):
        T.simplex_graph(SQUARE, FAN, tags=tags, boundary={"inlet": 1.0})
    explicit = T.simplex_graph(SQUARE, FAN, tags=tags, boundary={"inlet": 1.0, "boundary": "neumann"})
    assert np.allclose(steady_state(explicit), 1.0)
    one = T.simplex_graph(SQUARE, FAN, tags=tags, boundary=0.5)   # one condition for every facet
    assert steady_state(one) == pytest.approx([0.5])


# ----------------------------------------------------------------------------- slivers
SLIVER_3D = (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 0.5, 1e-9]], float),
             np.array([[0, 1, 2, 3]]))
SLIVER_2D = (np.array([[0, 0], [1, 0], [0.5, 1e-12], [0.5, -1.0]], float),
             np.array([[0, 1, 2], [0, 3, 1]]))


@pytest.mark.parametrize("mesh", [SLIVER_3D, SLIVER_2D], ids=["tetra", "triangle"])
@pytest.mark.parametrize("scheme", ["p1", "voronoi"])
def test_hand_built_sliver_is_a_mesh_error_naming_the_element(mesh, scheme):
    points, simplices = mesh
    with pytest.raises(MeshError, match=r"degenerate (tetrahedron|triangle).*first element 0 = "):
        T.simplex_graph(points, simplices, boundary="neumann", scheme=scheme)


def test_singular_element_geometry_is_a_mesh_error_not_linalgerror():
    points = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    flat = np.array([[0, 1, 3, 4], [0, 1, 2, 3]])          # element 1 is flat (collinear 0, 1, 2)
    for scheme in ("p1", "voronoi"):
        with pytest.raises(MeshError, match=r"element\(s\) have a singular geometry system, "
                                            r"first element 1 = \[0, 1, 2, 3\]"):
            edge_weights(points, flat, scheme)


def test_sliver_in_a_mesh_file_is_a_mesh_error(tmp_path):
    pytest.importorskip("meshio")
    points, tets = SLIVER_3D
    T.write_mesh(tmp_path / "sliver.vtu", points, tets)
    with pytest.raises(MeshError, match="degenerate tetrahedron"):
        T.mesh_graph(tmp_path / "sliver.vtu", boundary="neumann")


# ----------------------------------------------------------------------------- scale
def _attributes(g):
    cells = T.cell_nodes(g)
    volume = np.array([g.nodes[c]["volume"] for c in cells])
    edges = sorted(g.edges(data="conductance"), key=lambda e: (str(e[0]), str(e[1])))
    return volume, np.array([c for *_, c in edges]), [(str(u), str(v)) for u, v, _ in edges]


MESHES = {"disk": lambda: T.triangulate("disk", cells=300, seed=1),
          "box": lambda: T.tetrahedralize_box(4, jitter=0.25, seed=2)}


@pytest.mark.parametrize("name", sorted(MESHES))
@pytest.mark.parametrize("scale", [1e-100, 1e-12, 1e-6, 1e6, 1e12, 1e100])
def test_volumes_and_conductances_scale_exactly(name, scale):
    points, simplices, tags = MESHES[name]()
    d = points.shape[1]
    bc = {t: "neumann" for t in tags}
    bc[sorted(tags)[0]] = 1.0
    v1, g1, e1 = _attributes(T.simplex_graph(points, simplices, tags=tags, boundary=bc))
    vs, gs, es = _attributes(T.simplex_graph(points * scale, simplices, tags=tags, boundary=bc))
    assert es == e1                  # round-off relative to the largest value (slivers cancel)
    np.testing.assert_allclose(vs * scale ** -d, v1, rtol=1e-12, atol=1e-12 * v1.max())
    np.testing.assert_allclose(gs * scale ** -(d - 2), g1, rtol=1e-12, atol=1e-12 * g1.max())


@pytest.mark.parametrize("name", sorted(MESHES))
@pytest.mark.parametrize("scale, problem", [(1e200, "overflow"), (1e-200, "underflow")])
def test_extreme_scales_are_mesh_errors_naming_the_problem(name, scale, problem):
    points, simplices, tags = MESHES[name]()
    with pytest.raises(MeshError, match=rf"coordinates out of range: .* {problem} float64"):
        T.simplex_graph(points * scale, simplices, tags=tags, boundary=0.0)


def test_coordinates_whose_extent_overflows_are_a_mesh_error():
    points, simplices = (SQUARE - 0.5) * 1e308 * 2, FAN          # coordinates +-1e308
    with pytest.raises(MeshError, match="mesh extent overflows float64"):
        T.simplex_graph(points, simplices)


@pytest.mark.parametrize("scale", [1e-200, 1e-12, 1.0, 1e12, 1e200])
def test_duplicate_points_are_relative_to_the_mesh_extent(scale):
    points = np.vstack([SQUARE, SQUARE[4] + 1e-12]) * scale     # a near copy of the centre
    tri = np.vstack([FAN, [[0, 1, 5]]])
    with pytest.raises(MeshError, match="duplicate points: 1 pair"):
        T.simplex_graph(points, tri)
