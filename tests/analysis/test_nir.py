"""NIR export of the C-LIF/CFQ network: the graph, its round trip and its dt -> 0 convergence."""
import sys

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis.nir_export import edge_spikes, interpret, read_nir, to_nir, write_nir
from evsim.errors import ConfigError, MissingDependency

Q, T = 2e-3, 0.5


def _u0(x):
    return np.sin(np.pi * x[:, 0])


@pytest.fixture(scope="module")
def case():
    pytest.importorskip("nir")
    g = topologies.grid_1d(cells=10, diffusivity=0.1)
    return g, evsim.simulate(g, u0=_u0, quota=Q, t_end=T, progress=False), to_nir(g, _u0, Q)


def test_graph_structure(case):
    g, _, ng = case
    assert set(ng.nodes) == {"mass", "cells", "flux", "edges", "exchange", "packets", "spikes",
                             "potential"}
    m = ng.metadata["edges"]
    assert ng.nodes["edges"].v_threshold.shape == (2 * m,) and np.all(ng.nodes["edges"].v_threshold == Q)
    # a packet moves q between two cells or to a boundary: every column sums to 0 or +-q
    col = ng.nodes["packets"].weight.sum(axis=0)
    assert np.all(np.isclose(col, 0) | np.isclose(np.abs(col), Q))
    net = evsim.compile_network(g)
    np.testing.assert_allclose(ng.metadata["initial_mass"], net.volume * _u0(net.positions))


def test_counts_converge_to_evsim_as_dt_shrinks(case):
    _, r, ng = case
    errors = []
    for dt in (1e-2, 1e-3, 1e-4):
        spikes, flow = edge_spikes(interpret(ng, T, dt), ng.metadata["edges"])
        errors.append(int(np.abs(spikes - r.edge_spikes).sum()))
    assert errors[0] > errors[1] > errors[2]
    assert errors == [116, 24, 0]          # total |count difference| over the edges
    np.testing.assert_array_equal(flow, r.edge_flow)


def test_round_trip(case, tmp_path):
    _, _, ng = case
    back = read_nir(write_nir(tmp_path / "heat1d.nir", ng))
    assert set(back.nodes) == set(ng.nodes) and sorted(map(tuple, back.edges)) == sorted(ng.edges)
    for name in ("flux", "exchange", "packets"):
        np.testing.assert_array_equal(back.nodes[name].weight, ng.nodes[name].weight)
    np.testing.assert_array_equal(back.metadata["initial_mass"], ng.metadata["initial_mass"])
    a = interpret(ng, T, 1e-3).integral["spikes"]
    b = interpret(back, T, 1e-3).integral["spikes"]
    np.testing.assert_array_equal(a, b)


def test_refusals(case):
    g, _, ng = case
    with pytest.raises(ConfigError, match="dt"):
        interpret(ng, T, 0.0)
    lagged = g.copy()
    for _, _, d in lagged.edges(data=True):
        d["latency"] = 0.01
    with pytest.raises(ConfigError, match="latency"):
        to_nir(lagged, _u0, Q)


def test_missing_nir_names_the_hardware_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(MissingDependency, match=r"evsim\[hardware\]"):
        to_nir(topologies.grid_1d(cells=4), np.ones(4), Q)
