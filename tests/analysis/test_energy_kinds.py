"""Energy by message kind: every kind charged with its payload; order-1 totals unchanged."""
from types import SimpleNamespace

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis import energy as en
from evsim.analysis.mapping import CoreMesh, map_cells
from evsim.errors import ConfigError

PJ = 1e-12


@pytest.fixture(scope="module")
def run():
    g = topologies.grid_2d(cells=8, diffusivity=0.1)
    x = topologies.cell_positions(g)
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) * (1 + x[:, 0])   # flux across the core borders
    return g, evsim.simulate(g, u0, quota=2e-4, t_end=0.3, record=[0.0, 0.3], progress=False)


def with_messages(result, events, bits):
    """The run's fields plus ``events`` / ``event_bits`` (as a higher-order run reports them)."""
    fields = ("potential", "edges", "edge_spikes", "edge_flow", "node_spikes", "node_received", "spikes")
    return SimpleNamespace(**{k: getattr(result, k) for k in fields}, events=events, event_bits=bits)


def test_order1_totals_are_the_packet_formula(run):
    _, r = run
    c = en.event_counts(r)
    b = en.energy(r, "loihi")
    by_hand = c.synaptic_ops * 35.5 * PJ + c.neuron_updates * 72.8 * PJ + c.packets * 76.8 * PJ
    assert b.total == pytest.approx(by_hand, rel=1e-12)
    assert set(b.messages) == {"packet"}
    assert b.messages["packet"]["energy"] == pytest.approx(b.total, rel=1e-12)
    assert b.messages["packet"]["count"] == r.spikes and b.messages["packet"]["words"] == 1
    # a result that reports only packets (events = {"packet": spikes}) costs the same
    same = en.energy(with_messages(r, {"packet": r.spikes}, {"packet": 1}), "loihi")
    assert same.total == b.total and same.counts == b.counts
    assert en.energy_by_kind(r, "loihi") == {"packet": b.messages["packet"]["energy"], "total": b.total}


@pytest.mark.parametrize("profile, words, per_word", [
    ("loihi", 2, (76.8 + 35.5) * PJ),        # a 64-bit update: 2 graded spikes of <= 32 bits
    ("truenorth", 64, 26.0 * PJ),           # binary spikes: 64 spikes, 26 pJ per synaptic event
    ("spinnaker", 2, 43e-9),                # 32-bit payload per multicast packet, 43 nJ per PSP
])
def test_trajectory_messages_cost_their_payload(run, profile, words, per_word):
    _, r = run
    base = en.energy(r, profile)
    fake = with_messages(r, {"packet": r.spikes, "trajectory": 1000}, {"packet": 1, "trajectory": 64})
    b = en.energy(fake, profile)
    t = b.messages["trajectory"]
    assert t["words"] == words and t["bits"] == 64 and t["count"] == 1000
    assert t["energy"] == pytest.approx(1000 * words * per_word, rel=1e-12)
    assert b.total == pytest.approx(base.total + t["energy"], rel=1e-12)
    assert b.messages["packet"]["energy"] == pytest.approx(base.total, rel=1e-12)
    assert sum(m["energy"] for m in b.messages.values()) == pytest.approx(b.total, rel=1e-12)
    assert b.counts["spikes_out"] == r.spikes + 1000 * words


def test_fewer_packets_with_bigger_messages_are_not_free(run):
    """Half the packets plus one 64-bit update per packet saved costs more than the packets saved."""
    _, r = run
    packet_cost = en.energy(r, "loihi").total / r.spikes
    fake = with_messages(r, {"packet": r.spikes, "trajectory": r.spikes // 2}, {"packet": 1, "trajectory": 64})
    t = en.energy(fake, "loihi").messages["trajectory"]
    assert t["energy"] / (r.spikes // 2) == pytest.approx(2 * (76.8 + 35.5) * PJ)
    assert t["energy"] > 0.5 * packet_cost * r.spikes * 0.5   # a measurable fraction, not zero


def test_words_and_payload_validation():
    assert en.LOIHI.words(1) == 1 and en.LOIHI.words(32) == 1 and en.LOIHI.words(33) == 2
    assert en.TRUENORTH.words(64) == 64
    with pytest.raises(ConfigError, match="payload bits"):
        en.LOIHI.words(0)
    with pytest.raises(ConfigError, match="payload_bits"):
        en.EnergyProfile(name="x", payload_bits=0)


def test_toml_profile_sets_payload_bits(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[profile.wide]\nbase = "loihi"\npayload_bits = 64\n')
    prof = en.load_profiles(path)["wide"]
    assert prof.payload_bits == 64 and prof.words(64) == 1 and prof.synaptic_op == en.LOIHI.synaptic_op


def test_inconsistent_events_raise(run):
    _, r = run
    with pytest.raises(ValueError, match="result.spikes"):
        en.event_counts(with_messages(r, {"packet": r.spikes + 1}, {"packet": 1}))
    with pytest.raises(ValueError, match="without a payload"):
        en.event_counts(with_messages(r, {"packet": r.spikes, "trajectory": 3}, {"packet": 1}))


def test_hops_of_other_kinds_use_the_mean_packet_hops(run):
    g, r = run
    m = map_cells(g, CoreMesh(2, 2, 16))
    base = en.energy(r, "loihi", mapping=m)
    fake = with_messages(r, {"packet": r.spikes, "trajectory": 100}, {"packet": 1, "trajectory": 64})
    b = en.energy(fake, "loihi", mapping=m)
    hx, hy = base.counts["hops_x"] / r.spikes, base.counts["hops_y"] / r.spikes
    assert hx + hy > 0
    assert b.counts["hops_x"] == pytest.approx(base.counts["hops_x"] + 200 * hx)
    assert b.messages["trajectory"]["energy"] == pytest.approx(
        200 * ((76.8 + 35.5) * PJ + hx * 3.0 * PJ + hy * 4.2 * PJ), rel=1e-12)


def test_order2_run_charges_its_trajectory_messages():
    """A real order-2 run: result.events has trajectory messages of 64 bits, costed as two
    graded spikes each on Loihi, and summary.json carries the energy by kind."""
    from evsim.workflow.runner import run_problem
    result, summary = run_problem("heat1d", cells=20, t_end=0.2, quota=1e-3, order=2, tolerance=1e-3,
                                  plots=False, progress=False)
    assert result.event_bits == {"packet": 1, "trajectory": 64}
    n = result.events["trajectory"]
    assert n > 0 and result.events["packet"] == result.spikes
    by_kind = summary["energy_by_kind"]
    assert by_kind["trajectory"] == pytest.approx(n * 2 * (76.8 + 35.5) * PJ, rel=1e-12)
    assert by_kind["packet"] == pytest.approx(en.energy(
        with_messages(result, {"packet": result.spikes}, {"packet": 1}), "loihi").total, rel=1e-12)
    assert by_kind["total"] == pytest.approx(by_kind["packet"] + by_kind["trajectory"], rel=1e-12)
