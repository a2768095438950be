"""Distillation on a cell graph: operator fit, quota choice."""
from types import SimpleNamespace

import numpy as np
import pytest

from evsim import topologies
from evsim.teachers.base import SemiDiscreteTeacher
from evsim.teachers.distill import (choose_quota, distill_graph, fit_conductance_scale,
                                    fit_diffusivity, scale_conductances)
from evsim.teachers.ftcs import FTCSTeacher

T_TRAIN = np.linspace(0.0, 0.5, 51)


def sine_1d(cells=100, kappa=0.1):
    g = topologies.grid_1d(cells=cells, length=1.0, diffusivity=kappa)
    x = topologies.cell_positions(g)
    return g, x, np.sin(np.pi * x[:, 0])


# ---------------------------------------------------------------- operator fit
def test_semidiscrete_teacher_recovers_diffusivity_within_0p1_percent():
    g_true, x, u0 = sine_1d(kappa=0.1)
    g_base, _, _ = sine_1d(kappa=1.0)            # the student starts from another operator
    fit = fit_diffusivity(SemiDiscreteTeacher(g_true, u0), g_base, T_TRAIN)
    assert fit.relative_error(0.1) < 1e-3
    assert fit.scale == pytest.approx(0.1, rel=1e-3) and fit.base_diffusivity == 1.0
    assert fit.relative_residual < 1e-6          # one scale explains the dynamics exactly


def test_shipped_pinn_teacher_recovers_diffusivity_within_2_percent():
    from evsim.teachers.pinn import load_shipped
    g, _, _ = sine_1d()
    fit = fit_diffusivity(load_shipped(), g, T_TRAIN)
    assert fit.relative_error(0.1) < 0.02
    assert fit.relative_residual < 0.01


def test_fit_on_a_2d_grid_with_a_gauss_pulse_and_ftcs_teacher():
    g_true = topologies.grid_2d(cells=12, length=1.0, diffusivity=0.25, boundary={"top": 1.0})
    x = topologies.cell_positions(g_true)
    u0 = np.exp(-((x - 0.5) ** 2).sum(1) / 0.02)
    times = np.linspace(0, 0.05, 101)
    g_base = topologies.grid_2d(cells=12, length=1.0, diffusivity=1.0, boundary={"top": 1.0})
    fit = fit_diffusivity(SemiDiscreteTeacher(g_true, u0), g_base, times)
    assert fit.diffusivity == pytest.approx(0.25, rel=2e-3)
    # forward-Euler teacher: first-order in its own step, still close
    fit_ftcs = fit_diffusivity(FTCSTeacher(g_true, u0), g_base, times)
    assert fit_ftcs.diffusivity == pytest.approx(0.25, rel=0.05)


def test_fit_rejects_fields_without_flux_and_bad_shapes():
    g, x, u0 = sine_1d(cells=10)
    with pytest.raises(ValueError, match="not identifiable"):
        fit_conductance_scale(g, np.zeros((3, 10)), np.array([0.0, 0.1, 0.2]))
    with pytest.raises(ValueError):
        fit_conductance_scale(g, np.zeros((3, 9)), np.array([0.0, 0.1, 0.2]))
    with pytest.raises(ValueError, match="increasing"):
        fit_conductance_scale(g, np.ones((2, 10)), np.array([0.1, 0.1]))


def test_scale_conductances_is_a_diffusivity_change():
    g1, _, _ = sine_1d(cells=8, kappa=0.1)
    g2, _, _ = sine_1d(cells=8, kappa=0.3)
    s = scale_conductances(g1, 3.0)
    for u, v, d in s.edges(data=True):
        assert d["conductance"] == pytest.approx(g2.edges[u, v]["conductance"], rel=1e-14)
    assert s.graph["diffusivity"] == pytest.approx(0.3) and g1.graph["diffusivity"] == 0.1


# ---------------------------------------------------------------- quota choice
def fake_simulate(rmse_per_q=40.0, spikes_times_q=8.0):
    """A model engine: the field is off by rmse_per_q * q everywhere, spikes = C / q."""
    def simulate(graph, u0, quota, t_end, record, engine):
        pot = np.zeros((len(record), len(u0))) + rmse_per_q * quota
        return SimpleNamespace(potential=pot, spikes=int(spikes_times_q / quota),
                               ledger=SimpleNamespace(residual=0), wall_seconds=0.0)
    return simulate


def test_choose_quota_largest_q_meeting_target_model_engine():
    g, _, u0 = sine_1d(cells=10)
    target_field = np.zeros((3, 10))
    choice = choose_quota(g, u0, target_field, np.array([0, 0.1, 0.2]), target_rmse=1e-3,
                          quota_start=1e-7, rtol=0.05, simulate=fake_simulate())
    # exact answer: 40 q = 1e-3 -> q = 2.5e-5
    assert choice.met and choice.rmse <= 1e-3
    assert 2.5e-5 / 1.05 <= choice.quota <= 2.5e-5
    assert any(r.quota > choice.quota and r.rmse > 1e-3 for r in choice.runs)  # bracketed


def test_choose_quota_spike_budget_model_engine():
    g, _, u0 = sine_1d(cells=10)
    choice = choose_quota(g, u0, np.zeros((2, 10)), np.array([0, 0.1]), spike_budget=1e5,
                          quota_start=1e-3, rtol=0.05, simulate=fake_simulate())
    # spikes = 8 / q <= 1e5 -> q >= 8e-5; the best RMSE is at the smallest admissible q
    assert choice.met and choice.spikes <= 1e5
    assert 8e-5 <= choice.quota <= 8e-5 * 1.05


def test_choose_quota_reports_unreachable_target():
    g, _, u0 = sine_1d(cells=10)

    def floor_sim(graph, u0, quota, t_end, record, engine):  # teacher mismatch: RMSE >= 1e-2
        return fake_simulate()(graph, u0, quota, t_end, record, engine).__class__(
            potential=np.zeros((len(record), len(u0))) + 1e-2 + 40 * quota, spikes=int(8 / quota),
            ledger=SimpleNamespace(residual=0), wall_seconds=0.0)

    choice = choose_quota(g, u0, np.zeros((2, 10)), np.array([0, 0.1]), target_rmse=1e-3,
                          quota_start=1e-4, max_runs=6, simulate=floor_sim)
    assert not choice.met and len(choice.runs) <= 6


def test_choose_quota_with_the_engine_meets_target_on_small_grid():
    g, x, u0 = sine_1d(cells=20)
    times = np.linspace(0, 0.5, 11)
    field = SemiDiscreteTeacher(g, u0)(x, times)
    choice = choose_quota(g, u0, field, times, target_rmse=2e-3)
    assert choice.met and choice.rmse <= 2e-3
    assert all(r.ledger_residual == 0 for r in choice.runs)
    assert choice.result.ledger.residual == 0 and choice.result.spikes == choice.spikes
    larger = [r for r in choice.runs if r.quota > choice.quota]
    assert larger and all(r.rmse > 2e-3 for r in larger)
    # first-order CFQ error: RMSE ~ 0.4 q / V within a factor 3
    assert 0.13 < choice.rmse / (choice.quota / 0.05) < 1.2


# ---------------------------------------------------------------- both steps
def test_distill_graph_fits_and_chooses_the_quota_on_plain_data():
    g_true, x, u0 = sine_1d(cells=20, kappa=0.1)
    g_base, _, _ = sine_1d(cells=20, kappa=1.0)
    times = np.linspace(0, 0.5, 11)
    d = distill_graph(SemiDiscreteTeacher(g_true, u0), g_base, u0, times, target_rmse=2e-3)
    assert d.fit.relative_error(0.1) < 1e-3
    assert d.graph.graph["diffusivity"] == pytest.approx(d.fit.diffusivity, rel=1e-14)
    assert d.quota.met and d.quota.rmse <= 2e-3 and d.teacher_field.shape == (11, 20)
    prov = d.provenance({"kind": "semi-discrete"})
    assert prov["teacher"] == "semidiscrete" and prov["kind"] == "semi-discrete"
    assert prov["t_train"] == 0.5 and prov["n_snapshots"] == 11
    assert prov["spikes_on_window"] == d.quota.spikes and prov["fitted_scale"] == d.fit.scale
