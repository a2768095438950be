"""The matched-accuracy search, the accuracy-cost table and its figures."""
import json
import math

import matplotlib.image
import numpy as np
import pytest

from evsim.errors import ConfigError
from evsim.experiments import accuracy as A
from evsim.experiments.registry import get_experiment, list_experiments


def synthetic(law, upper=math.inf, start=1.0):
    """A method whose RMSE is ``law(knob)`` and whose cost is ``1 / knob``."""
    def run(x):
        e = law(x)
        return A.Point(x, {"exact": e, "semi-discrete": e}, {"flops": int(1 / x)}, 1 / x, 0.0, 1e-9 / x,
                       1e-9 / x)
    return A.Method("toy", "fv", "h", run, lambda *_: start, upper, "FLOPs", "cmos45 FLOPs")


def test_bisection_finds_the_largest_knob_meeting_the_target():
    m = synthetic(lambda x: 2e-3 * x)              # RMSE = 2e-3 h: the answer is h = 0.05
    r = A.match(m, 1e-4, "exact", max_runs=12, rtol=0.1)
    assert r["reached"] and r["rmse"]["exact"] <= 1e-4
    assert 0.05 / 1.1 <= r["knob"] <= 0.05
    assert r["cost"] == pytest.approx(1 / r["knob"])
    assert len(m.points) <= 12


def test_search_grows_a_too_fine_start_and_respects_the_upper_bound():
    m = synthetic(lambda x: 1e-4 * x, upper=2.0, start=0.01)
    r = A.match(m, 1e-3, "exact", max_runs=8)
    assert r["reached"] and r["knob"] == 2.0             # the cheapest admissible run


def test_error_floor_is_reported_not_chased():
    m = synthetic(lambda x: 5e-4 + 1e-3 * x)            # never below 5e-4
    r = A.match(m, 1e-4, "exact", max_runs=10)
    assert not r["reached"] and r["why"] == "error floor"
    assert r["rmse"]["exact"] == pytest.approx(min(p.rmse["exact"] for p in m.points.values()))


def test_evsim_matched_accuracy_on_a_tiny_case():
    from evsim.workflow.case import make_case
    case = make_case("heat1d", cells=20, t_end=0.5)
    floor = A.rmse(case.semidiscrete(), case.reference())
    m = A.methods_for(case, floor, orders=[1], pypde=False)[0]
    r = A.match(m, 1e-3, "semi-discrete", max_runs=6, rtol=0.3)
    assert r["reached"] and r["rmse"]["semi-discrete"] <= 1e-3 and r["details"]["ledger_residual"] == 0
    assert r["events"]["packet"] == r["cost"] > 0 and r["energy"] > 0
    # the largest quota that meets the target: a quota 30 % larger misses it (bracketed)
    misses = [p for p in m.points.values() if p.rmse["semi-discrete"] > 1e-3 and p.knob > r["knob"]]
    assert misses and min(p.knob for p in misses) / r["knob"] < 1.3 + 1e-9


def test_order_in_events_of_both_orders_on_a_small_case():
    """The fitted slope of log RMSE vs log events: about -1 at order 1, <= -1.8 at order 2."""
    from evsim.workflow.case import make_case
    case = make_case("heat1d", cells=20, t_end=1.0)
    floor = A.rmse(case.semidiscrete(), case.reference())
    one, two = A.methods_for(case, floor, orders=[1, 2], pypde=False)[:2]   # then the peers
    for q in (1e-3, 1e-4, 1e-5):
        one.evaluate(q)
    for tol in (3e-3, 3e-4, 3e-5):
        two.evaluate(tol)
    first, second = A.event_order(list(one.points.values())), A.event_order(list(two.points.values()))
    assert -1.1 < first["slope"] < -0.9 and first["runs"] == 3
    assert second["slope"] <= -1.8 and second["events_span"] > 1.0
    assert A.event_order(list(one.points.values())[:2])["slope"] is None


def test_unknown_problem_raises():
    with pytest.raises(ConfigError, match="unknown accuracy-cost problems"):
        A.accuracy_cost(["nope"], fast=True)


def _check_table(out, data, problems):
    assert (out / "accuracy_cost.md").read_text().startswith("# Accuracy per cost")
    on_disk = json.loads((out / "accuracy_cost.json").read_text())
    assert set(on_disk["problems"]) == set(problems)
    for name in problems:
        prob = on_disk["problems"][name]
        assert prob["floor"] > 0 and math.isfinite(prob["floor"])
        reached = 0
        for rows in prob["matched"].values():
            for row in rows.values():
                for r in row.values():
                    if r.get("reached"):
                        reached += 1
                        for v in (r["cost"], r["energy"], r["knob"], *r["rmse"].values()):
                            assert math.isfinite(v) and v > 0, (name, r)
                        assert r["wall_seconds"] >= 0
        assert reached > 0
        png = out / f"pareto_{name}.png"
        img = matplotlib.image.imread(png)
        assert img.shape[0] > 400 and img.shape[1] > 400 and np.ptp(img) > 0


def test_experiment_is_registered_and_writes_table_and_figures(tmp_path, monkeypatch):
    import matplotlib.figure
    figures = []
    original = matplotlib.figure.Figure.savefig

    def keep(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    assert "accuracy-cost" in list_experiments()
    fn = get_experiment("accuracy-cost")
    summary = fn(tmp_path, fast=True, problems=["heat1d"], pypde=False, max_runs=4)
    assert summary["figures"] == ["pareto_heat1d.png"] and summary["orders"][0] == 1
    _check_table(tmp_path, summary, ["heat1d"])
    # every panel: log axes labelled with quantities and units, every order and peer drawn
    (fig,) = figures
    for ax in fig.axes:
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert "[" in ax.get_xlabel() and "RMSE" in ax.get_ylabel() and "[-]" in ax.get_ylabel()
        labels = {line.get_label() for line in ax.lines}
        assert {f"evsim order {k}" for k in summary["orders"]} | {"FTCS (FV graph)", "Crank-Nicolson (FV graph)"} <= labels
    assert fig.axes[0].get_legend() is not None
    # conservation: the ledger is exact; at order 1 the mass error is below one quota per
    # boundary edge (order 2's follows its tolerance on the boundary flux instead)
    for name, c in summary["conservation"].items():
        assert any(r["order"] == 1 for r in c["runs"])
        for r in c["runs"]:
            assert r["ledger_residual"] == 0 and r["mass_error_max"] > 0
            if r["order"] == 1:
                assert r["per_quota_per_boundary_edge"] <= 1.0, (name, r)


@pytest.mark.slow
def test_fast_experiment_on_every_problem(tmp_path):
    summary = get_experiment("accuracy-cost")(tmp_path, fast=True)
    _check_table(tmp_path, summary, list(A.FAST_PROBLEMS))
