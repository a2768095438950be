"""The order-2 CFQ rule (trajectory CFQ): written once, called by both engines.

Order 1 (:mod:`evsim.rule`) makes a cell's potential its ledger mass, so a cell
is wrong by the sub-packet flux its edges hold, ``O(q)``, and accuracy costs
``1/q`` packets. Order 2 separates *what a neuron tells its neighbours* from
*how mass moves*, in the manner of the quantized-state methods QSS2 (Kofman) and
LIQSS2 (Migoni and Kofman), while mass still moves only in integer packets.

What each neuron holds
    Cell ``i``: the ledger ``m_i = b_i + q n_i`` (integer ``n_i``, as at order
    1) and a broadcast *trajectory* ``w_i(t) = U_i + S_i (t - t_i)``, a line
    its neighbours know. Reservoirs broadcast their fixed potential (``S = 0``).
What an edge holds
    The flux ``J_ij(t) = g_ij (w_i(t) - w_j(t)) + d_ij``, linear in time
    between trajectory messages, and its exact integral since the last packet,
    the accumulator ``a_ij(t) = a + J0 tau + J1 tau^2 / 2`` (``J0 = J(t_e)``,
    ``J1 = g_ij (S_i - S_j)``, ``tau = t - t_e``).
The physical state
    The cell's mass counts the flux its edges have carried but not yet
    settled in packets:

    .. math:: M_i(t) = b_i + q n_i - \\sum_{e=(i,j)} a_e(t) + \\sum_{e=(j,i)} a_e(t),
              \\qquad u_i = M_i / V_i ,

    so ``dM_i/dt = -sum_j J_ij`` exactly: ``M`` is the QSS2 state of the
    finite-volume ODE, ``w`` its quantized trajectory. Each accumulator enters
    two cells with opposite signs, so ``sum_i M_i`` changes only through
    reservoir edges.
Packets (1 bit: the sign)
    When ``|a_e|`` reaches ``q`` (the exact root of the quadratic,
    :func:`crossing`), one packet of ``q`` moves from the sender's ledger to the
    receiver's (or into transit) and ``a_e -= s q``. The ledger is exact for
    the same reason as at order 1: packets move integers. A packet delivered at
    once changes no ``M`` (the ledger gains what the accumulator loses), so it
    reschedules nothing but its own edge. With a latency the receiver's ``M``
    lacks the packet while it travels and gains it on arrival.
Trajectory messages (64 bits: value and slope, two 32-bit numbers)
    Cell ``i`` sends a new trajectory to each neighbouring cell when its
    potential has drifted from its broadcast by the tolerance ``delta``,
    ``|u_i(t) - w_i(t)| = delta`` (the root of a quadratic in ``t``,
    :func:`cell_due`). A trajectory message moves no mass.
The new trajectory (:func:`choose_trajectory`)
    With the neighbours' lines fixed, the cell obeys
    ``V du/dt = W(t) - G w_i(t)``, ``G = sum_j g_ij``,
    ``W(t) = sum_j g_ij w_j(t) + drives = W0 + W1 tau``.
    Its *balanced* line ``S* = W1 / G``, ``U* = (W0 - V S*) / G`` keeps
    ``u - w`` exactly constant (a linearly implicit choice, as LIQSS), so a stiff
    cell (``G / V`` large) stops triggering itself. It is taken when
    ``|u - U*| <= theta delta``; otherwise the QSS2 line through the present
    state, ``U = u``, with the slope the mass had just before the message,
    ``S = (W0 - G w(t)) / V``: QSS2 proper evaluates it at the new value,
    ``(W0 - G u) / V``, which adds the stiff restoring term ``(G / V)(w - u)``
    (of size ``lambda delta``) to the slope, and that kicks the neighbours.
    Measured on heat1d-like grids, 80 and 160 cells, ``delta = 1e-4``:
    messages 187k / 1.47M with QSS2's slope and no balanced branch,
    98k / 810k with QSS2's slope and the branch, 30k / 215k as here
    (``theta = 3/4``; 38k / 247k at ``1/2``, 53k / 351k at ``1/4``).

Accuracy and cost: the error in ``u`` is ``O(delta)`` and independent of the
packet mass ``q``; trajectory messages scale as ``delta^(-1/2)`` (QSS2), packets
as ``1/q``. ``q`` bounds the unsettled mass per edge and sets the packet traffic.

Slots (ties in increasing slot order, as at order 1): edge ``e`` fires in slot
``e``, the packet at the head of its in-flight FIFO arrives in slot ``E + e``,
cell ``i`` sends its trajectory in slot ``2 E + i``.

Every function takes the state ``s``, a :class:`TrajectoryTuple` of arrays; the
compiled engine compiles them with numba, the SimPy engine calls them as they
are: both perform the same floating-point operations in the same order.
"""
from __future__ import annotations

import math
from collections import namedtuple

__all__ = ["TrajectoryTuple", "THETA", "PACKET_BITS", "TRAJECTORY_BITS", "crossing", "taylor", "line",
           "advance_edge", "linearize_edge", "edge_due", "cell_mass", "sync_mass",
           "advance_mass", "cell_due",
           "choose_trajectory", "send_trajectory", "fire_edge", "arrive", "potential_at"]

#: Share of the tolerance within which a cell takes its balanced (implicit) line.
THETA = 0.75
#: Payload of a packet (its sign) and of a trajectory message (value and slope, 2 x 32 bits).
PACKET_BITS, TRAJECTORY_BITS = 1, 64

#: The arrays and numbers the order-2 rule reads and writes (see :mod:`evsim.trajectory_state`).
TrajectoryTuple = namedtuple("TrajectoryTuple", [
    "src", "dst", "conductance", "drive", "latency", "transit",         # edges, fixed
    "acc", "j0", "j1", "tedge",                                        # edges, evolving
    "value", "slope", "tline",                                         # nodes: broadcast lines
    "m0", "m1", "m2", "tmass",                                         # cells: mass polynomial
    "base", "volume", "count",                                         # ledger (count: nodes)
    "inc_ptr", "inc_edge", "nbr_ptr", "nbr",                           # incidence of cells
    "quota", "tolerance", "theta", "ncell",
    "pk_time", "pk_sign", "pk_next", "fifo_head", "fifo_tail", "pool",  # packets in flight
    "forward", "backward", "counters",         # counters: [updates, trajectory messages]
])


def crossing(c0: float, c1: float, c2: float, level: float) -> float:
    """Smallest ``tau > 0`` at which ``|c0 + c1 tau + c2 tau^2 / 2|`` reaches ``level``.

    ``0`` if ``|c0| >= level`` already (rounding), ``inf`` if never. The roots of
    ``c2/2 tau^2 + c1 tau + (c0 -+ level) = 0`` are taken in the cancellation-free
    form ``q = -(b + sign(b) sqrt(b^2 - 4ac)) / 2``, roots ``q / a`` and ``c / q``.
    """
    if c0 >= level or c0 <= -level:
        return 0.0
    best = math.inf
    a = 0.5 * c2
    for lim in (level, -level):
        c = c0 - lim
        if a == 0.0:
            if c1 != 0.0:
                r = -c / c1
                if 0.0 < r < best:
                    best = r
            continue
        disc = c1 * c1 - 4.0 * a * c
        if disc < 0.0:
            continue
        h = -0.5 * (c1 + math.copysign(math.sqrt(disc), c1))
        if h != 0.0:
            r = h / a
            if 0.0 < r < best:
                best = r
            r = c / h
            if 0.0 < r < best:
                best = r
    return best


def line(s, k: int, t: float) -> float:
    """The broadcast potential ``w_k(t) = U_k + S_k (t - t_k)`` of node ``k``."""
    return s.value[k] + s.slope[k] * (t - s.tline[k])


def taylor(x: float, rate: float, curvature: float, tau: float) -> tuple[float, float]:
    """A quadratic and its derivative ``tau`` later: ``x + (r + c tau / 2) tau``, ``r + c tau``
    (an accumulator under a linear flux, a cell's mass polynomial)."""
    return x + (rate + 0.5 * curvature * tau) * tau, rate + curvature * tau


def advance_edge(s, e: int, t: float) -> None:
    """Integrate edge ``e`` up to ``t``: ``a += J0 tau + J1 tau^2 / 2``, ``J0 += J1 tau``."""
    s.acc[e], s.j0[e] = taylor(s.acc[e], s.j0[e], s.j1[e], t - s.tedge[e])
    s.tedge[e] = t


def linearize_edge(s, e: int, t: float) -> None:
    """The flux of edge ``e`` (advanced to ``t``) from ``t`` on under the present lines,
    ``J0 = g (w_src(t) - w_dst(t)) + d``, ``J1 = g (S_src - S_dst)``; the mass
    polynomials of its cells follow the change (:func:`advance_mass`)."""
    i, j = s.src[e], s.dst[e]
    g = s.conductance[e]
    j0 = g * (line(s, i, t) - line(s, j, t)) + s.drive[e]
    j1 = g * (s.slope[i] - s.slope[j])
    d0 = j0 - s.j0[e]
    d1 = j1 - s.j1[e]
    s.j0[e] = j0
    s.j1[e] = j1
    if i < s.ncell:
        advance_mass(s, i, t)
        s.m1[i] -= d0
        s.m2[i] -= d1
    if j < s.ncell:
        advance_mass(s, j, t)
        s.m1[j] += d0
        s.m2[j] += d1


def edge_due(s, e: int) -> float:
    """Time edge ``e`` (advanced to ``tedge``) fires next: ``|a(t)| = q``."""
    return s.tedge[e] + crossing(s.acc[e], s.j0[e], s.j1[e], s.quota)


def cell_mass(s, i: int, t: float) -> tuple[float, float, float]:
    """``M_i(t)``, ``dM_i/dt`` and ``d^2M_i/dt^2`` of cell ``i`` (edges read, not advanced)."""
    m0 = s.base[i] + s.quota * s.count[i]
    m1 = 0.0
    m2 = 0.0
    for k in range(s.inc_ptr[i], s.inc_ptr[i + 1]):
        e = s.inc_edge[k]
        a, j = taylor(s.acc[e], s.j0[e], s.j1[e], t - s.tedge[e])
        if s.src[e] == i:
            m0 -= a
            m1 -= j
            m2 -= s.j1[e]
        else:
            m0 += a
            m1 += j
            m2 += s.j1[e]
    return m0, m1, m2


def sync_mass(s, i: int, t: float) -> None:
    """Set cell ``i``'s mass polynomial ``M(t) + M' tau + M'' tau^2 / 2`` from its
    ledger and edges at ``t`` (:func:`cell_mass`), removing the rounding that its
    incremental updates accumulate."""
    s.m0[i], s.m1[i], s.m2[i] = cell_mass(s, i, t)
    s.tmass[i] = t


def advance_mass(s, i: int, t: float) -> None:
    """Move cell ``i``'s mass polynomial to ``t``: ``M += M' tau + M'' tau^2 / 2``, ``M' += M'' tau``."""
    s.m0[i], s.m1[i] = taylor(s.m0[i], s.m1[i], s.m2[i], t - s.tmass[i])
    s.tmass[i] = t


def potential_at(s, i: int, t: float) -> float:
    """The potential ``u_i(t) = M_i(t) / V_i`` of cell ``i``."""
    return cell_mass(s, i, t)[0] / s.volume[i]


def cell_due(s, i: int, t: float) -> float:
    """Time cell ``i`` next sends a trajectory: ``|u_i - w_i|`` reaches ``delta``.

    ``u_i - w_i = c0 + c1 tau + c2 tau^2 / 2`` with ``c0 = M/V - w(t)``,
    ``c1 = M'/V - S``, ``c2 = M''/V`` at ``t``, from the cell's mass polynomial
    (kept up to date by :func:`linearize_edge` and the packets in flight, and
    re-synchronized with the ledger at each of its own messages).
    """
    advance_mass(s, i, t)
    v = s.volume[i]
    return t + crossing(s.m0[i] / v - line(s, i, t), s.m1[i] / v - s.slope[i], s.m2[i] / v,
                        s.tolerance)


def choose_trajectory(u: float, w: float, volume: float, g_sum: float, w0: float, w1: float,
                      tolerance: float, theta: float) -> tuple[float, float]:
    """The new line ``(U, S)`` of a cell of potential ``u`` and broadcast ``w``
    under the drive ``W0 + W1 tau`` of its neighbours' lines and total conductance ``G``.

    Balanced (linearly implicit) ``S* = W1 / G``, ``U* = (W0 - V S*) / G`` when
    ``|u - U*| <= theta delta``, else ``U = u``, ``S = (W0 - G w) / V``.
    """
    if g_sum > 0.0:
        s_bal = w1 / g_sum
        u_bal = (w0 - volume * s_bal) / g_sum
        if abs(u - u_bal) <= theta * tolerance:
            return u_bal, s_bal
    return u, (w0 - g_sum * w) / volume


def send_trajectory(s, i: int, t: float, slots, times) -> int:
    """Cell ``i`` sends its new trajectory at ``t``; returns how many ``(slot, time)``
    reschedules it wrote into ``slots`` / ``times``.

    Its edges are integrated to ``t`` under the old lines, the new line is
    chosen (:func:`choose_trajectory`), the edges are relinearized and
    rescheduled, then the cell itself and every neighbouring cell (whose
    drift changed) are rescheduled.
    """
    E = s.src.size
    g_sum = 0.0
    w0 = 0.0
    w1 = 0.0
    for k in range(s.inc_ptr[i], s.inc_ptr[i + 1]):
        e = s.inc_edge[k]
        advance_edge(s, e, t)
        g = s.conductance[e]
        if s.src[e] == i:
            other = s.dst[e]
            w0 -= s.drive[e]
        else:
            other = s.src[e]
            w0 += s.drive[e]
        g_sum += g
        w0 += g * line(s, other, t)
        w1 += g * s.slope[other]
    u = cell_mass(s, i, t)[0] / s.volume[i]
    s.value[i], s.slope[i] = choose_trajectory(u, line(s, i, t), s.volume[i], g_sum, w0, w1,
                                               s.tolerance, s.theta)
    s.tline[i] = t
    n = 0
    for k in range(s.inc_ptr[i], s.inc_ptr[i + 1]):
        e = s.inc_edge[k]
        linearize_edge(s, e, t)
        slots[n] = e
        times[n] = edge_due(s, e)
        n += 1
    sync_mass(s, i, t)
    slots[n] = 2 * E + i
    times[n] = cell_due(s, i, t)
    n += 1
    for k in range(s.nbr_ptr[i], s.nbr_ptr[i + 1]):
        j = s.nbr[k]
        slots[n] = 2 * E + j
        times[n] = cell_due(s, j, t)
        n += 1
    s.counters[0] += 1
    s.counters[1] += s.nbr_ptr[i + 1] - s.nbr_ptr[i]
    return n


def fire_edge(s, e: int, t: float, slots, times) -> int:
    """Edge ``e`` fires a packet at ``t``; returns the number of reschedules written.

    The sign is that of the accumulator (``|a| = q``); ``a -= s q``; the sender's
    ledger loses the packet and the receiver's gains it, or, on an edge with
    latency, it joins the edge's FIFO (the pool must have a free entry) and the
    receiver (whose mass now lacks it) is rescheduled.
    """
    E = s.src.size
    advance_edge(s, e, t)
    sign = 1 if s.acc[e] > 0.0 else -1
    s.acc[e] = s.acc[e] - sign * s.quota
    if sign > 0:
        sender, receiver = s.src[e], s.dst[e]
        s.forward[e] += 1
    else:
        sender, receiver = s.dst[e], s.src[e]
        s.backward[e] += 1
    s.count[sender] -= 1
    slots[0] = e
    times[0] = edge_due(s, e)
    n = 1
    if not s.transit[e]:
        s.count[receiver] += 1
        return n
    p = s.pool[0]
    s.pool[0] = s.pk_next[p]
    s.pk_time[p] = t + s.latency[e]
    s.pk_sign[p] = sign
    s.pk_next[p] = -1
    if s.fifo_tail[e] < 0:
        s.fifo_head[e] = p
        slots[n] = E + e
        times[n] = s.pk_time[p]
        n += 1
    else:
        s.pk_next[s.fifo_tail[e]] = p
    s.fifo_tail[e] = p
    s.pool[1] += 1
    if receiver < s.ncell:
        advance_mass(s, receiver, t)
        s.m0[receiver] -= s.quota
        slots[n] = 2 * E + receiver
        times[n] = cell_due(s, receiver, t)
        n += 1
    return n


def arrive(s, e: int, t: float, slots, times) -> int:
    """The packet at the head of edge ``e``'s FIFO arrives at ``t``; returns the
    number of reschedules written (the FIFO's next arrival, the receiver)."""
    E = s.src.size
    p = s.fifo_head[e]
    receiver = s.dst[e] if s.pk_sign[p] > 0 else s.src[e]
    nxt = s.pk_next[p]
    s.fifo_head[e] = nxt
    slots[0] = E + e
    if nxt < 0:
        s.fifo_tail[e] = -1
        times[0] = math.inf
    else:
        times[0] = s.pk_time[nxt]
    s.pk_next[p] = s.pool[0]
    s.pool[0] = p
    s.pool[1] -= 1
    s.count[receiver] += 1
    if receiver < s.ncell:
        advance_mass(s, receiver, t)
        s.m0[receiver] += s.quota
        slots[1] = 2 * E + receiver
        times[1] = cell_due(s, receiver, t)
        return 2
    return 1
