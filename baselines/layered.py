"""Event-driven simulation of layered (feed-forward) spiking networks.

The C-LIF/CFQ engine (:func:`evsim.simulate`) simulates a *mesh* of conservative
neurons. Spiking PINN baselines are instead layered networks ``n_0 - n_1 - ... - n_L``
whose neurons integrate weighted input spikes. This module simulates them with exact
spike and synaptic-operation counts, in NumPy float64, independently of the torch code
that trains them (``evsim.baselines.training``), so that a test can check that the
simulation reproduces the training forward pass.

Three neuron models
-------------------
**QIF phase neurons** (:class:`QIFNetwork`, Wan, Karniadakis & Stinis, arXiv 2511.06614,
after Klos & Memmesheimer, PRL 134, 027301, 2025). The quadratic integrate-and-fire neuron
``tau dV/dt = V (V - 1) + I0 + tau sum_i w_i sum_k delta(t - t_ik)`` in phase form,
``a = sqrt(I0 - 1/4)``,

.. math:: \\phi = \\Phi(V) = \\frac{\\tau}{a}\\Big[\\arctan\\frac{V - 1/2}{a} + \\frac{\\pi}{2}\\Big],
          \\qquad \\Phi^{-1}(\\phi) = a \\tan\\Big(\\frac{a\\phi}{\\tau} - \\frac{\\pi}{2}\\Big) + \\frac12 ,

evolves as ``dphi/dt = 1`` between events; an input spike of weight ``w`` maps
``phi -> Phi(Phi^{-1}(phi) + w)``; the neuron spikes when ``phi`` reaches
``Theta = tau pi / a`` (then it is done: time-to-first-spike coding, each neuron fires at
most once per trial). Every neuron starts at ``phi_0`` (default ``Theta / 2``) at ``t = 0``.
A neuron still silent at the trial end ``t_end`` gets the *pseudospike* time
``t_end + Theta - phi(t_end)`` (the time it would fire without further input); pseudospikes
are read out but are not events and are not propagated. Inputs are spike times (one spike
per input neuron, ``inf`` = no spike). :meth:`QIFNetwork.simulate_events` is the
event-driven reference: a single heap of time-ordered events (threshold crossings and
spike deliveries) for the whole network, with lazy phase updates and versioned
predictions. :meth:`QIFNetwork.simulate` processes the same events layer by layer in
time order, vectorised over a batch of samples (exact for feed-forward networks, because
a layer's events depend only on the previous layer's spikes).

**IF/LIF neurons with ternary spikes** (:class:`LIFNetwork`, the LIF baseline of the same
paper): time-stepped over ``T`` steps, ``v <- lambda v + I``, spike ``s = +1`` if
``v >= theta``, ``-1`` if ``v <= -theta``, soft reset ``v <- v - theta s``; a spike carries
``theta s``. The analog input is a constant current (direct encoding); the output layer is
a non-spiking integrator read out as the time average (rate decoding).

**Variable spiking neurons** (:class:`VSNNetwork`, NeuroPINNs, arXiv 2511.06081): time-stepped,
``m <- beta m + z``, spike ``H(m - T_h)``, graded output ``y = phi(z)`` on a spike, reset
``m <- 0``; output layer as for LIF.

Counting convention (:class:`LayeredResult`)
--------------------------------------------
``spikes``           real spikes emitted by hidden (and, for QIF, input and output) neurons;
``synaptic_ops``     one per delivered spike per target (fan-out), plus for the time-stepped
                     models the ``n_0 n_1`` multiply-accumulates that turn the analog input
                     into the constant input current (once per sample);
``neuron_updates``   event-driven QIF: one per received input spike (a phase jump);
                     time-stepped models: every neuron of every layer, every step.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["QIFNetwork", "LIFNetwork", "VSNNetwork", "LayeredResult", "qif_phase", "qif_phase_inv",
           "ACTIVATIONS"]

#: Graded-output functions of VSN neurons.
ACTIVATIONS = {"identity": lambda z: z, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}


@dataclass
class LayeredResult:
    """Outputs and exact event counts of a layered spiking network over a batch of inputs.

    Attributes
    ----------
    outputs
        ``(B, n_out)`` network outputs (QIF: output spike or pseudospike times).
    spikes
        Total real spikes over the batch.
    synaptic_ops
        Total synaptic operations (see the module docstring).
    neuron_updates
        Total neuron state updates.
    layer_spikes
        Real spikes per layer (input layer first for QIF), summed over the batch.
    samples
        Batch size ``B``.
    neurons
        Number of neurons of the network (all layers that hold state).
    spike_counts
        ``(B, neurons)`` per-sample per-neuron spike counts (``None`` unless requested).
    """

    outputs: np.ndarray
    spikes: int
    synaptic_ops: int
    neuron_updates: int
    layer_spikes: list[int]
    samples: int
    neurons: int
    spike_counts: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def per_sample(self) -> dict[str, float]:
        """Mean spikes, synaptic ops and neuron updates per input sample."""
        b = max(self.samples, 1)
        return {"spikes": self.spikes / b, "synaptic_ops": self.synaptic_ops / b,
                "neuron_updates": self.neuron_updates / b}

    def hardware_counts(self) -> dict[str, int]:
        """The counts as hardware events (one spike-out per spike), keyed as the fields of
        :class:`evsim.analysis.energy.EventCounts`: ``EventCounts(**result.hardware_counts())``."""
        return {"packets": int(self.spikes), "synaptic_ops": int(self.synaptic_ops),
                "neuron_updates": int(self.neuron_updates), "spikes_out": int(self.spikes),
                "neurons": int(self.neurons)}


# --------------------------------------------------------------------------- QIF
def qif_phase(v, tau: float, a: float):
    """``Phi(V) = (tau/a) [arctan((V - 1/2)/a) + pi/2]`` (phase of membrane potential ``V``)."""
    return (tau / a) * (np.arctan((v - 0.5) / a) + math.pi / 2)


def qif_phase_inv(phi, tau: float, a: float):
    """``Phi^{-1}(phi) = a tan(a phi / tau - pi/2) + 1/2``."""
    return a * np.tan(a * phi / tau - math.pi / 2) + 0.5


@dataclass
class QIFNetwork:
    """A feed-forward network of QIF phase neurons (module docstring).

    Parameters
    ----------
    weights
        ``W_l`` of shape ``(n_{l+1}, n_l)``; ``n_0`` input neurons (each spikes once).
    tau, I0
        Membrane time constant and constant current (``I0 > 1/4``); defaults ``6/pi`` and
        ``5/4`` give ``a = 1``, ``Theta = 6``.
    phi0
        Initial phase (default ``Theta / 2``).
    t_end
        Trial end: spikes after it are replaced by pseudospikes.
    eps
        Guard: phases are clipped to ``[eps, Theta - eps]`` before ``Phi^{-1}``.
    """

    weights: list[np.ndarray]
    tau: float = 6.0 / math.pi
    I0: float = 1.25
    phi0: float | None = None
    t_end: float = 4.0
    eps: float = 1e-6

    @property
    def a(self) -> float:
        return math.sqrt(self.I0 - 0.25)

    @property
    def theta(self) -> float:
        """Threshold phase ``Theta = tau pi / a``."""
        return self.tau * math.pi / self.a

    @property
    def initial_phase(self) -> float:
        return 0.5 * self.theta if self.phi0 is None else float(self.phi0)

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def _jump(self, phi, w):
        th, e = self.theta, self.eps
        v = qif_phase_inv(np.clip(phi, e, th - e), self.tau, self.a)
        return qif_phase(v + w, self.tau, self.a)

    # -- vectorised, layer by layer in time order
    def layer(self, s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spike times of one layer given input spike times ``s`` ``(B, n)`` (``inf``: none).

        Inputs are processed in time order (``argsort``, stable). Before each input the
        neuron may cross threshold by drift; inputs after ``t_end`` are ignored.

        Returns
        -------
        times
            ``(B, m)`` spike time of each neuron, or its pseudospike time if silent.
        real
            ``(B, m)`` bool, whether the neuron fired within ``[0, t_end]``.
        jumps
            ``(B,)`` number of phase jumps (input deliveries to neurons that had not fired).
        """
        s = np.asarray(s, float)
        B, n = s.shape
        m = w.shape[0]
        th, t_end = self.theta, self.t_end
        order = np.argsort(s, axis=1, kind="stable")
        ss = np.take_along_axis(s, order, 1)
        phi = np.full((B, m), self.initial_phase)
        t_prev = np.zeros((B, 1))
        spike = np.full((B, m), np.inf)
        done = np.zeros((B, m), bool)
        jumps = np.zeros(B, np.int64)
        for k in range(n):
            sk = ss[:, k:k + 1]
            valid = sk <= t_end
            tcur = np.where(valid, sk, t_end)
            cross = ~done & (phi + (tcur - t_prev) >= th)
            spike = np.where(cross, t_prev + th - phi, spike)
            done |= cross
            phi = phi + (tcur - t_prev)
            wk = w[:, order[:, k]].T  # (B, m)
            upd = valid & ~done
            phi = np.where(upd, self._jump(phi, wk), phi)
            jumps += upd.sum(1)
            t_prev = tcur
        cross = ~done & (phi + (t_end - t_prev) >= th)
        spike = np.where(cross, t_prev + th - phi, spike)
        done |= cross
        phi_end = phi + (t_end - t_prev)
        times = np.where(done, spike, t_end + th - phi_end)
        return times, done, jumps

    def simulate(self, input_times: np.ndarray, spike_counts: bool = False) -> LayeredResult:
        """Simulate a batch of trials, ``input_times`` ``(B, n_0)`` (``inf``: silent input).

        Returns a :class:`LayeredResult` whose ``outputs`` are the output layer's spike /
        pseudospike times ``(B, n_L)``.
        """
        s = np.atleast_2d(np.asarray(input_times, float))
        B = s.shape[0]
        real_in = s <= self.t_end
        layer_spikes = [int(real_in.sum())]
        counts = [real_in.astype(np.int64)]
        syn = int(real_in.sum()) * self.weights[0].shape[0]
        updates = 0
        times = s
        for li, w in enumerate(self.weights):
            t, real, jumps = self.layer(times, w)
            updates += int(jumps.sum())
            layer_spikes.append(int(real.sum()))
            counts.append(real.astype(np.int64))
            if li + 1 < len(self.weights):
                syn += int(real.sum()) * self.weights[li + 1].shape[0]
                times = np.where(real, t, np.inf)
            else:
                times = t
        return LayeredResult(outputs=times, spikes=int(sum(layer_spikes)), synaptic_ops=syn,
                             neuron_updates=updates, layer_spikes=layer_spikes, samples=B,
                             neurons=int(sum(self.sizes)),
                             spike_counts=np.hstack(counts) if spike_counts else None)

    # -- the event-driven reference: one heap for the whole network
    def simulate_events(self, input_times: np.ndarray) -> LayeredResult:
        """Event-driven simulation of each trial with a single time-ordered heap.

        Events are ``(time, kind, layer, neuron, version)``; ``kind`` 0 = threshold crossing
        (a prediction, valid only if its version is current), 1 = spike delivery to a layer.
        At equal times crossings come first, matching :meth:`layer`. Each neuron keeps its
        phase at its last update time (lazy update: ``phi += t - t_last``). Slow (pure
        Python); used to validate :meth:`simulate` on small batches.
        """
        s = np.atleast_2d(np.asarray(input_times, float))
        sizes = self.sizes
        th, t_end = self.theta, self.t_end
        outs, layer_spikes = [], [0] * len(sizes)
        syn = updates = 0
        counts = []
        for row in s:
            phi = [np.full(n, self.initial_phase) for n in sizes[1:]]
            t_last = [np.zeros(n) for n in sizes[1:]]
            version = [np.zeros(n, np.int64) for n in sizes[1:]]
            fired = [np.zeros(n, bool) for n in sizes[1:]]
            spike_t = [np.full(n, np.inf) for n in sizes[1:]]
            heap: list = []
            seq = 0
            for j, tj in enumerate(row):  # input spikes (in order of time, then index)
                if tj <= t_end:
                    heapq.heappush(heap, (tj, 1, 0, j, seq))
                    seq += 1
            for li in range(1, len(sizes)):  # initial predictions (pure drift)
                for j in range(sizes[li]):
                    heapq.heappush(heap, (th - self.initial_phase, 0, li, j, 0))
            cnt = [np.zeros(n, np.int64) for n in sizes]
            while heap:
                t, kind, li, j, ver = heapq.heappop(heap)
                if t > t_end:
                    break
                if kind == 0:  # threshold crossing of neuron j of layer li
                    k = li - 1
                    if fired[k][j] or ver != version[k][j]:
                        continue
                    fired[k][j] = True
                    spike_t[k][j] = t
                    cnt[li][j] += 1
                    if li < len(sizes) - 1:
                        heapq.heappush(heap, (t, 1, li, j, seq))
                        seq += 1
                else:  # a spike of neuron j of layer li arrives at layer li + 1
                    if li == 0:
                        cnt[0][j] += 1
                    w = self.weights[li][:, j]
                    syn += len(w)
                    k = li
                    for i in range(sizes[li + 1]):
                        if fired[k][i]:
                            continue
                        p = phi[k][i] + (t - t_last[k][i])
                        p = float(self._jump(np.array(p), w[i]))
                        phi[k][i], t_last[k][i] = p, t
                        version[k][i] += 1
                        updates += 1
                        heapq.heappush(heap, (t + th - p, 0, li + 1, i, int(version[k][i])))
            out = spike_t[-1].copy()
            silent = ~fired[-1]
            out[silent] = t_end + th - (phi[-1][silent] + (t_end - t_last[-1][silent]))
            outs.append(out)
            for li in range(len(sizes)):
                layer_spikes[li] += int(cnt[li].sum())
            counts.append(np.concatenate(cnt))
        return LayeredResult(outputs=np.array(outs), spikes=int(sum(layer_spikes)), synaptic_ops=syn,
                             neuron_updates=updates, layer_spikes=layer_spikes, samples=len(s),
                             neurons=int(sum(sizes)), spike_counts=np.array(counts))


# --------------------------------------------------------------------------- time-stepped models
def _ternary(v, theta):
    return (v >= theta).astype(float) - (v <= -theta).astype(float)



def _stepped_result(sizes: list[int], steps: int, acc: np.ndarray, cnt: list[np.ndarray],
                    syn: int, spike_counts: bool) -> "LayeredResult":
    """Result of a time-stepped (LIF/VSN) run: rate-decoded outputs ``acc / steps``;
    the input layer's currents count as ``B n_0 n_1`` synaptic ops, and every
    hidden and output neuron is updated once per step."""
    B = acc.shape[0]
    layer_spikes = [int(c.sum()) for c in cnt]
    return LayeredResult(outputs=acc / steps, spikes=int(sum(layer_spikes)),
                         synaptic_ops=syn + B * sizes[0] * sizes[1],
                         neuron_updates=B * steps * int(sum(sizes[1:])), layer_spikes=layer_spikes,
                         samples=B, neurons=int(sum(sizes[1:])),
                         spike_counts=np.hstack(cnt) if spike_counts else None)

@dataclass
class LIFNetwork:
    """IF/LIF network with ternary spikes and soft reset, rate-decoded over ``steps``.

    Parameters
    ----------
    weights, biases
        Dense layers ``W_l`` ``(n_{l+1}, n_l)``, ``b_l`` ``(n_{l+1},)``; the last layer is the
        non-spiking readout.
    thresholds
        Per hidden layer threshold ``theta_l`` (a spike carries ``+-theta_l``).
    steps
        Number of time steps ``T``.
    leak
        Membrane leak factor ``lambda`` (1 = integrate-and-fire, no leak).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    thresholds: list[float]
    steps: int = 32
    leak: float = 1.0

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def simulate(self, x: np.ndarray, spike_counts: bool = False) -> LayeredResult:
        """Run ``steps`` time steps on analog inputs ``x`` ``(B, n_0)``; outputs ``(B, n_L)``."""
        x = np.atleast_2d(np.asarray(x, float))
        B, L = x.shape[0], len(self.weights)
        hidden = L - 1
        v = [np.zeros((B, w.shape[0])) for w in self.weights[:-1]]
        cnt = [np.zeros((B, w.shape[0]), np.int64) for w in self.weights[:-1]]
        i1 = x @ self.weights[0].T + self.biases[0]
        acc = np.zeros((B, self.weights[-1].shape[0]))
        syn = 0
        for _ in range(self.steps):
            inp = i1
            for k in range(hidden):
                if k > 0:
                    inp = h @ self.weights[k].T + self.biases[k]
                v[k] = self.leak * v[k] + inp
                s = _ternary(v[k], self.thresholds[k])
                v[k] = v[k] - self.thresholds[k] * s
                nz = s != 0
                cnt[k] += nz
                syn += int(nz.sum()) * self.weights[k + 1].shape[0]
                h = self.thresholds[k] * s
            acc += h @ self.weights[-1].T + self.biases[-1]
        return _stepped_result(self.sizes, self.steps, acc, cnt, syn, spike_counts)


@dataclass
class VSNNetwork:
    """Variable-spiking-neuron network (NeuroPINNs), time-stepped over ``steps``.

    Per hidden layer and step: ``z = W y_prev + b``, ``m <- beta m + z``, ``s = H(m - T_h)``,
    ``y = phi(z) s``, ``m <- m (1 - s)``; the first layer's ``z`` is the constant input current.
    The readout averages ``W_L y + b_L`` over the steps.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    beta: float = 0.5
    threshold: float = 0.05
    steps: int = 4
    activation: str = "tanh"

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def simulate(self, x: np.ndarray, spike_counts: bool = False) -> LayeredResult:
        """Run ``steps`` time steps on analog inputs ``x`` ``(B, n_0)``; outputs ``(B, n_L)``."""
        x = np.atleast_2d(np.asarray(x, float))
        act = ACTIVATIONS[self.activation]
        B, L = x.shape[0], len(self.weights)
        m = [np.zeros((B, w.shape[0])) for w in self.weights[:-1]]
        cnt = [np.zeros((B, w.shape[0]), np.int64) for w in self.weights[:-1]]
        i1 = x @ self.weights[0].T + self.biases[0]
        acc = np.zeros((B, self.weights[-1].shape[0]))
        syn = 0
        for _ in range(self.steps):
            z = i1
            for k in range(L - 1):
                if k > 0:
                    z = y @ self.weights[k].T + self.biases[k]
                m[k] = self.beta * m[k] + z
                s = (m[k] >= self.threshold).astype(float)
                y = act(z) * s
                m[k] = m[k] * (1.0 - s)
                cnt[k] += s.astype(np.int64)
                syn += int(s.sum()) * self.weights[k + 1].shape[0]
            acc += y @ self.weights[-1].T + self.biases[-1]
        return _stepped_result(self.sizes, self.steps, acc, cnt, syn, spike_counts)
