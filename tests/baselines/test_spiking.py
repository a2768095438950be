"""Spiking neuron models (evsim.baselines.training) against the event simulator (evsim.baselines.layered).

Tests taking the `torch` fixture (tests/baselines/conftest.py) skip without torch."""
import math

import numpy as np
import pytest

from evsim.baselines.layered import QIFNetwork, qif_phase, qif_phase_inv
from evsim.baselines.training import (LIFNet, QIFNet, VSNNet, convert_ann, make_ann,
                                    spike_functions, stochastic_projection)


def _qif(seed=1, sizes=(2, 12, 9, 2), **kw):
    return QIFNet(list(sizes), lo=[-1.0, 0.0], hi=[1.0, 2.0], seed=seed, **kw)


def test_qif_phase_map_roundtrip_and_threshold():
    tau, a = 6 / math.pi, 1.0
    v = np.linspace(-20, 20, 101)
    assert np.allclose(qif_phase_inv(qif_phase(v, tau, a), tau, a), v, atol=1e-9)
    net = QIFNetwork([np.zeros((1, 1))])
    assert net.theta == pytest.approx(6.0) and net.initial_phase == pytest.approx(3.0)
    assert qif_phase(0.5, tau, a) == pytest.approx(3.0)  # V = 1/2 sits at Theta / 2


def test_qif_single_neuron_closed_form():
    """One input spike at s with weight w: the neuron fires at s + Theta - Phi(Phi^-1(3 + s) + w)
    if that is before t_end; without input it fires at Theta - phi0 = 3 by drift."""
    tau, a = 6 / math.pi, 1.0
    for w, s in [(0.8, 0.5), (2.0, 1.2), (-0.5, 0.3)]:
        net = QIFNetwork([np.array([[w]])], t_end=10.0)
        res = net.simulate_events(np.array([[s]]))
        expect = s + 6.0 - qif_phase(qif_phase_inv(3.0 + s, tau, a) + w, tau, a)
        assert res.outputs[0, 0] == pytest.approx(expect, abs=1e-12)
        assert net.simulate(np.array([[s]])).outputs[0, 0] == pytest.approx(expect, abs=1e-12)
    silent = QIFNetwork([np.array([[1.0]])], t_end=10.0).simulate(np.array([[np.inf]]))
    assert silent.outputs[0, 0] == pytest.approx(3.0) and silent.layer_spikes == [0, 1]
    # pseudospike: with t_end = 2 the drift spike at 3 is after the trial -> t_end + Theta - phi(t_end)
    short = QIFNetwork([np.array([[-2.0]])], t_end=2.0).simulate_events(np.array([[0.5]]))
    phi_end = qif_phase(qif_phase_inv(3.5, tau, a) - 2.0, tau, a) + 1.5
    assert short.outputs[0, 0] == pytest.approx(2.0 + 6.0 - phi_end, abs=1e-12)
    assert short.spikes == 1  # only the input spike is a real event


def test_qif_torch_forward_matches_heap_and_vectorised_simulation(torch):
    net = _qif()
    x = torch.tensor(np.random.default_rng(3).uniform([-1, 0], [1, 2], (7, 2)))
    with torch.no_grad():
        out = net(x, times=True).numpy()
    spikes = net.spike_count
    lay = net.to_layered()
    s = net.encode_numpy(x.numpy())
    vec = lay.simulate(s, spike_counts=True)
    heap = lay.simulate_events(s)
    assert np.allclose(out, vec.outputs, atol=1e-10) and np.allclose(out, heap.outputs, atol=1e-10)
    assert spikes == vec.spikes == heap.spikes
    assert np.array_equal(vec.spike_counts, heap.spike_counts)
    assert vec.synaptic_ops == heap.synaptic_ops and vec.neuron_updates == heap.neuron_updates
    # each neuron fires at most once per trial
    assert heap.spike_counts.max() <= 1
    # synaptic ops = sum over real spikes of the fan-out
    fan = np.concatenate([[w.shape[0] for _ in range(w.shape[1])] for w in lay.weights] + [[0, 0]])
    assert vec.synaptic_ops == int((vec.spike_counts * fan).sum())


def test_qif_exact_gradient_matches_finite_differences(torch):
    net = _qif(seed=4)
    x = torch.tensor([[0.3, 0.7], [-0.6, 1.5]], dtype=torch.float64)
    y = net(x).sum()
    y.backward()
    g = net.weights[1].grad.numpy()
    lay = net.to_layered()
    s = net.encode_numpy(x.numpy())
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(6):
        i, j = rng.integers(g.shape[0]), rng.integers(g.shape[1])
        h = 1e-6
        lay.weights[1][i, j] += h
        up = lay.simulate(s).outputs
        lay.weights[1][i, j] -= 2 * h
        dn = lay.simulate(s).outputs
        lay.weights[1][i, j] += h
        fd = ((up[:, 0] - up[:, 1]).sum() - (dn[:, 0] - dn[:, 1]).sum()) / (2 * h)
        assert fd == pytest.approx(g[i, j], rel=1e-4, abs=1e-7)
        checked += abs(g[i, j]) > 1e-6
    assert checked > 0


def test_lif_forward_matches_simulator_and_counts(torch):
    net = LIFNet([2, 10, 8, 1], steps=16, thresholds=[0.7, 1.1], seed=2)
    x = torch.tensor(np.random.default_rng(1).uniform(-2, 2, (9, 2)))
    with torch.no_grad():
        out = net(x).numpy()
    res = net.to_layered().simulate(x.numpy(), spike_counts=True)
    assert np.allclose(out, res.outputs, atol=1e-12)
    assert net.spike_count == res.spikes == int(res.spike_counts.sum()) > 0
    assert res.neuron_updates == 9 * 16 * (10 + 8 + 1)
    assert res.synaptic_ops == 9 * 2 * 10 + res.layer_spikes[0] * 8 + res.layer_spikes[1] * 1
    counts = res.hardware_counts()
    assert counts == {"packets": res.spikes, "synaptic_ops": res.synaptic_ops,
                      "neuron_updates": res.neuron_updates, "spikes_out": res.spikes,
                      "neurons": res.neurons}
    assert all(type(v) is int for v in counts.values())


def test_if_rate_approximates_hardtanh(torch):
    """An IF neuron with soft reset driven by a constant current I fires at rate clip(I/theta):
    theta * mean(s) = hardtanh(I) within theta / T (the basis of ANN-to-SNN conversion)."""
    T = 64
    ann = make_ann([1, 1, 1])
    with torch.no_grad():
        ann.layers[0].weight.fill_(1.0)
        ann.layers[1].weight.fill_(1.0)
    currents = torch.linspace(-1.5, 1.5, 31, dtype=torch.float64)[:, None]
    snn = convert_ann(ann, T, calibrate=False)
    with torch.no_grad():
        out = snn(currents)[:, 0].numpy()
    assert np.all(np.abs(out - np.clip(currents[:, 0].numpy(), -1, 1)) <= 1.0 / T + 1e-12)


def test_calibration_never_worse_than_plain_conversion(torch):
    ann = make_ann([1, 16, 16, 1], seed=0)
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)[:, None]
    plain = convert_ann(ann, 8, x, calibrate=False)
    cal = convert_ann(ann, 8, x, calibrate=True)
    with torch.no_grad():
        a = ann(x)
        e_plain = float(torch.mean((plain(x) - a) ** 2))
        e_cal = float(torch.mean((cal(x) - a) ** 2))
    assert e_cal <= e_plain  # greedy search from theta = 1 never increases the output error
    assert cal.thresholds != [1.0, 1.0] or e_cal == e_plain
    # the NumPy conversion of the same ANN picks the same thresholds
    from evsim.baselines.models import SpikingModel, convert_model
    m = SpikingModel("ann", "ann", ([l.weight.detach().numpy() for l in ann.layers],
                                    [l.bias.detach().numpy() for l in ann.layers]),
                     {"sizes": [1, 16, 16, 1]}, "x2")
    assert convert_model(m, 8, x.numpy(), calibrate=True).network.thresholds == cal.thresholds


def test_vsn_forward_matches_simulator(torch):
    net = VSNNet([2, 10, 8, 1], steps=5, beta=0.6, threshold=0.1, seed=3)
    x = torch.tensor(np.random.default_rng(2).uniform(-1, 1, (11, 2)))
    with torch.no_grad():
        out = net(x).numpy()
    res = net.to_layered().simulate(x.numpy(), spike_counts=True)
    assert np.allclose(out, res.outputs, atol=1e-12)
    assert net.spike_count == res.spikes > 0


def test_surrogate_gradients(torch):
    f = spike_functions()
    v = torch.tensor([-1.0, -0.2, 0.0, 0.9, 1.0, 2.5], dtype=torch.float64, requires_grad=True)
    s = f["ternary"].apply(v, 1.0, 0.5)
    assert s.tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    s.sum().backward()
    g = lambda u: math.exp(-u * u / 0.5) / (math.sqrt(2 * math.pi) * 0.5)  # noqa: E731
    expect = [g(x - 1.0) + g(x + 1.0) for x in v.detach().tolist()]
    assert np.allclose(v.grad.numpy(), expect)
    m = torch.tensor([0.0, 0.3, 1.0], dtype=torch.float64, requires_grad=True)
    y = f["heaviside"].apply(m, 0.3, 4.0)
    assert y.tolist() == [0.0, 1.0, 1.0]
    y.sum().backward()
    assert np.allclose(m.grad.numpy(), [1 / (1 + 4 * 0.3), 1.0, 1 / (1 + 4 * 0.7)])


def test_stochastic_projection_exact_on_quadratics_and_close_on_smooth(torch):
    gen = torch.Generator().manual_seed(0)
    p = torch.tensor([[0.2, 0.1], [0.7, 0.4]], dtype=torch.float64)

    def quad(z):
        x, t = z[:, 0], z[:, 1]
        return 1 + 2 * x - 3 * t + 1.5 * x * x + 0.5 * x * t - 2 * t * t

    d = stochastic_projection(quad, p, (0.05, 0.05), 6, generator=gen)
    x, t = p[:, 0], p[:, 1]
    assert torch.allclose(d["grad"][:, 0], 2 + 3 * x + 0.5 * t, atol=1e-9)
    assert torch.allclose(d["grad"][:, 1], -3 + 0.5 * x - 4 * t, atol=1e-9)
    assert torch.allclose(d["hess_diag"], torch.tensor([[3.0, -4.0]] * 2, dtype=torch.float64), atol=1e-7)
    d = stochastic_projection(lambda z: torch.sin(math.pi * z[:, 0]) * torch.exp(-z[:, 1]), p,
                              (0.02, 0.02), 10, generator=gen)
    exact_xx = -math.pi ** 2 * torch.sin(math.pi * x) * torch.exp(-t)
    assert torch.allclose(d["hess_diag"][:, 0], exact_xx, rtol=2e-2, atol=2e-2)
    with pytest.raises(ValueError):
        stochastic_projection(quad, p, (0.1, 0.1), 3)
