"""Plots of fields and spike counts on irregular meshes (matplotlib).

2D meshes (``voronoi_2d``, ``mesh_graph`` of triangles, ``simplex_graph``) are
drawn with ``tripcolor`` on the mesh triangulation, values at the vertices
(Gouraud shading); Dirichlet reservoir vertices show their fixed potential, so
the field is continuous up to the boundary. 3D meshes are drawn as a slice: the
cells within half a mesh spacing of the plane ``axis = value`` coloured by
value, triangulated in the plane.

Entry point for the CLI: :func:`plot_mesh_result` writes the potential at the
last record time, its error against a reference (if given) and the spike counts
per cell.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from evsim.errors import ConfigError
from evsim.topologies.grids import cell_nodes
from evsim.topologies.simplicial import graph_mesh

from .figures import LABELS, pyplot, reference_label, savefig

__all__ = ["vertex_values", "plot_field", "plot_spikes", "plot_mesh_result"]


def vertex_values(graph: nx.Graph, cell_values: np.ndarray, reservoir: str | float = "potential"
                  ) -> np.ndarray:
    """Per-mesh-vertex values from per-cell values.

    Parameters
    ----------
    graph
        Mesh cell graph.
    cell_values
        ``(N,)`` values in cell order.
    reservoir
        Value at reservoir vertices: ``"potential"`` (their fixed potential) or a number
        (e.g. ``np.nan`` to leave them blank, ``0`` for counts).

    Returns
    -------
    numpy.ndarray
        ``(P,)`` values at the mesh vertices.

    Raises
    ------
    GraphError
        ``graph`` carries no mesh.
    ConfigError
        ``cell_values`` does not have one value per cell.
    """
    _, _, nodes = graph_mesh(graph)
    cells = cell_nodes(graph)
    index = {n: k for k, n in enumerate(cells)}
    cell_values = np.asarray(cell_values, dtype=float)
    if cell_values.shape != (len(cells),):
        raise ConfigError(f"need one value per cell ({len(cells)}), got shape {cell_values.shape}")
    out = np.empty(len(nodes))
    for v, n in enumerate(nodes):
        if n in index:
            out[v] = cell_values[index[n]]
        elif reservoir == "potential":
            out[v] = float(graph.nodes[n].get("potential", 0.0))
        else:
            out[v] = float(reservoir)
    return out


def _triangulation(graph: nx.Graph, values: np.ndarray, axis: int, value: float | None):
    from matplotlib.tri import Triangulation

    points, simplices, _ = graph_mesh(graph)
    if points.shape[1] == 2:
        return Triangulation(points[:, 0], points[:, 1], simplices), values, (LABELS["x"], LABELS["y"])
    keep_axes = [a for a in range(3) if a != axis]
    if value is None:
        value = float(np.median(points[:, axis]))
    h = float(graph.graph.get("spacing", np.ptp(points[:, axis]) / 10))
    near = np.abs(points[:, axis] - value) <= 0.5 * h
    if near.sum() < 3:
        raise ConfigError(f"no mesh vertices within h/2 of the slice {'xyz'[axis]} = {value}")
    p = points[near][:, keep_axes]
    return Triangulation(p[:, 0], p[:, 1]), values[near], tuple(LABELS["xyz"[a]] for a in keep_axes)


def plot_field(graph: nx.Graph, cell_values: np.ndarray, ax: Any = None, title: str = "",
               cmap: str = "viridis", label: str = LABELS["u"], reservoir: str | float = "potential",
               axis: int = 2, value: float | None = None, log: bool = False) -> Any:
    """``tripcolor`` of a per-cell field on the mesh of ``graph``.

    Parameters
    ----------
    graph
        Mesh cell graph (2D, or 3D drawn as the slice ``axis = value``,
        default the median coordinate).
    cell_values
        ``(N,)`` values in cell order.
    ax
        Matplotlib axes (a new figure if None).
    title, cmap, label
        Decoration (``label`` names the colour bar).
    reservoir
        Value shown at reservoir vertices (see :func:`vertex_values`).
    log
        Logarithmic colour scale (for counts; zeros are shown at the minimum).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.colors import LogNorm

    if ax is None:
        _, ax = pyplot().subplots(figsize=(5.2, 4.4))
    values = vertex_values(graph, cell_values, reservoir)
    tri, vals, names = _triangulation(graph, values, axis, value)
    norm = None
    if log:
        positive = vals[vals > 0]
        lo = float(positive.min()) if positive.size else 1.0
        vals = np.maximum(vals, lo)
        norm = LogNorm(vmin=lo, vmax=max(float(vals.max()), lo * 10))
    art = ax.tripcolor(tri, vals, shading="gouraud", cmap=cmap, norm=norm)
    ax.figure.colorbar(art, ax=ax, label=label)
    ax.set_aspect("equal")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title)
    return ax


def plot_spikes(graph: nx.Graph, result: Any, ax: Any = None, kind: str = "sent", **kwargs) -> Any:
    """Spike (packet) counts per cell on the mesh, logarithmic colour scale.

    ``kind`` is ``"sent"`` (``result.node_spikes``), ``"received"``
    (``result.node_received``) or ``"total"`` (both).
    """
    counts = _cell_counts(graph, result, kind)
    return plot_field(graph, counts, ax=ax, title=kwargs.pop("title", f"packets {kind} per cell"),
                      cmap=kwargs.pop("cmap", "magma"), label=f"packets {kind} per cell", reservoir=0.0,
                      log=True, **kwargs)


def _cell_counts(graph: nx.Graph, result: Any, kind: str) -> np.ndarray:
    if kind not in ("sent", "received", "total"):
        raise ConfigError(f"kind must be 'sent', 'received' or 'total', got {kind!r}")
    n = len(cell_nodes(graph))
    sent = np.asarray(result.node_spikes)[:n]          # cells come first in the network
    received = np.asarray(result.node_received)[:n]
    return {"sent": sent, "received": received, "total": sent + received}[kind].astype(float)


def plot_mesh_result(graph: nx.Graph, result: Any, out: str | Path,
                     reference: np.ndarray | None = None, prefix: str = "mesh",
                     reference_kind: str | None = None) -> list[Path]:
    """Write the standard figures of a run on an irregular mesh.

    Parameters
    ----------
    graph
        Mesh cell graph the run used.
    result
        :class:`evsim.Result` (``potential``, ``times``, ``node_spikes``, ``node_received``).
    out
        Output directory.
    reference
        Optional ``(T, N)`` reference potentials at the record times (exact or
        semi-discrete); adds the error panel ``potential - reference``.
    prefix
        File name prefix.
    reference_kind
        ``"exact"`` or ``"semi-discrete"``: what ``reference`` is, named in the error panel.

    Returns
    -------
    list of pathlib.Path
        ``{prefix}_field.png`` (final potential, error) and ``{prefix}_spikes.png``.
    """
    plt = pyplot()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t = float(result.times[-1])
    points = graph_mesh(graph)[0]
    where = f", slice z = {np.median(points[:, 2]):.3g}" if points.shape[1] == 3 else ""
    panels = 2 if reference is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.4), squeeze=False)
    plot_field(graph, result.potential[-1], ax=axes[0, 0], title=f"potential, t = {t:.3g}{where}")
    if reference is not None:
        err = result.potential[-1] - np.asarray(reference)[-1]
        vmax = float(np.max(np.abs(err))) or 1.0
        ax = plot_field(graph, err, ax=axes[0, 1], cmap="RdBu_r", label=LABELS["error"], reservoir=0.0,
                        title=f"error vs {reference_label(reference_kind)}, t = {t:.3g}{where}\n"
                              f"RMSE {np.sqrt(np.mean(err ** 2)):.2e}")
        ax.collections[0].set_clim(-vmax, vmax)
    fig.tight_layout()
    paths = [savefig(fig, out / f"{prefix}_field.png")]
    fig, ax = plt.subplots(figsize=(5.4, 4.4))
    plot_spikes(graph, result, ax=ax, kind="sent",
                title=f"packets sent per cell ({int(result.spikes)} total){where}")
    fig.tight_layout()
    paths.append(savefig(fig, out / f"{prefix}_spikes.png"))
    return paths
