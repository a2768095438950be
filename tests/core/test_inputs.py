"""Bad input gets a clear error naming the problem; odd-but-valid input works."""
import math

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import topologies


def two_cells(**edge):
    g = nx.Graph()
    g.add_node("a", volume=1.0, pos=(0.0,))
    g.add_node("b", volume=1.0, pos=(1.0,))
    g.add_edge("a", "b", **({"conductance": 1.0} | edge))
    return g


def run(g, u0=(1.0, 0.0), **kw):
    return evsim.simulate(g, np.asarray(u0, dtype=float), **({"quota": 0.01, "t_end": 0.1} | kw))


@pytest.mark.parametrize("mutate, message", [
    (lambda g: g.nodes["a"].pop("volume"), "cell 'a' is missing the 'volume' attribute"),
    (lambda g: g.nodes["a"].update(volume=-1.0), "cell 'a' has non-positive volume"),
    (lambda g: g.nodes["a"].update(volume=0.0), "cell 'a' has non-positive volume"),
    (lambda g: g.nodes["a"].update(volume=math.nan), "volume of cell 'a' is NaN"),
    (lambda g: g.edges["a", "b"].update(conductance=0.0), "edge ('a', 'b') has non-positive conductance"),
    (lambda g: g.edges["a", "b"].update(conductance=-2.0), "non-positive conductance -2.0"),
    (lambda g: g.edges["a", "b"].update(conductance=math.nan), "conductance of edge ('a', 'b') is NaN"),
    (lambda g: g.edges["a", "b"].pop("conductance"), "missing the 'conductance' attribute"),
    (lambda g: g.edges["a", "b"].update(latency=-1.0), "negative latency"),
    (lambda g: g.add_node("c", volume=1.0), "cell 'c' has no edge at all"),
    (lambda g: g.nodes["a"].update(kind="neuron"), "unknown kind 'neuron'"),
    (lambda g: (g.add_node("r", kind="reservoir"), g.add_edge("r", "a", conductance=1.0)),
     "reservoir 'r' is missing the 'potential' attribute"),
    (lambda g: (g.add_node("r", kind="reservoir", potential=0.0), g.add_node("s", kind="reservoir", potential=1.0),
                g.add_edge("r", "s", conductance=1.0), g.add_edge("r", "a", conductance=1.0)),
     "joins two reservoirs"),
    (lambda g: g.add_edge("a", "a", conductance=1.0), "self-loop on node 'a'"),
])
def test_bad_graph_is_named(mutate, message):
    g = two_cells()
    mutate(g)
    with pytest.raises(evsim.GraphError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(g)


@pytest.mark.parametrize("kwargs, message", [
    (dict(quota=0.0), "quota must be a positive finite number"),
    (dict(quota=-1e-3), "quota must be a positive finite number"),
    (dict(quota=math.nan), "quota must be a positive finite number"),
    (dict(t_end=math.inf), "t_end must be a finite number"),
    (dict(engine="gpu"), "unknown engine 'gpu'"),
    (dict(u0=[1.0, math.nan]), "u0 contains NaN"),
    (dict(u0=[1.0, 2.0, 3.0]), r"u0 must have one value per cell, shape \(2,\)"),
    (dict(record=[0.05, 0.01]), "record times must be sorted"),
    (dict(record=[0.0, 0.5]), r"record times must lie in \[0, t_end"),
    (dict(max_events=-1), "max_events must be >= 0"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(two_cells(), **kwargs)


def test_missing_initial_potential_is_named():
    with pytest.raises(ValueError, match="u0 not given and cell 'a' has no 'potential'"):
        evsim.simulate(two_cells(), quota=0.01, t_end=0.1)


def test_not_a_graph():
    with pytest.raises(evsim.GraphError, match="undirected networkx.Graph"):
        evsim.simulate(nx.DiGraph(two_cells()), [1.0, 0.0])
    with pytest.raises(evsim.GraphError, match="no cell nodes"):
        evsim.simulate(nx.Graph(), [])


def test_closed_graph_and_cell_potentials_are_valid():
    g = two_cells()
    g.nodes["a"]["potential"] = 1.0
    g.nodes["b"]["potential"] = 0.0
    r = evsim.simulate(g, quota=0.01, t_end=5.0)
    assert r.network.reservoirs == 0 and r.ledger.residual == 0
    np.testing.assert_allclose(r.final_potential, 0.5, atol=0.011)  # equilibrium within one quantum


def test_unknown_problem_is_named():
    from evsim.workflow.problems import get_problem

    with pytest.raises(ValueError, match="unknown problem 'heat9d'; known problems: .*heat1d"):
        get_problem("heat9d")


@pytest.mark.parametrize("kwargs, message", [
    (dict(boundary={"north": 0.0}), "unknown boundary side"),
    (dict(boundary="robin"), "unknown condition 'robin'"),
    (dict(boundary={"left": "periodic"}), "periodic boundary must be set on both"),
    (dict(diffusivity=0.0), "diffusivity must be positive"),
    (dict(cells=0), "at least one cell"),
])
def test_bad_grid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        topologies.grid_2d(**({"cells": 4} | kwargs))
