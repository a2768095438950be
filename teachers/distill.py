"""Distillation: compile a PISNN from a teacher's field on a training window.

Three steps, each usable alone:

1. **Fit the operator** (:func:`fit_conductance_scale`, :func:`fit_diffusivity`). The cell
   graph ``V du/dt = s (-K u + b) + S`` (:class:`~evsim.teachers.base.CellOperator`) has one
   free conductance scale ``s`` (for a diffusion graph, ``kappa_fit = s * kappa_graph``).
   Integrating between consecutive teacher snapshots with the trapezoidal rule,

   .. math:: \\underbrace{u^{k+1} - u^k - \\Delta t_k \\tfrac{S}{V}}_{y_k}
             = s \\, \\underbrace{\\tfrac{\\Delta t_k}{2} \\big(R(u^k) + R(u^{k+1})\\big)}_{r_k},
             \\qquad R(u) = \\frac{-K u + b}{V},

   and ``s`` is the volume-weighted least-squares solution
   ``s = sum_k <y_k, V r_k> / sum_k <r_k, V r_k>``. The integral form needs no time
   derivative of the teacher and is second-order accurate in the snapshot spacing.
   With a continuum teacher (analytic, PINN) the fitted scale also absorbs the spatial
   discretization error of the graph (e.g. +0.3 % on a 16 x 16 grid for heat2d, < 0.01 %
   on 100 cells for heat1d): the student reproduces the teacher, not the continuum operator.

   **Learning the operator** (:func:`fit_conductances`): the flux is linear in every
   conductance, ``dm/dt = -B diag(g) B^T u + S`` (``B`` the cell-edge incidence; a
   reservoir end contributes its fixed potential), so the conductances themselves are a
   linear least-squares problem, per edge or per region (``g_e = g0_e theta_{r(e)}``),
   with bounds ``theta > 0`` (:func:`scipy.optimize.lsq_linear`) and an optional
   smoothness penalty ``lambda ||D theta||^2`` on neighbouring parameters. The
   equations are the trapezoidal ones above, one column per parameter, or, where the
   teacher knows its own time derivative (the semi-discrete reference,
   ``V du/dt = -K u + b + S`` exactly), the instantaneous ones ``V du/dt - S = A(u) theta``.
   The one-scalar fit is the special case of one region.

2. **Choose the quota** (:func:`choose_quota`): run the PISNN on the fitted graph and search
   ``q`` geometrically (the CFQ error is ``O(q)`` and spikes scale as ``1/q``) for the largest
   ``q`` whose RMSE against the teacher meets a target, or for the best RMSE within a
   spike budget. The search starts from the mesh's measured error constant
   (:mod:`evsim.teachers.error_constant`: ``RMSE ~ C q``, ``C = sqrt(mean_i deg_i / V_i^2 / 12)``
   at order 1, i.e. ``sqrt(deg / 12) q / V``), so it needs few runs on any mesh.

:func:`distill_graph` chains the two on a cell graph and records the provenance (teacher,
fit, quota search). Inputs are plain data (a graph, or a way to rebuild it at the fitted
diffusivity, the initial potentials and the snapshot times). The problem-level convenience
(a canonical problem name, the TOML configuration that ``evsim run CONFIG.toml`` reads) is
:func:`evsim.workflow.distill.distill_problem`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from evsim.errors import ConfigError

from .base import SemiDiscreteTeacher, Teacher, cell_operator, rmse, teacher_on_cells
from .error_constant import error_constant, knob

#: What :func:`distill_graph` fits: one conductance scale, one per edge, one per region.
OPERATORS = ("scale", "edges", "regions")

__all__ = ["OperatorFit", "fit_conductance_scale", "fit_diffusivity", "scale_conductances",
           "ConductanceFit", "fit_conductances", "apply_conductances", "teacher_rates", "OPERATORS",
           "QuotaRun", "QuotaChoice", "choose_quota", "Distillation", "distill_graph"]


# --------------------------------------------------------------------------- operator fit
@dataclass(frozen=True)
class OperatorFit:
    """Result of the conductance-scale fit.

    Attributes
    ----------
    scale
        Fitted conductance scale ``s``.
    diffusivity
        ``s * base_diffusivity`` (NaN if the graph records no ``diffusivity``).
    base_diffusivity
        ``graph.graph["diffusivity"]`` of the graph the fit was made on.
    relative_residual
        ``||y - s r||_V / ||y||_V``: how well one scale explains the teacher's dynamics.
    n_samples
        Number of (cell, interval) equations.
    """

    scale: float
    diffusivity: float
    base_diffusivity: float
    relative_residual: float
    n_samples: int

    def relative_error(self, true_diffusivity: float) -> float:
        """``|kappa_fit - kappa_true| / kappa_true``."""
        return abs(self.diffusivity - true_diffusivity) / true_diffusivity

    def to_dict(self) -> dict:
        return {"scale": self.scale, "diffusivity": self.diffusivity,
                "base_diffusivity": self.base_diffusivity,
                "relative_residual": self.relative_residual, "n_samples": self.n_samples}


def _snapshots(field, times) -> tuple[np.ndarray, np.ndarray]:
    """A teacher's ``(T, N)`` field and its ``(T,)`` times, checked: ``T >= 2`` strictly
    increasing times, finite values."""
    field = np.asarray(field, float)
    times = np.asarray(times, float)
    if field.ndim != 2 or field.shape[0] != len(times) or len(times) < 2:
        raise ConfigError("field must be (T, N) with T = len(times) >= 2")
    if np.any(np.diff(times) <= 0):
        raise ConfigError("times must be strictly increasing")
    if not np.all(np.isfinite(field)):
        raise ConfigError("teacher field contains non-finite values")
    return field, times


def fit_conductance_scale(graph: nx.Graph, field: np.ndarray, times: np.ndarray) -> OperatorFit:
    """Least-squares conductance scale of ``graph`` from a field sampled at its cells.

    Parameters
    ----------
    graph
        Cell graph (conductances at the base scale ``s = 1``).
    field
        ``(T, N)`` teacher potentials at the cells (cell order) at ``times``.
    times
        ``(T,)`` increasing snapshot times, ``T >= 2``.

    Returns
    -------
    OperatorFit
    """
    field, times = _snapshots(field, times)
    op = cell_operator(graph)
    if field.shape[1] != len(op.volume):
        raise ConfigError(f"field has {field.shape[1]} cells, graph has {len(op.volume)}")
    V = op.volume
    R = ((-(op.K @ field.T)).T + op.b) / V                      # (T, N), unit scale
    dt = np.diff(times)[:, None]
    y = np.diff(field, axis=0) - dt * (op.source / V)
    r = 0.5 * dt * (R[:-1] + R[1:])
    den = float(np.sum(V * r * r))
    if den <= 0:
        raise ConfigError("the teacher field has no diffusive flux: the scale is not identifiable")
    s = float(np.sum(V * y * r)) / den
    res = math.sqrt(float(np.sum(V * (y - s * r) ** 2)) / max(float(np.sum(V * y * y)), 1e-300))
    base = float(graph.graph.get("diffusivity", math.nan))
    return OperatorFit(s, s * base, base, res, int(y.size))


def fit_diffusivity(teacher: Teacher, graph: nx.Graph, times: np.ndarray) -> OperatorFit:
    """Fit the conductance scale / diffusivity of ``graph`` to ``teacher`` on ``times``
    (the teacher is evaluated at the cell centres)."""
    times = np.asarray(times, float)
    return fit_conductance_scale(graph, teacher_on_cells(teacher, graph, times), times)


def scale_conductances(graph: nx.Graph, scale: float) -> nx.Graph:
    """Copy of ``graph`` with every conductance multiplied by ``scale`` (and the recorded
    ``diffusivity`` too). For a pure diffusion graph this is the graph at diffusivity
    ``scale * kappa``; a decay edge to ground would be scaled as well."""
    if not (np.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale must be positive and finite, got {scale}")
    g = graph.copy()
    for _, _, d in g.edges(data=True):
        d["conductance"] = float(d["conductance"]) * scale
    if "diffusivity" in g.graph:
        g.graph["diffusivity"] = float(g.graph["diffusivity"]) * scale
    return g


# --------------------------------------------------------------------------- learned operator
@dataclass(frozen=True)
class ConductanceFit:
    """Result of :func:`fit_conductances`: the operator learned edge by edge (or by region).

    Attributes
    ----------
    conductance
        ``(E,)`` fitted conductances ``g_e = g0_e theta_{r(e)}``, in ``graph.edges`` order.
    theta
        ``(P,)`` fitted factors, one per parameter (edge or region).
    regions
        ``(E,)`` parameter index of each edge.
    base_conductance
        ``(E,)`` conductances ``g0`` of the graph the fit was made on.
    scale
        Conductance-weighted mean factor ``sum g / sum g0`` (the one-scalar summary).
    diffusivity
        ``scale * base_diffusivity`` (NaN if the graph records no ``diffusivity``).
    base_diffusivity
        ``graph.graph["diffusivity"]``.
    relative_residual
        ``||y - A theta||_W / ||y||_W`` of the data equations (penalty excluded).
    n_samples
        Number of (cell, time) equations.
    method
        ``"rates"`` (the teacher's exact time derivative) or ``"trapezoid"`` (snapshots).
    """

    conductance: np.ndarray
    theta: np.ndarray
    regions: np.ndarray
    base_conductance: np.ndarray
    scale: float
    diffusivity: float
    base_diffusivity: float
    relative_residual: float
    n_samples: int
    method: str

    def region_theta(self, labels: np.ndarray) -> dict:
        """Conductance-weighted mean factor ``sum g / sum g0`` over the edges of each label."""
        labels = np.asarray(labels)
        return {k: float(self.conductance[labels == k].sum() / self.base_conductance[labels == k].sum())
                for k in np.unique(labels).tolist()}

    def to_dict(self) -> dict:
        return {"scale": self.scale, "diffusivity": self.diffusivity,
                "base_diffusivity": self.base_diffusivity, "parameters": int(self.theta.size),
                "relative_residual": self.relative_residual, "n_samples": self.n_samples,
                "method": self.method}


def _design(graph: nx.Graph):
    """Cell index of every edge end (-1: reservoir), base conductances, reservoir
    potentials, volumes and sources, in ``graph.edges`` / cell order."""
    op = cell_operator(graph)
    index = {n: i for i, n in enumerate(op.nodes)}
    ends = np.full((graph.number_of_edges(), 2), -1, dtype=np.int64)
    fixed = np.zeros((graph.number_of_edges(), 2))
    g0 = np.empty(graph.number_of_edges())
    for e, (a, b, d) in enumerate(graph.edges(data=True)):
        g0[e] = float(d["conductance"])
        for k, node in enumerate((a, b)):
            if node in index:
                ends[e, k] = index[node]
            else:
                fixed[e, k] = float(graph.nodes[node].get("potential", 0.0))
    return op, ends, fixed, g0


def _columns(field: np.ndarray, ends: np.ndarray, fixed: np.ndarray, g0: np.ndarray):
    """``(T, E)`` flux ``g0_e (u_a - u_b)`` of every edge ``e = (a, b)`` at unit factor, at
    every snapshot (a reservoir end at its fixed potential): the columns of ``B diag(g0) B^T u``."""
    T = field.shape[0]
    ua = np.where(ends[:, 0] >= 0, field[:, np.maximum(ends[:, 0], 0)], fixed[:, 0])
    ub = np.where(ends[:, 1] >= 0, field[:, np.maximum(ends[:, 1], 0)], fixed[:, 1])
    flux = g0 * (ua - ub)                              # (T, E) flux a -> b at unit factor
    return flux.reshape(T, -1)


def teacher_rates(teacher: Teacher, graph: nx.Graph, field: np.ndarray) -> np.ndarray | None:
    """The teacher's exact ``du/dt`` at the snapshots ``field`` (``(T, N)``), or None.

    Known for a :class:`~evsim.teachers.base.SemiDiscreteTeacher` on a graph with the
    cells of ``graph`` (same count and centres): ``du/dt = (-K u + b + S) / V`` of its graph.
    """
    if not isinstance(teacher, SemiDiscreteTeacher):
        return None
    from evsim.topologies import cell_positions
    mine, theirs = cell_positions(graph), cell_positions(teacher.graph)
    if mine.shape != theirs.shape or not np.allclose(mine, theirs):
        return None
    return cell_operator(teacher.graph).rhs(np.asarray(field, float).T).T


def fit_conductances(graph: nx.Graph, field: np.ndarray, times: np.ndarray, *,
                     regions: np.ndarray | None = None, rates: np.ndarray | None = None,
                     smoothness: float = 0.0, sparsity: float = 0.0,
                     lower: float = 1e-6) -> ConductanceFit:
    """Learn the conductances of ``graph`` from a teacher's field: linear least squares.

    The mass balance of cell ``i`` is linear in the factors ``theta`` of the conductances
    ``g_e = g0_e theta_{r(e)}``:

    .. math:: V_i \\dot u_i - S_i = -\\sum_{e \\ni i} \\pm g0_e \\, \\theta_{r(e)} (u_a - u_b)
              \\equiv (A(u) \\theta)_i ,

    (``e = (a, b)``; ``-`` at ``a``, ``+`` at ``b``; a reservoir end at its fixed potential).
    With ``rates`` (the teacher's exact ``du/dt``) the equations hold at every snapshot;
    without, they are integrated between snapshots by the trapezoidal rule,
    ``V (u^{k+1} - u^k) - dt S = dt/2 (A(u^k) + A(u^{k+1})) theta``. Rows are weighted by
    ``V^{-1/2}`` (the volume-weighted norm of :func:`fit_conductance_scale`, which this
    reproduces for one region), and

    .. math:: \\min_{\\theta \\ge \\theta_{lo}} \\|W (y - A \\theta)\\|^2
              + s^2 \\sum_{p \\sim p'} \\big(\\lambda (\\theta_p - \\theta_{p'})^2
              + \\mu |\\theta_p - \\theta_{p'}|\\big)

    is solved by :func:`scipy.optimize.lsq_linear`; ``p ~ p'`` are parameters whose edges
    share a cell and ``s^2`` is the mean squared column norm (so ``lambda``, ``mu`` are
    unitless). The smoothness ``lambda`` spreads a field; the sparsity ``mu`` (total
    variation: sparse jumps, a piecewise-constant field whose regions need not be known)
    is minimized by iteratively reweighted least squares,
    ``|d| ~ d^2 / (|d_prev| + eps)``, ``_TV_ITERATIONS`` passes.

    Parameters
    ----------
    graph
        Cell graph at base conductances ``g0``.
    field, times
        ``(T, N)`` teacher potentials at the cells at increasing ``times``.
    regions
        ``(E,)`` integer parameter index of each edge (``graph.edges`` order), ``0..P-1``;
        default one parameter per edge; all zeros: the one-scalar fit.
    rates
        ``(T, N)`` exact ``du/dt`` at ``times`` (e.g. :func:`teacher_rates`).
    smoothness
        ``lambda >= 0``.
    sparsity
        ``mu >= 0``.
    lower
        Lower bound of every factor (conductances stay positive).

    Returns
    -------
    ConductanceFit
    """
    field, times = _snapshots(field, times)
    op, ends, fixed, g0 = _design(graph)
    N, E = len(op.volume), g0.size
    if field.shape[1] != N:
        raise ConfigError(f"field has {field.shape[1]} cells, graph has {N}")
    regions = np.arange(E) if regions is None else np.asarray(regions)
    if regions.shape != (E,) or regions.dtype.kind not in "iu" or (E and regions.min() < 0):
        raise ConfigError(f"regions must be ({E},) non-negative integers, one per edge")
    P = int(regions.max()) + 1 if E else 0
    if smoothness < 0 or not np.isfinite(smoothness):
        raise ConfigError(f"smoothness must be >= 0, got {smoothness!r}")
    if sparsity < 0 or not np.isfinite(sparsity):
        raise ConfigError(f"sparsity must be >= 0, got {sparsity!r}")
    flux = _columns(field, ends, fixed, g0)            # (T, E)
    V, S = op.volume, op.source
    if rates is not None:
        rates = np.asarray(rates, float)
        if rates.shape != field.shape:
            raise ConfigError(f"rates must have the field's shape {field.shape}, got {rates.shape}")
        F, y = flux, V * rates - S                      # (T, E), (T, N)
        method = "rates"
    else:
        dt = np.diff(times)[:, None]
        F = 0.5 * dt * (flux[:-1] + flux[1:])
        y = V * np.diff(field, axis=0) - dt * S
        method = "trapezoid"
    K = F.shape[0]
    # A[(k, i), p] = sum over edges e of region p with an end at cell i of -/+ F[k, e]
    w = 1.0 / np.sqrt(V)
    rows, cols, vals = [], [], []
    for side, sign in ((0, -1.0), (1, 1.0)):
        cell = ends[:, side]
        on = np.flatnonzero(cell >= 0)
        for k in range(K):
            rows.append(k * N + cell[on])
            cols.append(regions[on])
            vals.append(sign * F[k, on] * w[cell[on]])
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(K * N, P))
    b = (y * w).ravel()
    norm = float(b @ b)
    if norm <= 0 or A.nnz == 0:
        raise ConfigError("the teacher field has no diffusive flux: "
                          "the conductances are not identifiable")
    penalized = smoothness > 0 or sparsity > 0
    pairs = _neighbour_pairs(ends, regions) if penalized else np.zeros((0, 2), dtype=np.int64)
    size = float(A.multiply(A).sum()) / max(P, 1)        # mean squared column norm s^2
    theta = None
    # smoothness: fixed weights; sparsity (total variation): reweighted, |d| ~ d^2 / (|d| + eps)
    for _ in range(_TV_ITERATIONS if sparsity > 0 and pairs.size else 1):
        weight = np.full(len(pairs), smoothness)
        if sparsity > 0 and theta is not None:
            jump = np.abs(theta[pairs[:, 0]] - theta[pairs[:, 1]])
            weight = weight + sparsity / (jump + _TV_EPSILON * max(float(np.median(theta)), 1e-12))
        elif sparsity > 0:
            weight = weight + sparsity   # first pass: a smoothness to start from
        theta = _bounded_lsq(A, b, pairs, np.sqrt(weight * size), lower)
    res = math.sqrt(float(np.sum((b - A @ theta) ** 2)) / norm)
    g = g0 * theta[regions]
    scale = float(g.sum() / g0.sum())
    base = float(graph.graph.get("diffusivity", math.nan))
    return ConductanceFit(g, theta, regions, g0, scale, scale * base, base, res, int(b.size), method)


#: Reweighting passes of the total-variation (sparsity) penalty, and its relative epsilon.
_TV_ITERATIONS, _TV_EPSILON = 25, 1e-3


def _neighbour_pairs(ends: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """``(K, 2)`` pairs of parameters whose edges share a cell (what the penalties couple)."""
    cell_params: dict[int, set] = {}
    for e, cells in enumerate(ends.tolist()):
        for c in cells:
            if c >= 0:
                cell_params.setdefault(c, set()).add(int(regions[e]))
    pairs = set()
    for params in cell_params.values():
        ps = sorted(params)
        pairs.update((p, q) for i, p in enumerate(ps) for q in ps[i + 1:])
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _bounded_lsq(A: sp.csr_matrix, b: np.ndarray, pairs: np.ndarray, weight: np.ndarray,
                 lower: float) -> np.ndarray:
    """``argmin ||A theta - b||^2 + sum_k weight_k^2 (theta_p - theta_q)^2``, ``theta >= lower``."""
    from scipy.optimize import lsq_linear

    P = A.shape[1]
    if len(pairs):
        rows = np.tile(np.arange(len(pairs)), 2)
        D = sp.csr_matrix((np.concatenate([weight, -weight]), (rows, pairs.T.ravel())),
                          shape=(len(pairs), P))
        A, b = sp.vstack([A, D]).tocsr(), np.concatenate([b, np.zeros(len(pairs))])
    dense = P <= 3000
    sol = lsq_linear(A.toarray() if dense else A, b, bounds=(lower, np.inf),
                     lsq_solver="exact" if dense else "lsmr", tol=1e-12, max_iter=10000)
    return np.asarray(sol.x, float)


def apply_conductances(graph: nx.Graph, fit: ConductanceFit | np.ndarray) -> nx.Graph:
    """Copy of ``graph`` with the fitted conductances (``graph.edges`` order); the recorded
    ``diffusivity`` becomes the fit's conductance-weighted mean."""
    g = np.asarray(fit.conductance if isinstance(fit, ConductanceFit) else fit, float)
    if g.shape != (graph.number_of_edges(),) or not np.all(np.isfinite(g) & (g > 0)):
        raise ConfigError(f"conductances must be {graph.number_of_edges()} positive finite values")
    out = graph.copy()
    for value, (_, _, d) in zip(g.tolist(), out.edges(data=True)):
        d["conductance"] = value
    if isinstance(fit, ConductanceFit) and np.isfinite(fit.diffusivity):
        out.graph["diffusivity"] = fit.diffusivity
    return out


# --------------------------------------------------------------------------- quota choice
@dataclass(frozen=True)
class QuotaRun:
    """One PISNN run of the quota search."""

    quota: float
    rmse: float
    spikes: int
    ledger_residual: int
    wall_seconds: float


@dataclass
class QuotaChoice:
    """Outcome of :func:`choose_quota`.

    Attributes
    ----------
    quota, rmse, spikes
        The chosen run.
    met
        Whether the chosen run satisfies the criterion (target RMSE or spike budget).
    criterion
        ``"target_rmse"`` or ``"spike_budget"``, with ``target`` its value.
    runs
        Every run of the search, in order.
    result
        The :class:`evsim.Result` of the chosen run.
    order
        The CFQ order of the runs.
    error_constant
        ``C`` of ``RMSE ~ C q`` predicted for the graph at that order
        (:func:`~evsim.teachers.error_constant.error_constant`); the search's first quota
        for a target is ``target / C``.
    """

    quota: float
    rmse: float
    spikes: int
    met: bool
    criterion: str
    target: float
    runs: list[QuotaRun] = field(default_factory=list)
    result: Any = None
    order: int = 1
    error_constant: float = math.nan

    def to_dict(self) -> dict:
        return {"quota": self.quota, "rmse": self.rmse, "spikes": self.spikes, "met": self.met,
                "criterion": self.criterion, "target": self.target, "order": self.order,
                "error_constant": self.error_constant, "runs": [vars(r) for r in self.runs]}


def _simulate(graph, u0, quota, times, engine, simulate, order=1):
    if simulate is None:
        from functools import partial

        from evsim import simulate as _evsim_simulate
        simulate = partial(_evsim_simulate, progress=False)
    extra = {} if order == 1 else {"order": order}     # order 1 is every engine's default
    return simulate(graph, u0=u0, quota=float(quota), t_end=float(times[-1]), record=times,
                    engine=engine, **extra)


def choose_quota(graph: nx.Graph, u0: np.ndarray, target_field: np.ndarray, times: np.ndarray,
                 *, target_rmse: float | None = None, spike_budget: int | None = None,
                 quota_start: float | None = None, rtol: float = 0.15, max_runs: int = 12,
                 max_spikes: float = 5e7, engine: str = "compiled",
                 simulate: Callable | None = None, order: int = 1) -> QuotaChoice:
    """Choose the PISNN quota against a teacher field.

    Exactly one criterion:

    - ``target_rmse``: the largest ``q`` (fewest spikes) whose RMSE against ``target_field``
      over all ``times`` is ``<= target_rmse``;
    - ``spike_budget``: the run with the lowest RMSE among those with ``spikes <= spike_budget``
      (the smallest admissible ``q``, searched since spikes scale as ``1/q``).

    The search brackets the answer geometrically, then bisects ``log q`` until the bracket
    ratio is below ``1 + rtol`` or ``max_runs`` runs were made. A run predicted to exceed
    ``max_spikes`` (from ``spikes ~ 1/q``) is not started.

    Parameters
    ----------
    graph, u0
        The (fitted) cell graph and initial potentials.
    target_field, times
        ``(T, N)`` teacher field at the cells and the record times (``t_end = times[-1]``).
    quota_start
        First quota tried; default from the measured error constant of the mesh at ``order``,
        ``q = target_rmse / C`` (:func:`~evsim.teachers.error_constant.quota_for_rmse`; at
        order 1 ``C = sqrt(mean_i deg_i / V_i^2 / 12)``, 0.41 / V on a 1D grid, 0.58 / V on a
        2D grid, ~0.7 / V on a Voronoi disk, ~1.1 / V on tetrahedra), or ``1e-3 median(V)``
        for a budget.
    engine
        Engine passed to :func:`evsim.simulate`.
    simulate
        Alternative simulate function (same signature), mainly for tests.
    order
        CFQ order of the runs (passed to ``simulate`` when not 1) and of the error constant.

    Returns
    -------
    QuotaChoice
        ``met`` is False when no run satisfied the criterion (the best run is returned).

    Raises
    ------
    ConfigError
        For both or neither criterion, an order without a measured error law
        (:data:`~evsim.teachers.error_constant.ERROR_LAWS`), or an order whose accuracy is
        not set by the quota (order 2: the tolerance sets it; ``tolerance_for_rmse``).
    """
    if (target_rmse is None) == (spike_budget is None):
        raise ConfigError("give exactly one of target_rmse and spike_budget")
    times = np.asarray(times, float)
    target_field = np.asarray(target_field, float)
    u0 = np.asarray(u0, float)
    vol = float(np.median(cell_operator(graph).volume))
    constant = error_constant(graph, order)
    if knob(order) != "quota":
        raise ConfigError(f"choose_quota: at order={order} the accuracy is set by the {knob(order)}, not the "
                          f"quota (RMSE ~ {constant:g} {knob(order)}; evsim.teachers.error_constant."
                          f"tolerance_for_rmse); the quota then only sets the packet traffic")
    if quota_start is None:
        quota_start = (target_rmse / constant) if target_rmse is not None else 1e-3 * vol
    runs: list[QuotaRun] = []
    results: dict[float, Any] = {}

    def run(q):
        res = _simulate(graph, u0, q, times, engine, simulate, order)
        r = QuotaRun(float(q), rmse(res.potential, target_field), int(res.spikes),
                     int(res.ledger.residual), float(getattr(res, "wall_seconds", math.nan)))
        runs.append(r)
        results[r.quota] = res
        return r

    q = float(quota_start)
    if target_rmse is not None:
        crit, target = "target_rmse", float(target_rmse)
        ok = lambda r: r.rmse <= target  # noqa: E731
    else:
        crit, target = "spike_budget", float(spike_budget)
        ok = lambda r: r.spikes <= target  # noqa: E731
    for _ in range(max_runs):
        r = run(q)
        good = [x.quota for x in runs if ok(x)]
        bad = [x.quota for x in runs if not ok(x)]
        if crit == "target_rmse":     # good quotas are small; want the largest good
            lo = max(good) if good else None
            hi = min((b for b in bad if lo is None or b > lo), default=None)
            if lo is not None and hi is not None:
                if hi / lo < 1 + rtol:
                    break
                q_next = math.sqrt(lo * hi)
            elif lo is None:          # shrink towards the target (error ~ q)
                q_next = q * min(0.8, max(0.1, 0.9 * target / max(r.rmse, 1e-300)))
            else:                     # grow
                q_next = q * max(1 + 0.5 * rtol, min(4.0, target / max(r.rmse, 1e-300)))
        else:                         # good quotas are large; want the smallest good
            hi = min(good) if good else None
            lo = max((b for b in bad if hi is None or b < hi), default=None)
            if lo is not None and hi is not None:
                if hi / lo < 1 + rtol:
                    break
                q_next = math.sqrt(lo * hi)
            else:                     # spikes ~ 1/q: aim at the budget
                q_next = q * max(0.1, min(10.0, r.spikes / target * (1.02 if hi is None else 0.98)))
                if hi is not None:
                    q_next = min(q_next, 0.8 * q)
                else:
                    q_next = max(q_next, 1.25 * q)
        if max(x.spikes * x.quota for x in runs) / q_next > max_spikes:   # spikes ~ C / q
            break
        q = q_next
    good = [x for x in runs if ok(x)]
    if crit == "target_rmse":
        best = max(good, key=lambda x: x.quota) if good else min(runs, key=lambda x: x.rmse)
    else:
        best = min(good, key=lambda x: (x.rmse, x.spikes)) if good else min(runs, key=lambda x: x.spikes)
    return QuotaChoice(best.quota, best.rmse, best.spikes, bool(good), crit, target, runs,
                       results[best.quota], int(order), constant)


# --------------------------------------------------------------------------- the two steps
@dataclass
class Distillation:
    """A PISNN distilled from a teacher on a cell graph (output of :func:`distill_graph`).

    Attributes
    ----------
    graph
        The fitted cell graph.
    u0
        Initial potentials at the cells.
    times
        Training-window snapshot times.
    teacher_field
        ``(T, N)`` teacher field at the cells on ``times``.
    fit, quota
        :class:`OperatorFit` (or, for a learned operator, :class:`ConductanceFit`) and
        :class:`QuotaChoice`.
    teacher
        The teacher's name.
    """

    graph: nx.Graph
    u0: np.ndarray
    times: np.ndarray
    teacher_field: np.ndarray
    fit: OperatorFit | ConductanceFit
    quota: QuotaChoice
    teacher: str

    def provenance(self, teacher_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The record of the distillation: teacher, ``teacher_info``, window, fit, quota search."""
        fit, choice = self.fit, self.quota
        return {"teacher": self.teacher, **dict(teacher_info or {}),
                "t_train": float(self.times[-1]), "n_snapshots": int(len(self.times)),
                "fit_method": ("trapezoidal least squares on the cell graph (evsim.teachers.distill)"
                               if isinstance(fit, OperatorFit) else
                               f"bounded least squares of {fit.theta.size} conductance factors "
                               f"({fit.method}; evsim.teachers.distill.fit_conductances)"),
                "fitted_scale": fit.scale, "fitted_diffusivity": fit.diffusivity,
                "base_diffusivity": fit.base_diffusivity,
                "fit_relative_residual": fit.relative_residual,
                "quota_criterion": choice.criterion, "quota_target": choice.target,
                "rmse_vs_teacher": choice.rmse, "spikes_on_window": choice.spikes,
                "quota_met": choice.met, "quota_runs": len(choice.runs),
                "quota_order": choice.order, "quota_error_constant": choice.error_constant}


def distill_graph(teacher: Teacher, graph: nx.Graph, u0: np.ndarray, times: np.ndarray, *,
                  rebuild: Callable[[float], nx.Graph] | None = None,
                  target_rmse: float | None = 5e-4, spike_budget: int | None = None,
                  engine: str = "compiled", operator: str = "scale",
                  regions: np.ndarray | None = None, smoothness: float = 0.0,
                  sparsity: float = 0.0, **search: Any) -> Distillation:
    """Fit the operator of ``graph`` to ``teacher`` on ``times``, then choose the quota.

    ``operator="scale"`` fits one conductance scale (:func:`fit_conductance_scale`);
    ``"edges"`` or ``"regions"`` learn the conductances (:func:`fit_conductances`, with the
    teacher's exact time derivative where it has one, :func:`teacher_rates`).

    Parameters
    ----------
    teacher
        Evaluated at the cell centres of ``graph`` at ``times``.
    graph
        Cell graph at its base conductances (``graph.graph["diffusivity"]`` recorded).
    u0
        Initial potentials at the cells.
    times
        Snapshot times of the fit and of the quota search (``t_end = times[-1]``).
    rebuild
        ``rebuild(diffusivity) -> graph`` at the fitted diffusivity (e.g. the problem's graph
        builder, so that the fitted graph is what a run configuration builds); default
        :func:`scale_conductances` of ``graph`` by the fitted scale.
    target_rmse, spike_budget
        The quota criterion (:func:`choose_quota`); a ``spike_budget`` takes precedence.
    engine
        Engine of the quota runs.
    operator
        One of :data:`OPERATORS`: ``"scale"``, ``"edges"`` (one factor per edge) or
        ``"regions"`` (one per label of ``regions``).
    regions, smoothness, sparsity
        For a learned operator (:func:`fit_conductances`); ``rebuild`` is not used then.
    search
        Further options of :func:`choose_quota`.

    Returns
    -------
    Distillation
    """
    if operator not in OPERATORS:
        raise ConfigError(f"operator must be one of {OPERATORS}, got {operator!r}")
    if operator == "regions" and regions is None:
        raise ConfigError("operator='regions' needs regions (one label per edge)")
    times = np.asarray(times, float)
    field_ = teacher_on_cells(teacher, graph, times)
    if operator == "scale":
        fit = fit_conductance_scale(graph, field_, times)
        fitted = (rebuild(fit.diffusivity) if rebuild is not None
                  else scale_conductances(graph, fit.scale))
    else:
        fit = fit_conductances(graph, field_, times, rates=teacher_rates(teacher, graph, field_),
                               regions=regions if operator == "regions" else None,
                               smoothness=smoothness, sparsity=sparsity)
        fitted = apply_conductances(graph, fit)
    if spike_budget is not None:
        target_rmse = None
    u0 = np.asarray(u0, float)
    choice = choose_quota(fitted, u0, field_, times, target_rmse=target_rmse,
                          spike_budget=spike_budget, engine=engine, **search)
    return Distillation(fitted, u0, times, field_, fit, choice,
                        getattr(teacher, "name", type(teacher).__name__))
