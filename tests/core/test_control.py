"""Acting on a running network (evsim.control) and sensor correction (evsim.assimilation):
exact against the semi-discrete solution, bit-identical on both engines, ledger exact."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.assimilation import (Assimilator, Observations, correction_events, observer_edges,
                                read_observations, sensor_node, with_sensors, write_observations)
from evsim.control import Controller, retune
from evsim.errors import ConfigError
from evsim.monitors import StateMonitor
from evsim.teachers import semidiscrete
from identical import assert_same_run

ENGINES = ("compiled", "simpy")
LEFT = ("bc", "left", 0)


def rod(cells=16, latency=0.0, left=0.0):
    g = topologies.grid_1d(cells=cells, diffusivity=0.1, left=left, latency=latency)
    return g, np.sin(np.pi * topologies.cell_positions(g)[:, 0])


def switched(graph, u0, t_switch, change):
    """The semi-discrete solution with ``change(graph)`` applied at ``t_switch``."""
    first = semidiscrete(graph, u0, np.array([0.0, t_switch]))[-1]
    after = graph.copy()
    change(after)
    return semidiscrete(after, first, np.array([0.0, 0.5 - t_switch]))[-1]


@pytest.mark.parametrize("latency", [0.0, 0.002])
def test_a_boundary_switched_mid_run_is_exact_and_the_same_on_both_engines(latency):
    g, u0 = rod(latency=latency)
    q = 2e-5

    def hot(control):
        control.set_reservoir(LEFT, 1.0)

    runs = [evsim.simulate(g, u0, quota=q, t_end=0.5, engine=e, spike_log=True,
                           monitors=[Controller([0.2], hot, name="switch")]) for e in ENGINES]
    assert_same_run(*runs)
    r = runs[0]
    assert r.ledger.residual == 0
    assert r.monitors["switch"]["edge_updates"].tolist() == [1]   # the boundary edge
    if latency == 0.0:
        def change(graph):
            graph.nodes[LEFT]["potential"] = 1.0
        reference = switched(g, u0, 0.2, change)
        err = np.sqrt(np.mean((r.final_potential - reference) ** 2))
        assert err < 0.6 * q * 16        # the O(q) CFQ error: 0.4 q / V on 1D heat
        # the switch is felt: the heated boundary gave mass (without it, it takes mass)
        left = r.network.nodes.index(LEFT) - r.network.cells
        assert r.ledger_reservoirs[left] * q < -0.01


def test_conductances_changed_mid_run_follow_the_switched_operator():
    g, u0 = rod()
    q = 2e-5

    def double(control):
        control.set_conductance(np.arange(control.state.edges), 2 * control.conductance)

    r = evsim.simulate(g, u0, quota=q, t_end=0.5, monitors=[Controller([0.1], double)])

    def change(graph):
        for *_, d in graph.edges(data=True):
            d["conductance"] *= 2
    reference = switched(g, u0, 0.1, change)
    plain = semidiscrete(g, u0, np.array([0.0, 0.5]))[-1]
    err = np.sqrt(np.mean((r.final_potential - reference) ** 2))
    assert err < 0.6 * q * 16
    assert np.sqrt(np.mean((plain - reference) ** 2)) > 50 * err
    assert r.ledger.residual == 0


def test_retune_refuses_a_cell_potential_and_a_bad_conductance():
    g, u0 = rod()
    with pytest.raises(ConfigError, match="is a cell"):
        evsim.simulate(g, u0, monitors=[Controller([0.1], lambda c: c.set_reservoir(3, 1.0))])
    with pytest.raises(ConfigError, match="conductance of edge 0"):
        evsim.simulate(g, u0, monitors=[Controller([0.1], lambda c: c.set_conductance([0], -1.0))])
    from evsim.state import initial_state
    net = evsim.compile_network(g)
    with pytest.raises(ConfigError, match="only reservoir potentials"):
        retune(initial_state(net, u0, 1e-3, 1.0, np.array([1.0])), 0.0, potential={0: 1.0})


def small_twin(engine, cells=12, t_end=1.0, estimate=True, **options):
    g = topologies.grid_1d(cells=cells, diffusivity=0.1, left=1.0)
    x = topologies.cell_positions(g)[:, 0]
    truth = semidiscrete(topologies.grid_1d(cells=cells, diffusivity=0.12, left=1.0),
                         np.zeros(cells), np.linspace(0, t_end, 21))
    sensors = np.array([2, 8])
    obs = Observations(np.repeat(np.linspace(0, t_end, 21)[1:], 2), np.tile(sensors, 20),
                       truth[1:, sensors].ravel(), 0.002)
    model = with_sensors(g, sensors, 1.0, u0=np.zeros(cells))
    a = Assimilator(obs, np.zeros(cells, dtype=int), warmup=0.2, tau=0.2, estimate=estimate,
                    name="a")
    r = evsim.simulate(model, np.zeros(cells), quota=1e-4, t_end=t_end, engine=engine,
                       spike_log=True, monitors=[a, StateMonitor(np.arange(cells), [t_end], name="s")],
                       **options)
    return r, sensors, x


def test_a_checkpointed_twin_resumes_its_estimator_bit_for_bit(tmp_path):
    whole = small_twin("compiled")[0]
    path = tmp_path / "twin.ckpt"
    stopped = small_twin("compiled", max_events=whole.spikes // 2, checkpoint=path)[0]
    assert stopped.stop_reason == "max_events"
    resumed = evsim.resume(path)
    assert_same_run(resumed, whole)
    for key in ("theta", "samples", "times"):
        np.testing.assert_array_equal(resumed.monitors["a"][key], whole.monitors["a"][key])
    np.testing.assert_array_equal(resumed.monitors["s"]["potential"], whole.monitors["s"]["potential"])


def test_sensor_correction_is_deterministic_on_both_engines_and_the_ledger_is_exact():
    runs = [small_twin(e)[0] for e in ENGINES]
    assert_same_run(*runs)
    np.testing.assert_array_equal(runs[0].monitors["a"]["theta"], runs[1].monitors["a"]["theta"])
    r, sensors, _ = small_twin("compiled")
    assert r.ledger.residual == 0
    net = r.network
    sensor_res = [net.nodes.index(sensor_node(int(c))) - net.cells for c in sensors]
    exchanged = r.ledger_reservoirs[sensor_res]
    assert np.all(exchanged != 0)      # mass went through the sensor reservoirs ...
    # ... and is part of the boundary mass, with the Dirichlet ends
    assert r.boundary_mass == pytest.approx(r.quota * r.ledger_reservoirs.sum(), abs=1e-15)
    observer = np.flatnonzero(np.isin(net.edges, np.array(sensor_res) + net.cells).any(axis=1))
    np.testing.assert_array_equal(observer_edges(net), observer)
    assert r.edge_spikes[observer].sum() >= np.abs(exchanged).sum()
    spent = correction_events(r, "a")
    assert spent["observer_packets"] == r.edge_spikes[observer].sum() > 0
    assert spent["samples"] == 40 and spent["edge_updates"] > 40
    theta = r.monitors["a"]["theta"]
    assert theta.shape == (20, 1) and theta[-1, 0] > 1.05    # moving towards the truth's 1.2
    assert r.monitors["a"]["samples"].sum() == 40


def test_observations_read_from_csv_and_netcdf(tmp_path):
    obs = Observations([0.2, 0.1, 0.2], [3, 1, 1], [0.5, 0.25, 0.75], [0.01, 0.02, 0.01])
    np.testing.assert_array_equal(obs.time, [0.1, 0.2, 0.2])     # sorted, stable
    np.testing.assert_array_equal(obs.cell, [1, 3, 1])
    back = read_observations(write_observations(tmp_path / "obs.csv", obs))
    for k in ("time", "cell", "value", "noise"):
        np.testing.assert_array_equal(getattr(back, k), getattr(obs, k))
    (tmp_path / "bad.csv").write_text("time,cell\n0.1,2\n")
    with pytest.raises(ConfigError, match="bad.csv.*header"):
        read_observations(tmp_path / "bad.csv")
    with pytest.raises(ConfigError, match="noise"):
        Observations([0.1], [0], [1.0], 0.0)
    xr = pytest.importorskip("xarray")
    pytest.importorskip("netCDF4")
    xr.Dataset({k: ("obs", getattr(obs, k)) for k in ("time", "cell", "value", "noise")}
               ).to_netcdf(tmp_path / "obs.nc")
    nc = read_observations(tmp_path / "obs.nc")
    np.testing.assert_array_equal(nc.value, obs.value)
