"""The workflow layer: named problems, the run pipeline, sweeps and reports.

A :class:`~evsim.workflow.problems.Problem` is a named PDE set-up;
:func:`~evsim.workflow.runner.run_problem` is what ``evsim run`` does;
:func:`~evsim.workflow.distill.distill_problem` distills a PISNN from a teacher and
writes the configuration ``evsim run CONFIG.toml`` reads;
:mod:`~evsim.workflow.sweep` runs Pareto sweeps in parallel and
:mod:`~evsim.workflow.report` writes the HTML report.
"""
from .case import Case, make_case
from .distill import Distilled, distill_problem, write_config
from .problems import PROBLEMS, Problem, get_problem
from .runner import load_config, run_problem

__all__ = ["PROBLEMS", "Problem", "get_problem", "Case", "make_case", "load_config", "run_problem",
           "Distilled", "distill_problem", "write_config"]
