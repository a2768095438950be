"""``evsim.simulate``: the one entry point that runs a PISNN on a cell graph."""
from __future__ import annotations

import time
from collections.abc import Callable

import networkx as nx
import numpy as np
from tqdm.auto import tqdm

from .engine import Engine, EngineRegistry, Status
from .errors import ConfigError
from .network import Network, compile_network, validate_network
from .result import Result
from .routing import Routing
from .state import initial_state

__all__ = ["simulate", "ENGINES"]

#: Engine name -> engine class (an :class:`evsim.engine.Engine`), imported when first used.
ENGINES = EngineRegistry({"compiled": "evsim.kernel:CompiledEngine",
                          "simpy": "evsim.simpy_engine:SimPyEngine"})


def _positive(value, name: str) -> float:
    x = float(value)
    if not np.isfinite(x) or x <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return x


def _initial_field(network: Network, u0) -> np.ndarray:
    if u0 is None:
        if np.isnan(network.initial_potential).any():
            k = int(np.flatnonzero(np.isnan(network.initial_potential))[0])
            raise ConfigError(f"u0 not given and cell {network.nodes[k]!r} has no 'potential' attribute")
        return network.initial_potential.copy()
    if callable(u0):
        u0 = u0(network.positions)
    u0 = np.asarray(u0, dtype=float)
    if u0.shape != (network.cells,):
        raise ConfigError(f"u0 must have one value per cell, shape ({network.cells},), got {u0.shape}")
    if not np.all(np.isfinite(u0)):
        raise ConfigError(f"u0 contains NaN or infinite values (first at cell index "
                         f"{int(np.flatnonzero(~np.isfinite(u0))[0])})")
    return u0


def _record_times(record, t_end: float) -> np.ndarray:
    if record is None:
        return np.array([0.0, t_end])
    times = np.atleast_1d(np.asarray(record, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise ConfigError("record must be a non-empty 1D sequence of times")
    if not np.all(np.isfinite(times)):
        raise ConfigError("record times must be finite")
    if np.any(np.diff(times) < 0):
        raise ConfigError("record times must be sorted in increasing order")
    if times[0] < 0 or times[-1] > t_end * (1 + 1e-12):
        raise ConfigError(f"record times must lie in [0, t_end={t_end}], got [{times[0]}, {times[-1]}]")
    return np.minimum(times, t_end)


def simulate(
    graph: nx.Graph | Network,
    u0: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
    quota: float = 1e-5,
    t_end: float = 1.0,
    record: np.ndarray | None = None,
    engine: str = "compiled",
    *,
    max_events: int | None = None,
    max_wall_seconds: float | None = None,
    spike_log: bool = False,
    routing: Routing | None = None,
    progress: bool | None = None,
    processes: list[Callable] | None = None,
) -> Result:
    """Simulate the C-LIF/CFQ spiking network of a cell graph, event by event.

    Each cell is a C-LIF neuron with mass ``m_i = V_i u_i``; each edge carries
    the flux ``J_ij = g_ij (u_i - u_j)``, integrates it exactly and fires a
    packet of mass ``q`` (the quota) whenever its accumulator reaches ``±q``
    (see :mod:`evsim.rule`). This integrates

    .. math:: V_i \\frac{du_i}{dt} = -\\sum_j g_{ij} (u_i - u_j) + S_i

    with error O(q) while conserving mass exactly (the integer ledger).

    Parameters
    ----------
    graph
        Cell graph (see :mod:`evsim.topologies.grids` for the attributes) or a
        network already compiled by :func:`evsim.compile_network`.
    u0
        Initial cell potentials in cell order, shape ``(N,)``, or a callable of
        the ``(N, dim)`` cell positions; default: the cells' ``potential``.
    quota
        Packet mass ``q > 0``.
    t_end
        Final time.
    record
        Sorted times in ``[0, t_end]`` at which to record the potentials (after
        every event at that time); default ``[0, t_end]``.
    engine
        A name in :data:`ENGINES`: ``"compiled"`` (numba kernel, default) or
        ``"simpy"`` (reference). Both produce the same spike sequence, bit for
        bit (the protocol an engine honours: :class:`evsim.engine.Engine`).
    max_events
        Stop after this many events (firings plus delayed arrivals).
    max_wall_seconds
        Stop after about this much wall-clock time.
    spike_log
        Keep every firing ``(time, edge, sign)`` in ``result.spike_log``.
    routing
        Optional network-on-chip routes with per-link FIFO service
        (:class:`evsim.Routing`); packets are then delayed by congestion.
    progress
        Show a tqdm progress bar on stderr; default: for runs longer than a
        second when stderr is a terminal.
    processes
        SimPy engine only: generator functions ``f(engine)`` started as SimPy
        processes, e.g. sensors sampling ``engine.potential`` at their own
        times (see :mod:`evsim.simpy_engine`). They run before the packets due
        at the same time and do not change the spike sequence.

    Returns
    -------
    Result
        Records, spike counts and the integer ledger. A run stopped by a limit
        or Ctrl-C returns what it has, with ``stop_reason`` saying why.

    Raises
    ------
    ConfigError
        A bad argument (a ``ValueError``); the message names it.
    GraphError
        An invalid graph, or a :class:`Network` whose arrays were changed into an
        invalid one (:func:`evsim.network.validate_network`); the message names it.
    """
    if isinstance(graph, Network):
        validate_network(graph)
        network = graph
    else:
        network = compile_network(graph)
    quota = _positive(quota, "quota")
    t_end = float(t_end)
    if not np.isfinite(t_end) or t_end < 0:
        raise ConfigError(f"t_end must be a finite number >= 0, got {t_end!r}")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(ENGINES)}")
    if processes and engine != "simpy":
        raise ConfigError("custom processes need engine='simpy' (the compiled kernel has no SimPy environment)")
    if max_events is not None and int(max_events) < 0:
        raise ConfigError(f"max_events must be >= 0, got {max_events!r}")
    if max_wall_seconds is not None:
        max_wall_seconds = _positive(max_wall_seconds, "max_wall_seconds")
    u0 = _initial_field(network, u0)
    times = _record_times(record, t_end)

    engine_class = ENGINES[engine]
    state = initial_state(network, u0, quota, t_end, times, routing, spike_log)
    runner: Engine = engine_class(state, processes) if processes else engine_class(state)

    budget = np.inf if max_events is None else int(max_events)
    stop_reason = "t_end"
    start = time.perf_counter()
    shown = {} if progress is None else {"disable": not progress}  # None: tqdm decides (TTY, TQDM_DISABLE)
    bar = tqdm(total=t_end, unit="t", desc=f"evsim[{engine}]", delay=1.0, leave=False, **shown,
               bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]")
    try:
        while True:
            done = int(state.cursor[1] + state.cursor[2])
            status = runner.run(int(min(engine_class.chunk, budget - done)))
            bar.update(float(state.clock[0]) - bar.n)
            if status == Status.DONE:
                break
            if state.cursor[1] + state.cursor[2] >= budget:
                stop_reason = "max_events"
                break
            if max_wall_seconds is not None and time.perf_counter() - start > max_wall_seconds:
                stop_reason = "max_wall_seconds"
                break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        bar.close()
    wall = time.perf_counter() - start

    taken = int(state.cursor[0])
    nlog = int(state.cursor[3])
    log = ({"time": state.log_time[:nlog].copy(), "edge": state.log_edge[:nlog].copy(),
            "sign": state.log_sign[:nlog].copy()} if spike_log else None)
    ncell = network.cells
    return Result(
        times=times[:taken], potential=state.record_potential[:taken],
        cell_count=state.record_count[:taken], edge_forward=state.forward,
        edge_backward=state.backward, edges=network.edges, positions=network.positions,
        final_potential=state.potential[:ncell].copy(), ledger_cells=state.count[:ncell].copy(),
        ledger_reservoirs=state.count[ncell:].copy(), in_transit=int(state.pool[1]),
        quota=quota, t_end=t_end, t_final=float(state.clock[0]), engine=engine,
        stop_reason=stop_reason, wall_seconds=wall, firings=int(state.cursor[1]),
        arrivals=int(state.cursor[2]), mass_initial=float(state.base.sum()), spike_log=log,
        network=network,
    )
