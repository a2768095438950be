"""Error metrics and convergence orders.

For a field ``u`` and a reference ``v`` of ``T`` times and ``N`` cells,

.. math:: \\mathrm{RMSE}(t_k) = \\Big(\\frac{1}{N} \\sum_i (u_{ki} - v_{ki})^2\\Big)^{1/2},
          \\qquad \\mathrm{RMSE} = \\Big(\\frac{1}{T N} \\sum_{k, i} (u_{ki} - v_{ki})^2\\Big)^{1/2}.
"""
from __future__ import annotations

import numpy as np

from evsim.errors import ConfigError

__all__ = ["rmse", "rmse_over_time", "convergence_order", "time_to_tolerance"]


def _squared_error(field: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(field - reference)^2`` after checking that the shapes match."""
    field, reference = np.asarray(field), np.asarray(reference)
    if field.shape != reference.shape:
        raise ConfigError(f"shape mismatch: field {field.shape} vs reference {reference.shape}")
    return (field - reference) ** 2


def rmse_over_time(field: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Root-mean-square error over cells at each time: ``(T,)`` from ``(T, N)`` fields."""
    return np.sqrt(np.mean(_squared_error(np.atleast_2d(field), np.atleast_2d(reference)), axis=1))


def rmse(field: np.ndarray, reference: np.ndarray) -> float:
    """Root-mean-square error over all cells and times."""
    return float(np.sqrt(np.mean(_squared_error(field, reference))))


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
