"""Analysis of PISNN runs: metrics, energy per hardware profile, mapping onto cores,
network-on-chip traffic, and plots (matplotlib imported on use)."""
from . import energy, mapping
from .metrics import convergence_order, rmse, rmse_over_time, time_to_tolerance

__all__ = ["convergence_order", "rmse", "rmse_over_time", "time_to_tolerance", "energy", "mapping"]
