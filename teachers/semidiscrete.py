"""The semi-discrete reference: the same finite-volume graph, exact in time.

The cell graph defines the linear ODE system

.. math:: \\frac{du}{dt} = A u + b, \\qquad
          A = -M^{-1} K, \\qquad b_i = \\frac{1}{V_i} \\Big( \\sum_{r} g_{ir} u_r + S_i \\Big),

with ``M = diag(V)``, ``K`` the weighted graph Laplacian restricted to cells
(reservoir edges add ``g_ir`` to the diagonal; symmetric positive
semi-definite) and ``u_r`` the reservoir potentials. It is integrated exactly
in time, so comparing a PISNN against it isolates the quantization error from
the spatial discretization error. Two exact methods are used
(:func:`select_method`):

``"eigh"`` (dense; small graphs and stiff graphs)
    The symmetric generalized eigenproblem ``K phi = lambda M phi``, solved as
    ``S = M^{-1/2} K M^{-1/2} = Q diag(lambda) Q^T`` (:func:`scipy.linalg.eigh`).
    With ``y = M^{1/2} u``, ``z = Q^T y`` and ``gamma = Q^T M^{-1/2} (M b)``,
    every mode is integrated in closed form,

    .. math:: z_k(t) = e^{-\\lambda_k t} z_k(0) + t \\, \\mathrm{exprel}(-\\lambda_k t) \\, \\gamma_k
                     = z_k(0) + t \\, \\mathrm{exprel}(-\\lambda_k t) \\, (\\gamma_k - \\lambda_k z_k(0)),

    with ``exprel(x) = (e^x - 1) / x``, which also holds for ``lambda_k = 0``
    (a closed graph with sources); the second form, used, gives ``u(0) = u0``
    exactly and keeps the small increments of short times accurate. Its
    cost, ``O(N^3)`` once plus ``O(N^2)`` per output time, does not depend
    on the stiffness ``max(lambda) t``.
``"expm_multiply"`` (sparse; large graphs that are not too stiff)
    The action of the matrix exponential (:func:`scipy.sparse.linalg.expm_multiply`)
    on the augmented state ``[u, 1]`` of ``d/dt [u, 1] = [[A, b], [0, 0]] [u, 1]``,
    from one output time to the next. Its cost grows with ``nnz(A) ||A t||_1``,
    so it is hopeless for stiff graphs (conductances over many decades).
"""
from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.special
from scipy.sparse.linalg import expm_multiply

from evsim.errors import ConfigError, GraphError
from evsim.network import Network, compile_network

__all__ = ["operator", "semidiscrete", "select_method", "steady_state", "METHODS", "DENSE_LIMIT"]

#: The exact time integrators of :func:`semidiscrete`.
METHODS = ("eigh", "expm_multiply")

#: Largest graph (cells) for which :func:`select_method` may choose the dense ``"eigh"``.
DENSE_LIMIT = 5000


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
        ``(N, N)`` operator ``-M^{-1} K``.
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


def select_method(A: sp.spmatrix, t_max: float) -> str:
    """The exact integrator :func:`semidiscrete` uses for ``du/dt = A u + b`` up to ``t_max``.

    The choice compares the work of the two methods (module docstring).
    ``expm_multiply`` needs about ``||A t_max||_1`` sparse products, each
    costing about ``10 nnz(A)`` dense flops plus a fixed overhead of about
    ``1e5``; the dense decomposition costs about ``N^3``. ``"eigh"`` is chosen
    when

    .. math:: N \\le 5000 \\quad\\text{and}\\quad
              N^3 \\le \\|A t_{max}\\|_1 \\, (10 \\, \\mathrm{nnz}(A) + 10^5),

    i.e. for small graphs and for stiff ones (conductances over many decades:
    a 20-cell graph with conductances ``1e-6 .. 1e6`` takes milliseconds
    instead of minutes), ``"expm_multiply"`` otherwise (large sparse graphs,
    and any graph above 5000 cells, where a dense matrix is too big). For the
    canonical problems this gives ``"eigh"`` for ``heat1d`` (100 cells) and
    ``"expm_multiply"`` for ``heat2d``/``laplace2d`` (4096), ``disk`` (about
    2000) and ``cube3d`` (1331).

    Parameters
    ----------
    A
        ``(N, N)`` sparse operator (:func:`operator`).
    t_max
        Last output time.

    Returns
    -------
    str
        ``"eigh"`` or ``"expm_multiply"``.
    """
    n = A.shape[0]
    norm = float(abs(A).sum(axis=0).max()) * t_max if A.nnz else 0.0
    if n <= DENSE_LIMIT and float(n) ** 3 <= norm * (10.0 * A.nnz + 1e5):
        return "eigh"
    return "expm_multiply"


def semidiscrete(graph: nx.Graph | Network, u0: np.ndarray, times: np.ndarray,
                 diffusivity_scale: float = 1.0, method: str = "auto") -> np.ndarray:
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
    method
        ``"auto"`` (:func:`select_method`: dense ``"eigh"`` for small or stiff
        graphs up to 5000 cells, else ``"expm_multiply"``), ``"eigh"`` or
        ``"expm_multiply"`` (see the module docstring). Both are exact; they
        agree to round-off.

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` potentials at ``times``.

    Raises
    ------
    ConfigError
        If ``times`` are not sorted and non-negative, or ``method`` is unknown.
    """
    times = np.asarray(times, dtype=float).reshape(-1)
    previous = np.concatenate([[0.0], times[:-1]])
    if np.any(times < previous):
        k = int(np.flatnonzero(times < previous)[0])
        raise ConfigError(f"times must be sorted and >= 0, got {times[k]} after {previous[k]}")
    if method not in ("auto",) + METHODS:
        raise ConfigError(f"unknown method {method!r}; use 'auto', 'eigh' or 'expm_multiply'")
    net = graph if isinstance(graph, Network) else compile_network(graph)
    A, b = operator(net, diffusivity_scale)
    u0 = np.asarray(u0, dtype=float)
    if method == "auto":
        method = select_method(A, float(times[-1]) if len(times) else 0.0)
    if method == "eigh":
        return _eigh_solution(A, b, net.volume, u0, times)
    N = A.shape[0]
    aug = sp.bmat([[A, sp.csr_matrix(b.reshape(-1, 1))], [None, sp.csr_matrix((1, 1))]]).tocsr()
    y = np.append(u0, 1.0)
    out = np.empty((len(times), N))
    t_prev = 0.0
    for k, t in enumerate(times):
        if t > t_prev:
            y = expm_multiply(aug * (t - t_prev), y)
        out[k] = y[:N]
        t_prev = t
    return out


def _eigh_solution(A: sp.csr_matrix, b: np.ndarray, volume: np.ndarray, u0: np.ndarray,
                   times: np.ndarray) -> np.ndarray:
    """``u(times)`` of ``du/dt = A u + b`` by the modes of ``M^{-1/2} K M^{-1/2}`` (module docstring)."""
    root = np.sqrt(volume)
    K = -(sp.diags(volume) @ A).toarray()
    S = K / root[:, None] / root[None, :]
    lam, Q = scipy.linalg.eigh(0.5 * (S + S.T))
    z0 = Q.T @ (root * u0)
    gamma = Q.T @ (root * b)
    step = times[:, None] * scipy.special.exprel(-np.outer(times, lam)) * (gamma - lam * z0)
    return u0 + (step @ Q.T) / root


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
