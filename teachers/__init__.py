"""Reference solvers and teachers: anything that can say u(x, t).

Teachers calibrate ("distill") a PISNN: the operator scale and the quota.
"""
from .semidiscrete import operator, semidiscrete, steady_state

__all__ = ["operator", "semidiscrete", "steady_state"]
