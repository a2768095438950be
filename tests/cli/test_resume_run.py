"""`evsim run --resume DIR`: a stopped run continues from its checkpoint, bit for bit."""
import json

import numpy as np
import pytest

import evsim
from evsim.cli.main import main
from evsim.workflow.runner import resume_run, run_problem

ARRAYS = ("times", "potential", "cell_count", "edge_forward", "edge_backward", "final_potential",
          "ledger_cells", "ledger_reservoirs")


@pytest.mark.parametrize("engine", ["compiled", "simpy"])
def test_a_stopped_run_resumes_to_the_uninterrupted_result(tmp_path, engine):
    kw = dict(cells=30, quota=1e-4, t_end=0.5, engine=engine, plots=False)
    whole, _ = run_problem("heat1d", out=tmp_path / "whole", **kw)
    assert not (tmp_path / "whole" / "checkpoint.evsim").exists()   # a finished run keeps none
    part, s = run_problem("heat1d", out=tmp_path / "part", max_events=whole.firings // 3, **kw)
    assert s["stop_reason"] == "max_events" and s["checkpoint"] == "checkpoint.evsim"
    resumed, s2 = resume_run(tmp_path / "part")
    assert s2["stop_reason"] == "t_end" and s2["config"]["resumed"] is True
    assert not (tmp_path / "part" / "checkpoint.evsim").exists()
    for name in ARRAYS:
        assert np.array_equal(getattr(resumed, name), getattr(whole, name)), name
    assert s2["spikes"] == whole.spikes and s2["rmse"] == pytest.approx(
        json.loads((tmp_path / "whole" / "summary.json").read_text())["rmse"], rel=0, abs=0)
    saved = evsim.load(tmp_path / "part" / "result.npz")
    assert np.array_equal(saved.potential, whole.potential) and saved.ledger.residual == 0


def test_cli_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "heat1d", "--cells", "20", "--quota", "1e-4", "--t-end", "0.3",
                 "--max-events", "2000", "--out", str(out), "--no-plots"]) == 0
    assert f"evsim run --resume {out}" in capsys.readouterr().err
    assert main(["run", "--resume", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "t_end" and summary["ledger_residual"] == 0


@pytest.mark.parametrize("argv, message", [
    (["run", "--resume", "{tmp}/nowhere"], "no readable summary.json"),
    (["run", "heat1d", "--resume", "{tmp}"], "give no problem or configuration"),
    (["run"], "needs a problem name or CONFIG.toml"),
])
def test_cli_resume_errors_name_the_problem(tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_resume_of_a_finished_run_names_the_missing_checkpoint(tmp_path, capsys):
    out = tmp_path / "done"
    run_problem("heat1d", cells=20, quota=1e-3, t_end=0.1, out=out, plots=False)
    assert main(["run", "--resume", str(out)]) == 2
    assert "no checkpoint.evsim to resume from" in capsys.readouterr().err


def test_bad_checkpoint_every_is_named(tmp_path, capsys):
    assert main(["run", "heat1d", "--cells", "10", "--checkpoint-every", "-1",
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "checkpoint_every" in err and "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["energy", "{tmp}/nowhere"], "no readable summary.json"),
    (["energy", "{run}", "--cores", "4by4"], "mesh must look like '4x4'"),
    (["energy", "{run}", "--cores", "0x4"], "mesh dimensions must be >= 1"),
])
def test_energy_bad_input_is_named(tmp_path, capsys, argv, message):
    run = tmp_path / "run"
    run_problem("heat1d", cells=10, quota=1e-3, t_end=0.05, out=run, plots=False)
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{run}", str(run)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_energy_of_an_order2_run_replays_it_at_order2(tmp_path, capsys):
    """`evsim energy` re-simulates a run without a spike log with the run's own order and
    tolerance, and lists the energy of each message kind."""
    run = tmp_path / "run"
    _, s = run_problem("heat1d", cells=20, quota=1e-3, t_end=0.2, out=run, plots=False,
                       order=2, tolerance=1e-3)
    capsys.readouterr()
    assert main(["energy", str(run)]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("{"):])
    text = json.dumps(report)
    assert '"trajectory"' in text and str(s["events"]["trajectory"]) in text
