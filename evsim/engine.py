"""What :func:`evsim.simulate` requires of an engine, and the registry of engines.

An engine advances an :class:`~evsim.state.EngineState` in chunks, as a
``scipy.integrate.OdeSolver`` advances ``solve_ivp``'s solution step by step.
:func:`~evsim.simulate` relies on exactly this (the :class:`Engine` protocol):

1. ``engine = cls(state)`` (or ``cls(state, processes)`` for an engine that
   runs user processes) builds the engine on a state fresh from
   :func:`~evsim.state.initial_state`; the state stays the engine's own.
2. ``engine.run(max_events)`` processes events in time order until the next
   event lies beyond ``state.t_end`` (returns :attr:`Status.DONE`) or
   ``max_events`` events (firings plus delayed arrivals) are processed
   (returns :attr:`Status.LIMIT`). It is called again until ``DONE``, with
   ``max_events`` at most ``cls.chunk``.
3. ``engine.flush()`` writes whatever the engine keeps outside ``state`` (the
   SimPy engine's due times and FIFOs of packets in flight) into it, so that the
   state alone continues the run: a checkpoint (:mod:`evsim.checkpoint`) stores
   the state after a flush, and ``cls(state)`` on that state continues it, bit
   for bit. ``cls.consistent_on_interrupt`` says whether the state is still
   consistent after a ``KeyboardInterrupt`` inside :meth:`Engine.run`.
4. Between two calls ``state`` is complete and consistent: the ledger
   (``state.count``, ``state.pool[1]`` packets in transit), the spike counts
   (``state.forward``, ``state.backward``), ``state.cursor`` (records taken,
   firings, arrivals, log length), ``state.clock`` (time of the last event,
   ``t_end`` once done), the records and the spike log are what
   :class:`~evsim.result.Result` is built from; every record at a time
   ``<= state.clock`` is taken.

Two engines must produce the same spike sequence, bit for bit, from the same
state: same event order (time, then slot: firings before arrivals, each in
increasing edge id) and the same floating-point operations (the functions of
:mod:`evsim.rule`).
"""
from __future__ import annotations

import enum
import importlib
from collections.abc import Iterator, Mapping
from typing import ClassVar, Protocol, runtime_checkable

from .state import EngineState

__all__ = ["Status", "Engine", "EngineRegistry"]


class Status(enum.IntEnum):
    """Why one chunk of work (:meth:`Engine.run`) or one kernel call ended.

    ``DONE`` and ``LIMIT`` are what :meth:`Engine.run` returns; ``GROW_POOL``
    and ``GROW_LOG`` are internal to the compiled engine (its kernel cannot
    allocate: it stops, the engine grows the array and calls it again). The
    kernel returns the integer values (numba compiles them as constants).
    """

    DONE = 0        #: the next event lies beyond ``t_end``: the run is complete
    LIMIT = 1       #: ``max_events`` events processed; more remain
    GROW_POOL = 2   #: the packet pool is full (:meth:`EngineState.grow_pool`)
    GROW_LOG = 3    #: the spike log is full (:meth:`EngineState.grow_log`)


@runtime_checkable
class Engine(Protocol):
    """An engine as :func:`evsim.simulate` uses it (see the module docstring).

    Attributes
    ----------
    name : str
        The engine's key in :data:`evsim.ENGINES` (``Result.engine``).
    chunk : int
        Largest ``max_events`` per :meth:`run` call: the events between two
        checks of the progress bar, the wall-clock limit and Ctrl-C.
    consistent_on_interrupt : bool
        Whether the state may be checkpointed after a ``KeyboardInterrupt``
        raised inside :meth:`run`.
    state : EngineState
        The state the engine advances.
    """

    name: ClassVar[str]
    chunk: ClassVar[int]
    consistent_on_interrupt: ClassVar[bool]
    state: EngineState

    def flush(self) -> None:
        """Write the engine's own structures into ``state`` (for a checkpoint)."""
        ...

    def run(self, max_events: int) -> Status:
        """Process at most ``max_events`` events; ``Status.DONE`` or ``Status.LIMIT``."""
        ...


class EngineRegistry(Mapping):
    """Engine name -> engine class, each module imported when its class is first used.

    Importing :mod:`evsim` must not import numba or SimPy, so entries are
    ``"module:Class"`` paths until looked up.

    Parameters
    ----------
    paths
        Engine name -> ``"module:Class"`` of a class honouring :class:`Engine`.
    """

    def __init__(self, paths: Mapping[str, str]):
        self._paths = dict(paths)

    def __getitem__(self, name: str) -> type[Engine]:
        module, _, cls = self._paths[name].partition(":")
        return getattr(importlib.import_module(module), cls)

    def __contains__(self, name: object) -> bool:
        return name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"EngineRegistry({self._paths!r})"
