"""Figures of runs, hardware traffic and sweeps, and the one pyplot loader of evsim.

:func:`pyplot` imports ``matplotlib.pyplot`` on first use and :func:`savefig`
writes a figure and closes it; every plotting module of evsim goes through
them. evsim never selects a matplotlib backend: a notebook keeps its inline
backend, and without a display matplotlib falls back to Agg by itself.

Every function draws on a given ``ax`` (or a new figure) and returns the
figure. Grids are drawn as images,
irregular meshes as triangulations (2D) of the cell centres; 1D runs as curves.

- :func:`spike_raster`: firing time vs edge id (colour: direction).
- :func:`cell_traffic`: packets sent + received per cell, ``s_c + r_c``.
- :func:`edge_traffic`: packets per edge drawn on the mesh.
- :func:`link_traffic`: packets per network-on-chip link on the core mesh.
- :func:`energy_bars`: energy breakdown by event kind per hardware profile.
- :func:`pareto_plot`: RMSE vs spikes (colour: energy) with the Pareto frontier.
- :func:`animate_potential`: GIF (Pillow writer, no ffmpeg) of the potential
  with the packets fired in each frame interval.

Labelling, shared by every figure of evsim: the problems are non-dimensional,
so :data:`LABELS` gives each quantity with ``[-]`` (counts and energy keep
their own units); :func:`reference_label` names what a reference is (exact or
semi-discrete); :func:`after_start` drops ``t = 0``, where an error is
identically zero; :func:`mark_training_window` shades a teacher's training
window with a legend entry; :func:`log_ticks` labels enough ticks on log axes.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from evsim.errors import ConfigError
from evsim.result import Result

__all__ = ["pyplot", "savefig", "spike_raster", "cell_traffic", "edge_traffic", "link_traffic",
           "energy_bars", "pareto_plot", "animate_potential", "grid_shape", "LABELS",
           "reference_label", "after_start", "mark_training_window", "log_ticks"]

#: Axis and colour-bar labels. The problems are non-dimensional: lengths, times,
#: potentials, masses and errors are in ``[-]``; spike counts and energies keep their units.
LABELS = {
    "t": "time t [-]", "x": "x [-]", "y": "y [-]", "z": "z [-]",
    "u": "potential u [-]", "abs_error": "|error| [-]", "error": "error u - reference [-]",
    "rmse": "RMSE [-]", "mass": "mass [-]", "energy": "energy [J]",
    "spikes": "spikes (packets)",
    "messages": "messages between neurons (packets + trajectory messages)",
}

_REFERENCES = {"exact": "exact solution", "semi-discrete": "semi-discrete reference (exact in time)"}


def reference_label(kind: str | None) -> str:
    """What a reference is: ``"exact"`` -> ``"exact solution"``, ``"semi-discrete"`` ->
    ``"semi-discrete reference (exact in time)"``; None -> ``"reference"``; other text as given."""
    if kind is None:
        return "reference"
    return _REFERENCES.get(kind, kind)


def after_start(times: np.ndarray) -> np.ndarray:
    """Indices of the record ``times`` after the first one (an error there is identically 0);
    all indices when no time is later (a run recorded once)."""
    times = np.asarray(times, dtype=float)
    later = np.nonzero(times > times[0])[0]
    return later if later.size else np.arange(times.size)


def mark_training_window(ax: Any, t_train: float, t0: float = 0.0) -> None:
    """Shade the teacher's training window ``[t0, t_train]`` on a time axis, with a legend entry."""
    ax.axvspan(t0, t_train, color="gray", alpha=0.15, lw=0,
               label=f"training window t \u2264 {t_train:g}")


def log_ticks(ax: Any, axis: str = "both") -> None:
    """Readable log axes, labelled in scientific notation with unlabelled minor ticks: ticks at
    1, 1.5, 2, 3, 5, 7 x 10^k within a decade, 1, 2, 5 x 10^k up to two, decades beyond;
    an axis spanning less than half a decade gets three or four evenly spaced labelled ticks
    (matplotlib's own labels of every minor tick overlap there).

    Call it after the last artist is drawn (it reads the axis limits).
    """
    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if a.get_scale() != "log":
            continue
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        decades = np.log10(hi / lo)
        if decades < 0.5:
            a.set_major_locator(MaxNLocator(4))
            a.set_major_formatter(FuncFormatter(_sci_label))
            a.set_minor_formatter(NullFormatter())
            continue
        subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if decades <= 1 else (1.0, 2.0, 5.0) if decades <= 2 else (1.0,)
        a.set_major_locator(LogLocator(base=10, subs=subs))
        a.set_major_formatter(FuncFormatter(_sci_label))
        a.set_minor_formatter(NullFormatter())


def _sci_label(value: float, _pos=None) -> str:
    """``2 x 10^5`` in mathtext (``10^5`` for a decade)."""
    if value <= 0:
        return ""
    e = int(np.floor(np.log10(value) + 1e-9))
    m = value / 10.0 ** e
    return f"$10^{{{e}}}$" if abs(m - 1) < 1e-6 else f"${m:.3g}\\times 10^{{{e}}}$"


def pyplot() -> ModuleType:
    """``matplotlib.pyplot``, imported on first use (the backend is left to matplotlib).

    Returns
    -------
    types.ModuleType
        The ``matplotlib.pyplot`` module.
    """
    import matplotlib.pyplot

    return matplotlib.pyplot


def savefig(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` to ``path`` (parents created) and close it.

    Parameters
    ----------
    fig
        A ``matplotlib.figure.Figure``.
    path
        Output file; the extension selects the format.
    dpi
        Resolution.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def _axes(ax, figsize=(6, 4.5)):
    if ax is None:
        fig, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def grid_shape(positions: np.ndarray) -> tuple[int, int] | None:
    """``(nx, ny)`` if the 2D cell centres form a full tensor grid in C order, else None."""
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 2:
        return None
    xs, ys = np.unique(pos[:, 0]), np.unique(pos[:, 1])
    if xs.size * ys.size != len(pos):
        return None
    if not (np.allclose(pos[:, 0], np.repeat(xs, ys.size)) and np.allclose(pos[:, 1], np.tile(ys, xs.size))):
        return None
    return xs.size, ys.size


def _field(ax, positions, values, label, cmap="viridis", norm=None):
    """Draw a per-cell field: curve (1D), image (2D grid) or tripcolor (2D mesh)."""
    pos = np.asarray(positions, dtype=float).reshape(len(values), -1)
    values = np.asarray(values, dtype=float)
    if pos.shape[1] == 1:
        order = np.argsort(pos[:, 0])
        ax.plot(pos[order, 0], values[order], lw=1.2)
        ax.set_xlabel(LABELS["x"])
        ax.set_ylabel(label)
        return None
    shape = grid_shape(pos[:, :2]) if pos.shape[1] == 2 else None
    if shape is not None:
        x, y = np.unique(pos[:, 0]), np.unique(pos[:, 1])
        hx = (x[1] - x[0]) / 2 if x.size > 1 else 0.5
        hy = (y[1] - y[0]) / 2 if y.size > 1 else 0.5
        im = ax.imshow(values.reshape(shape).T, origin="lower", cmap=cmap, norm=norm,
                       extent=(x[0] - hx, x[-1] + hx, y[0] - hy, y[-1] + hy), aspect="equal")
    else:
        im = ax.tripcolor(pos[:, 0], pos[:, 1], values, shading="gouraud", cmap=cmap, norm=norm)
        ax.set_aspect("equal")
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_xlabel(LABELS["x"])
    ax.set_ylabel(LABELS["y"])
    return im


def spike_raster(result: Result, ax: Any = None, max_points: int = 200_000) -> Figure:
    """Raster of packet firings: time vs edge id, blue forward, red backward.

    Needs a run with ``spike_log=True`` (else :class:`~evsim.errors.ConfigError`);
    at most ``max_points`` evenly strided firings are drawn.
    """
    log = getattr(result, "spike_log", None)
    if log is None:
        raise ConfigError("spike_raster needs a result run with spike_log=True")
    fig, ax = _axes(ax)
    t, e, s = (np.asarray(log[k]) for k in ("time", "edge", "sign"))
    step = max(1, t.size // max_points)
    t, e, s = t[::step], e[::step], s[::step]
    for sign, colour, label in ((1, "tab:blue", "forward"), (-1, "tab:red", "backward")):
        sel = s == sign
        ax.scatter(t[sel], e[sel], s=1, c=colour, marker=".", linewidths=0, label=label)
    ax.set_xlabel(LABELS["t"])
    ax.set_ylabel("edge id (index)")
    ax.set_title(f"spike raster ({int(result.spikes)} packets" + (f", every {step}th" if step > 1 else "") + ")")
    ax.legend(loc="upper right", markerscale=8, fontsize=8)
    return fig


def cell_traffic(result: Result, ax: Any = None) -> Figure:
    """Heatmap of packets sent + received per cell, ``s_c + r_c`` (log colour scale)."""
    fig, ax = _axes(ax)
    n = np.asarray(result.potential).shape[-1]
    counts = (np.asarray(result.node_spikes)[:n] + np.asarray(result.node_received)[:n]).astype(float)
    pos = np.asarray(result.positions, dtype=float)
    norm = LogNorm(vmin=max(1.0, counts[counts > 0].min(initial=1.0)), vmax=max(2.0, counts.max()))
    _field(ax, pos, np.maximum(counts, norm.vmin), "packets per cell (sent + received)", cmap="magma",
           norm=norm)
    ax.set_title("per-cell traffic (sent + received)")
    return fig


def edge_traffic(result: Result, ax: Any = None) -> Figure:
    """Packets per edge on the mesh: segments between cell centres (reservoir edges omitted).

    1D runs: packets per edge against the edge midpoint.
    """
    fig, ax = _axes(ax)
    n = np.asarray(result.potential).shape[-1]
    pos = np.asarray(result.positions, dtype=float).reshape(n, -1)
    edges = np.asarray(result.edges)
    spikes = np.asarray(result.edge_spikes, dtype=float)
    cc = (edges[:, 0] < n) & (edges[:, 1] < n)
    if pos.shape[1] == 1:
        mid = 0.5 * (pos[edges[cc, 0], 0] + pos[edges[cc, 1], 0])
        order = np.argsort(mid)
        ax.plot(mid[order], spikes[cc][order], ".-", lw=1)
        ax.set_xlabel("edge midpoint x [-]")
        ax.set_ylabel("packets per edge")
    else:
        seg = np.stack([pos[edges[cc, 0], :2], pos[edges[cc, 1], :2]], axis=1)
        vals = np.maximum(spikes[cc], 1.0)
        lc = LineCollection(seg, cmap="inferno", norm=LogNorm(vmin=1.0, vmax=max(2.0, vals.max())),
                            linewidths=1.5)
        lc.set_array(vals)
        ax.add_collection(lc)
        ax.autoscale()
        ax.set_aspect("equal")
        fig.colorbar(lc, ax=ax, label="packets per edge")
        ax.set_xlabel(LABELS["x"])
        ax.set_ylabel(LABELS["y"])
    ax.set_title("per-edge traffic")
    return fig


def link_traffic(traffic: Any, ax: Any = None) -> Figure:
    """Packets per network-on-chip link on the core mesh (a :class:`~evsim.analysis.mapping.Traffic`).

    Each directed link is a segment between core centres, offset to the right of
    its direction so both directions show; the busiest link is circled.
    """
    fig, ax = _axes(ax, figsize=(5.5, 5))
    mesh = traffic.mesh
    exists = mesh.link_exists()
    load = np.asarray(traffic.link_load, dtype=float)
    segs, vals = [], []
    for link in np.nonzero(exists)[0]:
        (x0, y0), (x1, y1), _ = mesh.link_ends(link)
        dx, dy = x1 - x0, y1 - y0
        off = 0.12 * np.array([dy, -dx])
        segs.append([np.array([x0, y0]) + off + 0.2 * np.array([dx, dy]),
                     np.array([x1, y1]) + off - 0.2 * np.array([dx, dy])])
        vals.append(load[link])
    cx, cy = mesh.coords(np.arange(mesh.cores))
    core_total = np.asarray(traffic.core_sent) + np.asarray(traffic.core_received)
    sc = ax.scatter(cx, cy, s=500, marker="s", c=core_total, cmap="Greys", edgecolors="k")
    fig.colorbar(sc, ax=ax, label="packets sent + received per core", shrink=0.7)
    if segs:
        vals = np.array(vals)
        lc = LineCollection(segs, cmap="plasma", linewidths=2 + 4 * vals / max(vals.max(), 1))
        lc.set_array(vals)
        ax.add_collection(lc)
        fig.colorbar(lc, ax=ax, label="packets per link", shrink=0.7)
    b = traffic.busiest_link()
    if b["packets"] > 0:
        mx, my = (np.array(b["from"]) + np.array(b["to"])) / 2
        ax.plot(mx, my, "o", ms=22, mfc="none", mec="tab:green", mew=2)
    ax.set_xlim(-0.6, mesh.width - 0.4)
    ax.set_ylim(-0.6, mesh.height - 0.4)
    ax.set_aspect("equal")
    ax.set_xlabel("core column (mesh x index)")
    ax.set_ylabel("core row (mesh y index)")
    busiest = f"\n(green circle: busiest link, {int(b['packets'])} packets)" if b["packets"] > 0 else ""
    ax.set_title(f"NoC link load, {traffic.hops_per_packet:.3f} hops/packet{busiest}", fontsize=10)
    return fig


_KIND_COLOURS = {"synaptic_ops": "tab:blue", "neuron_updates": "tab:orange", "spikes_out": "tab:green",
                 "hops_x": "tab:purple", "hops_y": "tab:pink", "static": "tab:gray"}


def energy_bars(breakdowns: dict, ax: Any = None) -> Figure:
    """Stacked bars of the energy breakdown per profile, as a share of each total.

    ``breakdowns`` maps a label (profile or solver) to an
    :class:`~evsim.analysis.energy.EnergyBreakdown` or its ``as_dict()``
    (keys ``energy`` and ``total``); totals are printed on the bars.
    """
    fig, ax = _axes(ax, figsize=(7, 0.6 * len(breakdowns) + 2))
    rows = {k: (v.as_dict() if hasattr(v, "as_dict") else v) for k, v in breakdowns.items()}
    kinds = []
    for r in rows.values():
        kinds += [k for k in r["energy"] if k not in kinds]
    for i, (label, r) in enumerate(rows.items()):
        total = r["total"]
        left = 0.0
        for k in kinds:
            share = r["energy"].get(k, 0.0) / total if total > 0 else 0.0
            ax.barh(i, share, left=left, color=_KIND_COLOURS.get(k), label=k if i == 0 else None)
            left += share
        ax.text(1.01, i, f"{total:.3g} J", va="center", fontsize=9)
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("share of total energy [-]")
    ax.set_ylabel("hardware profile / solver")
    ax.set_title("energy breakdown by event kind")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, ncols=3, title="event kind",
              title_fontsize=7)
    return fig


def pareto_plot(points: list[dict], frontier: list[int] | None = None, ax: Any = None,
                energy_key: str = "energy_loihi", reference: str | None = None) -> Figure:
    """RMSE vs messages (log-log), colour = energy, Pareto-optimal points joined.

    ``points`` are sweep rows with keys ``rmse``, ``spikes``, ``quota`` and
    ``energy_key`` (and ``messages``, ``order``, ``tolerance`` where an order-2 run
    sends trajectory messages too: the x axis is then every message, not only the
    packets); ``frontier`` the indices of the non-dominated points; ``reference``
    what the RMSE is against (:func:`reference_label`; default the rows' own
    ``reference`` key when they share one).
    """
    fig, ax = _axes(ax)
    if reference is None and len({p.get("reference") for p in points}) == 1:
        reference = points[0].get("reference")
    rmse = np.array([p["rmse"] for p in points], dtype=float)
    both = any(p.get("messages", p["spikes"]) != p["spikes"] for p in points)
    spikes = np.array([p.get("messages", p["spikes"]) for p in points], dtype=float)
    energy = np.array([p.get(energy_key, np.nan) for p in points], dtype=float)
    sc = ax.scatter(spikes, rmse, c=energy, cmap="viridis", s=40, zorder=3,
                    norm=LogNorm() if np.all(energy > 0) else None)
    name = energy_key.removeprefix("energy_")
    fig.colorbar(sc, ax=ax, label=f"energy on {name} [J]" if name != energy_key else f"{name} [J]")
    if frontier:
        f = sorted(frontier, key=lambda i: spikes[i])
        ax.plot(spikes[f], rmse[f], "-", color="tab:red", lw=1.5, label="Pareto frontier", zorder=2)
        ax.legend()
    for p, s, r in zip(points, spikes, rmse):
        text = f"q={p['quota']:.2g}"
        if p.get("order", 1) >= 2:
            text += f", tol={p['tolerance']:.2g}"
        ax.annotate(text, (s, r), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(0.15)
    log_ticks(ax)
    ax.set_xlabel(LABELS["messages" if both else "spikes"])
    ax.set_ylabel(f"RMSE vs {reference_label(reference)} [-]")
    ax.set_title("accuracy vs activity vs energy")
    return fig


def _interval_counts(result, frames: np.ndarray) -> np.ndarray:
    """Packets per edge fired in each interval ``(times[f-1], times[f]]``, shape (F, E)."""
    E = np.asarray(result.edges).shape[0]
    log = result.spike_log
    times = np.asarray(result.times)[frames]
    out = np.zeros((frames.size, E), dtype=np.int64)
    if log is None or np.asarray(log["time"]).size == 0:
        return out
    t = np.asarray(log["time"])
    b = np.searchsorted(times, t, side="left")
    ok = b < frames.size
    np.add.at(out, (b[ok], np.asarray(log["edge"])[ok]), 1)
    return out


def animate_potential(result: Result, path: str | Path, fps: int = 4, max_frames: int = 40) -> Path:
    """GIF of the potential at the record times with the packets of each interval.

    1D: ``u(x)`` with a bar per edge of the packets fired since the previous
    frame; 2D: the potential image (grid) or triangulation (mesh) with the
    active edges drawn as segments (alpha ~ packets). Written with
    :class:`matplotlib.animation.PillowWriter` (no ffmpeg needed); a ``path``
    not ending in ``.gif`` is a :class:`~evsim.errors.ConfigError`.
    """
    from matplotlib.animation import FuncAnimation, PillowWriter
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ConfigError(f"animate_potential writes a GIF, got {path.name!r}")
    u = np.asarray(result.potential)
    T, n = u.shape
    frames = np.unique(np.linspace(0, T - 1, min(T, max_frames)).round().astype(int))
    counts = _interval_counts(result, frames)
    pos = np.asarray(result.positions, dtype=float).reshape(n, -1)
    edges = np.asarray(result.edges)
    cc = (edges[:, 0] < n) & (edges[:, 1] < n)
    vmin, vmax = float(u.min()), float(u.max())
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    if pos.shape[1] == 1:
        order = np.argsort(pos[:, 0])
        (line,) = ax.plot(pos[order, 0], u[0, order], lw=1.5)
        mid = 0.5 * (pos[edges[cc, 0], 0] + pos[edges[cc, 1], 0])
        ax2 = ax.twinx()
        width = (pos[:, 0].max() - pos[:, 0].min()) / max(n, 1)
        bars = ax2.bar(mid, np.zeros(mid.size), width=width, color="tab:red", alpha=0.4)
        ax2.set_ylim(0, max(1, counts[:, cc].max()))
        ax2.set_ylabel("packets in interval")
        ax.set_ylim(vmin - 0.05 * (vmax - vmin + 1e-12), vmax + 0.05 * (vmax - vmin + 1e-12))
        ax.set_xlabel(LABELS["x"])
        ax.set_ylabel(LABELS["u"])

        def update(k):
            line.set_ydata(u[frames[k], order])
            for bar, h in zip(bars, counts[k, cc]):
                bar.set_height(h)
            ax.set_title(f"t = {result.times[frames[k]]:.4g}")
            return [line, *bars]
    else:
        shape = grid_shape(pos[:, :2])
        if shape is not None:
            x, y = np.unique(pos[:, 0]), np.unique(pos[:, 1])
            hx = (x[1] - x[0]) / 2 if x.size > 1 else 0.5
            hy = (y[1] - y[0]) / 2 if y.size > 1 else 0.5
            im = ax.imshow(u[0].reshape(shape).T, origin="lower", vmin=vmin, vmax=vmax,
                           extent=(x[0] - hx, x[-1] + hx, y[0] - hy, y[-1] + hy), cmap="coolwarm")

            def draw(k):
                im.set_data(u[frames[k]].reshape(shape).T)
        else:
            im = ax.tripcolor(pos[:, 0], pos[:, 1], u[0], vmin=vmin, vmax=vmax, cmap="coolwarm")

            def draw(k):
                im.set_array(u[frames[k]])
        fig.colorbar(im, ax=ax, label=LABELS["u"])
        ax.set_xlabel(LABELS["x"])
        ax.set_ylabel(LABELS["y"])
        seg = np.stack([pos[edges[cc, 0], :2], pos[edges[cc, 1], :2]], axis=1)
        lc = LineCollection(seg, colors="k", linewidths=1.0)
        ax.add_collection(lc)
        peak = max(1, counts[:, cc].max())
        ax.set_aspect("equal")

        def update(k):
            draw(k)
            alpha = np.clip(counts[k, cc] / peak, 0, 1)
            rgba = np.zeros((alpha.size, 4))
            rgba[:, 3] = alpha
            lc.set_color(rgba)
            ax.set_title(f"t = {result.times[frames[k]]:.4g}: {int(counts[k].sum())} packets since the "
                         "last frame (dark edges)", fontsize=9)
            return [im, lc]
    anim = FuncAnimation(fig, update, frames=len(frames), blit=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=72)
    plt.close(fig)
    return path
