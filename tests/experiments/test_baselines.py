"""The ``baselines`` experiment: spiking PINNs against the PISNN on heat1d (mass, energy)."""
import math

import numpy as np

from evsim.baselines import models as B
from evsim.experiments import baselines as X
from evsim.experiments import get_experiment


class _ExactAnsatz:
    """The exact heat1d solution written as the ansatz: N = (e^{-kt} - 1) sin(pi x) / ((t/T) 4x(1-x))."""

    def network_output(self, z):
        x, t = z[:, 0], z[:, 1]
        k = 0.1 * math.pi ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            shape = np.where((x > 0) & (x < 1), np.sin(np.pi * x) / (4 * x * (1 - x)), np.pi / 4)
            n = np.where(t > 0, (np.exp(-k * t) - 1) / (t / 0.5), -k * 0.5) * shape
        return n, None

    def __call__(self, points, times):
        return B.HEAT_PDE.exact(points, times)


def test_mass_defect_vanishes_for_the_exact_solution():
    times = np.linspace(0, 2, 21)
    mass, defect = X._mass_defect(_ExactAnsatz(), times)
    exact_mass = (2 / np.pi) * np.exp(-0.1 * np.pi ** 2 * times)
    assert np.allclose(mass, exact_mass, atol=1e-4)
    assert np.max(np.abs(defect)) < 1e-4


def test_heat_comparison_tiny(tmp_path, torch):
    m = B.train_heat("vsn", hidden=4, depth=1, steps=3, n_interior=16, adam_iters=2, max_seconds=60)
    heat = X.heat_comparison(fast=True, models={"heat_vsn": m}, quota=1e-3)
    rows = {r["model"].split(" ")[0]: r for r in heat["rows"]}
    pisnn = rows["PISNN"]
    assert pisnn["ledger_residual"] == 0 and pisnn["conservation_defect_max_0_2.0"] == 0.0
    assert np.all(heat["defect"]["PISNN"] == 0)
    assert abs(pisnn["float_balance_final"]) < 1e-9
    vsn = rows["VSN-NeuroPINN"]
    assert vsn["conservation_defect_max_0_2.0"] > 1e-6  # measured, not zero
    assert vsn["spikes"] > 0 and vsn["synaptic_ops"] > vsn["spikes"]
    assert set(vsn["energy_J"]) == set(X.PROFILE_NAMES) and all(v > 0 for v in vsn["energy_J"].values())
    assert rows["PINN"]["flops"] > 0 and rows["PINN"]["relative_l2_0_0.5"] < 1e-2
    for r in heat["rows"]:
        for key in ("rmse_0_0.5", "rmse_0.5_2.0", "mass_error_max_0_2.0", "conservation_defect_max_0_0.5"):
            assert math.isfinite(r[key])


def test_experiment_is_registered():
    assert get_experiment("baselines") is X.baselines_experiment
