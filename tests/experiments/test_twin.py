"""evsim experiment twin (fast): the corrected twin beats the uncorrected model by >= 10x
at the final time, its estimates are within 2 % of the truth, the ledger is exact."""
import json

import numpy as np
import pytest

from evsim.experiments.registry import get_experiment, list_experiments


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    out = tmp_path_factory.mktemp("twin")
    return out, get_experiment("twin")(out, fast=True)


def test_twin_is_registered():
    assert "twin" in list_experiments()


def test_correction_beats_the_uncorrected_model_tenfold(twin):
    _, s = twin
    assert s["rmse_final_uncorrected"] > 0.01            # a 20 % wrong region is visible
    assert s["rmse_final_corrected"] * 10 <= s["rmse_final_uncorrected"]
    assert s["rmse_ratio"] >= 10


def test_parameter_estimates_reach_the_truth_within_two_percent(twin):
    _, s = twin
    assert np.all(np.array(s["theta_error"]) < 0.02)
    assert s["theta_final"][0] == pytest.approx(1.2, rel=0.02)
    assert s["theta_final"][1] == pytest.approx(1.0, rel=0.02)


def test_ledger_is_exact_with_the_sensor_exchange_and_events_are_counted(twin):
    out, s = twin
    assert s["ledger_residual_corrected"] == 0 and s["ledger_residual_uncorrected"] == 0
    assert s["sensor_mass"] != 0.0 and s["correction_packets"] > 0
    assert s["samples"] == 5 * 800
    assert s["correction_edge_updates"] > s["samples"]     # conductances retuned every time
    saved = json.loads(json.dumps(s))
    assert set(saved["figures"]) == {"twin_error.png", "twin_parameters.png", "twin_events.png"}
    for name in saved["figures"]:
        assert (out / name).stat().st_size > 10_000
    # the corrected run assimilated the stream read back from the file it wrote
    from evsim.assimilation import read_observations
    assert len(read_observations(out / saved["observations"])) == s["samples"]
