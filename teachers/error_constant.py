"""The measured error constant of CFQ: RMSE against the quota, per order and per mesh.

First order (the paper's rule, ``order=1``). Between firings every edge accumulator
``a_ij`` holds mass that has flowed in the exact solution but not yet in packets; it
lies in ``(-q, q)`` and, once the flux has swept it through a few quota, it is close to
uniformly distributed over one quota width, so it contributes ``q^2 / 12`` of variance
to its cells' mass. Cell ``i`` carries the untransferred mass of its ``deg_i`` incident
edges (cell and reservoir edges alike), independent to a good approximation, so its
potential error has variance ``deg_i q^2 / (12 V_i^2)``. The RMSE of
:func:`evsim.teachers.base.rmse` is the plain mean over cells (and record times), so

.. math:: \\mathrm{RMSE} \\approx C_1 q, \\qquad
          C_1 = \\Big(\\frac{1}{12 N} \\sum_i \\frac{\\deg_i}{V_i^2}\\Big)^{1/2},

i.e. ``sqrt(deg / 12) q / V`` on a uniform mesh. Written with the median volume
``V``, ``RMSE = c q / V`` with the dimensionless :func:`mesh_constant`
``c = C_1 median(V)``: measured 0.40 on heat1d (deg 2: 0.408), 0.57 on 2D grids
(deg 4: 0.577), 0.70 on a Voronoi disk (mean deg ~6), 0.94 on a random geometric
graph and 1.1 on jittered tetrahedra (``tests/teachers/test_quota_law.py`` checks the
law within 15 % on small cases of each).

Second order (trajectory CFQ, :mod:`evsim.trajectory`): the error is ``O(delta)`` in the
trajectory tolerance ``delta`` and independent of the quota (which then only sets the
packet traffic; the order-2 module's docstring). Measured with
``q / V = 0.01`` and ``0.1`` against the semi-discrete reference: ``RMSE / delta`` = 0.42
on heat1d (100 cells), 0.36-0.37 on a 32 x 32 grid, 0.35-0.36 on a 500-cell Voronoi disk
(``delta`` = 1e-3 and 1e-4, identical to 3 digits for both quotas). The law is
``RMSE ~ C_2 delta`` with ``C_2 = 0.4`` on every mesh (within 15 % of those).

Each order's law is an entry of :data:`ERROR_LAWS`: the knob that sets its accuracy
(``"quota"`` or ``"tolerance"``) and ``C`` of ``RMSE ~ C knob``. An order without an entry
raises :class:`~evsim.errors.ConfigError`, so :func:`quota_for_rmse` never guesses.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import networkx as nx
import numpy as np

from evsim.errors import ConfigError

from .base import cell_operator

__all__ = ["ERROR_LAWS", "ORDER2_CONSTANT", "cell_degrees", "error_constant", "mesh_constant", "knob",
           "quota_for_rmse", "tolerance_for_rmse", "rmse_estimate"]

#: ``RMSE / delta`` of trajectory CFQ (order 2), measured (module docstring).
ORDER2_CONSTANT = 0.4


def cell_degrees(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """``(deg, V)`` of the cells in cell order: edges of each cell (to cells and to
    reservoirs) and its volume."""
    op = cell_operator(graph)
    index = {n: i for i, n in enumerate(op.nodes)}
    deg = np.zeros(len(op.nodes), dtype=np.int64)
    for u, v in graph.edges():
        for end in (u, v):
            i = index.get(end)
            if i is not None:
                deg[i] += 1
    return deg, op.volume


def _first_order(graph: nx.Graph) -> float:
    """``C_1 = sqrt(mean_i(deg_i / V_i^2) / 12)`` (module docstring)."""
    deg, vol = cell_degrees(graph)
    if deg.size == 0:
        raise ConfigError("the graph has no cells: no error constant")
    return math.sqrt(float(np.mean(deg / vol ** 2)) / 12.0)


def _second_order(graph: nx.Graph) -> float:
    """``C_2``: ``RMSE ~ C_2 delta`` whatever the mesh (module docstring)."""
    cell_degrees(graph)              # validates the graph (cells with volumes)
    return ORDER2_CONSTANT


#: ``order -> (knob, law(graph) -> C)`` with ``RMSE ~ C knob``: order 1 the quota
#: (``C`` in 1 / volume), order 2 the trajectory tolerance (``C`` dimensionless).
ERROR_LAWS: dict[int, tuple[str, Callable[[nx.Graph], float]]] = {
    1: ("quota", _first_order), 2: ("tolerance", _second_order)}


def _law(order: int) -> tuple[str, Callable[[nx.Graph], float]]:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)):
        raise ConfigError(f"order must be an integer, got {order!r}")
    if int(order) not in ERROR_LAWS:
        raise ConfigError(f"no measured error constant for order={order}; known orders: {sorted(ERROR_LAWS)}")
    return ERROR_LAWS[int(order)]


def knob(order: int) -> str:
    """What sets the accuracy at ``order``: ``"quota"`` (order 1) or ``"tolerance"`` (order 2)."""
    return _law(order)[0]


def error_constant(graph: nx.Graph, order: int = 1) -> float:
    """``C`` of ``RMSE ~ C knob`` for ``graph`` at ``order`` (:func:`knob`; order 1:
    units 1 / volume).

    Raises
    ------
    ConfigError
        For an order without a law in :data:`ERROR_LAWS`, or a graph without cells.
    """
    return _law(order)[1](graph)


def mesh_constant(graph: nx.Graph, order: int = 1) -> float:
    """The dimensionless constant: ``c`` of ``RMSE ~ c q / median(V)`` at order 1
    (``sqrt(deg / 12)`` on a uniform mesh), ``C_2`` of ``RMSE ~ C_2 delta`` at order 2."""
    if knob(order) != "quota":
        return error_constant(graph, order)
    _, vol = cell_degrees(graph)
    return error_constant(graph, order) * float(np.median(vol))


def rmse_estimate(graph: nx.Graph, value: float, order: int = 1) -> float:
    """Predicted RMSE of a run whose accuracy knob (:func:`knob`) is ``value``: ``C value``."""
    return error_constant(graph, order) * float(value)


def _for_rmse(graph: nx.Graph, target_rmse: float, order: int, want: str) -> float:
    if not (isinstance(target_rmse, (int, float, np.floating)) and math.isfinite(target_rmse)
            and target_rmse > 0):
        raise ConfigError(f"target_rmse must be positive and finite, got {target_rmse!r}")
    if knob(order) != want:
        raise ConfigError(f"at order={order} the accuracy is set by the {knob(order)}, not the {want} "
                          f"(use {knob(order)}_for_rmse)")
    return float(target_rmse) / error_constant(graph, order)


def quota_for_rmse(graph: nx.Graph, target_rmse: float, order: int = 1) -> float:
    """The quota predicted to give ``target_rmse`` at order 1: ``q = target / C``.

    Raises
    ------
    ConfigError
        If ``target_rmse`` is not positive and finite, the order has no law, or its
        accuracy is not set by the quota (order 2: :func:`tolerance_for_rmse`).
    """
    return _for_rmse(graph, target_rmse, order, "quota")


def tolerance_for_rmse(graph: nx.Graph, target_rmse: float, order: int = 2) -> float:
    """The trajectory tolerance predicted to give ``target_rmse`` at order 2:
    ``delta = target / C_2``.

    Raises
    ------
    ConfigError
        As :func:`quota_for_rmse`, for an order whose accuracy is not set by a tolerance.
    """
    return _for_rmse(graph, target_rmse, order, "tolerance")
