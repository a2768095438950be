"""Cell-to-core mapping, XY routing, NoC traffic and congestion in both engines."""
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis.mapping import (CoreMesh, Mapping, build_routing, map_cells, traffic,
                                    with_hop_latency, xy_route)


def _cut(graph, mapping):
    return sum(1 for u, v in graph.edges() if isinstance(u, int) and isinstance(v, int)
               and mapping.core[u] != mapping.core[v])


def test_blocks_64x64_on_16_cores():
    g = topologies.grid_2d(64, 1.0, 0.1)
    m = map_cells(g, CoreMesh(4, 4, 256))
    i, j = np.divmod(np.arange(64 * 64), 64)            # cell = i * 64 + j, i along x
    assert np.array_equal(m.core, (j // 16) * 4 + i // 16)
    assert np.all(m.load == 256)
    assert _cut(g, m) == 2 * 3 * 64                      # 3 cuts per axis, 64 faces each
    with pytest.raises(ValueError, match="do not fit"):
        map_cells(g, CoreMesh(4, 4, 255))


def test_partitioner_balanced_and_local():
    g = topologies.grid_2d(32, 1.0, 0.1)
    p = map_cells(g, CoreMesh(2, 2, 256), "partition")
    assert np.all(p.load == 256)
    blocks = map_cells(g, CoreMesh(2, 2, 256))
    assert _cut(g, blocks) == 64
    assert _cut(g, p) <= 1.5 * 64                        # near the optimal straight cuts
    # irregular graph without positions order: a path of 40 cells on a 1 x 4 mesh
    path = topologies.grid_1d(cells=40)
    q = map_cells(path, CoreMesh(4, 1, 10), "partition")
    assert np.all(q.load == 10) and _cut(path, q) == 3
    assert np.array_equal(q.core, np.repeat(np.arange(4), 10))


def test_xy_route_and_traffic_by_hand():
    mesh = CoreMesh(4, 4, 1)
    # (0,0) -> (2,1): east from core 0, east from core 1, north from core 2
    assert xy_route(mesh, 0, mesh.core_at(2, 1)) == [0 * 4 + 0, 1 * 4 + 0, 2 * 4 + 2]
    assert xy_route(mesh, mesh.core_at(2, 1), 0) == [4 * 6 + 1, 4 * 5 + 1, 4 * 4 + 3]
    # 3 cells on cores (0,0), (2,1), (3,3), one reservoir (3)
    m = Mapping(mesh, np.array([0, mesh.core_at(2, 1), mesh.core_at(3, 3)]))
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    fwd, bwd = np.array([5, 2, 7]), np.array([1, 0, 0])
    r = SimpleNamespace(potential=np.zeros((1, 3)), edges=edges, edge_forward=fwd,
                        edge_backward=bwd)
    t = traffic(r, m)
    # edge 0: 6 packets x 3 hops; edge 1: 2 packets x (1 + 2) hops; reservoir edge: 0
    assert t.hops == 6 * 3 + 2 * 3 and t.packets == 15 and t.remote_packets == 8
    assert t.hops_per_packet == pytest.approx(24 / 15)
    assert t.busiest_link() == {"link": 0, "from": [0, 0], "to": [1, 0], "direction": "E",
                                "packets": 5}
    assert t.link_load[4 * 2 + 2] == 5 and t.link_load[4 * 6 + 0] == 2
    assert t.link_load.sum() == t.hops
    assert list(t.core_sent[[0, 6, 15]]) == [5, 1 + 2, 7]
    rt = build_routing(edges, 3, m, bandwidth=4.0)
    assert list(rt.ptr) == [0, 3, 6, 9, 12, 12, 12]   # 3 hops each way, reservoir: none
    assert list(rt.links[:3]) == [0, 4, 10] and np.allclose(rt.service, 0.25)


def _heat2d_small():
    g = topologies.grid_2d(8, 1.0, 0.1)
    x = topologies.cell_positions(g)
    return g, np.sin(np.pi * x[:, 0]) * (1 + x[:, 1])


def test_latency_and_congestion_both_engines_agree():
    g, u0 = _heat2d_small()
    m = map_cells(g, CoreMesh(4, 4, 4))
    glat = with_hop_latency(g, m, hop_latency=2e-3)
    assert glat.edges[0, 1].get("latency", 0.0) == 0.0      # cells 0, 1 share a core
    assert glat.edges[1, 2]["latency"] == pytest.approx(2e-3)  # cells 1, 2 on neighbouring cores
    assert glat.edges[8, 16]["latency"] == pytest.approx(2e-3)  # cell (1,0) -> (2,0): x block 0 -> 1
    net = evsim.compile_network(glat)
    routing = build_routing(net.edges, net.cells, m, bandwidth=300.0)
    kw = dict(u0=u0, quota=5e-4, t_end=0.05, spike_log=True, routing=routing)
    a = evsim.simulate(glat, engine="compiled", **kw)
    b = evsim.simulate(glat, engine="simpy", **kw)
    assert a.spikes > 300 and a.in_transit > 0             # packets in flight at t_end ...
    assert a.ledger.residual == 0 and b.ledger.residual == 0   # ... are in the ledger
    for key in ("time", "edge", "sign"):
        assert np.array_equal(a.spike_log[key], b.spike_log[key])
    assert np.array_equal(a.potential, b.potential)
    free = evsim.simulate(g, engine="compiled", u0=u0, quota=5e-4, t_end=0.05, spike_log=True)
    assert not np.array_equal(free.spike_log["time"], a.spike_log["time"])
    t = traffic(a, m)
    assert t.hops > 0 and t.busiest_link()["packets"] == t.link_load.max()


def test_heat2d_64x64_on_16_cores_traffic_and_energy():
    """Hops per packet and the busiest link, recomputed independently from the edges."""
    from evsim.analysis.energy import PROFILES, energy_table
    from evsim.workflow.problems import get_problem
    prob = get_problem("heat2d")
    g = prob.build(64, prob.diffusivity)
    x = topologies.cell_positions(g)
    r = evsim.simulate(g, prob.initial(x), quota=1e-4, t_end=0.2, progress=False)
    m = map_cells(g, CoreMesh(4, 4, 256))
    t = traffic(r, m)
    # independent: a packet on a cell-cell edge crosses one block face (16 x 16 blocks), 1 hop
    ij = np.stack(np.divmod(np.arange(4096), 64), 1) // 16          # (block x, block y) per cell
    load = {}
    hops = 0
    for (a, b), f, bk in zip(r.edges, r.edge_forward, r.edge_backward):
        if a < 4096 and b < 4096 and tuple(ij[a]) != tuple(ij[b]):
            hops += f + bk
            for src, dst, n in ((a, b, f), (b, a, bk)):
                key = (tuple(ij[src]), tuple(ij[dst]))
                load[key] = load.get(key, 0) + n
    assert t.hops == hops and t.remote_packets == hops
    assert t.hops_per_packet == pytest.approx(hops / r.spikes)
    assert 0.01 < t.hops_per_packet < 0.2                          # most packets stay on a core
    busiest = t.busiest_link()
    assert busiest["packets"] == max(load.values())
    assert load[(tuple(busiest["from"]), tuple(busiest["to"]))] == busiest["packets"]
    table = energy_table(r, mapping=m)
    assert set(table) == set(PROFILES)
    hop_j = table["loihi"]["energy"]["hops_x"] + table["loihi"]["energy"]["hops_y"]
    assert hop_j == pytest.approx(3.0e-12 * table["loihi"]["counts"]["hops_x"]
                                  + 4.2e-12 * table["loihi"]["counts"]["hops_y"])
    assert table["loihi"]["counts"]["hops_x"] + table["loihi"]["counts"]["hops_y"] == hops


@pytest.mark.slow
def test_hardware_heat2d_experiment(tmp_path):
    from evsim.experiments import get_experiment
    s = get_experiment("hardware-heat2d")(tmp_path, fast=True, quota=5e-5, study_quota=5e-5)
    assert s["cells"] == 1024 and s["ledger_residual"] == 0
    assert s["hops_per_packet"] == s["mappings"]["blocks"]["hops_per_packet"] > 0
    assert s["busiest_link"]["packets"] > 0
    assert set(s["energy_total"]) == {"loihi", "truenorth", "spinnaker", "cmos45"}
    assert all(r["ledger_residual"] == 0 for r in s["timing"]["rows"])
    assert s["engines_agree_with_routing"]["identical_spike_logs"]
    assert (tmp_path / "link_traffic_blocks.png").exists() and (tmp_path / "potential_16x16.gif").exists()


def test_partition_irregular_mesh_and_swap_refinement():
    from scipy.sparse import csr_matrix

    from evsim.analysis.mapping import _swap_refine
    g = topologies.voronoi_2d("disk", cells=300, diffusivity=0.1, seed=0)
    cells = topologies.cell_nodes(g)
    index = {c: i for i, c in enumerate(cells)}
    mesh = CoreMesh(3, 3, int(np.ceil(len(cells) / 9)))

    def cut_weight(m):
        return sum(d["conductance"] for u, v, d in g.edges(data=True)
                   if u in index and v in index and m.core[index[u]] != m.core[index[v]])
    p, b = map_cells(g, mesh, "partition"), map_cells(g, mesh, "blocks")
    assert p.load.max() <= mesh.capacity and p.cores_used == 9
    for c in range(9):   # every part is one connected piece of the mesh
        assert nx.is_connected(g.subgraph([cells[i] for i in np.nonzero(p.core == c)[0]]))
    assert cut_weight(p) <= 1.1 * cut_weight(b)
    # swap refinement: a path 0-1-...-7 cut badly as {0,2,4,6} | {1,3,5,7} (7 cut edges)
    W = csr_matrix((np.ones(14), (np.r_[0:7, 1:8], np.r_[1:8, 0:7])), shape=(8, 8))
    low, high = _swap_refine(W, np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7]), passes=20)
    assert low.size == 4 and high.size == 4
    cut = sum(1 for i in range(7) if (i in low) != (i + 1 in low))
    assert cut <= 2                                     # from 7 (a local optimum of KL swaps)


def test_with_noc_timing():
    from evsim.analysis.mapping import with_noc_timing
    from evsim.errors import ConfigError
    from evsim.routing import Routing
    g = topologies.grid_2d(4, 1.0, 0.1)
    m = map_cells(g, CoreMesh(2, 2, 4))
    same, routing = with_noc_timing(g, m)
    assert same is g and routing is None
    timed, routing = with_noc_timing(g, m, hop_latency=1e-3, bandwidth=50.0)
    lat = [d.get("latency", 0.0) for _, _, d in timed.edges(data=True)]
    assert max(lat) == pytest.approx(1e-3) and isinstance(routing, Routing)
    assert timed is not g and all(d.get("latency", 0.0) == 0.0 for _, _, d in g.edges(data=True))
    with pytest.raises(ConfigError, match="hop_latency"):
        with_noc_timing(g, m, hop_latency=-1.0)
    with pytest.raises(ConfigError, match="unknown mapping method"):
        map_cells(g, CoreMesh(2, 2, 4), "spiral")
