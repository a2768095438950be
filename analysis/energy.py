"""Energy of a PISNN run from its exact event counts, per hardware profile.

An event-driven C-LIF/CFQ run counts every packet exactly, so its energy is a
sum over event kinds ``k`` of count times cost:

.. math:: E = \\sum_k n_k e_k + (P_\\mathrm{core} C + P_\\mathrm{neuron} N)\\, t_\\mathrm{hw},

with the event kinds

``synaptic_ops``
    A packet on edge ``(i, j)`` changes the potentials of its cell endpoints;
    every edge accumulator incident to a changed cell re-reads that potential
    (its flux ``J = g (u_i - u_j)`` changes). With ``synapse_model="fanout"``
    (default) this costs ``deg(c)`` synaptic ops per change of cell ``c``:
    :math:`n_\\mathrm{syn} = \\sum_c (s_c + r_c)\\,\\deg(c)`, ``s_c`` packets sent and
    ``r_c`` received by cell ``c``. With ``synapse_model="packet"`` a packet is
    one synaptic event at its receiving cell: :math:`n_\\mathrm{syn} = \\sum_c r_c`.
``neuron_updates``
    One (active) compartment update per change of a cell potential:
    :math:`n_\\mathrm{upd} = \\sum_c (s_c + r_c)`. Reservoirs (fixed potential) are
    not updated.
``spikes_out``
    One axon (spike-out) event per packet: :math:`n_\\mathrm{out} = P`.
``hops_x``, ``hops_y``
    Network-on-chip hops of every packet under XY routing for a
    :class:`~evsim.analysis.mapping.Mapping` (east-west and north-south hops
    cost differently on Loihi); zero without a mapping.
``static``
    Static power times hardware run time ``t_hw`` (seconds), per core used and
    per neuron (cell) mapped; ``t_hw`` is given by the caller, e.g. the
    throughput bound :func:`busy_seconds`.

**Messages by kind, with their payload.** A run reports every message between
neurons by kind, ``result.events[kind]`` messages of ``result.event_bits[kind]``
payload bits each: ``"packet"`` (a CFQ packet, 1 bit: its sign; ``= result.spikes``)
and, at higher orders, e.g. ``"trajectory"`` (a trajectory update, 64 bits: value and
slope as two 32-bit numbers, counted per receiving neighbour cell). A profile carries
``payload_bits`` per message at its per-event cost (a Loihi 2-class graded spike carries
up to 32 bits; a binary spike 1), so a message of ``b`` bits is

.. math:: w(b) = \\lceil b / b_\\mathrm{payload} \\rceil

hardware spikes. Packets are costed as above (``w(1) = 1`` on every profile, so
order-1 energies are exactly what they were). Every other message kind ``k`` costs,
per word, one spike out at the sender and one synaptic op at the receiving cell (the
one edge whose flux the update changes; the receiver's potential does not change, so
no neuron update), plus, with a mapping, the mean NoC hops of the run's packets:

.. math:: E_k = n_k\\, w(b_k)\\, (e_\\mathrm{out} + e_\\mathrm{syn} + \\bar h_x e_{hx} + \\bar h_y e_{hy}).

So fewer packets bought with bigger messages show in the energy: a 64-bit update is 2
spikes on Loihi-class hardware and 64 on TrueNorth. :attr:`EnergyBreakdown.messages`
gives the energy of each kind; the dynamic kinds above hold the sum over all of them.
That one graded spike of <= 32 bits costs what a binary spike costs is an
**assumption** (Loihi 2 carries graded spikes with up to 32-bit integer payloads,
Orchard et al., IEEE SiPS 2021 / Intel's Loihi 2 brief, 2021; neither publishes
the energy per payload bit), as is charging a multicast trajectory update once per
receiving neighbour (the count the run reports); see ``docs/energy.md``.

Every constant of the built-in profiles is cited where it is defined and in
the profile's ``sources``; user profiles come from TOML files
(:func:`load_profiles`). Loihi neuron updates are costed as *active* updates
(72.8 pJ): an event-driven run has no idle time steps, so the inactive
(51.2 pJ) cost of a time-stepped chip does not appear.
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping as MappingABC
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from evsim.errors import ConfigError

from .mapping import Mapping, traffic
from .packets import cell_count, directed_counts

__all__ = [
    "EnergyProfile", "EventCounts", "EnergyBreakdown", "PROFILES", "PROFILE_NAMES", "EVENT_KINDS",
    "LOIHI", "TRUENORTH", "SPINNAKER", "CMOS45", "PACKET",
    "get_profile", "by_name", "load_profiles", "message_counts", "event_counts", "energy", "energy_table",
    "energy_by_kind", "busy_seconds",
]

#: The message kind of a CFQ packet in ``result.events``.
PACKET = "packet"

#: Dynamic event kinds, in breakdown order (``static`` is added separately).
EVENT_KINDS = ("synaptic_ops", "neuron_updates", "spikes_out", "hops_x", "hops_y")

PJ = 1e-12
NJ = 1e-9


@dataclass(frozen=True)
class EnergyProfile:
    """Energy per event of one piece of hardware (joules, watts).

    Parameters
    ----------
    name
        Profile name (lower case, used by :func:`get_profile`).
    synaptic_op, neuron_update, spike_out, hop_x, hop_y
        Energy per event in joules (``hop_x``: one east-west NoC hop,
        ``hop_y``: one north-south hop).
    static_power_core
        Static power per core in use, watts.
    static_power_neuron
        Static (time-proportional) power per mapped neuron, watts.
    flop_add, flop_mult, flop_mac
        Energy per fp32 add / multiply / multiply-accumulate, joules; used to
        cost FLOP budgets of conventional solvers (0 if the profile has none).
    core_capacity
        Neurons (compartments) per core; ``0`` if not applicable.
    payload_bits
        Payload bits one message (spike) carries at the per-event costs; a message of
        ``b`` bits costs ``ceil(b / payload_bits)`` spikes (module docstring).
    latency_synaptic_op, latency_neuron_update, latency_spike_out, latency_hop_x, latency_hop_y
        Time per event in seconds (``0``: unknown), for :func:`busy_seconds`.
    sources
        Citation of every non-zero constant, keyed by field name.
    """

    name: str
    synaptic_op: float = 0.0
    neuron_update: float = 0.0
    spike_out: float = 0.0
    hop_x: float = 0.0
    hop_y: float = 0.0
    static_power_core: float = 0.0
    static_power_neuron: float = 0.0
    flop_add: float = 0.0
    flop_mult: float = 0.0
    flop_mac: float = 0.0
    core_capacity: int = 0
    payload_bits: int = 32
    latency_synaptic_op: float = 0.0
    latency_neuron_update: float = 0.0
    latency_spike_out: float = 0.0
    latency_hop_x: float = 0.0
    latency_hop_y: float = 0.0
    description: str = ""
    sources: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("EnergyProfile.name must be a non-empty string")
        for f in fields(self):
            if f.name in ("name", "description", "sources"):
                continue
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"profile {self.name!r}: {f.name} must be a finite number >= 0, got {v!r}")
        if not isinstance(self.payload_bits, int) or isinstance(self.payload_bits, bool) or self.payload_bits < 1:
            raise ConfigError(f"profile {self.name!r}: payload_bits must be an integer >= 1, "
                              f"got {self.payload_bits!r}")

    def words(self, bits: int) -> int:
        """Hardware spikes that carry one message of ``bits`` payload bits:
        ``ceil(bits / payload_bits)`` (at least 1)."""
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
            raise ConfigError(f"payload bits must be an integer >= 1, got {bits!r}")
        return max(1, -(-int(bits) // self.payload_bits))

    def event_cost(self, kind: str) -> float:
        """Energy (J) of one event of ``kind`` (one of :data:`EVENT_KINDS`)."""
        return {"synaptic_ops": self.synaptic_op, "neuron_updates": self.neuron_update,
                "spikes_out": self.spike_out, "hops_x": self.hop_x, "hops_y": self.hop_y}[kind]

    def flop_energy(self, adds: float = 0, mults: float = 0, macs: float = 0) -> float:
        """Energy (J) of a FLOP budget: ``adds e_add + mults e_mult + macs e_mac``.

        Raises
        ------
        ConfigError
            If the profile has no FLOP costs.
        """
        if self.flop_add == self.flop_mult == self.flop_mac == 0:
            raise ConfigError(f"profile {self.name!r} has no FLOP costs (use 'cmos45')")
        return adds * self.flop_add + mults * self.flop_mult + macs * self.flop_mac


# --- Built-in profiles: every constant cited where it is defined ---------------

_GRADED = ("Orchard et al., 'Efficient neuromorphic signal processing with Loihi 2', IEEE SiPS 2021, and "
           "Intel's Loihi 2 technology brief (2021): graded spikes carry integer payloads of up to 32 bits; "
           "their energy per payload bit is not published (assumed equal to a binary spike's)")

_DAVIES = ("Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip "
           "learning', IEEE Micro 38(1), 2018; values as calibrated in SANA-FE "
           "arch/loihi.yaml (SLAM-Lab/SANA-FE)")

#: Intel Loihi (14 nm).
LOIHI = EnergyProfile(
    name="loihi",
    synaptic_op=35.5 * PJ,      # Davies 2018 / SANA-FE loihi.yaml synapse energy_spike
    neuron_update=72.8 * PJ,    # Davies 2018 / SANA-FE loihi.yaml soma energy_active
    spike_out=76.8 * PJ,        # Davies 2018 / SANA-FE loihi.yaml axon_out energy
    hop_x=3.0 * PJ,             # Davies 2018 / SANA-FE loihi.yaml energy_east/west (4.1 ns)
    hop_y=4.2 * PJ,             # Davies 2018 / SANA-FE loihi.yaml energy_north/south (6.5 ns)
    core_capacity=1024,         # Davies 2018: 1,024 compartments per neurocore
    payload_bits=32,            # Loihi 2-class graded spikes: up to 32-bit payload (Orchard et al. 2021);
                                # ASSUMPTION: a graded spike costs the Loihi 1 per-event energies above
    latency_synaptic_op=4.0e-9,     # SANA-FE loihi.yaml synapse latency_spike
    latency_neuron_update=9.7e-9,   # SANA-FE loihi.yaml soma latency_active
    latency_spike_out=7.6e-9,       # SANA-FE loihi.yaml axon_out latency
    latency_hop_x=4.1e-9,           # SANA-FE loihi.yaml latency_east/west
    latency_hop_y=6.5e-9,           # SANA-FE loihi.yaml latency_north/south
    description="Intel Loihi, 14 nm, with Loihi 2-class graded spikes (<= 32-bit payload per spike at the "
                "Loihi per-event cost: an assumption); static power not in the cited sources (0 here; set it "
                "in a TOML profile)",
    sources={**{k: _DAVIES for k in ("synaptic_op", "neuron_update", "spike_out", "hop_x", "hop_y", "core_capacity",
                                     "latency_synaptic_op", "latency_neuron_update", "latency_spike_out",
                                     "latency_hop_x", "latency_hop_y")},
             "payload_bits": _GRADED},
)

#: IBM TrueNorth (28 nm): 26 pJ per synaptic event is the all-in figure.
TRUENORTH = EnergyProfile(
    name="truenorth",
    synaptic_op=26.0 * PJ,      # Merolla et al., Science 345:668, 2014: 26 pJ per synaptic event
    core_capacity=256,          # Merolla et al. 2014: 256 neurons per core
    payload_bits=1,             # Merolla et al. 2014: binary spikes (a b-bit message is b spikes)
    description="IBM TrueNorth; 26 pJ per synaptic event includes neuron and routing costs",
    sources={"synaptic_op": "Merolla et al., Science 345:668, 2014",
             "core_capacity": "Merolla et al., Science 345:668, 2014",
             "payload_bits": "Merolla et al., Science 345:668, 2014: binary spikes, no payload"},
)

#: SpiNNaker 1 (ARM968 cores, 130 nm).
SPINNAKER = EnergyProfile(
    name="spinnaker",
    synaptic_op=43.0 * NJ,      # Sharp et al., J. Neurosci. Methods 210:110, 2012: 43 nJ per PSP
    static_power_neuron=100.0 * NJ / 1e-3,  # Sharp et al. 2012: 100 nJ per neuron per ms = 1e-4 W
    payload_bits=32,            # Furber et al., Proc. IEEE 102:652, 2014: multicast packets carry an optional 32-bit
                                # payload (ASSUMPTION: at the cost of a packet without one)
    description="SpiNNaker 1; 43 nJ per postsynaptic potential plus 100 nJ per neuron per ms",
    sources={"synaptic_op": "Sharp et al., J. Neurosci. Methods 210:110, 2012",
             "static_power_neuron": "Sharp et al., J. Neurosci. Methods 210:110, 2012",
             "payload_bits": "Furber et al., 'The SpiNNaker project', Proc. IEEE 102:652, 2014 (32-bit payload)"},
)

_HOROWITZ = "Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm, fp32)"
#: Conventional 45 nm CMOS arithmetic (fp32). Event costs are the FLOPs the
#: event-driven rule performs (arithmetic only, no memory traffic):
#: synaptic op = advance and reschedule one edge accumulator,
#: ``a += J (t - t0)`` (1 add + 1 MAC), ``J = g (u_i - u_j)`` (1 add + 1 mult),
#: ``t* = t + (s q - a) / J`` (2 adds + 1 mult) -> 4 adds, 2 mults, 1 MAC;
#: neuron update = ``u = (base + q n) / V`` (1 MAC); spike out = 0. A message word is
#: one fp32 number (``payload_bits = 32``): each further word is one more synaptic op.
_ADD, _MULT, _MAC = 0.9 * PJ, 3.7 * PJ, 4.6 * PJ  # Horowitz 2014: fp32 add / mult / MAC
CMOS45 = EnergyProfile(
    name="cmos45",
    synaptic_op=4 * _ADD + 2 * _MULT + _MAC,
    neuron_update=_MAC,
    flop_add=_ADD, flop_mult=_MULT, flop_mac=_MAC,
    payload_bits=32,            # one fp32 operand per word (a modelling choice, not a measured constant)
    description="45 nm CMOS fp32 arithmetic only (lower bound: excludes memory and control)",
    sources={k: _HOROWITZ for k in ("synaptic_op", "neuron_update", "flop_add", "flop_mult", "flop_mac")},
)

#: Built-in profiles by name.
PROFILES: dict[str, EnergyProfile] = {p.name: p for p in (LOIHI, TRUENORTH, SPINNAKER, CMOS45)}

#: Names of the built-in profiles, in this order (the default set every table,
#: sweep and experiment costs a run on; :data:`PROFILES` may grow with
#: :func:`load_profiles`).
PROFILE_NAMES: tuple[str, ...] = tuple(PROFILES)


def get_profile(profile: str | EnergyProfile) -> EnergyProfile:
    """A profile by name (case-insensitive) or the profile itself.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the known ones).
    """
    return by_name(profile, EnergyProfile, PROFILES, "energy profile", " (or load your own with load_profiles)")


def by_name(profile: Any, kind: type, table: MappingABC, what: str, hint: str = "") -> Any:
    """``profile`` itself if it is a ``kind``, else ``table[str(profile).lower()]``.

    Raises
    ------
    ConfigError
        For an unknown name: ``unknown <what> ...; known: [...]<hint>``.
    """
    if isinstance(profile, kind):
        return profile
    key = str(profile).lower()
    if key not in table:
        raise ConfigError(f"unknown {what} {profile!r}; known: {sorted(table)}{hint}")
    return table[key]


_UNITS = {"j": 1.0, "mj": 1e-3, "uj": 1e-6, "nj": 1e-9, "pj": 1e-12, "fj": 1e-15,
          "w": 1.0, "mw": 1e-3, "uw": 1e-6, "nw": 1e-9,
          "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


def _quantity(name: str, value: Any) -> float:
    """A TOML value: a number in SI units or a string like ``"35.5 pJ"``."""
    if isinstance(value, bool):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        parts = value.strip().split()
        if len(parts) == 2 and parts[1].lower() in _UNITS:
            try:
                return float(parts[0]) * _UNITS[parts[1].lower()]
            except ValueError:
                pass
    raise ConfigError(f"{name}: expected a number (SI units) or '<number> <unit>' with unit in "
                     f"{sorted(_UNITS)}, got {value!r}")


def load_profiles(path: str | Path, register: bool = False) -> dict[str, EnergyProfile]:
    """User energy profiles from a TOML file.

    Each table ``[profile.NAME]`` (or top-level ``[NAME]``) defines one profile;
    keys are the :class:`EnergyProfile` fields, numbers in SI units (J, W, s) or
    strings with a unit (``"35.5 pJ"``, ``"2 mW"``, ``"4 ns"``); ``base = "loihi"`` starts
    from a built-in profile; ``sources`` is a table of citations. Example::

        [profile.loihi2]
        base = "loihi"
        synaptic_op = "6.8 pJ"   # Intel Hala Point, 2024 (derived, unverified)
        sources = { synaptic_op = "Intel, Apr 2024" }

    Parameters
    ----------
    path
        TOML file.
    register
        Also add the profiles to :data:`PROFILES`.

    Raises
    ------
    ConfigError
        On unknown keys, a bad unit or a negative cost.
    """
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    tables = data.get("profile", data)
    if not isinstance(tables, MappingABC) or not tables:
        raise ConfigError(f"{path}: no [profile.NAME] tables found")
    known = {f.name for f in fields(EnergyProfile)} - {"name"}
    out = {}
    for name, table in tables.items():
        if not isinstance(table, MappingABC):
            raise ConfigError(f"{path}: profile {name!r} must be a table")
        table = dict(table)
        base = table.pop("base", None)
        values = asdict(get_profile(base)) if base is not None else {}
        values.pop("name", None)
        values["sources"] = dict(values.get("sources", {}))
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"{path}: profile {name!r}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        for key, value in table.items():
            if key == "sources":
                values["sources"].update(dict(value))
            elif key == "description":
                values[key] = str(value)
            elif key in ("core_capacity", "payload_bits"):
                values[key] = int(value)
            else:
                values[key] = _quantity(f"{name}.{key}", value)
        out[name.lower()] = EnergyProfile(name=name.lower(), **values)
    if register:
        PROFILES.update(out)
    return out


# --- Counting events ---------------------------------------------------------

@dataclass(frozen=True)
class EventCounts:
    """Hardware event counts of one run (see the module docstring).

    ``packets`` is the total number of CFQ packets; ``cores`` the number of cores
    in use and ``neurons`` the number of cells (for static power). The event kinds
    (``synaptic_ops`` ... ``hops_y``) are those of the packets; ``messages`` holds
    the other message kinds, ``{kind: {"count": n, "bits": b}}``, costed per profile
    (their hardware spikes depend on its ``payload_bits``), and ``hops_per_message``
    the mean ``(x, y)`` NoC hops of a packet, charged to each of their words.
    """

    packets: int
    synaptic_ops: int
    neuron_updates: int
    spikes_out: int
    hops_x: int = 0
    hops_y: int = 0
    cores: int = 1
    neurons: int = 0
    messages: dict = field(default_factory=dict)
    hops_per_message: tuple = (0.0, 0.0)

    def as_dict(self) -> dict:
        return asdict(self)


def message_counts(result: Any) -> dict[str, dict[str, int]]:
    """Messages between neurons by kind, ``{kind: {"count": n, "bits": b}}``.

    Read from ``result.events`` and ``result.event_bits`` when the run reports them;
    a result without them (an older file, an order-1 run of an older evsim) sent
    ``result.spikes`` packets of 1 bit.

    Raises
    ------
    ValueError
        If ``events["packet"]`` disagrees with ``result.spikes`` or a kind has no payload.
    """
    events = getattr(result, "events", None)
    if not events:
        return {PACKET: {"count": int(result.spikes), "bits": 1}}
    bits = dict(getattr(result, "event_bits", None) or {})
    out = {}
    for kind, count in events.items():
        if kind not in bits:
            raise ValueError(f"result.events has kind {kind!r} without a payload in result.event_bits")
        out[str(kind)] = {"count": int(count), "bits": int(bits[kind])}
    if out.get(PACKET, {"count": int(result.spikes)})["count"] != int(result.spikes):
        raise ValueError(f"result.events['packet'] = {out[PACKET]['count']} != result.spikes = {result.spikes}")
    return out


def _cell_events(result: Any, synapse_model: str) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """``(N, edges, changes, synops)`` of a run, per cell.

    ``changes[c] = s_c + r_c`` (packets sent and received by cell ``c``) and
    ``synops[c]`` its synaptic ops: ``changes[c] deg(c)`` (``"fanout"``) or
    ``r_c`` (``"packet"``).
    """
    if synapse_model not in ("fanout", "packet"):
        raise ConfigError(f"synapse_model must be 'fanout' or 'packet', got {synapse_model!r}")
    n = cell_count(result)
    edges = np.asarray(result.edges, dtype=np.int64).reshape(-1, 2)
    received = np.asarray(result.node_received, dtype=np.int64)[:n]
    changes = np.asarray(result.node_spikes, dtype=np.int64)[:n] + received
    if synapse_model == "fanout":
        synops = changes * np.bincount(edges.ravel(), minlength=n)[:n]
    else:
        synops = received
    return n, edges, changes, synops


def event_counts(result: Any, mapping: Mapping | None = None,
                 synapse_model: str = "fanout") -> EventCounts:
    """Hardware event counts of a run.

    Parameters
    ----------
    result
        An :class:`evsim.Result` (or any object with ``potential``, ``edges``,
        ``edge_spikes``, ``edge_flow``, ``node_spikes``, ``node_received`` and
        ``spikes``).
    mapping
        Optional :class:`evsim.analysis.mapping.Mapping` of the cells onto
        cores; gives the NoC hops (XY routing) and the number of cores.
    synapse_model
        ``"fanout"`` (default): ``sum_c (s_c + r_c) deg(c)`` synaptic ops;
        ``"packet"``: ``sum_c r_c``.

    Returns
    -------
    EventCounts
    """
    n, edges, changes, synops = _cell_events(result, synapse_model)
    packets = int(result.spikes)
    if int(np.asarray(result.edge_spikes, dtype=np.int64).sum()) != packets:
        raise ValueError("result.spikes != sum(result.edge_spikes)")
    hx = hy = 0
    cores = 1
    if mapping is not None:
        forward, backward = directed_counts(result)
        dx, dy = mapping.edge_hops(edges, n)
        total = forward + backward
        hx, hy = int(np.dot(total, dx)), int(np.dot(total, dy))
        cores = mapping.cores_used
    others = {k: v for k, v in message_counts(result).items() if k != PACKET}
    per = (hx / packets, hy / packets) if packets else (0.0, 0.0)
    return EventCounts(packets=packets, synaptic_ops=int(synops.sum()), neuron_updates=int(changes.sum()),
                       spikes_out=packets, hops_x=hx, hops_y=hy, cores=cores, neurons=n,
                       messages=others, hops_per_message=per)


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one run on one profile, by event kind (joules).

    ``energy[k] = counts[k] * costs[k]`` for the dynamic kinds and
    ``energy["static"] = (P_core cores + P_neuron neurons) seconds``;
    ``total = sum(energy.values())``. ``messages`` splits the dynamic energy by
    message kind: ``{kind: {"count", "bits", "words", "energy"}}`` (``words``: hardware
    spikes per message on this profile); its energies sum to the dynamic total.
    """

    profile: str
    counts: dict
    costs: dict
    energy: dict
    seconds: float
    total: float
    messages: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def energy(result_or_counts: Any, profile: str | EnergyProfile = "loihi", mapping: Mapping | None = None,
           seconds: float | None = None, synapse_model: str = "fanout") -> EnergyBreakdown:
    """Energy breakdown of a run (or of :class:`EventCounts`) on a profile.

    .. math:: E = \\sum_{k} n_k e_k + (P_\\mathrm{core} C + P_\\mathrm{neuron} N)\\, t_\\mathrm{hw}

    Parameters
    ----------
    result_or_counts
        An :class:`evsim.Result` or precomputed :class:`EventCounts`.
    profile
        Profile name or :class:`EnergyProfile`.
    mapping
        Optional cell-to-core mapping (NoC hops); ignored for ``EventCounts``.
    seconds
        Hardware run time ``t_hw`` for the static term; default 0 (no static
        energy). Pass e.g. ``result.t_final * seconds_per_time_unit``.
    synapse_model
        See :func:`event_counts`.
    """
    prof = get_profile(profile)
    counts = (result_or_counts if isinstance(result_or_counts, EventCounts)
              else event_counts(result_or_counts, mapping, synapse_model))
    seconds = 0.0 if seconds is None else float(seconds)
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"seconds must be finite and >= 0, got {seconds}")
    c = counts.as_dict()
    costs = {k: prof.event_cost(k) for k in EVENT_KINDS}
    total_counts = {k: c[k] for k in EVENT_KINDS}
    messages = {PACKET: {"count": counts.packets, "bits": 1, "words": 1,
                         "energy": float(sum(c[k] * costs[k] for k in EVENT_KINDS))}}
    hx, hy = counts.hops_per_message
    for kind, m in counts.messages.items():
        words = m["count"] * prof.words(m["bits"])
        extra = {"spikes_out": words, "synaptic_ops": words, "hops_x": words * hx, "hops_y": words * hy}
        for k, n in extra.items():
            total_counts[k] += n
        messages[kind] = {"count": int(m["count"]), "bits": int(m["bits"]), "words": prof.words(m["bits"]),
                          "energy": float(sum(n * costs[k] for k, n in extra.items()))}
    parts = {k: total_counts[k] * costs[k] for k in EVENT_KINDS}
    static_power = prof.static_power_core * counts.cores + prof.static_power_neuron * counts.neurons
    costs["static"] = static_power
    parts["static"] = static_power * seconds
    return EnergyBreakdown(profile=prof.name, counts=total_counts,
                           costs=costs, energy=parts, seconds=seconds,
                           total=float(sum(parts.values())), messages=messages)


def energy_table(result_or_counts: Any, profiles: Iterable[str | EnergyProfile] | None = None,
                 mapping: Mapping | None = None, seconds: float | None = None,
                 synapse_model: str = "fanout") -> dict[str, dict]:
    """Energy breakdowns on several profiles as plain dicts (JSON-ready).

    Returns ``{profile: EnergyBreakdown.as_dict()}``; ``profiles`` defaults to all
    of :data:`PROFILES`.
    """
    counts = (result_or_counts if isinstance(result_or_counts, EventCounts)
              else event_counts(result_or_counts, mapping, synapse_model))
    names = list(PROFILES) if profiles is None else list(profiles)
    return {get_profile(p).name: energy(counts, p, seconds=seconds).as_dict() for p in names}


def energy_by_kind(result_or_counts: Any, profile: str | EnergyProfile = "loihi",
                   mapping: Mapping | None = None) -> dict[str, float]:
    """Dynamic energy (J) of each message kind of a run on ``profile``,
    ``{kind: joules}`` (:attr:`EnergyBreakdown.messages`), plus ``"total"``."""
    b = energy(result_or_counts, profile, mapping)
    out = {k: m["energy"] for k, m in b.messages.items()}
    out["total"] = b.total
    return out


def busy_seconds(result: Any, profile: str | EnergyProfile = "loihi", mapping: Mapping | None = None,
                 synapse_model: str = "fanout") -> dict:
    """Lower bound on the hardware run time from per-event latencies (throughput bound).

    Cores and links work in parallel, each serially through its own events:

    .. math:: t_\\mathrm{hw} \\ge \\max\\Big(\\max_k \\sum_{c \\in k}
              (n^\\mathrm{syn}_c \\ell_\\mathrm{syn} + n^\\mathrm{upd}_c \\ell_\\mathrm{upd}
              + n^\\mathrm{out}_c \\ell_\\mathrm{out}),\\ \\max_l L_l \\ell_{\\mathrm{hop}(l)}\\Big),

    with per-cell counts as in :func:`event_counts` (a packet sent by a
    reservoir is emitted on its cell's core) and ``L_l`` the packets over link
    ``l`` (:func:`evsim.analysis.mapping.traffic`); without a mapping every cell
    sits on one core. Pass the result as ``seconds`` to :func:`energy` for the
    static term.

    Returns
    -------
    dict
        ``seconds`` (the bound), ``core_seconds`` (per core), ``link_seconds_max``,
        ``bottleneck`` (``"core k"`` or ``"link l"``).

    Raises
    ------
    ConfigError
        If the profile has no event latencies.
    """
    prof = get_profile(profile)
    lat = (prof.latency_synaptic_op, prof.latency_neuron_update, prof.latency_spike_out)
    if not any(lat):
        raise ConfigError(f"profile {prof.name!r} has no event latencies")
    n, edges, changes, synops = _cell_events(result, synapse_model)
    fwd, bwd = directed_counts(result)
    a, b = edges[:, 0], edges[:, 1]
    cell_a = np.where(a < n, a, b)   # the cell that emits forward packets (reservoir -> its cell)
    cell_b = np.where(b < n, b, a)
    sent = np.bincount(cell_a, fwd, n) + np.bincount(cell_b, bwd, n)
    work = synops * lat[0] + changes * lat[1] + sent * lat[2]
    if mapping is None:
        core_seconds = np.array([work.sum()])
        link_max, link_id = 0.0, -1
    else:
        core_seconds = np.bincount(mapping.core, work, mapping.mesh.cores)
        load = traffic(result, mapping).link_load.astype(float)
        per_link = load * np.tile([prof.latency_hop_x, prof.latency_hop_x,
                                   prof.latency_hop_y, prof.latency_hop_y], mapping.mesh.cores)
        link_id = int(np.argmax(per_link)) if per_link.size else -1
        link_max = float(per_link.max(initial=0.0))
    k = int(np.argmax(core_seconds))
    seconds = max(float(core_seconds[k]), link_max)
    return {"seconds": seconds, "core_seconds": core_seconds.tolist(), "link_seconds_max": link_max,
            "bottleneck": f"core {k}" if core_seconds[k] >= link_max else f"link {link_id}"}
