"""Acting on a running network between time segments: reservoir potentials and conductances.

A :class:`Controller` is a monitor (:mod:`evsim.monitors`) that may change the
state at its times: set a reservoir's potential (a boundary that follows a
schedule, or a sensor reservoir that holds the latest observation) or an edge's
conductance (a corrected operator). Both change the flux of the touched edges,
``J = g (u_a - u_b) + d``, which the engines keep constant between events; so
:func:`retune`, at the segment end ``t`` (every event at ``<= t`` processed):

1. integrates every touched edge's accumulator up to ``t`` under the *old*
   potentials and conductances, ``a <- a + J_old (t - t_last)``, ``t_last <- t``;
2. applies the change;
3. reschedules the touched edges under the *new* flux,
   ``t* = t + (±q - a) / J_new`` (:func:`evsim.rule.fire_delay`), in the state's
   winner tree.

That is exactly what an engine does to the edges around a cell whose potential a
packet changed, so the run stays an exact event simulation; the engines are
rebuilt from this state for the next segment (:class:`evsim.monitors.Schedule`),
so the code is written once and both engines run the same events, bit for bit.
Packets still move integer ledger counts only: a packet into or out of a reservoir
is counted in its ledger, the residual stays 0 and ``Result.boundary_mass`` shows the
exchange. The network the run was compiled from (``Result.network``) keeps its
original values; ``Result.monitors[name]`` records what the controller changed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import rule
from .errors import ConfigError
from .monitors import Monitor, Probe, _times
from .state import EngineState, winner_tree

__all__ = ["retune", "Control", "Controller"]


def retune(state: EngineState, t: float, potential: Mapping[int, float] | None = None,
           conductance: Mapping[int, float] | None = None) -> int:
    """Change reservoir potentials and edge conductances of ``state`` at time ``t``.

    Parameters
    ----------
    state
        A complete state (engine flushed) whose events up to ``t`` are processed.
    t
        The time of the change (the segment end, ``state.t_end``).
    potential
        Node index (a reservoir: ``>= state.ncell``) -> new potential (as stored in the
        state, i.e. with any potential offset taken out).
    conductance
        Edge index -> new conductance ``>= 0`` (``0``: the edge carries no flux).

    Returns
    -------
    int
        Number of edges integrated and rescheduled (the correction's edge updates).
    """
    potential, conductance = dict(potential or {}), dict(conductance or {})
    touched = set()
    if potential:
        nodes = np.fromiter(potential, dtype=np.int64, count=len(potential))
        if np.any(nodes < state.ncell) or np.any(nodes >= state.potential.size):
            raise ConfigError(f"only reservoir potentials can be set (node indices "
                              f"{state.ncell}..{state.potential.size - 1}), got {sorted(potential)}")
        touched.update(np.flatnonzero(np.isin(state.src, nodes) | np.isin(state.dst, nodes)).tolist())
    for e, g in conductance.items():
        if not 0 <= e < state.edges:
            raise ConfigError(f"edge index {e} outside 0..{state.edges - 1}")
        if not (np.isfinite(g) and g >= 0):
            raise ConfigError(f"conductance of edge {e} must be finite and >= 0, got {g!r}")
        touched.add(int(e))
    if not touched:
        for c, u in potential.items():
            state.potential[c] = float(u)
        return 0
    edges = np.array(sorted(touched), dtype=np.int64)
    rec = state.edge
    # elementwise the very operations of rule.flux / rule.advance / rule.fire_delay: same bits
    old = rule.flux(rec["conductance"][edges], state.potential[rec["src"][edges]],
                    state.potential[rec["dst"][edges]], state.drive[edges])
    acc = rule.advance(rec["acc"][edges], old, t - rec["tlast"][edges])
    rec["acc"][edges] = acc
    rec["tlast"][edges] = t
    for c, u in potential.items():
        state.potential[c] = float(u)
    for e, g in conductance.items():
        rec["conductance"][e] = float(g)
    new = rule.flux(rec["conductance"][edges], state.potential[rec["src"][edges]],
                    state.potential[rec["dst"][edges]], state.drive[edges])
    q = state.quota
    with np.errstate(divide="ignore", invalid="ignore"):
        delay = np.where(new > 0.0, (q - acc) / new, np.where(new < 0.0, (-q - acc) / new, np.inf))
    delay = np.where(delay > 0.0, delay, 0.0)
    times = state.slot_time.copy()
    times[edges] = t + delay
    state.queue[...] = winner_tree(times)
    return int(edges.size)


class Control(Probe):
    """A :class:`~evsim.monitors.Probe` that may also change the run (collected, then
    applied at once by :func:`retune` when the controller's function returns)."""

    def __init__(self, probe: Probe):
        super().__init__(probe.t, probe.state, probe.network, probe._offset)
        self.potential_changes: dict[int, float] = {}
        self.conductance_changes: dict[int, float] = {}
        self._index = {n: i for i, n in enumerate(probe.network.nodes)}

    def node_index(self, node: Any) -> int:
        """Index of a node label of the network (reservoirs follow the cells)."""
        if node not in self._index:
            raise ConfigError(f"no node {node!r} in the network")
        return self._index[node]

    def set_reservoir(self, node: Any, value: float) -> None:
        """Set the potential of the reservoir labelled ``node`` to ``value``."""
        i = self.node_index(node)
        if i < self.network.cells:
            raise ConfigError(f"node {node!r} is a cell; only reservoir potentials can be set")
        if not np.isfinite(value):
            raise ConfigError(f"reservoir {node!r}: potential must be finite, got {value!r}")
        self.potential_changes[i] = float(value) - self._offset

    def set_conductance(self, edges: Sequence[int] | np.ndarray, values) -> None:
        """Set the conductances of edge indices ``edges`` (network order) to ``values``."""
        edges = np.atleast_1d(np.asarray(edges, dtype=np.int64))
        values = np.broadcast_to(np.asarray(values, dtype=float), edges.shape)
        self.conductance_changes.update(zip(edges.tolist(), values.tolist()))

    @property
    def conductance(self) -> np.ndarray:
        """(E,) current conductances of the run (a copy)."""
        return self.state.conductance.copy()


class Controller(Monitor):
    """``fn(control)`` at chosen times, where ``control`` (:class:`Control`) may set
    reservoir potentials and conductances; the changes are applied by :func:`retune`.

    Records ``times`` (K,) and ``edge_updates`` (K,) int64, the edges integrated and
    rescheduled at each call (what the correction costs the engine), and ``values`` if
    ``fn`` returns numbers (as :class:`~evsim.monitors.Callback`).
    """

    kind = "controller"

    def __init__(self, times: Sequence[float], fn: Callable[[Control], Any],
                 name: str | None = None):
        super().__init__(name)
        if not callable(fn):
            raise ConfigError(f"Controller: fn must be callable, got {fn!r}")
        self._times, self.fn = _times(times, "Controller"), fn
        self._seen: list[float] = []
        self._updates: list[int] = []
        self._values: list = []

    def times(self, t_end):
        return self._times[self._times <= t_end]

    def act(self, control: Control) -> Any:
        """What happens at each time (default: ``fn(control)``)."""
        return self.fn(control)

    def observe(self, probe: Probe) -> None:
        control = Control(probe)
        value = self.act(control)
        self._seen.append(probe.t)
        self._updates.append(retune(probe.state, probe.t, control.potential_changes,
                                    control.conductance_changes))
        if value is not None:
            self._values.append(np.asarray(value, dtype=float))

    def data(self) -> dict[str, Any]:
        out = {"kind": self.kind, "times": np.array(self._seen, dtype=float),
               "edge_updates": np.array(self._updates, dtype=np.int64)}
        if self._values and len(self._values) == len(self._seen) and \
                len({v.shape for v in self._values}) == 1:
            out["values"] = np.array(self._values)
        return out
