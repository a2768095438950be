"""Plotting has no global side effect: no module selects a matplotlib backend, pyplot is
imported on first use through analysis.figures.pyplot, and figures.savefig saves and closes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest

import evsim
from evsim import topologies as T
from evsim.analysis import figures


@pytest.fixture
def no_backend_switch(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"library code called matplotlib.use{args}")

    monkeypatch.setattr(matplotlib, "use", refuse)


def test_pyplot_is_matplotlib_pyplot():
    import matplotlib.pyplot

    assert figures.pyplot() is matplotlib.pyplot


def test_savefig_saves_closes_and_creates_folders(tmp_path, no_backend_switch):
    plt = figures.pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = figures.savefig(fig, tmp_path / "a" / "b" / "line.png", dpi=50)
    assert path == tmp_path / "a" / "b" / "line.png" and path.stat().st_size > 0
    assert not plt.fignum_exists(fig.number)


def test_run_and_mesh_figures_never_select_a_backend(tmp_path, no_backend_switch):
    from evsim.analysis.meshplot import plot_mesh_result
    from evsim.analysis.plots import plot_run

    g = T.voronoi_2d("disk", cells=60, diffusivity=0.1, seed=0)
    x = T.cell_positions(g)
    u0 = np.cos(np.pi * np.hypot(x[:, 0], x[:, 1]) / 2)
    res = evsim.simulate(g, u0=u0, quota=1e-3, t_end=0.1, record=np.linspace(0, 0.1, 3),
                         progress=False)
    ref = np.tile(u0, (3, 1))
    written = plot_run(res, ref, g, tmp_path, title="disk") + plot_mesh_result(g, res, tmp_path, ref)
    assert sorted(p.name for p in written) == ["error.png", "field.png", "mass.png",
                                               "mesh_field.png", "mesh_spikes.png"]
    assert all(p.stat().st_size > 0 for p in written)
    assert not figures.pyplot().get_fignums()                  # every figure was closed


def test_the_users_backend_survives_importing_and_plotting(tmp_path):
    """A non-Agg backend (as a notebook's inline one) stays selected; pyplot loads lazily."""
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        import evsim
        from evsim import topologies as T
        from evsim.analysis import figures, meshplot, plots
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported at module import"
        g = T.voronoi_2d("disk", cells=40, diffusivity=0.1, seed=0)
        n = len(T.cell_nodes(g))
        res = evsim.simulate(g, u0=np.ones(n), quota=1e-2, t_end=0.1, progress=False)
        meshplot.plot_mesh_result(g, res, {str(tmp_path)!r})
        plots.plot_run(res, res.potential, g, {str(tmp_path)!r})
        import matplotlib
        assert matplotlib.get_backend() == "template", matplotlib.get_backend()
    """)
    env = {**os.environ, "MPLBACKEND": "template", "TQDM_DISABLE": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert (tmp_path / "mesh_field.png").stat().st_size > 0
