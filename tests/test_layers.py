"""The layer order of docs/ARCHITECTURE.md, enforced: no module imports a higher layer.

Layers, lowest first (one top-level folder each, installed as a subpackage of ``evsim``):

    evsim/ (engine core) -> topologies/ -> teachers/ -> baselines/ -> analysis/
    -> workflow/ -> experiments/ -> cli/

Every import statement counts, at module top or inside a function (a lazy import is
still a dependency), and so does ``importlib.import_module("evsim....")`` with a
literal name. The one exception is the package facade ``evsim/__init__.py``, whose
``__getattr__`` lets a user write ``evsim.teachers`` after ``import evsim``; it
imports the core only, and no library module goes through it for a higher layer
(``from evsim import teachers`` inside the core is an upward import and is caught).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import evsim

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("core",) + evsim.LAYERS                 # lowest first
RANK = {name: i for i, name in enumerate(ORDER)}
FOLDER = {"core": "evsim", **{name: name for name in evsim.LAYERS}}


def layer_of(module: str) -> str | None:
    """Layer of a dotted module name inside evsim (None for modules outside evsim)."""
    parts = module.split(".")
    if parts[0] != "evsim":
        return None
    if len(parts) > 1 and parts[1] in evsim.LAYERS:
        return parts[1]
    return "core"


def module_name(path: Path) -> str:
    """Dotted name of a source file of one of the layer folders."""
    rel = path.relative_to(ROOT)
    folder, rest = rel.parts[0], list(rel.with_suffix("").parts[1:])
    if rest and rest[-1] == "__init__":
        rest = rest[:-1]
    base = ["evsim"] if folder == "evsim" else ["evsim", folder]
    return ".".join(base + rest)


def imported_modules(name: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``source`` of module ``name``.

    ``from X import y`` yields ``X.y`` as well as ``X`` (``y`` may be a submodule, as in
    ``from evsim import teachers``); relative imports are resolved against ``name``.
    """
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def upward_imports(name: str, source: str, is_package: bool = False) -> list[str]:
    """Messages for each import of ``source`` (module ``name``) that reaches a higher layer."""
    own = layer_of(name)
    bad: dict[int, str] = {}    # one message per import statement (its line)
    for line, target in imported_modules(name, source, is_package):
        other = layer_of(target)
        if other is not None and RANK[other] > RANK[own]:
            bad.setdefault(line, f"{name}:{line} ({own}) imports {target} ({other})")
    return [bad[line] for line in sorted(bad)]


def library_files() -> list[Path]:
    files = []
    for layer in ORDER:
        files += sorted((ROOT / FOLDER[layer]).rglob("*.py"))
    return files


def test_every_layer_folder_exists_and_is_installed_as_a_subpackage():
    for layer in ORDER:
        assert (ROOT / FOLDER[layer] / "__init__.py").is_file(), layer
    setup = (ROOT / "setup.py").read_text()
    assert all(f'"{name}"' in setup for name in evsim.LAYERS)


def test_no_module_imports_a_higher_layer():
    bad = []
    for path in library_files():
        if path == ROOT / "evsim" / "__init__.py":   # the facade (see the module docstring)
            continue
        bad += upward_imports(module_name(path), path.read_text(), path.name == "__init__.py")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_the_facade_imports_the_core_only():
    path = ROOT / "evsim" / "__init__.py"
    targets = [t for _, t in imported_modules("evsim", path.read_text(), is_package=True)]
    assert targets and all(layer_of(t) in (None, "core") for t in targets if t != "evsim")


@pytest.mark.parametrize("name, source, expected", [
    ("evsim.simulate", "def f():\n    from evsim.workflow import problems\n", 1),    # lazy, absolute
    ("evsim.teachers.base", "from ..workflow.problems import get_problem\n", 1),     # relative
    ("evsim.kernel", "from evsim import teachers\n", 1),                           # via the facade
    ("evsim.analysis.energy", "import importlib\nimportlib.import_module('evsim.cli')\n", 1),
    ("evsim.workflow.runner", "from evsim.analysis.metrics import rmse\nfrom . import problems\n", 0),
    ("evsim.topologies.grids", "from ..network import GraphError\n", 0),            # downward
])
def test_the_checker_catches_an_added_upward_import(name, source, expected):
    assert len(upward_imports(name, source)) == expected


def test_the_checker_fails_on_a_tree_with_an_upward_import(tmp_path):
    """An upward import added to a real module is reported with its file and line."""
    path = ROOT / "topologies" / "grids.py"
    source = path.read_text() + "\n\ndef _bad():\n    from evsim.workflow.problems import PROBLEMS\n"
    bad = upward_imports(module_name(path), source)
    assert len(bad) == 1 and "evsim.topologies.grids:" in bad[0] and "(workflow)" in bad[0]
