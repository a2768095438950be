"""Scale problems are caught before the run: an error naming the cell/edge, a warning
with the fix, or an exact offset taken out of the potentials."""
import warnings

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.checks import (RESOLUTION_LIMIT, ScaleWarning, StallWarning, check_scales,
                          potential_offset)


def pair(g=1.0, V=1.0, reservoir=None):
    G = nx.Graph()
    G.add_node("a", volume=V)
    G.add_node("b", volume=V)
    G.add_edge("a", "b", conductance=g)
    if reservoir is not None:
        G.add_node("r", kind="reservoir", potential=reservoir)
        G.add_edge("b", "r", conductance=g)
    return G


def run(graph, u0, **kw):
    kw = {"quota": 1e-4, "t_end": 1.0, "max_events": 10 ** 6, "progress": False, **kw}
    return evsim.simulate(graph, np.asarray(u0, dtype=float), **kw)


def test_valid_problems_raise_and_warn_nothing():
    graph = topologies.grid_2d(cells=8, diffusivity=0.1)
    u0 = np.sin(np.pi * topologies.cell_positions(graph)[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_scales(evsim.compile_network(graph), u0, 1e-4) == 0.0
        assert not run(graph, u0).metadata


def test_subnormal_quota_is_an_error():
    with pytest.raises(evsim.ConfigError, match="subnormal"):
        run(pair(), [1.0, 0.0], quota=1e-310)


def test_subnormal_volume_is_an_error_naming_the_cell():
    with pytest.raises(evsim.GraphError, match="cell 'a': the volume is subnormal"):
        run(pair(V=1e-310), [1.0, 0.0])


def test_mass_overflow_is_an_error():
    with pytest.raises(evsim.GraphError, match="cell 'a': the mass V u0 overflows"):
        run(pair(V=1e300), [1e10, 0.0])


def test_packet_jump_overflow_is_an_error():
    with pytest.raises(evsim.GraphError, match=r"cell 'a': the potential jump .* q / V, overflows"):
        run(pair(V=1e-305), [1.0, 0.0], quota=1e10)


def test_initial_flux_overflow_is_an_error_naming_the_edge():
    with pytest.raises(evsim.GraphError, match=r"edge \('a', 'b'\): the initial flux"):
        run(pair(g=1e300), [1e10, 0.0])


def test_quota_above_the_mass_scale_warns_with_the_fix():
    with pytest.warns(ScaleWarning, match=r"cell 'a': quota 1.0 >= V \(max u - min u\) = 0.5"):
        r = run(pair(V=0.5), [1.0, 0.0], quota=1.0)
    assert r.ledger.residual == 0


def test_extreme_volume_warns_and_ends():
    with pytest.warns(ScaleWarning, match="quota"), pytest.warns(StallWarning):
        r = run(pair(V=1e-300), [1.0, 0.0], quota=1e-3)
    assert r.stop_reason == "stalled" and r.ledger.residual == 0


def test_resolution_lost_without_an_exact_offset_warns():
    # the spread itself is below the quota's resolution: only a larger quota helps
    with pytest.warns(ScaleWarning, match=r"> 2\^50.*raise the quota"):
        run(pair(), [1.0, 0.0], quota=1e-300, max_events=1000)
    # values on both sides of zero: no offset is exact (Sterbenz needs one sign)
    graph = pair(reservoir=-1e16)
    assert potential_offset(evsim.compile_network(graph), np.array([1e16, 0.0])) == 0.0
    with pytest.warns(ScaleWarning, match="float resolution"):
        run(graph, [1e16, 0.0], quota=1.0, max_events=1000)


@pytest.mark.parametrize("engine", sorted(evsim.ENGINES))
def test_exact_offset_gives_the_packets_of_the_problem_without_it(engine):
    c = 1e12  # |u| V / q = 1e16 > 2^50 = 1.1e15: a packet is below u's resolution
    low = run(pair(reservoir=0.0), [1.0, 0.5], engine=engine, spike_log=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        high = run(pair(reservoir=c), [c + 1.0, c + 0.5], engine=engine, spike_log=True)
    assert c * 1.0 / 1e-4 > RESOLUTION_LIMIT
    offset = high.metadata["potential_offset"]
    assert offset == 0.5 * c + 0.5 * (c + 1.0)
    # the same packets as the problem written without the (exactly representable) offset
    shift = offset - c
    shifted = run(pair(reservoir=-shift), [1.0 - shift, 0.5 - shift], engine=engine, spike_log=True)
    for k in ("time", "edge", "sign"):
        assert np.array_equal(high.spike_log[k], shifted.spike_log[k])
    assert np.array_equal(high.potential, shifted.potential + offset)
    assert high.ledger.residual == 0 and high.stop_reason == "t_end"
    # and the field is the low problem's, to the resolution of u ~ 1e12
    np.testing.assert_allclose(high.potential - c, low.potential, atol=1e-3)
