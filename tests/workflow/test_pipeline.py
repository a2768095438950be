"""The sweep point, the solver comparison and the hardware timing study run one Case."""
import argparse
import math
import sys

import numpy as np
import pytest

from evsim.analysis.mapping import CoreMesh, map_cells
from evsim.errors import ConfigError, MissingDependency
from evsim.workflow import sweep
from evsim.workflow.case import make_case


def test_run_point_is_the_case_pipeline():
    row = sweep.run_point("heat1d", 1e-3, cells=20, t_end=0.2, diffusivity=0.2)
    case = make_case("heat1d", cells=20, t_end=0.2, diffusivity=0.2, quota=1e-3)
    result = case.simulate(progress=False)
    scores = case.score(result)
    assert row["spikes"] == result.spikes and row["diffusivity"] == 0.2
    for key in ("rmse", "rmse_final", "rmse_semidiscrete"):
        assert row[key] == scores[key]
    # an overridden diffusivity is scored against the exact solution at that diffusivity
    at_default = case.problem.exact(case.x, result.times, case.problem.diffusivity)
    assert row["rmse"] < np.sqrt(np.mean((result.potential - at_default) ** 2))
    assert set(row) >= {f"energy_{p}" for p in ("loihi", "truenorth", "spinnaker", "cmos45")}


def test_run_point_rejects_bad_parameters():
    with pytest.raises(ConfigError, match="quota must be > 0"):
        sweep.run_point("heat1d", 0.0, cells=10)
    with pytest.raises(ConfigError, match="need a core mesh"):
        sweep.run_point("heat1d", 1e-3, cells=10, hop_latency=1e-3)
    with pytest.raises(ConfigError, match="4x4"):
        sweep.parse_mesh("4by4")
    with pytest.raises(ConfigError, match="unknown problem"):
        sweep.run_sweep("no-such-problem", [1e-3], None)


def test_sweep_dask_goes_through_require(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)   # as if dask were not installed
    parser = argparse.ArgumentParser()
    sweep.add_arguments(parser)
    args = parser.parse_args(["heat1d", "--quotas", "1e-3", "--dask", "local",
                              "--out", str(tmp_path)])
    with pytest.raises(MissingDependency, match=r'evsim\[dask\]'):
        sweep.main(args)


def test_timing_study_on_a_case():
    from evsim.experiments.hardware import timing_study
    case = make_case("heat2d", cells=8, t_end=0.05, quota=1e-3)
    mapping = map_cells(case.graph, CoreMesh(4, 1, 16))
    s = timing_study(case, mapping, 1e-3, hop_latencies=(1e-3,), bandwidth_factors=(2.0,),
                     combined=None)
    untimed, latency, congested = s["rows"]
    base = case.simulate(progress=False)
    assert untimed["spikes"] == base.spikes and untimed["delta_rmse"] == 0.0
    assert untimed["rmse"] == case.score(base)["rmse"]
    assert math.isinf(latency["bandwidth"]) and congested["bandwidth"] == pytest.approx(2 * s["busiest_link_rate"])
    assert all(r["ledger_residual"] == 0 for r in s["rows"])
