"""Explicit FTCS (forward-time, centred-space) teacher on the cell graph.

Forward Euler on the finite-volume ODE of the cell graph (:class:`~evsim.teachers.base.CellOperator`),

.. math:: u_i^{n+1} = u_i^n + \\frac{\\Delta t}{V_i}
          \\Big(-\\sum_j g_{ij} (u_i^n - u_j^n) + S_i\\Big),

which on a uniform 1D grid is the classic FTCS scheme
``u_i^{n+1} = u_i^n + r (u_{i+1}^n - 2 u_i^n + u_{i-1}^n)``, ``r = kappa dt / h^2``.
The step is taken at the stability limit of the discrete maximum principle,

.. math:: \\Delta t_\\mathrm{max} = \\min_i \\frac{V_i}{\\sum_j g_{ij}} ,

(``r = 1/2`` in the interior of a uniform grid; ``h^2 / (3 kappa)`` at a cell-centred
Dirichlet boundary, whose edge has conductance ``2 kappa / h``), for which the update is a
convex combination of neighbour values, hence stable and monotone on any mesh.
Record times that are not multiples of ``dt`` are reached by one shorter final step.

Operation count (flux form, what a minimal implementation executes), per step:
4 FLOPs per cell-cell edge (difference, times ``g``, add to one cell, subtract from the other),
3 per cell-reservoir edge (difference, times ``g``, add), 2 per cell (times ``dt / V_i``, add)
and 1 more per cell with a source.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evsim.errors import ConfigError

from .base import CellOperator, GraphTeacher, cell_operator

__all__ = ["FTCSTeacher", "ftcs", "ftcs_stable_dt", "ftcs_flops_per_step"]


def ftcs_stable_dt(op: CellOperator) -> float:
    """Largest step of the discrete maximum principle, ``min_i V_i / K_ii``."""
    diag = op.K.diagonal()
    with np.errstate(divide="ignore"):
        limits = np.where(diag > 0, op.volume / np.where(diag > 0, diag, 1.0), np.inf)
    return float(limits.min())


def ftcs_flops_per_step(op: CellOperator) -> int:
    """FLOPs of one FTCS step in flux form (module docstring)."""
    n_src = int(np.count_nonzero(op.source))
    return int(4 * op.n_cell_edges + 3 * op.n_reservoir_edges + 2 * len(op.volume) + n_src)


def ftcs(op: CellOperator, u0: np.ndarray, times: np.ndarray, cfl: float = 1.0
         ) -> tuple[np.ndarray, int, int]:
    """Integrate ``V du/dt = -K u + b + S`` by forward Euler from ``t = 0``.

    Parameters
    ----------
    op
        The cell operator.
    u0
        ``(N,)`` initial potentials.
    times
        Non-decreasing record times ``>= 0``.
    cfl
        Fraction of :func:`ftcs_stable_dt` used as the step (``0 < cfl <= 1``).

    Returns
    -------
    field : (T, N) ndarray
        Potentials at ``times``.
    steps : int
        Number of Euler steps taken.
    flops : int
        ``steps * ftcs_flops_per_step(op)``.

    Raises
    ------
    ConfigError
        ``cfl`` outside ``(0, 1]``, negative or decreasing ``times``, or ``u0``
        of the wrong shape.
    """
    if not 0 < cfl <= 1:
        raise ConfigError(f"cfl must be in (0, 1], got {cfl}")
    times = np.atleast_1d(np.asarray(times, float))
    if np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ConfigError("times must be non-negative and non-decreasing")
    dt = cfl * ftcs_stable_dt(op)
    u = np.asarray(u0, float).copy()
    if u.shape != op.volume.shape:
        raise ConfigError(f"u0 has shape {u.shape}, expected {op.volume.shape}")
    out = np.empty((len(times), len(u)))
    t = 0.0
    steps = 0
    for k, target in enumerate(times):
        while t < target:
            step = min(dt, target - t)
            if target - (t + step) < 1e-12 * max(dt, target):
                step = target - t
            u = u + step * op.rhs(u)
            t = target if step == target - t else t + step
            steps += 1
        out[k] = u
    return out, steps, steps * ftcs_flops_per_step(op)


@dataclass
class FTCSTeacher(GraphTeacher):
    """FTCS at its stability limit on ``graph`` as a teacher.

    After each call, ``steps`` and ``operations`` (FLOPs, module docstring) hold the cost
    of the last solve; ``dt`` is the step used.
    """

    name: str = "ftcs"
    cfl: float = 1.0
    steps: int = field(default=0, init=False)
    operations: int = field(default=0, init=False)

    @property
    def operator(self) -> CellOperator:
        """The graph's :class:`~evsim.teachers.base.CellOperator`, built on first use."""
        if getattr(self, "_op", None) is None:
            self._op = cell_operator(self.graph)
        return self._op

    @property
    def dt(self) -> float:
        """Time step used, ``cfl * min_i V_i / K_ii``."""
        return self.cfl * ftcs_stable_dt(self.operator)

    def solve(self, times: np.ndarray) -> np.ndarray:
        """FTCS potentials ``(T, N)`` at ``times``; sets ``steps`` and ``operations``."""
        field_, self.steps, self.operations = ftcs(self.operator, self.u0, times, self.cfl)
        return field_
