"""METIS core mapping (pymetis, extra ``hardware``): capacity, determinism, cut quality."""
import sys

import numpy as np
import pytest

from evsim import topologies
from evsim.topologies import cell_nodes
from evsim.analysis.mapping import CoreMesh, cut_edges, map_cells
from evsim.errors import ConfigError, MissingDependency


@pytest.fixture(scope="module")
def disk():
    return topologies.voronoi_2d("disk", cells=2000, diffusivity=0.1, seed=0)


def test_metis_respects_capacity_and_is_deterministic():
    pytest.importorskip("pymetis")
    g = topologies.grid_2d(64, 1.0, 0.1)
    a = map_cells(g, CoreMesh(4, 4, 256), "metis")
    assert a.method == "metis" and np.all(a.load == 256)   # exactly full: capacity enforced
    b = map_cells(g, CoreMesh(4, 4, 256), "metis")
    assert np.array_equal(a.core, b.core)
    tight = map_cells(topologies.grid_1d(cells=40), CoreMesh(4, 1, 10), "metis", seed=3)
    assert np.all(tight.load == 10)


def test_metis_cut_no_worse_than_blocks_on_the_disk(disk):
    pytest.importorskip("pymetis")
    mesh = CoreMesh(4, 4, 256)
    metis = map_cells(disk, mesh, "metis")
    assert metis.load.max() <= 256 and metis.cells == len(cell_nodes(disk))
    assert cut_edges(disk, metis) <= cut_edges(disk, map_cells(disk, mesh))
    weighted = map_cells(disk, mesh, "metis", weight="conductance")
    assert weighted.load.max() <= 256
    with pytest.raises(ConfigError, match="weight"):
        map_cells(disk, mesh, "metis", weight="packets")


def test_metis_without_pymetis_names_the_hardware_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pymetis", None)
    with pytest.raises(MissingDependency, match=r"evsim\[hardware\]"):
        map_cells(topologies.grid_1d(cells=8), CoreMesh(2, 1, 4), "metis")
