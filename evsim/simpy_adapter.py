"""The few SimPy internals the SimPy engine relies on, in one place, for one version range.

SimPy's public API schedules events relative to ``env.now`` and offers no way to
peek at the queue. The engine (:mod:`evsim.simpy_engine`) needs three things it
does not offer, each reached here through SimPy's private attributes:

- schedule an event at an *absolute* time, so that event times are the very
  floats the compiled engine computes (``now + (t - now)`` may round
  differently): an entry ``(time, priority, id, event)`` pushed onto the heap
  ``env._queue``, ``id`` drawn from the counter ``env._eid``;
- look at the next queued entry (``env._queue[0]``), to tell the engine's
  own events from records and user processes;
- an event triggered and successful from birth, with no call to
  ``Event.succeed`` (which would schedule it at ``now``): the attributes
  ``_value`` and ``_ok``; and end ``env.run`` from a callback with a value
  (``simpy.core.StopSimulation``).

These hold for the versions in :data:`SUPPORTED`, the range pinned in
``pyproject.toml``; ``tests/core/test_simpy_adapter.py`` checks each of them on
the installed SimPy. Importing this module with a SimPy outside the range
raises :class:`SimPyVersionError`.
"""
from __future__ import annotations

import re
from heapq import heappush
from importlib.metadata import version

import simpy
from simpy.core import StopSimulation

from .errors import EvsimError

__all__ = ["SUPPORTED", "SimPyVersionError", "check_version", "Environment", "BornEvent",
           "stop"]

#: SimPy versions whose internals this module was written and tested against:
#: ``lowest <= version < beyond`` (release numbers; keep pyproject.toml in step).
SUPPORTED = ((4, 1), (4, 2))


class SimPyVersionError(EvsimError, ImportError):
    """The installed SimPy is outside :data:`SUPPORTED`; the message names both."""


def _release(text: str) -> tuple[int, ...]:
    """The release numbers of a version string, ``"4.1.2rc1" -> (4, 1, 2)``; ``()`` if none."""
    match = re.match(r"\d+(\.\d+)*", text)
    return tuple(int(n) for n in match.group().split(".")) if match else ()


def check_version(installed: str | None = None) -> str:
    """Raise :class:`SimPyVersionError` unless ``installed`` (default: the installed
    SimPy's version) lies in :data:`SUPPORTED`; return it."""
    installed = version("simpy") if installed is None else installed
    lowest, beyond = SUPPORTED
    if not lowest <= _release(installed) < beyond:
        span = f">={'.'.join(map(str, lowest))},<{'.'.join(map(str, beyond))}"
        raise SimPyVersionError(
            f"evsim's SimPy engine supports simpy{span}, found simpy {installed}; "
            f"install a supported version (pip install 'simpy{span}')")
    return installed


check_version()


class Environment(simpy.Environment):
    """A :class:`simpy.Environment` that schedules at absolute times and shows its next entry."""

    def schedule_at(self, event: simpy.Event, time: float, priority: int) -> None:
        """Queue the triggered ``event`` at ``time`` (absolute) with SimPy priority
        ``priority``: SimPy processes events in ``(time, priority, insertion)`` order."""
        heappush(self._queue, (time, priority, next(self._eid), event))

    def peek_entry(self) -> tuple[float, int, simpy.Event]:
        """``(time, priority, event)`` of the next queued event (the queue must not be empty)."""
        time, priority, _, event = self._queue[0]
        return time, priority, event


class BornEvent(simpy.Event):
    """A SimPy event triggered and successful from birth (value ``None``), for
    :meth:`Environment.schedule_at`; subclasses set ``env`` and ``callbacks``."""

    _value = None
    _ok = True


def stop(value: object) -> None:
    """End the running ``env.run(...)`` from an event callback; ``run`` returns ``value``."""
    raise StopSimulation(value)
