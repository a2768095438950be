"""Problem-level distillation: the canonical problem's case, the TOML configuration."""
import math
import tomllib

from evsim.workflow.distill import distill_problem, to_toml, write_config
from evsim.workflow.problems import get_problem


def test_to_toml_roundtrip():
    data = {"problem": "heat1d", "cells": 100, "quota": 1.234e-06, "flag": True,
            "name": 'a "quoted"\\ path', "xs": [1, 2.5], "provenance": {"teacher": "pinn",
            "nan": float("nan"), "inner": {"k": 1}}}
    back = tomllib.loads(to_toml(data))
    assert back["quota"] == 1.234e-06 and back["name"] == data["name"] and back["xs"] == [1, 2.5]
    assert back["provenance"]["teacher"] == "pinn" and math.isnan(back["provenance"]["nan"])
    assert back["provenance"]["inner"] == {"k": 1}


def test_distill_problem_writes_a_config_that_evsim_run_accepts(tmp_path):
    from evsim.workflow.runner import load_config, run_problem
    teacher = get_problem("heat1d").teacher()
    d = distill_problem(teacher, "heat1d", cells=30, n_times=26, target_rmse=1e-3,
                config=tmp_path / "pisnn.toml", t_end=0.5, teacher_info={"kind": "analytic"})
    assert d.fit.relative_error(0.1) < 1e-3
    assert d.quota.met and d.quota.rmse <= 1e-3
    assert d.base.diffusivity == 0.1 and d.case.diffusivity == d.fit.diffusivity
    assert d.case.quota == d.quota.quota and d.case.t_end == 0.5 and len(d.case.times) == 26
    assert d.teacher_field.shape == (26, 30)
    cfg = load_config(d.config)
    assert cfg["problem"] == "heat1d" and cfg["quota"] == d.quota.quota
    assert cfg["diffusivity"] == d.fit.diffusivity and cfg["cells"] == 30
    prov = cfg["provenance"]
    assert prov["teacher"] == "exact:heat1d" and prov["kind"] == "analytic"
    assert prov["spikes_on_window"] == d.quota.spikes and prov["t_train"] == 0.5
    cfg["out"] = None
    result, summary = run_problem(**cfg, plots=False)
    assert summary["ledger_residual"] == 0 and summary["provenance"] == prov
    # the run the config describes is the run the distillation scored (same graph, q, u0)
    assert result.spikes >= d.quota.spikes * 0.99


def test_write_config_zero_shot_initial_is_read_by_the_runner(tmp_path):
    from evsim.workflow.runner import load_config
    path = write_config(tmp_path / "sub" / "z.toml", problem="heat1d", cells=50, quota=2e-5,
                        t_end=1.0, diffusivity=0.1003, initial="heat1d-step",
                        provenance={"teacher": "pinn", "t_train": 0.5})
    cfg = load_config(path)
    assert cfg == {"problem": "heat1d", "cells": 50, "quota": 2e-5, "t_end": 1.0,
                   "engine": "compiled", "diffusivity": 0.1003, "initial": "heat1d-step",
                   "provenance": {"teacher": "pinn", "t_train": 0.5}}
