"""Finite-volume grid builders: documented attributes and conductances."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.teachers import operator


def test_grid_1d_attributes():
    g = topologies.grid_1d(cells=4, length=2.0, diffusivity=0.5)
    h = 0.5
    x = topologies.cell_positions(g)
    np.testing.assert_allclose(x[:, 0], [0.25, 0.75, 1.25, 1.75])
    assert all(g.nodes[c]["volume"] == h for c in range(4))
    assert g.edges[0, 1]["conductance"] == pytest.approx(0.5 / h)
    left = ("bc", "left", 0)
    assert g.nodes[left]["kind"] == "reservoir" and g.nodes[left]["pos"] == (0.0,)
    assert g.edges[0, left]["conductance"] == pytest.approx(2 * 0.5 / h)  # face at h/2


def test_grid_2d_order_and_callable_dirichlet():
    g = topologies.grid_2d(cells=(3, 2), length=(3.0, 1.0), boundary={"top": lambda p: p[0]})
    x = topologies.cell_positions(g)
    np.testing.assert_allclose(x[1], [0.5, 0.75])  # node = i * ny + j
    assert g.nodes[("bc", "top", 2)]["potential"] == pytest.approx(2.5)
    assert g.graph["shape"] == (3, 2)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_discrete_laplacian_eigenvalue(dim):
    """The grid operator's slowest mode decays at kappa * dim * pi^2 to O(h^2)."""
    n = 24 if dim < 3 else 10
    g = topologies.grid(( n,) * dim, (1.0,) * dim, diffusivity=0.1)
    A, b = operator(g)
    x = topologies.cell_positions(g)
    mode = np.prod(np.sin(np.pi * x), axis=1)
    rate = -(mode @ (A @ mode)) / (mode @ mode)
    assert rate == pytest.approx(0.1 * dim * np.pi**2, rel=3.0 / n)
    assert np.all(b == 0)


def test_periodic_is_closed_and_neumann_source_grows_mass():
    g = topologies.grid_1d(cells=10, left="periodic", right="periodic")
    assert g.number_of_edges() == 10 and evsim.compile_network(g).reservoirs == 0
    g = topologies.grid_1d(cells=10, left="neumann", right="neumann", source=2.0)
    r = evsim.simulate(g, np.zeros(10), quota=1e-3, t_end=0.5)
    assert r.mass_final == pytest.approx(2.0 * 1.0 * 0.5, abs=10 * 1e-3)  # f * |domain| * t
    assert r.ledger.residual == 0


def test_decay_to_ground():
    g = topologies.grid_1d(cells=10, left="neumann", right="neumann", decay=1.0)
    r = evsim.simulate(g, np.ones(10), quota=1e-4, t_end=1.0)
    np.testing.assert_allclose(r.final_potential, np.exp(-1.0), atol=3e-3)
