"""Named experiments, run by ``evsim experiment NAME``: the paper's Figs. 2-4, the
spiking baselines, the hardware studies.

An experiment is a function ``fn(out: pathlib.Path, **options) -> dict`` registered
with :func:`experiment`; see :mod:`evsim.experiments.registry`.
"""
from .registry import experiment, get_experiment, list_experiments, unavailable_experiments

__all__ = ["experiment", "get_experiment", "list_experiments", "unavailable_experiments"]
