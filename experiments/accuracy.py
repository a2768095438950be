"""Accuracy per cost: evsim (every order) and conventional solvers at matched accuracy.

For each problem (heat1d to t = 2, heat2d 64 x 64 to t = 0.8, the Voronoi disk to
t = 0.5, and pulse1d, a narrow pulse in a 1000-cell domain: localized activity) and each target RMSE (1e-3, 1e-4), every method's accuracy knob is searched for
the cheapest run that meets the target, against two references:

- ``exact``: the analytic solution. The finite-volume mesh has its own spatial error
  (the semi-discrete solution vs exact, reported as ``floor``); a target at or below it
  cannot be met by any method on that mesh and is reported as unreachable;
- ``semi-discrete``: the same graph integrated exactly in time, which isolates the
  time-integration (or quantization) error of each method.

Methods (:mod:`evsim.experiments.peers` has the peers and their operation counts):

- evsim at each order of :data:`EVSIM_ORDERS` (order 1: the paper's CFQ rule, knob the
  quota ``q``; order 2: trajectory CFQ, knob the tolerance ``delta``, quota
  :data:`ORDER2_QUOTA` ``median(V) max|u0|``); cost = messages between neurons of every kind (``result.events``),
  energy on the asynchronous Loihi profile (:mod:`evsim.analysis.energy`, payloads
  charged), and on 45 nm CMOS arithmetic;
- FTCS, Crank-Nicolson (scipy.sparse) and RK45 (scipy) on the same finite-volume graph;
- py-pde's RK45 and explicit Euler on its own grid (heat1d, heat2d; extra ``bench``).

The search (:func:`match`): start from the predicted knob (evsim: the mesh's error
constant, :func:`evsim.teachers.error_constant.quota_for_rmse`), step geometrically
towards the target, then bisect ``log(knob)`` between the last failing and the first
passing run until their ratio is below ``1 + rtol``. Every run made is a point of the
Pareto figures (RMSE vs events / FLOPs and RMSE vs energy, log axes).

``evsim experiment accuracy-cost [--fast]`` writes ``accuracy_cost.json``,
``accuracy_cost.md`` and ``pareto_<problem>.png``; ``benchmarks/accuracy_cost.py`` prints
the same table as JSON.
"""
from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evsim.analysis.energy import energy, message_counts
from evsim.analysis.metrics import rmse
from evsim.atomic import write_atomic
from evsim.errors import ConfigError
from evsim.simulate import simulate
from evsim.teachers.base import cell_operator
from evsim.teachers.error_constant import ERROR_LAWS, error_constant
from evsim.workflow.case import Case, make_case
from evsim.workflow.output import write_json

from . import peers
from .registry import experiment

__all__ = ["TARGETS", "COLUMNS", "PROBLEMS", "FAST_PROBLEMS", "EVSIM_ORDERS", "ORDER2_QUOTA", "Point", "Method",
           "match", "methods_for", "event_order", "order_ladder", "accuracy_cost", "conservation", "markdown_table",
           "pareto_figure"]

TARGETS = (1e-3, 1e-4)
COLUMNS = ("exact", "semi-discrete")
#: problem -> case options (full run) and the smaller ``--fast`` version.
PROBLEMS = {"heat1d": {"t_end": 2.0}, "heat2d": {"t_end": 0.8}, "disk": {"t_end": 0.5},
            "pulse1d": {"t_end": 0.5}}
FAST_PROBLEMS = {"heat1d": {"cells": 50, "t_end": 2.0}, "heat2d": {"cells": 16, "t_end": 0.8},
                 "disk": {"cells": 300, "t_end": 0.5}, "pulse1d": {"cells": 400, "t_end": 0.5}}


#: Order 2's packet mass as a share of ``median(V) * max|u0|``: its error does not depend on
#: the quota (``evsim.trajectory``), which only sets the packet traffic; 0.1 keeps packets
#: few and stays below the scale check's ``q < V (max u - min u)``.
ORDER2_QUOTA = 0.1


def _order_1(case: Case, x: float) -> dict:
    return {"quota": x}


def _order_2(case: Case, x: float) -> dict:
    vol = float(np.median(cell_operator(case.graph).volume))
    return {"quota": ORDER2_QUOTA * vol * float(np.max(np.abs(case.u0))), "order": 2, "tolerance": x}


#: evsim order -> (knob name, ``kwargs(case, knob)`` for :func:`evsim.simulate`).
#: An order joins when :func:`evsim.simulate` accepts it and
#: :data:`~evsim.teachers.error_constant.ERROR_LAWS` has its error constant.
EVSIM_ORDERS: dict[int, tuple[str, Callable[[Case, float], dict]]] = {
    1: ("quota", _order_1), 2: ("tolerance", _order_2)}


def available_orders() -> list[int]:
    """The orders of :data:`EVSIM_ORDERS` this evsim can run (order > 1 needs ``order=``)."""
    has_order = "order" in inspect.signature(simulate).parameters
    return [k for k in sorted(EVSIM_ORDERS) if k == 1 or has_order]


@dataclass
class Point:
    """One run of a method: knob value, RMSE per reference, cost and energy."""

    knob: float
    rmse: dict
    events: dict
    cost: float
    wall_seconds: float
    energy: float
    energy_cmos45: float
    completed: bool = True
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Method:
    """A solver with one accuracy knob (smaller = finer and dearer).

    ``run(knob) -> Point``; ``start(target, column)`` the first knob tried;
    ``upper`` the largest admissible knob; ``cost_unit`` what ``Point.cost`` counts;
    ``energy_model`` what ``Point.energy`` charges; ``max_cost`` the predicted cost
    (``cost ~ 1 / knob``) beyond which the search stops (evsim: 1.5 ``max_events``).
    """

    name: str
    family: str
    knob: str
    run: Callable[[float], Point]
    start: Callable[[float, str], float]
    upper: float
    cost_unit: str
    energy_model: str
    points: dict = field(default_factory=dict)
    max_cost: float = 1e12

    def evaluate(self, x: float) -> Point:
        """``run(x)``, cached by knob value."""
        key = float(f"{x:.6g}")
        if key not in self.points:
            self.points[key] = self.run(key)
        return self.points[key]


def _scores(case: Case, field_: np.ndarray, times: np.ndarray) -> dict:
    return {"exact": rmse(field_, case.reference(times)), "semi-discrete": rmse(field_, case.semidiscrete(times))}


def _evsim_method(case: Case, order: int, floor: float, max_events: int) -> Method:
    knob, kwargs = EVSIM_ORDERS[order]

    def run(x: float) -> Point:
        r = simulate(case.graph, case.u0, t_end=case.t_end, record=case.times, progress=False,
                     max_events=max_events, **kwargs(case, x))
        done = r.stop_reason == "t_end"
        msgs = message_counts(r)
        rm = _scores(case, r.potential, r.times) if done else {c: math.inf for c in COLUMNS}
        return Point(x, rm, {k: m["count"] for k, m in msgs.items()}, float(sum(m["count"] for m in msgs.values())),
                     float(r.wall_seconds), energy(r, "loihi").total, energy(r, "cmos45").total, done,
                     {"ledger_residual": int(r.ledger.residual), "stop_reason": r.stop_reason})

    def start(target: float, column: str) -> float:
        budget = math.sqrt(max(target ** 2 - floor ** 2, (0.3 * target) ** 2)) if column == "exact" else target
        return budget / error_constant(case.graph, order) if order in ERROR_LAWS else 1e-3 * budget
    return Method(f"evsim order {order}", "evsim", knob, run, start, math.inf, "messages", "loihi (asynchronous)",
                  max_cost=1.5 * max_events)


def _peer(case: Case, name: str, family: str, knob: str, solve: Callable[[float], peers.PeerRun],
          start: float, upper: float) -> Method:
    def run(x: float) -> Point:
        p = solve(x)
        return Point(x, _scores(case, p.field, case.times), {"flops": p.flops}, float(p.flops), p.wall_seconds,
                     p.energy, p.energy, True, {"steps": p.steps, **p.details})
    return Method(name, family, knob, run, lambda *_: start, upper, "FLOPs", "cmos45 FLOPs")


def methods_for(case: Case, floor: float, orders: Iterable[int] | None = None,
                max_events: int = 200_000_000, pypde: bool = True) -> list[Method]:
    """Every method of the module docstring for ``case`` (py-pde only on grid cases, when
    installed and ``pypde``)."""
    orders = available_orders() if orders is None else list(orders)
    out = [_evsim_method(case, k, floor, max_events) for k in orders]
    from evsim.teachers.ftcs import ftcs_stable_dt
    dt_stable = ftcs_stable_dt(cell_operator(case.graph))
    gaps = np.diff(case.times)
    interval = float(gaps[gaps > 0].min())     # Crank-Nicolson's longest step: one record interval
    out += [
        _peer(case, "FTCS (FV graph)", "fv", "cfl", lambda x: peers.ftcs_run(case, x), 1.0, 1.0),
        _peer(case, "Crank-Nicolson (FV graph)", "fv", "dt", lambda x: peers.crank_nicolson_run(case, x),
              interval, interval),
        _peer(case, "RK45 scipy (FV graph)", "fv", "rtol", lambda x: peers.rk45_run(case, x), 1e-2, 1e-1),
    ]
    if pypde and case.problem.dim in (1, 2) and case.name.startswith("heat"):
        try:
            peers.pypde_grid(case)
        except Exception:   # noqa: BLE001  (py-pde missing or not a grid: no py-pde peer)
            return out
        out += [_peer(case, "py-pde RK45 (own grid)", "py-pde", "rtol",
                      lambda x: peers.pypde_run(case, "rk45", x), 1e-2, 1e-1),
                _peer(case, "py-pde Euler (own grid)", "py-pde", "dt",
                      lambda x: peers.pypde_run(case, "euler", x), 0.95 * dt_stable, 0.95 * dt_stable)]
    return out


def match(method: Method, target: float, column: str, max_runs: int = 8, rtol: float = 0.3) -> dict:
    """The cheapest run of ``method`` with ``rmse[column] <= target`` (module docstring).

    Returns
    -------
    dict
        ``reached``, and the chosen :class:`Point` fields (or, unreached, the best run and
        ``why``: ``"error floor"``, ``"cost cap"`` or ``"max runs"``).
    """
    x = min(method.start(target, column), method.upper)
    why = "max runs"
    for _ in range(max_runs):
        p = method.evaluate(x)
        pts = [q for q in method.points.values() if q.completed]
        good = [q.knob for q in pts if q.rmse[column] <= target]
        bad = [q.knob for q in method.points.values() if not (q.completed and q.rmse[column] <= target)]
        lo = max(good) if good else None
        hi = min((b for b in bad if lo is None or b > lo), default=None)
        if lo is not None and hi is not None:
            if hi / lo < 1 + rtol:
                break
            x = math.sqrt(lo * hi)
        elif lo is None:
            near = [q for q in pts if x / 1.0001 <= q.knob <= 16 * x]     # this run and up to 16x coarser
            span = max(q.knob for q in near) / x if near else 1.0
            if span >= 4 and min(q.rmse[column] for q in near) > 0.9 * max(q.rmse[column] for q in near):
                why = "error floor"          # a 4-16x finer knob did not lower the error by 10 %
                break
            err = p.rmse[column] if p.completed else math.inf
            x = x * (min(0.5, max(0.05, 0.8 * target / err)) if math.isfinite(err) else 0.25)
            if p.cost * (p.knob / x) > method.max_cost:      # cost ~ 1 / knob
                why = "cost cap"
                break
        else:
            if lo >= method.upper:
                break
            x = min(method.upper, lo * 4)
    ok = [q for q in method.points.values() if q.completed and q.rmse[column] <= target]
    if ok:
        best = min(ok, key=lambda q: q.cost)
        return {"reached": True, **best.as_dict()}
    done = [q for q in method.points.values() if q.completed]
    best = min(done, key=lambda q: q.rmse[column]) if done else p
    return {"reached": False, "why": why, **best.as_dict()}


def event_order(points: list[Point], column: str = "semi-discrete") -> dict:
    """The order in events of a method: the least-squares slope of ``log RMSE`` against
    ``log events`` over its completed runs (``column``: the semi-discrete reference, so
    that the mesh's own error does not flatten it). Order 1 gives about -1; a scheme whose
    messages grow as ``delta^(-1/p)`` gives ``-p``.

    Returns ``{"slope", "runs", "events_span"}`` (``events_span``: largest over smallest
    event count fitted; a slope over a narrow span is steep but says little); the slope is
    None with fewer than 3 runs.
    """
    pts = [p for p in points if p.completed and p.cost > 0 and p.rmse.get(column, 0) > 0]
    if len(pts) < 3:
        return {"slope": None, "runs": len(pts), "events_span": None}
    cost = np.array([p.cost for p in pts], dtype=float)
    err = np.array([p.rmse[column] for p in pts], dtype=float)
    return {"slope": float(np.polyfit(np.log(cost), np.log(err), 1)[0]), "runs": len(pts),
            "events_span": float(cost.max() / cost.min())}


def order_ladder(problem: str, fast: bool = False, orders: Iterable[int] | None = None,
                 rungs: int = 3) -> dict:
    """The order in events (:func:`event_order`) of every evsim order on ``problem``, from
    ``rungs`` runs whose predicted RMSE (the error law) steps from 1e-3 down by sqrt(10).

    Returns ``{method: {"slope", "runs", "events_span", "points": [...]}}``.
    """
    table = FAST_PROBLEMS if fast else PROBLEMS
    if problem not in table:
        raise ConfigError(f"unknown accuracy-cost problem {problem!r}; known: {list(table)}")
    case = make_case(problem, **table[problem])
    floor = rmse(case.semidiscrete(), case.reference())
    out = {}
    for m in methods_for(case, floor, available_orders() if orders is None else orders, pypde=False):
        if m.family != "evsim":
            continue
        first = m.start(1e-3, "semi-discrete")
        for k in range(rungs):
            m.evaluate(first / 10 ** (k / 2))
        pts = list(m.points.values())
        out[m.name] = {**event_order(pts), "points": [p.as_dict() for p in pts]}
    return out


def accuracy_cost(problems: Iterable[str] | None = None, fast: bool = False, targets: Iterable[float] = TARGETS,
                  orders: Iterable[int] | None = None, max_runs: int | None = None,
                  max_events: int = 200_000_000,
                  pypde: bool = True, progress: Callable[[str], None] | None = None) -> dict:
    """The matched-accuracy table of the module docstring, JSON-ready.

    Returns
    -------
    dict
        ``targets``, ``columns``, ``orders``, and per problem: ``cells``, ``t_end``,
        ``floor`` (semi-discrete vs exact RMSE), ``methods`` (family, knob, units and every
        run as a point) and ``matched[column][target][method]`` (:func:`match`). ``max_runs``
        (runs per search) defaults to 8, 5 with ``fast``.
    """
    table = FAST_PROBLEMS if fast else PROBLEMS
    names = list(table) if problems is None else list(problems)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ConfigError(f"unknown accuracy-cost problems {unknown}; known: {list(table)}")
    targets = [float(t) for t in targets]
    max_runs = (5 if fast else 8) if max_runs is None else int(max_runs)
    out = {"targets": targets, "columns": list(COLUMNS), "fast": bool(fast),
           "orders": available_orders() if orders is None else list(orders), "problems": {}}
    simulate(make_case("heat1d", cells=10, t_end=0.01).graph, np.ones(10), quota=1e-3, t_end=0.01,
             progress=False)                                       # compile the kernel before timing
    for name in names:
        case = make_case(name, **table[name])
        floor = rmse(case.semidiscrete(), case.reference())
        methods = methods_for(case, floor, out["orders"], max_events, pypde)
        matched: dict = {c: {} for c in COLUMNS}
        for column in COLUMNS:
            for t in targets:
                row = {}
                for m in methods:
                    if progress:
                        progress(f"{name} {column} {t:g} {m.name}")
                    if column == "exact" and t <= floor:
                        row[m.name] = {"reached": False, "why": f"error floor: the mesh's RMSE vs exact is {floor:.3g}"}
                    else:
                        row[m.name] = match(m, t, column, max_runs=max_runs)
                matched[column][f"{t:g}"] = row
        out["problems"][name] = {
            "cells": int(len(case.u0)), "t_end": float(case.t_end), "floor": floor,
            "order_in_events": {m.name: event_order(list(m.points.values()))
                                for m in methods if m.family == "evsim"},
            "methods": {m.name: {"family": m.family, "knob": m.knob, "cost_unit": m.cost_unit,
                                 "energy_model": m.energy_model,
                                 "points": [p.as_dict() for _, p in sorted(m.points.items())]} for m in methods},
            "matched": matched}
    return out


#: Problems and quotas of the conservation check (full run, ``--fast``).
CONSERVATION = {"heat1d": ((1e-4, 1e-5, 1e-6), {}), "laplace2d": ((1e-4, 1e-5), {})}
FAST_CONSERVATION = {"heat1d": ((1e-4, 1e-5), {"cells": 50}), "laplace2d": ((1e-4,), {"cells": 16, "t_end": 1.0})}


def conservation(fast: bool = False, orders: Iterable[int] | None = None) -> dict:
    """Mass error of order-1 (and order-2) runs against the same mesh integrated exactly.

    The ledger is exact by construction (``residual == 0``); the physical mass differs
    from the semi-discrete mass ``sum_i V_i u_i`` by the flux the boundary (reservoir)
    edges hold in their accumulators, below one quota each:

    .. math:: |M_\\mathrm{run}(t) - M_\\mathrm{semi}(t)| \\le q\\, n_\\mathrm{boundary}.

    Returns ``{problem: {"boundary_edges", "runs": [{order, quota, tolerance,
    ledger_residual, mass_error_max, per_quota_per_boundary_edge}]}}``.
    """
    table = FAST_CONSERVATION if fast else CONSERVATION
    orders = available_orders() if orders is None else list(orders)
    out = {}
    for name, (quotas, options) in table.items():
        case = make_case(name, **options)
        net_edges = [(u, v) for u, v in case.graph.edges()
                     if "reservoir" in (case.graph.nodes[u].get("kind"), case.graph.nodes[v].get("kind"))]
        vol = cell_operator(case.graph).volume
        semi_mass = case.semidiscrete() @ vol
        runs = []
        for order in orders:
            for q in quotas:
                extra = {} if order == 1 else {"order": 2, "tolerance": 0.25 * q / float(np.median(vol))}
                r = simulate(case.graph, case.u0, quota=q, t_end=case.t_end, record=case.times, progress=False,
                             **extra)
                err = float(np.max(np.abs(np.asarray(r.mass) - semi_mass)))
                runs.append({"order": order, "quota": q, "tolerance": extra.get("tolerance"),
                             "ledger_residual": int(r.ledger.residual), "packets": int(r.spikes),
                             "mass_error_max": err, "per_quota_per_boundary_edge": err / (q * len(net_edges))})
        out[name] = {"cells": int(len(case.u0)), "t_end": float(case.t_end), "boundary_edges": len(net_edges),
                     "runs": runs}
    return out


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def markdown_table(data: dict) -> str:
    """The matched-accuracy rows of :func:`accuracy_cost` as markdown."""
    lines = ["# Accuracy per cost at matched RMSE", ""]
    for name, prob in data["problems"].items():
        lines += [f"## {name} ({prob['cells']} cells, t_end = {prob['t_end']:g}); "
                  f"mesh error (semi-discrete vs exact) {prob['floor']:.3g}", ""]
        for m, fit in prob.get("order_in_events", {}).items():
            if fit["slope"] is not None:
                lines.append(f"- {m}: log RMSE (vs semi-discrete) vs log events, slope "
                             f"{fit['slope']:.2f} over {fit['runs']} runs spanning "
                             f"{fit['events_span']:.3g}x in events")
        lines.append("")
        for column, rows in prob["matched"].items():
            for target, row in rows.items():
                lines += [f"### RMSE vs {column} <= {target}", "",
                          "| method | reached | knob | RMSE | events / FLOPs | wall [s] | energy [J] | energy model |",
                          "|---|---|---|---|---|---|---|---|"]
                for m, r in row.items():
                    meta = prob["methods"][m]
                    if "knob" not in r:
                        lines.append(f"| {m} | no ({r['why']}) | | | | | | |")
                        continue
                    ev = ", ".join(f"{k} {v:,}" for k, v in r["events"].items())
                    reached = "yes" if r["reached"] else f"no ({r['why']}; best run shown)"
                    lines.append(f"| {m} | {reached} | {meta['knob']} = {r['knob']:.3g} | {r['rmse'][column]:.3g} | "
                                 f"{ev} | {r['wall_seconds']:.3g} | {r['energy']:.3g} | {meta['energy_model']} |")
                lines.append("")
    for name, c in data.get("conservation", {}).items():
        lines += [f"## Mass error vs the semi-discrete mass: {name} ({c['cells']} cells, "
                  f"{c['boundary_edges']} boundary edges, t_end = {c['t_end']:g})", "",
                  "| order | quota | tolerance | packets | ledger residual | max mass error | / (q n_boundary) |",
                  "|---|---|---|---|---|---|---|"]
        for r in c["runs"]:
            tol = "" if r["tolerance"] is None else f"{r['tolerance']:.3g}"
            lines.append(f"| {r['order']} | {r['quota']:.3g} | {tol} | {r['packets']:,} | {r['ledger_residual']} | "
                         f"{r['mass_error_max']:.3g} | {r['per_quota_per_boundary_edge']:.3g} |")
        lines.append("")
    return "\n".join(lines)


_STYLE = {"evsim": ("o", "-"), "fv": ("s", "--"), "py-pde": ("^", ":")}


def pareto_figure(name: str, prob: dict, targets: Iterable[float], path: Path) -> Path:
    """RMSE vs cost and vs energy of every run of every method (rows: exact, semi-discrete)."""
    from evsim.analysis.figures import log_ticks, pyplot, reference_label, savefig

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), layout="constrained")
    for row, column in enumerate(COLUMNS):
        for col, (key, xlabel) in enumerate((
                ("cost", "cost: messages between neurons (evsim, all kinds) or FLOPs (peers) [count]"),
                ("energy", "energy [J] (evsim: Loihi, payloads charged; peers: 45 nm CMOS FLOPs)"))):
            ax = axes[row, col]
            for m, meta in prob["methods"].items():
                pts = [p for p in meta["points"] if p["completed"] and p["rmse"][column] > 0]
                if not pts:
                    continue
                pts.sort(key=lambda p: p[key])
                marker, ls = _STYLE.get(meta["family"], ("x", "-"))
                ax.plot([p[key] for p in pts], [p["rmse"][column] for p in pts], marker=marker, ls=ls, label=m)
            for t in targets:
                ax.axhline(t, color="gray", lw=0.8, ls=":")
            if column == "exact":
                ax.axhline(prob["floor"], color="k", lw=1.0, ls="--", label="mesh error (semi-discrete vs exact)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(f"RMSE vs {reference_label(column)} [-]")
            ax.set_title(f"{name}: RMSE vs {'cost' if key == 'cost' else 'energy'} ({column})")
            log_ticks(ax)
            if row == 0 and col == 0:
                ax.legend(fontsize=7)
    return savefig(fig, path)


@experiment("accuracy-cost")
def accuracy_cost_experiment(out: Path, fast: bool = False, **options: Any) -> dict:
    """Events, wall time and energy at matched RMSE for every evsim order and conventional peers."""
    out = Path(out)
    data = accuracy_cost(fast=fast, **options)
    write_json(out / "accuracy_cost.json", data)
    data["conservation"] = conservation(fast=fast, orders=data["orders"])
    md = markdown_table(data)
    write_atomic(out / "accuracy_cost.md", md + "\n")
    figures = [pareto_figure(name, prob, data["targets"], out / f"pareto_{name}.png").name
               for name, prob in data["problems"].items()]
    summary = {"conservation": data["conservation"], "table": "accuracy_cost.json", "markdown": "accuracy_cost.md", "figures": figures,
               "orders": data["orders"], "targets": data["targets"],
               "floors": {n: p["floor"] for n, p in data["problems"].items()}}
    for name, prob in data["problems"].items():
        summary[name] = {column: {t: {m: (r.get("cost") if r.get("reached") else None) for m, r in row.items()}
                                  for t, row in rows.items()} for column, rows in prob["matched"].items()}
    json.dumps(summary)       # JSON-ready
    return summary
