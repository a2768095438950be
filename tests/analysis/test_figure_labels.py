"""Every figure evsim writes can be read: each Axes with data labels both axes, each colour
bar is labelled, references are named (exact / semi-discrete), error panels skip t = 0, log
axes carry enough non-overlapping tick labels, and the training window has a legend entry.

The checks run on the figure as it is saved: ``Figure.savefig`` is wrapped for the test, so
the experiments' own figure code is what is inspected.
"""
from __future__ import annotations

import matplotlib.figure
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis import figures as F
from evsim.analysis.energy import energy_table
from evsim.analysis.mapping import CoreMesh, map_cells, traffic
from evsim.analysis.meshplot import plot_mesh_result
from evsim.analysis.plots import plot_run
from evsim.workflow.case import make_case


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.images or ax.collections
                or [p for p in ax.patches if p.get_label() and not p.get_label().startswith("_")]
                or ax.containers)


def problems(fig) -> list[str]:
    """What a reader could not tell from ``fig``: unlabelled axes and colour bars, empty legends."""
    out = []
    for i, ax in enumerate(fig.axes):
        where = f"axes {i} ({ax.get_title()!r})"
        if getattr(ax, "_colorbar", None) is not None:
            if not (ax.get_ylabel().strip() or ax.get_xlabel().strip()):
                out.append(f"{where}: colour bar without a label")
            continue
        if not _has_data(ax):
            continue
        twins = [a for a in ax.get_shared_x_axes().get_siblings(ax) if a is not ax]
        if not ax.get_xlabel().strip() and not any(a.get_xlabel().strip() for a in twins):
            out.append(f"{where}: no x label")
        if not ax.get_ylabel().strip():
            out.append(f"{where}: no y label")
        legend = ax.get_legend()
        if legend is not None and not all(t.get_text().strip() for t in legend.get_texts()):
            out.append(f"{where}: legend entry without text")
    return out


@pytest.fixture
def saved(monkeypatch):
    """Check every figure as it is saved; yields ``{file name: figure}`` of the saved ones."""
    seen: dict[str, matplotlib.figure.Figure] = {}
    bad: list[str] = []
    original = matplotlib.figure.Figure.savefig

    def check(self, fname, *args, **kwargs):
        name = getattr(fname, "name", str(fname)).rsplit("/", 1)[-1]
        bad.extend(f"{name}: {p}" for p in problems(self))
        seen[name] = self
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", check)
    yield seen
    assert bad == []


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]


def _has_training_window(ax) -> bool:
    return any(p.get_label().startswith("training window") for p in ax.patches)


@pytest.fixture(scope="module")
def run2d():
    g = topologies.grid_2d(8, 1.0, 0.1)
    x = topologies.cell_positions(g)
    r = evsim.simulate(g, np.sin(np.pi * x[:, 0]) * (1 + x[:, 1]), quota=1e-3, t_end=0.1,
                       record=np.linspace(0, 0.1, 6), spike_log=True, progress=False)
    return g, r


def test_checker_catches_unlabelled_axes_and_colour_bars():
    plt = F.pyplot()
    fig, ax = plt.subplots()
    fig.colorbar(ax.imshow(np.ones((2, 2))), ax=ax)
    assert problems(fig) == ["axes 0 (''): no x label", "axes 0 (''): no y label",
                             "axes 1 (''): colour bar without a label"]
    plt.close(fig)


@pytest.mark.parametrize("problem", ["heat1d", "heat2d", "disk"])
def test_run_figures_name_the_reference_and_skip_t0(problem, tmp_path, saved):
    case = make_case(problem, cells=12 if problem != "disk" else 150, quota=1e-3, t_end=0.1,
                     record=np.linspace(0, 0.1, 5))
    r = case.simulate(progress=False)
    ref = case.reference(r.times)
    plot_run(r, ref, case.graph, tmp_path, title=problem, reference_kind=case.reference_kind)
    name = F.reference_label(case.reference_kind)
    assert name in " ".join(_titles(saved["field.png"]))
    assert saved["error.png"].axes[0].get_ylabel() == f"RMSE vs {name} [-]"
    assert saved["error.png"].axes[0].lines[0].get_xdata()[0] > 0           # no RMSE point at t = 0
    field = saved["field.png"]
    if problem == "heat1d":
        err = field.axes[2]                  # the |error| space-time map starts after t = 0
        assert err.images[0].get_extent()[2] == pytest.approx(r.times[1])
    else:
        assert not [t for t in _titles(field) if t.endswith("t = 0")]
    if "simplices" in case.graph.graph:
        plot_mesh_result(case.graph, r, tmp_path, ref, reference_kind=case.reference_kind)
        assert name in saved["mesh_field.png"].axes[1].get_title()


def test_traffic_and_energy_figures(run2d, tmp_path, saved):
    g, r = run2d
    m = map_cells(g, CoreMesh(2, 2, 16))
    r1 = evsim.simulate(topologies.grid_1d(10, 1.0, 0.1), np.ones(10), quota=1e-2, t_end=0.05,
                        progress=False)
    draw = {"raster": lambda: F.spike_raster(r), "cells": lambda: F.cell_traffic(r),
            "edges": lambda: F.edge_traffic(r), "edges1d": lambda: F.edge_traffic(r1),
            "links": lambda: F.link_traffic(traffic(r, m)),
            "energy": lambda: F.energy_bars(energy_table(r, mapping=m))}
    for name, figure in draw.items():
        F.savefig(figure(), tmp_path / f"{name}.png")
    assert sorted(saved) == sorted(f"{name}.png" for name in draw)   # the fixture checks the labels


def _pareto_points():
    return [{"quota": q, "spikes": int(2e4 / q ** 0.5), "rmse": 0.4 * q, "energy_loihi": 1e-9 / q ** 0.5,
             "reference": "exact"} for q in (1e-4, 3e-5, 1e-5)]


def _tick_labels(fig, axis):
    fig.canvas.draw()
    lo, hi = sorted(axis.get_view_interval())
    ticks = [t for t in axis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_text()]
    renderer = fig.canvas.get_renderer()
    return [t.label1.get_window_extent(renderer) for t in ticks]


def test_pareto_plot_has_readable_log_ticks(tmp_path, saved):
    fig = F.pareto_plot(_pareto_points(), [0, 1, 2])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "RMSE vs exact solution [-]"
    for axis in (ax.xaxis, ax.yaxis):
        boxes = _tick_labels(fig, axis)
        assert len(boxes) >= 3, "a log axis needs at least three labelled ticks"
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    F.savefig(fig, tmp_path / "pareto.png")


def test_sci_label_and_reference_label():
    assert F._sci_label(2e5) == r"$2\times 10^{5}$" and F._sci_label(1e-3) == "$10^{-3}$"
    assert F.reference_label("semi-discrete") == "semi-discrete reference (exact in time)"
    assert F.reference_label(None) == "reference"
    assert list(F.after_start(np.array([0.0, 0.1, 0.2]))) == [1, 2]
    assert list(F.after_start(np.array([0.0]))) == [0]                 # a single record is kept


def test_baselines_figures_mark_the_training_window(tmp_path, saved):
    from evsim.analysis.energy import PROFILE_NAMES as PROFILES
    from evsim.experiments.baselines import _figures
    x, times = np.linspace(0.005, 0.995, 20), np.linspace(0.0, 2.0, 21)
    exact = np.exp(-np.pi ** 2 * 0.1 * times)[:, None] * np.sin(np.pi * x)[None]
    heat = {"x": x, "times": times, "exact": exact, "fields": {"PISNN": exact + 1e-4},
            "mass": {"PISNN": exact.mean(1)}, "defect": {"PISNN": np.zeros(21)},
            "mass_exact": exact.mean(1),
            "rows": [{"model": "PISNN", "energy_J": {p: 1e-4 for p in PROFILES}}]}
    assert _figures(heat, tmp_path) == ["heat1d_profiles.png", "heat1d_mass.png", "heat1d_cost.png"]
    assert all(_has_training_window(ax) for ax in saved["heat1d_mass.png"].axes)
    profiles = saved["heat1d_profiles.png"]
    assert "training window" in profiles.axes[0].get_legend().get_title().get_text()
    assert "not matched" in saved["heat1d_cost.png"].axes[0].get_title()


def test_paper_figures(tmp_path, saved):
    from evsim.experiments.paper import paper_generalize, paper_heat1d, paper_heat2d
    s = paper_heat1d(tmp_path / "h1", fast=True, cells=20, target_rmse=2e-3)
    assert sorted(saved) == sorted(s["figures"])
    pareto = saved["heat1d_pareto.png"].axes[0]
    assert "spikes" in pareto.get_xlabel() and "FLOPs" in pareto.get_xlabel()
    assert any("FLOPs" in t.get_text() for t in pareto.get_legend().get_texts())
    err = saved["heat1d_spacetime.png"].axes[2]                  # |error| map starts after t = 0
    assert err.images[0].get_extent()[0] > 0
    paper_generalize(tmp_path / "g", fast=True, cells=20, target_rmse=2e-3, t_end=1.0)
    assert _has_training_window(saved["generalize_long_horizon.png"].axes[0])
    zero_shot = saved["generalize_zero_shot.png"]
    assert "semi-discrete" in zero_shot.axes[0].get_title()
    paper_heat2d(tmp_path / "h2", fast=True, cells=8, target_rmse=5e-3)
    assert not [t for t in _titles(saved["heat2d_snapshots.png"]) if "t = 0.0" in t]


def test_energy_comparison_says_matched_accuracy(tmp_path, saved, monkeypatch):
    from evsim.experiments import hardware

    def fake_compare(problem, quota, t_end):
        return {"problem": problem, "t_end": 0.5,
                "pisnn": {"rmse_semidiscrete": 2.3e-5, "energy": {"loihi": 5e-3, "cmos45": 1e-3}},
                "ftcs": {"rmse_semidiscrete": 2.3e-5, "energy": 1.7e-6},
                "pinn": {"rmse_train_window": 1.1e-5, "energy": 2.2e-5}}

    monkeypatch.setattr(hardware, "compare_solvers", fake_compare)
    hardware.energy_comparison(tmp_path, fast=True)
    ax = saved["energy_comparison.png"].axes[0]
    assert "matched accuracy" in ax.get_title() and ax.get_xlabel() == "energy [J]"
    assert all("RMSE" in t.get_text() for t in ax.get_yticklabels())
