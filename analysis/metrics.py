"""Error metrics and convergence orders.

For a field ``u`` and a reference ``v`` of ``T`` times and ``N`` cells,

.. math:: \\mathrm{RMSE}(t_k) = \\Big(\\frac{1}{N} \\sum_i (u_{ki} - v_{ki})^2\\Big)^{1/2},
          \\qquad \\mathrm{RMSE} = \\Big(\\frac{1}{T N} \\sum_{k, i} (u_{ki} - v_{ki})^2\\Big)^{1/2}.

:func:`rmse` and :func:`rmse_over_time` are implemented once, in
:mod:`evsim.teachers.base` (the lowest layer that scores a field: distillation
compares a student's field with its teacher's), and exported here with the other
metrics.
"""
from __future__ import annotations

import numpy as np

from evsim.errors import ConfigError
from evsim.teachers.base import rmse, rmse_over_time

__all__ = ["rmse", "rmse_over_time", "convergence_order", "time_to_tolerance"]


def convergence_order(steps: np.ndarray, errors: np.ndarray) -> float:
    """Least-squares slope of ``log(error)`` against ``log(step)``.

    ``error ~ C step^p`` gives ``p`` (steps may be quotas or mesh sizes).

    Raises
    ------
    ConfigError
        With fewer than two steps or a non-positive step or error.
    """
    steps, errors = np.asarray(steps, dtype=float), np.asarray(errors, dtype=float)
    if steps.size < 2 or np.any(steps <= 0) or np.any(errors <= 0):
        raise ConfigError("need at least two positive steps and errors")
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


def time_to_tolerance(times: np.ndarray, errors: np.ndarray, tol: float) -> float:
    """First time from which the error stays below ``tol`` (NaN if never)."""
    ok = np.asarray(errors) < tol
    if not ok[-1]:
        return float("nan")
    bad = np.flatnonzero(~ok)
    return float(times[0] if bad.size == 0 else times[bad[-1] + 1])
