"""The benchmark scripts run and report what they claim (tiny sizes; speed is not tested)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_queue_replay_meets_the_logged_events():
    out = subprocess.run([sys.executable, str(BENCH / "queue_replay.py"), "--events", "20000",
                          "--cells", "8", "16"], capture_output=True, text=True, check=True)
    rows = json.loads(out.stdout)
    assert [r["problem"] for r in rows] == ["heat2d 8x8", "heat2d 16x16"]
    for r in rows:
        assert r["events"] == 20000
        assert r["roots_differing_from_log"] <= 2   # the script fails above 1e-4 of the events
        assert r["queue_only_ns_per_event"] > 0 and r["engine_ns_per_event"] > 0


def test_throughput_quick_reports_exact_ledgers():
    out = subprocess.run([sys.executable, str(BENCH / "throughput.py"), "--quick"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    if Path("/proc/cpuinfo").exists():   # the host is named, so figures from two hosts can be told apart
        assert {"vendor_id", "cpu_family", "model"} <= set(report["machine"]["cpu_identity"])
    runs = [report[k] for k in ("heat2d_256_compiled", "heat1d_compiled", "heat1d_simpy")]
    assert [r["engine"] for r in runs] == ["compiled", "compiled", "simpy"]
    assert report["heat2d_256_compiled"]["packets"] == 4_000_000   # the --quick event limit
    for r in runs:
        assert r["ledger_residual"] == 0 and r["packets_per_second"] > 0
        assert r["packets_per_second_runs"] == [r["packets_per_second"]] == [r["packets_per_second_median"]]


def test_cut_part_runs_both_kernels_on_the_same_events():
    out = subprocess.run([sys.executable, str(BENCH / "cut_part.py"), "--cells", "12",
                          "--packets", "2e4", "--rounds", "2"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    (row,) = report["runs"]
    assert row["grid"] == "12x12" and row["edges"] == 2 * 12 * 13
    assert 1e4 < row["packets"] < 4e4            # about --packets (the script stops on any bit difference)
    assert len(row["order1_seconds"]) == len(row["cut_seconds"]) == len(row["ratio_runs"]) == 2
    assert row["ratio_median"] > 0 and row["prefetch"] is False   # 12 x 12 fits any L2
