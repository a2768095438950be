"""Optional heavy packages go through evsim.optional.require: a missing one is a
MissingDependency naming the extra, never swallowed, and importing evsim needs none of them."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import evsim
from evsim import topologies as T
from evsim.errors import MissingDependency
from evsim.optional import EXTRAS, require

SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], float)
FAN = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])


def missing(monkeypatch, *modules):
    """Make ``import module`` fail as if the package were not installed."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_require_returns_the_module():
    import json

    assert require("json") is json
    assert require("os.path") is sys.modules["os.path"]


@pytest.mark.parametrize("module, extra", sorted(EXTRAS.items()))
def test_require_names_the_extra_of_each_optional_package(monkeypatch, module, extra):
    missing(monkeypatch, module)
    with pytest.raises(MissingDependency, match=rf'{module} is needed for testing .*evsim\[{extra}\]'):
        require(module, feature="testing")


def test_require_of_a_submodule_of_a_missing_package(monkeypatch):
    missing(monkeypatch, "dask", "dask.distributed")      # (either may be imported already)
    with pytest.raises(MissingDependency, match=r'dask\.distributed is needed.*"evsim\[dask\]"'):
        require("dask.distributed")
    missing(monkeypatch, "skfem", "skfem.models", "skfem.models.poisson")
    with pytest.raises(MissingDependency, match=r'"evsim\[mesh\]"'):
        require("skfem.models.poisson")


def test_require_without_a_known_extra_names_the_package():
    with pytest.raises(MissingDependency, match="pip install evsim_no_such_package$"):
        require("evsim_no_such_package")
    with pytest.raises(MissingDependency, match=r'pip install "evsim\[special\]"'):
        require("evsim_no_such_package", extra="special")


def test_require_does_not_hide_a_broken_package(tmp_path, monkeypatch):
    """An installed package failing on one of *its* imports is a broken install, not a missing extra."""
    (tmp_path / "evsim_broken_pkg").mkdir()
    (tmp_path / "evsim_broken_pkg" / "__init__.py").write_text("import evsim_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        require("evsim_broken_pkg")
    assert not isinstance(info.value, MissingDependency)
    assert info.value.name == "evsim_absent_dependency"


def test_import_evsim_and_its_builders_needs_no_optional_package():
    code = textwrap.dedent("""
        import sys
        import evsim, evsim.topologies, evsim.teachers.fem, evsim.teachers.semidiscrete
        heavy = {"meshio", "skfem", "xarray", "netCDF4"} & set(sys.modules)
        assert not heavy, heavy
        assert "matplotlib.pyplot" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ meshio (extra "mesh")
def test_mesh_files_without_meshio(tmp_path, monkeypatch):
    missing(monkeypatch, "meshio")
    hint = r'meshio is needed for reading and writing mesh files.*pip install "evsim\[mesh\]"'
    with pytest.raises(MissingDependency, match=hint):
        T.write_mesh(tmp_path / "m.msh", SQUARE, FAN)
    with pytest.raises(MissingDependency, match=hint):
        T.read_mesh(tmp_path / "m.msh")
    with pytest.raises(MissingDependency, match=hint):
        T.mesh_graph(tmp_path / "m.msh")
    g = T.simplex_graph(SQUARE, FAN)
    with pytest.raises(MissingDependency, match=hint):
        T.write_results(tmp_path / "run.xdmf", g, times=[0.0], potential=[[0.0]])


def test_mesh_file_round_trip_with_meshio(tmp_path):
    pytest.importorskip("meshio")
    T.write_mesh(tmp_path / "m.msh", SQUARE, FAN)
    points, simplices, _ = T.read_mesh(tmp_path / "m.msh")
    assert np.array_equal(points[:, :2], SQUARE) and np.array_equal(simplices, FAN)


# ------------------------------------------------------------------ scikit-fem (extra "mesh")
def test_fem_teacher_without_scikit_fem(monkeypatch):
    from evsim.teachers.fem import fem_heat, fem_reference

    missing(monkeypatch, "skfem")
    hint = r'skfem is needed for the FEM teacher.*pip install "evsim\[mesh\]"'
    with pytest.raises(MissingDependency, match=hint):
        fem_heat(SQUARE, FAN, np.zeros(5), [0.1], 1.0)
    with pytest.raises(MissingDependency, match=hint):
        fem_reference(T.simplex_graph(SQUARE, FAN), np.zeros(1), [0.1])


def test_fem_teacher_with_scikit_fem():
    pytest.importorskip("skfem")
    from evsim.teachers.fem import fem_heat

    u = fem_heat(SQUARE, FAN, np.r_[np.zeros(4), 1.0], [0.0, 0.1], 1.0, dirichlet=[0, 1, 2, 3])
    assert u[0, 4] == 1.0 and 0.0 < u[1, 4] < 1.0


# ------------------------------------------------------------------ xarray / netCDF4 (extra "io")
@pytest.fixture(scope="module")
def result():
    return evsim.simulate(T.grid_1d(cells=4, diffusivity=0.1), u0=np.ones(4), quota=1e-2, t_end=0.1,
                          progress=False)


@pytest.mark.parametrize("module", ["xarray", "netCDF4"])
def test_netcdf_results_without_the_io_extra(tmp_path, monkeypatch, result, module):
    missing(monkeypatch, module)
    with pytest.raises(MissingDependency, match=rf'{module} is needed for writing netCDF.*"evsim\[io\]"'):
        result.save(tmp_path / "run.nc")
    (tmp_path / "old.nc").write_bytes(b"CDF")
    with pytest.raises(MissingDependency, match=rf'{module} is needed for reading netCDF.*"evsim\[io\]"'):
        evsim.load(tmp_path / "old.nc")
    assert evsim.load(result.save(tmp_path / "run.npz")).spikes == result.spikes  # npz needs nothing
