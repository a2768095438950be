"""Reference solvers and teachers: anything that can say u(x, t).

Teachers calibrate ("distill") a PISNN on a cell graph: the operator scale and the
quota (:mod:`~evsim.teachers.distill`; the problem-level pipeline that writes a run
configuration is :mod:`evsim.workflow.distill`). Reference solvers: the semi-discrete
solution of the same graph (:mod:`~evsim.teachers.semidiscrete`), FTCS
(:mod:`~evsim.teachers.ftcs`), P1 finite elements (:mod:`~evsim.teachers.fem`,
scikit-fem imported on use) and the PINN (:mod:`~evsim.teachers.pinn`, torch
imported on use).
"""
from .base import (AnalyticTeacher, GraphTeacher, SemiDiscreteTeacher, Teacher, cell_operator,
                   teacher_on_cells)
from .distill import (Distillation, choose_quota, distill_graph, fit_conductance_scale,
                      fit_diffusivity)
from .fem import fem_heat, fem_reference
from .ftcs import FTCSTeacher
from .pinn import HeatPDE, PINNTeacher, load_shipped
from .semidiscrete import operator, semidiscrete, steady_state

__all__ = ["operator", "semidiscrete", "steady_state", "fem_heat", "fem_reference",
           "AnalyticTeacher", "GraphTeacher", "SemiDiscreteTeacher", "Teacher", "cell_operator",
           "teacher_on_cells", "FTCSTeacher", "HeatPDE", "PINNTeacher",
           "load_shipped", "Distillation", "choose_quota", "distill_graph", "fit_conductance_scale",
           "fit_diffusivity"]
