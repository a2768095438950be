"""Registry of named experiments run by ``evsim experiment NAME``.

An experiment is a function ``fn(out: pathlib.Path, **options) -> dict`` that
writes its figures into ``out`` and returns the summary dictionary, which the
CLI writes to ``out/summary.json``. Modules register experiments with the
:func:`experiment` decorator. :data:`PROVIDERS` names the experiments of each
module of evsim, so that :func:`list_experiments` and :func:`describe_experiments`
import nothing and a module is imported only when one of its experiments is asked
for; a module that cannot be imported for want of an optional package raises
:class:`~evsim.errors.MissingDependency` naming the extra to install.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable

from evsim.errors import ConfigError, MissingDependency
from evsim.optional import EXTRAS, require

__all__ = ["PROVIDERS", "experiment", "get_experiment", "list_experiments", "describe_experiments",
           "unavailable_experiments"]

_REGISTRY: dict[str, Callable[..., dict]] = {}
#: Modules that define experiments -> the names they register (imported on first lookup).
PROVIDERS: dict[str, tuple[str, ...]] = {
    "evsim.experiments.paper": ("paper-heat1d", "paper-generalize", "paper-heat2d"),
    "evsim.experiments.baselines": ("baselines",),
    "evsim.experiments.hardware": ("hardware-heat2d", "energy-comparison", "hardware-step"),
    "evsim.experiments.accuracy": ("accuracy-cost",),
    "evsim.experiments.twin": ("twin",),
}


def experiment(name: str) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register ``fn(out, **options) -> dict`` as experiment ``name``."""
    def register(fn: Callable[..., dict]) -> Callable[..., dict]:
        _REGISTRY[name] = fn
        return fn
    return register


def _provider(name: str) -> str | None:
    return next((mod for mod, names in PROVIDERS.items() if name in names), None)


def _load(module: str) -> None:
    """Import ``module``; an absent optional package becomes :class:`MissingDependency`."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top in EXTRAS:
            require(top, feature=f"the experiments of {module}")   # names the extra
        raise


def list_experiments() -> list[str]:
    """Names of all experiments (those of :data:`PROVIDERS` and any registered), sorted.

    Imports no experiment module, so it works without the optional packages.
    """
    return sorted({n for names in PROVIDERS.values() for n in names} | set(_REGISTRY))


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n")[0].strip()


def _source_docstrings(module: str) -> dict[str, str]:
    """``{name: first docstring line}`` of the ``@experiment(name)`` functions of ``module``,
    read from its source (the module is not imported)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return {}
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read(), spec.origin)
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Name)
                    and dec.func.id == "experiment" and dec.args
                    and isinstance(dec.args[0], ast.Constant)):
                found[dec.args[0].value] = _first_line(ast.get_docstring(node))
    return found


def describe_experiments() -> dict[str, str]:
    """``{name: first line of its docstring}`` for every experiment of :func:`list_experiments`.

    Reads the provider modules' sources instead of importing them, so it is quick and
    works without the optional packages (``evsim experiment --help`` lists these lines).
    """
    lines = {}
    for module in PROVIDERS:
        lines.update(_source_docstrings(module))
    lines.update({name: _first_line(fn.__doc__) for name, fn in _REGISTRY.items()})
    return {name: lines.get(name, "") for name in list_experiments()}


def unavailable_experiments() -> dict[str, str]:
    """``{name: reason}`` for the experiments whose module needs a missing optional package."""
    missing = {}
    for module, names in PROVIDERS.items():
        try:
            _load(module)
        except MissingDependency as err:
            missing.update(dict.fromkeys(names, str(err)))
    return missing


def get_experiment(name: str) -> Callable[..., dict]:
    """The experiment function registered as ``name``.

    Raises
    ------
    ConfigError
        If no experiment of that name exists (the message lists the known ones).
    MissingDependency
        If its module needs an optional package that is not installed (names the extra).
    """
    if name not in _REGISTRY:
        module = _provider(name)
        if module is None:
            raise ConfigError(f"unknown experiment {name!r}; known experiments: {list_experiments()}")
        _load(module)
    if name not in _REGISTRY:
        raise ConfigError(f"{_provider(name)} does not register experiment {name!r}")
    return _REGISTRY[name]
