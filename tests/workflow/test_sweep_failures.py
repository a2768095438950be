"""A sweep keeps its finished points when some fail, and writes them as they finish."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from evsim.cli import main
from evsim.errors import ConfigError
from evsim.workflow import sweep


def test_failing_points_are_listed_and_the_others_kept(tmp_path):
    s = sweep.run_sweep("heat1d", [1e-3, 2e-3], tmp_path, cells=[20, 0], t_end=0.2, plot=False)
    assert s["complete"] and len(s["points"]) == 2 and len(s["failed"]) == 2
    assert [(p["quota"], p["cells"]) for p in s["points"]] == [(1e-3, 20), (2e-3, 20)]
    assert [(f["index"], f["quota"], f["cells"]) for f in s["failed"]] == [(1, 1e-3, 0),
                                                                          (3, 2e-3, 0)]
    assert all(f["error"] == "ConfigError: cells must be > 0, got 0" for f in s["failed"])
    assert all(p["ledger_residual"] == 0 for p in s["points"])
    on_disk = json.loads((tmp_path / "sweep.json").read_text())
    assert on_disk["failed"] == s["failed"] and len(on_disk["points"]) == 2
    assert (tmp_path / "sweep.csv").read_text().count("\n") == 3


def test_a_sweep_where_every_point_fails_still_reports(tmp_path):
    s = sweep.run_sweep("heat1d", [1e-3], tmp_path, cells=0, executor=ThreadPoolExecutor(1))
    assert s["points"] == [] and s["pareto"] == [] and len(s["failed"]) == 1
    assert s["files"] == ["sweep.json"] and not (tmp_path / "sweep.csv").exists()


def test_points_are_written_as_they_finish(tmp_path, monkeypatch):
    release = threading.Event()
    real = sweep.run_point

    def gated(problem, quota, **kw):
        if quota == 2e-3:
            assert release.wait(60)
        return real(problem, quota, **kw)

    monkeypatch.setattr(sweep, "run_point", gated)
    done = {}
    runner = threading.Thread(target=lambda: done.update(sweep.run_sweep(
        "heat1d", [1e-3, 2e-3], tmp_path, executor=ThreadPoolExecutor(2), cells=20, t_end=0.2,
        plot=False)))
    runner.start()
    try:
        path = tmp_path / "sweep.json"
        for _ in range(600):
            if path.exists():
                break
            threading.Event().wait(0.1)
        partial = json.loads(path.read_text())
        assert partial["complete"] is False and [p["quota"] for p in partial["points"]] == [1e-3]
    finally:
        release.set()
        runner.join(120)
    assert done["complete"] and len(done["points"]) == 2


def test_sweep_folder_is_not_overwritten_silently(tmp_path):
    (tmp_path / "sweep.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a run"):
        sweep.run_sweep("heat1d", [1e-3], tmp_path, cells=20, t_end=0.2)
    s = sweep.run_sweep("heat1d", [1e-3], tmp_path, cells=20, t_end=0.2, plot=False,
                        overwrite=True, executor=ThreadPoolExecutor(1))
    assert json.loads((tmp_path / "sweep.json").read_text())["points"] == s["points"]


def test_cli_exits_1_when_a_point_failed(tmp_path, capsys):
    code = main(["sweep", "heat1d", "--quotas", "1e-3", "--cells", "20", "0", "--t-end", "0.2",
                 "--workers", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "point 1 {'quota': 0.001, 't_end': 0.2, 'engine': 'compiled', 'cells': 0} failed: " \
           "ConfigError: cells must be > 0, got 0" in err
    assert len(json.loads((tmp_path / "sweep.json").read_text())["points"]) == 1


def test_cli_default_sweep_folders_are_numbered(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["sweep", "heat1d", "--quotas", "1e-3", "--cells", "20", "--t-end", "0.2",
                     "--workers", "1"]) == 0
    assert (tmp_path / "runs" / "sweep-heat1d" / "sweep.json").exists()
    assert (tmp_path / "runs" / "sweep-heat1d-2" / "sweep.json").exists()


def test_order2_sweep_counts_every_message_on_its_pareto_axis(tmp_path):
    from evsim.workflow.sweep import run_sweep
    s = run_sweep("heat1d", [1e-2], tmp_path / "sw", cells=20, t_end=0.2, order=2,
                  tolerance=[1e-3, 1e-4], max_workers=1)
    for p in s["points"]:
        assert p["order"] == 2 and p["messages"] == p["events"]["packet"] + p["events"]["trajectory"]
        assert p["messages"] > p["spikes"]
    assert s["pareto_rmse_messages"] and (tmp_path / "sw" / "pareto.png").is_file()
