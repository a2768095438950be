"""`evsim run` puts each run in its own folder and replaces one only when asked."""
import json
import sys

from evsim.cli import main

SMALL = ["--cells", "20", "--quota", "1e-3", "--t-end", "0.2"]


def test_runs_without_out_get_numbered_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "heat1d", *SMALL]) == 0
    assert "evsim: writing to runs/heat1d\n" in capsys.readouterr().err
    (tmp_path / "runs" / "heat1d" / "report.html").write_text("report of the first run")
    assert main(["run", "heat1d", *SMALL, "--no-plots"]) == 0
    assert "evsim: writing to runs/heat1d-2\n" in capsys.readouterr().err
    first, second = tmp_path / "runs" / "heat1d", tmp_path / "runs" / "heat1d-2"
    assert (first / "field.png").exists() and (first / "report.html").exists()
    assert sorted(p.name for p in second.iterdir()) == ["result.npz", "summary.json"]
    summary = json.loads((second / "summary.json").read_text())
    assert summary["command"] == sys.argv and summary["config"]["out"] == "runs/heat1d-2"
    assert summary["config"]["plots"] is False and summary["config"]["cells"] == 20


def test_overwrite_replaces_a_run_without_stale_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "heat1d", *SMALL, "--out", str(out)]) == 0
    (out / "report.html").write_text("stale")
    assert main(["run", "heat1d", *SMALL, "--out", str(out), "--quota", "2e-3"]) == 2
    assert "already holds a run; pass --overwrite" in capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["quota"] == 1e-3
    assert main(["run", "heat1d", *SMALL, "--out", str(out), "--quota", "2e-3", "--overwrite",
                 "--no-plots"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["result.npz", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["quota"] == 2e-3
