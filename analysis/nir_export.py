"""Export of the C-LIF/CFQ network to NIR and a reference time-stepped NIR interpreter.

NIR (the Neuromorphic Intermediate Representation, package ``nir``, extra
``hardware``) is read by Lava, Norse, snnTorch, Sinabs, Rockpool and SpiNNaker2.
It describes continuous-time dynamics of nodes joined by edges; a spike is a
Dirac impulse of unit area and the inputs reaching one node are summed.

The mapping (:func:`to_nir`), for ``N`` cells and ``E`` edges, edge ``e``
joining ``a`` and ``b`` (forward ``a -> b``):

=============  ==========================  ==================================================
node           NIR primitive (shape)        role
=============  ==========================  ==================================================
``mass``       ``Input`` (N)                the initial mass ``m_i(0) = V_i u_i(0)`` as an
                                            impulse ``x_i(t) = m_i(0) delta(t)``
``cells``      ``I`` (N), ``r = 1/V``       the cell potential, :math:`\\dot u_i = I_i / V_i`
``flux``       ``Affine`` (2E x N)          :math:`(J, -J)` with
                                            :math:`J_e = g_e (u_a - u_b) + c_e`
``edges``      ``IF`` (2E), ``r = 1``,      the accumulators: forward neuron ``v_e^+ = a_e``,
               ``v_thr = q``, reset 0       backward neuron ``v_e^- = -a_e``
``exchange``   ``Linear`` (2E x 2E)         a forward spike adds ``q`` to ``v_e^-`` and a
                                            backward spike adds ``q`` to ``v_e^+``
``packets``    ``Linear`` (N x 2E)          a forward spike moves ``q`` from ``a`` to ``b``
                                            (weights ``-q`` at ``a``, ``+q`` at ``b``),
                                            a backward spike the other way
``spikes``     ``Output`` (2E)              the edge spikes (forward, then backward)
``potential``  ``Output`` (N)               the cell potentials
=============  ==========================  ==================================================

A reservoir end ``r`` of potential ``u_r`` enters the bias,
:math:`c_e = d_e \\mp g_e u_r`, and receives nothing (its weight column is
empty). The signed accumulator :math:`a_e \\in (-q, q)` of CFQ becomes the two
unsigned IF neurons; the exchange keeps :math:`v^+_e = -v^-_e` after every
firing, so in continuous time the graph reproduces CFQ exactly.

What NIR loses (documented in ``docs/energy.md``): exact event times (an
interpreter or a chip advances in steps ``dt``), the integer ledger (masses
are real potentials ``V u``, so conservation holds only up to rounding), the
tie order of simultaneous firings, edge latency (refused here), the signed
packet (one edge becomes two neurons) and the accumulator overshoot at a
firing (NIR's IF resets to ``v_reset = 0`` where CFQ subtracts ``q``).

:func:`interpret` is a reference time-stepped interpreter of the primitives
used here (forward Euler, one-step synaptic delay); :func:`edge_spikes` turns
its output into evsim's per-edge packet counts, which converge to
:attr:`evsim.Result.edge_spikes` as ``dt -> 0``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from evsim.errors import ConfigError
from evsim.network import Network, compile_network
from evsim.optional import require
from evsim.simulate import _initial_field

__all__ = ["NIRTrace", "edge_spikes", "interpret", "read_nir", "to_nir", "write_nir"]

_STATEFUL = ("I", "IF")
_STATELESS = ("Affine", "Linear")


def _nir():
    return require("nir", extra="hardware", feature="NIR export")


def to_nir(graph: nx.Graph | Network, u0: Any = None, quota: float = 1e-5) -> Any:
    """The C-LIF/CFQ network of ``graph`` as a ``nir.NIRGraph`` (mapping in the module docstring).

    Parameters
    ----------
    graph
        Cell graph or compiled :class:`evsim.Network`; no edge may have a latency.
    u0
        Initial potentials as for :func:`evsim.simulate` (array, callable of the
        positions, or ``None`` for the cells' ``potential`` attributes).
    quota
        Packet mass ``q > 0`` (the IF thresholds and the packet weights).

    Returns
    -------
    nir.NIRGraph
        Nodes ``mass, cells, flux, edges, exchange, packets, spikes, potential``;
        ``metadata`` holds ``quota``, ``cells``, ``edges`` and ``initial_mass``
        (``V_i u_i(0)``, the impulse of the ``mass`` input).

    Raises
    ------
    ConfigError
        For ``quota <= 0`` or an edge with latency (NIR's graph has no delays here).
    MissingDependency
        Without ``nir`` (``pip install "evsim[hardware]"``).
    """
    nir = _nir()
    net = graph if isinstance(graph, Network) else compile_network(graph)
    if not quota > 0:
        raise ConfigError(f"quota must be > 0, got {quota}")
    if net.has_transit:
        raise ConfigError("the NIR export does not model edge latency; use latency 0")
    n, m = net.cells, net.size
    u0 = _initial_field(net, u0)
    G = np.zeros((m, n))
    bias = net.drive.astype(float).copy()
    P = np.zeros((n, m))                        # forward spike of e: -q at its sender, +q at its receiver
    for e, (a, b) in enumerate(net.edges.tolist()):
        g = float(net.conductance[e])
        for node, sign in ((a, 1.0), (b, -1.0)):
            if node < n:
                G[e, node] += sign * g
                P[node, e] = -sign * quota
            else:
                bias[e] += sign * g * float(net.reservoir_potential[node - n])
    eye, zero = np.eye(m), np.zeros((m, m))
    nodes = {
        "mass": nir.Input(np.array([n])),
        "cells": nir.I(r=1.0 / net.volume.astype(float)),
        "flux": nir.Affine(weight=np.vstack([G, -G]), bias=np.concatenate([bias, -bias])),
        "edges": nir.IF(r=np.ones(2 * m), v_threshold=np.full(2 * m, float(quota)),
                        v_reset=np.zeros(2 * m)),
        "exchange": nir.Linear(weight=quota * np.block([[zero, eye], [eye, zero]])),
        "packets": nir.Linear(weight=np.hstack([P, -P])),
        "spikes": nir.Output(np.array([2 * m])),
        "potential": nir.Output(np.array([n])),
    }
    edges = [("mass", "cells"), ("cells", "flux"), ("flux", "edges"), ("edges", "exchange"),
             ("exchange", "edges"), ("edges", "packets"), ("packets", "cells"),
             ("edges", "spikes"), ("cells", "potential")]
    meta = {"quota": float(quota), "cells": int(n), "edges": int(m),
            "initial_mass": net.volume * u0}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def write_nir(path: str | Path, nir_graph: Any) -> Path:
    """Write ``nir_graph`` with ``nir.write`` (HDF5) and return the path."""
    path = Path(path)
    _nir().write(path, nir_graph)
    return path


def read_nir(path: str | Path) -> Any:
    """Read a NIR file with ``nir.read``; returns a ``nir.NIRGraph``."""
    return _nir().read(Path(path))


@dataclass(frozen=True)
class NIRTrace:
    """What :func:`interpret` returns.

    ``integral[name]`` is :math:`\\sum_k y_k\\, \\Delta t`, the time integral of the
    input of each ``Output`` node ``name`` over ``[0, steps dt)``: for a spike
    output (spikes are impulses of area 1, ``y_k = z_k / dt``) it is the number
    of spikes per neuron; ``final[name]`` is the last value ``y`` (potential
    units for ``potential``, spikes per unit time for ``spikes``).
    """

    dt: float
    steps: int
    integral: dict
    final: dict


def _kind(node: Any) -> str:
    return type(node).__name__


def interpret(nir_graph: Any, t_end: float, dt: float, impulses: dict | None = None) -> NIRTrace:
    """Reference time-stepped interpreter of a NIR graph of ``Input, I, IF, Affine, Linear, Output``.

    Step ``k`` (time ``t_k = k dt``, ``K = ceil(t_end / dt)`` steps):

    1. every stateful node emits: ``I`` its state ``v``, ``IF`` its spikes of
       step ``k - 1`` as impulses ``z / dt``; an ``Input`` emits its impulse
       ``x / dt`` at ``k = 0`` and 0 after;
    2. ``Affine`` (:math:`y = W x + b`) and ``Linear`` (:math:`y = W x`) nodes
       are evaluated in topological order (the stateless part must be acyclic),
       the inputs of a node being the sum of its predecessors' outputs;
    3. stateful nodes integrate by forward Euler,
       :math:`v \\leftarrow v + \\Delta t\\, r\\, x`; an ``IF`` then fires where
       :math:`v > v_{thr}` and resets those neurons to :math:`v_{reset}`.

    Parameters
    ----------
    nir_graph
        The graph (e.g. from :func:`to_nir` or :func:`read_nir`).
    t_end
        Simulated time (same units as evsim's).
    dt
        Time step, ``0 < dt <= t_end``.
    impulses
        Area of the impulse of each ``Input`` node at ``t = 0`` (default: the
        graph's ``metadata["initial_mass"]`` for the ``mass`` input of :func:`to_nir`).

    Returns
    -------
    NIRTrace

    Raises
    ------
    ConfigError
        For a bad ``dt``, a node type outside the list, a cycle through
        stateless nodes or a missing impulse.
    """
    if not (dt > 0 and t_end >= dt):
        raise ConfigError(f"need 0 < dt <= t_end, got dt={dt}, t_end={t_end}")
    nodes, edges = nir_graph.nodes, [tuple(e) for e in nir_graph.edges]
    kinds = {name: _kind(node) for name, node in nodes.items()}
    bad = sorted(name for name, k in kinds.items() if k not in _STATEFUL + _STATELESS + ("Input", "Output"))
    if bad:
        raise ConfigError(f"the NIR interpreter does not know node(s) {bad} "
                          f"({', '.join(kinds[b] for b in bad)})")
    if impulses is None:
        impulses = {"mass": np.asarray(nir_graph.metadata["initial_mass"], dtype=float)}
    preds: dict[str, list[str]] = {name: [] for name in nodes}
    for src, dst in edges:
        preds[dst].append(src)
    order = _stateless_order(kinds, edges)
    state = {name: np.zeros(int(np.prod(nodes[name].output_type["output"])))
             for name, k in kinds.items() if k in _STATEFUL}
    spikes = {name: np.zeros_like(v) for name, v in state.items() if kinds[name] == "IF"}
    outputs = [name for name, k in kinds.items() if k == "Output"]
    integral = {name: 0.0 for name in outputs}
    final: dict[str, np.ndarray] = {}
    steps = int(np.ceil(t_end / dt - 1e-9))
    for k in range(steps):
        y: dict[str, Any] = {}
        for name, kind in kinds.items():
            if kind == "I":
                y[name] = state[name].copy()
            elif kind == "IF":
                y[name] = spikes[name] / dt
            elif kind == "Input":
                if name not in impulses:
                    raise ConfigError(f"no impulse given for the NIR input {name!r}")
                y[name] = np.asarray(impulses[name], dtype=float) / dt if k == 0 else 0.0
        for name in order:
            x = sum(y[p] for p in preds[name])
            node = nodes[name]
            y[name] = node.weight @ x + (node.bias if kinds[name] == "Affine" else 0.0)
        for name, v in state.items():
            node = nodes[name]
            v += dt * node.r * sum(y[p] for p in preds[name])
            if kinds[name] == "IF":
                fired = v > node.v_threshold
                v[fired] = node.v_reset[fired]
                spikes[name] = fired.astype(float)
        for name in outputs:
            final[name] = np.asarray(sum(y[p] for p in preds[name]), dtype=float)
            integral[name] = integral[name] + final[name] * dt
    return NIRTrace(dt=float(dt), steps=steps, integral=integral, final=final)


def _stateless_order(kinds: dict, edges: list) -> list[str]:
    """Topological order of the ``Affine``/``Linear`` nodes (their edges among themselves)."""
    sub = nx.DiGraph()
    sub.add_nodes_from(n for n, k in kinds.items() if k in _STATELESS)
    sub.add_edges_from((s, d) for s, d in edges if s in sub and d in sub)
    try:
        return list(nx.lexicographical_topological_sort(sub))
    except nx.NetworkXUnfeasible as err:
        raise ConfigError("the stateless NIR nodes (Affine, Linear) form a cycle") from err


def edge_spikes(trace: NIRTrace, edges: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge packets of an interpreted :func:`to_nir` graph, as in :class:`evsim.Result`.

    Returns
    -------
    spikes : numpy.ndarray
        ``(E,)`` packets per edge, forward plus backward (``Result.edge_spikes``).
    flow : numpy.ndarray
        ``(E,)`` forward minus backward (``Result.edge_flow``).
    """
    z = np.rint(np.asarray(trace.integral["spikes"], dtype=float)).astype(np.int64)
    if z.shape != (2 * edges,):
        raise ConfigError(f"trace has {z.size} spike outputs, expected 2 x {edges}")
    fwd, bwd = z[:edges], z[edges:]
    return fwd + bwd, fwd - bwd
