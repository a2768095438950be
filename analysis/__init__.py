"""Metrics, energy, Pareto sweeps and plots of PISNN runs."""
from .metrics import convergence_order, rmse, rmse_over_time, time_to_tolerance

__all__ = ["convergence_order", "rmse", "rmse_over_time", "time_to_tolerance"]
from . import comparison, energy, mapping, report, sweep  # noqa: E402  (issue 5; figures/hardware load on use)
