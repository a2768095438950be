"""Order 2 (trajectory CFQ, evsim.trajectory): exact ledger, engines identical, accuracy set
by the tolerance, messages counted by kind, stiff grids, checkpoints, bad input."""
import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.engine import Status
from evsim.errors import ConfigError
from evsim.teachers import semidiscrete
from evsim.trajectory_kernel import TrajectoryCompiledEngine
from evsim.trajectory_state import trajectory_state
from evsim.network import compile_network


def sine(graph, axis=0, k=1.0):
    return np.sin(k * np.pi * topologies.cell_positions(graph)[:, axis])


def random_graph(n=40, seed=3, latency=0.0):
    """A random geometric graph of cells with random volumes and conductances, two reservoirs."""
    rng = np.random.default_rng(seed)
    g = nx.random_geometric_graph(n, 0.3, seed=seed)
    g = g.subgraph(max(nx.connected_components(g), key=len)).copy()
    g = nx.convert_node_labels_to_integers(g)
    for node, data in g.nodes(data=True):
        data.update(kind="cell", volume=float(rng.uniform(0.5, 2.0)) / n)
    for a, b, data in g.edges(data=True):
        data.update(conductance=float(rng.uniform(0.5, 2.0)) * 0.1,
                    latency=float(rng.uniform(0, latency)) if latency else 0.0)
    cells = g.number_of_nodes()
    g.add_node("hot", kind="reservoir", potential=1.0, pos=(0.0, 0.0))
    g.add_node("cold", kind="reservoir", potential=-0.5, pos=(1.0, 1.0))
    g.add_edge(0, "hot", conductance=0.2)
    g.add_edge(cells - 1, "cold", conductance=0.3, latency=latency / 2)
    return g


CASES = {
    "1d": lambda: (lambda g: (g, sine(g)))(topologies.grid_1d(cells=16, length=1.0, diffusivity=0.1)),
    "1d-latency-source": lambda: (lambda g: (g, sine(g)))(topologies.grid_1d(
        cells=12, length=1.0, diffusivity=0.1, latency=0.01, source=0.3, right=0.5)),
    "2d-latency": lambda: (lambda g: (g, sine(g)))(topologies.grid_2d(
        cells=(6, 5), diffusivity=0.1, latency=0.002, boundary={"top": 1.0, "left": "neumann"})),
    "3d-periodic-latency": lambda: (lambda g: (g, sine(g, k=2.0)))(topologies.grid_3d(
        cells=4, diffusivity=0.1, boundary="periodic", latency=0.003)),
    "voronoi-disk": lambda: (lambda g: (g, 1.0 - (topologies.cell_positions(g) ** 2).sum(1)))(
        topologies.voronoi_2d("disk", cells=60, diffusivity=0.1)),
    "tetra-box-latency": lambda: (lambda g: (g, sine(g)))(topologies.tetra_box(
        cells=3, diffusivity=0.1, latency=0.002)),
    "random-graph-latency": lambda: (random_graph(latency=0.01), None),
}


def run_both(graph, u0, **kw):
    if u0 is None:
        u0 = np.linspace(-1, 1, sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "cell"))
    return [evsim.simulate(graph, u0, engine=e, spike_log=True, order=2, **kw)
            for e in ("compiled", "simpy")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_engines_identical_and_ledger_exact(case):
    graph, u0 = CASES[case]()
    a, b = run_both(graph, u0, quota=2e-4, tolerance=2e-3, t_end=0.3, record=np.linspace(0, 0.3, 5))
    assert a.events["packet"] > 50 and a.events["trajectory"] > 50
    for key in ("time", "edge", "sign"):
        np.testing.assert_array_equal(a.spike_log[key], b.spike_log[key])
    for name in ("potential", "final_potential", "edge_forward", "edge_backward", "ledger_cells",
                 "ledger_reservoirs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.events == b.events and a.in_transit == b.in_transit and a.arrivals == b.arrivals
    assert a.ledger.residual == 0 and b.ledger.residual == 0
    assert a.order == 2 and a.event_bits == {"packet": 1, "trajectory": 64}


def test_error_follows_the_tolerance_not_the_quota():
    g = topologies.grid_1d(cells=10, length=1.0, diffusivity=0.1)
    u0, times = sine(g), np.linspace(0, 2, 11)
    ref = semidiscrete(g, u0, times)
    tols = np.array([1e-2, 1e-3, 1e-4, 1e-5])
    errs, msgs = [], []
    for tol in tols:
        fine, coarse = (evsim.simulate(g, u0, quota=q, t_end=2.0, record=times, order=2,
                                       tolerance=tol) for q in (1e-3, 1e-2))
        # packets do not change a cell's mass (the ledger gains what the accumulator loses):
        # the fields agree to rounding, whatever the packet mass
        np.testing.assert_allclose(fine.potential, coarse.potential, rtol=0, atol=1e-12)
        assert 9 < fine.events["packet"] / coarse.events["packet"] < 11
        errs.append(np.sqrt(np.mean((fine.potential - ref) ** 2)))
        msgs.append(fine.events["trajectory"])
    order_tol = np.polyfit(np.log(tols), np.log(errs), 1)[0]
    order_msgs = np.polyfit(np.log(msgs), np.log(errs), 1)[0]
    assert 0.85 < order_tol < 1.15, errs          # error O(delta)
    assert order_msgs < -1.8, (errs, msgs)         # messages ~ delta^(-1/2) or better
    assert errs[-1] < 3e-6


def test_heat1d_reaches_1e4_with_few_events():
    """heat1d to t = 2: RMSE <= 1e-4 vs the exact solution with <= 3.5e5 messages of all kinds."""
    g = topologies.grid_1d(cells=100, length=1.0, diffusivity=0.1)
    x = topologies.cell_positions(g)[:, 0]
    times = np.linspace(0, 2, 21)
    r = evsim.simulate(g, np.sin(np.pi * x), quota=1e-3, t_end=2.0, record=times, order=2,
                       tolerance=2e-4)
    exact = np.sin(np.pi * x)[None] * np.exp(-0.1 * np.pi ** 2 * times)[:, None]
    assert np.sqrt(np.mean((r.potential - exact) ** 2)) <= 1e-4
    assert sum(r.events.values()) <= 3.5e5
    assert r.ledger.residual == 0


def _messages(cells, theta):
    net = compile_network(topologies.grid_1d(cells=cells, length=1.0, diffusivity=0.1))
    st = trajectory_state(net, np.sin(np.pi * net.positions[:, 0]), 1e-2 / cells, 1e-4, 2.0,
                          np.array([2.0]), theta=theta)
    engine = TrajectoryCompiledEngine(st)
    while engine.run(1 << 22) != Status.DONE:
        pass
    return int(st.counters[1])


def test_balanced_lines_tame_stiff_grids():
    """On a 160-cell grid (stiffness ratio ~1e4) the balanced (linearly implicit) line cuts the
    messages of plain QSS2-style lines by more than 5x, and growth from 80 to 160 cells with it."""
    plain80, plain160 = _messages(80, 0.0), _messages(160, 0.0)
    bal80, bal160 = _messages(80, 0.75), _messages(160, 0.75)
    assert plain160 > 5 * bal160
    assert bal160 / bal80 < plain160 / plain80


def test_checkpoint_resume_is_bit_identical(tmp_path):
    g = topologies.grid_2d(cells=6, diffusivity=0.1, latency=0.002)
    u0, times = sine(g), np.linspace(0, 0.5, 6)
    kw = dict(quota=1e-4, tolerance=1e-3, t_end=0.5, record=times, order=2, spike_log=True)
    for engine in ("compiled", "simpy"):
        whole = evsim.simulate(g, u0, engine=engine, **kw)
        path = tmp_path / f"{engine}.evsim"
        part = evsim.simulate(g, u0, engine=engine, max_events=whole.firings // 3, checkpoint=path, **kw)
        assert part.stop_reason == "max_events"
        rest = evsim.resume(path)
        for name in ("potential", "final_potential", "edge_forward", "edge_backward", "ledger_cells"):
            np.testing.assert_array_equal(getattr(rest, name), getattr(whole, name), err_msg=name)
        np.testing.assert_array_equal(rest.spike_log["time"], whole.spike_log["time"])
        assert rest.events == whole.events


def test_result_file_keeps_the_event_kinds(tmp_path):
    g = topologies.grid_1d(cells=8, length=1.0, diffusivity=0.1)
    r = evsim.simulate(g, sine(g), quota=1e-3, tolerance=1e-3, t_end=0.5, order=2)
    back = evsim.load(r.save(tmp_path / "r.npz"))
    assert back.order == 2 and back.events == r.events and back.event_bits == r.event_bits
    one = evsim.simulate(g, sine(g), quota=1e-3, t_end=0.5)
    assert one.order == 1 and one.events == {"packet": one.spikes}


@pytest.mark.parametrize("kw, match", [
    ({"order": 3, "tolerance": 1e-3}, "order must be one of"),
    ({"order": True}, "order must be one of"),
    ({"order": 2}, "order=2 needs tolerance"),
    ({"order": 1, "tolerance": 1e-3}, "tolerance is a parameter of order=2"),
    ({"order": 2, "tolerance": -1.0}, "tolerance must be a positive"),
    ({"order": 2, "tolerance": float("nan")}, "tolerance must be a positive"),
])
def test_bad_order_arguments_are_named(kw, match):
    g = topologies.grid_1d(cells=8, length=1.0, diffusivity=0.1)
    with pytest.raises(ConfigError, match=match):
        evsim.simulate(g, sine(g), quota=1e-3, t_end=0.1, **kw)


def test_routing_is_order1_only():
    g = topologies.grid_1d(cells=4, length=1.0, diffusivity=0.1)
    with pytest.raises(ConfigError, match="routing"):   # refused before the routes are read
        evsim.simulate(g, sine(g), quota=1e-3, t_end=0.1, order=2, tolerance=1e-3, routing=object())


def test_localized_pulse_costs_a_fraction_of_ftcs():
    """pulse1d: a narrow pulse in a 1000-cell domain. At RMSE <= 1e-4 vs the exact Gaussian,
    order 2 moves no packet more than 2 from the pulse and sends fewer than a tenth of the
    cell updates FTCS makes at its stability limit."""
    from evsim.workflow.problems import get_problem

    case = get_problem("pulse1d").case()
    r = case.simulate(quota=1e-3, order=2, tolerance=3e-4)
    assert np.sqrt(np.mean((r.potential - case.reference()) ** 2)) < 1e-4
    x = np.append(case.x[:, 0], [0.0, 10.0])          # cells, then the two wall reservoirs
    far = (np.abs(x[r.edges[:, 0]] - 5.0) > 2.0) & (np.abs(x[r.edges[:, 1]] - 5.0) > 2.0)
    assert r.edge_spikes[far].sum() == 0 and r.edge_spikes.sum() > 1000
    ftcs_updates = case.x.shape[0] * case.t_end / (0.01 ** 2 / (2 * 0.1))
    assert sum(r.events.values()) < ftcs_updates / 10


def test_monitors_do_not_change_an_order2_run():
    from evsim.monitors import RateMonitor, SpikeMonitor, StateMonitor

    g = topologies.grid_2d(cells=5, diffusivity=0.1, latency=0.002)
    u0, times = sine(g), np.linspace(0, 0.3, 4)
    kw = dict(quota=1e-4, tolerance=1e-3, t_end=0.3, record=times, order=2, spike_log=True)
    for engine in ("compiled", "simpy"):
        plain = evsim.simulate(g, u0, engine=engine, **kw)
        watched = evsim.simulate(g, u0, engine=engine, monitors=[
            StateMonitor([0, 7], np.linspace(0.05, 0.25, 5)), RateMonitor(0.1),
            SpikeMonitor(edges=[0, 1, 2])], **kw)
        for name in ("potential", "final_potential", "edge_forward", "edge_backward"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(watched, name))
        np.testing.assert_array_equal(plain.spike_log["time"], watched.spike_log["time"])
        assert plain.events == watched.events
        assert watched.monitors


def test_controllers_are_refused_at_order2():
    from evsim.control import Controller

    g = topologies.grid_1d(cells=6, length=1.0, diffusivity=0.1)
    with pytest.raises(ConfigError, match="controllers"):
        evsim.simulate(g, sine(g), quota=1e-3, t_end=0.2, order=2, tolerance=1e-3,
                       monitors=[Controller([0.1], lambda control: None)])


def test_the_neighbour_rows_name_each_neighbouring_cell_once_in_incidence_order():
    from evsim.trajectory_state import _neighbours

    net = compile_network(random_graph(60, seed=5))
    ptr, nbr = _neighbours(net)
    N = net.cells
    assert ptr[0] == 0 and ptr.size == N + 1 and ptr[-1] == nbr.size
    for c in range(N):
        expect = []                          # first mention, incident edge by incident edge
        for e in net.inc_edge[net.inc_ptr[c]:net.inc_ptr[c + 1]]:
            a, b = net.edges[e]
            other = b if a == c else a
            if other < N and other not in expect:
                expect.append(int(other))
        assert nbr[ptr[c]:ptr[c + 1]].tolist() == expect
    assert nbr.size == 2 * sum(1 for a, b in net.edges if a < N and b < N)


def test_the_state_field_is_the_rule_potential_of_every_cell():
    from evsim import trajectory as tr

    g = random_graph(30, seed=2)
    net = compile_network(g)
    st = trajectory_state(net, sine(g), 1e-3, 1e-2, 1.0, np.array([0.0]))
    st.clock[0] = 0.37                       # anywhere along the cells' lines
    s = st.as_tuple()
    want = [tr.potential_at(s, i, 0.37) for i in range(net.cells)]    # the Python rule
    assert st.potential[:net.cells].tolist() == want
    assert np.array_equal(st.potential[net.cells:], net.reservoir_potential)
