"""One run over two MPI processes (`mpiexec -n 2`) is the one-process run of the same
cut-latency model, bit for bit, with the ledger exact across the ranks."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import evsim
from evsim.errors import ConfigError
from evsim.workflow.runner import run_problem

#: an irregular mesh, so that packets cross the cut (a symmetric grid may carry no net flux
#: across METIS's cut)
RUN = ["disk", "--cells", "200", "--quota", "1e-5", "--t-end", "0.05", "--cut-latency", "0.002",
       "--no-plots"]


def _mpiexec():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (extra 'mpi')")
    pytest.importorskip("pymetis", reason="pymetis is not installed (extra 'mpi' or 'hardware')")
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.is_file() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec (pip install mpich, extra 'mpi')")
    return found


def test_two_ranks_are_bit_identical_to_one_process(tmp_path):
    mpiexec = _mpiexec()
    one, summary = run_problem("disk", cells=200, quota=1e-5, t_end=0.05, cut_latency=0.002,
                               parts=2, out=tmp_path / "one", plots=False)
    two = tmp_path / "two"
    proc = subprocess.run([mpiexec, "-n", "2", sys.executable, "-m", "evsim.cli", "run", *RUN,
                           "--ranks", "2", "--out", str(two)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("wrote ") == 1          # only rank 0 writes
    other = evsim.load(two / "result.npz")
    assert other.engine == "compiled-cut" and other.spikes == one.spikes > 1000
    for name in ("potential", "times", "final_potential", "edge_forward", "edge_backward",
                 "ledger_cells", "ledger_reservoirs", "cell_count"):
        np.testing.assert_array_equal(getattr(other, name), getattr(one, name), err_msg=name)
    assert other.ledger.residual == 0 and other.in_transit == one.in_transit > 0
    assert other.arrivals == one.arrivals > 100
    saved = json.loads((two / "summary.json").read_text())
    assert saved["ledger_residual"] == 0 and saved["spikes"] == summary["spikes"]
    assert saved["config"]["ranks"] == 2 and saved["config"]["parts"] == 2
    assert saved["config"]["cut_edges"] == summary["config"]["cut_edges"] > 0


def test_evsim_run_starts_mpiexec_itself(tmp_path):
    _mpiexec()
    proc = subprocess.run([sys.executable, "-m", "evsim.cli", "run", *RUN, "--ranks", "2",
                           "--t-end", "0.01", "--out", str(tmp_path / "two")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert saved["ledger_residual"] == 0 and saved["config"]["ranks"] == 2


@pytest.mark.parametrize("options, message", [
    ({"ranks": 2}, "need --cut-latency"),
    ({"cut_latency": -1.0}, "cut_latency must be a positive"),
    ({"cut_latency": 0.01, "ranks": 2, "parts": 3}, "must be 1 or the number of parts"),
    ({"cut_latency": 0.01, "engine": "simpy"}, "engine is not available with cut_latency"),
    ({"cut_latency": 0.01, "max_events": 10}, "max_events is not available"),
    ({"cut_latency": 0.01, "parts": 0}, "parts must be a positive integer"),
    ({"cut_latency": 0.01, "ranks": 2}, "needs an MPI world of 2 processes"),
])
def test_bad_cut_options_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        run_problem("heat1d", cells=10, quota=1e-3, t_end=0.01, plots=False, **options)


def test_the_cli_refuses_ranks_without_a_latency_before_starting_processes(capsys):
    from evsim.cli.main import main
    assert main(["run", "heat1d", "--ranks", "2"]) == 2
    assert "--ranks needs --cut-latency L" in capsys.readouterr().err
