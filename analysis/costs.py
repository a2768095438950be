"""Energy of conventional solvers from their operation counts, and the break-even
activity of a PISNN run against them.

Three ways to get ``u(x, t)`` on the same cell graph, each costed from its
operation counts:

- **PISNN** (event-driven C-LIF/CFQ): the event counts of the run times the
  per-event costs of a profile (:func:`evsim.analysis.energy.energy`).
- **FTCS** (explicit Euler on the same graph, :mod:`evsim.teachers.ftcs`): per
  step ``3 n_cc + 2 n_cr + N + n_src`` fp32 adds and ``n_cc + n_cr + N`` fp32
  mults (the teacher's flux-form count: 4 FLOPs per cell-cell edge, 3 per
  cell-reservoir edge, 2 per cell, 1 per cell with a source), so

  .. math:: E_\\mathrm{FTCS} = n_\\mathrm{steps} \\big[(3 n_{cc} + 2 n_{cr} + N + n_\\mathrm{src})
            e_\\mathrm{add} + (n_{cc} + n_{cr} + N) e_\\mathrm{mult}\\big].

- **PINN** inference (:mod:`evsim.teachers.pinn`): ``sum_l a_l b_l`` MACs per
  point for the dense layers, the remaining FLOPs of
  :meth:`~evsim.teachers.pinn.PINNTeacher.flops_per_point` charged as fp32
  mults, times the number of evaluation points.

Break-even activity: with an average energy ``e_p`` per packet (all dynamic
event kinds of the run divided by its ``P`` packets), the PISNN costs less than
a solver of energy ``E_ref`` while ``P < P^* = E_ref / e_p``, i.e. while the
activity (packets per cell per unit time) stays below
:math:`a^* = P^* / (N\\, t_\\mathrm{end})`.
"""
from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from evsim.errors import ConfigError
from evsim.teachers.base import cell_operator
from evsim.teachers.ftcs import ftcs, ftcs_flops_per_step, ftcs_stable_dt

from .energy import CMOS45, EnergyProfile, EventCounts, energy, get_profile

__all__ = ["ftcs_cost", "pinn_cost", "break_even"]


def ftcs_cost(graph: nx.Graph, u0: np.ndarray, times: np.ndarray, cfl: float = 1.0,
              profile: str | EnergyProfile = CMOS45) -> dict[str, Any]:
    """Run FTCS on ``graph`` and cost it (adds and mults as in the module docstring).

    Parameters
    ----------
    graph, u0, times
        Cell graph, initial potentials ``(N,)`` and output times.
    cfl
        Time step as a fraction of the stability limit, ``dt = cfl dt_max``.
    profile
        Profile with FLOP costs.

    Returns
    -------
    dict
        ``field`` (T, N), ``steps``, ``dt``, ``cfl``, ``flops`` (the teacher's
        count), ``adds``, ``mults`` and ``energy`` (J on ``profile``).
    """
    op = cell_operator(graph)
    field, steps, flops = ftcs(op, u0, times, cfl=cfl)
    n = len(op.volume)
    n_src = int(np.count_nonzero(op.source))
    adds = steps * (3 * op.n_cell_edges + 2 * op.n_reservoir_edges + n + n_src)
    mults = steps * (op.n_cell_edges + op.n_reservoir_edges + n)
    if adds + mults != flops or flops != steps * ftcs_flops_per_step(op):
        raise RuntimeError("FTCS add/mult split disagrees with the teacher's FLOP count")
    return {"field": field, "steps": int(steps), "dt": cfl * ftcs_stable_dt(op), "cfl": cfl,
            "flops": int(flops), "adds": int(adds), "mults": int(mults),
            "energy": get_profile(profile).flop_energy(adds=adds, mults=mults)}


def pinn_cost(teacher: Any, n_points: int, profile: str | EnergyProfile = CMOS45) -> dict[str, Any]:
    """Cost of evaluating a PINN teacher at ``n_points`` space-time points.

    ``macs = sum_l a_l b_l`` over the dense layers (``a_l -> b_l``, from
    ``teacher.sizes``); ``other = flops_per_point - 2 macs`` are charged as fp32
    mults:

    .. math:: E_\\mathrm{PINN} = n_\\mathrm{points}\\,(\\mathrm{macs}\\; e_\\mathrm{mac}
              + \\mathrm{other}\\; e_\\mathrm{mult}).

    Raises
    ------
    ConfigError
        If the teacher's FLOP count is smaller than its dense-layer MACs.
    """
    sizes = list(teacher.sizes)
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_point = int(teacher.flops_per_point())
    other = per_point - 2 * macs
    if other < 0:
        raise ConfigError("PINN FLOP count smaller than its dense-layer MACs")
    e = get_profile(profile).flop_energy(macs=macs * n_points, mults=other * n_points)
    return {"sizes": sizes, "flops_per_point": per_point, "macs_per_point": macs,
            "points": int(n_points), "flops": per_point * int(n_points), "energy": e}


def break_even(counts: EventCounts, profile: str | EnergyProfile, reference_energy: float,
               cells: int, t_end: float) -> dict[str, float]:
    """Break-even activity of a PISNN run against a solver costing ``reference_energy``.

    .. math:: e_p = \\frac{E_\\mathrm{dyn}}{P}, \\qquad P^* = \\frac{E_\\mathrm{ref}}{e_p},
              \\qquad a^* = \\frac{P^*}{N t_\\mathrm{end}}

    Returns
    -------
    dict
        ``energy_per_packet`` (``e_p``), ``packets_break_even`` (``P*``),
        ``activity`` (``a = P / (N t_end)``), ``activity_break_even`` (``a*``) and
        ``ratio = a / a*`` (< 1: the PISNN is cheaper).

    Raises
    ------
    ConfigError
        If the run has no packets.
    """
    if counts.packets == 0:
        raise ConfigError("break-even needs a run with packets")
    e = energy(counts, profile)
    dyn = e.total - e.energy["static"]
    per_packet = dyn / counts.packets
    p_star = reference_energy / per_packet
    activity = counts.packets / (cells * t_end)
    a_star = p_star / (cells * t_end)
    return {"energy_per_packet": per_packet, "packets_break_even": p_star,
            "activity": activity, "activity_break_even": a_star, "ratio": activity / a_star}
