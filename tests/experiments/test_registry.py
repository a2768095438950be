"""The experiment registry: listing without imports, MissingDependency for an absent extra."""
import sys

import pytest

from evsim.errors import ConfigError, MissingDependency
from evsim.experiments import registry


def test_every_provider_registers_exactly_its_declared_experiments():
    for module, names in registry.PROVIDERS.items():
        for name in names:
            assert registry.get_experiment(name).__module__ == module


def test_list_experiments_imports_no_provider(monkeypatch):
    for module in registry.PROVIDERS:
        monkeypatch.setitem(sys.modules, module, None)      # importing it would fail
    names = registry.list_experiments()
    assert {"paper-heat1d", "paper-generalize", "paper-heat2d", "baselines"} <= set(names)
    assert names == sorted(names)


def test_a_missing_extra_names_it(monkeypatch):
    """A provider whose module imports torch, on a machine without torch."""
    real = registry.importlib.import_module

    def paper_needs_torch(name):
        if name == "evsim.experiments.paper":
            import torch  # noqa: F401
        return real(name)

    monkeypatch.setitem(sys.modules, "torch", None)            # torch is not installed
    monkeypatch.setattr(registry.importlib, "import_module", paper_needs_torch)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    with pytest.raises(MissingDependency, match=r"evsim\[pinn\]"):
        registry.get_experiment("paper-heat1d")
    missing = registry.unavailable_experiments()
    assert set(missing) == {"paper-heat1d", "paper-generalize", "paper-heat2d"}
    assert "paper-heat1d" in registry.list_experiments()


def test_a_broken_module_is_not_swallowed(monkeypatch):
    def broken(name):
        raise ModuleNotFoundError("No module named 'evsim.nonexistent'", name="evsim.nonexistent")

    monkeypatch.setattr(registry.importlib, "import_module", broken)
    monkeypatch.setattr(registry, "_REGISTRY", {})
    with pytest.raises(ModuleNotFoundError):
        registry.get_experiment("baselines")


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known experiments: .*paper-heat1d"):
        registry.get_experiment("paper-heat9d")
