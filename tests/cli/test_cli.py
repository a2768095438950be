"""The evsim command: run a problem or a TOML configuration, write summary.json."""
import json

import pytest

from evsim.cli import main

SUMMARY_KEYS = {"problem", "cells", "edges", "quota", "t_end", "engine", "spikes", "rmse",
                "rmse_final", "ledger_residual", "mass_initial", "mass_final", "boundary_mass",
                "wall_seconds", "events_per_second"}


def test_run_problem_writes_summary_result_and_figures(tmp_path):
    assert main(["run", "heat1d", "--cells", "50", "--quota", "1e-4", "--t-end", "0.5",
                 "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(s)
    assert s["ledger_residual"] == 0 and s["cells"] == 50 and s["edges"] == 51
    assert s["rmse"] < 3e-3 and s["spikes"] > 1000
    assert s["mass_initial"] == pytest.approx(s["mass_final"] + s["boundary_mass"])
    for name in ("result.npz", "field.png", "error.png", "mass.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_run_config_toml_zero_shot(tmp_path):
    cfg = tmp_path / "pisnn.toml"
    cfg.write_text('problem = "heat1d"\ncells = 40\nquota = 1e-4\nt_end = 0.3\nengine = "simpy"\n'
                   'initial = "heat1d-step"\ndiffusivity = 0.1\n[provenance]\nteacher = "test"\n')
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["engine"] == "simpy" and s["initial"] == "heat1d-step"
    assert s["reference"] == "semi-discrete" and s["provenance"] == {"teacher": "test"}
    assert s["rmse"] < 1e-2 and s["ledger_residual"] == 0


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["run", "heat9d", "--out", str(tmp_path)]) == 2
    assert "unknown problem 'heat9d'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('problem = "heat1d"\nqouta = 1\n')
    assert main(["run", str(bad)]) == 2
    assert "unknown configuration key(s) ['qouta']" in capsys.readouterr().err
    assert main(["run", "heat1d", "--quota", "0", "--out", str(tmp_path)]) == 2


def test_stopped_run_is_scored_where_it_stopped():
    import numpy as np

    from evsim import topologies
    from evsim.workflow.problems import get_problem
    from evsim.workflow.runner import run_problem

    result, s = run_problem("heat1d", cells=50, quota=1e-4, max_events=2000, plots=False)
    assert s["stop_reason"] == "max_events" and s["spikes"] == 2000
    assert s["records"] == [1, 21]              # only t = 0 was recorded (its error is 0) ...
    x = topologies.cell_positions(get_problem("heat1d").build(50, 0.1))
    exact = np.sin(np.pi * x[:, 0]) * np.exp(-0.1 * np.pi**2 * result.t_final)
    at_stop = np.mean((result.final_potential - exact) ** 2)
    assert s["rmse_final"] == pytest.approx(np.sqrt(at_stop))
    assert 0 < s["rmse_final"] < 5e-3          # ... so the final state is scored at t_final
    assert s["rmse"] == pytest.approx(np.sqrt(at_stop / 2))   # and counts in the headline rmse
    assert 0 < result.t_final < 0.1
