"""Spiking-PINN baselines (LIF, QIF, VSN) against the PISNN, with exact event counts.

Two benchmarks.

**Regression** ``y = x^2`` on ``[-1, 1]`` (Wan, Karniadakis & Stinis, arXiv 2511.06614):
100 training points (uniform grid), relative L2 error on 1,000 test points. QIF
``1-64-64-64-2`` (plus the reference input neuron) trained with exact spike-time gradients;
LIF ``1-64-64-64-64-1`` at ``T = 32 / 64 / 128`` steps trained directly (Gaussian surrogate),
and by ANN-to-SNN conversion (plain and calibrated thresholds). Published relative L2 (%):
QIF 0.609; LIF 3.118 / 1.803 / 1.451; conversion 22.17 / 20.95 / 22.74, calibrated
7.68 / 4.98 / 4.58 (the CSVs of the authors' repository, github.com/ruyinw/From-LIF-to-QIF).

**heat1d spiking PINNs**: ``u_t = 0.1 u_xx`` on ``[0, 1]``, ``u_0 = sin(pi x)``, ``u = 0`` at
both ends, trained on ``t in [0, 0.5]`` with the same hard-constraint ansatz as the PINN teacher
(:mod:`evsim.teachers.pinn`)

.. math:: u(x, t) = \\sin(\\pi x) + \\frac{t}{T_\\mathrm{train}} \\, 4x(1 - x) \\, N(x, t),

where ``N`` is the spiking network (LIF direct, LIF converted from a ``hardtanh`` ANN, QIF,
VSN), of the teacher's width (3 hidden layers of 32). Spiking outputs are not twice
differentiable, so the PDE residual ``u_t - alpha u_xx`` is computed by stochastic
projection (:func:`evsim.baselines.training.stochastic_projection`; NeuroPINNs) for every
baseline. Training budget: the PINN teacher's wall-clock time (Adam, single thread; the
teacher used 3,000 Adam + L-BFGS steps in ~100 s), with at most 3,000 Adam steps.

The trained networks are evaluated *by the event simulator* :mod:`evsim.baselines.layered` (NumPy, no
torch), which also counts spikes, synaptic operations and neuron updates exactly; energies
use :mod:`evsim.analysis.energy`. ``evsim experiment baselines`` writes the comparison table
(PINN, LIF-PINN direct / converted, QIF-PINN, VSN-PINN, PISNN) and figures.

Models are shipped in ``evsim/baselines/data`` (``.npz`` + ``.json``); retrain with
``evsim retrain baselines [--only NAME ...] [--out DIR]`` (:func:`retrain`).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evsim.errors import ConfigError, ResultFileError
from evsim.teachers.base import rmse
from evsim.teachers.pinn import HeatPDE, torch_scope

from .layered import LayeredResult, LIFNetwork, QIFNetwork, VSNNetwork
from .training import _torch

__all__ = ["DATA_DIR", "PUBLISHED_X2", "HEAT_MODELS", "X2_MODELS", "SpikingModel", "save_model",
           "load_model", "to_torch", "train_x2", "train_heat", "retrain", "x2_table", "heat_grid",
           "MODEL_NAMES"]

#: Directory of the shipped baseline models.
DATA_DIR = Path(__file__).resolve().parent / "data"

#: Published relative L2 errors (%) of the x^2 regression (Wan, Karniadakis & Stinis, arXiv 2511.06614; authors' CSVs).
PUBLISHED_X2 = {"qif": 0.609, "lif32": 3.118, "lif64": 1.803, "lif128": 1.451,
                "conv32": 22.17, "conv64": 20.95, "conv128": 22.74,
                "cal32": 7.68, "cal64": 4.98, "cal128": 4.58}

#: heat1d baseline names -> kind.
HEAT_MODELS = {"heat_lif": "lif", "heat_lifconv": "lif-conv", "heat_qif": "qif", "heat_vsn": "vsn"}
#: x^2 model names (shipped).
X2_MODELS = ("x2_qif", "x2_lif32", "x2_lif64", "x2_lif128", "x2_ann")

HEAT_PDE = HeatPDE(dim=1, alpha=0.1, lengths=(1.0,), t_train=0.5, initial="sine")


# --------------------------------------------------------------------------- the NumPy model
@dataclass
class SpikingModel:
    """A trained layered network, evaluated with :mod:`evsim.baselines.layered` (NumPy only).

    Attributes
    ----------
    name, kind
        Model name and kind (``"lif"``, ``"vsn"``, ``"qif"``, ``"ann"``).
    network
        :class:`~evsim.baselines.layered.LIFNetwork`, :class:`~evsim.baselines.layered.VSNNetwork`,
        :class:`~evsim.baselines.layered.QIFNetwork`, or for ``"ann"`` a ``(weights, biases)`` pair.
    config
        Constructor configuration (encoding for QIF: ``T``, ``lo``, ``hi``, ``reference``).
    task
        ``"x2"`` or ``"heat1d"`` (the latter wraps the network in the hard-constraint ansatz).
    metadata
        Training record (options, wall seconds, loss history, errors).
    """

    name: str
    kind: str
    network: Any
    config: dict
    task: str
    metadata: dict = field(default_factory=dict)

    # -- raw network
    def _inputs(self, z: np.ndarray) -> np.ndarray:
        """Network inputs from task coordinates ``z`` ``(n, d)``."""
        z = np.atleast_2d(np.asarray(z, float))
        if self.task == "heat1d" and self.kind != "qif":  # like the PINN: rescale to [-1, 1]
            return 2.0 * z / np.array([HEAT_PDE.lengths[0], HEAT_PDE.t_train]) - 1.0
        if self.kind == "qif":
            lo, hi = np.array(self.config["lo"]), np.array(self.config["hi"])
            xh = np.clip((z - lo) / (hi - lo), 0.0, 1.0)
            s = (1.0 - xh) * self.config["T"]
            if self.config.get("reference", True):
                s = np.hstack([s, np.zeros((len(s), 1))])
            return s
        return z

    def network_output(self, z: np.ndarray, events: bool = False) -> tuple[np.ndarray, LayeredResult | None]:
        """Scalar network output ``N`` at ``z`` ``(n, d)`` and the event counts (simulator).

        ``events=True`` runs QIF networks through the heap-based event loop
        (:meth:`~evsim.baselines.layered.QIFNetwork.simulate_events`, slow) instead of the vectorised one.
        """
        inp = self._inputs(z)
        if self.kind == "ann":
            w, b = self.network
            h = inp
            for k in range(len(w)):
                h = h @ w[k].T + b[k]
                if k < len(w) - 1:
                    h = np.clip(h, -1.0, 1.0)
            return h[:, 0], None
        if self.kind == "qif":
            res = self.network.simulate_events(inp) if events else self.network.simulate(inp)
            return res.outputs[:, 0] - res.outputs[:, 1], res
        res = self.network.simulate(inp)
        return res.outputs[:, 0], res

    # -- task-level evaluation
    def evaluate(self, z: np.ndarray) -> tuple[np.ndarray, LayeredResult | None]:
        """Model prediction at ``z`` (x^2: ``y(x)``; heat1d: ``u(x, t)`` from columns ``x, t``)."""
        n, res = self.network_output(z)
        if self.task != "heat1d":
            return n, res
        z = np.atleast_2d(np.asarray(z, float))
        x, t = z[:, 0], z[:, 1]
        return np.sin(np.pi * x) + (t / HEAT_PDE.t_train) * 4.0 * x * (1.0 - x) * n, res

    def __call__(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Teacher interface (heat1d): ``u`` at ``points`` ``(N, 1)`` and ``times`` as ``(T, N)``."""
        points = np.asarray(points, float).reshape(-1, 1)
        times = np.atleast_1d(np.asarray(times, float))
        z = np.column_stack([np.tile(points[:, 0], len(times)), np.repeat(times, len(points))])
        return self.evaluate(z)[0].reshape(len(times), len(points))


def _arrays_of(kind: str, net) -> tuple[dict[str, np.ndarray], dict]:
    """Arrays and configuration of a layered network for saving."""
    if kind == "ann":
        w, b = net
        arrays = {f"W{k}": v for k, v in enumerate(w)}
        arrays.update({f"b{k}": v for k, v in enumerate(b)})
        return arrays, {"layers": len(w)}
    arrays = {f"W{k}": v for k, v in enumerate(net.weights)}
    if kind == "qif":
        return arrays, {"layers": len(net.weights), "tau": net.tau, "I0": net.I0, "phi0": net.phi0,
                        "t_end": net.t_end, "eps": net.eps}
    arrays.update({f"b{k}": v for k, v in enumerate(net.biases)})
    if kind == "lif":
        return arrays, {"layers": len(net.weights), "thresholds": list(net.thresholds),
                        "steps": net.steps, "leak": net.leak}
    return arrays, {"layers": len(net.weights), "beta": net.beta, "threshold": net.threshold,
                    "steps": net.steps, "activation": net.activation}


def save_model(model: SpikingModel, path: str | Path) -> Path:
    """Save to ``path.npz`` (weights, configuration) and ``path.json`` (metadata); NumPy only."""
    path = Path(path).with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays, net_cfg = _arrays_of(model.kind, model.network)
    cfg = {"format": "evsim-layered-1", "name": model.name, "kind": model.kind, "task": model.task,
           "config": model.config, "network": net_cfg}
    np.savez(path.with_suffix(".npz"), config=np.array(json.dumps(cfg)), **arrays)
    meta = dict(model.metadata)
    meta["config"] = cfg
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, default=float) + "\n")
    return path.with_suffix(".npz")


def load_model(path: str | Path) -> SpikingModel:
    """Load a model saved by :func:`save_model` (a name in :data:`DATA_DIR` or a path).

    Raises
    ------
    ResultFileError
        If the model file is missing or is not a saved model.
    """
    path = Path(path)
    if not path.with_suffix(".npz").exists() and (DATA_DIR / path.name).with_suffix(".npz").exists():
        path = DATA_DIR / path.name
    path = path.with_suffix("")
    if not path.with_suffix(".npz").exists():
        raise ResultFileError(f"{path}.npz is missing; run `evsim retrain baselines`")
    try:
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
            cfg = json.loads(str(z["config"]))
            nc = cfg["network"]
            n = nc["layers"]
            w = [np.array(z[f"W{k}"], float) for k in range(n)]
            b = [np.array(z[f"b{k}"], float) for k in range(n)] if cfg["kind"] != "qif" else None
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ResultFileError(f"{path}.npz is not a readable baseline model: {err}") from err
    kind = cfg["kind"]
    if kind == "ann":
        net: Any = (w, b)
    elif kind == "qif":
        net = QIFNetwork(w, nc["tau"], nc["I0"], nc["phi0"], nc["t_end"], nc["eps"])
    elif kind == "lif":
        net = LIFNetwork(w, b, nc["thresholds"], nc["steps"], nc["leak"])
    else:
        net = VSNNetwork(w, b, nc["beta"], nc["threshold"], nc["steps"], nc["activation"])
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.pop("config", None)
    return SpikingModel(cfg["name"], kind, net, cfg["config"], cfg["task"], meta)


def _from_torch(name: str, module, task: str, metadata: dict) -> SpikingModel:
    """Export a trained torch module (spiking or ANN) to a :class:`SpikingModel`."""
    cfg = module.config() if hasattr(module, "config") else {"kind": "ann", "sizes": module.sizes}
    kind = cfg["kind"]
    if kind == "ann":
        net: Any = ([l.weight.detach().numpy().copy() for l in module.layers],
                    [l.bias.detach().numpy().copy() for l in module.layers])
    else:
        net = module.to_layered()
    return SpikingModel(name, kind, net, cfg, task, metadata)


def to_torch(model: SpikingModel):
    """Rebuild the torch module of a stored model (the training forward pass) with its weights.

    Used to check that the event simulator reproduces the training forward pass.
    """
    torch = _torch()
    from .training import LIFNet, QIFNet, VSNNet, make_ann
    c = model.config
    if model.kind == "qif":
        mod = QIFNet(c["sizes"], T=c["T"], t_end=c["t_end"], tau=c["tau"], I0=c["I0"], phi0=c["phi0"],
                     reference=c["reference"], lo=c["lo"], hi=c["hi"], eps=c["eps"])
        ws = model.network.weights
        bs = None
    elif model.kind == "lif":
        mod = LIFNet(c["sizes"], steps=model.network.steps, thresholds=model.network.thresholds,
                     leak=model.network.leak, sigma=c.get("sigma", 0.5))
        ws, bs = model.network.weights, model.network.biases
    elif model.kind == "vsn":
        mod = VSNNet(c["sizes"], steps=c["steps"], beta=c["beta"], threshold=c["threshold"], k=c["k"],
                     activation=c["activation"])
        ws, bs = model.network.weights, model.network.biases
    else:
        mod = make_ann(c["sizes"])
        ws, bs = model.network
    with torch.no_grad():
        if bs is None:
            for p, w in zip(mod.weights, ws):
                p.copy_(torch.as_tensor(w))
        else:
            for lin, w, b in zip(mod.layers, ws, bs):
                lin.weight.copy_(torch.as_tensor(w))
                lin.bias.copy_(torch.as_tensor(b))
    return mod


# --------------------------------------------------------------------------- x^2 benchmark
def x2_data(n_train: int = 100, n_test: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Training and test inputs of the x^2 benchmark (uniform grids on ``[-1, 1]``)."""
    return np.linspace(-1.0, 1.0, n_train), np.linspace(-1.0, 1.0, n_test)


def _x2_module(kind: str, steps: int, sizes: Sequence[int] | None, seed: int, gain: float = 1.0,
               bias_range: float = 0.0):
    from .training import LIFNet, QIFNet, make_ann
    if kind == "qif":
        return QIFNet(list(sizes or [1, 64, 64, 64, 2]), lo=[-1.0], hi=[1.0], seed=seed)
    if kind == "lif":
        return LIFNet(list(sizes or [1, 64, 64, 64, 64, 1]), steps=steps, seed=seed, gain=gain,
                      bias_range=bias_range)
    if kind == "ann":
        return make_ann(list(sizes or [1, 64, 64, 64, 64, 1]), seed=seed, gain=gain, bias_range=bias_range)
    raise ConfigError(f"unknown x2 model kind {kind!r}")


@torch_scope(threads=1)
def train_x2(kind: str, steps: int = 32, iters: int = 2000, lr: float | None = None,
             sizes: Sequence[int] | None = None, seed: int = 0, n_train: int = 100,
             gain: float = 1.0, bias_range: float = 0.0,
             max_seconds: float | None = None, verbose: bool = False) -> SpikingModel:
    """Train one x^2 regression model (``kind`` ``"qif"``, ``"lif"`` or ``"ann"``).

    Full-batch Adam on the 100 training points, learning rate decaying geometrically by 10x
    (:func:`evsim.baselines.training.train_supervised`); default rates 3e-3 (QIF) and 1e-3.
    Returns the model with metadata: options, wall seconds, final MSE, test relative L2
    (evaluated with the event simulator). ``gain``, ``bias_range``: initialisation of LIF / ANN
    layers (:func:`evsim.baselines.training.make_ann`); the shipped ones use 3 and 1 (a ``hardtanh``
    network started in its linear regime stays at the best linear fit of the even target).
    Trains on one torch thread (restored afterwards, :func:`evsim.teachers.pinn.torch_scope`).
    """
    torch = _torch()
    from .training import train_supervised
    torch.manual_seed(seed)
    lr = lr if lr is not None else (3e-3 if kind == "qif" else 1e-3)
    xtr, xte = x2_data(n_train)
    x = torch.as_tensor(xtr[:, None])
    mod = _x2_module(kind, steps, sizes, seed, gain, bias_range)
    t0 = time.perf_counter()
    hist = train_supervised(mod, x, x[:, 0] ** 2, iters=iters, lr=lr, seed=seed,
                            log_every=max(iters // 20, 1), max_seconds=max_seconds, verbose=verbose)
    wall = time.perf_counter() - t0
    name = {"qif": "x2_qif", "ann": "x2_ann"}.get(kind, f"x2_lif{steps}")
    meta = {"trainer": "evsim.baselines.models.train_x2",
            "options": {"kind": kind, "steps": steps, "iters": iters, "lr": lr, "seed": seed,
                        "gain": gain, "bias_range": bias_range,
                        "n_train": n_train, "sizes": list(mod.sizes)},
            "torch_version": torch.__version__, "wall_seconds": wall, "history": hist}
    model = _from_torch(name, mod, "x2", meta)
    pred, _ = model.evaluate(xte[:, None])
    from .training import relative_l2
    model.metadata["relative_l2_test"] = relative_l2(pred, xte ** 2)
    return model


def x2_table(models: dict[str, SpikingModel] | None = None, n_test: int = 1000,
             steps: Sequence[int] = (32, 64, 128)) -> list[dict]:
    """The x^2 comparison: relative L2 (%) of every shipped model vs the published value,
    with spikes, synaptic ops and neuron updates per sample (event simulator), including the
    ANN converted at ``steps`` without and with threshold calibration."""
    from .training import relative_l2
    models = models or {n: load_model(n) for n in X2_MODELS if (DATA_DIR / f"{n}.npz").exists()}
    _, xte = x2_data(n_test=n_test)
    y = xte ** 2
    rows = []

    def row(label, key, m):
        pred, res = m.evaluate(xte[:, None])
        ps = res.per_sample() if res is not None else {}
        rows.append({"model": label, "relative_l2_percent": 100 * relative_l2(pred, y),
                     "published_percent": PUBLISHED_X2.get(key, math.nan),
                     "spikes_per_sample": ps.get("spikes", math.nan),
                     "synaptic_ops_per_sample": ps.get("synaptic_ops", math.nan),
                     "neuron_updates_per_sample": ps.get("neuron_updates", math.nan),
                     "train_seconds": m.metadata.get("wall_seconds", math.nan)})

    if "x2_qif" in models:
        row("QIF 1-64-64-64-2 (exact spike-time gradients)", "qif", models["x2_qif"])
    for T in steps:
        if f"x2_lif{T}" in models:
            row(f"LIF 1-64x4-1, T={T}, direct (surrogate)", f"lif{T}", models[f"x2_lif{T}"])
    if "x2_ann" in models:
        ann = models["x2_ann"]
        row("ANN 1-64x4-1 hardtanh (conversion source)", "ann", ann)
        xtr, _ = x2_data()
        for T in steps:
            for cal in (False, True):
                conv = convert_model(ann, T, xtr[:, None], calibrate=cal)
                row(f"LIF T={T}, ANN-to-SNN {'calibrated' if cal else 'converted'}",
                    f"{'cal' if cal else 'conv'}{T}", conv)
    return rows


def convert_model(ann: SpikingModel, steps: int, x_calib: np.ndarray, calibrate: bool = True,
                  candidates: Sequence[float] | None = None, sweeps: int = 2) -> SpikingModel:
    """ANN-to-SNN conversion of a stored ``hardtanh`` ANN (NumPy; same rule as
    :func:`evsim.baselines.training.convert_ann`): thresholds 1, or calibrated by greedy
    coordinate search over the layers to minimise the MSE between the SNN output and the ANN
    output on ``x_calib`` (task coordinates); never worse than uncalibrated on ``x_calib``."""
    w, b = ann.network
    nh = len(w) - 1
    inp = ann._inputs(x_calib)
    th = [1.0] * nh
    if calibrate:
        target, _ = ann.network_output(x_calib)
        cands = list(np.linspace(0.3, 1.2, 19)) if candidates is None else list(candidates)

        def err(ths):
            out = LIFNetwork(list(w), list(b), ths, steps).simulate(inp).outputs[:, 0]
            return float(np.mean((out - target) ** 2))

        best = err(th)
        for _ in range(sweeps):
            for l in range(nh):
                for c in cands:
                    trial = th[:l] + [float(c)] + th[l + 1:]
                    e = err(trial)
                    if e < best:
                        th, best = trial, e
    net = LIFNetwork(list(w), list(b), th, steps)
    cfg = {"kind": "lif", "sizes": [w[0].shape[1]] + [v.shape[0] for v in w], "steps": steps,
           "thresholds": th, "converted_from": ann.name, "calibrated": calibrate}
    return SpikingModel(f"{ann.name}_conv{steps}{'cal' if calibrate else ''}", "lif", net, cfg,
                        ann.task, {"wall_seconds": ann.metadata.get("wall_seconds", math.nan)})


# --------------------------------------------------------------------------- heat1d spiking PINNs
def _heat_module(kind: str, hidden: int, depth: int, steps: int, seed: int):
    from .training import LIFNet, QIFNet, VSNNet, make_ann
    if kind == "qif":
        return QIFNet([2] + [hidden] * depth + [2], lo=[0.0, 0.0],
                      hi=[HEAT_PDE.lengths[0], HEAT_PDE.t_train], seed=seed)
    sizes = [2] + [hidden] * depth + [1]
    if kind == "lif":
        return LIFNet(sizes, steps=steps, seed=seed)
    if kind == "vsn":
        return VSNNet(sizes, steps=steps, seed=seed)
    if kind in ("ann", "lif-conv"):
        return make_ann(sizes, seed=seed)
    raise ConfigError(f"unknown heat baseline kind {kind!r}")


def _heat_u(module, kind: str):
    """The torch ansatz ``u(xt) = sin(pi x) + (t/T) 4 x (1 - x) N(x, t)``."""
    torch = _torch()
    scale = torch.tensor([HEAT_PDE.lengths[0], HEAT_PDE.t_train], dtype=torch.float64)

    def u(xt):
        x, t = xt[:, 0], xt[:, 1]
        n = module(xt) if kind == "qif" else module(2.0 * xt / scale - 1.0)[:, 0]
        return torch.sin(math.pi * x) + (t / HEAT_PDE.t_train) * 4.0 * x * (1.0 - x) * n

    return u


@torch_scope(threads=1)
def train_heat(kind: str, hidden: int = 32, depth: int = 3, steps: int | None = None,
               n_interior: int = 128, neighbours: int = 6, radius: Sequence[float] | None = None,
               adam_iters: int = 3000, lr: float | None = None, resample_every: int = 50,
               max_seconds: float | None = None, seed: int = 0, verbose: bool = False) -> SpikingModel:
    """Train a heat1d spiking PINN of ``kind`` (``"lif"``, ``"lif-conv"``, ``"qif"``, ``"vsn"``).

    Loss: mean squared residual ``(u_t - alpha u_xx)^2`` on ``n_interior`` Sobol points of
    ``[0, 1] x [0, 0.5]`` (redrawn every ``resample_every`` steps), derivatives by stochastic
    projection with ``neighbours`` random points in a box of half-widths ``radius`` (default
    0.1 for direct LIF, 0.05 otherwise).
    ``"lif-conv"`` trains the ``hardtanh`` ANN with the same loss and converts it with
    calibrated thresholds at ``steps`` (default 64). ``max_seconds`` defaults to the shipped PINN
    teacher's training wall time (the common budget). Trains on one torch thread (restored
    afterwards, :func:`evsim.teachers.pinn.torch_scope`).
    """
    torch = _torch()
    from evsim.teachers.pinn import SHIPPED, fit, sample_collocation
    from .training import stochastic_projection
    torch.manual_seed(seed)
    steps = steps or {"lif": 32, "lif-conv": 64, "vsn": 4, "qif": 0}[kind]
    if max_seconds is None:
        meta = json.loads(SHIPPED.with_suffix(".json").read_text()) if SHIPPED.with_suffix(".json").exists() else {}
        max_seconds = float(meta.get("wall_seconds", 120.0))
    lr = lr if lr is not None else {"qif": 3e-3}.get(kind, 5e-3)
    # rate-coded LIF outputs are quantized in steps of ~1/T: a wider projection box keeps the
    # second-derivative estimate from amplifying that noise (error ~ 1/(T r^2))
    radius = tuple(radius) if radius is not None else ((0.1, 0.1) if kind == "lif" else (0.05, 0.05))
    mod = _heat_module(kind, hidden, depth, steps, seed)
    u_fn = _heat_u(mod, kind)
    gen = torch.Generator().manual_seed(seed + 17)
    cache: dict[str, Any] = {}
    alpha = HEAT_PDE.alpha

    def loss_fn(it):
        block = max(it, 0) // resample_every
        if cache.get("block") != block:
            cache["pts"] = sample_collocation(HEAT_PDE, n_interior, seed=1000 * seed + 7 * block)["interior"]
            cache["block"] = block
        d = stochastic_projection(u_fn, cache["pts"], radius, neighbours, generator=gen)
        r = d["grad"][:, 1] - alpha * d["hess_diag"][:, 0]
        loss = torch.mean(r ** 2)
        return loss, {"residual": float(loss.detach()), "total": float(loss.detach())}

    cb = (lambda ph, it, p: print(f"{kind} {it:5d} loss={p['total']:.3e}", flush=True)) if verbose else None
    t0 = time.perf_counter()
    hist = fit(list(mod.parameters()), loss_fn, adam_iters=adam_iters, lr=lr, lbfgs_iters=0,
               log_every=max(adam_iters // 30, 1), callback=cb, max_seconds=max_seconds)
    wall = time.perf_counter() - t0
    options = {"kind": kind, "hidden": hidden, "depth": depth, "steps": steps,
               "n_interior": n_interior, "neighbours": neighbours, "radius": list(radius),
               "adam_iters": adam_iters, "adam_iters_done": int(hist[-1]["iter"]) + 1 if hist else 0,
               "lr": lr, "resample_every": resample_every, "max_seconds": max_seconds, "seed": seed}
    meta = {"trainer": "evsim.baselines.models.train_heat", "options": options,
            "torch_version": torch.__version__, "wall_seconds": wall, "history": hist,
            "residual_derivatives": "stochastic projection (local least-squares quadratic)"}
    name = {"lif": "heat_lif", "lif-conv": "heat_lifconv", "qif": "heat_qif", "vsn": "heat_vsn"}[kind]
    if kind == "lif-conv":
        ann = _from_torch("heat_ann", mod, "heat1d", meta)
        pts = sample_collocation(HEAT_PDE, 512, seed=4242)["interior"].numpy()
        model = convert_model(ann, steps, pts, calibrate=True)
        model.name, model.metadata = name, dict(meta)
        model.metadata["ann_relative_l2_window"] = _heat_errors(ann)["relative_l2_window"]
    else:
        model = _from_torch(name, mod, "heat1d", meta)
    model.metadata.update(_heat_errors(model))
    return model


def heat_grid(n_x: int = 100, n_t: int = 41, t_end: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation grid: the 100 cell centres of heat1d and ``n_t`` uniform times on ``[0, t_end]``."""
    return (np.arange(n_x) + 0.5) / n_x, np.linspace(0.0, t_end, n_t)


def _heat_errors(model, n_x: int = 100, n_t: int = 41) -> dict[str, float]:
    x, t = heat_grid(n_x, n_t)
    u = model(x[:, None], t)
    ex = HEAT_PDE.exact(x[:, None], t)
    w = t <= HEAT_PDE.t_train + 1e-12
    return {"relative_l2_window": float(np.linalg.norm(u[w] - ex[w]) / np.linalg.norm(ex[w])),
            "rmse_window": rmse(u[w], ex[w]),
            "rmse_extrapolation": rmse(u[~w], ex[~w]),
            "relative_l2_extrapolation": float(np.linalg.norm(u[~w] - ex[~w]) / np.linalg.norm(ex[~w]))}


# --------------------------------------------------------------------------- retraining
#: Options of the shipped models (see :func:`retrain`).
_INIT = dict(gain=2.0, bias_range=1.0)
SHIPPED_X2 = {"x2_qif": dict(kind="qif", iters=2000),
              "x2_lif32": dict(kind="lif", steps=32, iters=4000, **_INIT),
              "x2_lif64": dict(kind="lif", steps=64, iters=1500, **_INIT),
              "x2_lif128": dict(kind="lif", steps=128, iters=1000, **_INIT),
              "x2_ann": dict(kind="ann", iters=3000, **_INIT)}
SHIPPED_HEAT = {"heat_lif": dict(kind="lif"), "heat_lifconv": dict(kind="lif-conv"),
                "heat_qif": dict(kind="qif"), "heat_vsn": dict(kind="vsn")}
#: Names of the shipped models, in retraining order.
MODEL_NAMES = tuple(SHIPPED_X2) + tuple(SHIPPED_HEAT)


def retrain(only: Sequence[str] | None = None, out: str | Path | None = None, verbose: bool = True,
            **overrides) -> dict[str, SpikingModel]:
    """Retrain the shipped models and save them (``evsim retrain baselines``).

    Parameters
    ----------
    only
        Model names (default all of :data:`MODEL_NAMES`).
    out
        Output directory (default :data:`DATA_DIR`, over the shipped models).
    verbose
        Print one line per saved model.
    overrides
        Passed to the trainers (:func:`train_x2`, :func:`train_heat`).

    Returns
    -------
    dict
        ``{name: SpikingModel}``.

    Raises
    ------
    ConfigError
        For an unknown model name (before anything is trained).
    """
    out = Path(out) if out else DATA_DIR
    names = list(only) if only else list(MODEL_NAMES)
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; known: {list(MODEL_NAMES)}")
    models = {}
    for name in names:
        t0 = time.perf_counter()
        if name in SHIPPED_X2:
            m = train_x2(verbose=verbose, **{**SHIPPED_X2[name], **overrides})
            msg = f"relative L2 = {100 * m.metadata['relative_l2_test']:.3f} %"
        else:
            m = train_heat(verbose=verbose, **{**SHIPPED_HEAT[name], **overrides})
            msg = f"relative L2 on [0, 0.5] = {100 * m.metadata['relative_l2_window']:.3f} %"
        m.name = name
        save_model(m, out / name)
        models[name] = m
        if verbose:
            print(f"saved {out / name}.npz: {msg}, {time.perf_counter() - t0:.0f} s", flush=True)
    return models
