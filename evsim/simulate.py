"""``evsim.simulate``: the one entry point that runs a PISNN on a cell graph."""
from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
from tqdm.auto import tqdm

from .checkpoint import CheckpointWarning, Run, load_checkpoint, save_checkpoint
from .checks import StallWarning, check_scales, shift_network, stall_message, stalled
from .control import Controller
from .engine import Engine, EngineRegistry, Status
from .errors import ConfigError
from .monitors import Monitor, Schedule
from .network import Network, as_network
from .result import Result
from .routing import Routing
from .state import initial_state
from .trajectory_state import trajectory_state

__all__ = ["simulate", "resume", "ENGINES", "ENGINES_ORDER2", "ORDERS"]

#: Engine name -> engine class (an :class:`evsim.engine.Engine`), imported when first used.
ENGINES = EngineRegistry({"compiled": "evsim.kernel:CompiledEngine",
                          "simpy": "evsim.simpy_engine:SimPyEngine"})
#: The engines of order 2 (:mod:`evsim.trajectory`), by the same names.
ENGINES_ORDER2 = EngineRegistry({"compiled": "evsim.trajectory_kernel:TrajectoryCompiledEngine",
                                 "simpy": "evsim.trajectory_simpy:TrajectorySimPyEngine"})
#: The orders of the CFQ rule: 1, the paper's (:mod:`evsim.rule`); 2, trajectory CFQ.
ORDERS = (1, 2)


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
    checkpoint: str | Path | None = None,
    checkpoint_every: int | float | None = None,
    monitors: list[Monitor] | None = None,
    order: int = 1,
    tolerance: float | None = None,
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
    checkpoint
        A file to write the complete engine state to (:mod:`evsim.checkpoint`,
        atomically), between chunks of events every ``checkpoint_every`` and
        when the run stops before ``t_end`` (a run that is complete has nothing
        to continue and writes none at its end); :func:`resume` continues it,
        bit for bit.
    checkpoint_every
        An ``int``: checkpoint after at least this many events; a ``float``:
        after at least this many wall-clock seconds. Default: only at the stop.
    monitors
        Monitors (:mod:`evsim.monitors`: ``StateMonitor``, ``RateMonitor``,
        ``SpikeMonitor``, ``Callback``) and controllers (:mod:`evsim.control`), on
        either engine: the run is cut into time segments ending at their times and
        they observe (or, controllers, act on) the state in between; monitors never
        change the spike sequence. What they record is in ``result.monitors``.
    order
        ``1`` (default): the paper's rule, error ``O(q)``. ``2``: trajectory CFQ
        (:mod:`evsim.trajectory`): each cell also broadcasts a line (value and
        slope) when its potential drifts ``tolerance`` from it; the error is
        ``O(tolerance)`` whatever the quota, which then only sets the packet
        traffic; mass still moves only in packets of ``q`` and the ledger is exact.
        ``result.events`` counts the messages of each kind. Not with ``routing``.
    tolerance
        Order 2 only, and required there: the drift ``delta`` of a cell's
        potential from its broadcast line that triggers a trajectory message.

    Returns
    -------
    Result
        Records, spike counts and the integer ledger. A run stopped by a limit,
        Ctrl-C or a stalled clock returns what it has, with ``stop_reason``
        saying why (``"stalled"``: the clock stopped advancing,
        :func:`evsim.checks.stalled`; a :class:`evsim.checks.StallWarning`
        names the cause and the edge). The ledger is exact in every case.

    Potentials so far from zero that a packet is below their float resolution
    (:func:`evsim.checks.check_scales`) are simulated with an exact constant
    offset taken out and added back to the fields (``metadata["potential_offset"]``),
    when one exists; otherwise a :class:`evsim.checks.ScaleWarning` says the fix.

    Raises
    ------
    ConfigError
        A bad argument (a ``ValueError``); the message names it, e.g. a
        subnormal quota.
    GraphError
        An invalid graph, or a :class:`Network` whose arrays were changed into an
        invalid one (:func:`evsim.network.validate_network`), or scales that
        overflow (:func:`evsim.checks.check_scales`); the message names it.
    """
    network = as_network(graph)
    quota = _positive(quota, "quota")
    order = _order(order, tolerance, routing)
    t_end = float(t_end)
    if not np.isfinite(t_end) or t_end < 0:
        raise ConfigError(f"t_end must be a finite number >= 0, got {t_end!r}")
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {sorted(ENGINES)}")
    if processes and engine != "simpy":
        raise ConfigError("custom processes need engine='simpy' (the compiled kernel has no SimPy environment)")
    if processes and monitors:
        raise ConfigError("processes and monitors cannot be combined (the engine is rebuilt at "
                          "every monitor time); use an evsim.monitors.Callback instead")
    if max_events is not None and int(max_events) < 0:
        raise ConfigError(f"max_events must be >= 0, got {max_events!r}")
    if max_wall_seconds is not None:
        max_wall_seconds = _positive(max_wall_seconds, "max_wall_seconds")
    u0 = _initial_field(network, u0)
    times = _record_times(record, t_end)
    every = _checkpoint_every(checkpoint, checkpoint_every)
    offset = check_scales(network, u0, quota, order)
    run = Run(engine=engine, quota=quota, t_end=t_end, times=times, spike_log=spike_log,
              offset=offset, order=order, tolerance=tolerance)
    shifted = shift_network(network, offset) if offset else network
    log = spike_log or bool(monitors and Schedule.needs_log(monitors))
    if order == 1:
        state = initial_state(shifted, u0 - offset, quota, t_end, times, routing, log)
    else:
        if monitors and any(isinstance(m, Controller) for m in monitors):
            raise ConfigError("controllers (evsim.control: retuning reservoirs or conductances, "
                              "sensor correction) act on order-1 runs only; monitors work at both "
                              "orders")
        state = trajectory_state(shifted, u0 - offset, quota, _positive(tolerance, "tolerance"),
                                 t_end, times, log)
    schedule = (Schedule(monitors, network, state, t_end,
                         (ENGINES if order == 1 else ENGINES_ORDER2)[engine], offset)
                if monitors else None)
    if schedule is not None and checkpoint is not None:
        schedule.checkpointable = _checkpointable(schedule.monitors)
    if processes and checkpoint is not None:
        warnings.warn("SimPy processes are not part of a checkpoint: a resumed run continues "
                      "without them (an evsim.monitors.Callback would resume)",
                      CheckpointWarning, stacklevel=2)
    return _drive(run, network, state, processes, max_events, max_wall_seconds, progress,
                  checkpoint, every, schedule)


def resume(
    path: str | Path,
    *,
    max_events: int | None = None,
    max_wall_seconds: float | None = None,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | float | None = None,
) -> Result:
    """Continue a run from a checkpoint written by :func:`simulate` (or by ``resume``).

    The run continues exactly where the checkpoint was taken: the result, every
    record, spike count, ledger entry and spike-log entry, is bit-identical to
    that of the same run without the interruption, on both engines (the state
    between two chunks of events is complete: :mod:`evsim.engine`). The SimPy
    engine's user ``processes`` are not part of a checkpoint and do not resume; monitors
    and controllers are, and continue (:mod:`evsim.monitors`), unless a monitor could not
    be pickled (a :class:`CheckpointWarning` said so when the run started).

    Parameters
    ----------
    path
        A checkpoint file (:mod:`evsim.checkpoint`). Only open checkpoints you
        wrote: the file holds pickled node labels.
    max_events
        Stop once the run (counted from ``t = 0``, the events before the
        checkpoint included) has processed this many events.
    max_wall_seconds
        Stop after about this much wall-clock time of this call.
    progress
        As for :func:`simulate`.
    checkpoint
        Where to keep checkpointing; default ``path`` itself.
    checkpoint_every
        As for :func:`simulate`; default: only when the run stops.

    Returns
    -------
    Result
        As :func:`simulate` returns it; ``wall_seconds`` is this call's time.

    Raises
    ------
    ResultFileError
        The file is not a readable checkpoint of this evsim version.
    """
    run, network, state, monitors = load_checkpoint(path)
    checkpoint = path if checkpoint is None else checkpoint
    schedule = None
    if monitors is not None:
        schedule = Schedule.restore(monitors, network, state, run.t_end,
                                    (ENGINES if run.order == 1 else ENGINES_ORDER2)[run.engine],
                                    run.offset)
    return _drive(run, network, state, None, max_events,
                  None if max_wall_seconds is None else _positive(max_wall_seconds, "max_wall_seconds"),
                  progress, checkpoint, _checkpoint_every(checkpoint, checkpoint_every), schedule)


def _checkpointable(monitors) -> bool:
    """Whether a checkpoint can keep ``monitors`` (they pickle). Controllers must: a run
    resumed without them would follow other physics. Plain monitors need not: a warning
    says that the resumed run will not have them."""
    import pickle

    for m in monitors:
        try:
            pickle.dumps(m)
        except Exception as exc:      # lambdas, open files, ...: anything pickle refuses
            what = (f"monitor {m.name!r} cannot be kept in a checkpoint ({type(exc).__name__}: "
                    f"{exc}); give it a module-level function")
            if isinstance(m, Controller):
                raise ConfigError(f"{what}: a controller changes the run, which could not "
                                  "resume without it") from None
            warnings.warn(f"{what}; the checkpoints of this run resume without its monitors",
                          CheckpointWarning, stacklevel=4)
            return False
    return True


def _order(order, tolerance, routing) -> int:
    """``order`` checked against ``tolerance`` and ``routing``."""
    if isinstance(order, (bool, np.bool_)) or order not in ORDERS:
        raise ConfigError(f"order must be one of {ORDERS}, got {order!r}")
    order = int(order)
    if order == 1 and tolerance is not None:
        raise ConfigError("tolerance is a parameter of order=2 (order 1's accuracy is set by "
                          "the quota)")
    if order == 2:
        if tolerance is None:
            raise ConfigError("order=2 needs tolerance= (the potential drift that triggers a "
                              "trajectory message, e.g. 1e-4); the quota is then the packet "
                              "mass and does not set the accuracy")
        if routing is not None:
            raise ConfigError("routing (network-on-chip congestion) is modelled at order=1 only")
    return order


def _checkpoint_every(checkpoint, every) -> int | float | None:
    """``checkpoint_every`` checked: events (an int >= 1) or wall seconds (a float > 0)."""
    if every is None:
        return None
    if checkpoint is None:
        raise ConfigError("checkpoint_every needs a checkpoint path")
    if isinstance(every, (bool, np.bool_)) or not isinstance(every, (int, np.integer, float)):
        raise ConfigError(f"checkpoint_every must be an int (events) or a float (seconds), got {every!r}")
    if isinstance(every, (int, np.integer)):
        if every < 1:
            raise ConfigError(f"checkpoint_every must be >= 1 events, got {every!r}")
        return int(every)
    return _positive(every, "checkpoint_every")


def _drive(run: Run, network: Network, state, processes, max_events, max_wall_seconds,
           progress, checkpoint, every, schedule: Schedule | None = None) -> Result:
    """Advance ``state`` chunk by chunk until done, a limit, a stalled clock or Ctrl-C;
    write checkpoints between chunks; build the :class:`Result`. With a ``schedule``
    (monitors), ``state.t_end`` is a segment's end and the monitors run between segments."""
    engine_class = (ENGINES if run.order == 1 else ENGINES_ORDER2)[run.engine]
    runner: Engine = engine_class(state, processes) if processes else engine_class(state)

    def events() -> int:
        return state.processed

    def save() -> None:
        runner.flush()
        kept = schedule.snapshot() if schedule is not None and schedule.checkpointable else None
        save_checkpoint(checkpoint, run, network, dataclasses.replace(state, t_end=run.t_end), kept)

    budget = np.inf if max_events is None else int(max_events)
    stop_reason = "t_end"
    start = time.perf_counter()
    saved_at = (events(), start)
    t_end = run.t_end
    # progress None: a bar only when stderr is a terminal (tqdm's disable=None), unless the
    # user's TQDM_DISABLE says otherwise (tqdm reads it only for arguments not passed)
    shown = ({"disable": not progress} if progress is not None
             else {} if "TQDM_DISABLE" in os.environ else {"disable": None})
    bar = tqdm(total=t_end, unit="t", desc=f"evsim[{run.engine}]", delay=1.0, leave=False, **shown,
               bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]")
    try:
        while True:
            done, before = events(), float(state.clock[0])
            status = runner.run(int(min(engine_class.chunk, max(budget - done, 0))))
            now = float(state.clock[0])
            bar.update(now - bar.n if np.isfinite(now) else 0.0)
            if status == Status.DONE:
                following = schedule.next_segment(runner) if schedule else None
                if following is None:
                    break
                runner = following
                continue
            if stalled(before, now, events() - done, t_end):
                stop_reason = "stalled"
                runner.flush()   # the next event's slot, in the state's winner tree
                slot, due = int(state.queue[1]["slot"]), float(state.queue[1]["time"])
                warnings.warn(stall_message(network, state.potential, state.rate, slot, due,
                                            run.quota) if run.order == 1 else
                              f"the clock stopped advancing at t = {due!r} (order-2 slot {slot})",
                              StallWarning, stacklevel=3)
                break
            if events() >= budget:
                stop_reason = "max_events"
                break
            if max_wall_seconds is not None and time.perf_counter() - start > max_wall_seconds:
                stop_reason = "max_wall_seconds"
                break
            if every is not None and (events() - saved_at[0] >= every if isinstance(every, int)
                                      else time.perf_counter() - saved_at[1] >= every):
                save()
                saved_at = (events(), time.perf_counter())
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        bar.close()
    wall = time.perf_counter() - start
    if checkpoint is not None and stop_reason != "t_end" and (
            stop_reason != "interrupted" or runner.consistent_on_interrupt):
        save()
    result = _result(run, network, state, stop_reason, wall)
    if schedule:
        result.monitors = schedule.finish(result.t_final)
    return result


def _result(run: Run, network: Network, state, stop_reason: str, wall: float) -> Result:
    """The :class:`Result` of a run from its state (the offset added back to the fields)."""
    taken = int(state.cursor[0])
    nlog = int(state.cursor[3])
    log = ({"time": state.log_time[:nlog].copy(), "edge": state.log_edge[:nlog].copy(),
            "sign": state.log_sign[:nlog].copy()} if run.spike_log else None)
    ncell = network.cells
    potential, final, mass = (state.record_potential[:taken], state.potential[:ncell].copy(),
                              float(state.base.sum()))
    c = run.offset
    if c:  # only then: -0.0 + 0.0 would be +0.0
        potential, final, mass = potential + c, final + c, mass + c * float(network.volume.sum())
    metadata = {"potential_offset": c} if c else {}
    if run.order == 2:
        metadata.update(order=2, tolerance=run.tolerance, theta=float(state.theta),
                        trajectory_updates=int(state.counters[0]),
                        trajectory_messages=int(state.counters[1]))
    return Result(
        times=run.times[:taken], potential=potential,
        cell_count=state.record_count[:taken], edge_forward=state.forward,
        edge_backward=state.backward, edges=network.edges, positions=network.positions,
        final_potential=final, ledger_cells=state.count[:ncell].copy(),
        ledger_reservoirs=state.count[ncell:].copy(), in_transit=int(state.pool[1]),
        quota=run.quota, t_end=run.t_end, t_final=float(state.clock[0]), engine=run.engine,
        stop_reason=stop_reason, wall_seconds=wall, firings=int(state.cursor[1]),
        arrivals=int(state.cursor[2]), mass_initial=mass,
        spike_log=log, network=network, metadata=metadata,
    )
