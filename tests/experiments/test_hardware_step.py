"""The hardware-step experiment: energy, chip time and RMSE vs the hardware step dt_hw."""
import math

from evsim.experiments.registry import get_experiment


def test_fast_step_sweep_marks_instability_and_energy_falls_with_fewer_steps(tmp_path):
    s = get_experiment("hardware-step")(tmp_path, fast=True)
    assert (tmp_path / "hardware_step.png").is_file()
    assert {sweep["problem"] for sweep in s["sweeps"]} == {"heat1d", "heat2d"}
    assert len(s["summary"]) == sum(len(sweep["rows"]) for sweep in s["sweeps"])
    for sweep in s["sweeps"]:
        rows = sweep["rows"]
        for r in rows:
            if r["dt_hw"] < sweep["stability_bound"]:
                assert r["status"] == "stable" and math.isfinite(r["rmse"]) and r["rmse"] > 0
            else:
                assert r["status"] == "unstable" and math.isnan(r["rmse"])
            assert r["energy_joules"] > 0 and r["chip_seconds"] > 0
        stable = sorted((r for r in rows if r["status"] == "stable"), key=lambda r: r["dt_hw"])
        assert len(stable) >= 2
        assert stable[-1]["energy_joules"] < stable[0]["energy_joules"]
        assert stable[-1]["chip_seconds"] < stable[0]["chip_seconds"]
        assert sweep["async_joules"] > 0 and math.isfinite(sweep["event_rmse"])
    heat1d = next(sweep for sweep in s["sweeps"] if sweep["problem"] == "heat1d")
    assert any(r["status"] == "unstable" for r in heat1d["rows"])
