"""benchmarks/assimilation.py runs and reports what it claims (tiny sizes; speed is not tested)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_assimilation_quick_reports_samples_and_exact_ledgers():
    out = subprocess.run([sys.executable, str(BENCH / "assimilation.py"), "--quick"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["segments_compiled"]["segments"] == 50
    assert report["segments_simpy"]["engine"] == "simpy"
    for key in ("twin_compiled", "twin_simpy"):
        r = report[key]
        assert r["ledger_residual_corrected"] == 0
        assert r["samples"] == 5 * (r["segments"] - 1) and r["samples_per_second"] > 0
