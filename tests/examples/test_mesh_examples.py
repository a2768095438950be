"""Run examples/irregular_meshes.py as a test (it asserts its own claims)."""
import importlib.util
from pathlib import Path

import pytest


def test_irregular_meshes_example(tmp_path):
    pytest.importorskip("meshio")
    pytest.importorskip("skfem")
    path = Path(__file__).resolve().parents[2] / "examples" / "irregular_meshes.py"
    spec = importlib.util.spec_from_file_location("irregular_meshes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = module.main(tmp_path)
    assert summary["rmse_vs_semidiscrete"] < 5e-3
    assert (tmp_path / "room.xdmf").exists() and (tmp_path / "room_field.png").exists()
