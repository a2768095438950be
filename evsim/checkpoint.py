"""Checkpoints: the complete state of a run in one file, to continue it later.

A checkpoint holds every field of the :class:`~evsim.state.EngineState` (the
potentials, the integer ledger, the accumulators, the winner tree, the packets in
transit and their FIFOs, the NoC links' free times, the record position and
records taken, the clock, the cursors and the spike log), the compiled
:class:`~evsim.network.Network`, the run's parameters (:class:`Run`) and its
monitors and controllers with what they recorded so far (:mod:`evsim.monitors`). Between
two chunks of events that is everything an engine needs
(:meth:`evsim.engine.Engine.flush`), so :func:`evsim.resume` continues the run
bit for bit. The file is written atomically (:mod:`evsim.atomic`): a run killed
while writing keeps its previous checkpoint.

The format is a pickle (node labels are arbitrary Python objects): open only
checkpoints you wrote.
"""
from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import ResultFileError
from .network import Network, validate_network
from .state import EngineState, restore_state
from .trajectory_state import TrajectoryState, restore_trajectory_state

__all__ = ["Run", "save_checkpoint", "load_checkpoint", "CHECKPOINT_VERSION", "CheckpointWarning"]

#: Version of the checkpoint layout (``"format"`` in the file).
CHECKPOINT_VERSION = 1
_MAGIC = "evsim-checkpoint"


class CheckpointWarning(UserWarning):
    """A run's checkpoints will not hold everything it has: a monitor that does not
    pickle, or the SimPy engine's user processes; a resumed run continues without them."""


@dataclasses.dataclass(frozen=True)
class Run:
    """The parameters of a run that the :class:`~evsim.result.Result` needs besides the state."""

    engine: str            #: name in :data:`evsim.ENGINES`
    quota: float
    t_end: float
    times: np.ndarray      #: record times
    spike_log: bool
    offset: float          #: constant taken out of the potentials (:func:`evsim.checks.check_scales`)
    order: int = 1         #: CFQ order (:func:`evsim.simulate`)
    tolerance: float | None = None  #: order 2's trajectory tolerance


def save_checkpoint(path: str | Path, run: Run, network: Network,
                    state: EngineState | TrajectoryState, monitors: dict | None = None) -> Path:
    """Write a checkpoint of ``state`` (complete: the engine was flushed) to ``path``,
    with the run's monitors and where their schedule stands
    (:meth:`evsim.monitors.Schedule.snapshot`), if it has any."""
    arrays = {f.name: getattr(state, f.name) for f in dataclasses.fields(type(state))}
    payload = {"magic": _MAGIC, "format": CHECKPOINT_VERSION, "run": dataclasses.asdict(run),
               "network": dataclasses.asdict(network), "state": arrays, "monitors": monitors}
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_checkpoint(path: str | Path
                    ) -> tuple[Run, Network, EngineState | TrajectoryState, dict | None]:
    """Read a checkpoint written by :func:`save_checkpoint`: the run, its network, its
    state and its monitors' snapshot (None for a run without monitors).

    Raises
    ------
    ResultFileError
        The file is missing, not a checkpoint, or of another layout version.
    GraphError
        Its network is invalid (:func:`~evsim.network.validate_network`).
    """
    path = Path(path)
    try:
        with open(path, "rb") as src:
            payload = pickle.load(src)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        raise ResultFileError(f"{path}: cannot read a checkpoint ({exc})") from None
    if not isinstance(payload, dict) or payload.get("magic") != _MAGIC:
        raise ResultFileError(f"{path}: not an evsim checkpoint")
    if payload.get("format") != CHECKPOINT_VERSION:
        raise ResultFileError(f"{path}: checkpoint format {payload.get('format')!r}, this evsim "
                              f"reads {CHECKPOINT_VERSION}")
    network = Network(**payload["network"])
    for value in vars(network).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    validate_network(network)
    run = Run(**payload["run"])
    restore = restore_state if run.order == 1 else restore_trajectory_state
    return run, network, restore(payload["state"]), payload.get("monitors")
