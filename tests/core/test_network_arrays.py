"""The array path to a Network: network_from_arrays, to_networkx, permute_network."""
import networkx as nx
import numpy as np
import pytest

import evsim
from evsim.errors import GraphError
from evsim.network import (SOURCE_NODE, compile_network, network_from_arrays, permute_network,
                           to_networkx)
from identical import NETWORK_FIELDS, assert_same_network



@pytest.fixture()
def graph():
    """Five cells (two with sources, one with an initial potential), two reservoirs,
    latencies on some edges, node labels of mixed types."""
    g = nx.Graph()
    for k in range(5):
        g.add_node(("c", k), kind="cell", volume=1.0 + 0.25 * k, pos=(0.1 * k, 0.2 * k))
    g.nodes[("c", 1)]["source"] = 0.5
    g.nodes[("c", 3)]["source"] = -0.25
    g.nodes[("c", 2)]["potential"] = 0.75
    g.add_node("left", kind="reservoir", potential=1.0)
    g.add_node("right", kind="reservoir", potential=-2.0)
    for k in range(4):
        g.add_edge(("c", k), ("c", k + 1), conductance=1.0 + k, latency=0.01 * (k % 2))
    g.add_edge(("c", 0), "left", conductance=2.0)
    g.add_edge("right", ("c", 4), conductance=3.0)
    g.add_edge(("c", 0), ("c", 3), conductance=0.5)
    return g


def arrays_of(g):
    """The graph as plain arrays, edges in NetworkX's edge order (read from the graph
    here, independently of compile_network)."""
    cells = [n for n, d in g.nodes(data=True) if d["kind"] == "cell"]
    res = [n for n, d in g.nodes(data=True) if d["kind"] == "reservoir"]
    index = {n: k for k, n in enumerate(cells + res)}
    edges = [(index[u], index[v]) for u, v in g.edges()]
    return dict(volume=[g.nodes[c]["volume"] for c in cells], edges=edges,
                conductance=[d["conductance"] for _, _, d in g.edges(data=True)],
                reservoir_potential=[g.nodes[r]["potential"] for r in res],
                latency=[d.get("latency", 0.0) for _, _, d in g.edges(data=True)],
                source=[g.nodes[c].get("source", 0.0) for c in cells],
                positions=[g.nodes[c]["pos"] for c in cells],
                initial_potential=[g.nodes[c].get("potential", np.nan) for c in cells],
                nodes=cells + res)


def test_arrays_give_the_compiled_network(graph):
    net = network_from_arrays(**arrays_of(graph))
    assert_same_network(net, compile_network(graph))
    assert net.nodes[-1] == SOURCE_NODE and net.size == 7 + 2     # two drive edges appended
    assert np.array_equal(net.drive[-2:], [0.5, -0.25])
    for name in NETWORK_FIELDS:
        assert not getattr(net, name).flags.writeable


def test_to_networkx_round_trip(graph):
    net = compile_network(graph)
    back = to_networkx(net)
    assert SOURCE_NODE not in back
    assert back.nodes[("c", 1)]["source"] == 0.5 and back.nodes[("c", 2)]["potential"] == 0.75
    assert_same_network(compile_network(back), net)


def test_default_labels_and_positions():
    net = network_from_arrays([1.0, 2.0], [[0, 1], [1, 2]], [1.0, 4.0], [0.0])
    assert net.nodes == [0, 1, 2] and net.positions.shape == (2, 1)
    assert np.isnan(net.positions).all() and np.isnan(net.initial_potential).all()
    assert net.inc_ptr.tolist() == [0, 1, 3] and net.inc_edge.tolist() == [0, 0, 1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(volume=[1.0, -1.0]), r"Network.volume\[1\] is not positive"),
    (dict(conductance=[1.0, 0.0]), r"Network.conductance\[1\] is not positive"),
    (dict(edges=[[0, 1], [1, 1]]), r"self-loop"),
    (dict(edges=[[0, 1], [1, 5]]), r"is not a node index in \[0, 3\)"),
    (dict(edges=[[0, 1], [2, 2]], reservoir_potential=[0.0, 1.0]), r"self-loop"),
    (dict(conductance=[1.0]), r"conductance must be a 1D array of 2 values"),
    (dict(latency=[0.0, -1.0]), r"Network.latency\[1\] is negative"),
    (dict(volume=[1.0, 1.0, 1.0], edges=[[0, 1], [1, 3]]), r"cell 2 has no edge at all"),
])
def test_bad_arrays_are_named(kwargs, match):
    args = dict(volume=[1.0, 2.0], edges=[[0, 1], [1, 2]], conductance=[1.0, 4.0],
                reservoir_potential=[0.0])
    args.update(kwargs)
    with pytest.raises(GraphError, match=match):
        network_from_arrays(**args)


def test_permutation_keeps_the_operator_and_sorts_edges(graph):
    net = compile_network(graph)
    order = np.array([3, 0, 4, 2, 1])
    new = permute_network(net, order)
    assert new.nodes[:5] == [net.nodes[k] for k in order] and new.nodes[5:] == net.nodes[5:]
    lo = new.edges.min(axis=1)
    assert np.all(np.diff(lo) >= 0)              # edges sorted by their lower (cell) end
    # the same edges with the same orientation, conductance, drive and latency
    old_of = np.concatenate([order, np.arange(5, len(net.nodes))])
    before = {(net.nodes[a], net.nodes[b]): (g, d, t) for (a, b), g, d, t in
              zip(net.edges.tolist(), net.conductance, net.drive, net.latency)}
    after = {(net.nodes[old_of[a]], net.nodes[old_of[b]]): (g, d, t) for (a, b), g, d, t in
             zip(new.edges.tolist(), new.conductance, new.drive, new.latency)}
    assert before == after
    assert np.array_equal(new.volume, net.volume[order])
    assert np.array_equal(new.positions, net.positions[order])
    with pytest.raises(GraphError, match="permutation of the 5 cells"):
        permute_network(net, [0, 0, 1, 2, 3])


def test_permuted_network_simulates_the_same_physics(graph):
    """Same field up to the tie order of simultaneous events: both runs are within
    O(q / V) of each other and keep the ledger exact."""
    net = compile_network(graph)
    order = np.array([4, 2, 0, 3, 1])
    u0 = np.array([0.1, 0.4, 0.75, -0.3, 0.2])
    kw = dict(quota=1e-4, t_end=0.5, progress=False)
    a = evsim.simulate(net, u0, **kw)
    b = evsim.simulate(permute_network(net, order), u0[order], **kw)
    assert a.ledger.residual == 0 and b.ledger.residual == 0
    ua, ub = a.final_potential, b.final_potential
    assert np.max(np.abs(ua[order] - ub)) < 5 * 1e-4 / net.volume.min()
    assert abs(a.spikes - b.spikes) <= 0.01 * a.spikes
