"""Output folders of runs and sweeps, and the JSON and CSV files written into them.

Every run or sweep gets a folder of its own: :func:`fresh_directory` picks
``runs/NAME``, else ``runs/NAME-2``, ``runs/NAME-3``, ...; an explicit folder
that already holds a run is replaced only on request (:func:`prepare_directory`
with ``overwrite=True``, which first removes the previous run's files so no
stale figure or report survives beside the new summary). Files are written
atomically (:func:`evsim.atomic.atomic_path`): a killed run leaves each file
either complete or as it was.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evsim.atomic import TEMP_MARKER, write_atomic
from evsim.errors import ConfigError

__all__ = ["RUN_FILES", "CHECKPOINT", "holds_run", "fresh_directory", "reserved_directory",
           "add_output_options", "prepare_directory", "clear_run", "write_json", "write_csv"]

#: The checkpoint a stopped ``evsim run`` leaves in its folder (``evsim run --resume DIR``).
CHECKPOINT = "checkpoint.evsim"

#: Files evsim writes into a run or sweep folder, besides the figures its summary lists.
RUN_FILES = ("summary.json", "result.npz", "result.nc", "sweep.json", "sweep.csv",
             "report.html", "pareto.png", CHECKPOINT)

#: Summary files and their keys that list further files of the run.
_LISTS = {"summary.json": ("figures", "files"), "sweep.json": ("files",)}


def holds_run(directory: str | Path) -> bool:
    """Whether ``directory`` holds any of :data:`RUN_FILES`."""
    d = Path(directory)
    return d.is_dir() and any((d / name).exists() for name in RUN_FILES)


def fresh_directory(base: str | Path) -> Path:
    """Create and return the first free folder of ``base``, ``base-2``, ``base-3``, ...

    A folder is free if it does not exist or is an empty directory.
    """
    base = Path(base)
    for n in range(1, 100_000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            if candidate.is_dir() and not any(candidate.iterdir()):
                return candidate
    raise ConfigError(f"no free output folder {base}-N; choose one with --out")


class reserved_directory:
    """Folders reserved for one command, given back if the command fails before writing.

    ``with reserved_directory() as reserve: out = reserve(base)`` picks a folder as
    :func:`fresh_directory` does; if the block raises, every folder it reserved that is
    still empty is removed again, and so are the parents it had to create (e.g.
    ``runs/``), so a refused run leaves nothing behind. A folder holding any file
    (a partial run, a checkpoint) is kept.
    """

    def __init__(self):
        self._made: list[tuple[Path, list[Path]]] = []

    def __call__(self, base: str | Path) -> Path:
        parents = self._missing_parents(Path(base))
        folder = fresh_directory(base)
        self._made.append((folder, parents))
        return folder

    def claim(self, out: str | Path) -> Path:
        """Register a folder the user named (``--out``) that the command will create: it
        is given back like a reserved one if the command fails before writing to it."""
        out = Path(out)
        if not out.exists():
            self._made.append((out, self._missing_parents(out)))
        return out

    @staticmethod
    def _missing_parents(path: Path) -> list[Path]:
        """The parents of ``path`` that do not exist yet, innermost first."""
        return [p for p in path.parents if not p.exists()]

    def release(self) -> None:
        """Give back now every reserved folder that is still empty (as on an error)."""
        for folder, parents in self._made:
            for d in (folder, *parents):   # innermost first
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()

    def __enter__(self) -> "reserved_directory":
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        if kind is not None:
            self.release()
        return False


def add_output_options(parser, default: str, what: str) -> None:
    """The ``--out`` and ``--overwrite`` options of a command that writes a ``what``
    (e.g. ``"run"``) into a folder of its own, ``default`` unless told otherwise."""
    parser.add_argument("--out", help=f"output directory (default {default}, or {default}-N "
                                      f"if that holds a {what})")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace the {what} already in --out (its files are removed first)")


def prepare_directory(out: str | Path, overwrite: bool = False) -> Path:
    """Make ``out`` ready to receive a run: created, or emptied of a previous run.

    Raises
    ------
    ConfigError
        If ``out`` is an existing file, or already holds a run and ``overwrite``
        is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out {str(out)!r} is an existing file, not a directory")
    if holds_run(out):
        if not overwrite:
            raise ConfigError(f"out {str(out)!r} already holds a run; pass --overwrite to "
                              "replace it, or choose another folder")
        clear_run(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _listed(directory: Path) -> set[str]:
    names: set[str] = set()
    for summary, keys in _LISTS.items():
        try:
            data = json.loads((directory / summary).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            for key in keys:
                names.update(n for n in data.get(key) or () if isinstance(n, str))
    return names


def clear_run(directory: str | Path) -> list[str]:
    """Remove a previous run's files from ``directory``; return their names.

    Removed: :data:`RUN_FILES`, the files its summaries list, and temporary
    files of interrupted writes. Anything else (e.g. a configuration) stays.
    """
    d = Path(directory)
    names = set(RUN_FILES) | _listed(d)
    names.update(p.name for p in d.glob(f".*{TEMP_MARKER}*"))
    removed = []
    for name in sorted(names):
        path = d / Path(name).name
        if path.is_file():
            path.unlink()
            removed.append(path.name)
    return removed


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (numpy numbers as floats), atomically."""
    return write_atomic(path, json.dumps(data, indent=2, default=float) + "\n")


def write_csv(path: str | Path, rows: Sequence[dict], columns: Sequence[str] | None = None) -> Path:
    """Write ``rows`` as CSV with a header (default columns: the first row's keys), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns or rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_atomic(path, buf.getvalue())
