"""``evsim experiment twin``: a digital twin corrected in real time by noisy sensors.

A rod (heat1d's graph, ``kappa0 = 0.1``, ``u = 0`` on the right) is heated on the left
by a boundary that follows a known schedule ``u_L(t) = 1 + 0.5 sin(2 pi t / period)``
(a reservoir potential changed at every observation time, :mod:`evsim.control`). The
*truth* has a diffusivity 20 % higher in the left half; the *model* (the PISNN) starts
from the homogeneous ``kappa0`` and from a zero field. A few sensors sample the truth
every ``dt_obs`` with Gaussian noise. Two runs of the same PISNN,

- uncorrected: the model alone (the boundary schedule only);
- corrected: nudging through sensor reservoirs and recursive estimation of the two
  regions' conductance factors (:class:`evsim.assimilation.Assimilator`),

against the truth, the semi-discrete solution of the true graph with the same piecewise
constant boundary, integrated exactly interval by interval
(``u_{k+1} = e^{A dt} u_k + A^{-1} (e^{A dt} - I) b(u_L(t_k))``).

Figures: the RMSE vs truth over time with and without correction, the parameter
estimates over time, and the events spent on correction (packets on the observer edges,
edge updates of the retuned conductances) per observation interval. The summary
reports the final RMSEs and their ratio, the final estimates and their errors, the
ledger residuals (the sensor exchange included) and how many sensor samples per second
of wall time the compiled engine assimilates.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.linalg

from evsim.analysis import figures as F
from evsim.assimilation import (Assimilator, Observations, correction_events, observer_edges,
                                read_observations, sensor_node, with_sensors, write_observations)
from evsim.control import Controller
from evsim.monitors import RateMonitor, StateMonitor
from evsim.network import compile_network
from evsim.simulate import simulate
from evsim.teachers.semidiscrete import operator
from evsim.topologies import cell_positions, grid_1d
from evsim.topologies.media import medium

from .registry import experiment

__all__ = ["twin_study", "twin"]

KAPPA0 = 0.1           #: the model's diffusivity (and the truth's right half)
TRUTH_FACTOR = 1.2     #: the truth's diffusivity factor in the left half
LEFT = ("bc", "left", 0)   #: the heated boundary's reservoir (topologies.grid_1d)


def boundary(t: np.ndarray | float, period: float) -> np.ndarray:
    """The left boundary's schedule ``u_L(t) = 1 + 0.5 sin(2 pi t / period)``."""
    return 1.0 + 0.5 * np.sin(2 * np.pi * np.asarray(t, float) / period)


def truth_field(graph, u0: np.ndarray, times: np.ndarray, period: float) -> np.ndarray:
    """``(K, N)`` exact semi-discrete field of ``graph`` at ``times`` (uniform, from 0) with
    the left boundary held at ``u_L(t_k)`` on each ``[t_k, t_{k+1})``."""
    dt = float(times[1] - times[0])
    A, b0 = operator(graph)
    u_left = float(graph.nodes[LEFT]["potential"])
    hot = graph.copy()
    hot.nodes[LEFT]["potential"] = 1.0 + u_left
    b1 = operator(hot)[1] - b0                     # forcing per unit of u_L
    b0 = b0 - u_left * b1                          # the forcing at u_L = 0
    A = A.toarray()
    Phi = scipy.linalg.expm(A * dt)
    Psi = np.linalg.solve(A, Phi - np.eye(len(u0)))
    out = np.empty((len(times), len(u0)))
    u = np.asarray(u0, float).copy()
    for k, t in enumerate(times.tolist()):
        out[k] = u
        u = Phi @ u + Psi @ (b0 + float(boundary(t, period)) * b1)
    return out


def twin_study(cells: int = 40, t_end: float = 20.0, dt_obs: float = 0.02,
               sensors: tuple[int, ...] | None = None, noise: float = 0.005,
               quota: float = 2e-5, period: float = 2.0, engine: str = "compiled",
               seed: int = 0, observations_file: str | Path | None = None,
               **assimilator: Any) -> dict[str, Any]:
    """Run the twin: truth, uncorrected model, corrected model (module docstring).

    Parameters
    ----------
    cells, t_end, dt_obs
        Rod resolution, horizon and sensor sampling interval.
    sensors
        Observed cell indices (default five, spread over both halves).
    noise
        Standard deviation of the sensors' noise.
    quota, engine
        The PISNN runs.
    period
        Period of the boundary schedule.
    seed
        Of the sensors' noise.
    observations_file
        Where to write the sensor stream (CSV); the corrected run then reads it back
        (:func:`evsim.assimilation.read_observations`), as a twin fed from a file would.
    assimilator
        Options of :class:`evsim.assimilation.Assimilator` (default here ``warmup=4``:
        the unknown initial state, off by up to 0.5, decays first).

    Returns
    -------
    dict
        Arrays (``times``, ``rmse_corrected``, ``rmse_uncorrected``, ``theta``,
        ``observer_packets``, ``edge_updates``) and the numbers of the summary.
    """
    base = grid_1d(cells=cells, diffusivity=KAPPA0, left=float(boundary(0.0, period)))
    x = cell_positions(base)[:, 0]
    region = (x >= 0.5).astype(np.int64)            # 0: left (heated), 1: right
    true_graph = medium(base, lambda p: KAPPA0 * (TRUTH_FACTOR if p[0] < 0.5 else 1.0))
    spread = np.round(np.array([0.1, 0.3, 0.45, 0.6, 0.85]) * cells - 0.5)
    sensors = np.array(sensors if sensors is not None else spread, dtype=np.int64)
    times = dt_obs * np.arange(int(round(t_end / dt_obs)) + 1)
    u_truth0 = np.sin(np.pi * x) * 0.5
    truth = truth_field(true_graph, u_truth0, times, period)
    rng = np.random.default_rng(seed)
    obs_times = times[1:]
    values = truth[1:, sensors] + noise * rng.standard_normal((obs_times.size, sensors.size))
    obs = Observations(np.repeat(obs_times, sensors.size), np.tile(sensors, obs_times.size),
                       values.ravel(), noise)
    if observations_file is not None:
        obs = read_observations(write_observations(observations_file, obs))
    u0 = np.zeros(cells)                            # the model does not know the initial state

    def heater(control):
        control.set_reservoir(LEFT, float(boundary(control.t, period)))

    def run(graph, extra):
        monitors = [Controller(times, heater, name="heater"),
                    StateMonitor(np.arange(cells), times, name="field"), *extra]
        start = time.perf_counter()
        r = simulate(graph, u0, quota=quota, t_end=float(times[-1]), engine=engine,
                     progress=False, monitors=monitors)
        return r, time.perf_counter() - start

    plain, wall_plain = run(base, [])
    model = with_sensors(base, sensors, conductance=1.0, u0=u0)
    net = compile_network(model)
    reservoirs = [net.nodes.index(sensor_node(c)) for c in sensors.tolist()]
    options = {"warmup": 4.0, **assimilator}
    fix = Assimilator(obs, region, name="assimilator", **options)
    corrected, wall = run(model, [fix, RateMonitor(dt_obs, edges=observer_edges(net), name="observers")])

    def rmse_t(r):
        f = r.monitors["field"]
        return np.sqrt(np.mean((f["potential"] - truth[: f["times"].size]) ** 2, axis=1))

    e_plain, e_fix = rmse_t(plain), rmse_t(corrected)
    a = corrected.monitors["assimilator"]
    theta = a["theta"]
    truth_theta = np.array([TRUTH_FACTOR, 1.0])
    packets = corrected.monitors["observers"]["counts"].sum(axis=1)
    updates = a["edge_updates"]
    spent = correction_events(corrected, "assimilator")
    return {
        "times": times, "obs_times": a["times"], "rmse_corrected": e_fix, "rmse_uncorrected": e_plain,
        "theta": theta, "theta_truth": truth_theta, "observer_packets": packets,
        "edge_updates": updates, "bin_edges": corrected.monitors["observers"]["bin_edges"],
        "cells": cells, "sensors": sensors.tolist(), "noise": noise, "quota": quota,
        "dt_obs": dt_obs, "t_end": float(times[-1]), "engine": engine,
        "warmup": float(options["warmup"]),
        "rmse_final_corrected": float(e_fix[-1]), "rmse_final_uncorrected": float(e_plain[-1]),
        "rmse_ratio": float(e_plain[-1] / e_fix[-1]),
        "theta_final": theta[-1].tolist(),
        "theta_error": (np.abs(theta[-1] / truth_theta - 1)).tolist(),
        "ledger_residual_corrected": corrected.ledger.residual,
        "ledger_residual_uncorrected": plain.ledger.residual,
        "boundary_mass_corrected": corrected.boundary_mass,
        "sensor_mass": float(corrected.quota * corrected.ledger_reservoirs[
            np.array(reservoirs) - net.cells].sum()),
        "spikes_corrected": corrected.spikes, "spikes_uncorrected": plain.spikes,
        "correction_packets": spent["observer_packets"],
        "correction_edge_updates": spent["edge_updates"],
        "samples": spent["samples"], "wall_seconds_corrected": wall,
        "wall_seconds_uncorrected": wall_plain, "samples_per_second": spent["samples"] / wall,
        "segments": int(times.size),
    }


def _figures(out: Path, s: dict) -> list[str]:
    plt = F.pyplot()
    written = []
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.semilogy(s["times"], np.maximum(s["rmse_uncorrected"], 1e-12), label="uncorrected model")
    ax.semilogy(s["times"], np.maximum(s["rmse_corrected"], 1e-12),
                label=f"corrected ({len(s['sensors'])} sensors, noise {s['noise']:g})")
    ax.set_xlabel(F.LABELS["t"])
    ax.set_ylabel("RMSE vs truth [-]")
    ax.set_title("digital twin: error against the truth")
    ax.legend()
    written.append(F.savefig(fig, out / "twin_error.png").name)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for p, (name, colour) in enumerate((("left half (heated)", "tab:red"), ("right half", "tab:blue"))):
        ax.plot(s["obs_times"], s["theta"][:, p], color=colour, label=f"estimate, {name}")
        ax.axhline(s["theta_truth"][p], color=colour, ls="--", lw=1, label=f"truth, {name}")
    ax.set_xlabel(F.LABELS["t"])
    ax.set_ylabel("diffusivity factor kappa / kappa0 [-]")
    ax.axvline(s["warmup"], color="0.5", ls=":", lw=1, label="estimation starts (warm-up end)")
    ax.set_title("online parameter estimates from the innovations")
    ax.legend(fontsize=8)
    written.append(F.savefig(fig, out / "twin_parameters.png").name)

    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    mid = 0.5 * (s["bin_edges"][1:] + s["bin_edges"][:-1])
    ax.plot(mid, np.cumsum(s["observer_packets"]), label="packets on observer edges (nudging)")
    ax.plot(s["obs_times"], np.cumsum(s["edge_updates"]),
            label="edge updates (conductances and sensor potentials retuned)")
    ax.set_xlabel(F.LABELS["t"])
    ax.set_ylabel("cumulative correction events [events]")
    ax.set_title("events spent on correction")
    ax.legend(fontsize=8)
    written.append(F.savefig(fig, out / "twin_events.png").name)
    return written


@experiment("twin")
def twin(out: Path, fast: bool = False, engine: str = "compiled") -> dict:
    """Digital twin: noisy sensors correct the state and the diffusivity field of a running PISNN."""
    out = Path(out)
    stream = out / "observations.csv"
    s = (twin_study(cells=24, t_end=16.0, quota=5e-5, engine=engine, observations_file=stream)
         if fast else twin_study(engine=engine, observations_file=stream))
    figures = _figures(out, s)
    keys = [k for k, v in s.items() if not isinstance(v, np.ndarray)]
    summary = {k: s[k] for k in keys}
    summary["figures"] = figures
    summary["observations"] = stream.name
    return summary
