"""Canonical problems and the one pipeline (Case): exact solutions, references, scores."""
import math

import numpy as np
import pytest

from evsim.workflow import get_problem, make_case


def test_problem_teacher_and_no_exact():
    teacher = get_problem("heat1d").teacher()
    x = np.array([[0.5], [0.25]])
    u = teacher(x, np.array([0.0, 1.0]))
    np.testing.assert_allclose(u[1, 0], math.exp(-0.1 * math.pi ** 2), rtol=1e-14)
    with pytest.raises(ValueError, match="no exact"):
        get_problem("heat1d-gauss").teacher()


@pytest.mark.parametrize("name, rate", [("heat1d", math.pi ** 2), ("heat2d", 2 * math.pi ** 2),
                                        ("cube3d", 3 * math.pi ** 2)])
def test_exact_solutions_take_the_diffusivity(name, rate):
    prob = get_problem(name)
    x = make_case(name, cells=4).x
    for kappa in (prob.diffusivity, 0.37):
        u = prob.exact(x, np.array([0.0, 0.5]), diffusivity=kappa)
        np.testing.assert_allclose(u[1], u[0] * math.exp(-kappa * rate * 0.5), rtol=1e-13)


def test_case_reference_follows_the_initial_condition_and_diffusivity():
    own = make_case("heat1d", cells=20, diffusivity=0.2, t_end=0.5)
    assert own.reference_kind == "exact"
    np.testing.assert_allclose(own.reference()[-1],
                               own.u0 * math.exp(-0.2 * math.pi ** 2 * 0.5), rtol=1e-13)
    other = make_case("heat1d", cells=20, t_end=0.5, initial="heat1d-gauss")
    assert other.reference_kind == "semi-discrete"
    np.testing.assert_array_equal(other.reference(), other.semidiscrete())


def test_case_scores_a_run_against_exact_and_semidiscrete():
    case = make_case("heat1d", cells=50, quota=1e-4, t_end=0.5)
    result = case.simulate(progress=False)
    s = case.score(result)
    assert s["reference"] == "exact" and s["records"] == [21, 21]
    assert s["rmse_semidiscrete"] < 0.6 * case.quota / 0.02        # ~0.4 q / V, V = 1/50
    assert s["rmse_discretization"] < 1e-3
    assert abs(s["rmse"] - math.hypot(s["rmse_semidiscrete"], s["rmse_discretization"])) < 0.5 * s["rmse"]


@pytest.mark.parametrize("key, value", [("cells", 0), ("quota", -1e-3), ("t_end", "soon"),
                                        ("diffusivity", 0.0)])
def test_make_case_names_a_bad_parameter(key, value):
    with pytest.raises(ValueError, match=key):
        make_case("heat1d", **{key: value})


def test_a_run_stopped_before_its_first_record_is_not_scored_as_perfect():
    """Only t = 0 is recorded (error 0 there); the headline RMSE includes the stop state."""
    case = make_case("heat1d", cells=20, quota=1e-4, t_end=0.5)
    result = case.simulate(progress=False, max_events=500)
    assert result.stop_reason == "max_events" and result.times.size == 1
    s = case.score(result)
    at_stop = case.reference(np.array([result.t_final]))[0]
    expected = math.sqrt(np.mean((result.final_potential - at_stop) ** 2) / 2)  # mean over 2 states
    assert s["rmse"] > 0 and s["rmse"] == pytest.approx(expected, rel=1e-12)
    assert s["rmse_final"] == pytest.approx(math.sqrt(np.mean((result.final_potential - at_stop) ** 2)),
                                            rel=1e-12)


@pytest.mark.parametrize("name, cells", [("heat2d", 10**6), ("cube3d", 10**5), ("disk", 10**13),
                                         ("heat1d", 10**12)])
def test_a_resolution_beyond_memory_is_refused_before_building(name, cells):
    with pytest.raises(ValueError, match=rf"cells = {cells} gives {name} about .* GiB.*smaller cells"):
        make_case(name, cells=cells)
