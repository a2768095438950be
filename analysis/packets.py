"""Packet counts of a run, read once for the energy and the network-on-chip models.

A run (an :class:`evsim.Result`, or any object with the same fields) counts the
packets of every edge ``e = (a, b)`` in both directions. With ``s_e`` the packets
on the edge and ``f_e`` their net flow from ``a`` to ``b``,

.. math:: n^{\\to}_e = \\frac{s_e + f_e}{2}, \\qquad n^{\\leftarrow}_e = \\frac{s_e - f_e}{2},

which needs ``|f_e| <= s_e`` and ``s_e + f_e`` even. Both
:mod:`evsim.analysis.energy` (hops, per-core work) and
:mod:`evsim.analysis.mapping` (link loads) use these counts.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["cell_count", "directed_counts"]


def cell_count(result: Any) -> int:
    """Number of cells ``N`` of a run: the last axis of ``result.potential``."""
    return int(np.asarray(result.potential).shape[-1])


def directed_counts(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward packet counts per edge, ``(E,)`` each.

    Read from ``edge_forward``/``edge_backward`` when the result has them, else
    from ``edge_spikes`` and ``edge_flow`` as in the module docstring.

    Raises
    ------
    ValueError
        If ``edge_spikes`` and ``edge_flow`` are inconsistent.
    """
    if hasattr(result, "edge_forward") and hasattr(result, "edge_backward"):
        return (np.asarray(result.edge_forward, dtype=np.int64),
                np.asarray(result.edge_backward, dtype=np.int64))
    spikes = np.asarray(result.edge_spikes, dtype=np.int64)
    flow = np.asarray(result.edge_flow, dtype=np.int64)
    if spikes.shape != flow.shape or np.any((spikes + flow) % 2) or np.any(np.abs(flow) > spikes):
        raise ValueError("edge_spikes and edge_flow are inconsistent (need |flow| <= spikes, same parity)")
    return (spikes + flow) // 2, (spikes - flow) // 2
