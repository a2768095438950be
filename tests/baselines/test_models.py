"""Spiking-PINN baselines (evsim.baselines): shipped models, event simulation, training, I/O."""

import numpy as np
import pytest

from evsim.baselines import models as B
from evsim.baselines.training import relative_l2

SHIPPED = list(B.X2_MODELS) + list(B.HEAT_MODELS)


def _torch_forward(torch, model, mod, z):
    """The training forward pass of a shipped model on task coordinates z."""
    zt = torch.as_tensor(z)
    with torch.no_grad():
        if model.task == "heat1d" and model.kind != "qif":
            zt = 2.0 * zt / torch.tensor([1.0, B.HEAT_PDE.t_train], dtype=torch.float64) - 1.0
        out = mod(zt)
    return out.numpy().reshape(len(z), -1)[:, 0]


def test_x2_qif_below_one_percent_and_better_than_lif32():
    _, xte = B.x2_data()
    qif, lif = B.load_model("x2_qif"), B.load_model("x2_lif32")
    e_qif = relative_l2(qif.evaluate(xte[:, None])[0], xte ** 2)
    e_lif = relative_l2(lif.evaluate(xte[:, None])[0], xte ** 2)
    assert e_qif < 0.01
    assert e_qif < e_lif
    assert qif.network.sizes == [2, 64, 64, 64, 2]  # 1 data input + reference, 1-64-64-64-2
    assert lif.network.sizes == [1, 64, 64, 64, 64, 1] and lif.network.steps == 32


@pytest.mark.parametrize("name", SHIPPED)
def test_event_simulation_reproduces_training_forward_pass(name, torch):
    m = B.load_model(name)
    mod = B.to_torch(m)
    rng = np.random.default_rng(5)
    z = rng.uniform(-1, 1, (40, 1)) if m.task == "x2" else rng.uniform([0, 0], [1, 0.5], (40, 2))
    ref = _torch_forward(torch, m, mod, z)
    out, res = m.network_output(z)
    assert np.allclose(out, ref, atol=1e-9)
    if m.kind != "ann":
        assert res.spikes == mod.spike_count
        assert res.synaptic_ops > res.spikes > 0
    if m.kind == "qif":  # the heap-ordered event loop agrees with the vectorised one
        out_ev, res_ev = m.network_output(z[:3], events=True)
        _, res3 = m.network_output(z[:3])
        assert np.allclose(out_ev, out[:3], atol=1e-10)
        assert (res_ev.spikes, res_ev.synaptic_ops) == (res3.spikes, res3.synaptic_ops)


@pytest.mark.parametrize("name", list(B.HEAT_MODELS))
def test_shipped_heat_baselines_reach_five_percent(name):
    m = B.load_model(name)
    err = B._heat_errors(m)
    assert err["relative_l2_window"] < 0.05, err
    assert err["relative_l2_window"] == pytest.approx(m.metadata["relative_l2_window"], rel=1e-9)


@pytest.mark.parametrize("kind", ["lif", "lif-conv", "qif", "vsn"])
def test_tiny_heat_training_save_load_roundtrip(kind, tmp_path, torch):
    m = B.train_heat(kind, hidden=4, depth=1, steps=4 if kind != "qif" else None, n_interior=16,
                     adam_iters=3, max_seconds=60)
    assert m.metadata["options"]["adam_iters_done"] == 3
    path = B.save_model(m, tmp_path / m.name)
    m2 = B.load_model(path)
    z = np.random.default_rng(0).uniform([0, 0], [1, 2], (25, 2))
    assert m2.kind == m.kind and m2.task == "heat1d"
    assert np.array_equal(m.evaluate(z)[0], m2.evaluate(z)[0])
    assert m2.metadata["relative_l2_window"] == m.metadata["relative_l2_window"]
    u = m2(np.array([[0.0], [0.5], [1.0]]), np.array([0.0, 1.0]))
    assert u.shape == (2, 3) and np.allclose(u[:, [0, 2]], 0.0, atol=1e-12)  # hard boundary
    assert np.allclose(u[0], np.sin(np.pi * np.array([0.0, 0.5, 1.0])))  # hard initial condition


def test_tiny_x2_training_reduces_loss(torch):
    m = B.train_x2("qif", iters=80, sizes=[1, 16, 2], lr=1e-2)
    hist = m.metadata["history"]
    assert hist[-1]["total"] < 0.5 * hist[0]["total"]
    assert 0 < m.metadata["relative_l2_test"] < 1


