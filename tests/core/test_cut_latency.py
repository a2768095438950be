"""The cut-latency model in one process (evsim.cut): exact ledger, the L -> 0 limit,
one part = the order-1 engine bit for bit, and errors that name the bad input."""
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.cut import plan_cut, simulate_cut
from evsim.errors import ConfigError, GraphError


def _heat1d(cells=40):
    g = topologies.grid_1d(cells=cells, length=1.0, diffusivity=0.1)
    x = topologies.cell_positions(g)[:, 0]
    return g, np.sin(np.pi * x)


def _grid2d(n=12):
    g = topologies.grid_2d(cells=n, length=1.0, diffusivity=0.1)
    x = topologies.cell_positions(g)
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) + 0.5 * x[:, 0]
    parts = (x[:, 0] > 0.5).astype(int) + 2 * (x[:, 1] > 0.6)   # four parts, uneven
    return g, u0, parts


def test_ledger_is_exact_across_parts_with_packets_in_transit():
    g, u0, parts = _grid2d()
    r = simulate_cut(g, parts, 2e-3, u0=u0, quota=1e-5, t_end=0.05,
                     record=np.linspace(0, 0.05, 6))
    assert r.ledger.residual == 0
    assert r.metadata["parts"] == 4 and r.metadata["cut_edges"] == 12 + 12
    assert r.in_transit > 0                      # packets between parts at t_end are counted
    assert r.arrivals + r.in_transit == r.edge_spikes[_cut_mask(g, parts)].sum()
    # the records' mass plus the packets in flight is the initial mass (up to rounding)
    assert abs(r.mass_final + r.boundary_mass + r.in_transit * r.quota - r.mass_initial) < 1e-12
    assert r.times.size == 6 and np.isfinite(r.potential).all()


def _cut_mask(g, parts):
    net = evsim.compile_network(g)
    a, b = net.edges.T
    cell = (a < net.cells) & (b < net.cells)
    mask = np.zeros(net.size, bool)
    mask[cell] = parts[a[cell]] != parts[b[cell]]
    return mask


def test_one_part_is_the_order_one_engine_bit_for_bit():
    g, u0, _ = _grid2d(10)
    rec = np.linspace(0, 0.05, 5)
    ref = evsim.simulate(g, u0=u0, quota=1e-5, t_end=0.05, record=rec)
    r = simulate_cut(g, np.zeros(100, int), 1e-3, u0=u0, quota=1e-5, t_end=0.05, record=rec)
    assert r.spikes == ref.spikes > 10_000
    np.testing.assert_array_equal(r.edge_forward, ref.edge_forward)
    np.testing.assert_array_equal(r.edge_backward, ref.edge_backward)
    np.testing.assert_array_equal(r.potential, ref.potential)
    np.testing.assert_array_equal(r.final_potential, ref.final_potential)
    np.testing.assert_array_equal(r.ledger_reservoirs, ref.ledger_reservoirs)


def test_converges_to_the_zero_latency_result_as_latency_goes_to_zero():
    g, u0 = _heat1d()
    rec = np.linspace(0, 0.5, 6)
    ref = evsim.simulate(g, u0=u0, quota=1e-5, t_end=0.5, record=rec)
    parts = (np.arange(40) >= 13).astype(int)   # off-centre: a flux crosses the cut
    err = []
    for lag in (1e-1, 1e-2, 1e-3, 1e-4):
        r = simulate_cut(g, parts, lag, u0=u0, quota=1e-5, t_end=0.5, record=rec)
        assert r.ledger.residual == 0
        err.append(np.sqrt(np.mean((r.potential - ref.potential) ** 2)))
    assert all(a > b for a, b in zip(err, err[1:])), err
    assert err[0] > 0.01                          # a latency of 0.1 is visible,
    assert err[-1] < 5e-4                         # 1e-4 is at the quantization level (q/V = 4e-4)


def test_saved_and_loaded(tmp_path):
    g, u0, parts = _grid2d(8)
    r = simulate_cut(g, parts, 5e-3, u0=u0, quota=1e-5, t_end=0.02)
    r.save(tmp_path / "cut.npz")
    back = evsim.load(tmp_path / "cut.npz")
    assert back.engine == "compiled-cut" and back.ledger.residual == 0
    np.testing.assert_array_equal(back.final_potential, r.final_potential)


@pytest.mark.parametrize("lag", [0.0, -1e-3, float("nan"), float("inf"), 1e-300])
def test_bad_latency_is_named(lag):
    g, u0 = _heat1d(10)
    with pytest.raises(ConfigError, match="cut_latency"):
        simulate_cut(g, np.arange(10) // 5, lag, u0=u0, quota=1e-3, t_end=1.0)


@pytest.mark.parametrize("assignment, message", [
    (np.zeros(9, int), r"one part per cell, shape \(10,\)"),
    (np.full(10, 0.5), "integer part numbers"),
    (np.r_[-1, np.zeros(9, int)], "negative part -1"),
    (np.r_[np.zeros(5, int), np.full(5, 2)], "part 1 of 0..2 without cells"),
])
def test_bad_assignment_is_named(assignment, message):
    g, u0 = _heat1d(10)
    with pytest.raises(ConfigError, match=f"assignment.*{message}"):
        simulate_cut(g, assignment, 1e-3, u0=u0, quota=1e-3, t_end=1.0)


def test_per_edge_latency_is_refused_naming_the_edge():
    g, u0 = _heat1d(10)
    g.edges[3, 4]["latency"] = 0.01
    with pytest.raises(GraphError, match=r"edge \(3, 4\) has latency 0.01"):
        plan_cut(evsim.compile_network(g), np.arange(10) // 5, 1e-3)


def test_a_communicator_of_the_wrong_size_is_refused():
    class Comm:
        rank, size = 0, 3
    g, u0 = _heat1d(10)
    with pytest.raises(ConfigError, match="2 parts but the communicator 3 ranks"):
        simulate_cut(g, np.arange(10) // 5, 1e-3, u0=u0, quota=1e-3, t_end=1.0, comm=Comm())


def test_half_edges_split_a_cut_edge_between_its_two_parts():
    g, u0 = _heat1d(10)
    plan = plan_cut(evsim.compile_network(g), np.arange(10) // 5, 1e-3)
    a, b = plan.parts
    assert plan.cut_edges == 1
    assert a.half.tolist() == b.half.tolist()               # the same cut edge, owned twice
    assert a.half_forward.tolist() == [True] and b.half_forward.tolist() == [False]
    assert a.ghosts.tolist() == [5] and b.ghosts.tolist() == [4]
    # each half-edge runs from its own cell to the ghost (a reservoir of the local network)
    ea, eb = a.network.edges[-1], b.network.edges[-1]
    assert ea[0] == 4 and ea[1] >= a.network.cells and eb[0] == 0 and eb[1] >= b.network.cells


def test_prefetching_changes_no_bit(monkeypatch):
    import evsim.cut as cut
    g, u0, parts = _grid2d(10)
    plain = simulate_cut(g, parts, 2e-3, u0=u0, quota=1e-5, t_end=0.03)
    monkeypatch.setattr(cut, "prefetch_pays", lambda state: True)
    fetched = simulate_cut(g, parts, 2e-3, u0=u0, quota=1e-5, t_end=0.03)
    assert plain.spikes == fetched.spikes > 5000
    np.testing.assert_array_equal(plain.edge_forward, fetched.edge_forward)
    np.testing.assert_array_equal(plain.edge_backward, fetched.edge_backward)
    np.testing.assert_array_equal(plain.final_potential, fetched.final_potential)
