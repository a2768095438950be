"""Time-stepped chip model: hand-computed counts, energies and chip time from the cited constants."""
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pint")

from evsim.analysis import chip  # noqa: E402
from evsim.analysis import energy as en  # noqa: E402
from evsim.analysis.mapping import CoreMesh, Mapping  # noqa: E402
from evsim.errors import ConfigError  # noqa: E402

PJ, NS = 1e-12, 1e-9


def _toy():
    """Cells 0-1-2 in a line, reservoir 3 on cell 2; cells 0, 1 on core 0, cell 2 on core 1 (east of it).

    Firings: t=0.1 edge 0 forward (cell 0 fires), t=0.2 edge 1 backward (cell 2),
    t=0.25 edge 2 backward (reservoir -> cell 2: cell 2's compartment fires),
    t=1.5 edge 1 forward (cell 1). With dt_hw = 1 and t_final = 2: two steps.
    """
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    log = {"time": np.array([0.1, 0.2, 0.25, 1.5]), "edge": np.array([0, 1, 2, 1]),
           "sign": np.array([1, -1, -1, 1])}
    result = SimpleNamespace(potential=np.zeros((1, 3)), edges=edges, spike_log=log, t_final=2.0)
    return result, Mapping(CoreMesh(2, 1, 4), np.array([0, 0, 1]))


def test_replay_modes_by_hand():
    r, _ = _toy()
    s = chip.replay(r, 1.0, "serialise")       # cell 2 owes 2 packets in step 0: the second waits a step
    assert sorted(zip(s.neuron.tolist(), s.step.tolist())) == [(0, 0), (1, 1), (2, 0), (2, 1)]
    assert (s.steps, s.packets, s.deferred_packets, s.max_delay_steps) == (2, 4, 1, 1)
    g = chip.replay(r, 1.0, "graded")           # one spike with payload 2
    assert sorted(zip(g.neuron.tolist(), g.step.tolist())) == [(0, 0), (1, 1), (2, 0)]
    assert g.multiplicity.tolist() == [1, 1, 1]
    m = chip.replay(r, 1.0, "messages")         # two spikes in step 0
    assert dict(zip(zip(m.neuron.tolist(), m.step.tolist()), m.multiplicity.tolist())) == {
        (0, 0): 1, (1, 1): 1, (2, 0): 2}
    with pytest.raises(ConfigError, match="binary spike train"):
        m.spike_trains(3)
    assert s.spike_trains(3).sum() == 4
    late = chip.replay(SimpleNamespace(**{**vars(r), "spike_log": {**r.spike_log, "time": r.spike_log["time"] + 1.0}}),
                       1.0, "serialise")
    assert late.steps == 3                      # the serialised packet spills into a third step


def test_stepped_energy_and_chip_time_by_hand():
    r, m = _toy()
    est = chip.stepped_estimate(r, m, "loihi", dt_hw=1.0)
    c = est.breakdown.counts
    # fan-out: cell 0 -> {1} (core 0); cell 1 -> {0, 2} (cores 0, 1; 1 east hop); cell 2 -> {1} (core 0, 1 hop)
    assert c == {"neuron_access": 6, "neuron_updates": 6, "spikes_out": 4, "messages_out": 5, "messages_in": 5,
                 "synaptic_ops": 5, "hops_x": 3, "hops_y": 0}
    total = (6 * 51.2 + 6 * 21.6 + 4 * 69.3 + 5 * 111.0 + 5 * 35.5 + 3 * 3.0) * PJ
    assert est.breakdown.total == pytest.approx(total, rel=1e-12)
    fired = chip.stepped_estimate(r, m, "loihi", dt_hw=1.0, active="fired")
    assert fired.breakdown.counts["neuron_updates"] == 4
    # step 0: core 0 generates 2 accesses + cell 0 (update, spike, 1 message), 2 sync cores -> 1.0 us
    step0 = 2 * 6.0 + 3.7 + 30.0 + 5.1
    step1 = 2 * 6.0 + 3.7 + 30.0 + 2 * 5.1      # cell 1 sends 2 messages
    assert fired.step_seconds * 1e9 == pytest.approx([step0 + 1000.0, step1 + 1000.0], rel=1e-12)
    assert fired.chip_seconds == pytest.approx((step0 + step1 + 2000.0) * NS, rel=1e-12)
    assert fired.details["deferred_packets"] == 1


def test_fixed_tick_and_message_mode():
    r, m = _toy()
    tn = chip.stepped_estimate(r, m, "truenorth", dt_hw=1.0)
    assert tn.chip_seconds == pytest.approx(2e-3)     # two 1 ms ticks
    assert tn.breakdown.total == pytest.approx(5 * 26 * PJ)
    sp = chip.stepped_estimate(r, m, "spinnaker", dt_hw=1.0)
    assert sp.details["spikes"] == "messages" and sp.breakdown.counts["spikes_out"] == 4
    assert sp.breakdown.total == pytest.approx(6 * 100e-9 + 5 * 43e-9)


def test_profiles_are_cited_and_parsed_with_units():
    profiles = chip.chip_profiles()
    assert {"loihi", "loihi@sanafe-legacy", "truenorth", "spinnaker"} <= set(profiles)
    for p in profiles.values():
        for key, value in {**p.energy, **p.latency}.items():
            if value:
                assert key in p.sources, (p.name, key)
    loihi, legacy = profiles["loihi"], profiles["loihi@sanafe-legacy"]
    assert loihi.energy["message_out"] == pytest.approx(111.0 * PJ)
    assert legacy.energy["message_out"] == pytest.approx(en.LOIHI.spike_out)   # the older constant, kept
    assert legacy.latency["latency_synaptic_op"] == pytest.approx(en.LOIHI.latency_synaptic_op)
    assert loihi.sync(16) == pytest.approx(1.4e-6) and loihi.sync(1) == pytest.approx(0.6e-6)
    pint = pytest.importorskip("pint")
    table = {**{k: "0.1 nJ" for k in chip._ENERGY_KEYS}, **{k: "2 us" for k in chip._LATENCY_KEYS},
             "tick": "1 ms", "sync": {"1": "3 ns"}, "spikes": "graded", "core_capacity": 8}
    p = chip._parse_profile("x", table, pint.UnitRegistry())
    assert p.energy["synaptic_op"] == pytest.approx(1e-10) and p.latency["latency_hop_y"] == pytest.approx(2e-6)
    with pytest.raises(ConfigError, match="not a quantity in J"):
        chip._parse_profile("x", {**table, "hop_x": "3 ns"}, pint.UnitRegistry())


def test_errors_and_asynchronous_model():
    r, m = _toy()
    with pytest.raises(ConfigError, match="spike_log=True"):
        chip.replay(SimpleNamespace(**{**vars(r), "spike_log": None}), 1.0)
    with pytest.raises(ConfigError, match="dt_hw"):
        chip.replay(r, 0.0)
    with pytest.raises(ConfigError, match="unknown chip profile"):
        chip.get_chip_profile("nope")
    with pytest.raises(ConfigError, match="model must be"):
        chip.estimate(r, m, model="nope")


def test_asynchronous_model_is_the_exact_time_estimate():
    from tests.analysis.test_energy import _toy_result

    r = _toy_result()
    m = Mapping(CoreMesh(2, 1, 1), np.array([0, 1]))
    a = chip.estimate(r, m, "loihi", model="asynchronous")
    assert a.breakdown.total == pytest.approx(en.energy(r, "loihi", m).total)
    assert a.chip_seconds == pytest.approx(en.busy_seconds(r, "loihi", m)["seconds"])


def test_cli_energy_re_simulates_a_saved_run(tmp_path, capsys):
    import json

    from evsim.cli.main import main
    from evsim.workflow.runner import run_problem

    _, summary = run_problem("heat1d", cells=30, quota=1e-4, t_end=0.2, out=tmp_path, plots=False)
    assert main(["energy", str(tmp_path), "--cores", "2x1", "--time-step", "0.002"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["re_simulated"] and out["time_stepped"]["packets"] == summary["spikes"]
    assert out["time_stepped"]["steps"] >= 100 and out["time_stepped"]["chip_seconds"] > 0
    assert out["asynchronous"]["counts"]["spikes_out"] == summary["spikes"]
    assert main(["energy", str(tmp_path), "--cells", "7"]) == 2      # wrong resolution: a clear error
    assert "pass --cells" in capsys.readouterr().err


def test_stepped_potentials_by_hand_and_towards_the_exact_run():
    net = SimpleNamespace(cells=2, size=1, edges=np.array([[0, 1]]), conductance=np.array([1.0]),
                          drive=np.zeros(1), volume=np.ones(2), reservoir_potential=np.zeros(0))
    # lambda_max = 2, bound 1; step 1: J = 1, a = 0.25 -> 2 packets of 0.125; step 2: J = 0.5, a = 0.125 -> 1 packet
    u = chip.stepped_potentials(net, np.array([1.0, 0.0]), 0.125, 0.25, np.array([0.0, 0.25, 0.5]))
    assert u.tolist() == [[1.0, 0.0], [0.75, 0.25], [0.625, 0.375]]
    with pytest.raises(ConfigError, match="stability bound"):
        chip.stepped_potentials(net, np.array([1.0, 0.0]), 0.125, 1.0, np.array([1.0]))

    import evsim
    from evsim import topologies

    g = topologies.grid_1d(20, 1.0, 0.1)
    x = topologies.cell_positions(g)[:, 0]
    u0 = np.sin(np.pi * x)
    times = np.linspace(0.0, 0.5, 6)
    exact = evsim.simulate(g, u0=u0, quota=1e-5, t_end=0.5, record=times).potential
    net = evsim.compile_network(g)
    err = [np.abs(chip.stepped_potentials(net, u0, 1e-5, 0.5 / k, times) - exact).max() for k in (50, 5000)]
    assert err[0] > 4 * err[1] and err[1] <= 1e-5 / 0.05 + 1e-12    # fine steps: within one packet q / V
