"""Operator learning (teachers.distill.fit_conductances): per-edge / per-region conductances
from a teacher's field, and the zero-shot generalization of the PISNN distilled with them."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.errors import ConfigError
from evsim.teachers import SemiDiscreteTeacher, semidiscrete
from evsim.teachers.distill import (apply_conductances, distill_graph, fit_conductance_scale,
                                    fit_conductances, teacher_rates)
from evsim.topologies.media import edge_regions, medium

LEFT, RIGHT = 1.0, 10.0


def two_materials(cells=24, left=LEFT, right=RIGHT):
    base = topologies.grid_1d(cells=cells, diffusivity=left)
    true = medium(base, lambda p: left if p[0] < 0.5 else right)
    x = topologies.cell_positions(base)[:, 0]
    return base, true, x


def conductances(graph):
    return np.array([d["conductance"] for *_, d in graph.edges(data=True)])


def training_field(base, true, x, times):
    u0 = np.exp(-((x - 0.3) / 0.1) ** 2) + 0.5 * np.exp(-((x - 0.7) / 0.1) ** 2)
    teacher = SemiDiscreteTeacher(true, u0)
    return teacher, u0, teacher(topologies.cell_positions(base), times)


def test_two_material_conductances_are_recovered_per_region_from_the_semidiscrete_field():
    base, true, x = two_materials()
    times = np.linspace(0, 0.02, 21)
    teacher, _, field = training_field(base, true, x, times)
    fit = fit_conductances(base, field, times, rates=teacher_rates(teacher, base, field))
    assert fit.method == "rates"
    labels = edge_regions(base, lambda p: int(p[0] >= 0.5))
    assert sorted(set(labels.tolist())) == [0, 1, 2]          # left, right, the interface edge
    per_region = fit.region_theta(labels)
    assert per_region[0] == pytest.approx(1.0, rel=0.05)
    assert per_region[1] == pytest.approx(RIGHT / LEFT, rel=0.05)
    assert per_region[2] == pytest.approx(2 * RIGHT / (LEFT + RIGHT), rel=0.05)  # harmonic mean
    np.testing.assert_allclose(fit.conductance, conductances(true), rtol=1e-8)
    # one factor per region: the same three numbers
    by_region = fit_conductances(base, field, times, rates=teacher_rates(teacher, base, field),
                                 regions=labels)
    np.testing.assert_allclose(by_region.theta, [1.0, 10.0, 20 / 11], rtol=1e-8)


def test_snapshot_differences_recover_a_slower_two_material_medium():
    base, true, x = two_materials(left=0.01, right=0.1)
    times = np.linspace(0, 1.0, 401)
    _, _, field = training_field(base, true, x, times)
    fit = fit_conductances(base, field, times)            # trapezoidal rule on the snapshots
    assert fit.method == "trapezoid"
    per_region = fit.region_theta(edge_regions(base, lambda p: int(p[0] >= 0.5)))
    assert per_region[0] == pytest.approx(1.0, rel=0.05)
    assert per_region[1] == pytest.approx(10.0, rel=0.05)


def test_one_region_is_the_one_scalar_fit():
    base, true, x = two_materials()
    times = np.linspace(0, 0.05, 26)
    _, _, field = training_field(base, true, x, times)
    scalar = fit_conductance_scale(base, field, times)
    one = fit_conductances(base, field, times, regions=np.zeros(base.number_of_edges(), int))
    assert one.theta[0] == pytest.approx(scalar.scale, rel=1e-9)
    assert one.relative_residual == pytest.approx(scalar.relative_residual, rel=1e-6)
    assert scalar.relative_residual > 0.1       # one scale cannot explain two materials


def test_a_strong_smoothness_penalty_pulls_the_edges_towards_one_factor():
    base, true, x = two_materials()
    times = np.linspace(0, 0.02, 21)
    teacher, _, field = training_field(base, true, x, times)
    rates = teacher_rates(teacher, base, field)
    free = fit_conductances(base, field, times, rates=rates)
    smooth = fit_conductances(base, field, times, rates=rates, smoothness=1e4)
    assert np.ptp(free.theta) > 8
    assert np.ptp(smooth.theta) < 0.1 * np.ptp(free.theta)
    with pytest.raises(ConfigError, match="smoothness"):
        fit_conductances(base, field, times, smoothness=-1)
    with pytest.raises(ConfigError, match="regions"):
        fit_conductances(base, field, times, regions=np.zeros(3, int))


def test_the_learned_operator_generalizes_zero_shot_where_one_scale_cannot():
    base, true, x = two_materials()
    train = np.linspace(0, 0.02, 21)
    teacher, u0, _ = training_field(base, true, x, train)
    # the same spike budget on the training window for both students
    search = dict(spike_budget=20000, max_runs=4, rtol=0.5)
    learned = distill_graph(teacher, base, u0, train, operator="edges", **search)
    scalar = distill_graph(teacher, base, u0, train, operator="scale", **search)
    assert learned.fit.method == "rates" and learned.quota.met and scalar.quota.met
    assert "conductance factors" in learned.provenance()["fit_method"]
    # a new initial condition and a horizon 25x the training window
    u1 = np.sin(np.pi * x) * (1 + 0.5 * np.cos(3 * np.pi * x))
    times = np.linspace(0, 0.5, 11)
    truth = semidiscrete(true, u1, times)

    def zero_shot(d):
        r = evsim.simulate(d.graph, u1, quota=d.quota.quota, t_end=0.5, record=times, progress=False)
        assert r.ledger.residual == 0
        return float(np.sqrt(np.mean((r.potential - truth) ** 2)))

    e_learned, e_scalar = zero_shot(learned), zero_shot(scalar)
    assert e_learned < 5e-3
    assert e_scalar > 0.05
    assert e_scalar > 20 * e_learned
    np.testing.assert_allclose(conductances(learned.graph), conductances(true), rtol=1e-6)
    assert conductances(apply_conductances(base, learned.fit)).sum() == pytest.approx(
        conductances(true).sum())


def test_distill_problem_takes_a_learned_operator_but_no_config_for_it(tmp_path):
    from evsim.workflow.distill import distill_problem
    from evsim.workflow.problems import get_problem
    teacher = get_problem("heat1d").teacher()
    with pytest.raises(ConfigError, match="cannot be written"):
        distill_problem(teacher, "heat1d", cells=20, operator="edges", config=tmp_path / "c.toml")
    common = dict(cells=20, n_times=21, spike_budget=4000, max_runs=3)
    scalar = distill_problem(teacher, "heat1d", **common)
    one = distill_problem(teacher, "heat1d", operator="regions",
                          regions=np.zeros(21, dtype=int), **common)
    assert one.fit.theta[0] == pytest.approx(scalar.fit.scale, rel=1e-9)
    assert conductances(one.case.graph) == pytest.approx(conductances(scalar.case.graph), rel=1e-9)
    assert one.config is None and one.case.quota == pytest.approx(scalar.case.quota, rel=1e-12)


def test_a_sparsity_penalty_keeps_the_jump_and_flattens_each_material_from_noisy_rates():
    base, true, x = two_materials()
    times = np.linspace(0, 0.02, 21)
    teacher, _, field = training_field(base, true, x, times)
    rates = teacher_rates(teacher, base, field)
    noisy = rates + 0.05 * np.std(rates) * np.random.default_rng(1).standard_normal(rates.shape)
    labels = edge_regions(base, lambda p: int(p[0] >= 0.5))

    def spread(fit):
        return max(np.std(fit.theta[labels == k]) for k in (0, 1))

    free = fit_conductances(base, field, times, rates=noisy)
    tv = fit_conductances(base, field, times, rates=noisy, sparsity=1e-2)
    smooth = fit_conductances(base, field, times, rates=noisy, smoothness=1e-2)
    assert spread(tv) < 0.5 * spread(free)
    assert tv.region_theta(labels)[0] == pytest.approx(1.0, rel=0.02)
    assert tv.region_theta(labels)[1] == pytest.approx(10.0, rel=0.02)
    assert spread(smooth) > 10 * spread(tv)        # a quadratic penalty smears the jump
    with pytest.raises(ConfigError, match="sparsity"):
        fit_conductances(base, field, times, sparsity=-1.0)
