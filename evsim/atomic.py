"""Atomic file writes: a file is either its previous version or its complete new one.

Every file evsim writes (results, summaries, sweep tables) goes through
:func:`atomic_path`: the writer fills a temporary file in the target's
directory, which is flushed to disk and then renamed over the target with
:func:`os.replace`. A process killed mid-write leaves the previous file intact
(and at worst a hidden ``.NAME.*.tmp*`` file beside it); two concurrent writers
of one path each rename a complete file, so the path ends up holding one of them.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_atomic", "TEMP_MARKER"]

#: Part of the name of every temporary file :func:`atomic_path` creates.
TEMP_MARKER = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file lives in ``path``'s directory (a rename within one file
    system is atomic) and keeps ``path``'s suffix, so writers that choose a
    format by suffix (``numpy.savez``, ``xarray``) behave as for ``path``. If
    the block raises, the temporary file is removed and ``path`` is untouched.

    Parameters
    ----------
    path
        The file to (re)write; its directory must exist.

    Yields
    ------
    Path
        The temporary file to write (it exists, empty).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                suffix=f"{TEMP_MARKER}{path.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _MODE)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):
        _fsync(path.parent)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; return ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return path
