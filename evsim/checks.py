"""Checks that catch scale problems and stalled clocks, which would otherwise give
wrong fields or runs that never end without saying so.

Before a run, :func:`check_scales` compares the quota with the floating-point
scales of the problem; :func:`evsim.simulate` calls it on every run. A cell stores
its mass as ``m_i = b_i + q n_i`` with ``b_i = V_i u_i(0)`` and its potential is
``u_i = m_i / V_i``, so

* **float resolution**: a packet changes ``u_i`` by ``q / V_i``; once that is
  below a few units in the last place of ``u_i``, i.e.

  .. math:: \\frac{|u| \\, V_i}{q} > 2^{50},

  packets no longer change the potential and the field goes flat. Diffusion
  depends only on potential differences, so a constant offset ``c`` can be taken
  out of every potential (cells and reservoirs) and added back to the recorded
  fields; :func:`potential_offset` finds one when the subtraction is exact
  (Sterbenz: ``c / 2 <= u <= 2 c`` for every potential), so the packets are
  exactly those of the problem written without the offset.
* **quota against the mass scale**: with ``q >= V_i (max u - min u)`` a single
  packet moves cell ``i`` by the whole range of the data: either no packet fires
  and the field is frozen, or the cell leaves the data's range.
* **extreme values**: a subnormal quota or volume, or a base ``V_i u_i``, a jump
  ``q / V_i`` or a flux ``g_ij (u_i - u_j)`` that overflows, is an error.

During a run, :func:`stalled` tells whether the simulated clock advanced over a
chunk of events (a flux overflow freezes it at one time, a stiff edge chatters
forward by ~1e-300 per event); :func:`stall_message` names the cause and the
edge of the next event.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from .errors import ConfigError, GraphError
from .network import SOURCE_NODE, Network

__all__ = ["ScaleWarning", "StallWarning", "check_scales", "potential_offset", "shift_network",
           "stalled", "stall_message", "RESOLUTION_LIMIT", "STALL_RTOL", "STALL_MIN_EVENTS"]

#: Largest ``|u| V / q`` at which a packet still changes a potential by >= 4 ulps.
RESOLUTION_LIMIT = 2.0 ** 50
#: A chunk of events is stalled when the time left is more than ``1 / STALL_RTOL``
#: times what the chunk advanced the clock by (:func:`stalled`).
STALL_RTOL = 1e-12
#: Fewest events in a chunk for the stall test to apply (the SimPy engine's chunk).
STALL_MIN_EVENTS = 1 << 14

_TINY = np.finfo(float).tiny


class ScaleWarning(UserWarning):
    """The quota and the problem's scales give a coarse or a wrong field; says the fix."""


class StallWarning(RuntimeWarning):
    """A run stopped because its clock stalled (``stop_reason == "stalled"``)."""


def _potentials(network: Network, u0: np.ndarray) -> np.ndarray:
    """Initial potentials of the cells and of the reservoirs that have a
    conductance (the internal source reservoir only drives a constant flux)."""
    keep = [label != SOURCE_NODE for label in network.nodes[network.cells:]]
    return np.concatenate([u0, network.reservoir_potential[keep]])


def potential_offset(network: Network, u0: np.ndarray) -> float:
    """An offset ``c`` that can be subtracted exactly from every potential, or 0.

    ``c`` is the midpoint of the potentials' range; ``u - c`` is exact for
    every potential ``u`` when all lie within ``[c / 2, 2 c]`` (Sterbenz's lemma),
    which holds for data far from zero relative to its spread, the case where
    float resolution is lost.
    """
    u = _potentials(network, u0)
    c = float(0.5 * u.min() + 0.5 * u.max())
    lo, hi = sorted((c / 2, 2 * c))
    return c if c != 0 and np.all((u >= lo) & (u <= hi)) else 0.0


def shift_network(network: Network, offset: float) -> Network:
    """``network`` with ``offset`` subtracted from its reservoir potentials (not the
    source reservoir's, which carries no conductance)."""
    keep = np.array([label != SOURCE_NODE for label in network.nodes[network.cells:]], dtype=bool)
    pot = np.where(keep, network.reservoir_potential - offset, network.reservoir_potential)
    pot.flags.writeable = False
    return dataclasses.replace(network, reservoir_potential=pot)


def _resolution_ratio(network: Network, u0: np.ndarray, quota: float) -> tuple[float, int]:
    """``max_i |u|_max V_i / q`` and the cell where it is largest."""
    umax = float(np.abs(_potentials(network, u0)).max())
    i = int(np.argmax(network.volume))
    return umax * float(network.volume[i]) / quota, i


def check_scales(network: Network, u0: np.ndarray, quota: float, order: int = 1) -> float:
    """Check the quota against the scales of a problem before it is simulated.

    Parameters
    ----------
    network, u0, quota
        What :func:`evsim.simulate` is about to run (``u0`` in cell order).
    order
        The CFQ order; at order 2 the quota does not set the accuracy (the
        potentials count the unsettled flux, :mod:`evsim.trajectory`), so a quota
        above a cell's mass range is not warned about.

    Returns
    -------
    float
        An offset ``c`` to take out of every potential first (and add back to the
        recorded fields), 0 if none is needed. It is returned only when the float
        resolution criterion ``|u| V_i / q > 2^50`` fails without it, holds with
        it and the subtraction is exact (:func:`potential_offset`).

    Raises
    ------
    ConfigError
        A subnormal quota (``q < 2.2e-308``).
    GraphError
        A subnormal volume, or a base ``V_i u_i``, a potential jump ``q / V_i`` or
        an initial flux ``g_ij (u_i - u_j)`` that overflows; names the cell or edge.

    Warns
    -----
    ScaleWarning
        Float resolution lost and no exact offset (names the cell and the offset to
        subtract), or ``q >= V_i (max u - min u)`` (names the cell and a quota).
    """
    if quota < _TINY:
        raise ConfigError(f"quota {quota!r} is subnormal (below {_TINY:.3g}): fire times and "
                          "potentials lose all precision; rescale the problem")
    volume, nodes = network.volume, network.nodes

    def bad(mask: np.ndarray, what: str) -> None:
        if mask.any():
            k = int(np.flatnonzero(mask)[0])
            raise GraphError(f"cell {nodes[k]!r}: {what} (volume {float(volume[k])!r}, "
                             f"u0 {float(u0[k])!r}, "
                             f"quota {quota!r}); rescale the volumes or the quota")

    with np.errstate(over="ignore", invalid="ignore"):
        bad(volume < _TINY, "the volume is subnormal")
        bad(~np.isfinite(volume * u0), "the mass V u0 overflows")
        bad(~np.isfinite(quota / volume), "the potential jump of one packet, q / V, overflows")
        pot = np.concatenate([u0, network.reservoir_potential])
        i, j = network.edges[:, 0], network.edges[:, 1]
        flux = network.conductance * (pot[i] - pot[j]) + network.drive
    if not np.all(np.isfinite(flux)):
        e = int(np.flatnonzero(~np.isfinite(flux))[0])
        raise GraphError(f"edge ({nodes[i[e]]!r}, {nodes[j[e]]!r}): the initial flux "
                         f"g (u_i - u_j) = {float(network.conductance[e])!r} * "
                         f"({float(pot[i[e]])!r} - {float(pot[j[e]])!r}) overflows; rescale the "
                         "conductances or the potentials")

    offset = 0.0
    ratio, k = _resolution_ratio(network, u0, quota)
    if ratio > RESOLUTION_LIMIT:
        c = potential_offset(network, u0)
        if c and _resolution_ratio(shift_network(network, c), u0 - c, quota)[0] <= RESOLUTION_LIMIT:
            offset = c
        else:
            u = _potentials(network, u0)
            mid = float(0.5 * u.min() + 0.5 * u.max())
            spread = float(np.abs(u - mid).max()) * float(network.volume.max()) / quota
            fix = (f"subtract a constant (about {mid:.17g}) from u0 and every reservoir potential "
                   "and add it back to the fields (no exactly representable one was found)"
                   if spread <= RESOLUTION_LIMIT else
                   f"raise the quota above {quota * spread / RESOLUTION_LIMIT:.3g} (the data's "
                   "spread alone is below the float resolution of this quota)")
            warnings.warn(
                f"cell {nodes[k]!r}: |u| V / q = {ratio:.3g} > 2^50: a packet changes the "
                f"potential by less than its float resolution and the field goes flat; {fix}",
                ScaleWarning, stacklevel=3)
    u = _potentials(network, u0)
    spread = float(u.max() - u.min())
    if spread > 0 and order == 1:
        k = int(np.argmin(volume))
        scale = float(volume[k]) * spread
        if quota >= scale:
            warnings.warn(
                f"cell {nodes[k]!r}: quota {quota!r} >= V (max u - min u) = {scale!r}: one packet "
                "moves the cell across the data's whole range (a frozen field or values outside "
                f"it); use a quota well below {scale:.3g}, or rescale the volumes",
                ScaleWarning, stacklevel=3)
    return offset


def stalled(t_before: float, t_after: float, events: int, t_end: float) -> bool:
    """Whether a chunk of ``events`` events left the clock stalled.

    Stalled: the clock is not finite, or, over a chunk of at least
    ``STALL_MIN_EVENTS`` events that advanced it by ``dt = t_after - t_before``,
    the time left is more than ``1 / STALL_RTOL`` such chunks,

    .. math:: t_{end} - t_{after} > \\frac{t_{after} - t_{before}}{\\epsilon},
              \\qquad \\epsilon = 10^{-12} ,

    (a frozen clock, ``dt = 0``, or one chattering forward by ~1e-300 per event:
    more than ``10^{16}`` events before ``t_end``, a run that never ends).
    """
    if not math.isfinite(t_after):
        return True
    if events < STALL_MIN_EVENTS:
        return False
    return t_end - t_after > (t_after - t_before) / STALL_RTOL


def stall_message(network: Network, potential: np.ndarray, rate: np.ndarray, slot: int,
                  t: float, quota: float) -> str:
    """Why the clock stalled, naming the edge of the next event (slot ``slot``)."""
    nodes, E = network.nodes, network.size
    bad = np.flatnonzero(~np.isfinite(potential))
    if bad.size or not math.isfinite(t):
        where = f" (cell {nodes[int(bad[0])]!r})" if bad.size else ""
        return (f"the clock stalled at t = {t!r}: non-finite potentials or fluxes{where}, a flux "
                "overflow; rescale the conductances, volumes or potentials")
    e = slot % E if E else 0
    a, b = nodes[int(network.edges[e, 0])], nodes[int(network.edges[e, 1])]
    j = float(rate[e]) if E else math.nan
    if not math.isfinite(j):
        return (f"the clock stalled at t = {t!r}: the flux on edge ({a!r}, {b!r}) is {j!r} "
                "(overflow); rescale the conductances or potentials")
    step = quota / abs(j) if j else math.inf
    return (f"the clock stalled at t = {t!r}: the events chatter on edge ({a!r}, {b!r}) "
            f"(conductance {float(network.conductance[e])!r}, flux {j!r}), each advancing time "
            f"by about q / |J| = {step:.3g} (the float spacing of t is {math.ulp(t):.3g}): the "
            "edge is too stiff for this quota (lower its conductance or raise the quota), or the "
            "quota too large for its cells' volumes (a ScaleWarning said so)")
