"""`evsim run` stopped by SIGTERM or SIGINT writes its partial run and exits 130."""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

import evsim
from evsim.cli.main import EXIT_INTERRUPTED


def wait_for_line(proc, text, timeout):
    """Read the child's stderr until a line contains ``text``; return what was read."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, f"no {text!r} on stderr; got {seen!r}"
        if sel.select(timeout=1.0):
            line = proc.stderr.readline()
            assert line, f"child exited early: {seen!r}"
            seen += line
    return seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_run_with_its_result_and_summary(tmp_path, sig):
    out = tmp_path / "out"
    env = dict(os.environ, TQDM_DISABLE="1")
    proc = subprocess.Popen([sys.executable, "-m", "evsim.cli", "run", "heat2d", "--quota", "1e-8",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        wait_for_line(proc, "evsim: writing to", 120)
        time.sleep(3)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr and f"interrupted ({sig.name})" in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "interrupted" and summary["signal"] == sig.name
    assert summary["skipped"]["rmse_semidiscrete"] == "interrupted"
    assert json.loads(stdout)["stop_reason"] == "interrupted"
    result = evsim.load(out / "result.npz")
    assert result.stop_reason == "interrupted" and result.ledger.residual == 0
    assert 0 < result.t_final < result.t_end and result.spikes == summary["spikes"] > 0
    # ... and the checkpoint it can be resumed from (the state at the stop, bit for bit)
    assert summary["checkpoint"] == "checkpoint.evsim" and (out / "checkpoint.evsim").is_file()
    assert f"evsim run --resume {out}" in stderr
    continued = evsim.resume(out / "checkpoint.evsim", max_events=result.firings + 1000,
                             progress=False)
    assert continued.spikes > result.spikes and continued.ledger.residual == 0
    assert (continued.potential[: result.times.size] == result.potential).all()
