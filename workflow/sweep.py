"""Parallel parameter sweeps of canonical problems and their Pareto frontier.

A sweep runs one simulation per point of the Cartesian product of the quotas
and of every override given as a list (``cells``, ``t_end``, ``diffusivity``,
``engine``, ``mesh``, ``mapping``, ``hop_latency``, ``bandwidth``), each set up
and scored as a :class:`~evsim.workflow.case.Case` and costed on the energy
profiles (default :data:`~evsim.analysis.energy.PROFILE_NAMES`). Points run
through any :class:`concurrent.futures.Executor` (a process pool by default);
a ``dask.distributed.Client`` plugs in as the executor (its
``get_executor()`` is used); ``evsim sweep --dask`` imports dask only then,
through :func:`evsim.optional.require`.

A point ``i`` is on the Pareto frontier when no other point ``j`` is at least as
good in every objective and better in one:

.. math:: \\nexists j:\\ f_k(j) \\le f_k(i)\\ \\forall k \\ \\wedge\\ \\exists k: f_k(j) < f_k(i),

with objectives ``(RMSE, messages, energy)`` (messages of every kind, the packets at order 1;
energy on the first profile).
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from evsim.analysis.energy import PROFILE_NAMES, energy, event_counts, get_profile
from evsim.analysis.mapping import CoreMesh, map_cells, traffic, with_noc_timing
from evsim.errors import ConfigError
from evsim.optional import require

from .case import make_case
from .output import (add_output_options, prepare_directory, reserved_directory, write_csv,
                     write_json)
from .problems import get_problem
from .report import write_report

__all__ = ["run_point", "plan_sweep", "run_sweep", "pareto_front", "parse_mesh", "add_arguments",
           "main", "SWEEPABLE"]

#: Parameters a sweep can vary besides the quota.
SWEEPABLE = ("cells", "t_end", "diffusivity", "engine", "mesh", "mapping", "hop_latency",
             "bandwidth", "max_events", "order", "tolerance")


def parse_mesh(mesh: str | Sequence[int] | None) -> tuple[int, int] | None:
    """``"4x4"``, ``(4, 4)`` or ``None`` -> ``(width, height)`` or None.

    Raises
    ------
    ConfigError
        For a malformed string or a dimension below 1.
    """
    if mesh is None or mesh == "" or mesh == "none":
        return None
    if isinstance(mesh, str):
        parts = mesh.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ConfigError(f"mesh must look like '4x4', got {mesh!r}")
        w, h = (int(p) for p in parts)
    else:
        w, h = (int(v) for v in mesh)
    if w < 1 or h < 1:
        raise ConfigError(f"mesh dimensions must be >= 1, got {mesh!r}")
    return w, h


def run_point(problem: str, quota: float, cells: int | None = None, t_end: float | None = None,
              diffusivity: float | None = None, engine: str = "compiled",
              mesh: str | Sequence[int] | None = None, mapping: str = "blocks",
              hop_latency: float = 0.0, bandwidth: float = math.inf,
              profiles: Sequence[str] = PROFILE_NAMES,
              max_events: int | None = None, order: int = 1,
              tolerance: float | None = None) -> dict[str, Any]:
    """Simulate one sweep point and score it (at CFQ ``order`` 1 or 2, order 2 with its
    trajectory ``tolerance``: :func:`evsim.simulate`).

    The run is the :class:`~evsim.workflow.case.Case` of ``problem`` with the
    given overrides, scored by :meth:`Case.score <evsim.workflow.case.Case.score>`
    (against the exact solution at the case's diffusivity where the problem has
    one). With a ``mesh`` (``"WxH"`` cores, capacity ``ceil(N / (W H))``) the
    cells are mapped (``mapping`` = ``"blocks"`` | ``"partition"``); NoC hops
    enter the energy, ``hop_latency > 0`` sets the edge latency
    ``tau_e = h_e t_hop`` and a finite ``bandwidth`` (packets per unit time per
    link) adds FIFO congestion (:func:`evsim.analysis.mapping.with_noc_timing`).

    Returns
    -------
    dict
        ``quota``, the parameters, ``spikes``, ``rmse`` (vs the case's
        reference over all record times), ``reference`` (``"exact"`` or
        ``"semi-discrete"``, what ``rmse`` is against), ``rmse_final``,
        ``rmse_semidiscrete`` (quantization error alone), ``ledger_residual``,
        ``in_transit``, ``stop_reason``, ``wall_seconds``, ``worker_pid``
        (process that ran it), ``energy_<profile>`` (J) and, with a mesh,
        ``hops_per_packet`` and ``busiest_link_packets``. A run stopped before
        ``t_end`` (``max_events``) is scored at the state where it stopped:
        ``rmse_final`` compares ``final_potential`` with the reference at
        ``t_final``.

    Raises
    ------
    ConfigError
        For a bad quota or override, or timing effects without a mesh.
    """
    case = make_case(problem, cells=cells, diffusivity=diffusivity, t_end=t_end, quota=quota)
    wh = parse_mesh(mesh)
    hop_latency = float(hop_latency)
    bandwidth = float(bandwidth)
    if (hop_latency > 0 or math.isfinite(bandwidth)) and wh is None:
        raise ConfigError("hop_latency and bandwidth need a core mesh (mesh='WxH')")
    mp = routing = None
    graph = case.graph
    if wh is not None:
        mp = map_cells(case.graph, CoreMesh(wh[0], wh[1], math.ceil(len(case.x) / (wh[0] * wh[1]))),
                       mapping)
        graph, routing = with_noc_timing(case.graph, mp, hop_latency, bandwidth)
    r = case.simulate(graph=graph, engine=engine, routing=routing, max_events=max_events,
                      progress=False, order=order, tolerance=tolerance)
    scores = case.score(r)
    counts = event_counts(r, mp)
    row: dict[str, Any] = {
        "problem": problem, "quota": case.quota, "cells": case.cells, "t_end": case.t_end,
        "diffusivity": case.diffusivity, "engine": engine,
        "mesh": None if wh is None else f"{wh[0]}x{wh[1]}",
        "mapping": mapping if wh is not None else None, "hop_latency": hop_latency,
        "bandwidth": bandwidth, "order": r.order, "tolerance": tolerance,
        "events": r.events, "messages": int(sum(r.events.values())), "spikes": int(r.spikes),
        "rmse": scores["rmse"],
        "rmse_final": scores["rmse_final"], "rmse_semidiscrete": scores["rmse_semidiscrete"],
        "reference": scores["reference"],
        "ledger_residual": int(r.ledger.residual),
        "in_transit": int(r.in_transit), "stop_reason": r.stop_reason,
        "wall_seconds": float(r.wall_seconds), "worker_pid": os.getpid(),
    }
    for p in profiles:
        row[f"energy_{p}"] = energy(counts, p).total
    if mp is not None:
        t = traffic(r, mp)
        row["hops_per_packet"] = t.hops_per_packet
        row["busiest_link_packets"] = t.busiest_link()["packets"]
    return row


def pareto_front(points: list[dict],
                 keys: Sequence[str] = ("rmse", "spikes", f"energy_{PROFILE_NAMES[0]}")) -> list[int]:
    """Indices of the non-dominated points (all ``keys`` minimized), in input order.

    The default objectives are RMSE, spikes and the energy on the first profile.
    """
    vals = np.array([[float(p[k]) for k in keys] for p in points], dtype=float).reshape(len(points), len(keys))
    front = []
    for i, v in enumerate(vals):
        dominated = np.any(np.all(vals <= v, axis=1) & np.any(vals < v, axis=1))
        if not dominated:
            front.append(i)
    return front


def _resolve_executor(executor: Any, n_tasks: int, max_workers: int | None) -> tuple[Any, bool, str]:
    """``(executor, owned, label)``: a dask Client becomes its ``get_executor()``."""
    if executor is None:
        workers = max_workers or min(2, os.cpu_count() or 1, max(n_tasks, 1))
        return ProcessPoolExecutor(max_workers=workers), True, f"ProcessPoolExecutor({workers})"
    if hasattr(executor, "get_executor") and not isinstance(executor, Executor):
        return executor.get_executor(), False, f"dask:{type(executor).__name__}"
    if not hasattr(executor, "submit"):
        raise TypeError("executor must be a concurrent.futures.Executor or a dask.distributed.Client")
    return executor, False, type(executor).__name__


def plan_sweep(problem: str, quotas: float | Sequence[float], max_workers: int | None = None,
               profiles: Sequence[str] = PROFILE_NAMES,
               **overrides: Any) -> tuple[list[float], dict, dict, list[tuple[float, dict]]]:
    """Check a sweep's arguments and list its points, before anything runs.

    Returns
    -------
    (quotas, swept, fixed, tasks)
        The quotas as floats, the swept and the fixed overrides, and one
        ``(quota, parameters)`` per point in task order.

    Raises
    ------
    ConfigError
        For bad quotas, an unknown parameter, problem, profile or mesh, or a
        ``max_workers`` below 1. (Bad values of the other parameters fail their
        points only; see :func:`run_sweep`.)
    """
    given = quotas
    try:
        quotas = [float(q) for q in np.atleast_1d(given)]
    except (TypeError, ValueError):
        quotas = []
    if not quotas or any(not (math.isfinite(q) and q > 0) for q in quotas):
        raise ConfigError(f"quotas must be a non-empty list of positive finite numbers, "
                          f"got {given!r}")
    unknown = set(overrides) - set(SWEEPABLE)
    if unknown:
        raise ConfigError(f"unknown sweep parameter(s) {sorted(unknown)}; sweepable: {SWEEPABLE}")
    if max_workers is not None and (isinstance(max_workers, bool)
                                    or not isinstance(max_workers, int) or max_workers < 1):
        raise ConfigError(f"workers must be a positive integer, got {max_workers!r}")
    get_problem(problem)  # fail early on a bad name, profile or mesh
    for name in profiles:
        get_profile(name)
    # a list is swept; so is a tuple, except for mesh, where (W, H) is one mesh
    swept = {k: list(v) for k, v in overrides.items()
             if isinstance(v, list) or (isinstance(v, tuple) and k != "mesh")}
    fixed = {k: v for k, v in overrides.items() if k not in swept}
    for mesh in swept.get("mesh", [fixed.get("mesh")]):
        parse_mesh(mesh)
    tasks = []
    for combo in itertools.product(quotas, *swept.values()):
        params = dict(fixed, **dict(zip(swept, combo[1:])))
        tasks.append((combo[0], params))
    return quotas, swept, fixed, tasks


def run_sweep(problem: str, quotas: float | Sequence[float], out: str | Path | None,
              executor: Any = None, max_workers: int | None = None,
              profiles: Sequence[str] = PROFILE_NAMES, plot: bool = True,
              overwrite: bool = False, **overrides: Any) -> dict[str, Any]:
    """Sweep ``quotas`` (and every list-valued override) of ``problem`` in parallel.

    A point that fails (a bad override, a crashed worker) does not stop the
    sweep: it is listed in ``failed`` with its parameters and error, and every
    other point is kept. ``sweep.json`` and ``sweep.csv`` are rewritten
    (atomically) as each point finishes, so a sweep killed half-way leaves its
    finished points on disk (``complete`` is false until the last one).

    Parameters
    ----------
    problem
        Canonical problem name.
    quotas
        Quotas to run (at least one).
    out
        Directory for ``sweep.json``, ``sweep.csv`` and ``pareto.png`` (None:
        nothing written). One that already holds a run or sweep is refused
        unless ``overwrite`` (see :func:`evsim.workflow.output.prepare_directory`).
    executor
        A :class:`concurrent.futures.Executor`, a ``dask.distributed.Client``
        or None (a process pool of ``max_workers`` workers, default
        ``min(2, cpus, points)``).
    profiles
        Energy profiles; the first is the energy objective of the frontier.
    overrides
        Parameters of :func:`run_point` (see :data:`SWEEPABLE`); a list or tuple
        is swept, a scalar is fixed.

    Returns
    -------
    dict
        ``problem``, ``points`` (rows of :func:`run_point` of the points that
        finished, in task order), ``failed`` (``index`` in task order,
        ``quota``, the point's parameters and ``error``), ``complete``,
        ``pareto`` (indices into ``points``, objectives RMSE/messages/energy),
        ``pareto_rmse_spikes``, ``pareto_rmse_messages`` (every message kind: at
        order 1 the same as spikes), ``wall_seconds``, ``cpu_seconds`` (sum over
        points), ``executor`` and ``files``.
    """
    quotas, swept, fixed, tasks = plan_sweep(problem, quotas, max_workers, profiles, **overrides)
    out = None if out is None else prepare_directory(out, overwrite)
    ex, owned, label = _resolve_executor(executor, len(tasks), max_workers)
    ekey = f"energy_{profiles[0]}"
    rows: list[dict | None] = [None] * len(tasks)
    failed: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def summarize(complete: bool) -> dict[str, Any]:
        points = [r for r in rows if r is not None]
        return {
            "problem": problem, "quotas": quotas, "swept": swept,
            "fixed": fixed, "complete": complete, "points": points,
            "failed": sorted(failed, key=lambda f: f["index"]),
            "pareto": pareto_front(points, ("rmse", "messages", ekey)),
            "pareto_rmse_spikes": pareto_front(points, ("rmse", "spikes")),
            "pareto_rmse_messages": pareto_front(points, ("rmse", "messages")),
            "energy_key": ekey, "wall_seconds": time.perf_counter() - t0,
            "cpu_seconds": float(sum(p["wall_seconds"] for p in points)), "executor": label,
            "files": [] if out is None else (["sweep.csv"] if points else []) + ["sweep.json"],
        }

    try:
        futures = {ex.submit(run_point, problem, q, profiles=tuple(profiles), **p): i
                   for i, (q, p) in enumerate(tasks)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                rows[i] = future.result()
            except Exception as err:  # any failure of one point is recorded, not fatal
                q, params = tasks[i]
                failed.append({"index": i, "quota": q, **params,
                               "error": f"{type(err).__name__}: {err}"})
            if out is not None and len(futures) > 1:
                _write_sweep(out, summarize(complete=False))
    finally:
        if owned:
            ex.shutdown(wait=True)
    summary = summarize(complete=True)
    if out is not None:
        if plot and summary["points"]:
            from evsim.analysis.figures import pareto_plot, savefig
            savefig(pareto_plot(summary["points"], summary["pareto_rmse_messages"], energy_key=ekey),
                    out / "pareto.png")
            summary["files"].insert(0, "pareto.png")
        _write_sweep(out, summary)
    return summary


def _write_sweep(out: Path, summary: dict[str, Any]) -> None:
    """``sweep.csv`` (finished points) and ``sweep.json``, each written atomically."""
    if summary["points"]:
        write_csv(out / "sweep.csv", summary["points"])
    write_json(out / "sweep.json", summary)


# ------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``evsim sweep`` (see :func:`main`)."""
    parser.add_argument("problem", help="canonical problem name (see 'evsim problems')")
    q = parser.add_mutually_exclusive_group(required=True)
    q.add_argument("--quotas", type=float, nargs="+", help="quotas to run")
    q.add_argument("--quota-range", dest="quota_range", metavar="QMIN:QMAX:N",
                   help="N log-spaced quotas from QMIN to QMAX")
    parser.add_argument("--cells", type=int, nargs="+", help="resolution(s)")
    parser.add_argument("--t-end", dest="t_end", type=float, nargs="+", help="final time(s)")
    parser.add_argument("--diffusivity", type=float, nargs="+",
                        help="diffusivity override(s) of the operator (default: the problem's)")
    parser.add_argument("--order", type=int, nargs="+", choices=[1, 2],
                        help="CFQ order(s): 1, the paper's rule; 2, trajectory CFQ (needs --tolerance)")
    parser.add_argument("--tolerance", type=float, nargs="+",
                        help="order 2's trajectory tolerance(s) (the accuracy; the quota is then "
                             "the packet mass)")
    parser.add_argument("--engine", choices=["compiled", "simpy"], default="compiled",
                        help="numba kernel (default) or the SimPy reference; same spikes")
    parser.add_argument("--mesh", help="core mesh WxH for NoC hops, latency and congestion, e.g. 4x4")
    parser.add_argument("--mapping", choices=["blocks", "partition"], default="blocks",
                        help="cells onto cores: contiguous blocks (default) or graph partition")
    parser.add_argument("--hop-latency", dest="hop_latency", type=float, nargs="+",
                        help="latency per NoC hop (simulated time units)")
    parser.add_argument("--bandwidth", type=float, nargs="+", help="packets per unit time per link")
    parser.add_argument("--profiles", nargs="+", default=list(PROFILE_NAMES),
                        help="energy profiles to cost each point on (the first is the Pareto objective)")
    parser.add_argument("--workers", type=int, help="process-pool workers (default min(2, cpus))")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="run on a dask.distributed scheduler ('local' starts a LocalCluster)")
    add_output_options(parser, "runs/sweep-PROBLEM", "sweep")
    parser.add_argument("--report", action="store_true", help="also write report.html")


def _quotas_from(args: argparse.Namespace) -> list[float]:
    if args.quotas:
        return list(args.quotas)
    try:
        lo, hi, n = args.quota_range.split(":")
        lo, hi, n = float(lo), float(hi), int(n)
    except ValueError:
        raise ConfigError(f"--quota-range must be QMIN:QMAX:N, got {args.quota_range!r}") from None
    if not (0 < lo and 0 < hi and n >= 1):
        raise ConfigError("--quota-range needs positive QMIN, QMAX and N >= 1")
    return list(np.geomspace(lo, hi, n))


def main(args: argparse.Namespace) -> int:
    """Run ``evsim sweep`` from parsed arguments; prints the summary path.

    Returns 0, or 1 if some points failed (each is printed on stderr and
    listed in ``sweep.json``; the finished points are kept).
    """
    overrides: dict[str, Any] = {}
    for key in ("cells", "t_end", "diffusivity", "hop_latency", "bandwidth", "order", "tolerance"):
        v = getattr(args, key, None)
        if v:
            overrides[key] = v if len(v) > 1 else v[0]
    overrides["engine"] = args.engine
    if args.mesh:
        overrides["mesh"] = args.mesh
        overrides["mapping"] = args.mapping
    quotas = _quotas_from(args)
    plan_sweep(args.problem, quotas, args.workers, tuple(args.profiles), **overrides)
    client = None
    executor = None
    with reserved_directory() as reserve:   # a refused sweep leaves no empty folder
        out = (reserve.claim(args.out) if args.out
               else reserve(Path("runs") / f"sweep-{args.problem}"))
        if args.dask:
            distributed = require("dask.distributed", extra="dask", feature="evsim sweep --dask")
            client = distributed.Client() if args.dask == "local" else distributed.Client(args.dask)
            executor = client
        try:
            summary = run_sweep(args.problem, quotas, out, executor=executor,
                                max_workers=args.workers, profiles=tuple(args.profiles),
                                overwrite=args.overwrite, **overrides)
        finally:
            if client is not None:
                client.close()
    if args.report:
        write_report(out)
    print(f"{len(summary['points'])} points in {summary['wall_seconds']:.2f} s "
          f"({summary['executor']}); Pareto: {summary['pareto']}; wrote {out / 'sweep.json'}")
    for f in summary["failed"]:
        params = {k: v for k, v in f.items() if k not in ("index", "error")}
        print(f"evsim: point {f['index']} {params} failed: {f['error']}", file=sys.stderr)
    return 1 if summary["failed"] else 0
