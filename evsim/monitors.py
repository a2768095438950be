"""Monitors: what a run records besides its fields, on both engines, without changing it.

As Brian2's monitors and py-pde's trackers, a monitor is a model of an
observation attached to a run: ``evsim.simulate(..., monitors=[...])`` with

- :class:`StateMonitor` ``(cells, times)``: the potentials of a subset of cells at
  its own times;
- :class:`RateMonitor` ``(bin, edges= | cells=)``: packets per edge (or sent per
  cell) in each time bin ``[k b, (k + 1) b)``;
- :class:`SpikeMonitor` ``(edges= | cells=)``: every firing ``(time, edge, sign)``
  on a subset of edges (or on the edges of a subset of cells);
- :class:`Callback` ``(times, fn)``: ``fn(probe)`` at chosen times, with a read-only
  :class:`Probe` of the state; what it returns (numbers) is kept.

How they observe without changing the spike sequence
----------------------------------------------------
An engine processes every event with time ``<= state.t_end`` and stops once the
next event lies beyond it (:mod:`evsim.engine`); the state is then complete, and
running on with a later ``t_end`` processes exactly the events the uninterrupted
run would have (the next event is the same root of the same queue; nothing in
the physics reads ``t_end``). :class:`Schedule` therefore cuts the run into time
segments ending at the monitors' times, observes the state at each end (after
every event at that time, as records are taken) and continues. The engine is
flushed at each segment end and continues from the state through the
:class:`~evsim.engine.Engine` protocol: an engine that keeps structures of its own
(SimPy) is rebuilt, ``cls(state)``, as a checkpoint continues; the compiled engine
runs on the state's arrays and goes on (:data:`SHARES_STATE`). So the same code
serves both engines, and a controller (:mod:`evsim.control`) may change the state
in between.
``tests/core/test_monitors.py`` checks the spike log and fields bit for bit with
and without every monitor, on both engines.

A checkpoint holds the monitors with what they recorded so far and where the
schedule stands (:meth:`Schedule.snapshot`, pickled), so :func:`evsim.resume`
continues them too: the resumed run's ``Result.monitors`` is bit-identical to the
uninterrupted run's. What they record is in ``Result.monitors`` (name -> dict of
arrays, plus its ``"kind"``), saved and loaded with the result.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError
from .network import Network
from .state import EngineState

__all__ = ["Monitor", "StateMonitor", "RateMonitor", "SpikeMonitor", "Callback", "Probe",
           "Schedule", "MONITOR_KINDS", "SHARES_STATE"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
#: Engines that run on the state's own arrays (their ``flush`` is a no-op): the same
#: engine object continues the next segment; any other engine is rebuilt from its
#: flushed state (``cls(state)``, as a checkpoint continues).
SHARES_STATE = frozenset({"compiled"})


class Probe:
    """Read-only view of a run's state at a segment end (time :attr:`t`).

    Attributes
    ----------
    t : float
        The time: every event at ``<= t`` is processed, none after.
    network : Network
        The compiled network (cells ``0..N-1``, then reservoirs).
    """

    def __init__(self, t: float, state: EngineState, network: Network, offset: float = 0.0):
        self.t, self.state, self.network, self._offset = float(t), state, network, offset

    @property
    def potential(self) -> np.ndarray:
        """(N,) cell potentials ``u_i = (b_i + q n_i) / V_i`` (a copy)."""
        u = self.state.potential[: self.network.cells].copy()
        return u + self._offset if self._offset else u

    @property
    def reservoir_potential(self) -> np.ndarray:
        """(R,) current reservoir potentials (a copy)."""
        u = self.state.potential[self.network.cells:].copy()
        return u + self._offset if self._offset else u

    @property
    def forward(self) -> np.ndarray:
        """(E,) packets fired along each edge so far (a copy)."""
        return self.state.forward.copy()

    @property
    def backward(self) -> np.ndarray:
        """(E,) packets fired against each edge so far (a copy)."""
        return self.state.backward.copy()

    @property
    def count(self) -> np.ndarray:
        """(N + R,) integer ledger counts ``n_i`` (a copy)."""
        return self.state.count.copy()

    @property
    def firings(self) -> int:
        return int(self.state.cursor[1])

    @property
    def arrivals(self) -> int:
        return int(self.state.cursor[2])


class Monitor:
    """A monitor: the times it observes at and what it keeps (subclasses below).

    A subclass sets :attr:`kind`, and implements :meth:`times` (when to observe),
    :meth:`start` (check against the network), :meth:`observe` and :meth:`data`.
    """

    kind: ClassVar[str] = ""
    needs_log: ClassVar[bool] = False

    def __init__(self, name: str | None = None):
        if name is not None and not _NAME.match(str(name)):
            raise ConfigError(f"monitor name {name!r} must be letters, digits, '_' or '-'")
        self.name = name

    def times(self, t_end: float) -> np.ndarray:
        """Sorted times in ``[0, t_end]`` at which :meth:`observe` is called."""
        return np.zeros(0)

    def start(self, network: Network, t_end: float) -> None:
        """Check the monitor against the network before the run."""

    def observe(self, probe: Probe) -> None:
        """Record what the monitor keeps at ``probe.t``."""

    def finish(self, probe: Probe) -> None:
        """Called once when the run stops (at ``probe.t``, its final time)."""

    def data(self) -> dict[str, Any]:
        """What was recorded: ``{"kind": kind, key: array, ...}``."""
        raise NotImplementedError


def _times(times, name: str) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ConfigError(f"{name}: times must be a non-empty 1D sequence of finite times >= 0")
    if np.any(np.diff(t) < 0):
        raise ConfigError(f"{name}: times must be sorted in increasing order")
    return t


def _indices(values, size: int, what: str, name: str) -> np.ndarray:
    idx = np.atleast_1d(np.asarray(values))
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ConfigError(f"{name}: {what} must be a non-empty 1D sequence of integer indices")
    bad = np.flatnonzero((idx < 0) | (idx >= size))
    if bad.size:
        raise ConfigError(f"{name}: {what} index {int(idx[bad[0]])} is outside 0..{size - 1}")
    return idx.astype(np.int64)


class StateMonitor(Monitor):
    """Potentials of a subset of cells at the monitor's own times.

    Parameters
    ----------
    cells
        Cell indices (cell order, as ``u0``).
    times
        Sorted times; those in ``[0, t_end]`` are observed, after every event at them.
    name
        Key in ``Result.monitors`` (default ``"state_<k>"``, ``k`` its position).

    Records ``times`` (K,), ``cells`` (C,), ``potential`` (K, C).
    """

    kind = "state"

    def __init__(self, cells: Sequence[int], times: Sequence[float], name: str | None = None):
        super().__init__(name)
        self.cells = np.atleast_1d(np.asarray(cells))
        self._times = _times(times, "StateMonitor")
        self._seen: list[float] = []
        self._rows: list[np.ndarray] = []

    def times(self, t_end):
        return self._times[self._times <= t_end]

    def start(self, network, t_end):
        self.cells = _indices(self.cells, network.cells, "cells", "StateMonitor")

    def observe(self, probe):
        self._seen.append(probe.t)
        self._rows.append(probe.potential[self.cells])

    def data(self):
        return {"kind": self.kind, "times": np.array(self._seen, dtype=float), "cells": self.cells,
                "potential": (np.array(self._rows, dtype=float) if self._rows
                              else np.zeros((0, self.cells.size)))}


class RateMonitor(Monitor):
    """Packets per edge (or sent per cell) in each time bin of width ``bin``.

    Bins are ``[k b, (k + 1) b)`` for ``k = 0, 1, ...``, the last one ending at
    ``t_end`` (shorter if ``t_end`` is not a multiple of ``b``); a bin's count is
    the packets fired in it (a packet fired at a bin edge counts in the bin that
    ends there, as the state at a time includes its events).

    Parameters
    ----------
    bin
        Bin width (time), > 0.
    edges
        Edge indices to count (default: every edge), or
    cells
        cell indices: count the packets each sends (as ``Result.node_spikes``).

    Records ``bin_edges`` (B + 1,), ``index`` (K,) the edges or cells,
    ``counts`` (B, K) int64; the rate is ``counts / diff(bin_edges)``.
    """

    kind = "rate"

    def __init__(self, bin: float, edges: Sequence[int] | None = None,
                 cells: Sequence[int] | None = None, name: str | None = None):
        super().__init__(name)
        if edges is not None and cells is not None:
            raise ConfigError("RateMonitor: give edges or cells, not both")
        width = float(bin)
        if not np.isfinite(width) or width <= 0:
            raise ConfigError(f"RateMonitor: bin must be a positive finite time, got {bin!r}")
        self.bin, self.edges, self.cells = width, edges, cells
        self._bounds = [0.0]
        self._counts: list[np.ndarray] = []

    def times(self, t_end):
        n = int(np.ceil(t_end / self.bin))
        t = self.bin * np.arange(1, n + 1)
        return np.append(t[t < t_end], t_end) if t_end > 0 else np.zeros(0)

    def start(self, network, t_end):
        self._network = network
        if self.cells is not None:
            self.index = _indices(self.cells, network.cells, "cells", "RateMonitor")
        elif self.edges is not None:
            self.index = _indices(self.edges, network.size, "edges", "RateMonitor")
        else:
            self.index = np.arange(network.size, dtype=np.int64)
        self._last = self._total(np.zeros(network.size, np.int64), np.zeros(network.size, np.int64))

    def _total(self, forward, backward) -> np.ndarray:
        if self.cells is None:
            return (forward + backward)[self.index]
        n, edges = self._network.cells + self._network.reservoirs, self._network.edges
        sent = np.bincount(edges[:, 0], forward, n) + np.bincount(edges[:, 1], backward, n)
        return sent.astype(np.int64)[self.index]

    def observe(self, probe):
        total = self._total(probe.state.forward, probe.state.backward)
        self._counts.append(total - self._last)
        self._last = total
        self._bounds.append(probe.t)

    def data(self):
        return {"kind": self.kind, "bin_edges": np.array(self._bounds, dtype=float),
                "index": self.index,
                "counts": (np.array(self._counts, dtype=np.int64) if self._counts
                           else np.zeros((0, self.index.size), dtype=np.int64))}


class SpikeMonitor(Monitor):
    """Every firing ``(time, edge, sign)`` on a subset of edges, or on every edge of a
    subset of cells (a packet a cell sends or receives).

    Records ``index`` (the edges watched), ``time``, ``edge``, ``sign`` (S,).
    The engines' spike log is switched on for it (logging is not physics: the
    spike sequence is the same); ``Result.spike_log`` stays None unless asked for.
    """

    kind = "spike"
    needs_log = True

    def __init__(self, edges: Sequence[int] | None = None, cells: Sequence[int] | None = None,
                 name: str | None = None):
        super().__init__(name)
        if (edges is None) == (cells is None):
            raise ConfigError("SpikeMonitor: give edges or cells (one of them)")
        self.edges, self.cells = edges, cells
        self._log = None

    def start(self, network, t_end):
        if self.edges is not None:
            self.index = np.unique(_indices(self.edges, network.size, "edges", "SpikeMonitor"))
        else:
            cells = _indices(self.cells, network.cells, "cells", "SpikeMonitor")
            ends = np.isin(network.edges, cells).any(axis=1)
            self.index = np.flatnonzero(ends).astype(np.int64)

    def finish(self, probe):
        st, n = probe.state, int(probe.state.cursor[3])
        keep = np.isin(st.log_edge[:n], self.index)
        self._log = (st.log_time[:n][keep].copy(), st.log_edge[:n][keep].astype(np.int64),
                     st.log_sign[:n][keep].astype(np.int8))

    def data(self):
        t, e, s = self._log if self._log is not None else (np.zeros(0), np.zeros(0, np.int64),
                                                            np.zeros(0, np.int8))
        return {"kind": self.kind, "index": self.index, "time": t, "edge": e, "sign": s}


class Callback(Monitor):
    """``fn(probe)`` at chosen times, between chunks of events (any engine).

    ``probe`` is a :class:`Probe` (read-only: the function must not change the
    state; :mod:`evsim.control` is the way to act on a run). If ``fn`` returns
    numbers (a scalar or an array of one shape), they are kept as ``values``
    (K, ...); ``times`` (K,) are the times it was called at.
    """

    kind = "callback"

    def __init__(self, times: Sequence[float], fn: Callable[[Probe], Any], name: str | None = None):
        super().__init__(name)
        if not callable(fn):
            raise ConfigError(f"Callback: fn must be callable, got {fn!r}")
        self._times, self.fn = _times(times, "Callback"), fn
        self._seen: list[float] = []
        self._values: list = []

    def times(self, t_end):
        return self._times[self._times <= t_end]

    def observe(self, probe):
        self._seen.append(probe.t)
        value = self.fn(probe)
        if value is not None:
            self._values.append(np.asarray(value, dtype=float))

    def data(self):
        out = {"kind": self.kind, "times": np.array(self._seen, dtype=float)}
        if self._values and len(self._values) == len(self._seen) and \
                len({v.shape for v in self._values}) == 1:
            out["values"] = np.array(self._values)
        return out


#: Monitor kinds by name (what a saved result's manifest says).
MONITOR_KINDS = {cls.kind: cls for cls in (StateMonitor, RateMonitor, SpikeMonitor, Callback)}


class Schedule:
    """The time segments of a run with monitors, and what happens at their ends.

    Parameters
    ----------
    monitors
        The monitors (and controllers, :mod:`evsim.control`), observed at equal times
        in list order.
    network, state
        The run's network and fresh state; ``state.t_end`` is set to the first
        segment end.
    t_end
        The run's final time.
    engine_class
        The engine to rebuild at each segment end.
    offset
        Constant taken out of the potentials (added back in what probes show).
    """

    #: Whether the run's checkpoints keep the monitors (False when one does not pickle).
    checkpointable = True

    def __init__(self, monitors: Sequence[Monitor], network: Network, state: EngineState,
                 t_end: float, engine_class, offset: float = 0.0):
        names = set()
        self.monitors = list(monitors)
        for k, m in enumerate(self.monitors):
            if not isinstance(m, Monitor):
                raise ConfigError(f"monitors[{k}] is {m!r}, not an evsim.monitors.Monitor")
            m.name = m.name or f"{m.kind}_{k}"
            if m.name in names:
                raise ConfigError(f"two monitors are named {m.name!r}")
            names.add(m.name)
            m.start(network, t_end)
        self._plan(network, state, t_end, engine_class, offset)
        state.t_end = self.ends[0] if self.ends else self.t_end

    def _plan(self, network, state, t_end, engine_class, offset) -> None:
        """The segment ends: every monitor time, each with the monitors due then."""
        self.network, self.state, self.t_end = network, state, float(t_end)
        self.engine_class, self.offset = engine_class, offset
        at: dict[float, list[Monitor]] = {}
        for m in self.monitors:
            for t in m.times(t_end).tolist():
                at.setdefault(min(t, t_end), []).append(m)
        self.ends = sorted(at)
        self.at = at
        self.position = 0
        self.segments = 1

    def snapshot(self) -> dict:
        """What a checkpoint keeps of the schedule: the monitors (with their records so
        far), the segment it is in and that segment's end."""
        return {"monitors": self.monitors, "position": self.position,
                "segments": self.segments, "segment_end": float(self.state.t_end)}

    @classmethod
    def restore(cls, snapshot: dict, network: Network, state: EngineState, t_end: float,
                engine_class, offset: float = 0.0) -> "Schedule":
        """The schedule of a resumed run (:meth:`snapshot`): the monitors continue
        where they were, and ``state.t_end`` is again the current segment's end."""
        self = cls.__new__(cls)
        self.monitors = list(snapshot["monitors"])
        self._plan(network, state, t_end, engine_class, offset)
        self.position, self.segments = snapshot["position"], snapshot["segments"]
        state.t_end = snapshot["segment_end"]
        return self

    @staticmethod
    def needs_log(monitors: Sequence[Monitor]) -> bool:
        return any(getattr(m, "needs_log", False) for m in monitors)

    def probe(self) -> Probe:
        return Probe(self.state.t_end, self.state, self.network, self.offset)

    def next_segment(self, runner):
        """After ``runner`` finished a segment (``Status.DONE`` at ``state.t_end``): run
        the monitors due then and return the engine for the next segment, or ``None``
        when the run is complete."""
        t = self.state.t_end
        runner.flush()   # once: a controller's changes to the state must not be overwritten
        if self.position < len(self.ends) and self.ends[self.position] == t:
            probe = self.probe()
            for m in self.at[t]:
                m.observe(probe)
            self.position += 1
        if t >= self.t_end:
            return None
        self.state.t_end = self.ends[self.position] if self.position < len(self.ends) else self.t_end
        self.segments += 1
        return runner if runner.name in SHARES_STATE else self.engine_class(self.state)

    def finish(self, final_time: float) -> dict[str, dict]:
        """The monitors' records (``Result.monitors``), once the run stopped;
        the state's horizon set back to the run's ``t_end``."""
        self.state.t_end = self.t_end
        probe = Probe(final_time, self.state, self.network, self.offset)
        for m in self.monitors:
            m.finish(probe)
        return {m.name: m.data() for m in self.monitors}
