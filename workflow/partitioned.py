"""One run partitioned over processes: METIS parts, one MPI rank per part.

The physics is the cut-latency model of :mod:`evsim.cut` (cut edges see the far
potential ``L`` late, their packets arrive ``L`` after they leave); this module
only chooses the parts and the processes:

* :func:`partition` splits the cells into balanced parts with METIS
  (:func:`evsim.analysis.mapping.metis_mapping`, pymetis), minimising the
  number of cut edges;
* :func:`simulate_case` runs a :class:`~evsim.workflow.case.Case` under the model,
  in this process (``comm=None``) or with one rank per part (an mpi4py
  communicator): the same result, bit for bit, gathered on rank 0;
* :func:`launch` starts ``mpiexec -n N`` on a command (``evsim run ... --ranks N``
  re-runs itself that way when it is not already inside an MPI world of N ranks),
  and :func:`world` returns ``MPI.COMM_WORLD`` when inside one.

MPI comes from the extra ``mpi`` (``pip install "evsim[mpi]"``: mpi4py and the
MPICH wheel, whose ``mpiexec`` lands beside the Python executable).
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evsim.cut import simulate_cut
from evsim.errors import ConfigError
from evsim.optional import require
from evsim.result import Result

from .case import Case

__all__ = ["partition", "simulate_case", "launch", "world", "world_size", "world_rank",
           "root_value", "mpiexec"]

#: Environment variables in which MPI launchers give a process its world size.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK")


def partition(graph, parts: int, seed: int = 0) -> np.ndarray:
    """``(cells,)`` part of every cell: a METIS k-way partition into ``parts`` parts of
    at most ``ceil(1.03 N / parts)`` cells (METIS' own imbalance bound), fewest cut edges.

    Raises
    ------
    ConfigError
        ``parts`` is not a positive integer or exceeds the number of cells.
    MissingDependency
        Without pymetis (extra ``hardware``).
    """
    from evsim.analysis.mapping import CoreMesh, metis_mapping
    from evsim.topologies import cell_nodes

    n = len(cell_nodes(graph))
    if isinstance(parts, bool) or not isinstance(parts, (int, np.integer)) or not 1 <= parts <= n:
        raise ConfigError(f"parts must be an integer in [1, {n}] (the cells), got {parts!r}")
    if parts == 1:
        return np.zeros(n, dtype=np.int64)
    mesh = CoreMesh(int(parts), 1, capacity=math.ceil(1.03 * n / parts))
    return metis_mapping(graph, mesh, seed=seed, place=False).core


def simulate_case(case: Case, parts: int, cut_latency: float, comm=None) -> Result | None:
    """Run ``case`` under the cut-latency model on a METIS partition into ``parts``.

    Parameters
    ----------
    case
        The run's set-up (graph, initial field, quota, t_end, record times).
    parts
        Number of parts (with ``comm``: its number of ranks).
    cut_latency
        ``L > 0``, in the problem's time unit.
    comm
        ``None`` (every part here) or an mpi4py communicator of ``parts`` ranks: rank 0
        partitions and broadcasts the assignment, every rank runs its part.

    Returns
    -------
    Result
        On rank 0 (or without ``comm``); ``None`` on the other ranks.
    """
    if comm is not None and comm.size != parts:
        raise ConfigError(f"parts = {parts} but the MPI world has {comm.size} ranks; "
                          f"run under mpiexec -n {parts}")
    assignment = None
    if comm is None or comm.rank == 0:
        assignment = partition(case.graph, parts)
    if comm is not None:
        assignment = comm.bcast(assignment, root=0)
    return simulate_cut(case.graph, assignment, cut_latency, u0=case.u0, quota=case.quota,
                        t_end=case.t_end, record=case.times, comm=comm)


def world_size() -> int:
    """Size of the MPI world this process was started in by a launcher (1 if none)."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def world_rank() -> int:
    """Rank of this process in the MPI world its launcher started (0 if none)."""
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def root_value(make):
    """``make()`` computed on rank 0 and broadcast to every rank (just ``make()`` without MPI)."""
    comm = world()
    if comm is None:
        return make()
    return comm.bcast(make() if comm.rank == 0 else None, root=0)


def world():
    """``MPI.COMM_WORLD`` when this process runs under an MPI launcher, else ``None``."""
    if world_size() == 1:
        return None
    return require("mpi4py.MPI", extra="mpi", feature="runs over several processes").COMM_WORLD


def mpiexec() -> str:
    """The ``mpiexec`` to launch with: the one beside this Python (the MPICH wheel's), else
    the first on ``PATH``.

    Raises
    ------
    ConfigError
        No ``mpiexec`` is found (install the extra ``mpi``).
    """
    here = Path(sys.executable).parent / "mpiexec"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("mpiexec")
    if found is None:
        raise ConfigError('no mpiexec found for --ranks; pip install "evsim[mpi]" (mpi4py and MPICH)')
    return found


def launch(ranks: int, args: Sequence[str]) -> int:
    """Run ``python args...`` under ``mpiexec -n ranks``; return its exit status."""
    require("mpi4py.MPI", extra="mpi", feature="runs over several processes")
    return subprocess.call([mpiexec(), "-n", str(int(ranks)), sys.executable, *args])
