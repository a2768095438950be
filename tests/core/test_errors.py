"""One exception hierarchy: every deliberate error is an EvsimError of the fitting class,
and its message names the parameter, node, element or file that is wrong."""
from __future__ import annotations

import math
import re

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import errors
from evsim import topologies as T
from evsim.errors import ConfigError, EvsimError, GraphError, MeshError, ResultFileError
from evsim.routing import Routing
from evsim.teachers import semidiscrete, steady_state
from evsim.teachers.base import cell_operator
from evsim.teachers.ftcs import ftcs

CLASSES = [getattr(errors, name) for name in errors.__all__]

SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], float)
FAN = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])


def raises_exactly(cls, call, message):
    """``call()`` raises exactly ``cls`` (not a subclass, not a parent) matching ``message``."""
    with pytest.raises(EvsimError) as info:
        call()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert re.search(message, str(info.value)), str(info.value)
    return info.value


# ------------------------------------------------------------------ the hierarchy
def test_every_class_is_an_evsim_error_exported_by_evsim():
    assert {c.__name__ for c in CLASSES} == {"EvsimError", "GraphError", "ConfigError",
                                             "MeshError", "ResultFileError", "MissingDependency"}
    for cls in CLASSES:
        assert issubclass(cls, EvsimError)
        assert getattr(evsim, cls.__name__) is cls


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_catching_evsim_error_catches_each(cls):
    try:
        raise cls("boom")
    except EvsimError as err:
        assert type(err) is cls and str(err) == "boom"


@pytest.mark.parametrize("cls", [GraphError, ConfigError, MeshError, ResultFileError],
                         ids=lambda c: c.__name__)
def test_input_errors_are_value_errors(cls):
    assert issubclass(cls, ValueError)
    with pytest.raises(ValueError):
        raise cls("bad input")


def test_missing_dependency_is_an_import_error():
    assert issubclass(errors.MissingDependency, ImportError)
    assert not issubclass(errors.MissingDependency, ValueError)


# ------------------------------------------------------------------ topology builders
def _no_pos_graph():
    g = nx.Graph()
    g.add_node("a", volume=1.0)
    return g


BUILDERS = [
    # grids: sizes, physics, boundary specification
    (lambda: T.grid_1d(cells=0), ConfigError, r"at least one cell, got cells=\(0,\)"),
    (lambda: T.grid((4,), (1.0, 2.0)), ConfigError, r"cells and lengths.*cells=\(4,\)"),
    (lambda: T.grid((2, 2, 2, 2), (1,) * 4), ConfigError, "cells and lengths must have the same length"),
    (lambda: T.grid_2d(cells=4, length=-1.0), ConfigError, r"lengths must be positive.*-1\.0"),
    (lambda: T.grid_1d(diffusivity=0.0), ConfigError, "diffusivity must be positive"),
    (lambda: T.grid_1d(decay=-1.0), ConfigError, "decay must be >= 0"),
    (lambda: T.grid_1d(latency=math.nan), ConfigError, "latency must be >= 0"),
    (lambda: T.grid_2d(cells=4, boundary={"north": 0.0}), ConfigError, r"unknown boundary side.*'north'"),
    (lambda: T.grid_1d(left="robin"), ConfigError, r"boundary 'left': unknown condition 'robin'"),
    (lambda: T.grid_1d(right=math.inf), ConfigError, r"boundary 'right': Dirichlet value must be finite"),
    (lambda: T.grid_1d(left=[1.0, 2.0]), ConfigError, r"boundary 'left': Dirichlet value"),
    (lambda: T.grid_1d(left="periodic"), ConfigError, r"periodic.*'left' and 'right'"),
    (lambda: T.cell_positions(_no_pos_graph()), GraphError, r"cell 'a' has no 'pos'"),
    # 3D tetrahedra
    (lambda: T.tetra_box(cells=0), ConfigError, r"cells=\(0, 0, 0\)"),
    (lambda: T.tetra_box(cells=(2, 2)), ConfigError, r"three interval counts.*cells=\(2, 2\)"),
    (lambda: T.tetra_box(cells=2, lengths=(1, 0, 1)), ConfigError, "box lengths must be positive"),
    (lambda: T.tetra_box(cells=2, jitter=0.7), ConfigError, "jitter must be in"),
    (lambda: T.tetra_ball(cells=10, radius=-1.0), ConfigError, "ball radius must be > 0"),
    (lambda: T.tetra_ball(cells=0), ConfigError, "cells=0"),
    # planar domains
    (lambda: T.voronoi_2d("disk", cells=0), ConfigError, "cells=0"),
    (lambda: T.voronoi_2d("moon", cells=10), ConfigError, r"unknown domain 'moon'"),
    (lambda: T.disk(radius=0.0), ConfigError, "disk radius must be > 0"),
    (lambda: T.annulus(inner=1.0, outer=0.5), ConfigError, "0 < inner < outer"),
    (lambda: T.square_with_hole(hole_radius=0.6), ConfigError, "hole_radius"),
    (lambda: T.polygon([(0, 0), (1, 1)]), MeshError, r"at least 3 vertices.*shape \(2, 2\)"),
    (lambda: T.polygon([(0, 0), (1, 0), (1, 0), (0, 1)]), MeshError, r"repeated.*vertex 1 \[1\.0, 0\.0\]"),
    (lambda: T.polygon([(0, 0), (1, 1), (2, 2)]), MeshError, "empty domain: polygon has zero area"),
    (lambda: T.polygon([(0, 0), (1, 0), (0, 1)], names=["a", "b"]), ConfigError,
     r"one boundary tag per polygon edge \(3\), got 2"),
    # simplicial meshes: degenerate, inverted, broken, badly tagged
    (lambda: T.simplex_graph(np.r_[SQUARE, [[2, 0]]], np.r_[FAN, [[0, 1, 5]]]), MeshError,
     r"degenerate triangle: 1 element\(s\) have zero area.*element 4 = \[0, 1, 5\]"),
    (lambda: T.simplex_graph(SQUARE, np.r_[FAN, [[0, 0, 4]]]), MeshError,
     r"repeat a vertex, first element 4 = \[0, 0, 4\]"),
    (lambda: T.simplex_graph(SQUARE, FAN[:, [1, 0, 2]][[0]].tolist() + FAN[1:].tolist()), MeshError,
     r"inverted triangle: 1 of 4 elements.*element 0"),
    (lambda: T.simplex_graph(SQUARE, FAN + 1), MeshError, r"index out of range \[0, 5\)"),
    (lambda: T.simplex_graph(np.r_[SQUARE[:4], [[math.nan, 0.5]]], FAN), MeshError,
     "non-finite coordinates at point 4"),
    (lambda: T.simplex_graph(SQUARE, FAN[:, :2]), MeshError, r"simplices must be.*shape \(4, 2\)"),
    (lambda: T.simplex_graph(SQUARE, np.empty((0, 3), int)), MeshError, "empty mesh"),
    (lambda: T.simplex_graph(np.array([[0, 0], [1, 0], [0.5, 0.1], [0.5, -1]]),
                             np.array([[0, 1, 2], [0, 3, 1]]), boundary="neumann"), MeshError,
     r"negative conductance.*worst edge between vertices \d \[.*\] and \d"),
    (lambda: T.simplex_graph(SQUARE, FAN, scheme="fvm"), ConfigError, r"unknown scheme 'fvm'"),
    (lambda: T.simplex_graph(SQUARE, FAN, negative="ignore"), ConfigError, r"negative must be.*'ignore'"),
    (lambda: T.simplex_graph(SQUARE, FAN, boundary={"inlet": 1.0}), ConfigError,
     r"unknown boundary tag\(s\) \['inlet'\]"),
    (lambda: T.simplex_graph(SQUARE, FAN, boundary="robin"), ConfigError,
     r"boundary 'boundary': unknown condition 'robin'"),
    (lambda: T.simplex_graph(SQUARE, FAN, tags={"side": [[0, 9]]}), MeshError,
     r"boundary tag 'side': facet vertex index out of range"),
    (lambda: T.simplex_graph(SQUARE[:4], [[0, 1, 2], [0, 2, 3]]), MeshError,
     "empty domain: every mesh vertex is a Dirichlet boundary vertex"),
]


@pytest.mark.parametrize("call, cls, message", BUILDERS, ids=[m for _, _, m in BUILDERS])
def test_topology_builders_name_the_bad_input(call, cls, message):
    raises_exactly(cls, call, message)


# ------------------------------------------------------------------ mesh files
@pytest.fixture
def meshio():
    return pytest.importorskip("meshio")


def test_read_mesh_of_a_missing_file_names_it(tmp_path, meshio):
    path = tmp_path / "nowhere.msh"
    raises_exactly(ResultFileError, lambda: T.read_mesh(path),
                   rf"mesh file '{re.escape(str(path))}' does not exist")


@pytest.mark.parametrize("name, content", [
    ("garbage.msh", b"\x00\x01 this is not a mesh \xff"),
    ("broken.vtu", b"<VTKFile type='UnstructuredGrid'><Piece"),
    ("truncated.msh", b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n5\n1 0 0 0\n"),
    ("empty.msh", b""),
])
def test_read_mesh_of_a_corrupt_file_names_it(tmp_path, meshio, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    err = raises_exactly(ResultFileError, lambda: T.read_mesh(path),
                         rf"cannot read mesh file '{re.escape(str(path))}'")
    assert err.__cause__ is not None             # the reader's own error is kept
    raises_exactly(ResultFileError, lambda: T.mesh_graph(path), re.escape(name))


def test_mesh_file_with_unsupported_elements_is_a_mesh_error_naming_the_file(tmp_path, meshio):
    path = tmp_path / "quads.vtu"
    meshio.Mesh(np.c_[SQUARE[:4], np.zeros(4)], [("quad", np.array([[0, 1, 2, 3]]))]).write(path)
    raises_exactly(MeshError, lambda: T.mesh_graph(path),
                   rf"mesh file '{re.escape(str(path))}': unsupported element type.*quad")


def test_write_mesh_and_results_name_the_bad_input(tmp_path, meshio):
    raises_exactly(MeshError, lambda: T.write_mesh(tmp_path / "m.vtu", SQUARE, FAN[:, :2]),
                   r"simplices must be.*shape \(4, 2\)")
    g = T.simplex_graph(SQUARE, FAN)
    raises_exactly(ConfigError, lambda: T.write_results(tmp_path / "run.csv", g, times=[0.0],
                                                        potential=[[0.0]]),
                   r"unknown results format '\.csv' of '.*run\.csv'")
    raises_exactly(ConfigError, lambda: T.write_results(tmp_path / "run.xdmf", g, times=[0.0, 1.0],
                                                        potential=[[0.0]]),
                   r"potential has shape \(1, 1\), expected \(2, 1\)")
    raises_exactly(GraphError, lambda: T.write_results(tmp_path / "run.xdmf", T.grid_1d(cells=3),
                                                       times=[0.0], potential=[[0, 0, 0]]),
                   "graph carries no mesh")


# ------------------------------------------------------------------ result files
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    g = T.grid_1d(cells=5, diffusivity=0.1)
    result = evsim.simulate(g, u0=np.ones(5), quota=1e-2, t_end=0.1, progress=False)
    return result, result.save(tmp_path_factory.mktemp("result") / "run.npz")


def test_load_of_a_missing_file_names_it(tmp_path):
    path = tmp_path / "missing.npz"
    raises_exactly(ResultFileError, lambda: evsim.load(path),
                   rf"{re.escape(str(path))}: no such file")


def test_load_of_a_corrupt_file_names_it(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"not a zip archive at all")
    raises_exactly(ResultFileError, lambda: evsim.load(path),
                   rf"{re.escape(str(path))}: not an evsim result file .*not a zip file")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_load_of_a_truncated_file_names_it(tmp_path, saved, keep):
    data = saved[1].read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: int(keep * len(data))])
    raises_exactly(ResultFileError, lambda: evsim.load(path), rf"^{re.escape(str(path))}: ")


@pytest.mark.parametrize("content", [b"CDF\x01 truncated", b"\x89HDF\r\n\x1a\n"])
def test_load_of_a_corrupt_netcdf_file_names_it(tmp_path, content):
    pytest.importorskip("xarray")
    pytest.importorskip("netCDF4")
    path = tmp_path / "corrupt.nc"
    path.write_bytes(content)
    raises_exactly(ResultFileError, lambda: evsim.load(path),
                   rf"{re.escape(str(path))}: cannot be read")


def test_load_of_a_netcdf_file_without_evsim_metadata_names_it(tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("netCDF4")
    path = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("i", np.arange(3))}).to_netcdf(path, engine="netcdf4")
    raises_exactly(ResultFileError, lambda: evsim.load(path), r"foreign\.nc: unexpected variable\(s\) \['x'\]")


def test_load_of_an_npz_that_is_not_a_result_names_what_is_missing(tmp_path, saved):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.arange(3))
    raises_exactly(ResultFileError, lambda: evsim.load(path), r"other\.npz: unexpected member 'x\.npy'")
    with np.load(saved[1]) as data:
        parts = {k: data[k] for k in data.files if k != "potential"}
    path = tmp_path / "partial.npz"
    np.savez(path, **parts)
    raises_exactly(ResultFileError, lambda: evsim.load(path),
                   r"partial\.npz: missing array\(s\) \['potential'\]")
    path = tmp_path / "list.npz"
    np.savez(path, __meta__=np.array("[1, 2]"))
    raises_exactly(ResultFileError, lambda: evsim.load(path), r"list\.npz: missing array\(s\)")


def test_a_good_file_still_loads(saved):
    result, path = saved
    back = evsim.load(path)
    assert np.array_equal(back.potential, result.potential) and back.spikes == result.spikes


# ------------------------------------------------------------------ teachers, routing, plots
def test_teachers_and_routing_name_the_bad_input():
    g = T.grid_1d(cells=4, diffusivity=0.1)
    raises_exactly(ConfigError, lambda: semidiscrete(g, np.zeros(4), [0.5, 0.1]),
                   r"times must be sorted and >= 0, got 0\.1 after 0\.5")
    closed = T.grid_1d(cells=4, left="neumann", right="neumann")
    raises_exactly(GraphError, lambda: steady_state(closed), "steady_state needs a reservoir")
    op = cell_operator(g)
    raises_exactly(ConfigError, lambda: ftcs(op, np.zeros(4), [0.1], cfl=2.0), r"cfl must be in \(0, 1\]")
    raises_exactly(ConfigError, lambda: ftcs(op, np.zeros(3), [0.1]), r"u0 has shape \(3,\)")
    raises_exactly(ConfigError, lambda: Routing(np.array([1, 2, 3]), np.array([0, 0]), np.ones(1)),
                   "Routing.ptr")
    raises_exactly(ConfigError, lambda: Routing(np.array([0, 1, 2]), np.array([0, 5]), np.ones(1)),
                   r"Routing.links.*\[0, 1\)")
    raises_exactly(ConfigError, lambda: Routing(np.array([0, 1, 1]), np.array([0]), -np.ones(1)),
                   "Routing.service")


def test_fem_teacher_names_the_bad_input():
    from evsim.teachers.fem import fem_heat, fem_reference

    raises_exactly(GraphError, lambda: fem_reference(T.grid_1d(cells=4), np.zeros(4), [0.1]),
                   "graph carries no mesh")
    decay = T.simplex_graph(SQUARE, FAN, boundary="neumann", decay=1.0)
    raises_exactly(GraphError, lambda: fem_reference(decay, np.zeros(5), [0.1]),
                   r"pure diffusion; graph has extra nodes \['ground'\]")
    raises_exactly(ConfigError, lambda: fem_reference(T.simplex_graph(SQUARE, FAN), np.zeros(3), [0.1]),
                   r"u0 must have one value per cell \(1\)")
    raises_exactly(ConfigError, lambda: fem_heat(SQUARE, FAN, np.zeros(5), [0.2, 0.1], 1.0),
                   "times must be non-negative and increasing")
    raises_exactly(ConfigError, lambda: fem_heat(SQUARE, FAN, np.zeros(5), [0.1], 0.0),
                   "diffusivity must be > 0")
    raises_exactly(ConfigError, lambda: fem_heat(SQUARE, FAN, np.zeros(4), [0.1], 1.0),
                   r"u0 must have one value per mesh vertex \(5\)")


def test_plots_name_the_bad_input(saved):
    from evsim.analysis import figures, meshplot

    g = T.simplex_graph(SQUARE, FAN)
    raises_exactly(ConfigError, lambda: meshplot.vertex_values(g, np.zeros(3)),
                   r"one value per cell \(1\)")
    raises_exactly(GraphError, lambda: meshplot.vertex_values(T.grid_1d(cells=3), np.zeros(3)),
                   "graph carries no mesh")
    raises_exactly(ConfigError, lambda: meshplot.plot_spikes(g, saved[0], kind="both"), "'both'")
    raises_exactly(ConfigError, lambda: figures.spike_raster(saved[0]), "spike_log=True")
    raises_exactly(ConfigError, lambda: figures.animate_potential(saved[0], "movie.mp4"), "'movie.mp4'")
