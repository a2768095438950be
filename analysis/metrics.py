"""Error metrics and convergence orders."""
from __future__ import annotations

import numpy as np

__all__ = ["rmse", "rmse_over_time", "convergence_order", "time_to_tolerance"]


def rmse_over_time(field: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Root-mean-square error over cells at each time: ``(T,)`` from ``(T, N)`` fields."""
    field, reference = np.atleast_2d(field), np.atleast_2d(reference)
    if field.shape != reference.shape:
        raise ValueError(f"shape mismatch: field {field.shape} vs reference {reference.shape}")
    return np.sqrt(np.mean((field - reference) ** 2, axis=1))


def rmse(field: np.ndarray, reference: np.ndarray) -> float:
    """Root-mean-square error over all cells and times."""
    field, reference = np.asarray(field), np.asarray(reference)
    if field.shape != reference.shape:
        raise ValueError(f"shape mismatch: field {field.shape} vs reference {reference.shape}")
    return float(np.sqrt(np.mean((field - reference) ** 2)))


def convergence_order(steps, errors) -> float:
    """Least-squares slope of ``log(error)`` against ``log(step)``.

    ``error ~ C step^p`` gives ``p`` (steps may be quotas or mesh sizes).
    """
    steps, errors = np.asarray(steps, dtype=float), np.asarray(errors, dtype=float)
    if steps.size < 2 or np.any(steps <= 0) or np.any(errors <= 0):
        raise ValueError("need at least two positive steps and errors")
    return float(np.polyfit(np.log(steps), np.log(errors), 1)[0])


def time_to_tolerance(times: np.ndarray, errors: np.ndarray, tol: float) -> float:
    """First time from which the error stays below ``tol`` (NaN if never)."""
    ok = np.asarray(errors) < tol
    if not ok[-1]:
        return float("nan")
    bad = np.flatnonzero(~ok)
    return float(times[0] if bad.size == 0 else times[bad[-1] + 1])
