"""Heterogeneous media on a cell graph: a diffusivity field, and regions of edges.

A homogeneous graph (any builder of :mod:`evsim.topologies`, at diffusivity
``kappa0``) becomes the graph of a medium with diffusivity ``kappa(x)`` by the
two-point flux rule of finite volumes: the face between cells ``a`` and ``b`` is
crossed in series, half a cell of each material, so its conductance is scaled by
the harmonic mean of the two cells' ratios,

.. math:: g_{ab} = g^0_{ab} \\, \\frac{2 r_a r_b}{r_a + r_b}, \\qquad r_c = \\kappa(x_c) / \\kappa_0 ,

and a boundary or decay edge of cell ``c`` (one cell, half of it to the face) by ``r_c``.
:func:`edge_regions` labels each edge by the region of its cells (what
:func:`evsim.teachers.distill.fit_conductances` fits one factor per).
"""
from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np

from evsim.errors import ConfigError

__all__ = ["medium", "edge_regions"]


def _cell_values(graph: nx.Graph, fn: Callable[[np.ndarray], float], what: str) -> dict:
    out = {}
    for n, d in graph.nodes(data=True):
        if d.get("kind", "cell") == "cell":
            out[n] = fn(np.asarray(d["pos"], float))
    return out


def medium(graph: nx.Graph, kappa: Callable[[np.ndarray], float]) -> nx.Graph:
    """Copy of ``graph`` (built at diffusivity ``graph.graph["diffusivity"]``) for the
    diffusivity field ``kappa(pos)`` (module docstring).

    Raises
    ------
    ConfigError
        The graph records no ``diffusivity``, or ``kappa`` is not positive and finite at a cell.
    """
    base = float(graph.graph.get("diffusivity", np.nan))
    if not (np.isfinite(base) and base > 0):
        raise ConfigError("medium needs a graph that records its 'diffusivity' (a topologies builder)")
    ratio = {}
    for n, k in _cell_values(graph, kappa, "kappa").items():
        k = float(k)
        if not (np.isfinite(k) and k > 0):
            raise ConfigError(f"kappa must be positive and finite, got {k!r} at cell {n!r}")
        ratio[n] = k / base
    out = graph.copy()
    for a, b, d in out.edges(data=True):
        ra, rb = ratio.get(a), ratio.get(b)
        r = 2 * ra * rb / (ra + rb) if ra is not None and rb is not None else (ra or rb)
        d["conductance"] = float(d["conductance"]) * r
    out.graph["diffusivity_field"] = True
    return out


def edge_regions(graph: nx.Graph, label: Callable[[np.ndarray], int]) -> np.ndarray:
    """``(E,)`` region of every edge (``graph.edges`` order): ``label(pos)`` of its cells
    where they agree; an edge across a region boundary gets a label of its own,
    ``max + 1 + k`` for the ``k``-th pair of regions met (its conductance mixes both)."""
    labels = {n: int(v) for n, v in _cell_values(graph, label, "label").items()}
    top = max(labels.values(), default=-1)
    pairs: dict[tuple, int] = {}
    out = np.empty(graph.number_of_edges(), dtype=np.int64)
    for e, (a, b) in enumerate(graph.edges()):
        la, lb = labels.get(a), labels.get(b)
        if la is None or lb is None or la == lb:
            out[e] = la if la is not None else lb
        else:
            key = (min(la, lb), max(la, lb))
            out[e] = pairs.setdefault(key, top + 1 + len(pairs))
    return out
