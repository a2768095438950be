"""Run a canonical problem end to end: build, simulate, score, summarize, save.

:func:`run_problem` is what ``evsim run`` does, as a function (sweeps and
experiments call it too). :func:`load_config` reads the TOML form and
:func:`check_config` checks every key's type and range, naming the key.

A run can be stopped at any time by SIGINT or SIGTERM: the simulation stops
where it is (``stop_reason == "interrupted"``), the expensive optional scores
and the figures are skipped, and the partial result and its summary are still
written. ``max_wall_seconds`` bounds the whole run, not only the simulation:
what remains after the simulation decides whether the optional scores are
computed. What was skipped, and why, is listed in the summary's ``skipped``.

A run with an output folder that stops before ``t_end`` (a limit, a signal, a
stalled clock) leaves the complete engine state in ``checkpoint.evsim`` beside its
summary; :func:`resume_run` (``evsim run --resume DIR``) continues it, bit for bit
as if it had never stopped (:func:`evsim.resume`), and rewrites the folder's
results. A run that reaches ``t_end`` removes the checkpoint it was resumed from (or a
periodic one).
"""
from __future__ import annotations

import json
import math
import numbers
import signal
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evsim import __version__
from evsim.analysis.energy import energy_by_kind
from evsim.errors import ConfigError, ResultFileError
from evsim.result import Result
from evsim.simulate import ENGINES, resume

from evsim.simulate import ORDERS

from .case import Case, make_case
from .output import CHECKPOINT, prepare_directory, write_json
from .partitioned import simulate_case, world
from .problems import get_problem

__all__ = ["run_problem", "resume_run", "saved_run", "load_config", "check_config", "CONFIG_KEYS", "OPTIONAL_SCORES"]

#: Keys accepted in a run configuration (TOML) and by :func:`run_problem`.
CONFIG_KEYS = ("problem", "cells", "quota", "t_end", "engine", "diffusivity", "initial",
               "max_events", "max_wall_seconds", "out", "provenance", "order", "tolerance")

#: Scores a run skips when its time is up or it was interrupted, by kind of
#: reference (they need the graph integrated in time; see :meth:`Case.score`).
OPTIONAL_SCORES = {"exact": ("rmse_semidiscrete", "rmse_discretization"),
                   "semi-discrete": ("rmse", "rmse_final", "rmse_semidiscrete")}


def _number(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


#: key -> (test, what is expected).
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "problem": (lambda v: isinstance(v, str) and v != "", "a problem name (a string)"),
    "cells": (lambda v: _integer(v) and v > 0, "a positive integer"),
    "quota": (lambda v: _number(v) and v > 0, "a positive finite number"),
    "t_end": (lambda v: _number(v) and v > 0, "a positive finite number"),
    "diffusivity": (lambda v: _number(v) and v > 0, "a positive finite number"),
    "engine": (lambda v: isinstance(v, str) and v in ENGINES, f"one of {sorted(ENGINES)}"),
    "initial": (lambda v: isinstance(v, str) and v != "", "a problem name (a string)"),
    "max_events": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "max_wall_seconds": (lambda v: _number(v) and v > 0, "a positive finite number of seconds"),
    "out": (lambda v: isinstance(v, (str, Path)) and str(v) != "", "a folder name (a string)"),
    "provenance": (lambda v: isinstance(v, dict), "a table"),
    "order": (lambda v: _integer(v) and v in ORDERS, f"one of {ORDERS} (the CFQ order)"),
    "tolerance": (lambda v: _number(v) and v > 0, "a positive finite number (order 2's "
                  "trajectory tolerance)"),
}


def check_config(config: dict[str, Any], source: str = "configuration",
                 partial: bool = False) -> dict[str, Any]:
    """Check every key of a run configuration; return it with numbers as floats.

    Parameters
    ----------
    config
        Keys of :data:`CONFIG_KEYS`; a value of None counts as absent.
    source
        Where the configuration comes from (a file name, ``"command line"``),
        the start of every error message.
    partial
        Part of a configuration (command-line overrides of a file): the keys that
        depend on each other (``order`` and ``tolerance``) are not checked together.

    Raises
    ------
    ConfigError
        For an unknown key, a value of the wrong type or out of range, or an
        ``initial`` that names no problem; the message names the key.
    """
    unknown = set(config) - set(CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown configuration key(s) {sorted(unknown)}; "
                          f"allowed: {list(CONFIG_KEYS)}")
    checked = {}
    for key, value in config.items():
        if value is None:
            continue
        test, expected = _RULES[key]
        if not test(value):
            raise ConfigError(f"{source}: {key} must be {expected}, got {value!r}")
        checked[key] = float(value) if key in ("quota", "t_end", "diffusivity",
                                               "max_wall_seconds", "tolerance") else value
    if checked.get("order") == 2 and "tolerance" not in checked and not partial:
        raise ConfigError(f"{source}: order = 2 needs a tolerance (the potential drift that "
                          "triggers a trajectory message, e.g. 1e-4)")
    if "tolerance" in checked and checked.get("order", 1) != 2 and not partial:
        raise ConfigError(f"{source}: tolerance is a parameter of order = 2 (order 1's "
                          "accuracy is set by the quota)")
    if "initial" in checked:
        try:
            get_problem(checked["initial"])
        except ConfigError as err:
            raise ConfigError(f"{source}: initial: {err}") from None
    return checked


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check a run configuration from a TOML file.

    Keys: ``problem`` (required), ``cells``, ``quota``, ``t_end``, ``engine``,
    ``diffusivity`` (overrides the problem's operator, e.g. a fitted one),
    ``initial`` (name of another problem whose initial condition to use),
    ``max_events``, ``max_wall_seconds``, ``out``, and a free ``[provenance]``
    table copied into ``summary.json``.

    Raises
    ------
    ResultFileError
        If the file is missing, is a directory or is not UTF-8 TOML.
    ConfigError
        If a key is unknown, missing or of the wrong type (see :func:`check_config`).
    """
    path = Path(path)
    if path.is_dir():
        raise ResultFileError(f"{path}: is a directory, not a TOML configuration file")
    if not path.exists():
        raise ResultFileError(f"{path}: no such configuration file")
    try:
        with path.open("rb") as fh:
            config = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ResultFileError(f"{path}: not a valid TOML file ({err})") from None
    except UnicodeDecodeError as err:
        raise ResultFileError(f"{path}: not a UTF-8 text file ({err.reason})") from None
    config = check_config(config, str(path), partial=True)
    if "problem" not in config:
        raise ConfigError(f"{path}: the configuration must name a 'problem'")
    return config


class _StopSignals:
    """SIGINT and SIGTERM as KeyboardInterrupt while armed; recorded once disarmed.

    While armed (set-up and simulation) a signal raises KeyboardInterrupt, which
    the simulation loop turns into a partial result. Once disarmed (scoring and
    writing) the first signal is only recorded so the files are completed; a
    second one raises. The previous handlers are restored on exit. Outside the
    main thread (where Python cannot install handlers) nothing is installed.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.armed = True
        self.received: str | None = None
        self._late = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name
        if not self.armed:
            self._late += 1
        if self.armed or self._late > 1:
            raise KeyboardInterrupt

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def run_problem(problem: str, *, cells: int | None = None, quota: float | None = None,
                t_end: float | None = None, engine: str = "compiled",
                diffusivity: float | None = None, initial: str | None = None,
                max_events: int | None = None, max_wall_seconds: float | None = None,
                out: str | Path | None = None, provenance: dict | None = None,
                plots: bool = True, progress: bool | None = None, overwrite: bool = False,
                command: Sequence[str] | None = None,
                checkpoint_every: float | None = None, order: int = 1,
                tolerance: float | None = None, ranks: int | None = None,
                parts: int | None = None,
                cut_latency: float | None = None) -> tuple[Result | None, dict | None]:
    """Simulate a canonical problem and score it against its reference.

    Parameters
    ----------
    problem
        Registered problem name (see :mod:`evsim.workflow.problems`).
    cells, quota, t_end, diffusivity
        Overrides of the problem's defaults.
    engine
        ``"compiled"`` or ``"simpy"``.
    initial
        Use the initial condition of this other problem (zero-shot runs); the
        reference is then the semi-discrete solution.
    max_events
        Event limit passed to :func:`evsim.simulate`.
    max_wall_seconds
        Wall-clock budget of the whole run: the simulation gets what the set-up
        left, and the scores that integrate the graph in time
        (:data:`OPTIONAL_SCORES`) and the figures are skipped once it is spent.
    out
        Directory for ``summary.json``, ``result.npz`` and figures (None: keep
        everything in memory). One that already holds a run is refused unless
        ``overwrite``, which removes the previous run's files first.
    provenance
        Free-form dictionary copied into the summary (e.g. distillation source).
    plots, progress
        Write figures; show a progress bar (None: when on a terminal).
    command
        The command line recorded in the summary (default ``sys.argv``).
    order, tolerance
        The CFQ order and order 2's trajectory tolerance (:func:`evsim.simulate`).
    ranks, parts, cut_latency
        With ``cut_latency`` (``L > 0``): the cut-latency model of :mod:`evsim.cut` on a
        METIS partition into ``parts`` (default ``ranks``) parts, over ``ranks`` MPI
        processes (default 1; more: this process must be one of an MPI world of that
        size, :mod:`evsim.workflow.partitioned`). Only rank 0 writes and returns the
        result and summary; the other ranks return ``(None, None)``. Order 1 only.

    Returns
    -------
    (Result, dict)
        The result and the summary (keys as in the README, plus ``records``:
        record times reached and planned; ``config``: every resolved parameter;
        ``skipped``: optional outputs not produced and why (``"max_wall_seconds"``
        or ``"interrupted"``); ``signal``: the signal received, if any;
        ``command``, ``evsim_version`` and ``created``). A run stopped before
        ``t_end`` is scored at the state where it stopped: ``rmse_final``
        compares ``final_potential`` with the reference at ``t_final``.

    Raises
    ------
    ConfigError
        For a bad parameter (naming it) or an ``out`` that is a file or holds
        a run (without ``overwrite``).
    KeyboardInterrupt
        If interrupted before the simulation started (nothing is written).
    """
    start = time.perf_counter()
    check_config({"problem": problem, "cells": cells, "quota": quota, "t_end": t_end,
                  "engine": engine, "diffusivity": diffusivity, "initial": initial,
                  "max_events": max_events, "max_wall_seconds": max_wall_seconds, "out": out,
                  "provenance": provenance, "order": order, "tolerance": tolerance}, "run_problem")
    with _StopSignals() as stop:
        case = make_case(problem, cells=cells, diffusivity=diffusivity, t_end=t_end,
                         quota=quota, initial=initial)
        if order != 1 and not (cut_latency is None and ranks is None and parts is None):
            raise ConfigError("the cut-latency model (cut_latency, ranks, parts) runs order 1 only")
        cut = None if cut_latency is None and ranks is None and parts is None else _cut_run(
            ranks, parts, cut_latency, engine, max_events, max_wall_seconds)
        comm = None if cut is None else cut["comm"]
        failure = None
        if comm is None or comm.rank == 0:
            try:
                out = None if out is None else prepare_directory(out, overwrite)
            except ConfigError as err:
                failure = err
        if comm is not None:  # every rank stops on rank 0's error, none waits for it
            failure = comm.bcast(failure, root=0)
        if failure is not None:
            raise failure
        if comm is not None and comm.rank != 0:
            simulate_case(case, cut["parts"], cut_latency, comm)
            return None, None
        budget = None
        if max_wall_seconds is not None:
            budget = max(max_wall_seconds - (time.perf_counter() - start), 1e-9)
        keep = {} if out is None else {"checkpoint": out / CHECKPOINT,
                                        "checkpoint_every": checkpoint_every}
        if cut is not None:
            result = simulate_case(case, cut["parts"], cut_latency, cut["comm"])
        else:
            result = case.simulate(engine=engine, max_events=max_events, max_wall_seconds=budget,
                                   progress=progress, order=order, tolerance=tolerance, **keep)
        stop.armed = False
        config = {"problem": problem, "cells": case.cells, "quota": case.quota,
                  "t_end": case.t_end, "diffusivity": case.diffusivity, "engine": engine,
                  "initial": initial, "max_events": max_events,
                  "max_wall_seconds": max_wall_seconds, "out": None if out is None else str(out),
                  "plots": plots, "order": order, "tolerance": tolerance}
        if cut is not None:
            config.update(ranks=cut["ranks"], parts=cut["parts"], cut_latency=cut_latency,
                          cut_edges=result.metadata["cut_edges"])
        summary = _finish(case, result, stop, start, max_wall_seconds, config, out, command,
                          provenance)
    return result, summary


def _cut_run(ranks, parts, cut_latency, engine, max_events, max_wall_seconds) -> dict:
    """The checked options of a run under the cut-latency model: ranks, parts and the
    MPI communicator (``None`` for one rank)."""
    if cut_latency is None:
        raise ConfigError("--ranks and --parts need --cut-latency L (the latency model of the cut)")
    if not _number(cut_latency) or cut_latency <= 0:
        raise ConfigError(f"cut_latency must be a positive finite number, got {cut_latency!r}")
    ranks = 1 if ranks is None else ranks
    for name, value in (("ranks", ranks), ("parts", parts)):
        if value is not None and not (_integer(value) and value >= 1):
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    parts = ranks if parts is None else parts
    if ranks not in (1, parts):
        raise ConfigError(f"ranks = {ranks} must be 1 or the number of parts ({parts})")
    for name, value in (("engine", engine != "compiled"), ("max_events", max_events is not None),
                        ("max_wall_seconds", max_wall_seconds is not None)):
        if value:
            raise ConfigError(f"{name} is not available with cut_latency (the cut-latency model "
                              "runs the compiled kernel to t_end)")
    comm = None
    if ranks > 1:
        comm = world()
        if comm is None or comm.size != ranks:
            raise ConfigError(f"ranks = {ranks} needs an MPI world of {ranks} processes "
                              f"(mpiexec -n {ranks} ...; `evsim run` starts it itself)")
    return {"ranks": ranks, "parts": parts, "comm": comm}


def resume_run(directory: str | Path, *, max_events: int | None = None,
               max_wall_seconds: float | None = None, progress: bool | None = None,
               command: Sequence[str] | None = None,
               checkpoint_every: float | None = None) -> tuple[Result, dict]:
    """Continue the stopped run in ``directory`` from its checkpoint (``evsim run --resume``).

    The case is set up again from the folder's ``summary.json`` (its ``config``),
    the simulation continues from ``checkpoint.evsim`` (:func:`evsim.resume`: the
    same spikes and bits as an uninterrupted run), and the folder's result,
    summary and figures are rewritten.

    Parameters
    ----------
    directory
        A folder written by :func:`run_problem` whose run stopped before ``t_end``.
    max_events, max_wall_seconds
        Limits of the continued run (``max_events`` counts from t = 0, as in
        :func:`evsim.resume`; ``max_wall_seconds`` from now).

    Raises
    ------
    ResultFileError
        If the folder holds no summary or no checkpoint (e.g. the run had finished).
    """
    start = time.perf_counter()
    out = Path(directory)
    ckpt = out / CHECKPOINT
    with _StopSignals() as stop:
        saved, case = saved_run(out)
        if not ckpt.is_file():
            raise ResultFileError(f"{out}: no {CHECKPOINT} to resume from (the run finished, or "
                                  "was written without an output folder)")
        config = dict(saved["config"])
        result = resume(ckpt, max_events=max_events, max_wall_seconds=max_wall_seconds,
                        progress=progress, checkpoint_every=checkpoint_every)
        stop.armed = False
        config.update(max_events=max_events, max_wall_seconds=max_wall_seconds, resumed=True)
        summary = _finish(case, result, stop, start, max_wall_seconds, config, out, command,
                          saved.get("provenance"))
    return result, summary


def saved_run(directory: str | Path, cells: int | None = None) -> tuple[dict, Case]:
    """The summary of the run in ``directory`` and its case, set up again from the
    summary's ``config`` (every resolved parameter of the run).

    Parameters
    ----------
    directory
        A folder written by :func:`run_problem`.
    cells
        Another resolution to set the case up at (default: the run's own).

    Raises
    ------
    ResultFileError
        If the folder holds no readable ``summary.json`` with a ``config``.
    ConfigError
        If a parameter of the configuration is invalid (naming it), or the case
        does not have the run's number of cells.
    """
    out = Path(directory)
    try:
        summary = json.loads((out / "summary.json").read_text())
        config = summary["config"]
        check_config({k: config.get(k) for k in ("problem", "cells", "quota", "t_end",
                                                 "diffusivity", "engine", "initial")}, str(out))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ResultFileError(f"{out}: no readable summary.json with a 'config' of the run "
                              f"({type(err).__name__}: {err})") from None
    case = make_case(config["problem"], cells=config["cells"] if cells is None else cells,
                     quota=config["quota"], t_end=config["t_end"],
                     diffusivity=config["diffusivity"], initial=config.get("initial"))
    if case.u0.size != summary.get("cells", case.u0.size):
        raise ConfigError(f"{out}: cells = {case.cells} gives {case.u0.size} cells, the run has "
                          f"{summary['cells']}; pass --cells RESOLUTION")
    return summary, case


def _finish(case: Case, result: Result, stop: _StopSignals, start: float,
            max_wall_seconds: float | None, config: dict, out: Path | None,
            command: Sequence[str] | None, provenance: dict | None = None) -> dict:
    """Score a run, build its summary, write result, figures and summary into ``out``."""
    reason = None
    if stop.received is not None or result.stop_reason == "interrupted":
        reason = "interrupted"
    elif max_wall_seconds is not None and time.perf_counter() - start >= max_wall_seconds:
        reason = "max_wall_seconds"
    scores = case.score(result, semidiscrete=reason is None)
    skipped = {k: reason for k in OPTIONAL_SCORES[case.reference_kind] if reason is not None}
    problem = config["problem"]
    summary = _summary(problem, case, result, scores, config["engine"])
    summary.update(skipped=skipped, config=config,
                   command=list(sys.argv if command is None else command),
                   evsim_version=__version__,
                   created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    if config.get("initial") is not None:
        summary["initial"] = config["initial"]
    if provenance:
        summary["provenance"] = provenance
    if stop.received is not None:
        summary["signal"] = stop.received
    if out is not None:
        result.save(out / "result.npz")
        if result.stop_reason == "t_end":
            (out / CHECKPOINT).unlink(missing_ok=True)
        elif (out / CHECKPOINT).is_file():
            summary["checkpoint"] = CHECKPOINT
        if config.get("plots", True) and reason is None:
            summary["figures"] = _figures(case, result, out, problem)
        elif config.get("plots", True):
            skipped["figures"] = reason
        write_json(out / "summary.json", summary)
    return summary


def _summary(problem: str, case: Case, result: Result, scores: dict, engine: str) -> dict:
    summary: dict[str, Any] = {
        "problem": problem, "cells": result.network.cells, "edges": result.network.size,
        "quota": case.quota, "t_end": case.t_end, "engine": engine, "spikes": result.spikes,
        "rmse": scores["rmse"], "rmse_final": scores["rmse_final"], "records": scores["records"],
        "reference": scores["reference"],
        "ledger_residual": result.ledger.residual, "mass_initial": result.mass_initial,
        "mass_final": result.mass_final, "boundary_mass": result.boundary_mass,
        "in_transit": result.in_transit, "wall_seconds": result.wall_seconds,
        "events_per_second": result.events_per_second, "stop_reason": result.stop_reason,
        "t_final": result.t_final, "diffusivity": case.diffusivity,
        "order": result.order, "tolerance": result.metadata.get("tolerance"),
        "events": result.events, "event_bits": result.event_bits,
        # every message kind with its payload, costed on the asynchronous Loihi profile (J)
        "energy_by_kind": {"profile": "loihi", **energy_by_kind(result, "loihi")},
    }
    summary.update({k: v for k, v in scores.items() if k not in summary})
    return summary


def _figures(case: Case, result: Result, out: Path, title: str) -> list[str]:
    from evsim.analysis.plots import plot_run

    ref = case.reference(result.times)
    figures = plot_run(result, ref, case.graph, out, title=title,
                       reference_kind=case.reference_kind)
    if "simplices" in case.graph.graph:  # irregular mesh: fields and spikes on the mesh itself
        from evsim.analysis.meshplot import plot_mesh_result

        figures += plot_mesh_result(case.graph, result, out, ref,
                                    reference_kind=case.reference_kind)
    return [p.name for p in figures]
