"""The teacher interface: "give me u at these points and times".

A *teacher* is any callable ``teacher(points, times) -> u`` with ``points`` of shape
``(N, dim)``, ``times`` of shape ``(T,)`` and ``u`` of shape ``(T, N)``, plus a ``name``
(:class:`Teacher`). Distillation (:mod:`evsim.teachers.distill`) only talks to teachers
through this interface, so analytic solutions, the semi-discrete reference, the explicit
FTCS solver (:mod:`evsim.teachers.ftcs`), FEM solvers and PINNs
(:mod:`evsim.teachers.pinn`) are interchangeable.

It also holds the two error measures of a field against a teacher or a reference,
:func:`rmse` and :func:`rmse_over_time` (public home :mod:`evsim.analysis.metrics`;
they live here, in the lowest layer that needs them, because distillation scores
against them), and the cell graph seen as a linear ODE (:func:`cell_operator`),

.. math:: V_i \\dot u_i = -\\sum_j g_{ij} (u_i - u_j) + S_i
          \\quad\\Longleftrightarrow\\quad V \\dot u = -K u + b + S ,

where the sum runs over all edges of cell ``i`` (to cells and to reservoirs),
``K`` is the weighted graph Laplacian restricted to cells (reservoir conductances on
the diagonal), ``b_i = sum_{j reservoir} g_ij u_j`` and ``S`` the cell sources. The
graph-based teachers solve this ODE; packet latencies play no role in a continuum teacher.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import networkx as nx
import numpy as np
import scipy.sparse as sp

from evsim.errors import ConfigError, GraphError

__all__ = ["Teacher", "AnalyticTeacher", "GraphTeacher", "SemiDiscreteTeacher", "CellOperator",
           "cell_operator", "teacher_on_cells", "rmse", "rmse_over_time"]


@runtime_checkable
class Teacher(Protocol):
    """Anything that can say ``u(x, t)``.

    Attributes
    ----------
    name
        Short label used in provenance records and figures (``"exact"``, ``"pinn"`` ...).
    """

    name: str

    def __call__(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``u`` at ``points`` ``(N, dim)`` and ``times`` ``(T,)``, shape ``(T, N)``."""
        ...


def teacher_on_cells(teacher: Teacher, graph: nx.Graph, times) -> np.ndarray:
    """The teacher's field at the cell centres of ``graph`` (cell order), shape ``(T, N)``."""
    from evsim.topologies import cell_positions
    return np.asarray(teacher(cell_positions(graph), np.atleast_1d(np.asarray(times, float))),
                      dtype=float)


def _squared_error(field: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(field - reference)^2`` after checking that the shapes match."""
    field, reference = np.asarray(field), np.asarray(reference)
    if field.shape != reference.shape:
        raise ConfigError(f"shape mismatch: field {field.shape} vs reference {reference.shape}")
    return (field - reference) ** 2


def rmse_over_time(field: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Root-mean-square error over cells at each time: ``(T,)`` from ``(T, N)`` fields.

    .. math:: \\mathrm{RMSE}(t_k) = \\Big(\\frac{1}{N} \\sum_i (u_{ki} - v_{ki})^2\\Big)^{1/2}
    """
    return np.sqrt(np.mean(_squared_error(np.atleast_2d(field), np.atleast_2d(reference)), axis=1))


def rmse(field: np.ndarray, reference: np.ndarray) -> float:
    """Root-mean-square error over all cells and times.

    .. math:: \\mathrm{RMSE} = \\Big(\\frac{1}{T N} \\sum_{k, i} (u_{ki} - v_{ki})^2\\Big)^{1/2}
    """
    return float(np.sqrt(np.mean(_squared_error(field, reference))))


# --------------------------------------------------------------------------- analytic
@dataclass
class AnalyticTeacher:
    """A closed-form solution ``exact(x, t) -> (T, N)`` as a teacher.

    Parameters
    ----------
    exact
        ``exact(points (N, dim), times (T,)) -> (T, N)``.
    name
        Label (default ``"exact"``).
    """

    exact: Callable[[np.ndarray, np.ndarray], np.ndarray]
    name: str = "exact"

    def __call__(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float)
        times = np.atleast_1d(np.asarray(times, float))
        u = np.asarray(self.exact(points, times), float)
        return u.reshape(len(times), len(points))


# --------------------------------------------------------------------------- graph operator
@dataclass(frozen=True)
class CellOperator:
    """The cell graph as the linear ODE ``V du/dt = -K u + b + S`` (module docstring).

    Attributes
    ----------
    nodes
        Cell node labels in cell order.
    volume
        ``(N,)`` cell volumes ``V_i``.
    K
        ``(N, N)`` sparse CSR, ``K_ii = sum_j g_ij`` over all edges of ``i``, ``K_ij = -g_ij`` between cells.
    b
        ``(N,)`` reservoir drive ``sum_{j reservoir} g_ij u_j``.
    source
        ``(N,)`` mass injection rates ``S_i``.
    n_cell_edges, n_reservoir_edges
        Number of cell-cell and cell-reservoir edges (for operation counts).
    """

    nodes: list
    volume: np.ndarray
    K: sp.csr_matrix
    b: np.ndarray
    source: np.ndarray
    n_cell_edges: int
    n_reservoir_edges: int

    def rhs(self, u: np.ndarray) -> np.ndarray:
        """``du/dt = (-K u + b + S) / V`` (``u`` of shape ``(N,)`` or ``(N, k)``)."""
        f = -(self.K @ u)
        drive = self.b + self.source
        f = f + (drive if f.ndim == 1 else drive[:, None])
        return f / (self.volume if f.ndim == 1 else self.volume[:, None])


def cell_operator(graph: nx.Graph, conductance_scale: float = 1.0) -> CellOperator:
    """Assemble :class:`CellOperator` from a graph with the evsim attributes.

    Parameters
    ----------
    graph
        Cells (``kind="cell"``, ``volume``), reservoirs (``kind="reservoir"``, ``potential``),
        edges with ``conductance``.
    conductance_scale
        Multiplies every conductance (``K`` and ``b``), e.g. a fitted diffusivity ratio.
    """
    kinds = {n: d.get("kind", "cell") for n, d in graph.nodes(data=True)}
    cells = [n for n in graph.nodes if kinds[n] == "cell"]
    index = {n: i for i, n in enumerate(cells)}
    N = len(cells)
    volume = np.array([float(graph.nodes[n]["volume"]) for n in cells])
    if np.any(volume <= 0):
        bad = cells[int(np.flatnonzero(volume <= 0)[0])]
        raise GraphError(f"cell {bad!r} has volume <= 0; every cell needs a positive 'volume'")
    source = np.array([float(graph.nodes[n].get("source", 0.0)) for n in cells])
    diag = np.zeros(N)
    b = np.zeros(N)
    rows, cols, vals = [], [], []
    n_cc = n_cr = 0
    for u, v, d in graph.edges(data=True):
        g = conductance_scale * float(d["conductance"])
        cu, cv = kinds[u] == "cell", kinds[v] == "cell"
        if cu and cv:
            i, j = index[u], index[v]
            diag[i] += g
            diag[j] += g
            rows += [i, j]
            cols += [j, i]
            vals += [-g, -g]
            n_cc += 1
        elif cu or cv:
            c, r = (u, v) if cu else (v, u)
            i = index[c]
            diag[i] += g
            b[i] += g * float(graph.nodes[r].get("potential", 0.0))
            n_cr += 1
    K = sp.coo_matrix((vals + list(diag), (rows + list(range(N)), cols + list(range(N)))),
                      shape=(N, N)).tocsr()
    return CellOperator(cells, volume, K, b, source, n_cc, n_cr)


# --------------------------------------------------------------------------- graph teachers
def _match_cells(points: np.ndarray, cell_pos: np.ndarray) -> np.ndarray | None:
    """Indices of the cells at ``points`` if every point is a cell centre, else ``None``."""
    if points.shape[1] != cell_pos.shape[1]:
        raise ConfigError(f"points have dimension {points.shape[1]}, cells {cell_pos.shape[1]}")
    extent = float(np.ptp(cell_pos, axis=0).max()) if len(cell_pos) > 1 else 0.0
    scale = extent or float(np.abs(cell_pos).max(initial=0.0)) or 1.0   # the mesh's own size
    if points.shape == cell_pos.shape and np.allclose(points, cell_pos, rtol=0, atol=1e-12 * scale):
        return np.arange(len(cell_pos))
    from scipy.spatial import cKDTree
    dist, idx = cKDTree(cell_pos).query(points)
    return idx if np.all(dist <= 1e-9 * scale) else None


@dataclass
class GraphTeacher:
    """Base of teachers that solve the cell-graph ODE (:class:`CellOperator`).

    Subclasses implement :meth:`solve` (the field at the cells, ``(T, N)``). At points
    that are cell centres the cell values are returned; elsewhere the field is
    interpolated linearly between nodes that have a ``pos`` (cells and positioned
    reservoirs, which carry the boundary values); outside their hull the result is NaN.
    """

    graph: nx.Graph
    u0: np.ndarray
    name: str = "graph"

    def __post_init__(self):
        self.u0 = np.asarray(self.u0, float).reshape(-1)

    def solve(self, times: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        from evsim.topologies import cell_positions
        times = np.atleast_1d(np.asarray(times, float))
        cell_pos = cell_positions(self.graph)
        points = np.asarray(points, float).reshape(-1, cell_pos.shape[1])
        field = self.solve(times)
        idx = _match_cells(points, cell_pos)
        if idx is not None:
            return field[:, idx]
        res = [n for n, d in self.graph.nodes(data=True)
               if d.get("kind", "cell") == "reservoir" and d.get("pos") is not None]
        res_pos = np.array([np.atleast_1d(self.graph.nodes[n]["pos"]) for n in res], float)
        res_val = np.array([float(self.graph.nodes[n].get("potential", 0.0)) for n in res])
        node_pos = np.vstack([cell_pos, res_pos.reshape(-1, cell_pos.shape[1])])
        out = np.empty((len(times), len(points)))
        if cell_pos.shape[1] == 1:
            order = np.argsort(node_pos[:, 0])
            for k in range(len(times)):
                vals = np.concatenate([field[k], res_val])[order]
                out[k] = np.interp(points[:, 0], node_pos[order, 0], vals, left=np.nan, right=np.nan)
            return out
        from scipy.interpolate import LinearNDInterpolator
        from scipy.spatial import Delaunay
        tri = Delaunay(node_pos)
        for k in range(len(times)):
            out[k] = LinearNDInterpolator(tri, np.concatenate([field[k], res_val]))(points)
        return out


@dataclass
class SemiDiscreteTeacher(GraphTeacher):
    """The semi-discrete reference: the same cell graph, exact in time.

    Wraps :func:`evsim.teachers.semidiscrete` (the cell ODE integrated exactly in time, by the
    method :func:`evsim.teachers.semidiscrete.select_method` picks), which
    isolates the quantization error of a PISNN on ``graph`` from its discretization error.
    """

    name: str = "semidiscrete"

    def solve(self, times: np.ndarray) -> np.ndarray:
        from .semidiscrete import semidiscrete
        return np.asarray(semidiscrete(self.graph, self.u0, np.asarray(times, float)), float)
