"""Energy and chip time of a PISNN run on hardware that executes in time steps.

Loihi, TrueNorth and SpiNNaker do not run events at exact times: every core
advances its neurons once per hardware step and the cores meet at a barrier
before the next step. :func:`stepped_estimate` replays the exact firings of an
evsim run (``simulate(..., spike_log=True)``) on such a chip; the exact-time
estimate of :mod:`evsim.analysis.energy` is the *ideal asynchronous hardware*
model and stays available beside it (:func:`estimate`, ``model="asynchronous"``).

The replay
----------
A firing at time ``t`` falls in step ``k = floor(t / dt_hw)``. It is a spike of
the *firing neuron*: the sending cell of the packet, or the cell of a boundary
(reservoir) edge, whose own compartment computes the boundary flux. A
hardware spike cannot address one synapse: it reaches the neuron's whole
fan-out ``F_i`` (its cell neighbours; reservoirs are copied on every core and
are not mapped), as one message per destination core ``D_i`` (the distinct
cores of those neighbours, its own core included).

A neuron that owes ``m > 1`` packets in one step does what its chip does
(profile key ``spikes``):

``"serialise"`` (Loihi 1, TrueNorth: binary spikes)
    one spike per step; the rest wait for the next steps, in order
    (``e_j = max(k_j, e_{j-1} + 1)``). ``deferred_packets`` counts the packets
    sent in a later step than they were due and ``max_delay_steps`` the worst wait.
``"graded"`` (a graded spike with an integer payload, as Loihi 2)
    one spike carrying ``m``.
``"messages"`` (SpiNNaker: software sends one multicast packet per spike)
    ``m`` spikes in the same step.

Energy
------
With ``S`` the spikes (events ``(i, k)`` of multiplicity ``m_ik``), ``N`` mapped
neurons and ``K`` steps,

.. math::

    E = N K e_\\mathrm{access} + U e_\\mathrm{update} + \\sum_{ik} m_{ik}\\,\\big(e_\\mathrm{spike}
        + |D_i| (e_\\mathrm{msg,out} + e_\\mathrm{msg,in}) + F_i e_\\mathrm{syn}
        + X_i e_{\\mathrm{hop},x} + Y_i e_{\\mathrm{hop},y}\\big),

``X_i = sum_{d in D_i} |x_d - x_i|`` and ``Y_i`` likewise (XY routing between
the cores of the :class:`~evsim.analysis.mapping.Mapping`). ``U`` counts the
updated ``(neuron, step)`` pairs: ``active="fired"`` (the neuron spiked in the
step) or ``active="fired_or_received"`` (it spiked or a message reached it).
Every mapped neuron is read every step (``e_access``), active or not.

Chip time
---------
Within step ``k``, core ``c`` generates (soma and axon-out) and processes
(axon-in and synapses) for

.. math::

    g_{ck} = N_c \\ell_\\mathrm{access} + U_{ck} \\ell_\\mathrm{update} + S_{ck} \\ell_\\mathrm{spike}
             + M^\\mathrm{out}_{ck} \\ell_\\mathrm{msg,out}, \\qquad
    p_{ck} = M^\\mathrm{in}_{ck} \\ell_\\mathrm{msg,in} + F^\\mathrm{in}_{ck} \\ell_\\mathrm{syn},

and the step lasts :math:`T_k = \\max(\\max_c \\max(g_{ck}, p_{ck}) + T_\\mathrm{sync}(n_\\mathrm{tiles}),
T_\\mathrm{tick})`: the busiest core plus the barrier (looked up by the
number of cores in use: the largest table key not above it), never shorter
than a fixed tick (TrueNorth, SpiNNaker: 1 ms). Chip time is
:math:`\\sum_k T_k`. Hop latencies are not on this path (a step waits for the
slowest core, not for the network), as in SANA-FE's ``simple`` timing model.

Profiles are read from ``analysis/data/chips.toml`` (units parsed by pint,
one citation per constant); ``loihi`` holds the constants of the SANA-FE 2.2.9
architecture file and ``loihi@sanafe-legacy`` the older file the asynchronous
``loihi`` profile was calibrated on.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np

from evsim.errors import ConfigError
from evsim.network import Network
from evsim.optional import require

from .energy import EnergyBreakdown, busy_seconds, by_name, energy, get_profile
from .mapping import Mapping
from .packets import cell_count

__all__ = ["ChipProfile", "ChipEstimate", "Replay", "STEPPED_KINDS", "SPIKE_MODES", "MODELS",
           "chip_profiles", "get_chip_profile", "replay", "stepped_estimate", "estimate", "stepped_potentials",
           "stability_bound"]

#: Event kinds of the time-stepped model, in breakdown order.
STEPPED_KINDS = ("neuron_access", "neuron_updates", "spikes_out", "messages_out", "messages_in",
                 "synaptic_ops", "hops_x", "hops_y")

#: What a neuron does with several packets owed in one step.
SPIKE_MODES = ("serialise", "graded", "messages")

#: Names of the two execution models of :func:`estimate`.
MODELS = ("time-stepped", "asynchronous")

_ENERGY_KEYS = ("access_neuron", "update_neuron", "spike_out", "message_out", "message_in",
                "synaptic_op", "hop_x", "hop_y")
_LATENCY_KEYS = tuple(f"latency_{k}" for k in _ENERGY_KEYS[:6]) + ("latency_hop_x", "latency_hop_y")


@dataclass(frozen=True)
class ChipProfile:
    """Costs of one time-stepped chip, in SI units.

    ``energy`` maps :data:`_ENERGY_KEYS` (``access_neuron``, ``update_neuron``,
    ``spike_out``, ``message_out``, ``message_in``, ``synaptic_op``, ``hop_x``,
    ``hop_y``) to joules per event and ``latency`` the matching
    ``latency_*`` keys to seconds per event; ``sync_seconds`` maps a number of
    cores (tiles) in use to the barrier time in seconds; ``tick_seconds`` is
    the shortest step (a fixed clock, 0 for a barrier-driven chip); ``spikes``
    is one of :data:`SPIKE_MODES`; ``sources`` holds one citation per key.
    """

    name: str
    energy: dict
    latency: dict
    sync_seconds: dict
    tick_seconds: float
    spikes: str
    core_capacity: int
    description: str = ""
    sources: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.spikes not in SPIKE_MODES:
            raise ConfigError(f"chip profile {self.name!r}: spikes must be one of {SPIKE_MODES}, got {self.spikes!r}")
        if not self.sync_seconds:
            raise ConfigError(f"chip profile {self.name!r}: sync table is empty")

    def sync(self, cores_in_use: int) -> float:
        """Barrier time (s) for ``cores_in_use``: the value of the largest key not above it (else the smallest)."""
        keys = sorted(self.sync_seconds)
        below = [k for k in keys if k <= cores_in_use]
        return float(self.sync_seconds[below[-1] if below else keys[0]])

    def costs(self) -> dict:
        """Joules per event of each of :data:`STEPPED_KINDS`."""
        e = self.energy
        return {"neuron_access": e["access_neuron"], "neuron_updates": e["update_neuron"],
                "spikes_out": e["spike_out"], "messages_out": e["message_out"],
                "messages_in": e["message_in"], "synaptic_ops": e["synaptic_op"],
                "hops_x": e["hop_x"], "hops_y": e["hop_y"]}


def _parse_profile(name: str, table: dict, ureg: Any) -> ChipProfile:
    """One ``chips.toml`` table -> :class:`ChipProfile` (pint converts every quantity)."""
    def si(key: str, value: str, unit: str) -> float:
        try:
            q = ureg.Quantity(value).to(unit).magnitude
        except Exception as err:  # pint raises several unrelated types
            raise ConfigError(f"chip profile {name!r}: {key} = {value!r} is not a quantity in {unit}: {err}") from err
        if not math.isfinite(q) or q < 0:
            raise ConfigError(f"chip profile {name!r}: {key} must be finite and >= 0, got {value!r}")
        return float(q)

    missing = set(_ENERGY_KEYS + _LATENCY_KEYS + ("tick", "sync", "spikes", "core_capacity")) - set(table)
    if missing:
        raise ConfigError(f"chip profile {name!r}: missing keys {sorted(missing)}")
    return ChipProfile(
        name=name,
        energy={k: si(k, table[k], "J") for k in _ENERGY_KEYS},
        latency={k: si(k, table[k], "s") for k in _LATENCY_KEYS},
        sync_seconds={int(k): si(f"sync.{k}", v, "s") for k, v in table["sync"].items()},
        tick_seconds=si("tick", table["tick"], "s"),
        spikes=str(table["spikes"]), core_capacity=int(table["core_capacity"]),
        description=str(table.get("description", "")),
        sources={k: v for k, v in table.get("cite", {}).items()})


@lru_cache(maxsize=1)
def chip_profiles() -> dict[str, ChipProfile]:
    """The built-in time-stepped profiles of ``analysis/data/chips.toml``, by name.

    Raises
    ------
    evsim.errors.OptionalDependencyError
        Without pint (``pip install evsim[hardware]``).
    """
    pint = require("pint", extra="hardware", feature="time-stepped chip profiles")
    ureg = pint.UnitRegistry()
    data = tomllib.loads(files("evsim.analysis").joinpath("data/chips.toml").read_text())
    return {name: _parse_profile(name, table, ureg) for name, table in data.items()}


def get_chip_profile(profile: str | ChipProfile) -> ChipProfile:
    """A time-stepped profile by name (case-insensitive) or the profile itself.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the known ones).
    """
    return by_name(profile, ChipProfile, chip_profiles(), "chip profile")


# --- the replay ---------------------------------------------------------------

@dataclass(frozen=True)
class Replay:
    """The spikes of a run on the ``dt_hw`` step grid (see the module docstring).

    ``neuron``, ``step``, ``multiplicity``: one row per spike event (spikes of
    one neuron in one step; multiplicity > 1 only with ``"messages"``);
    ``steps`` the steps the chip runs (``ceil(t_final / dt_hw)``, longer if
    serialised spikes spill over); ``packets`` the firings replayed.
    """

    neuron: np.ndarray
    step: np.ndarray
    multiplicity: np.ndarray
    steps: int
    packets: int
    deferred_packets: int
    max_delay_steps: int
    spikes: str

    def spike_trains(self, neurons: int) -> np.ndarray:
        """``(neurons, steps)`` booleans: neuron ``i`` spikes in step ``k``.

        Raises
        ------
        ConfigError
            With ``"messages"`` and several spikes of one neuron in one step (not a spike train).
        """
        if np.any(self.multiplicity > 1):
            raise ConfigError("several spikes of one neuron in one step do not form a binary spike train")
        trains = np.zeros((neurons, self.steps), dtype=bool)
        trains[self.neuron, self.step] = True
        return trains


def _firing_neuron(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(time, neuron)`` of every logged firing (module docstring: the firing neuron)."""
    log = getattr(result, "spike_log", None)
    if log is None:
        raise ConfigError("the result has no spike log: rerun it with simulate(..., spike_log=True) to replay "
                          "it in time steps (evsim energy RUN_DIR does so for runs saved by evsim run)")
    n = cell_count(result)
    edges = np.asarray(result.edges, dtype=np.int64).reshape(-1, 2)
    e = np.asarray(log["edge"], dtype=np.int64)
    forward = np.asarray(log["sign"]) > 0
    sender = np.where(forward, edges[e, 0], edges[e, 1])
    receiver = np.where(forward, edges[e, 1], edges[e, 0])
    return np.asarray(log["time"], dtype=float), np.where(sender < n, sender, receiver)


def replay(result: Any, dt_hw: float, spikes: str = "serialise", steps: int | None = None) -> Replay:
    """Bin the firings of ``result`` into hardware steps of ``dt_hw`` (simulated time units).

    Parameters
    ----------
    result
        A run with ``spike_log`` (``simulate(..., spike_log=True)``).
    dt_hw
        Simulated time per hardware step (> 0).
    spikes
        One of :data:`SPIKE_MODES`.
    steps
        Steps the chip runs; default ``ceil(t_final / dt_hw)``; never fewer than the last firing's step + 1.

    Raises
    ------
    ConfigError
        Without a spike log, for ``dt_hw <= 0`` or an unknown mode.
    """
    if not (math.isfinite(dt_hw) and dt_hw > 0):
        raise ConfigError(f"dt_hw must be finite and > 0, got {dt_hw!r}")
    if spikes not in SPIKE_MODES:
        raise ConfigError(f"spikes must be one of {SPIKE_MODES}, got {spikes!r}")
    time, neuron = _firing_neuron(result)
    k = np.floor(time / dt_hw).astype(np.int64)
    if steps is None:
        steps = int(math.ceil(float(getattr(result, "t_final", 0.0)) / dt_hw))
    steps = max(steps, int(k.max(initial=-1)) + 1, 1)
    order = np.lexsort((k, neuron))
    neuron, k = neuron[order], k[order]
    deferred = max_delay = 0
    if spikes == "serialise":
        # e_j = max(k_j, e_{j-1} + 1) within a neuron = j + cummax(k_j - j), j local to the neuron
        start = np.r_[0, np.flatnonzero(np.diff(neuron)) + 1] if neuron.size else np.zeros(0, np.int64)
        local = np.arange(neuron.size) - np.repeat(start, np.diff(np.r_[start, neuron.size]))
        span = int(k.max(initial=0)) + neuron.size + 1
        first = np.zeros(neuron.size, np.int64)
        first[start] = 1
        group = np.cumsum(first) * span
        emitted = local + np.maximum.accumulate(k - local + group) - group
        delay = emitted - k
        deferred, max_delay = int(np.count_nonzero(delay)), int(delay.max(initial=0))
        steps = max(steps, int(emitted.max(initial=-1)) + 1)
        return Replay(neuron, emitted, np.ones(neuron.size, np.int64), steps, int(neuron.size),
                      deferred, max_delay, spikes)
    key, mult = np.unique(neuron * steps + k, return_counts=True)
    if spikes == "graded":
        mult = np.ones_like(mult)
    return Replay(key // steps, key % steps, mult, steps, int(neuron.size), deferred, max_delay, spikes)


# --- the cost model -------------------------------------------------------------

@dataclass(frozen=True)
class _Fanout:
    """Per neuron: cell neighbours (CSR) and destination cores (CSR with synapse counts)."""

    nbr_ptr: np.ndarray
    nbr: np.ndarray
    dst_ptr: np.ndarray
    dst_core: np.ndarray
    dst_synapses: np.ndarray
    hops_x: np.ndarray
    hops_y: np.ndarray

    @property
    def synapses(self) -> np.ndarray:
        return np.diff(self.nbr_ptr)

    @property
    def messages(self) -> np.ndarray:
        return np.diff(self.dst_ptr)


def _fanout(result: Any, mapping: Mapping) -> _Fanout:
    n = cell_count(result)
    if mapping.cells != n:
        raise ConfigError(f"mapping has {mapping.cells} cells, the run has {n}")
    edges = np.asarray(result.edges, dtype=np.int64).reshape(-1, 2)
    edges = edges[(edges[:, 0] < n) & (edges[:, 1] < n) & (edges[:, 0] != edges[:, 1])]
    src = np.r_[edges[:, 0], edges[:, 1]]
    dst = np.r_[edges[:, 1], edges[:, 0]]
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    nbr_ptr = np.r_[0, np.cumsum(np.bincount(src, minlength=n))]
    pair, syn = np.unique(src * mapping.mesh.cores + mapping.core[dst], return_counts=True)
    owner, core = pair // mapping.mesh.cores, pair % mapping.mesh.cores
    dst_ptr = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))]
    xo, yo = mapping.mesh.coords(mapping.core[owner])
    xd, yd = mapping.mesh.coords(core)
    return _Fanout(nbr_ptr, dst, dst_ptr, core, syn,
                   np.bincount(owner, np.abs(xd - xo), n).astype(np.int64),
                   np.bincount(owner, np.abs(yd - yo), n).astype(np.int64))


def _expand(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row position, item index)`` of every CSR item of ``rows`` (repeated rows allowed)."""
    count = ptr[rows + 1] - ptr[rows]
    at = np.repeat(np.arange(rows.size), count)
    first = np.repeat(ptr[rows] - np.r_[0, np.cumsum(count)[:-1]], count)
    return at, first + np.arange(at.size)


@dataclass(frozen=True)
class ChipEstimate:
    """Energy and chip time of a run under one execution model.

    ``breakdown`` is an :class:`~evsim.analysis.energy.EnergyBreakdown` whose
    ``seconds`` is the chip time; ``step_seconds`` holds ``T_k`` per step
    (time-stepped) and ``details`` the replay's counts (JSON-ready).
    """

    model: str
    breakdown: EnergyBreakdown
    chip_seconds: float
    step_seconds: np.ndarray
    details: dict

    def as_dict(self) -> dict:
        """Model, profile, total joules, breakdown, costs, counts, chip time, the energy by message
        kind (``messages``, asynchronous model) and details (JSON-ready)."""
        b = self.breakdown
        return {"model": self.model, "profile": b.profile, "total_joules": b.total, "energy_joules": b.energy,
                "counts": b.counts, "costs": b.costs, "chip_seconds": self.chip_seconds,
                **({"messages": b.messages} if b.messages else {}), **self.details}


def stepped_estimate(result: Any, mapping: Mapping, profile: str | ChipProfile = "loihi", dt_hw: float = 1.0,
                     active: str = "fired_or_received", steps: int | None = None) -> ChipEstimate:
    """Energy and chip time of ``result`` replayed on a time-stepped chip (module docstring).

    Parameters
    ----------
    result
        A run with a spike log.
    mapping
        Cells onto cores (hops, destination cores, per-core work).
    profile
        A :class:`ChipProfile` or the name of one (:func:`chip_profiles`).
    dt_hw
        Simulated time per hardware step.
    active
        ``"fired"`` or ``"fired_or_received"``: which ``(neuron, step)`` pairs pay ``e_update``.
    steps
        Steps the chip runs (default from ``result.t_final``).

    Returns
    -------
    ChipEstimate
        ``model="time-stepped"``; ``details`` has ``steps``, ``dt_hw``,
        ``spikes`` (mode), ``packets``, ``deferred_packets``, ``max_delay_steps``,
        ``barrier_seconds`` (per step), ``busiest_step_seconds``.
    """
    prof = get_chip_profile(profile)
    if active not in ("fired", "fired_or_received"):
        raise ConfigError(f"active must be 'fired' or 'fired_or_received', got {active!r}")
    rep = replay(result, dt_hw, prof.spikes, steps)
    fan = _fanout(result, mapping)
    n, K, C = mapping.cells, rep.steps, mapping.mesh.cores
    m = rep.multiplicity
    own = mapping.core[rep.neuron]
    at, item = _expand(fan.dst_ptr, rep.neuron)           # messages: (spike event, destination core)
    msg_in = np.bincount(rep.step[at] * C + fan.dst_core[item], m[at], K * C)
    syn_in = np.bincount(rep.step[at] * C + fan.dst_core[item], m[at] * fan.dst_synapses[item], K * C)
    updated = rep.neuron * K + rep.step
    if active == "fired_or_received":
        at_r, item_r = _expand(fan.nbr_ptr, rep.neuron)
        updated = np.r_[updated, fan.nbr[item_r] * K + rep.step[at_r]]
    updated = np.unique(updated)
    upd = np.bincount((updated % K) * C + mapping.core[updated // K], minlength=K * C)
    spk = np.bincount(rep.step * C + own, m, K * C)
    msg_out = np.bincount(rep.step * C + own, m * fan.messages[rep.neuron], K * C)
    counts = {"neuron_access": n * K, "neuron_updates": int(updated.size), "spikes_out": int(m.sum()),
              "messages_out": int(msg_out.sum()), "messages_in": int(msg_out.sum()),
              "synaptic_ops": int(np.dot(m, fan.synapses[rep.neuron])),
              "hops_x": int(np.dot(m, fan.hops_x[rep.neuron])), "hops_y": int(np.dot(m, fan.hops_y[rep.neuron]))}
    lat = prof.latency
    gen = (mapping.load[None, :] * lat["latency_access_neuron"] + upd.reshape(K, C) * lat["latency_update_neuron"]
           + spk.reshape(K, C) * lat["latency_spike_out"] + msg_out.reshape(K, C) * lat["latency_message_out"])
    proc = msg_in.reshape(K, C) * lat["latency_message_in"] + syn_in.reshape(K, C) * lat["latency_synaptic_op"]
    barrier = prof.sync(mapping.cores_used)
    step_seconds = np.maximum(np.maximum(gen, proc).max(axis=1) + barrier, prof.tick_seconds)
    chip = float(step_seconds.sum())
    costs = prof.costs()
    parts = {k: counts[k] * costs[k] for k in STEPPED_KINDS}
    breakdown = EnergyBreakdown(profile=prof.name, counts=counts, costs=costs, energy=parts, seconds=chip,
                                total=float(sum(parts.values())))
    details = {"steps": K, "dt_hw": float(dt_hw), "spikes": rep.spikes, "active": active, "packets": rep.packets,
               "deferred_packets": rep.deferred_packets, "max_delay_steps": rep.max_delay_steps,
               "barrier_seconds": barrier, "busiest_step_seconds": float(step_seconds.max(initial=0.0))}
    return ChipEstimate("time-stepped", breakdown, chip, step_seconds, details)


def estimate(result: Any, mapping: Mapping, profile: str | ChipProfile = "loihi", model: str = "time-stepped",
             dt_hw: float = 1.0, **kwargs) -> ChipEstimate:
    """Energy and chip time under ``model`` (one of :data:`MODELS`).

    ``"time-stepped"``: :func:`stepped_estimate` (``kwargs`` passed on).
    ``"asynchronous"`` (ideal asynchronous hardware): every event at its exact
    time, :math:`E = \\sum_k n_k e_k` with the profile of
    :func:`evsim.analysis.energy.energy` of the same name (``loihi``: the legacy
    constants) and the throughput bound :func:`~evsim.analysis.energy.busy_seconds`
    as chip time; ``dt_hw`` is not used.
    """
    if model == "time-stepped":
        return stepped_estimate(result, mapping, profile, dt_hw, **kwargs)
    if model == "asynchronous":
        prof = get_profile(profile)
        has_latency = any((prof.latency_synaptic_op, prof.latency_neuron_update, prof.latency_spike_out))
        busy = busy_seconds(result, prof, mapping, **kwargs)["seconds"] if has_latency else 0.0
        b = energy(result, prof, mapping, **kwargs)
        return ChipEstimate("asynchronous", EnergyBreakdown(b.profile, b.counts, b.costs, b.energy, busy, b.total,
                                                            b.messages),
                            busy, np.zeros(0), {})
    raise ConfigError(f"model must be one of {MODELS}, got {model!r}")



# --- the accuracy cost of the step ------------------------------------------------

def stability_bound(network: Network) -> float:
    """The largest stable hardware step of a step-synchronous run, :math:`2 / \\lambda_\\max`.

    :math:`\\lambda_\\max` is the largest eigenvalue of :math:`V^{-1/2} L V^{-1/2}`
    (``L``: the cells' conductance Laplacian, reservoir edges on the diagonal); explicit
    Euler with packets moved at step boundaries (:func:`stepped_potentials`) is
    unstable for :math:`\\Delta t_\\mathrm{hw} \\ge 2 / \\lambda_\\max`.
    """
    return 2.0 / _largest_rate(network)


def _largest_rate(network: Network) -> float:
    """Largest eigenvalue of :math:`V^{-1/2} L V^{-1/2}` (``L``: the cells' conductance Laplacian with reservoirs)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh

    n = network.cells
    a, b = network.edges[:, 0], network.edges[:, 1]
    g = network.conductance
    both = (a < n) & (b < n)
    diag = np.bincount(a[a < n], g[a < n], n) + np.bincount(b[b < n], g[b < n], n)
    lap = sp.coo_matrix((np.r_[diag, -g[both], -g[both]],
                         (np.r_[np.arange(n), a[both], b[both]], np.r_[np.arange(n), b[both], a[both]])),
                        shape=(n, n)).tocsr()
    scale = sp.diags(1.0 / np.sqrt(network.volume))
    sym = scale @ lap @ scale
    if n <= 2:
        return float(np.linalg.eigvalsh(sym.toarray()).max())
    return float(eigsh(sym, k=1, which="LA", return_eigenvectors=False)[0])


def stepped_potentials(network: Network, u0: np.ndarray, quota: float, dt_hw: float,
                       times: np.ndarray) -> np.ndarray:
    """Potentials of the CFQ network run *on* the step grid (closed loop), at ``times``.

    What a chip that only moves packets at step boundaries computes: in step
    ``k`` every edge integrates its flux, frozen at the start of the step,
    :math:`a_e \\leftarrow a_e + J_e\\,\\Delta t_\\mathrm{hw}` with
    :math:`J_e = g_e (u_a - u_b) + d_e`; it then sends the whole packets it owes,
    :math:`p_e = \\mathrm{trunc}(a_e / q)` (all of them, as graded spikes), and
    :math:`a_e \\leftarrow a_e - p_e q`; the packets land at the end of the step
    (cells: :math:`n_a \\mathrel{-}= p_e`, :math:`n_b \\mathrel{+}= p_e`; reservoirs
    keep their potential), so mass is conserved by the integer counts. As
    :math:`\\Delta t_\\mathrm{hw} \\to 0` this tends to the exact event-driven run;
    larger steps add the delay and the frozen flux of explicit Euler (unstable
    from :math:`\\Delta t_\\mathrm{hw} \\ge 2 / \\lambda_\\max(V^{-1/2} L V^{-1/2})` on, which raises).
    Edge latencies are ignored.

    Parameters
    ----------
    network
        :func:`evsim.compile_network` of the graph.
    u0
        ``(cells,)`` initial potentials.
    quota
        Packet mass ``q``.
    dt_hw
        Simulated time per step.
    times
        Record times (ascending); the state after the last step ending at or before each.

    Returns
    -------
    numpy.ndarray
        ``(len(times), cells)`` potentials.

    Raises
    ------
    ConfigError
        For ``dt_hw`` not > 0 or above the stability bound.
    """
    if not (math.isfinite(dt_hw) and dt_hw > 0):
        raise ConfigError(f"dt_hw must be finite and > 0, got {dt_hw!r}")
    times = np.asarray(times, dtype=float)
    n = network.cells
    a, b = network.edges[:, 0], network.edges[:, 1]
    cell_a, cell_b = a < n, b < n
    limit = stability_bound(network)
    if dt_hw >= limit:
        raise ConfigError(f"dt_hw = {dt_hw:g} is not below the stability bound 2 / lambda_max = {limit:g} "
                          "of a step-synchronous run")
    base = network.volume * np.asarray(u0, dtype=float)
    count = np.zeros(n, dtype=np.int64)
    acc = np.zeros(network.size)
    node_u = np.r_[np.zeros(n), network.reservoir_potential]
    out = np.empty((times.size, n))
    ends = np.floor(times / dt_hw + 1e-9).astype(np.int64)
    step = 0
    for i, end in enumerate(ends):
        for _ in range(step, end):
            node_u[:n] = (base + quota * count) / network.volume
            acc += (network.conductance * (node_u[a] - node_u[b]) + network.drive) * dt_hw
            sent = np.trunc(acc / quota).astype(np.int64)
            acc -= sent * quota
            np.subtract.at(count, a[cell_a], sent[cell_a])
            np.add.at(count, b[cell_b], sent[cell_b])
        step = max(step, end)
        out[i] = (base + quota * count) / network.volume
    return out
