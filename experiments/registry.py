"""Registry of named experiments run by ``evsim experiment NAME``.

An experiment is a function ``fn(out: pathlib.Path, **options) -> dict`` that
writes its figures into ``out`` and returns the summary dictionary, which the
CLI writes to ``out/summary.json``. Modules register experiments with the
:func:`experiment` decorator; the modules listed in ``_PROVIDERS`` are imported
on first use so that heavy optional imports stay lazy.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["experiment", "get_experiment", "list_experiments"]

_REGISTRY: dict[str, Callable[..., dict]] = {}
#: Modules that define experiments (imported lazily, on first lookup).
_PROVIDERS = ("evsim.experiments.paper", "evsim.experiments.baselines", "evsim.experiments.hardware")


def experiment(name: str):
    """Register ``fn(out, **options) -> dict`` as experiment ``name``."""
    def register(fn):
        _REGISTRY[name] = fn
        return fn
    return register


def _load_providers() -> None:
    for mod in _PROVIDERS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:  # provider not installed / optional extra absent
            if err.name not in (mod, "torch"):
                raise


def list_experiments() -> list[str]:
    """Names of all registered experiments."""
    _load_providers()
    return sorted(_REGISTRY)


def get_experiment(name: str) -> Callable[..., dict]:
    """The experiment function registered as ``name``.

    Raises
    ------
    ValueError
        If no experiment of that name exists (the message lists the known ones).
    """
    _load_providers()
    if name not in _REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {sorted(_REGISTRY)}")
    return _REGISTRY[name]
