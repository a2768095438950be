"""Every script in examples/ runs and checks its own claims."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name, out):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(out)


def test_quickstart(tmp_path):
    s = run_example("quickstart", tmp_path)
    assert s["spikes"] == pytest.approx(1.77e6, rel=0.02)
    h = 0.01
    mass_initial = h * np.sin(np.pi * (np.arange(100) + 0.5) * h).sum()  # midpoint rule of 2/pi
    assert s["mass_final"] + s["boundary_mass"] == pytest.approx(mass_initial, rel=1e-12)
