"""benchmarks/scale.py runs and reports what it claims (tiny sizes; speed is not tested)."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


def test_scale_benchmark_reports_cases_and_ratios():
    out = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "400", "--kinds", "2d",
                          "--packets", "20000", "--orders", "rcm", "--no-lattice-order"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    cases = report["cases"]
    assert [(c["mesh"], c["shuffled"], c["order"]) for c in cases] == [
        ("grid", False, "none"), ("irregular", True, "rcm")]
    for c in cases:
        assert c["cells"] == 20 * 20 and c["packets"] == 20000 and c["stop_reason"] == "max_events"
        assert c["ledger_residual"] == 0 and c["packets_per_second"] > 0
        assert c["state_bytes"] == sum(c["state_arrays"].values())
        assert c["peak_rss_mib"] > 0
    grid, mesh = cases
    assert grid["edges"] == 2 * 20 * 19 + 4 * 20 and mesh["edges"] > 1.4 * grid["edges"]
    assert report["ratios"] == [{"kind": "2d", "cells": 400, "shuffled": True, "order": "rcm",
                                 "grid_over_irregular": round(grid["packets_per_second"]
                                                              / mesh["packets_per_second"], 3)}]


def test_scale_benchmark_interleaved_pairs():
    out = subprocess.run([sys.executable, str(SCRIPT), "--interleave", "2", "--sizes", "400",
                          "--kinds", "2d", "--packets", "10000", "--orders", "morton"],
                         capture_output=True, text=True, check=True)
    (row,) = json.loads(out.stdout)["interleaved"]
    assert row["cells"] == row["irregular_cells"] == 400 and row["order"] == "morton"
    rates = row["packets_per_second"]
    assert len(rates["grid"]) == len(rates["irregular"]) == 2
    assert row["grid_over_irregular_pairs"] == [round(g / i, 3) for g, i in
                                                zip(rates["grid"], rates["irregular"])]


def test_scale_benchmark_disk_kind_against_a_grid_of_the_same_cells():
    out = subprocess.run([sys.executable, str(SCRIPT), "--sizes", "400", "--kinds", "disk",
                          "--packets", "20000", "--orders", "morton", "--no-lattice-order"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    grid, mesh = report["cases"]
    assert (grid["mesh"], mesh["mesh"], mesh["shuffled"], mesh["order"]) == (
        "grid", "irregular", True, "morton")
    assert grid["cells"] == 400 and abs(mesh["cells"] - 400) <= 8
    assert grid["edges"] == 2 * 20 * 19 + 4 * 20 and mesh["edges"] > 1.4 * grid["edges"]
    for c in (grid, mesh):
        assert c["packets"] == 20000 and c["ledger_residual"] == 0
    assert report["ratios"] == [{"kind": "disk", "cells": mesh["cells"], "shuffled": True,
                                 "order": "morton",
                                 "grid_over_irregular": round(grid["packets_per_second"]
                                                              / mesh["packets_per_second"], 3)}]
