"""The workflow layer: named problems, the run pipeline, sweeps and reports.

A :class:`~evsim.workflow.problems.Problem` is a named PDE set-up;
:func:`~evsim.workflow.runner.run_problem` is what ``evsim run`` does;
:mod:`~evsim.workflow.sweep` runs Pareto sweeps in parallel and
:mod:`~evsim.workflow.report` writes the HTML report.
"""
from .case import Case, make_case
from .problems import PROBLEMS, Problem, get_problem
from .runner import load_config, run_problem

__all__ = ["PROBLEMS", "Problem", "get_problem", "Case", "make_case", "load_config", "run_problem"]
