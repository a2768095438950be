"""evsim's time-stepped Loihi estimate against SANA-FE 2.2.9 running the same replayed firings.

Three networks (a 1D grid, a 2D grid, an irregular Voronoi disk), each mapped on
4 x 4 cores: total energy and each SANA-FE component within 5 %, chip time
within 10 %. Skipped without the ``hardware`` extra.
"""
import numpy as np
import pytest

pytest.importorskip("sanafe")
pytest.importorskip("pint")

import evsim  # noqa: E402
from evsim import topologies  # noqa: E402
from evsim.analysis.mapping import CoreMesh, map_cells  # noqa: E402
from evsim.analysis.sanafe import COMPONENTS, architecture, compare  # noqa: E402
from evsim.analysis.chip import get_chip_profile  # noqa: E402

STEPS = 400


def _network(kind: str):
    if kind == "grid1d":
        g = topologies.grid_1d(96, 1.0, 0.1)
    elif kind == "grid2d":
        g = topologies.grid_2d(16, 1.0, 0.1)
    else:
        g = topologies.voronoi_2d("disk", cells=200, diffusivity=0.1)
    x = topologies.cell_positions(g)
    u0 = 1.0 + np.sin(np.pi * x[:, 0]) * np.cos(x[:, -1])
    volume = np.array([g.nodes[c]["volume"] for c in topologies.cell_nodes(g)])
    return g, u0, 0.02 * float(np.median(u0 * volume))     # a packet is 2 % of a typical cell's mass


@pytest.mark.parametrize("kind", ["grid1d", "grid2d", "voronoi"])
def test_time_stepped_loihi_agrees_with_sanafe(kind):
    g, u0, quota = _network(kind)
    r = evsim.simulate(g, u0=u0, quota=quota, t_end=0.1, spike_log=True)
    assert r.spikes > 3000
    m = map_cells(g, CoreMesh(4, 4, 1024), "partition" if kind == "voronoi" else "blocks")
    c = compare(r, m, "loihi", dt_hw=r.t_final / STEPS)
    assert c["sanafe"]["version"] == "2.2.9"
    assert c["sanafe"]["spikes"] == c["evsim"]["counts"]["spikes_out"]
    for key in ("total", *COMPONENTS):
        assert c["relative_error"][key] == pytest.approx(0.0, abs=0.05), key
    assert c["relative_error"]["chip_seconds"] == pytest.approx(0.0, abs=0.10)


def test_architecture_mirrors_the_mapping():
    g = _network("grid2d")[0]
    m = map_cells(g, CoreMesh(4, 2, 64))
    a = architecture(get_chip_profile("loihi"), m)["architecture"]
    assert (a["attributes"]["width"], a["attributes"]["height"]) == (4, 2)
    assert a["tile"][0]["name"] == "evsim_tile[0..7]"
    core = a["tile"][0]["core"][0]
    assert core["soma"][0]["name"] == f"evsim_cell[0..{m.load.max() - 1}]"
    assert core["axon_out"][0]["attributes"]["energy_message_out"] == pytest.approx(111e-12)
