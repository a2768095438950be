"""Export a run to SANA-FE 2.2.9 and compare its figures with :mod:`evsim.analysis.chip`.

The export builds, from a :class:`~evsim.analysis.chip.ChipProfile` and a
:class:`~evsim.analysis.mapping.Mapping`:

architecture
    one SANA-FE tile per evsim core, on the same ``width x height`` mesh (evsim
    core ``(x, y)`` is SANA-FE tile ``x * height + y``, SANA-FE's column-major
    numbering), one core per tile; the soma unit is SANA-FE's ``input`` model
    with the profile's soma costs, so a neuron spikes exactly when the replay
    says; synapses, axons and hops carry the profile's costs; the barrier is
    the profile's sync table.
network
    one neuron per cell on its mapped core, and a zero-weight connection each
    way along every cell-cell edge (the connections set the fan-out and the
    destination cores; zero weight keeps the input somas valid);
activity
    the replay of :func:`evsim.analysis.chip.replay` as each neuron's
    ``spikes`` train (one bool per step).

SANA-FE runs the chip for the replay's steps with its ``simple`` timing model;
:func:`compare` returns its totals and components beside the time-stepped
estimate (``active="fired"``: an input soma is updated only in the steps it
fires). Needs the ``hardware`` extra.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from evsim.errors import ConfigError
from evsim.optional import require

from .chip import ChipProfile, get_chip_profile, replay, stepped_estimate
from .mapping import Mapping
from .packets import cell_count

__all__ = ["architecture", "run_sanafe", "compare", "COMPONENTS"]

#: Components compared: evsim time-stepped kinds summed per SANA-FE energy entry.
COMPONENTS = {"synapse": ("synaptic_ops",), "soma": ("neuron_access", "neuron_updates", "spikes_out"),
              "network": ("messages_out", "messages_in", "hops_x", "hops_y")}

_SOMA, _SYNAPSE = "evsim_cell", "evsim_synapse"


def architecture(profile: ChipProfile, mapping: Mapping) -> dict:
    """The SANA-FE architecture description (a dict in its YAML schema) of ``profile`` on ``mapping``'s mesh."""
    e, lat = profile.energy, profile.latency
    mesh = mapping.mesh
    tile = {"name": f"evsim_tile[0..{mesh.cores - 1}]",
            "attributes": {f"{kind}_{d}_hop": value for d, axis in
                           (("east", "x"), ("west", "x"), ("north", "y"), ("south", "y"))
                           for kind, value in (("energy", e[f"hop_{axis}"]),
                                               ("latency", lat[f"latency_hop_{axis}"]))},
            "core": [{
                "name": "evsim_core",
                "attributes": {"buffer_position": "soma", "buffer_inside_unit": False,
                               "max_neurons_supported": int(mesh.capacity)},
                "axon_in": [{"name": "evsim_in", "attributes": {
                    "energy_message_in": e["message_in"], "latency_message_in": lat["latency_message_in"]}}],
                "soma": [{"name": f"{_SOMA}[0..{max(int(mapping.load.max(initial=1)), 1) - 1}]", "attributes": {
                    "model": "input",
                    "energy_access_neuron": e["access_neuron"], "latency_access_neuron": lat["latency_access_neuron"],
                    "energy_update_neuron": e["update_neuron"], "latency_update_neuron": lat["latency_update_neuron"],
                    "energy_spike_out": e["spike_out"], "latency_spike_out": lat["latency_spike_out"]}}],
                "dendrite": [{"name": "evsim_dendrite", "attributes": {
                    "model": "accumulator", "energy_update": 0.0, "latency_update": 0.0}}],
                "synapse": [{"name": _SYNAPSE, "attributes": {
                    "model": "current_based", "energy_process_spike": e["synaptic_op"],
                    "latency_process_spike": lat["latency_synaptic_op"]}}],
                "axon_out": [{"name": "evsim_out", "attributes": {
                    "energy_message_out": e["message_out"], "latency_message_out": lat["latency_message_out"]}}],
            }]}
    return {"architecture": {
        "name": f"evsim_{profile.name}",
        "attributes": {"topology": "mesh", "width": int(mesh.width), "height": int(mesh.height),
                       "link_buffer_size": 16, "sync_model": "table",
                       "latency_sync": {int(k): float(v) for k, v in profile.sync_seconds.items()}},
        "tile": [tile]}}


def _flow_yaml(value: Any) -> str:
    """``value`` as flow-style YAML: JSON scalars, with integer mapping keys left unquoted."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k if isinstance(k, int) else json.dumps(k)}: {_flow_yaml(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow_yaml(v) for v in value) + "]"
    return json.dumps(value)


def run_sanafe(result: Any, mapping: Mapping, profile: str | ChipProfile = "loihi", dt_hw: float = 1.0,
               steps: int | None = None) -> dict:
    """Run the replay of ``result`` on SANA-FE; its own figures.

    Returns
    -------
    dict
        ``total_joules``, ``energy_joules`` (SANA-FE's ``synapse``, ``dendrite``,
        ``soma``, ``network`` entries), ``chip_seconds`` (its ``sim_time``),
        ``spikes`` (counted in its spike trace), ``synaptic_events`` (its ``spikes``
        entry, which counts synapse activations), ``steps``, ``version``.

    Raises
    ------
    ConfigError
        If the profile's spikes are not binary trains (``"messages"``).
    evsim.errors.OptionalDependencyError
        Without sanafe (``pip install evsim[hardware]``).
    """
    sanafe = require("sanafe", extra="hardware", feature="the SANA-FE comparison")
    prof = get_chip_profile(profile)
    rep = replay(result, dt_hw, prof.spikes, steps)
    n = cell_count(result)
    trains = rep.spike_trains(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "arch.yaml"
        path.write_text(_flow_yaml(architecture(prof, mapping)))
        arch = sanafe.load_arch(str(path))
    net = sanafe.Network()
    group = net.create_neuron_group("cells", n, soma_hw_name=f"{_SOMA}[0]", default_synapse_hw_name=_SYNAPSE,
                                     log_spikes=True)
    cores = [tile.cores[0] for tile in arch.tiles]
    x, y = mapping.mesh.coords(mapping.core)
    tile_of = (x * mapping.mesh.height + y).tolist()
    slot = _slots(mapping.core)
    neurons = group.neurons
    for i in range(n):
        neurons[i].set_attributes(soma_hw_name=f"{_SOMA}[{slot[i]}]", model_attributes={"spikes": trains[i].tolist()})
        neurons[i].map_to_core(cores[tile_of[i]])
    edges = np.asarray(result.edges, dtype=np.int64).reshape(-1, 2)
    for a, b in edges[(edges[:, 0] < n) & (edges[:, 1] < n) & (edges[:, 0] != edges[:, 1])].tolist():
        neurons[a].connect_to_neuron(neurons[b], {"weight": 0.0})
        neurons[b].connect_to_neuron(neurons[a], {"weight": 0.0})
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    out = chip.sim(rep.steps, timing_model="simple", spike_trace=True)
    parts = {k: float(v) for k, v in out["energy"].items() if k != "total"}
    return {"total_joules": float(out["energy"]["total"]), "energy_joules": parts,
            "chip_seconds": float(out["sim_time"]), "spikes": sum(len(s) for s in out["spike_trace"]),
            "synaptic_events": int(out["spikes"]),
            "steps": int(out["timesteps_executed"]), "version": _version()}


def _slots(core: np.ndarray) -> list[int]:
    """Position of each cell among the cells of its core (its own input soma unit there)."""
    order = np.argsort(core, kind="stable")
    start = np.searchsorted(core[order], core[order])
    slot = np.empty(core.size, np.int64)
    slot[order] = np.arange(core.size) - start
    return slot.tolist()


def _version() -> str:
    from importlib.metadata import version

    return version("sanafe")


def compare(result: Any, mapping: Mapping, profile: str | ChipProfile = "loihi", dt_hw: float = 1.0) -> dict:
    """SANA-FE's figures beside evsim's time-stepped estimate, per :data:`COMPONENTS`.

    Returns
    -------
    dict
        ``evsim`` (:meth:`ChipEstimate.as_dict`), ``sanafe`` (:func:`run_sanafe`)
        and ``relative_error``: ``(evsim - sanafe) / sanafe`` of ``total``,
        ``chip_seconds`` and each component (``None`` where SANA-FE has 0).
    """
    est = stepped_estimate(result, mapping, profile, dt_hw, active="fired")
    ref = run_sanafe(result, mapping, profile, dt_hw, steps=est.details["steps"])
    mine = {c: sum(est.breakdown.energy[k] for k in kinds) for c, kinds in COMPONENTS.items()}
    mine.update(total=est.breakdown.total, chip_seconds=est.chip_seconds)
    theirs = {c: ref["energy_joules"].get(c, 0.0) for c in COMPONENTS}
    theirs.update(total=ref["total_joules"], chip_seconds=ref["chip_seconds"])
    if ref["spikes"] != est.breakdown.counts["spikes_out"]:
        raise ConfigError(f"SANA-FE replayed {ref['spikes']} spikes, evsim {est.breakdown.counts['spikes_out']}")
    rel = {k: (mine[k] - theirs[k]) / theirs[k] if theirs[k] else None for k in mine}
    return {"evsim": est.as_dict(), "evsim_components": mine, "sanafe": ref, "sanafe_components": theirs,
            "relative_error": rel}
