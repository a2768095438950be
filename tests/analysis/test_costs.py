"""Solver costs, break-even activity and the shared packet counts, by hand."""
from types import SimpleNamespace

import numpy as np
import pytest

from evsim.analysis import costs, energy as en, packets
from evsim.errors import ConfigError
from evsim.workflow.problems import get_problem


def test_ftcs_cost_by_hand():
    graph = get_problem("heat1d").build(10, 0.1)       # 9 cell-cell edges, 2 Dirichlet edges
    x = np.linspace(0.05, 0.95, 10)
    f = costs.ftcs_cost(graph, np.sin(np.pi * x), np.array([0.0, 0.05]))
    assert f["field"].shape == (2, 10)
    assert (f["adds"], f["mults"]) == (f["steps"] * (3 * 9 + 2 * 2 + 10), f["steps"] * (9 + 2 + 10))
    assert f["flops"] == f["adds"] + f["mults"]
    assert f["energy"] == pytest.approx(f["adds"] * 0.9e-12 + f["mults"] * 3.7e-12)
    half = costs.ftcs_cost(graph, np.sin(np.pi * x), np.array([0.0, 0.05]), cfl=0.5)
    assert half["dt"] == pytest.approx(f["dt"] / 2) and half["steps"] >= 2 * f["steps"] - 1


def test_pinn_cost_by_hand():
    teacher = SimpleNamespace(sizes=(2, 4, 1), flops_per_point=lambda: 2 * (2 * 4 + 4 * 1) + 4)
    c = costs.pinn_cost(teacher, 10)
    assert (c["macs_per_point"], c["flops_per_point"], c["flops"]) == (12, 28, 280)
    assert c["energy"] == pytest.approx(10 * (12 * 4.6e-12 + 4 * 3.7e-12))
    with pytest.raises(ConfigError, match="smaller than its dense-layer MACs"):
        costs.pinn_cost(SimpleNamespace(sizes=(2, 4, 1), flops_per_point=lambda: 3), 10)


def test_break_even_by_hand():
    counts = en.EventCounts(packets=4, synaptic_ops=10, neuron_updates=8, spikes_out=4, neurons=2)
    be = costs.break_even(counts, "loihi", reference_energy=1e-9, cells=2, t_end=0.5)
    e_p = (10 * 35.5e-12 + 8 * 72.8e-12 + 4 * 76.8e-12) / 4
    assert be["energy_per_packet"] == pytest.approx(e_p)
    assert be["packets_break_even"] == pytest.approx(1e-9 / e_p)
    assert be["activity"] == pytest.approx(4 / (2 * 0.5))
    assert be["ratio"] == pytest.approx(4 / (1e-9 / e_p))
    with pytest.raises(ConfigError, match="with packets"):
        costs.break_even(en.EventCounts(0, 0, 0, 0), "loihi", 1e-9, 2, 0.5)


def test_directed_counts_from_spikes_and_flow():
    r = SimpleNamespace(potential=np.zeros((3, 4)), edge_spikes=np.array([4, 1, 0]),
                        edge_flow=np.array([2, -1, 0]))
    assert packets.cell_count(r) == 4
    fwd, bwd = packets.directed_counts(r)
    assert fwd.tolist() == [3, 0, 0] and bwd.tolist() == [1, 1, 0]
    r.edge_forward, r.edge_backward = np.array([5]), np.array([6])
    assert [a.tolist() for a in packets.directed_counts(r)] == [[5], [6]]
    bad = SimpleNamespace(edge_spikes=np.array([1]), edge_flow=np.array([2]))
    with pytest.raises(ValueError, match="inconsistent"):
        packets.directed_counts(bad)


def test_one_list_of_profile_names():
    assert en.PROFILE_NAMES == ("loihi", "truenorth", "spinnaker", "cmos45")
    assert all(en.get_profile(p).name == p for p in en.PROFILE_NAMES)
    with pytest.raises(ConfigError, match="unknown energy profile"):
        en.get_profile("loihi9")
    with pytest.raises(ConfigError, match="synapse_model"):
        en.event_counts(SimpleNamespace(potential=np.zeros((1, 1))), synapse_model="dense")
