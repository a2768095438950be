"""The C-LIF/CFQ engine: exact ledger, agreement of engines, accuracy, limits."""
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evsim
from evsim import topologies
from evsim.analysis import convergence_order, rmse_over_time
from evsim.workflow.problems import get_problem
from evsim.teachers import semidiscrete
from identical import assert_same_run


def sine_1d(cells=20, **kw):
    g = topologies.grid_1d(cells=cells, length=1.0, diffusivity=0.1, **kw)
    return g, np.sin(np.pi * topologies.cell_positions(g)[:, 0])


def both_engines(graph, u0, **kw):
    return [evsim.simulate(graph, u0, engine=e, spike_log=True, **kw) for e in ("compiled", "simpy")]


# ----------------------------------------------------------------- engines agree
CASES = {
    "1d-dirichlet": lambda: sine_1d(),
    "1d-latency": lambda: sine_1d(latency=0.01),
    "1d-neumann-source-decay": lambda: sine_1d(left="neumann", right=0.5, source=0.3, decay=0.2),
    "2d-mixed": lambda: (lambda g: (g, np.zeros(64)))(
        topologies.grid_2d(cells=8, diffusivity=0.1, boundary={"top": 1.0, "left": "neumann"})),
    "2d-latency": lambda: (lambda g: (g, np.sin(np.pi * topologies.cell_positions(g)[:, 0])))(
        topologies.grid_2d(cells=(6, 5), diffusivity=0.1, latency=0.002)),
    "3d-periodic-latency": lambda: (lambda g: (g, np.sin(2 * np.pi * topologies.cell_positions(g)[:, 0])))(
        topologies.grid_3d(cells=4, diffusivity=0.1, boundary="periodic", latency=0.003)),
}


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "in-cache"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_engines_agree_event_by_event(case, prefetch, monkeypatch):
    from evsim import kernel
    monkeypatch.setattr(kernel, "prefetch_pays", lambda state: prefetch)  # both kernel paths
    graph, u0 = CASES[case]()
    a, b = both_engines(graph, u0, quota=2e-5 if "3d" in case else 1e-4, t_end=0.3,
                        record=np.linspace(0, 0.3, 7))
    assert a.spikes > 500
    assert_same_run(a, b)
    assert a.ledger.residual == 0 and b.ledger.residual == 0


@pytest.mark.parametrize("prefetch", [True, False])
def test_engines_agree_with_and_without_prefetching(prefetch, monkeypatch):
    from evsim import kernel
    monkeypatch.setattr(kernel, "prefetch_pays", lambda state: prefetch)
    graph = topologies.grid_2d(cells=128, diffusivity=0.1, boundary={"top": 1.0, "left": "neumann"})
    x = topologies.cell_positions(graph)
    u0 = np.sin(np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1])
    a, b = both_engines(graph, u0, quota=1e-7, t_end=1.0, max_events=20_000)
    assert a.spikes == 20_000
    assert_same_run(a, b)
    assert a.ledger.residual == 0


def test_prefetching_is_chosen_by_the_state_size_against_the_l2_cache(monkeypatch):
    from evsim import kernel
    from evsim.network import compile_network
    from evsim.state import initial_state
    monkeypatch.setattr(kernel, "l2_cache_bytes", lambda: 1 << 20)
    sizes = {}
    for n in (64, 96):
        net = compile_network(topologies.grid_2d(cells=n, diffusivity=0.1))
        sizes[n] = kernel.prefetch_pays(initial_state(net, np.ones(net.cells), 1e-3, 1.0, np.zeros(0)))
    assert sizes == {64: False, 96: True}   # 1.3 MiB and 2.9 MiB of state against 2 x 1 MiB
    monkeypatch.undo()
    assert kernel.l2_cache_bytes() >= 64 << 10   # this host's (sysfs) or the default


def brute_force_stencil(net, e):
    """The other edges at each cell end of edge e, with their far ends."""
    sides = []
    for end in net.edges[e]:
        sides.append(sorted((f, int(a + b - end)) for f, (a, b) in enumerate(net.edges)
                            if f != e and end < net.cells and end in (a, b)))
    return sides


def stencil_sides(row):
    """A stencil row as the sorted (edge, far end) pairs of its source end, then of its
    destination end (the layout of brute_force_stencil)."""
    n_src, n = int(row[0]), int(row[1])
    pairs = [tuple(p) for p in row[2:2 + 2 * n].reshape(-1, 2).tolist()]
    return [sorted(pairs[:n_src]), sorted(pairs[n_src:])]


@pytest.mark.parametrize("quantile, block", [(None, None), (0.0, None), (None, 7), (0.0, 40)])
def test_event_stencil_lists_the_other_edges_of_both_ends(quantile, block, monkeypatch):
    from evsim import state
    if quantile is not None:  # force the long rows (here: interior edges) into the overflow
        monkeypatch.setattr(state, "_STENCIL_QUANTILE", quantile)
    if block is not None:     # rows filled a few entries at a time (as 10^6-cell meshes are)
        monkeypatch.setattr(state, "_STENCIL_BLOCK", block)
    graph = topologies.grid_3d(cells=3, diffusivity=0.1, boundary={"left": "neumann"})
    net = evsim.network.compile_network(graph)
    st = state.initial_state(net, np.zeros(net.cells), 1e-3, 1.0, np.zeros(1))
    assert (st.stencil_over.size > 0) == (quantile is not None)
    for e in range(net.size):
        assert stencil_sides(st.stencil_row(e)) == brute_force_stencil(net, e)


def test_overflowing_stencils_give_the_same_run(monkeypatch):
    from evsim import state
    graph = topologies.grid_3d(cells=4, diffusivity=0.1, latency=0.002)
    u0 = np.sin(np.pi * topologies.cell_positions(graph)[:, 0])
    run = dict(quota=2e-5, t_end=0.2, spike_log=True, record=np.linspace(0, 0.2, 5))
    a = evsim.simulate(graph, u0, **run)
    monkeypatch.setattr(state, "_STENCIL_QUANTILE", 0.0)
    b, c = (evsim.simulate(graph, u0, engine=e, **run) for e in ("compiled", "simpy"))
    assert a.spikes > 500
    assert_same_run(a, b)
    assert_same_run(a, c)


def test_winner_tree_root_is_the_earliest_slot_lowest_id_first():
    from evsim.state import winner_tree
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 64, 1001):
        times = rng.choice([0.5, 1.0, 2.0, np.inf], size=n)
        tree = winner_tree(times)
        first = np.lexsort((np.arange(n), times))[0]
        assert (tree["time"][1], tree["slot"][1]) == (times[first], first)
        for i in range(1, n):  # every match won by the smaller (time, slot)
            kids = tree[[2 * i, 2 * i + 1]]
            k = np.lexsort((kids["slot"], kids["time"]))[0]
            assert tree[i] == kids[k]


def test_engines_agree_when_stopped_by_event_limit():
    graph, u0 = sine_1d(latency=0.01)
    a, b = both_engines(graph, u0, quota=1e-4, t_end=0.5, record=np.linspace(0, 0.5, 6), max_events=3001)
    assert a.stop_reason == b.stop_reason == "max_events"
    assert a.firings + a.arrivals == 3001
    assert a.in_transit > 0  # packets in flight are in the ledger
    assert_same_run(a, b)
    assert a.ledger.residual == 0


def test_same_input_same_bits():
    graph, u0 = sine_1d()
    a = evsim.simulate(graph, u0, quota=1e-4, t_end=0.5, spike_log=True)
    b = evsim.simulate(graph, u0, quota=1e-4, t_end=0.5, spike_log=True)
    assert_same_run(a, b)


def test_ties_fire_in_increasing_edge_id():
    # two identical, disconnected cell-reservoir pairs: their edges fire at identical times
    g = nx.Graph()
    for k in range(2):
        g.add_node(("c", k), volume=1.0)
        g.add_node(("r", k), kind="reservoir", potential=0.0)
        g.add_edge(("c", k), ("r", k), conductance=1.0)
    for engine in ("compiled", "simpy"):
        r = evsim.simulate(g, [1.0, 1.0], quota=0.01, t_end=0.2, engine=engine, spike_log=True)
        assert r.spikes > 20
        t, e = r.spike_log["time"], r.spike_log["edge"]
        assert np.all(t[0::2] == t[1::2])                  # pairs of simultaneous firings
        assert np.all(e[0::2] == 0) and np.all(e[1::2] == 1)  # lower edge id first
        assert np.all(np.diff(t) >= 0)


# ----------------------------------------------------------------- exact ledger
@st.composite
def random_networks(draw):
    n = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    tree = nx.random_labeled_tree(n, seed=seed) if hasattr(nx, "random_labeled_tree") else nx.random_tree(n, seed=seed)
    g = nx.Graph()
    for c in range(n):
        g.add_node(c, volume=float(rng.uniform(0.1, 3.0)), pos=(float(c),))
    extra = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(n, 2)) if a != b]
    for a, b in list(tree.edges()) + extra:
        g.add_edge(a, b, conductance=float(rng.uniform(0.05, 5.0)))
    for r in range(draw(st.integers(0, 3))):
        g.add_node(("res", r), kind="reservoir", potential=float(rng.uniform(-1, 2)))
        g.add_edge(("res", r), int(rng.integers(n)), conductance=float(rng.uniform(0.1, 3.0)))
    if draw(st.booleans()):
        for a, b in g.edges():
            g.edges[a, b]["latency"] = float(rng.choice([0.0, rng.uniform(0, 0.05)]))
    u0 = rng.uniform(-1, 1, size=n)
    return g, u0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.sampled_from([1e-3, 3e-3, 1e-2]))
def test_ledger_exact_on_random_graphs(net, quota):
    graph, u0 = net
    r = evsim.simulate(graph, u0, quota=quota, t_end=0.5, record=np.linspace(0, 0.5, 5),
                       max_events=20000)
    assert r.ledger.residual == 0
    # the ledger is the sum of what the edges moved: sent and received packets per node
    delivered = r.node_received - r.node_spikes
    n = r.network.cells
    if r.in_transit == 0:
        np.testing.assert_array_equal(r.ledger_cells, delivered[:n])
    # float mass bookkeeping agrees with the integer ledger
    total = r.mass_final + r.boundary_mass + quota * r.in_transit
    assert total == pytest.approx(r.mass_initial, abs=1e-9 * max(1.0, abs(r.mass_initial)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks())
def test_event_stencils_and_engines_agree_on_random_graphs(net):
    from unittest import mock

    from evsim import state
    graph, u0 = net
    compiled = evsim.network.compile_network(graph)
    inc = state.initial_state(compiled, u0, 1e-2, 1.0, np.zeros(1)).incident
    for quantile in (0.0, 0.99):  # 0.0: every row longer than the shortest overflows
        table, over, over_ptr = state.event_stencil(compiled.edges[:, 0], compiled.edges[:, 1],
                                                    compiled.cells, compiled.inc_ptr, inc, quantile)
        for e in range(compiled.size):
            row = state.stencil_row(table, over, over_ptr, e)
            assert stencil_sides(row) == brute_force_stencil(compiled, e)
    run = dict(quota=3e-3, t_end=0.5, record=np.linspace(0, 0.5, 3), max_events=3000, spike_log=True)
    a = evsim.simulate(graph, u0, **run)
    with mock.patch.object(state, "_STENCIL_QUANTILE", 0.0):
        b, c = (evsim.simulate(graph, u0, engine=e, **run) for e in ("compiled", "simpy"))
    assert_same_run(a, b)
    assert_same_run(a, c)


def test_closed_neumann_graph_conserves_mass_exactly():
    g, u0 = sine_1d(left="neumann", right="neumann")
    r = evsim.simulate(g, u0, quota=1e-4, t_end=1.0, record=np.linspace(0, 1, 11))
    assert r.network.reservoirs == 0
    np.testing.assert_array_equal(r.cell_count, 0)
    assert r.ledger.residual == 0 and r.spikes > 0
    # and it relaxes towards the mean
    assert np.ptp(r.potential[-1]) < np.ptp(r.potential[0])


# ----------------------------------------------------------------- accuracy
@pytest.fixture(scope="module")
def heat1d_runs():
    p = get_problem("heat1d")
    g = p.build(p.cells, p.diffusivity)
    x = topologies.cell_positions(g)
    u0 = p.initial(x)
    times = p.record_times()
    semi = semidiscrete(g, u0, times)
    runs = {q: evsim.simulate(g, u0, quota=q, t_end=p.t_end, record=times) for q in (1e-4, 1e-5, 1e-6)}
    return p, x, semi, runs


def test_first_order_convergence_in_quota(heat1d_runs):
    _, _, semi, runs = heat1d_runs
    quotas = sorted(runs)
    errors = [np.sqrt(np.mean((runs[q].potential - semi) ** 2)) for q in quotas]
    order = convergence_order(quotas, errors)
    assert 0.8 <= order <= 1.2, (order, errors)
    # first-order CFQ: RMSE ~ sqrt(deg/12) q / V = 0.41 q / V on a 1D grid
    for q, err in zip(quotas, errors):
        assert err == pytest.approx(0.4 * q / 0.01, rel=0.5)


def test_heat1d_matches_exact_solution(heat1d_runs):
    p, x, _, runs = heat1d_runs
    r = runs[1e-6]
    err = rmse_over_time(r.potential, p.exact(x, r.times))
    assert r.times[-1] == 2.0 and err[-1] < 1e-4, err[-1]
    assert r.ledger.residual == 0
    assert r.spikes == pytest.approx(1.77e7, rel=0.05)  # spikes scale as 1/q
    assert runs[1e-5].spikes == pytest.approx(r.spikes / 10, rel=0.05)


def test_heat2d_snapshots_match_exact():
    p = get_problem("heat2d")
    g = p.build(p.cells, p.diffusivity)
    x = topologies.cell_positions(g)
    r = evsim.simulate(g, p.initial(x), quota=p.quota, t_end=p.t_end, record=p.record_times())
    err = rmse_over_time(r.potential, p.exact(x, r.times))
    np.testing.assert_allclose(r.times, [0, 0.1, 0.4, 0.8])
    assert np.all(err[1:] < 2e-3), err
    assert r.ledger.residual == 0


def test_laplace2d_reaches_laplace_solution():
    from evsim.workflow.runner import run_problem

    _, s = run_problem("laplace2d")
    assert s["rmse_steady"] < 5e-3, s
    assert 0.5 < s["t_steady"] < 3.0
    assert s["ledger_residual"] == 0


# ----------------------------------------------------------------- limits & I/O
def test_wall_clock_limit_keeps_partial_result():
    g, u0 = sine_1d(cells=100)
    r = evsim.simulate(g, u0, quota=1e-8, t_end=2.0, record=np.linspace(0, 2, 21),
                       max_wall_seconds=0.3, engine="simpy")
    assert r.stop_reason == "max_wall_seconds"
    assert 0 < r.t_final < 2.0 and 1 <= r.times.size < 21
    assert np.all(r.times <= r.t_final) and r.ledger.residual == 0


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_save_load_roundtrip(tmp_path, suffix):
    if suffix == ".nc":
        pytest.importorskip("xarray")
        pytest.importorskip("netCDF4")  # the "io" extra's backend
    g, u0 = sine_1d(latency=0.01)
    r = evsim.simulate(g, u0, quota=1e-4, t_end=0.2, record=[0, 0.1, 0.2], spike_log=True)
    back = evsim.load(r.save(tmp_path / f"run{suffix}"))
    assert_same_run(r, back)
    np.testing.assert_array_equal(r.edge_spikes, back.edge_spikes)
    assert back.ledger.residual == 0 and back.quota == r.quota and back.engine == r.engine



def test_simpy_processes_observe_without_changing_the_run():
    graph, u0 = sine_1d()
    samples = []

    def sensor(engine):  # sample the middle cell every 0.05
        while True:
            samples.append((engine.env.now, engine.potential[10], engine.firings))
            yield engine.env.timeout(0.05)

    times = np.linspace(0, 0.3, 7)
    probed = evsim.simulate(graph, u0, quota=1e-4, t_end=0.3, record=times, engine="simpy",
                            spike_log=True, processes=[sensor])
    plain = evsim.simulate(graph, u0, quota=1e-4, t_end=0.3, record=times, spike_log=True)
    assert_same_run(probed, plain)
    t, u, fired = (np.array(c) for c in zip(*samples))
    assert t.size == 7 and np.all(np.diff(fired) > 0)
    np.testing.assert_allclose(u, probed.potential[:, 10], atol=1e-4 / 0.05 + 1e-12)
    with pytest.raises(ValueError, match="custom processes need engine='simpy'"):
        evsim.simulate(graph, u0, quota=1e-4, t_end=0.3, processes=[sensor])


def test_a_checkpoint_of_a_run_with_simpy_processes_warns_that_they_do_not_resume(tmp_path):
    from evsim import CheckpointWarning

    def idle(engine):
        yield engine.env.timeout(1.0)

    graph, u0 = sine_1d()
    with pytest.warns(CheckpointWarning, match="processes are not part of a checkpoint"):
        evsim.simulate(graph, u0, quota=1e-4, t_end=0.3, engine="simpy", max_events=100,
                       processes=[idle], checkpoint=tmp_path / "c.ckpt")


def test_large_state_arrays_are_page_aligned_writeable_copies():
    import mmap

    from evsim.state import _paged
    a = np.arange(100_000, dtype=np.int64)  # 800 KB: moved
    b = _paged(a)
    np.testing.assert_array_equal(a, b)
    b[0] = 7
    assert a[0] == 0 and b.flags.writeable
    if hasattr(mmap, "MADV_HUGEPAGE"):
        assert b.ctypes.data % (2 << 20) == 0
    small = np.arange(10)
    assert _paged(small) is small


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.sampled_from([1e-3, 3e-3, 1e-2]))
def test_the_first_firings_are_the_scalar_rule_of_every_edge(net, quota):
    """initial_state computes potentials and first firing times on whole arrays (a numba
    ufunc of rule.fire_delay); they are the scalar rule's, bit for bit."""
    from evsim import rule
    from evsim.state import initial_state

    graph, u0 = net
    network = evsim.compile_network(graph)
    state = initial_state(network, u0, quota, 1.0, np.array([0.0]))
    N = network.cells
    pot = [rule.potential(b, 0, quota, v) for b, v in zip(network.volume * u0, network.volume)]
    assert state.potential[:N].tolist() == pot
    pot += network.reservoir_potential.tolist()
    first = [0.0 + rule.fire_delay(0.0, rule.flux(g, pot[a], pot[b], d), quota)
             for (a, b), g, d in zip(network.edges.tolist(), network.conductance, network.drive)]
    assert state.queue["time"][state.queue.size // 2:][:network.size].tolist() == first
