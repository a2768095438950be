"""benchmarks/scale_ranks.py runs and reports what it claims (a tiny grid; speed is not tested)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow   # three processes start, each compiling or loading the kernel: ~20 s here
def test_scale_ranks_reports_bit_identical_runs_with_exact_ledgers():
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (extra 'mpi')")
    pytest.importorskip("pymetis", reason="pymetis is not installed (extra 'mpi')")
    if not (Path(sys.executable).parent / "mpiexec").is_file() and shutil.which("mpiexec") is None:
        pytest.skip("no mpiexec (pip install mpich, extra 'mpi')")
    out = subprocess.run([sys.executable, str(BENCH / "scale_ranks.py"), "--cells", "16",
                          "--spacings", "1", "10", "--t-end-spacings", "20"],
                         capture_output=True, text=True, check=True, timeout=300)
    report = json.loads(out.stdout)
    assert report["grid"] == "16x16" and report["cut_edges"] >= 16
    assert [r["spacings"] for r in report["runs"]] == [1.0, 10.0]
    windows = [r["one_process"]["windows"] for r in report["runs"]]
    assert windows[0] in (20, 21) and windows[1] in (2, 3)   # (+1: a last window at t_end)
    for r in report["runs"]:
        assert r["bit_identical"] and r["one_process"]["digest"] == r["two_ranks"]["digest"]
        assert r["one_process"]["ledger_residual"] == r["two_ranks"]["ledger_residual"] == 0
        assert r["speedup"] > 0
