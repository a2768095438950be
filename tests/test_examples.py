"""Every script in examples/ runs and checks its own claims."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, out):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(out)


def test_quickstart(tmp_path):
    s = run_example("quickstart", tmp_path)
    assert s["spikes"] == pytest.approx(1.77e6, rel=0.02)
    assert s["mass_final"] + s["boundary_mass"] == pytest.approx(0.63664595, rel=1e-9)
