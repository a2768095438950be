"""Every script in examples/ runs and checks its own claims."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis.mapping import CoreMesh, map_cells

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, out):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(out)


def test_quickstart(tmp_path):
    out = tmp_path / "not" / "yet"                     # the example creates its output folder
    s = run_example("quickstart", out)
    assert (out / "heat1d.npz").is_file()
    assert s["spikes"] == pytest.approx(1.77e6, rel=0.02)
    h = 0.01
    mass_initial = h * np.sin(np.pi * (np.arange(100) + 0.5) * h).sum()  # midpoint rule of 2/pi
    assert s["mass_final"] + s["boundary_mass"] == pytest.approx(mass_initial, rel=1e-12)


def test_network_ledger_and_mapping_reprs_are_one_line_of_counts():
    mesh = topologies.grid_2d(cells=8, length=1.0, diffusivity=0.1)
    network = evsim.compile_network(mesh)
    result = evsim.simulate(network, u0=np.ones(64), quota=1e-2, t_end=0.05)
    mapping = map_cells(mesh, CoreMesh(2, 2, 16))
    reprs = {repr(network): "Network(cells=64, reservoirs=", repr(result.ledger): "Ledger(cells=64, ",
             repr(mapping): "Mapping(method='blocks', cells=64, mesh=2x2, capacity=16, cores_used=4, "
                            "max_load=16)"}
    for text, start in reprs.items():
        assert text.startswith(start), text
        assert "\n" not in text and "array" not in text and len(text) < 120, text
    assert repr(result.ledger).endswith("in_transit=0, residual=0)")
    assert f"edges={network.size}," in repr(network)
