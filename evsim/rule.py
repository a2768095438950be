"""The C-LIF / CFQ physics rule, written once and called by every engine.

Finite-volume view of a conservation law on a graph of cells and reservoirs:

.. math:: \\frac{d m_i}{dt} = -\\sum_j J_{ij} + S_i, \\qquad
          J_{ij} = g_{ij} (u_i - u_j) + d_{ij}, \\qquad u_i = m_i / V_i ,

with conductance ``g_ij > 0`` and a constant drive ``d_ij`` (used for
constant sources). A cell stores its mass as ``m_i = b_i + q n_i`` with a real
base ``b_i = V_i u_i(0)`` and an integer packet count ``n_i`` (the ledger).

Each edge integrates its flux exactly into an accumulator ``a_ij``; the flux is
constant between events that touch ``i`` or ``j``, so the accumulator reaches
``+q`` or ``-q`` at the exactly computed time

.. math:: t^* = t + \\frac{\\pm q - a_{ij}}{J_{ij}} .

At ``t*`` the edge fires (:func:`fire`): the packet's sign ``s = sign(J_ij)``
(``+1`` forward, from ``i`` to ``j``; ``-1`` backward) says which end sends
(:func:`ends`), ``a_ij -= s q``, and one packet of mass ``q`` leaves the
sender's ledger, ``n_sender -= 1``. It joins the receiver at once,
``n_receiver += 1``, or, on an edge with latency or a network-on-chip route,
the packets in transit, ``n_T += 1``, until it arrives (:func:`route_delay`,
:func:`route`): ``n_T -= 1``, ``n_receiver += 1``. Every change is one packet
between two integer counts (:func:`deposit` of ``SEND`` and of ``RECEIVE``),
so ``sum_i n_i + n_T`` never changes and the mass
``sum_i b_i + q (sum_i n_i + n_T)`` is conserved exactly. Every edge incident
to a cell whose mass changed is then advanced to the event time, its flux
recomputed and its next firing rescheduled.

These functions are plain Python; :mod:`evsim.kernel` compiles the very same
functions with numba and the SimPy engine calls them as they are, so both
engines perform identical floating-point operations and produce bit-identical
spike sequences.
"""
from __future__ import annotations

import math

__all__ = ["potential", "flux", "advance", "fire_delay", "fire", "ends", "deposit", "route",
           "route_delay", "SEND", "RECEIVE"]

#: Ledger change of the count a packet leaves (the sender's at a firing, the packets in
#: transit at an arrival) and of the count it joins (the receiver's, or transit's).
SEND, RECEIVE = -1, 1


def potential(base: float, count: int, quota: float, volume: float) -> float:
    """Potential of a cell, ``u = (b + q n) / V``."""
    return (base + quota * count) / volume


def flux(conductance: float, u_from: float, u_to: float, drive: float) -> float:
    """Flux along an edge, ``J = g (u_from - u_to) + d`` (positive: forward)."""
    return conductance * (u_from - u_to) + drive


def advance(accumulator: float, rate: float, dt: float) -> float:
    """Accumulator after integrating a constant flux for ``dt``: ``a + J dt``."""
    return accumulator + rate * dt


def fire_delay(accumulator: float, rate: float, quota: float) -> float:
    """Time until ``|a|`` reaches ``q`` under flux ``J``: ``(±q - a) / J``.

    Returns ``inf`` for ``J == 0``; never negative (an accumulator that already
    overshot by rounding fires at once).
    """
    if rate > 0.0:
        delay = (quota - accumulator) / rate
    elif rate < 0.0:
        delay = (-quota - accumulator) / rate
    else:
        return math.inf
    return delay if delay > 0.0 else 0.0


def fire(accumulator: float, rate: float, quota: float) -> tuple[int, float]:
    """An edge firing: the packet's sign and the accumulator after the packet left.

    ``accumulator`` is the accumulator advanced to the firing time (``|a| = q`` up
    to rounding) under the flux ``J``; the sign is ``s = +1`` for ``J > 0``
    (forward) and ``-1`` otherwise, and the packet takes ``s q`` away.

    Returns
    -------
    sign : int
        ``+1`` (the packet travels from the edge's source to its destination)
        or ``-1`` (the other way).
    accumulator : float
        ``a - s q``.
    """
    sign = 1 if rate > 0.0 else -1
    return sign, accumulator - sign * quota


def ends(sign: int, src: int, dst: int) -> tuple[int, int]:
    """``(sender, receiver)`` of a packet of sign ``sign`` on the edge ``src -> dst``."""
    return (src, dst) if sign > 0 else (dst, src)


def deposit(count: int, packets: int) -> int:
    """A ledger count after ``packets`` packets joined it: ``n + packets``.

    Each packet is deposited twice, ``SEND`` (``-1``) where it leaves and
    ``RECEIVE`` (``+1``) where it goes: a firing from the sender to the
    receiver or to the packets in transit, an arrival from transit to the
    receiver. Integer counts, so the total ``sum_i n_i + n_T`` is exactly
    invariant.
    """
    return count + packets


def route(edge: int, sign: int) -> int:
    """Index of the network-on-chip route of a packet of sign ``sign`` on ``edge``:
    ``2 edge`` forward, ``2 edge + 1`` backward (see :class:`evsim.Routing`)."""
    return 2 * edge + (0 if sign > 0 else 1)


def route_delay(t: float, lo: int, hi: int, links, service, free) -> float:
    """Time a packet sent at ``t`` leaves the last link of its route.

    The route is ``links[lo:hi]``; each link serves packets first come first
    served, one per ``service[l]`` time units:
    ``t <- max(t, free[l]) + service[l]``, ``free[l] <- t``. ``free`` is
    updated in place.
    """
    for k in range(lo, hi):
        link = links[k]
        start = t if t > free[link] else free[link]
        t = start + service[link]
        free[link] = t
    return t
