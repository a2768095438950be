"""Basic figures of a run: fields vs reference, error over time, mass over time."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from evsim.result import Result

from .figures import LABELS, after_start, pyplot, reference_label, savefig

__all__ = ["plot_run", "show_field"]


def show_field(ax: Any, positions: np.ndarray, values: np.ndarray, shape: tuple | None = None,
               **kw: Any) -> Any:
    """Draw a cell field on ``ax``.

    An image on 2D grids, ``tripcolor`` on 2D meshes, the middle z-slice of
    3D grids (cells near the middle plane of 3D meshes), and a line in 1D.

    Parameters
    ----------
    ax
        Matplotlib axes.
    positions
        ``(N, dim)`` cell centres.
    values
        ``(N,)`` values in cell order.
    shape
        Grid shape (``graph.graph["shape"]``) for an image, or None.
    **kw
        Passed to the matplotlib call (``cmap``, ...).

    Returns
    -------
    matplotlib.artist.Artist
        The line, image or ``tripcolor`` collection.
    """
    dim = positions.shape[1]
    if dim == 1:
        order = np.argsort(positions[:, 0])
        return ax.plot(positions[order, 0], values[order], **kw)[0]
    if shape is not None and len(shape) >= 2:
        grid = values.reshape(shape)
        if len(shape) == 3:
            grid = grid[:, :, shape[2] // 2]
        lo, hi = positions.min(axis=0), positions.max(axis=0)
        return ax.imshow(grid.T, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), **kw)
    if dim == 3:  # cells near the middle plane
        z = positions[:, 2]
        mid = np.abs(z - np.median(z)) <= np.ptp(z) / 10
        positions, values = positions[mid], values[mid]
    return ax.tripcolor(positions[:, 0], positions[:, 1], values, shading="gouraud", **kw)


def plot_run(result: Result, reference: np.ndarray, graph: nx.Graph, out: str | Path,
             title: str = "", reference_kind: str | None = None) -> list[Path]:
    """Write ``field.png``, ``error.png`` and ``mass.png`` for a run.

    Parameters
    ----------
    result
        :class:`evsim.Result`.
    reference
        ``(T, N)`` reference potentials at ``result.times``.
    graph
        The cell graph (for the grid shape).
    out
        Output directory.
    title
        Figure title.
    reference_kind
        What ``reference`` is, ``"exact"`` or ``"semi-discrete"`` (the case's
        ``reference_kind``), named in titles and labels.

    Returns
    -------
    list of pathlib.Path
        The three written files. Error panels start at the first record time
        after ``t = 0``, where the error is identically zero.
    """
    plt = pyplot()
    out = Path(out)
    x, U, t = result.positions, result.potential, result.times
    shape = graph.graph.get("shape")
    ref_name = reference_label(reference_kind)
    later = after_start(t)
    paths = []

    if x.shape[1] == 1:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), constrained_layout=True)
        order = np.argsort(x[:, 0])
        panels = ((U, t, "PISNN potential u", LABELS["u"]), (reference, t, ref_name, LABELS["u"]),
                  (np.abs(U - reference)[later], t[later], f"|PISNN - {ref_name}|, t > 0",
                   LABELS["abs_error"]))
        for ax, (data, times, name, label) in zip(axes, panels):
            im = ax.imshow(data[:, order], aspect="auto", origin="lower",
                           extent=(x[order[0], 0], x[order[-1], 0], times[0], times[-1]),
                           cmap="magma" if label == LABELS["abs_error"] else "viridis")
            ax.set(xlabel=LABELS["x"], ylabel=LABELS["t"], title=name)
            fig.colorbar(im, ax=ax, label=label)
    else:
        picks = later[np.unique(np.linspace(0, len(later) - 1, min(4, len(later))).astype(int))]
        fig, axes = plt.subplots(3, len(picks), figsize=(3.6 * len(picks), 9.5),
                                 constrained_layout=True, squeeze=False)
        where = " (middle z-slice)" if x.shape[1] == 3 else ""
        for col, k in enumerate(picks):
            for row, (data, name, label) in enumerate((
                    (U[k], "PISNN", LABELS["u"]), (reference[k], ref_name, LABELS["u"]),
                    (np.abs(U[k] - reference[k]), "|error|", LABELS["abs_error"]))):
                ax = axes[row, col]
                art = show_field(ax, x, data, shape, cmap="magma" if row == 2 else "viridis")
                ax.set(title=f"{name}, t = {t[k]:.3g}{where}", aspect="equal",
                       xlabel=LABELS["x"], ylabel=LABELS["y"])
                ax.title.set_fontsize(9)
                fig.colorbar(art, ax=ax, shrink=0.8, label=label)
    fig.suptitle(f"{title}: PISNN vs {ref_name}" if title else f"PISNN vs {ref_name}")
    paths.append(savefig(fig, out / "field.png"))

    fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
    ax.semilogy(t[later], np.sqrt(np.mean((U - reference) ** 2, axis=1))[later], "o-")
    knobs = f"q = {result.quota:g}"
    if result.order >= 2:
        knobs = f"order {result.order}, tolerance = {result.metadata['tolerance']:g}, {knobs}"
    ax.set(xlabel=LABELS["t"], ylabel=f"RMSE vs {ref_name} [-]",
           title=f"{title}: {knobs}" if title else knobs)
    ax.yaxis.label.set_fontsize(9)
    ax.grid(alpha=0.3)
    paths.append(savefig(fig, out / "error.png"))

    fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
    mass = result.mass
    ax.plot(t, mass, "o-", label="cells (PISNN ledger)")
    ax.plot(t, result.mass_initial - mass, "s-", label="reservoirs + in flight")
    ax.plot(t, np.full_like(t, result.mass_initial), "k--", label="total = initial mass (conserved)")
    ax.set(xlabel=LABELS["t"], ylabel=LABELS["mass"], title=f"mass: ledger residual {result.ledger.residual}")
    ax.legend()
    paths.append(savefig(fig, out / "mass.png"))
    return paths
