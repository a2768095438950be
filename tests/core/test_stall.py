"""Runs whose clock stops advancing end with stop_reason "stalled", an exact ledger
and a warning naming the cause and the edge (each bounded by max_events)."""
import math

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim.checks import STALL_MIN_EVENTS, ScaleWarning, StallWarning, stalled

LIMIT = 10 ** 7  # a stalled run must stop long before this


def stiff(g, V=1.0):
    G = nx.Graph()
    G.add_node("a", volume=V)
    G.add_node("b", volume=V)
    G.add_node("r", kind="reservoir", potential=0.0)
    G.add_edge("a", "b", conductance=g)
    G.add_edge("b", "r", conductance=1.0)
    return G


@pytest.mark.parametrize("engine", sorted(evsim.ENGINES))
def test_chattering_stiff_edge_stalls(engine):
    with pytest.warns(StallWarning, match=r"chatter on edge \('a', 'b'\)"):
        r = evsim.simulate(stiff(1e300), np.array([1.0, 0.0]), quota=1e-3, t_end=1.0,
                           engine=engine, max_events=LIMIT, progress=False)
    assert r.stop_reason == "stalled" and r.firings + r.arrivals < LIMIT
    assert r.ledger.residual == 0 and r.t_final < 1.0
    assert np.all(np.isfinite(r.potential))


def test_flux_overflow_mid_run_stalls():
    # one packet moves a cell of volume 1e-300 by 1e297: the flux overflows to inf
    with pytest.warns(ScaleWarning):
        with pytest.warns(StallWarning, match="stalled"):
            r = evsim.simulate(stiff(1e20, V=1e-300), np.array([1.0, 0.0]), quota=1e-3,
                               t_end=1.0, max_events=LIMIT, progress=False)
    assert r.stop_reason == "stalled" and r.firings + r.arrivals < LIMIT
    assert r.ledger.residual == 0


def test_stalled_result_saves_and_loads(tmp_path):
    with pytest.warns(StallWarning):
        r = evsim.simulate(stiff(1e300), np.array([1.0, 0.0]), quota=1e-3, t_end=1.0,
                           max_events=LIMIT, progress=False)
    r.save(tmp_path / "r.npz")
    assert evsim.load(tmp_path / "r.npz").stop_reason == "stalled"


def test_stalled_criterion():
    n = STALL_MIN_EVENTS
    assert stalled(0.5, math.nan, 1, 1.0) and stalled(0.5, math.inf, 1, 1.0)
    assert stalled(0.5, 0.5, n, 1.0) and stalled(0.0, 1e-290, n, 1.0)
    assert not stalled(0.5, 0.5, n - 1, 1.0)          # too few events to judge
    assert not stalled(0.0, 1e-6, n, 1.0)             # slow but real progress


def test_normal_run_does_not_stall():
    G = stiff(1.0)
    r = evsim.simulate(G, np.array([1.0, 0.0]), quota=1e-5, t_end=2.0, progress=False)
    assert r.stop_reason == "t_end" and r.firings > STALL_MIN_EVENTS
