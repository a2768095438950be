"""Monitors (evsim.monitors): they record without changing the run, on both engines."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.errors import ConfigError, ResultFileError
from evsim.monitors import Callback, RateMonitor, SpikeMonitor, StateMonitor
from identical import assert_same_run

ENGINES = ("compiled", "simpy")


def case(latency=0.0):
    g = topologies.grid_1d(cells=12, length=1.0, diffusivity=0.1, right=0.5, latency=latency)
    return g, np.sin(np.pi * topologies.cell_positions(g)[:, 0])


def every_monitor(seen):
    return [StateMonitor([0, 5, 11], [0.0, 0.013, 0.2, 0.2, 0.37], name="probe"),
            RateMonitor(0.07),
            RateMonitor(0.1, cells=[3, 4], name="cells"),
            SpikeMonitor(edges=[2, 7]),
            SpikeMonitor(cells=[0]),
            Callback(np.linspace(0.05, 0.45, 9), lambda p: (seen.append(p.t), p.potential.sum())[1])]


def run(engine, monitors=None, latency=0.0, **kw):
    g, u0 = case(latency)
    return evsim.simulate(g, u0, quota=1e-4, t_end=0.5, record=np.linspace(0, 0.5, 6),
                          engine=engine, spike_log=True, monitors=monitors, **kw)


@pytest.mark.parametrize("latency", [0.0, 0.003])
def test_every_monitor_leaves_the_spike_sequence_bit_identical_on_both_engines(latency):
    plain = run("compiled", latency=latency)
    assert plain.firings > 3000
    records = {}
    for engine in ENGINES:
        seen = []
        watched = run(engine, every_monitor(seen), latency=latency)
        assert_same_run(plain, watched)
        assert seen == pytest.approx(np.linspace(0.05, 0.45, 9).tolist())
        records[engine] = watched.monitors
    # the two engines' monitors record the same bits too
    for name, data in records["compiled"].items():
        for key, value in data.items():
            if key != "kind":
                np.testing.assert_array_equal(value, records["simpy"][name][key])


def test_state_monitor_sees_what_records_see():
    r = run("compiled", [StateMonitor([0, 5, 11], [0.2, 0.4], name="probe")])
    probe = r.monitors["probe"]
    assert probe["kind"] == "state"
    np.testing.assert_array_equal(probe["times"], [0.2, 0.4])
    # record times 0.2 and 0.4 are rows 2 and 4 of the result's records
    np.testing.assert_array_equal(probe["potential"], r.potential[[2, 4]][:, [0, 5, 11]])


def test_rate_monitor_counts_add_up_to_the_spike_counts():
    r = run("compiled", [RateMonitor(0.07, name="edges"), RateMonitor(0.1, cells=[3, 4], name="cells")])
    rate = r.monitors["edges"]
    assert rate["bin_edges"][0] == 0.0 and rate["bin_edges"][-1] == 0.5
    assert np.diff(rate["bin_edges"]) == pytest.approx([0.07] * 7 + [0.01])
    np.testing.assert_array_equal(rate["counts"].sum(axis=0), r.edge_spikes)
    # binned against the spike log: packets fired in (t_k, t_k+1]
    log = r.spike_log
    first = np.histogram(log["time"][log["edge"] == 4], bins=rate["bin_edges"])[0]
    assert first.sum() == r.edge_spikes[4]
    cells = r.monitors["cells"]
    np.testing.assert_array_equal(cells["counts"].sum(axis=0), r.node_spikes[[3, 4]])
    assert cells["counts"].shape == (5, 2)


def test_spike_monitor_keeps_the_firings_of_its_edges_and_cells():
    g, u0 = case()
    r = evsim.simulate(g, u0, quota=1e-4, t_end=0.5, monitors=[SpikeMonitor(edges=[2, 7], name="e"),
                                                               SpikeMonitor(cells=[0], name="c")])
    assert r.spike_log is None  # switched on for the monitor only
    full = run("compiled")
    log = full.spike_log
    keep = np.isin(log["edge"], [2, 7])
    np.testing.assert_array_equal(r.monitors["e"]["time"], log["time"][keep])
    np.testing.assert_array_equal(r.monitors["e"]["sign"], log["sign"][keep])
    edges_of_0 = np.flatnonzero((r.edges == 0).any(axis=1))
    np.testing.assert_array_equal(r.monitors["c"]["index"], edges_of_0)
    assert r.monitors["c"]["edge"].size == full.edge_spikes[edges_of_0].sum()


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_monitors_round_trip_through_save_and_load(tmp_path, suffix):
    if suffix == ".nc":
        pytest.importorskip("xarray")
        pytest.importorskip("netCDF4")
    r = run("compiled", every_monitor([]))
    back = evsim.load(r.save(tmp_path / f"r{suffix}"))
    assert set(back.monitors) == set(r.monitors)
    for name, data in r.monitors.items():
        assert back.monitors[name]["kind"] == data["kind"]
        for key, value in data.items():
            if key != "kind":
                np.testing.assert_array_equal(back.monitors[name][key], value)
    # a file of format 1 (no monitors) still loads; a manifest without its arrays is refused
    plain = evsim.load(run("compiled").save(tmp_path / "plain.npz"))
    assert plain.monitors == {}


def rewritten(tmp_path, result, change, name="bad.npz"):
    """``result`` saved, its metadata changed by ``change(meta, arrays)``, written back."""
    import json
    with np.load(result.save(tmp_path / "r.npz")) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    change(meta, arrays)
    np.savez(tmp_path / name, __meta__=np.array(json.dumps(meta)), **arrays)
    return tmp_path / name


def test_a_manifest_that_does_not_match_the_arrays_is_refused(tmp_path):
    r = run("compiled", [StateMonitor([1], [0.1], name="s")])
    bad = rewritten(tmp_path, r, lambda m, a: m["monitors"]["s"]["arrays"].update(extra=["f", 1]))
    with pytest.raises(ResultFileError, match="do not match the manifest"):
        evsim.load(bad)
    rank = rewritten(tmp_path, r, lambda m, a: m["monitors"]["s"]["arrays"].update(times=["f", 2]))
    with pytest.raises(ResultFileError, match="rank"):
        evsim.load(rank)
    # monitors in a file that says format 1 (which had none) are refused
    old = rewritten(tmp_path, r, lambda m, a: m.update(format=1))
    with pytest.raises(ResultFileError, match="format 2"):
        evsim.load(old)


def test_a_format_1_file_loads_without_monitors(tmp_path):
    plain = run("compiled")
    old = evsim.load(rewritten(tmp_path, plain, lambda m, a: m.update(format=1), "old.npz"))
    assert old.monitors == {}
    np.testing.assert_array_equal(old.potential, plain.potential)


def test_bad_monitor_arguments_name_what_is_wrong():
    g, u0 = case()
    with pytest.raises(ConfigError, match="cells index 99"):
        evsim.simulate(g, u0, monitors=[StateMonitor([99], [0.1])])
    with pytest.raises(ConfigError, match="bin"):
        RateMonitor(0.0)
    with pytest.raises(ConfigError, match="named 'a'"):
        evsim.simulate(g, u0, monitors=[RateMonitor(0.1, name="a"), RateMonitor(0.2, name="a")])
    with pytest.raises(ConfigError, match="not an evsim.monitors.Monitor"):
        evsim.simulate(g, u0, monitors=[object()])
    with pytest.raises(ConfigError, match="processes and monitors"):
        evsim.simulate(g, u0, engine="simpy", processes=[lambda e: iter(())],
                       monitors=[RateMonitor(0.1)])


def test_a_run_stopped_by_a_limit_keeps_the_monitor_samples_taken():
    r = run("compiled", [StateMonitor([0], np.linspace(0, 0.5, 51), name="s")], max_events=2000)
    assert r.stop_reason == "max_events"
    s = r.monitors["s"]
    assert 0 < s["times"].size < 51 and s["times"][-1] <= r.t_final


def total_potential(probe):
    """A callback a checkpoint can keep (module level: it pickles)."""
    return probe.potential.sum()


def keepable_monitors():
    return [*every_monitor([])[:-1], Callback(np.linspace(0.05, 0.45, 9), total_potential, name="cb")]


def assert_same_monitors(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key, value in a[name].items():
            if key == "kind":
                assert value == b[name][key]
            else:
                np.testing.assert_array_equal(value, b[name][key], err_msg=f"{name}.{key}")


@pytest.mark.parametrize("engine, order", [(e, 1) for e in ENGINES] + [("compiled", 2)])
def test_a_checkpoint_resumes_the_monitors_bit_for_bit(tmp_path, engine, order):
    kw = {"order": 2, "tolerance": 1e-3} if order == 2 else {}
    whole = run(engine, keepable_monitors(), **kw)
    path = tmp_path / "c.ckpt"
    stopped = run(engine, keepable_monitors(), max_events=whole.spikes // 3, checkpoint=path, **kw)
    assert stopped.stop_reason == "max_events"
    assert 0 < stopped.monitors["probe"]["times"].size < whole.monitors["probe"]["times"].size
    resumed = evsim.resume(path, max_events=2 * whole.spikes // 3)      # stopped twice
    assert resumed.stop_reason == "max_events"
    resumed = evsim.resume(path)
    assert_same_run(resumed, whole)
    assert_same_monitors(resumed.monitors, whole.monitors)


def test_a_monitor_that_does_not_pickle_warns_and_its_checkpoint_resumes_without_it(tmp_path):
    from evsim import CheckpointWarning

    with pytest.warns(CheckpointWarning, match="monitor 'callback_5' cannot be kept"):
        stopped = run("compiled", every_monitor([]), max_events=3000, checkpoint=tmp_path / "c.ckpt")
    assert stopped.stop_reason == "max_events"
    resumed = evsim.resume(tmp_path / "c.ckpt")
    assert_same_run(resumed, run("compiled"))
    assert resumed.monitors == {}


def test_a_controller_that_does_not_pickle_is_refused_with_a_checkpoint(tmp_path):
    from evsim.control import Controller

    with pytest.raises(ConfigError, match="monitor 'switch' cannot be kept in a checkpoint.*"
                                          "controller changes the run"):
        run("compiled", [Controller([0.2], lambda c: None, name="switch")],
            checkpoint=tmp_path / "c.ckpt")
