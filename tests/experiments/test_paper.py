"""The paper's experiments on fast configurations: every figure's claim is asserted."""
import json
import tomllib

import pytest

from evsim.experiments import get_experiment, list_experiments


def test_experiments_are_registered():
    names = set(list_experiments())
    assert {"paper-heat1d", "paper-generalize", "paper-heat2d"} <= names


@pytest.fixture(scope="module")
def heat1d(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper-heat1d")
    return out, get_experiment("paper-heat1d")(out, fast=True)


def test_paper_heat1d(heat1d):
    out, s = heat1d
    json.dumps(s)                                       # the CLI writes it as JSON
    assert s["diffusivity_pinn_relative_error"] < 0.02  # PINN teacher: within 2 %
    assert s["diffusivity_semidiscrete_relative_error"] < 1e-3
    assert s["rmse_vs_teacher"] < 1e-3 and s["spikes"] > 0
    assert s["ledger_residual"] == 0 and s["mass_balance_error_over_time"] == 0.0
    assert s["boundary_outflow_rmse_vs_reference"] < 1e-4
    # spikes vs FLOPs of the PINN evaluating the same field (cells x record times)
    assert s["pinn_flops"] == s["pinn_field_points"] * s["teacher"]["flops_per_point"]
    assert s["flops_over_spikes"] == pytest.approx(s["pinn_flops"] / s["spikes"])
    # the quota sweep brackets the distilled point and error falls as spikes grow
    sweep = sorted(s["pareto"], key=lambda r: r["spikes"])
    assert len(sweep) == 3 and all(r["ledger_residual"] == 0 for r in sweep)
    assert sweep[0]["rmse"] > s["rmse_vs_teacher"] > sweep[-1]["rmse"]
    for name in s["figures"]:
        assert (out / name).stat().st_size > 10_000
    cfg = tomllib.loads((out / "pisnn_heat1d.toml").read_text())
    assert cfg["quota"] == s["quota"] and cfg["diffusivity"] == s["diffusivity_pinn"]
    assert cfg["provenance"]["teacher"] == "pinn" and cfg["t_end"] == 2.0
    assert all(s["checks"].values())


def test_paper_generalize(tmp_path):
    s = get_experiment("paper-generalize")(tmp_path, fast=True)
    json.dumps(s)
    for name in ("heat1d-gauss", "heat1d-step"):
        z = s["zero_shot"][name]
        assert z["rmse"] < 2e-3 and z["ledger_residual"] == 0 and z["spikes"] > 0
        cfg = tomllib.loads((tmp_path / f"pisnn_{name}.toml").read_text())
        assert cfg["initial"] == name and cfg["quota"] == s["distilled"]["quota"]
    long = s["long_horizon"]
    assert long["interval"] == [0.5, 2.0]
    assert long["pisnn_rmse"] < 1e-3
    assert long["pinn_rmse"] > long["pisnn_rmse"]   # the PINN was trained on [0, 0.5] only
    assert long["pinn_rmse_window"] < 1e-4          # ... where it is accurate
    assert long["ledger_residual"] == 0 and long["flops_over_spikes"] > 1
    assert all(s["checks"].values())


def test_paper_heat2d_fast(tmp_path):
    s = get_experiment("paper-heat2d")(tmp_path, fast=True)
    json.dumps(s)
    assert s["cells_per_axis"] == 16 and s["ledger_residual"] == 0
    assert s["mass_balance_error"] == 0.0
    assert s["rmse_vs_teacher"] <= 1e-3 and s["diffusivity_relative_error"] < 0.01
    assert set(s["snapshots"]) == {"0.1", "0.4", "0.8"}
    assert s["mass_final"] == pytest.approx(s["mass_final_analytic"], rel=0.02)
    lap = s["laplace2d"]
    assert lap["ledger_residual"] == 0
    # converged to the discrete steady state up to quantization; to Laplace up to O(h^2)
    assert lap["rmse_vs_discrete_steady_final"] < 2e-3
    assert lap["rmse_vs_laplace_final"] < lap["discretization_rmse"] + 2e-3
    assert len(s["figures"]) == 4 and all((tmp_path / f).exists() for f in s["figures"])


def test_paper_heat2d_rejects_an_unknown_teacher(tmp_path):
    from evsim.errors import ConfigError

    with pytest.raises(ConfigError, match="'exact' or 'pinn'"):
        get_experiment("paper-heat2d")(tmp_path, fast=True, teacher="fem")
