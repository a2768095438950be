"""Run folders: one per run, no silent overwrite, no stale files; summaries tell how."""
import json
import signal
import sys
from datetime import datetime

import pytest

import evsim
from evsim.errors import ConfigError
from evsim.workflow.output import (clear_run, fresh_directory, holds_run, prepare_directory,
                                   write_csv, write_json)
from evsim.workflow.runner import OPTIONAL_SCORES, _StopSignals, run_problem


def test_fresh_directory_numbers_taken_folders(tmp_path):
    base = tmp_path / "runs" / "heat1d"
    assert fresh_directory(base) == base and base.is_dir()
    (base / "summary.json").write_text("{}")
    assert fresh_directory(base) == tmp_path / "runs" / "heat1d-2"
    (tmp_path / "runs" / "heat1d-2" / "x").write_text("")
    assert fresh_directory(base) == tmp_path / "runs" / "heat1d-3"
    assert fresh_directory(base) == tmp_path / "runs" / "heat1d-3"   # still empty: free


def test_prepare_directory_refuses_a_file_and_a_run(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is an existing file"):
        prepare_directory(tmp_path / "f")
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    assert prepare_directory(run) == run and not holds_run(run)   # a folder without a run is fine
    (run / "result.npz").write_bytes(b"")
    with pytest.raises(ConfigError, match=f"out '{run}' already holds a run; pass --overwrite"):
        prepare_directory(run)


def test_overwrite_clears_the_previous_run_but_nothing_else(tmp_path):
    for name in ("summary.json", "result.npz", "report.html", "field.png", "mesh.gif",
                 ".result.abc.tmp.npz", "notes.txt", "photo.png"):
        (tmp_path / name).write_text("")
    write_json(tmp_path / "summary.json", {"figures": ["field.png", "mesh.gif", "../escape"]})
    assert prepare_directory(tmp_path, overwrite=True) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "photo.png"]
    assert clear_run(tmp_path) == []


def test_write_csv_and_json(tmp_path):
    write_csv(tmp_path / "a.csv", [{"x": 1, "y": 2}, {"x": 3, "y": 4}])
    assert (tmp_path / "a.csv").read_text() == "x,y\n1,2\n3,4\n"
    assert json.loads(write_json(tmp_path / "a.json", {"v": 1.5}).read_text()) == {"v": 1.5}


def test_run_summary_records_command_config_version_and_time(tmp_path):
    _, s = run_problem("heat1d", cells=30, quota=1e-3, t_end=0.2, out=tmp_path, plots=False,
                       command=["evsim", "run", "heat1d"])
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["command"] == ["evsim", "run", "heat1d"]
    assert on_disk["config"] == {"problem": "heat1d", "cells": 30, "quota": 1e-3, "t_end": 0.2,
                                 "diffusivity": 0.1, "engine": "compiled", "initial": None,
                                 "max_events": None, "max_wall_seconds": None,
                                 "out": str(tmp_path), "plots": False, "order": 1,
                                 "tolerance": None}
    assert on_disk["evsim_version"] == evsim.__version__ and on_disk["skipped"] == {}
    assert datetime.fromisoformat(on_disk["created"]).tzinfo is not None
    assert s["rmse_semidiscrete"] > 0 and s["rmse_discretization"] > 0
    _, default = run_problem("heat1d", cells=30, quota=1e-3, t_end=0.2, plots=False)
    assert default["command"] == sys.argv


def test_a_second_run_into_the_same_folder_needs_overwrite(tmp_path):
    run_problem("heat1d", cells=30, quota=1e-3, t_end=0.2, out=tmp_path)
    assert (tmp_path / "field.png").exists()
    (tmp_path / "report.html").write_text("stale")
    with pytest.raises(ConfigError, match="already holds a run"):
        run_problem("heat1d", cells=30, quota=2e-3, t_end=0.2, out=tmp_path)
    assert evsim.load(tmp_path / "result.npz").quota == 1e-3          # the first run is intact
    _, s = run_problem("heat1d", cells=30, quota=2e-3, t_end=0.2, out=tmp_path, plots=False,
                       overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.npz", "summary.json"]
    assert evsim.load(tmp_path / "result.npz").quota == 2e-3 and s["quota"] == 2e-3


def test_max_wall_seconds_bounds_the_whole_run(tmp_path):
    result, s = run_problem("heat2d", quota=1e-7, max_wall_seconds=0.3, out=tmp_path)
    assert s["stop_reason"] == "max_wall_seconds" and result.ledger.residual == 0
    assert s["skipped"] == {**{k: "max_wall_seconds" for k in OPTIONAL_SCORES["exact"]},
                            "figures": "max_wall_seconds"}
    assert not set(OPTIONAL_SCORES["exact"]) & set(s) and "figures" not in s
    assert json.loads((tmp_path / "summary.json").read_text())["skipped"] == s["skipped"]
    assert s["rmse_final"] > 0
    assert evsim.load(tmp_path / "result.npz").stop_reason == s["stop_reason"]


def test_max_wall_seconds_with_a_semidiscrete_reference_skips_the_integration(monkeypatch):
    from evsim.workflow import case as case_module

    def never(*args, **kwargs):
        raise AssertionError("the graph was integrated in time after the budget was spent")

    monkeypatch.setattr(case_module, "semidiscrete", never)
    result, s = run_problem("laplace2d", quota=1e-6, max_wall_seconds=0.3, plots=False)
    assert s["reference"] == "semi-discrete" and s["stop_reason"] == "max_wall_seconds"
    assert s["skipped"] == {k: "max_wall_seconds" for k in OPTIONAL_SCORES["semi-discrete"]}
    assert s["rmse"] is None and s["rmse_final"] is None and s["rmse_semidiscrete"] is None
    assert s["rmse_steady"] > 0 and result.ledger.residual == 0      # analytic: still scored


def test_max_wall_seconds_left_after_the_run_keeps_the_scores():
    _, s = run_problem("heat1d", cells=30, quota=1e-3, t_end=0.2, max_wall_seconds=600.0,
                       plots=False)
    assert s["stop_reason"] == "t_end" and s["skipped"] == {}
    assert s["rmse_semidiscrete"] > 0


def test_stop_signals_raise_while_armed_record_after_and_restore(monkeypatch):
    previous = signal.getsignal(signal.SIGTERM)
    with _StopSignals() as stop:
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        stop.armed = False
        signal.raise_signal(signal.SIGTERM)          # recorded: the files get written
        assert stop.received == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):      # a second one while writing aborts
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is previous
