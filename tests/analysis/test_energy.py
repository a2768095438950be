"""Energy from event counts: hand-computed numbers from the cited constants."""
from types import SimpleNamespace

import numpy as np
import pytest

from evsim.analysis import energy as en
from evsim.analysis.mapping import CoreMesh, Mapping


def _toy_result():
    """2 cells (0, 1) and one reservoir (2); edges 0-1 and 1-2.

    Edge 0: 3 packets 0 -> 1, 1 packet 1 -> 0; edge 1: 1 packet 1 -> 2.
    Cell 0 sends 3, receives 1; cell 1 sends 2, receives 3; deg = (1, 2).
    """
    fwd, bwd = np.array([3, 1]), np.array([1, 0])
    edges = np.array([[0, 1], [1, 2]])
    n_nodes = 3
    node_spikes = np.bincount(edges[:, 0], fwd, n_nodes) + np.bincount(edges[:, 1], bwd, n_nodes)
    node_received = np.bincount(edges[:, 1], fwd, n_nodes) + np.bincount(edges[:, 0], bwd, n_nodes)
    return SimpleNamespace(potential=np.zeros((1, 2)), edges=edges, edge_spikes=fwd + bwd,
                           edge_flow=fwd - bwd, node_spikes=node_spikes.astype(int),
                           node_received=node_received.astype(int), spikes=5)


def test_counts_by_hand():
    r = _toy_result()
    c = en.event_counts(r)
    # fanout: (3+1)*1 + (2+3)*2 = 14 ; neuron updates 4 + 5 = 9 ; 5 packets
    assert (c.synaptic_ops, c.neuron_updates, c.spikes_out, c.packets) == (14, 9, 5, 5)
    assert en.event_counts(r, synapse_model="packet").synaptic_ops == 1 + 3
    m = Mapping(CoreMesh(2, 1, 1), np.array([0, 1]))
    c = en.event_counts(r, m)
    assert (c.hops_x, c.hops_y, c.cores) == (4, 0, 2)  # 4 packets cross one east-west hop


def test_loihi_and_spinnaker_by_hand():
    r = _toy_result()
    m = Mapping(CoreMesh(2, 1, 1), np.array([0, 1]))
    e = en.energy(r, "loihi", m)
    # Davies et al. 2018 (SANA-FE loihi.yaml): 35.5 pJ synop, 72.8 pJ update, 76.8 pJ spike, 3.0 pJ E-W hop
    hand = 14 * 35.5e-12 + 9 * 72.8e-12 + 5 * 76.8e-12 + 4 * 3.0e-12
    assert e.total == pytest.approx(hand, rel=1e-12)
    assert e.total == pytest.approx(1548.2e-12, rel=1e-12)
    assert e.energy["hops_x"] == pytest.approx(12e-12)
    # Sharp et al. 2012: 43 nJ per PSP + 100 nJ per neuron per ms, 2 neurons for 2 ms
    s = en.energy(r, "spinnaker", m, seconds=2e-3)
    assert s.energy["static"] == pytest.approx(400e-9)
    assert s.total == pytest.approx(14 * 43e-9 + 400e-9)
    # Merolla et al. 2014: 26 pJ per synaptic event
    assert en.energy(r, "truenorth").total == pytest.approx(14 * 26e-12)
    # Horowitz 2014: synop = 4 adds + 2 mults + 1 MAC, update = 1 MAC
    assert en.energy(r, "cmos45").total == pytest.approx(14 * (4 * 0.9 + 2 * 3.7 + 4.6) * 1e-12
                                                         + 9 * 4.6e-12)


def test_energy_of_real_run_by_hand():
    import evsim
    from evsim import topologies
    g = topologies.grid_1d(cells=10, length=1.0, diffusivity=0.1)
    x = topologies.cell_positions(g)
    r = evsim.simulate(g, u0=np.sin(np.pi * x[:, 0]), quota=2e-3, t_end=0.5)
    assert r.spikes > 50
    # independent count: walk the edges of the compiled network
    n = 10
    deg = np.zeros(n, int)
    sent = np.zeros(n, int)
    recv = np.zeros(n, int)
    for (a, b), f, bk in zip(r.edges, r.edge_forward, r.edge_backward):
        for node, s, rc in ((a, f, bk), (b, bk, f)):
            if node < n:
                deg[node] += 1
                sent[node] += s
                recv[node] += rc
    assert list(deg) == [2] * n  # 1D chain with Dirichlet reservoirs at both ends
    synops = int(((sent + recv) * deg).sum())
    updates = int((sent + recv).sum())
    hand = synops * 35.5e-12 + updates * 72.8e-12 + r.spikes * 76.8e-12
    e = en.energy(r, "loihi")
    assert e.counts["synaptic_ops"] == synops and e.counts["neuron_updates"] == updates
    assert e.total == pytest.approx(hand, rel=1e-12)
    table = en.energy_table(r)
    assert set(table) == {"loihi", "truenorth", "spinnaker", "cmos45"}
    assert table["truenorth"]["total"] == pytest.approx(synops * 26e-12)


def test_toml_profile(tmp_path):
    p = tmp_path / "hw.toml"
    p.write_text('[profile.loihi2]\nbase = "loihi"\nsynaptic_op = "6.8 pJ"\n'
                 'static_power_core = "1 mW"\nsources = { synaptic_op = "Intel 2024" }\n'
                 '[profile.toy]\nsynaptic_op = 1e-12\nhop_x = 2e-12\n')
    prof = en.load_profiles(p)
    assert prof["loihi2"].synaptic_op == pytest.approx(6.8e-12)
    assert prof["loihi2"].neuron_update == pytest.approx(72.8e-12)   # inherited from loihi
    assert prof["loihi2"].sources["synaptic_op"] == "Intel 2024"
    r = _toy_result()
    m = Mapping(CoreMesh(2, 1, 1), np.array([0, 1]))
    e = en.energy(r, prof["toy"], m, seconds=1.0)
    assert e.total == pytest.approx(14e-12 + 8e-12)
    e2 = en.energy(r, prof["loihi2"], m, seconds=0.5)
    assert e2.energy["static"] == pytest.approx(2 * 1e-3 * 0.5)  # 2 cores x 1 mW x 0.5 s
    bad = tmp_path / "bad.toml"
    bad.write_text('[profile.x]\nsynop = 1\n')
    with pytest.raises(ValueError, match="unknown keys"):
        en.load_profiles(bad)
    bad.write_text('[profile.x]\nsynaptic_op = "3 parsecs"\n')
    with pytest.raises(ValueError, match="unit"):
        en.load_profiles(bad)
    with pytest.raises(ValueError, match="unknown energy profile"):
        en.get_profile("loihi9")
    with pytest.raises(ValueError, match=">= 0"):
        en.EnergyProfile("neg", synaptic_op=-1.0)


def test_comparison_ftcs_pinn_break_even_by_hand():
    from evsim.workflow.comparison import compare_solvers
    c = compare_solvers("heat1d", quota=2e-4, cells=20, t_end=0.2)
    f = c["ftcs"]
    # 20 cells: 19 cell-cell edges, 2 Dirichlet edges; flux form (teachers/ftcs.py)
    assert f["flops"] == f["steps"] * (4 * 19 + 3 * 2 + 2 * 20)
    assert (f["adds"], f["mults"]) == (f["steps"] * (3 * 19 + 2 * 2 + 20), f["steps"] * (19 + 2 + 20))
    assert f["energy"] == pytest.approx(f["adds"] * 0.9e-12 + f["mults"] * 3.7e-12)  # Horowitz 2014
    assert f["dt"] <= (1 / 20) ** 2 / (3 * 0.1) * (1 + 1e-12)          # h^2 / (3 kappa) at the boundary
    # matched accuracy: both errors vs the semi-discrete solution within a factor 1.5
    ratio = c["pisnn"]["rmse_semidiscrete"] / f["rmse_semidiscrete"]
    assert 1 / 1.5 < ratio < 1.5
    counts = c["pisnn"]["counts"]
    loihi = (counts["synaptic_ops"] * 35.5e-12 + counts["neuron_updates"] * 72.8e-12
             + counts["spikes_out"] * 76.8e-12)
    assert c["pisnn"]["energy"]["loihi"] == pytest.approx(loihi)
    be = c["break_even"]["loihi"]
    assert be["energy_per_packet"] == pytest.approx(loihi / counts["packets"])
    assert be["packets_break_even"] == pytest.approx(f["energy"] / be["energy_per_packet"])
    assert be["ratio"] == pytest.approx(counts["packets"] / be["packets_break_even"])
    if c["pinn"] is not None:   # shipped heat1d PINN: [2, 32, 32, 32, 1] tanh MLP
        p = c["pinn"]
        assert p["macs_per_point"] == 2 * 32 + 32 * 32 + 32 * 32 + 32
        assert p["points"] == 20 * 21 and p["flops"] == p["points"] * p["flops_per_point"]
        assert p["energy"] == pytest.approx(p["points"] * (p["macs_per_point"] * 4.6e-12 + (
            p["flops_per_point"] - 2 * p["macs_per_point"]) * 3.7e-12))


def test_busy_seconds_by_hand(tmp_path):
    r = _toy_result()
    m = Mapping(CoreMesh(2, 1, 1), np.array([0, 1]))
    b = en.busy_seconds(r, "loihi", m)
    # SANA-FE loihi.yaml latencies: synop 4.0 ns, active update 9.7 ns, spike out 7.6 ns, E-W hop 4.1 ns
    core0 = 4 * 4.0e-9 + 4 * 9.7e-9 + 3 * 7.6e-9       # 4 synops, 4 updates, 3 sent
    core1 = 10 * 4.0e-9 + 5 * 9.7e-9 + 2 * 7.6e-9      # 10 synops, 5 updates, 2 sent (one to the reservoir)
    assert b["core_seconds"] == pytest.approx([core0, core1])
    assert b["link_seconds_max"] == pytest.approx(3 * 4.1e-9)
    assert b["seconds"] == pytest.approx(core1) and b["bottleneck"] == "core 1"
    assert en.busy_seconds(r, "loihi")["seconds"] == pytest.approx(core0 + core1)
    with pytest.raises(ValueError, match="no event latencies"):
        en.busy_seconds(r, "truenorth")
    p = tmp_path / "t.toml"
    p.write_text('[profile.slow]\nbase = "loihi"\nlatency_synaptic_op = "8 ns"\nstatic_power_core = "1 W"\n')
    slow = en.load_profiles(p)["slow"]
    t = en.busy_seconds(r, slow, m)["seconds"]
    assert t == pytest.approx(core1 + 10 * 4.0e-9)
    assert en.energy(r, slow, m, seconds=t).energy["static"] == pytest.approx(2 * 1.0 * t)
