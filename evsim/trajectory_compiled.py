"""The order-2 rule of :mod:`evsim.trajectory`, compiled by numba as it is.

Every function of the rule is compiled from its very source
(:func:`compile_rule`), so the compiled kernel (:mod:`evsim.trajectory_kernel`)
and the SimPy engine, which calls the Python functions, make the same
floating-point operations. Beside the event handlers this module holds the
loops over all cells or edges that both engines share: the initial lines of a
run (:func:`initial_lines`), the records (:func:`record`) and the field at a
time (:func:`cell_potentials`). Compiled, they take milliseconds per 10^5 cells
where the Python loops took seconds.
"""
from __future__ import annotations

import types

import numba as nb
import numpy as np

from . import trajectory as tr

__all__ = ["compile_rule", "initial_lines", "record", "cell_potentials"]

#: How the rule and the loops here are compiled (IEEE division: no ZeroDivisionError checks).
jit = nb.njit(cache=True, error_model="numpy")


def compile_rule(module, names):
    """numba versions of the rule functions ``names`` (callees first), each calling
    the compiled versions of the others: the very source, with the module's globals
    but the helpers replaced by their compiled twins."""
    scope = dict(vars(module))
    for name in names:
        f = getattr(module, name)
        scope[name] = jit(types.FunctionType(f.__code__, scope, name, f.__defaults__))
    return [scope[name] for name in names]


(crossing, taylor, line, advance_edge, advance_mass, linearize_edge, edge_due, cell_mass,
 sync_mass, potential_at, cell_due, choose_trajectory, send_trajectory, fire_edge,
 arrive) = compile_rule(tr, (
    "crossing", "taylor", "line", "advance_edge", "advance_mass", "linearize_edge", "edge_due",
    "cell_mass", "sync_mass", "potential_at", "cell_due", "choose_trajectory",
    "send_trajectory", "fire_edge", "arrive"))


@jit
def initial_lines(s):
    """Put every cell of ``s`` (a :class:`~evsim.trajectory_state.TrajectoryStateTuple`
    at ``t = 0``) on its QSS2 line and return the first due time of every slot.

    With every line flat at ``u0`` the edges are linearized, each cell's slope is
    ``S_i = dM_i/dt / V_i`` (:func:`evsim.trajectory.cell_mass`), the edges are
    linearized again on the sloped lines and the mass polynomials synchronized; the
    due times are the firings ``0..E-1`` (:func:`evsim.trajectory.edge_due`), no
    arrivals, and the cells' first trajectory messages ``2E..2E+N-1``.
    """
    E, N = s.src.size, s.ncell
    for e in range(E):
        linearize_edge(s, e, 0.0)
    for i in range(N):
        s.slope[i] = cell_mass(s, i, 0.0)[1] / s.volume[i]
    for e in range(E):
        linearize_edge(s, e, 0.0)
    for i in range(N):
        sync_mass(s, i, 0.0)
    due = np.full(2 * E + N, np.inf)
    for e in range(E):
        due[e] = edge_due(s, e)
    for i in range(N):
        due[2 * E + i] = cell_due(s, i, 0.0)
    return due


@jit
def cell_potentials(s, t):
    """``u_i(t) = M_i(t) / V_i`` of every cell (:func:`evsim.trajectory.potential_at`)."""
    out = np.empty(s.ncell)
    for i in range(s.ncell):
        out[i] = potential_at(s, i, t)
    return out


@jit
def record(s, r, t):
    """Take record ``r`` at time ``t``: the cells' potentials and their total ledger count."""
    total = 0
    for c in range(s.ncell):
        s.record_potential[r, c] = potential_at(s, c, t)
        total += s.count[c]
    s.record_count[r] = total
