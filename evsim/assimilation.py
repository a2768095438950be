"""Real-time sensor correction of a running PISNN: nudging through sensor reservoirs and
online estimation of a per-region conductance field from the innovations.

Observations
------------
A stream of samples ``(time, cell, value, noise)`` (:class:`Observations`): from arrays,
a CSV file or a netCDF file (:func:`read_observations`; netCDF through xarray, extra
``io``). ``noise`` is the standard deviation of the sample's error.

State correction that keeps the ledger exact (nudging)
------------------------------------------------------
Every observed cell ``i`` gets an *observer edge* to a *sensor reservoir* ``s_i``
(:func:`with_sensors`). At each observation time the reservoir's potential is set to
the latest observation ``y_i`` (:func:`evsim.control.retune`), so between observations

.. math:: V_i \\dot u_i = \\dots + g^{obs}_i (y_i - u_i), \\qquad
          g^{obs}_i = \\frac{V_i}{\\tau} \\frac{s^2}{s^2 + \\sigma_i^2},

Newtonian relaxation towards the sensor with time scale ``tau``, weakened for noisy
sensors as in optimal interpolation (``s`` the expected model error, ``sigma_i`` the
sample's noise). The correction's mass moves as CFQ packets of ``q`` between the cell
and its sensor reservoir: it is in the integer ledger (residual 0), in
``Result.boundary_mass`` and in the observer edges' spike counts.

Online parameter correction (recursive prediction error, RLS form)
------------------------------------------------------------------
The conductances are ``g_e = g0_e c_e(theta)`` with one factor ``theta_p`` per region
and, on an edge between regions ``a`` and ``b``, the harmonic mean
``c_e = 2 theta_a theta_b / (theta_a + theta_b)`` (:func:`evsim.topologies.media.medium`).
The running (nudged) PISNN is the predictor: at an observation time ``t_k`` its
potential at a sensor, before the new sample is used, is the prediction
``hat y = u_i(t_k)`` and ``e = y - hat y`` the innovation. Its sensitivity to the
factors, ``S = du/dtheta`` (N x P), obeys the tangent-linear model of the nudged
cell ODE ``V du/dt = f(u, theta) + G (y - u)``,

.. math:: V \\dot S = -(K(\\theta) + G) S + F(u, \\theta), \\qquad
          F_{ip} = \\partial f_i / \\partial \\theta_p
          = -\\sum_{e \\ni i} \\pm g0_e \\frac{\\partial c_e}{\\partial \\theta_p} (u_a - u_b),

(``K`` the weighted Laplacian of the conductances with the reservoir edges on its
diagonal, ``G = diag(g^obs)``), integrated between observation times by the
trapezoidal rule on the model's own fields at those times. With ``phi = S_i(t_k)``
the recursive prediction error method (Ljung & Soederstroem 1983, ch. 3; an extended
Kalman filter on the parameters alone) updates, sample by sample,

.. math:: k = \\frac{P \\phi}{\\lambda r + \\phi^T P \\phi}, \\quad
          \\theta \\leftarrow \\theta + k e, \\quad
          P \\leftarrow (P - k \\phi^T P) / \\lambda,

with ``r = sigma_i^2 + s^2`` (the sample's noise and the model's error ``s``) and
forgetting factor ``lambda``, from the time ``warmup`` on (``theta >= theta_min``).
After each observation time the corrected conductances are put into the running
network (:func:`evsim.control.retune`). Everything is plain floating point on the state
at the segment ends, which both engines produce bit for bit: the correction is
deterministic on both engines.
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .atomic import write_atomic
from .control import Control, Controller
from .errors import ConfigError
from .optional import require

__all__ = ["Observations", "read_observations", "write_observations", "with_sensors",
           "sensor_node", "Assimilator", "observer_edges", "correction_events"]


def sensor_node(cell: Any) -> tuple:
    """Label of the sensor reservoir of the cell labelled ``cell``."""
    return ("sensor", cell)


@dataclass(frozen=True)
class Observations:
    """A stream of sensor samples, sorted by time (stable).

    Attributes
    ----------
    time, cell, value, noise
        ``(K,)`` sample times, cell indices (cell order), values and noise standard
        deviations (> 0).
    """

    time: np.ndarray
    cell: np.ndarray
    value: np.ndarray
    noise: np.ndarray

    def __post_init__(self):
        t = np.asarray(self.time, float).reshape(-1)
        c = np.asarray(self.cell).reshape(-1)
        v = np.asarray(self.value, float).reshape(-1)
        n = np.broadcast_to(np.asarray(self.noise, float), t.shape).copy()
        if not (t.size == c.size == v.size) or t.size == 0:
            raise ConfigError("observations: time, cell and value must be non-empty and of one length")
        if c.dtype.kind not in "iu" and not np.all(np.mod(c, 1) == 0):
            raise ConfigError("observations: cell must hold integer cell indices")
        if not (np.all(np.isfinite(t)) and np.all(t >= 0) and np.all(np.isfinite(v))):
            raise ConfigError("observations: times must be finite and >= 0, values finite")
        if not np.all(np.isfinite(n) & (n > 0)):
            raise ConfigError("observations: noise must be a positive finite standard deviation")
        order = np.argsort(t, kind="stable")
        for name, a in (("time", t), ("cell", c.astype(np.int64)), ("value", v), ("noise", n)):
            object.__setattr__(self, name, a[order])

    @property
    def cells(self) -> np.ndarray:
        """Observed cells, sorted."""
        return np.unique(self.cell)

    @property
    def times(self) -> np.ndarray:
        """Distinct observation times, sorted."""
        return np.unique(self.time)

    def __len__(self) -> int:
        return int(self.time.size)


def read_observations(path: str | Path) -> Observations:
    """Observations from a CSV file (header ``time,cell,value,noise``) or a netCDF file
    (variables ``time``, ``cell``, ``value``, ``noise`` along one dimension; xarray).

    Raises
    ------
    ConfigError
        Naming the file: missing columns or variables, or values that are not numbers.
    """
    path = Path(path)
    names = ("time", "cell", "value", "noise")
    if path.suffix == ".nc":
        require("netCDF4", extra="io", feature="reading netCDF observations")
        xr = require("xarray", extra="io", feature="reading netCDF observations")
        with xr.open_dataset(path) as ds:
            missing = [k for k in names if k not in ds.variables]
            if missing:
                raise ConfigError(f"{path}: observation variable(s) {missing} missing")
            cols = {k: np.asarray(ds[k].values) for k in names}
    else:
        try:
            with open(path, newline="") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as err:
            raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None
        if not rows or any(k not in rows[0] for k in names):
            raise ConfigError(f"{path}: a CSV of observations needs the header {','.join(names)}")
        try:
            cols = {k: np.array([float(r[k]) for r in rows]) for k in names}
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{path}: not a number ({err})") from None
    try:
        return Observations(cols["time"], cols["cell"].astype(np.int64), cols["value"], cols["noise"])
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def write_observations(path: str | Path, observations: Observations) -> Path:
    """Write ``observations`` as the CSV :func:`read_observations` reads (atomically;
    floats in ``repr``, so they read back bit for bit)."""
    lines = ["time,cell,value,noise"] + [
        f"{t!r},{c},{v!r},{n!r}" for t, c, v, n in zip(observations.time.tolist(),
                                                       observations.cell.tolist(),
                                                       observations.value.tolist(),
                                                       observations.noise.tolist())]
    return write_atomic(path, "\n".join(lines) + "\n")


def with_sensors(graph: nx.Graph, cells: Sequence[int], conductance: Sequence[float] | float,
                 u0: np.ndarray | None = None) -> nx.Graph:
    """Copy of ``graph`` with an observer edge from each of ``cells`` (indices in cell order)
    to its sensor reservoir (:func:`sensor_node`), of the given conductance; the reservoir's
    potential starts at the cell's ``u0`` (no flux before the first observation)."""
    out = graph.copy()
    labels = [n for n, d in graph.nodes(data=True) if d.get("kind", "cell") == "cell"]
    cells = np.atleast_1d(np.asarray(cells, dtype=np.int64))
    g = np.broadcast_to(np.asarray(conductance, float), cells.shape)
    for k, (c, gk) in enumerate(zip(cells.tolist(), g.tolist())):
        if not 0 <= c < len(labels):
            raise ConfigError(f"sensor cell index {c} outside 0..{len(labels) - 1}")
        if not (np.isfinite(gk) and gk > 0):
            raise ConfigError(f"observer conductance of cell {c} must be > 0, got {gk!r}")
        label = labels[c]
        start = float(u0[c]) if u0 is not None else float(graph.nodes[label].get("potential", 0.0))
        out.add_node(sensor_node(label), kind="reservoir", potential=start)
        out.add_edge(label, sensor_node(label), conductance=gk)
    return out


class Assimilator(Controller):
    """Sensor correction of a running network (module docstring): nudging through the
    sensor reservoirs and recursive estimation of one conductance factor per region.

    Parameters
    ----------
    observations
        The stream; its times are the controller's times.
    cell_region
        ``(N,)`` region index of every cell (``0..P-1``); the conductances of the
        network's own edges (not the observer edges) are ``g0 c_e(theta)``.
    theta0
        ``(P,)`` the factors of the network as given (the model's prior), default ones.
    estimate
        Estimate ``theta`` online (else nudging only).
    nudge
        Set the sensor reservoirs to the observations (else estimation only; observer
        edges present in the graph are switched off at the first observation).
    forgetting
        Forgetting factor ``lambda`` in ``(0, 1]``.
    prior
        Initial covariance ``P = prior^2 I`` (relative units of ``theta``).
    theta_min
        Lower bound of the factors.
    tau, model_error
        Nudging time scale ``tau`` and expected model error ``s`` (the observer
        conductances are set from them and each sample's noise; ``s`` also enters the
        measurement variance ``r``).
    warmup
        Time before the first estimation step (the unknown initial state decays first).
    name
        Key in ``Result.monitors``.

    Records (``Result.monitors[name]``): ``times``, ``edge_updates`` (as
    :class:`~evsim.control.Controller`), ``theta`` (K, P) the estimate after each
    observation time, ``innovation_rms`` (K,), ``samples`` (K,) assimilated per time.
    """

    kind = "assimilator"

    def __init__(self, observations: Observations, cell_region: Sequence[int],
                 theta0: Sequence[float] | None = None, *, estimate: bool = True,
                 nudge: bool = True, forgetting: float = 0.999, prior: float = 0.1,
                 theta_min: float = 0.05, tau: float = 0.5, model_error: float = 0.005,
                 warmup: float = 2.0, name: str | None = None):
        super().__init__(observations.times, self.act, name)
        self.obs = observations
        self.cell_region = np.asarray(cell_region, dtype=np.int64)
        P = int(self.cell_region.max()) + 1
        self.theta = np.ones(P) if theta0 is None else np.array(theta0, float)
        if self.theta.shape != (P,) or not np.all(self.theta > 0):
            raise ConfigError(f"theta0 must hold one positive factor per region ({P})")
        if not 0 < forgetting <= 1:
            raise ConfigError(f"forgetting must be in (0, 1], got {forgetting!r}")
        if not (tau > 0 and model_error > 0 and prior > 0):
            raise ConfigError("tau, model_error and prior must be > 0")
        self.estimate, self.nudge, self.forgetting = estimate, nudge, float(forgetting)
        self.P = np.eye(P) * prior ** 2
        self.theta_min, self.tau, self.model_error = theta_min, tau, model_error
        self.warmup = float(warmup)
        self._theta_log: list[np.ndarray] = []
        self._innov: list[float] = []
        self._samples: list[int] = []

    # ---------------------------------------------------------------- set-up
    def start(self, network, t_end):
        N = network.cells
        if self.cell_region.shape != (N,) or self.cell_region.min() < 0:
            raise ConfigError(f"cell_region must hold one region index >= 0 per cell ({N})")
        cells = self.obs.cells
        if cells.min() < 0 or cells.max() >= N:
            raise ConfigError(f"observed cell index outside 0..{N - 1}")
        index = {n: i for i, n in enumerate(network.nodes)}
        self.sensor = {}
        for c in cells.tolist():
            node = sensor_node(network.nodes[c])
            if node not in index and not self.nudge:
                continue
            if node not in index:
                raise ConfigError(f"cell {c} is observed but the graph has no sensor reservoir "
                                  f"{node!r} (evsim.assimilation.with_sensors)")
            self.sensor[c] = index[node]
        edges = network.edges
        observer = np.isin(edges, list(self.sensor.values())).any(axis=1)
        self.observer_edge = {int(edges[e][edges[e] < N][0]): int(e) for e in np.flatnonzero(observer)}
        # the operator's own edges: cell ends' regions (a reservoir end takes its cell's)
        own = np.flatnonzero(~observer & (network.conductance > 0))
        a, b = edges[own, 0], edges[own, 1]
        ra = np.where(a < N, self.cell_region[np.minimum(a, N - 1)], -1)
        rb = np.where(b < N, self.cell_region[np.minimum(b, N - 1)], -1)
        ra, rb = np.where(ra < 0, rb, ra), np.where(rb < 0, ra, rb)
        self.own, self.ra, self.rb, self.ends = own, ra, rb, (a, b)
        # the network is the model at the prior theta0: g = g0 c_e(theta0)
        self.g0 = network.conductance[own] / self._c(self.theta)[0]
        self.volume, self.N = network.volume, N
        self.S = np.zeros((N, self.theta.size))     # du/dtheta
        self.G = np.zeros(N)                        # observer conductances in force
        self._last = None                           # (t, F) at the previous observation time

    def _c(self, theta):
        """Factors ``c_e`` of the own edges and their derivatives by ``theta_a``, ``theta_b``."""
        ta, tb = theta[self.ra], theta[self.rb]
        return 2 * ta * tb / (ta + tb), 2 * tb ** 2 / (ta + tb) ** 2, 2 * ta ** 2 / (ta + tb) ** 2

    def _F(self, u_all: np.ndarray) -> np.ndarray:
        """``(N, P)``: ``df/dtheta``, the mass rate into each cell per unit factor."""
        N = self.N
        _, da, db = self._c(self.theta)
        a, b = self.ends
        flux = self.g0 * (u_all[a] - u_all[b])          # a -> b
        F = np.zeros((N, self.theta.size))
        for end, sign in ((a, -1.0), (b, 1.0)):
            at = end < N
            for d, r in ((da, self.ra), (db, self.rb)):
                np.add.at(F, (end[at], r[at]), sign * flux[at] * d[at])
        return F

    def _K(self) -> np.ndarray:
        """Dense ``K(theta) + G``: the cells' Laplacian with reservoir and observer edges
        on the diagonal."""
        N = self.N
        g = self.g0 * self._c(self.theta)[0]
        a, b = self.ends
        K = np.zeros((N, N))
        cell_a, cell_b = a < N, b < N
        both = cell_a & cell_b
        np.add.at(K, (a[cell_a], a[cell_a]), g[cell_a])
        np.add.at(K, (b[cell_b], b[cell_b]), g[cell_b])
        np.add.at(K, (a[both], b[both]), -g[both])
        np.add.at(K, (b[both], a[both]), -g[both])
        K[np.arange(N), np.arange(N)] += self.G
        return K

    # ---------------------------------------------------------------- each time
    def act(self, control: Control):
        t = control.t
        lo = int(np.searchsorted(self.obs.time, t, side="left"))
        hi = int(np.searchsorted(self.obs.time, t, side="right"))
        cells, values, noise = self.obs.cell[lo:hi], self.obs.value[lo:hi], self.obs.noise[lo:hi]
        innovations = []
        if self.estimate:
            u = control.potential
            F = self._F(np.concatenate([u, control.reservoir_potential]))
            if self._last is not None:      # the sensitivity over the last interval (trapezoid)
                t0, F0 = self._last
                h = 0.5 * (t - t0)
                K = self._K()
                V = np.diag(self.volume)
                self.S = np.linalg.solve(V + h * K, (V - h * K) @ self.S + h * (F0 + F))
            self._last = (t, F)
            if t >= self.warmup:
                for k, c in enumerate(cells.tolist()):
                    innovations.append(self._update(self.S[c], float(values[k]) - float(u[c]),
                                                    float(noise[k])))
                c_new = self._c(self.theta)[0]
                control.set_conductance(self.own, self.g0 * c_new)
        if self.nudge:
            s2 = self.model_error ** 2
            for k, c in enumerate(cells.tolist()):
                control.set_reservoir(control.network.nodes[self.sensor[c]], float(values[k]))
                self.G[c] = self.volume[c] / self.tau * s2 / (s2 + float(noise[k]) ** 2)
                control.set_conductance(self.observer_edge[c], self.G[c])
        elif len(self._samples) == 0:
            control.set_conductance(list(self.observer_edge.values()), 0.0)
        self._theta_log.append(self.theta.copy())
        self._innov.append(float(np.sqrt(np.mean(np.square(innovations)))) if innovations else np.nan)
        self._samples.append(int(hi - lo))

    def _update(self, phi: np.ndarray, e: float, noise: float) -> float:
        """One recursive step from one sample's innovation ``e`` and sensitivity ``phi``."""
        r = noise ** 2 + self.model_error ** 2
        Pphi = self.P @ phi
        gain = Pphi / (self.forgetting * r + phi @ Pphi)
        self.theta = np.maximum(self.theta + gain * e, self.theta_min)
        self.P = (self.P - np.outer(gain, Pphi)) / self.forgetting
        return e

    def data(self) -> dict[str, Any]:
        out = super().data()
        P = self.theta.size
        out.update(theta=np.array(self._theta_log).reshape(-1, P),
                   innovation_rms=np.array(self._innov, dtype=float),
                   samples=np.array(self._samples, dtype=np.int64))
        return out


def observer_edges(network) -> np.ndarray:
    """Indices of the observer edges of a compiled network (those to sensor reservoirs)."""
    sensors = [i for i, n in enumerate(network.nodes[network.cells:], network.cells)
               if isinstance(n, tuple) and len(n) == 2 and n[0] == "sensor"]
    return np.flatnonzero(np.isin(network.edges, sensors).any(axis=1)).astype(np.int64)


def correction_events(result, name: str) -> dict[str, int]:
    """What the sensor correction of ``result`` (its :class:`Assimilator` named ``name``)
    cost, as event counts for the energy model:

    - ``observer_packets``: CFQ packets on the observer edges (nudging; ordinary spikes,
      already in ``result.edge_spikes``);
    - ``edge_updates``: edges integrated and rescheduled by :func:`evsim.control.retune`
      (a parameter write each: corrected conductances and sensor potentials);
    - ``samples``: observations assimilated.
    """
    record = result.monitors[name]
    return {"observer_packets": int(result.edge_spikes[observer_edges(result.network)].sum()),
            "edge_updates": int(record["edge_updates"].sum()),
            "samples": int(record["samples"].sum())}
