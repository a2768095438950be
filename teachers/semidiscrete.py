"""The semi-discrete reference: the same finite-volume graph, exact in time.

The cell graph defines the linear ODE system

.. math:: \\frac{du}{dt} = A u + b, \\qquad
          A = -M^{-1} L, \\qquad b_i = \\frac{1}{V_i} \\Big( \\sum_{r} g_{ir} u_r + S_i \\Big),

with ``M = diag(V)``, ``L`` the weighted graph Laplacian restricted to cells
(reservoir edges add ``g_ir`` to the diagonal) and ``u_r`` the reservoir
potentials. It is integrated exactly with the action of the matrix exponential
(:func:`scipy.sparse.linalg.expm_multiply`) on the augmented state ``[u, 1]``,
so comparing a PISNN against it isolates the quantization error from the
spatial discretization error.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import expm_multiply

from evsim.errors import ConfigError, GraphError
from evsim.network import Network, compile_network

__all__ = ["operator", "semidiscrete", "steady_state"]


def operator(graph: nx.Graph | Network, diffusivity_scale: float = 1.0) -> tuple[sp.csr_matrix, np.ndarray]:
    """The semi-discrete system ``du/dt = A u + b`` of a cell graph.

    Parameters
    ----------
    graph
        Cell graph or compiled network.
    diffusivity_scale
        Factor applied to every conductance (a fitted operator scale).

    Returns
    -------
    A : scipy.sparse.csr_matrix
        ``(N, N)`` operator ``-M^{-1} L``.
    b : numpy.ndarray
        ``(N,)`` constant forcing from reservoirs and sources.
    """
    net = graph if isinstance(graph, Network) else compile_network(graph)
    N = net.cells
    i, j = net.edges[:, 0], net.edges[:, 1]
    g = net.conductance * diffusivity_scale
    both = (i < N) & (j < N)
    rows = np.concatenate([i[both], j[both], i[both], j[both]])
    cols = np.concatenate([j[both], i[both], i[both], j[both]])
    vals = np.concatenate([g[both], g[both], -g[both], -g[both]])
    b = np.zeros(N)
    pot = np.concatenate([np.zeros(N), net.reservoir_potential])
    for cell, res in ((i, j), (j, i)):  # edges between a cell and a reservoir
        m = (cell < N) & (res >= N)
        rows = np.concatenate([rows, cell[m]])
        cols = np.concatenate([cols, cell[m]])
        vals = np.concatenate([vals, -g[m]])
        np.add.at(b, cell[m], g[m] * pot[res[m]])
        # constant drives (sources): forward flux from the reservoir end into the cell
        sign = 1.0 if res is i else -1.0
        np.add.at(b, cell[m], sign * net.drive[m])
    L = sp.csr_matrix((vals, (rows, cols)), shape=(N, N))
    inv_v = 1.0 / net.volume
    return sp.diags(inv_v) @ L, b * inv_v


def semidiscrete(graph: nx.Graph | Network, u0: np.ndarray, times: np.ndarray,
                 diffusivity_scale: float = 1.0) -> np.ndarray:
    """Exact-in-time solution of the cell graph's ODE system at ``times``.

    Parameters
    ----------
    graph
        Cell graph or compiled network.
    u0
        Initial cell potentials, shape ``(N,)``.
    times
        Sorted output times ``>= 0``.
    diffusivity_scale
        Factor applied to every conductance.

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` potentials at ``times``.

    Raises
    ------
    ConfigError
        If ``times`` are not sorted and non-negative.
    """
    A, b = operator(graph, diffusivity_scale)
    N = A.shape[0]
    aug = sp.bmat([[A, sp.csr_matrix(b.reshape(-1, 1))], [None, sp.csr_matrix((1, 1))]]).tocsr()
    y = np.append(np.asarray(u0, dtype=float), 1.0)
    out = np.empty((len(times), N))
    t_prev = 0.0
    for k, t in enumerate(np.asarray(times, dtype=float)):
        if t < t_prev:
            raise ConfigError(f"times must be sorted and >= 0, got {t} after {t_prev}")
        if t > t_prev:
            y = expm_multiply(aug * (t - t_prev), y)
        out[k] = y[:N]
        t_prev = t
    return out


def steady_state(graph: nx.Graph | Network) -> np.ndarray:
    """Steady state ``A u + b = 0`` of a cell graph.

    Parameters
    ----------
    graph
        Cell graph or compiled network with at least one reservoir edge.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` steady cell potentials.

    Raises
    ------
    GraphError
        If no cell is joined to a reservoir (a closed graph has no unique steady state).
    """
    net = graph if isinstance(graph, Network) else compile_network(graph)
    to_reservoir = (net.edges >= net.cells).any(axis=1) & (net.conductance > 0)
    if not to_reservoir.any():
        raise GraphError("steady_state needs a reservoir: no cell has an edge to a reservoir "
                         "(a closed, all-Neumann graph has no unique steady state)")
    A, b = operator(net)
    return sp.linalg.spsolve(A.tocsc(), -b)
