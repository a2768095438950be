"""The semi-discrete reference picks an exact integrator that fits the size and stiffness."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from evsim import topologies as T
from evsim.errors import ConfigError
from evsim.teachers import semidiscrete
from evsim.teachers.semidiscrete import operator, select_method
from evsim.workflow.problems import get_problem


def stiff_graph(n: int = 20, seed: int = 0) -> nx.Graph:
    """A chain of ``n`` cells with conductances spanning 1e-6 .. 1e6, a reservoir and sources."""
    rng = np.random.default_rng(seed)
    g = nx.Graph()
    for i in range(n):
        g.add_node(i, kind="cell", volume=float(rng.uniform(0.5, 2.0)), source=float(rng.uniform(-1, 1)))
    conductance = np.logspace(-6, 6, n - 1)
    rng.shuffle(conductance)
    for i, c in enumerate(conductance):
        g.add_edge(i, i + 1, conductance=float(c))
    g.add_node("r", kind="reservoir", potential=1.0)
    g.add_edge(0, "r", conductance=1e-3)
    g.add_edge(n // 2, "r", conductance=1e4)
    return g


def dense_reference(graph, u0, times):
    """``expm`` of the augmented dense matrix ``[[A, b], [0, 0]]`` at each time from 0."""
    A, b = operator(graph)
    n = A.shape[0]
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = A.toarray()
    aug[:n, n] = b
    y0 = np.append(u0, 1.0)
    return np.array([(scipy.linalg.expm(aug * t) @ y0)[:n] for t in times])


def test_stiff_twenty_cell_graph_uses_the_dense_method_and_matches_a_dense_reference():
    g = stiff_graph()
    times = np.array([0.0, 1e-7, 1e-4, 0.1, 1.0, 10.0])
    A, _ = operator(g)
    assert select_method(A, 1e6) == "eigh"
    u0 = np.linspace(-1.0, 1.0, 20)
    u = semidiscrete(g, u0, times)
    ref = dense_reference(g, u0, times)
    np.testing.assert_array_equal(u[0], u0)
    assert np.max(np.abs(u - ref)) < 1e-8 * np.max(np.abs(ref))      # expm itself: 2e-10 at t = 10


def test_stiff_graph_reference_is_accurate_against_a_40_digit_exponential():
    mp = pytest.importorskip("mpmath")
    g = stiff_graph()
    A, b = operator(g)
    n = A.shape[0]
    u0 = np.linspace(-1.0, 1.0, n)
    mp.mp.dps = 40
    aug = mp.matrix(np.block([[A.toarray(), b[:, None]], [np.zeros((1, n + 1))]]).tolist())
    y0 = mp.matrix(list(u0) + [1.0])
    for t, bound in ((1e-4, 1e-13), (1.0, 1e-11), (1e3, 1e-9)):     # measured 3e-15, 5e-13, 3e-10
        exact = np.array([float(v) for v in (mp.expm(aug * t) * y0)[:n]])
        u = semidiscrete(g, u0, [t])[0]
        assert np.max(np.abs(u - exact)) < bound * np.max(np.abs(exact))


def test_closed_graph_with_sources_conserves_mass_through_the_zero_mode():
    g = T.grid_1d(cells=30, left="neumann", right="neumann", source=lambda x: np.cos(np.pi * x[0]) + 0.5)
    u0 = np.sin(3 * np.arange(30))
    times = np.array([0.0, 0.01, 0.5, 3.0])
    volume = np.array([g.nodes[c]["volume"] for c in T.cell_nodes(g)])
    source = np.array([g.nodes[c]["source"] for c in T.cell_nodes(g)])
    ref = dense_reference(g, u0, times)
    for method in ("eigh", "expm_multiply"):
        assert np.max(np.abs(semidiscrete(g, u0, times, method=method) - ref)) < 1e-11 * np.max(np.abs(ref))
    mass = semidiscrete(g, u0, times, method="eigh") @ volume
    np.testing.assert_allclose(mass, u0 @ volume + source.sum() * times, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name, cells", [("heat1d", 100), ("disk", 300), ("cube3d", 6)])
def test_both_methods_agree_to_round_off_on_canonical_problems(name, cells):
    p = get_problem(name)
    g = p.build(cells, p.diffusivity)
    u0 = p.initial(T.cell_positions(g))
    times = p.record_times()
    dense = semidiscrete(g, u0, times, method="eigh")
    sparse = semidiscrete(g, u0, times, method="expm_multiply")
    assert np.max(np.abs(dense - sparse)) < 1e-12 * np.max(np.abs(sparse))


@pytest.mark.parametrize("name, method", [("heat1d", "eigh"), ("heat2d", "expm_multiply"),
                                          ("laplace2d", "expm_multiply"),
                                          ("disk", "expm_multiply"), ("cube3d", "expm_multiply")])
def test_method_chosen_for_each_canonical_problem(name, method):
    p = get_problem(name)
    A, _ = operator(p.build(p.cells, p.diffusivity))
    assert select_method(A, p.record_times()[-1]) == method


def test_large_graphs_never_use_the_dense_method():
    g = T.grid_2d(cells=80, diffusivity=1e6)                           # 6400 cells, stiff
    A, _ = operator(g)
    assert select_method(A, 1.0) == "expm_multiply"


def test_unknown_method_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown method 'pade'"):
        semidiscrete(T.grid_1d(cells=4), np.zeros(4), [0.1], method="pade")
