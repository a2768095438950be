"""A Network handed to simulate is validated; compiled arrays are read-only."""
import dataclasses

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.network import validate_network


@pytest.fixture(scope="module")
def net():
    return evsim.compile_network(topologies.grid_2d(cells=4, diffusivity=0.1))


def _changed(net, name, edit):
    a = np.array(getattr(net, name))  # a writable copy
    a = edit(a)
    return dataclasses.replace(net, **{name: a})


def _set(index, value):
    def edit(a):
        a[index] = value
        return a
    return edit


def test_compiled_arrays_are_read_only(net):
    for name in ("edges", "conductance", "drive", "latency", "volume", "reservoir_potential",
                 "initial_potential", "positions", "inc_ptr", "inc_edge"):
        a = getattr(net, name)
        assert not a.flags.writeable, name
        with pytest.raises(ValueError):
            a[...] = 0


def test_valid_network_passes_and_runs(net):
    validate_network(net)
    r = evsim.simulate(net, np.ones(net.cells), quota=1e-3, t_end=0.05, progress=False)
    assert r.ledger.residual == 0


@pytest.mark.parametrize("name, edit, words", [
    ("edges", _set((2, 1), -1), "Network.edges[(2, 1)]"),
    ("edges", _set((0, 0), 10 ** 6), "Network.edges[(0, 0)]"),
    ("edges", lambda a: a.astype(float), "Network.edges must be"),
    ("edges", lambda a: a[:-1], "Network.edges has shape"),
    ("conductance", _set(3, np.nan), "Network.conductance[3] is not finite"),
    ("conductance", _set(1, -1.0), "Network.conductance[1] is not positive"),
    ("conductance", _set(1, 0.0), "Network.conductance[1] is not positive"),
    ("drive", _set(0, np.inf), "Network.drive[0] is not finite"),
    ("latency", _set(4, -0.5), "Network.latency[4] is negative"),
    ("latency", _set(4, np.nan), "Network.latency[4] is not finite"),
    ("volume", _set(5, np.nan), "Network.volume[5] is not finite"),
    ("volume", _set(5, 0.0), "Network.volume[5] is not positive"),
    ("volume", lambda a: a[:-1], "Network.volume has shape"),
    ("reservoir_potential", _set(0, np.inf), "Network.reservoir_potential[0] is not finite"),
    ("initial_potential", _set(0, -np.inf), "Network.initial_potential[0] is infinite"),
    ("inc_ptr", _set(2, 99), "Network.inc_ptr[2]"),
    ("inc_ptr", lambda a: a[:-1], "Network.inc_ptr has shape"),
    ("inc_edge", _set(0, -3), "Network.inc_edge[0] is not an edge index"),
    ("inc_edge", _set(0, 10 ** 6), "Network.inc_edge[0] is not an edge index"),
    ("inc_edge", lambda a: a[::-1].copy(), "Network.inc_edge"),
    ("positions", lambda a: a[:, :, None], "Network.positions has shape"),
])
def test_mutated_array_raises_graph_error(net, name, edit, words):
    bad = _changed(net, name, edit)
    with pytest.raises(evsim.GraphError) as info:
        evsim.simulate(bad, np.ones(net.cells), quota=1e-3, t_end=0.05, progress=False)
    assert words in str(info.value)


def test_duplicate_incidence_entry_is_caught(net):
    # an edge listed twice for one cell (the count still matches)
    inc = net.inc_edge.copy()
    lo, hi = net.inc_ptr[0], net.inc_ptr[1]
    assert hi - lo >= 2
    inc[lo + 1] = inc[lo]
    with pytest.raises(evsim.GraphError, match="exactly once"):
        validate_network(dataclasses.replace(net, inc_edge=inc))


def test_wrong_counts_of_nodes(net):
    with pytest.raises(evsim.GraphError, match="node labels"):
        validate_network(dataclasses.replace(net, nodes=net.nodes[:-1]))
