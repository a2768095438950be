"""Spiking neuron models in torch for spiking-PINN baselines (trainable), exported to
:mod:`evsim.baselines.layered` for exact event counting.

Three families, following the two spiking-PINN papers the PISNN is compared with
(NeuroPINNs: Garg & Chakraborty, arXiv 2511.06081; "From LIF to QIF": Wan, Karniadakis &
Stinis, arXiv 2511.06614, code github.com/ruyinw/From-LIF-to-QIF):

**IF/LIF with ternary spikes** (:class:`LIFNet`; LIF baseline of Wan, Karniadakis & Stinis,
"From LIF to QIF", arXiv 2511.06614). Per hidden layer ``l`` and step ``k = 1..T``

.. math:: v_l \\leftarrow \\lambda v_l + W_l h_{l-1} + b_l,\\quad
          s_l = \\mathbb 1[v_l \\ge \\theta_l] - \\mathbb 1[v_l \\le -\\theta_l],\\quad
          v_l \\leftarrow v_l - \\theta_l s_l,\\quad h_l = \\theta_l s_l ,

(``lambda = 1``: integrate-and-fire, soft reset), ``h_0 = x`` (direct encoding, constant
current), output ``y = T^{-1} \\sum_k (W_L h_{L-1} + b_L)`` (rate decoding). Trained directly
with the Gaussian surrogate ``ds/dv = g(v - theta) + g(v + theta)``,
``g(u) = exp(-u^2 / 2 sigma^2) / (sqrt(2 pi) sigma)``, ``sigma = 0.5``; or obtained by
ANN-to-SNN conversion of a ``hardtanh`` MLP (an IF neuron with soft reset fires at rate
``clip(z / theta, -1, 1)``, so ``theta s`` averages to ``hardtanh``), with per-layer
threshold calibration (:func:`convert_ann`).

**QIF in phase form** (:class:`QIFNet`; same paper, after Klos & Memmesheimer, PRL 134,
027301, 2025). ``dphi/dt = 1``; an input spike of weight ``w`` maps
``phi -> Phi(Phi^{-1}(phi) + w)``, ``Phi(V) = (tau/a)[arctan((V - 1/2)/a) + pi/2]``,
``a = sqrt(I0 - 1/4)``; spike at ``Theta = tau pi / a``. Defaults ``tau = 6/pi``, ``I0 = 5/4``
(``Theta = 6``), initial phase ``Theta/2``, input window ``T = 2``. Time-to-first-spike input
coding: ``x`` min-max normalised to ``[0, 1]`` (clipped: the coding window is finite) spikes
at ``(1 - x) T``; a reference (bias)
input neuron spikes at ``t = 0``. Each neuron fires at most once; the output is the difference
of the two output neurons' spike times. The spike times are closed-form, differentiable
functions of weights and input times, so training uses their *exact* gradients; a neuron
silent at the trial end ``t_end`` gets the pseudospike time ``t_end + Theta - phi(t_end)``
so that its gradient stays defined (see :mod:`evsim.baselines.layered`).

**VSN** (:class:`VSNNet`; NeuroPINNs, Garg & Chakraborty, arXiv 2511.06081): per step
``m <- beta m + z``, ``s = H(m - T_h)``, graded output ``y = phi(z) s``, reset ``m <- 0`` on a
spike, surrogate ``ds/dm = 1 / (1 + K |m - T_h|)``; readout as for LIF.

**Stochastic projection** (:func:`stochastic_projection`, NeuroPINNs): derivatives of a
network output at a point ``p`` from forward evaluations at random nearby points
``p + delta_k``: the local least-squares quadratic fit

.. math:: u(p + \\delta) \\approx c_0 + g \\cdot \\delta + \\tfrac12 \\delta^T H \\delta

gives the gradient ``g`` and the Hessian diagonal ``H_dd`` as fixed linear combinations of
the evaluations (a pseudo-inverse), so the PDE residual is differentiable in the weights
through the (surrogate) forward pass only, never through ``d spike / d x``.

torch is imported inside functions; every model exports to the NumPy simulator of
:mod:`evsim.baselines.layered` with ``to_layered()``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from evsim.errors import ConfigError
from evsim.optional import require

__all__ = ["LIFNet", "VSNNet", "QIFNet", "make_ann", "convert_ann", "stochastic_projection",
           "relative_l2", "train_supervised", "spike_functions"]

_FUNCS: dict[str, Any] = {}


def _torch() -> ModuleType:
    return require("torch", feature="the spiking-PINN baselines (evsim.baselines)")


def spike_functions() -> dict[str, Any]:
    """The surrogate-gradient spike functions (``torch.autograd.Function`` classes, built once).

    ``"ternary"``: ``s = 1[v >= theta] - 1[v <= -theta]``, backward Gaussian (sigma given).
    ``"heaviside"``: ``s = 1[m >= T_h]``, backward ``1 / (1 + K |m - T_h|)``.
    """
    if _FUNCS:
        return _FUNCS
    torch = _torch()

    class Ternary(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v, theta, sigma):
            ctx.save_for_backward(v)
            ctx.theta, ctx.sigma = theta, sigma
            return (v >= theta).to(v.dtype) - (v <= -theta).to(v.dtype)

        @staticmethod
        def backward(ctx, grad):
            (v,) = ctx.saved_tensors
            th, sg = ctx.theta, ctx.sigma
            c = 1.0 / (math.sqrt(2 * math.pi) * sg)
            d = c * (torch.exp(-(v - th) ** 2 / (2 * sg * sg)) + torch.exp(-(v + th) ** 2 / (2 * sg * sg)))
            return grad * d, None, None

    class Heaviside(torch.autograd.Function):
        @staticmethod
        def forward(ctx, m, th, k):
            ctx.save_for_backward(m)
            ctx.th, ctx.k = th, k
            return (m >= th).to(m.dtype)

        @staticmethod
        def backward(ctx, grad):
            (m,) = ctx.saved_tensors
            return grad / (1.0 + ctx.k * torch.abs(m - ctx.th)), None, None

    _FUNCS.update(ternary=Ternary, heaviside=Heaviside)
    return _FUNCS


def _linears(sizes: Sequence[int], seed: int, dtype=None, gain: float = 1.0, bias_range: float = 0.0):
    """Seeded dense layers: Xavier-normal weights (``gain`` on hidden layers), biases uniform in
    ``[-bias_range, bias_range]`` on hidden layers (zero on the readout).

    A ``hardtanh`` / rate-coded IF unit is *linear* near zero, so a network started in that
    regime is a linear map with a vanishing gradient towards curvature (a saddle for an even
    target such as ``x^2``); ``gain > 1`` and random biases place the kinks inside the data.
    """
    torch = _torch()
    torch.manual_seed(seed)
    layers = torch.nn.ModuleList()
    n = len(sizes) - 1
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = torch.nn.Linear(a, b, dtype=dtype or torch.float64)
        hidden = k < n - 1
        torch.nn.init.xavier_normal_(lin.weight, gain=gain if hidden else 1.0)
        torch.nn.init.zeros_(lin.bias)
        if hidden and bias_range > 0:
            torch.nn.init.uniform_(lin.bias, -bias_range, bias_range)
        layers.append(lin)
    return layers


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(float).copy()


# --------------------------------------------------------------------------- LIF
def LIFNet(sizes: Sequence[int], steps: int = 32, thresholds: Sequence[float] | None = None,
           leak: float = 1.0, sigma: float = 0.5, seed: int = 0, layers=None, gain: float = 1.0,
           bias_range: float = 0.0):
    """An IF/LIF ternary-spike network (module docstring) as a ``torch.nn.Module``.

    Parameters
    ----------
    sizes
        ``[n_in, hidden..., n_out]``; hidden layers spike, the last layer is the readout.
    steps
        Number of time steps ``T`` (rate decoding).
    thresholds
        Per hidden layer ``theta_l`` (default 1).
    leak
        ``lambda`` (1: IF).
    sigma
        Width of the Gaussian surrogate.
    seed
        Seed of the Xavier-normal initial weights.
    layers
        Optional ``ModuleList`` of ``Linear`` layers to use (conversion from an ANN).
    gain, bias_range
        Initialisation (see ``_linears``).

    The returned module has ``forward(x) -> (B, n_out)``, ``spike_count`` (hidden spikes of
    the last forward pass), ``to_layered() -> evsim.baselines.layered.LIFNetwork``.
    """
    torch = _torch()
    tern = spike_functions()["ternary"]

    class _LIF(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = list(sizes)
            self.steps = int(steps)
            self.leak = float(leak)
            self.sigma = float(sigma)
            self.layers = layers if layers is not None else _linears(sizes, seed, gain=gain,
                                                                     bias_range=bias_range)
            nh = len(sizes) - 2
            self.thresholds = [1.0] * nh if thresholds is None else [float(v) for v in thresholds]
            self.spike_count = 0

        def forward(self, x):
            B = x.shape[0]
            lin = self.layers
            i1 = lin[0](x)
            v = [torch.zeros(B, l.out_features, dtype=x.dtype) for l in lin[:-1]]
            acc = 0.0
            count = 0
            for _ in range(self.steps):
                inp = i1
                for k in range(len(lin) - 1):
                    if k > 0:
                        inp = lin[k](h)
                    v[k] = self.leak * v[k] + inp
                    s = tern.apply(v[k], self.thresholds[k], self.sigma)
                    v[k] = v[k] - self.thresholds[k] * s
                    count += int((s != 0).sum())
                    h = self.thresholds[k] * s
                acc = acc + lin[-1](h)
            self.spike_count = count
            return acc / self.steps

        def to_layered(self):
            from evsim.baselines.layered import LIFNetwork
            return LIFNetwork([_np(l.weight) for l in self.layers], [_np(l.bias) for l in self.layers],
                              list(self.thresholds), self.steps, self.leak)

        def config(self) -> dict:
            return {"kind": "lif", "sizes": self.sizes, "steps": self.steps, "leak": self.leak,
                    "sigma": self.sigma, "thresholds": self.thresholds}

    return _LIF()


def make_ann(sizes: Sequence[int], seed: int = 0, gain: float = 1.0, bias_range: float = 0.0):
    """A ``hardtanh`` MLP (the ANN that :func:`convert_ann` turns into an IF network):
    ``forward(x) = W_L hardtanh(... hardtanh(W_1 x + b_1) ...) + b_L``; ``.layers`` holds the
    ``Linear`` layers; ``gain``, ``bias_range``: initialisation (see ``_linears``)."""
    torch = _torch()

    class _ANN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = list(sizes)
            self.layers = _linears(sizes, seed, gain=gain, bias_range=bias_range)

        def forward(self, x, return_hidden: bool = False):
            h, hidden = x, []
            for k, lin in enumerate(self.layers):
                h = lin(h)
                if k < len(self.layers) - 1:
                    h = torch.nn.functional.hardtanh(h)
                    hidden.append(h)
            return (h, hidden) if return_hidden else h

    return _ANN()


def convert_ann(ann, steps: int, x_calib=None, calibrate: bool = True,
                candidates: Sequence[float] | None = None, sweeps: int = 2):
    """ANN-to-SNN conversion of a :func:`make_ann` network into a :func:`LIFNet`.

    Without calibration every threshold is 1 (the ``hardtanh`` range), so an IF neuron's
    ``theta * rate`` approximates ``hardtanh(z)`` up to the ``1/T`` rate quantization.
    With calibration the per-layer thresholds are chosen on ``x_calib`` by greedy coordinate
    search (``sweeps`` passes over the layers, first to last): ``theta_l`` takes the value among
    ``candidates`` (default ``linspace(0.3, 1.2, 19)``, which contains 1) that minimises the mean
    squared error between the SNN output and the ANN output, the other thresholds fixed. A
    smaller threshold resolves small activations more finely but clips large ones. Because 1 is
    a candidate and the search is greedy, the calibrated error on ``x_calib`` never exceeds the
    uncalibrated one.

    Returns
    -------
    LIFNet module with (a copy of) the ANN's weights and the thresholds.
    """
    torch = _torch()
    import copy
    layers = copy.deepcopy(ann.layers)
    nh = len(ann.sizes) - 2
    snn = LIFNet(ann.sizes, steps=steps, thresholds=[1.0] * nh, layers=layers)
    if not calibrate:
        return snn
    cands = list(np.linspace(0.3, 1.2, 19)) if candidates is None else list(candidates)
    with torch.no_grad():
        target = ann(x_calib)
        best_err = float(torch.mean((snn(x_calib) - target) ** 2))
        for _ in range(sweeps):
            for l in range(nh):
                keep = snn.thresholds[l]
                for th in cands:
                    snn.thresholds[l] = float(th)
                    err = float(torch.mean((snn(x_calib) - target) ** 2))
                    if err < best_err:
                        keep, best_err = float(th), err
                snn.thresholds[l] = keep
    return snn


# --------------------------------------------------------------------------- VSN
def VSNNet(sizes: Sequence[int], steps: int = 4, beta: float = 0.5, threshold: float = 0.05,
           k: float = 5.0, activation: str = "tanh", seed: int = 0):
    """A variable-spiking-neuron network (module docstring) as a ``torch.nn.Module``.

    ``forward(x) -> (B, n_out)``; ``spike_count``; ``to_layered() -> evsim.baselines.layered.VSNNetwork``.
    ``k`` is the surrogate sharpness ``K``; ``activation`` the graded output ``phi``.
    """
    torch = _torch()
    heav = spike_functions()["heaviside"]
    acts = {"tanh": torch.tanh, "identity": lambda z: z, "relu": torch.relu}

    class _VSN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = list(sizes)
            self.steps, self.beta, self.threshold, self.k = int(steps), float(beta), float(threshold), float(k)
            self.activation = activation
            self.layers = _linears(sizes, seed)
            self.spike_count = 0

        def forward(self, x):
            lin, act = self.layers, acts[self.activation]
            B = x.shape[0]
            m = [torch.zeros(B, l.out_features, dtype=x.dtype) for l in lin[:-1]]
            i1 = lin[0](x)
            acc, count = 0.0, 0
            for _ in range(self.steps):
                z = i1
                for j in range(len(lin) - 1):
                    if j > 0:
                        z = lin[j](y)
                    m[j] = self.beta * m[j] + z
                    s = heav.apply(m[j], self.threshold, self.k)
                    y = act(z) * s
                    m[j] = m[j] * (1.0 - s)
                    count += int(s.detach().sum())
                acc = acc + lin[-1](y)
            self.spike_count = count
            return acc / self.steps

        def to_layered(self):
            from evsim.baselines.layered import VSNNetwork
            return VSNNetwork([_np(l.weight) for l in self.layers], [_np(l.bias) for l in self.layers],
                              self.beta, self.threshold, self.steps, self.activation)

        def config(self) -> dict:
            return {"kind": "vsn", "sizes": self.sizes, "steps": self.steps, "beta": self.beta,
                    "threshold": self.threshold, "k": self.k, "activation": self.activation}

    return _VSN()


# --------------------------------------------------------------------------- QIF
def QIFNet(sizes: Sequence[int], T: float = 2.0, t_end: float = 4.0, tau: float = 6.0 / math.pi,
           I0: float = 1.25, phi0: float | None = None, reference: bool = True,
           lo: Sequence[float] | None = None, hi: Sequence[float] | None = None,
           w_mean: float = 1.0, w_std: float = 1.0, eps: float = 1e-6, seed: int = 0):
    """A feed-forward QIF phase-neuron network (module docstring) as a ``torch.nn.Module``.

    Parameters
    ----------
    sizes
        ``[n_in, hidden..., n_out]`` with ``n_out = 2`` for a scalar output (``n_in`` data
        inputs; the reference neuron is added when ``reference``).
    T
        Input coding window: ``x_hat`` in ``[0, 1]`` spikes at ``(1 - x_hat) T``.
    t_end
        Trial end (pseudospikes after it); default ``2 T`` so late inputs can propagate.
    tau, I0, phi0
        Neuron constants (``phi0`` default ``Theta / 2``).
    lo, hi
        Min-max normalisation range of each data input (default 0 and 1).
    w_mean, w_std
        Initial weights ``W ~ N(w_mean / n, w_std^2 / n)`` for ``n`` inputs of a layer (so the
        summed drive of a layer is ``O(1)`` and neurons fire within the trial).

    ``forward(x) -> (B,)`` ``t_out,0 - t_out,1`` (or all output times with ``times=True``);
    ``encode(x)`` input spike times; ``spike_count`` real spikes of the last forward pass;
    ``to_layered() -> evsim.baselines.layered.QIFNetwork``.
    """
    torch = _torch()
    a = math.sqrt(I0 - 0.25)
    theta = tau * math.pi / a
    p0 = 0.5 * theta if phi0 is None else float(phi0)
    n_in = sizes[0] + (1 if reference else 0)
    full = [n_in] + list(sizes[1:])

    class _QIF(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = list(sizes)
            self.T, self.t_end, self.tau, self.I0, self.phi0 = float(T), float(t_end), tau, I0, p0
            self.reference, self.eps = bool(reference), float(eps)
            self.lo = [0.0] * sizes[0] if lo is None else [float(v) for v in lo]
            self.hi = [1.0] * sizes[0] if hi is None else [float(v) for v in hi]
            gen = torch.Generator().manual_seed(seed)
            self.weights = torch.nn.ParameterList()
            for n, m in zip(full[:-1], full[1:]):
                w = (w_mean + w_std * math.sqrt(n) * torch.randn(m, n, generator=gen, dtype=torch.float64)) / n
                self.weights.append(torch.nn.Parameter(w))
            self.spike_count = 0
            self.a, self.theta = a, theta

        def encode(self, x):
            lo_t = torch.tensor(self.lo, dtype=x.dtype)
            hi_t = torch.tensor(self.hi, dtype=x.dtype)
            xh = torch.clamp((x - lo_t) / (hi_t - lo_t), 0.0, 1.0)  # finite coding window
            s = (1.0 - xh) * self.T
            if self.reference:
                s = torch.cat([s, torch.zeros(x.shape[0], 1, dtype=x.dtype)], 1)
            return s

        def _phase(self, v):
            return (self.tau / a) * (torch.atan((v - 0.5) / a) + math.pi / 2)

        def _phase_inv(self, phi):
            phi = torch.clamp(phi, self.eps, theta - self.eps)
            return a * torch.tan(a * phi / self.tau - math.pi / 2) + 0.5

        def layer(self, s, w):
            """Spike (or pseudospike) times ``(B, m)`` and the real-spike mask of one layer.

            The phase is evolved through the time-ordered inputs without masking (jumps of
            inputs after ``t_end`` have weight 0); the first interval in which the phase
            reaches ``Theta`` gives the spike time, which is all that time-to-first-spike
            coding needs (later evolution is discarded). Same events as
            :meth:`evsim.baselines.layered.QIFNetwork.layer`.
            """
            B, n = s.shape
            ss, order = torch.sort(s, dim=1, stable=True)
            valid = ss <= self.t_end
            tk = torch.where(valid, ss, torch.full_like(ss, self.t_end))
            ws = w.T[order] * valid[:, :, None]  # (B, n, m); no jump after t_end
            dts = torch.diff(tk, dim=1, prepend=torch.zeros(B, 1, dtype=s.dtype))
            dts = torch.cat([dts, self.t_end - tk[:, -1:]], 1)  # (B, n + 1)
            starts = torch.cat([torch.zeros(B, 1, dtype=s.dtype), tk], 1)  # interval starts
            # evolve the angle psi = a phi / tau - pi/2 in (-pi/2, pi/2): V - 1/2 = a tan(psi),
            # drift d psi / dt = a / tau, jump psi -> arctan(tan(psi) + w / a)
            c = a / self.tau
            lim = math.pi / 2 - c * self.eps
            psi = torch.full((B, w.shape[0]), c * self.phi0 - math.pi / 2, dtype=s.dtype)
            after = [psi]  # angle at the start of each interval
            wcols, dcols = (ws / a).unbind(1), (c * dts[:, :n]).unbind(1)  # unbind: cheap backward
            for k in range(n):
                psi = torch.atan(torch.tan(torch.clamp(psi + dcols[k][:, None], -lim, lim)) + wcols[k])
                after.append(psi)
            ph = (torch.stack(after, 1) + math.pi / 2) / c  # (B, n + 1, m) phases
            cross = ph + dts[:, :, None] >= theta
            real = cross.any(1)
            first = torch.argmax(cross.to(torch.int8), dim=1, keepdim=True)  # (B, 1, m)
            p_first = torch.gather(ph, 1, first)[:, 0, :]
            t_first = torch.gather(starts, 1, first[:, 0, :])
            phi_end = ph[:, -1, :] + dts[:, -1:]
            times = torch.where(real, t_first + theta - p_first, self.t_end + theta - phi_end)
            return times, real

        def forward(self, x, times: bool = False):
            s = self.encode(x)
            count = int((s <= self.t_end).sum())
            inf = torch.tensor(math.inf, dtype=s.dtype)
            for li, w in enumerate(self.weights):
                t, real = self.layer(s, w)
                count += int(real.sum())
                s = torch.where(real, t, inf) if li + 1 < len(self.weights) else t
            self.spike_count = count
            return s if times else s[:, 0] - s[:, 1]

        def to_layered(self):
            from evsim.baselines.layered import QIFNetwork
            return QIFNetwork([_np(w) for w in self.weights], self.tau, self.I0, self.phi0,
                              self.t_end, self.eps)

        def encode_numpy(self, x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return self.encode(torch.as_tensor(np.asarray(x, float))).numpy()

        def config(self) -> dict:
            return {"kind": "qif", "sizes": self.sizes, "T": self.T, "t_end": self.t_end,
                    "tau": self.tau, "I0": self.I0, "phi0": self.phi0, "reference": self.reference,
                    "lo": self.lo, "hi": self.hi, "eps": self.eps}

    return _QIF()


# --------------------------------------------------------------------------- projection
def stochastic_projection(u_fn: Callable, points, radius: Sequence[float], neighbours: int = 12,
                          generator=None) -> dict[str, Any]:
    """Derivatives of ``u_fn`` at ``points`` by stochastic projection (module docstring).

    Parameters
    ----------
    u_fn
        Torch callable ``(n, D) -> (n,)``.
    points
        ``(n, D)`` tensor.
    radius
        Half-width of the sampling box per coordinate: offsets ``delta_k`` uniform in
        ``prod_d [-r_d, r_d]`` (the same ``neighbours`` offsets for every point; a fresh draw
        per call), plus the point itself.
    neighbours
        Number of random neighbours ``K`` (at least ``(D+1)(D+2)/2 - 1``).

    Returns
    -------
    dict
        ``"u"`` ``(n,)`` values at the points, ``"grad"`` ``(n, D)``, ``"hess_diag"`` ``(n, D)``
        from the least-squares quadratic fit (differentiable w.r.t. ``u_fn``'s parameters).
    """
    torch = _torch()
    n, D = points.shape
    nq = (D + 1) * (D + 2) // 2
    if neighbours + 1 < nq:
        raise ConfigError(f"neighbours must be at least {nq - 1} for a quadratic fit in {D} dims, got {neighbours}")
    r = torch.as_tensor(list(radius), dtype=points.dtype)
    delta = (2 * torch.rand(neighbours, D, generator=generator, dtype=points.dtype) - 1) * r
    delta = torch.cat([torch.zeros(1, D, dtype=points.dtype), delta], 0)  # (K+1, D)
    dn = delta / r  # normalised offsets for a well-conditioned fit
    cols = [torch.ones(len(dn), dtype=points.dtype)] + [dn[:, d] for d in range(D)]
    quad_idx = []
    for i in range(D):
        for j in range(i, D):
            cols.append(dn[:, i] * dn[:, j] * (0.5 if i == j else 1.0))
            quad_idx.append((i, j))
    A = torch.stack(cols, 1)
    P = torch.linalg.pinv(A)  # (nq, K+1)
    pts = (points[:, None, :] + delta[None, :, :]).reshape(-1, D)
    vals = u_fn(pts).reshape(n, len(delta))
    coef = vals @ P.T  # (n, nq)
    grad = coef[:, 1:1 + D] / r
    hd = []
    for d in range(D):
        hd.append(coef[:, 1 + D + quad_idx.index((d, d))] / r[d] ** 2)
    return {"u": vals[:, 0], "grad": grad, "hess_diag": torch.stack(hd, 1)}


# --------------------------------------------------------------------------- utilities
def relative_l2(pred: np.ndarray, ref: np.ndarray) -> float:
    """Relative L2 error ``||pred - ref|| / ||ref||``."""
    pred, ref = np.asarray(pred, float).ravel(), np.asarray(ref, float).ravel()
    return float(np.linalg.norm(pred - ref) / np.linalg.norm(ref))


def train_supervised(model, x, y, iters: int = 2000, lr: float = 1e-3, lr_decay: float = 0.1,
                     seed: int = 0, log_every: int = 200, max_seconds: float | None = None,
                     verbose: bool = False) -> list[dict]:
    """Full-batch mean-squared-error regression of ``model(x)`` on ``y`` with Adam and a
    geometric learning-rate decay (the loop of :func:`evsim.teachers.pinn.fit`, no L-BFGS:
    spiking outputs are piecewise constant / kinked, which L-BFGS line searches handle badly).

    Returns the loss history.
    """
    torch = _torch()
    from evsim.teachers.pinn import fit
    torch.manual_seed(seed)
    y = y.reshape(-1)

    def loss_fn(it):
        loss = torch.mean((model(x).reshape(-1) - y) ** 2)
        return loss, {"total": float(loss.detach())}

    cb = (lambda ph, it, p: print(f"{ph} {it:6d} mse={p['total']:.3e}", flush=True)) if verbose else None
    return fit(list(model.parameters()), loss_fn, adam_iters=iters, lr=lr, lbfgs_iters=0,
               lr_decay=lr_decay, log_every=log_every, callback=cb, max_seconds=max_seconds)
