"""Packet transport through a network-on-chip: per-link FIFO service.

The C-LIF/CFQ rule delivers a packet fired at time ``t`` on edge ``e`` at
``t + tau_e``. A :class:`Routing` adds congestion: each directed edge has a
route, a sequence of links; each link serves one packet per ``service`` time
units, first come first served in firing order:

.. math:: t_0 = t, \\quad t_{k+1} = \\max(t_k, F_{l_k}) + s_{l_k}, \\quad F_{l_k} \\leftarrow t_{k+1},

and the packet arrives at ``t_K + tau_e`` (``F_l`` is the time link ``l`` is
next free; ``s_l = 1 / bandwidth_l``). Per-hop latency belongs in the edge
``latency`` attribute. The rule is :func:`evsim.rule.route_delay`, called by
every engine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

__all__ = ["Routing"]


@dataclass(frozen=True)
class Routing:
    """Routes of the directed edges of a compiled network over shared links.

    Parameters
    ----------
    ptr
        ``int64`` array of length ``2 E + 1``: the route of edge ``e`` sending
        from ``edges[e, 0]`` to ``edges[e, 1]`` (forward, see
        :attr:`evsim.network.Network.edges`) is
        ``links[ptr[2e]:ptr[2e+1]]``; the backward route is
        ``links[ptr[2e+1]:ptr[2e+2]]``.
    links
        ``int64`` link ids, ``0 <= id < len(service)``.
    service
        Service time per packet of each link (``1 / bandwidth``), ``>= 0``.

    Raises
    ------
    ConfigError
        A malformed ``ptr``, a link id out of range, or a negative or
        non-finite service time (the message names the field).
    """

    ptr: np.ndarray
    links: np.ndarray
    service: np.ndarray

    def __post_init__(self) -> None:
        ptr = np.ascontiguousarray(self.ptr, dtype=np.int64)
        links = np.ascontiguousarray(self.links, dtype=np.int64)
        service = np.ascontiguousarray(self.service, dtype=np.float64)
        if ptr.ndim != 1 or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != links.size:
            raise ConfigError("Routing.ptr must start at 0, be non-decreasing and end at len(links)")
        if links.size and (links.min() < 0 or links.max() >= service.size):
            raise ConfigError(f"Routing.links must be link ids in [0, {service.size})")
        if not np.all(np.isfinite(service)) or np.any(service < 0):
            raise ConfigError("Routing.service times must be finite and >= 0")
        object.__setattr__(self, "ptr", ptr)
        object.__setattr__(self, "links", links)
        object.__setattr__(self, "service", service)

    @property
    def edges(self) -> int:
        """Number of (undirected) edges the routing covers."""
        return (self.ptr.size - 1) // 2
