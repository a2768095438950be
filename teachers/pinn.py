"""Physics-informed neural network (PINN) teachers for the heat equation.

The PINN approximates the solution of

.. math:: u_t = \\alpha \\, \\Delta u, \\qquad x \\in \\Omega = [0, L_1] \\times \\dots \\times [0, L_d],
          \\quad t \\in [0, T_\\mathrm{train}],

with ``u(x, 0) = u_0(x)`` and ``u = 0`` on the boundary (``d = 1`` or ``2``), by a
multilayer perceptron ``N_\\theta`` trained to minimise the mean squared PDE residual

.. math:: \\mathcal{L}(\\theta) = \\frac{1}{n} \\sum_k \\big(u_t - \\alpha \\Delta u\\big)^2(x_k, t_k)
          \\; [+ \\, w_0 \\, \\overline{(u(\\cdot, 0) - u_0)^2} + w_b \\, \\overline{u_{\\partial\\Omega}^2}]

on quasi-random collocation points (the bracketed terms only with soft constraints).
By default the initial and boundary conditions are imposed exactly by the ansatz

.. math:: u(x, t) = u_0(x) + \\frac{t}{T_\\mathrm{train}} \\, B(x) \\, N_\\theta(\\hat x, \\hat t),
          \\qquad B(x) = \\prod_d \\frac{4 x_d (L_d - x_d)}{L_d^2},

with inputs rescaled to ``[-1, 1]``: ``\\hat x_d = 2 x_d / L_d - 1``, ``\\hat t = 2 t / T_train - 1``.

Layout (the reusable pieces, also used by the spiking-PINN baselines):

- :class:`HeatPDE`            the problem: dimension, ``alpha``, domain, window, initial condition.
- :func:`sample_collocation`  interior / initial / boundary points (Sobol, seeded).
- :func:`heat_residual`       ``u_t - alpha Lap u`` of any torch callable by autograd.
- :func:`pinn_loss`           the loss above for any torch callable ``u(xt)``.
- :func:`fit`                 the training loop (Adam, then L-BFGS) on any loss closure.
- :func:`mlp_flops`           inference FLOPs of an MLP (the counting convention is documented there).
- :func:`train_pinn`          all of the above for a tanh MLP, returning a :class:`PINNTeacher`.
- :class:`PINNTeacher`        the trained network as a teacher: NumPy inference (no torch needed),
                              ``save`` / ``load`` (``.npz`` + JSON metadata), FLOP count.
- :func:`retrain_shipped`     retrains the heat1d teacher shipped in ``evsim/teachers/data``
                              (``evsim retrain pinn``).
- :func:`torch_scope`         torch with a thread count / determinism set for one block only.

torch is imported inside the functions that train (through :func:`evsim.optional.require`),
so inference works without it.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from evsim.errors import ConfigError, ResultFileError
from evsim.optional import require

from .base import rmse

__all__ = [
    "HeatPDE", "INITIAL_CONDITIONS", "sample_collocation", "heat_residual", "pinn_loss", "fit",
    "mlp_flops", "make_mlp", "train_pinn", "PINNTeacher", "SHIPPED", "load_shipped",
    "retrain_shipped", "torch_scope",
]

#: Directory of the shipped teacher (``evsim/teachers/data``).
DATA_DIR = Path(__file__).resolve().parent / "data"
#: Path stem of the shipped heat1d teacher (``.npz`` weights, ``.json`` metadata).
SHIPPED = DATA_DIR / "pinn_heat1d"


# --------------------------------------------------------------------------- problem
def _sine(x, xp, lengths):
    """``prod_d sin(pi x_d / L_d)``: the heat1d / heat2d initial condition."""
    out = xp.sin(math.pi * x[:, 0] / lengths[0])
    for d in range(1, x.shape[1]):
        out = out * xp.sin(math.pi * x[:, d] / lengths[d])
    return out


def _gauss(x, xp, lengths):
    """``exp(-|x - c|^2 / (2 sigma^2))``, ``c`` the domain centre, ``sigma = 0.05``
    (heat1d-gauss); vanishes on the boundary to ~1e-22."""
    r2 = (x[:, 0] - 0.5 * lengths[0]) ** 2
    for d in range(1, x.shape[1]):
        r2 = r2 + (x[:, d] - 0.5 * lengths[d]) ** 2
    return xp.exp(-r2 / (2 * 0.05 ** 2))


#: Initial conditions usable by the PINN, written once for NumPy and torch
#: (``f(x, xp, lengths)`` with ``xp`` the array module).
INITIAL_CONDITIONS: dict[str, Callable] = {"sine": _sine, "gauss": _gauss}


@dataclass(frozen=True)
class HeatPDE:
    """The heat problem a PINN solves: ``u_t = alpha Lap u`` on ``[0, L_1] x ... x [0, L_d]``,
    ``t in [0, t_train]``, ``u(x, 0) = u_0(x)``, ``u = 0`` on the boundary.

    Parameters
    ----------
    dim
        Space dimension (1 or 2).
    alpha
        Diffusivity ``alpha > 0``.
    lengths
        Domain size per axis.
    t_train
        End of the training window ``T_train`` (0.5 in the PISNN paper).
    initial
        Key of :data:`INITIAL_CONDITIONS`.
    """

    dim: int = 1
    alpha: float = 0.1
    lengths: tuple[float, ...] = (1.0,)
    t_train: float = 0.5
    initial: str = "sine"

    def __post_init__(self):
        if self.dim not in (1, 2, 3) or len(self.lengths) != self.dim:
            raise ConfigError(f"dim must be 1-3 and match lengths, got {self.dim}, {self.lengths}")
        if not self.alpha > 0 or not self.t_train > 0:
            raise ConfigError("alpha and t_train must be positive")
        if self.initial not in INITIAL_CONDITIONS:
            raise ConfigError(f"unknown initial condition {self.initial!r}; "
                             f"known: {sorted(INITIAL_CONDITIONS)}")

    def u0(self, x, xp=np):
        """Initial condition at points ``x`` (shape ``(n, dim)``), NumPy or torch (``xp``)."""
        return INITIAL_CONDITIONS[self.initial](x, xp, self.lengths)

    def exact(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Exact solution ``prod_d sin(pi x_d/L_d) exp(-alpha pi^2 sum_d L_d^-2 t)`` (sine only).

        Returns an array of shape ``(T, N)`` for ``x`` of shape ``(N, dim)`` and ``t`` of shape ``(T,)``.
        """
        if self.initial != "sine":
            raise ConfigError("the exact solution is known for the 'sine' initial condition only")
        x = np.asarray(x, float).reshape(-1, self.dim)
        rate = self.alpha * math.pi ** 2 * sum(1.0 / L ** 2 for L in self.lengths)
        return np.exp(-rate * np.asarray(t, float))[:, None] * self.u0(x)[None, :]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lengths"] = list(self.lengths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "HeatPDE":
        d = dict(d)
        d["lengths"] = tuple(float(v) for v in d["lengths"])
        return cls(**d)


# --------------------------------------------------------------------------- torch utilities
def _torch() -> ModuleType:
    return require("torch", feature="training PINNs (evsim.teachers.pinn)")


@contextmanager
def torch_scope(threads: int | None = None,
                deterministic: bool | None = None) -> Iterator[ModuleType]:
    """torch with a thread count and deterministic algorithms set for one block only.

    Inside the ``with`` block (or the decorated function) ``torch.set_num_threads(threads)``
    and ``torch.use_deterministic_algorithms(deterministic)`` hold (``None``: unchanged);
    the previous settings are restored afterwards, also on an exception.

    Parameters
    ----------
    threads
        Intra-op threads of torch.
    deterministic
        Whether torch must use deterministic algorithms.

    Yields
    ------
    module
        The ``torch`` module.

    Raises
    ------
    MissingDependency
        If torch is not installed.
    """
    torch = _torch()
    old_threads = torch.get_num_threads()
    old_deterministic = torch.are_deterministic_algorithms_enabled()
    old_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if threads is not None:
            torch.set_num_threads(int(threads))
        if deterministic is not None:
            torch.use_deterministic_algorithms(bool(deterministic))
        yield torch
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_deterministic, warn_only=old_warn_only)


def sample_collocation(pde: HeatPDE, n_interior: int, n_initial: int = 0, n_boundary: int = 0,
                       seed: int = 0, dtype=None) -> dict[str, Any]:
    """Quasi-random (scrambled Sobol, seeded) training points of a :class:`HeatPDE`.

    Returns
    -------
    dict
        ``"interior"``: ``(n_interior, dim + 1)`` points ``(x, t)`` in ``Omega x [0, T]``;
        ``"initial"``: ``(n_initial, dim + 1)`` points at ``t = 0``;
        ``"boundary"``: ``(n_boundary, dim + 1)`` points on ``dOmega x [0, T]`` (the side is
        drawn uniformly among the ``2 dim`` sides). Torch tensors of ``dtype`` (default float64).
    """
    torch = _torch()
    dtype = dtype or torch.float64
    d = pde.dim
    scale = torch.tensor(list(pde.lengths) + [pde.t_train], dtype=dtype)
    eng = torch.quasirandom.SobolEngine(d + 1, scramble=True, seed=seed)
    out = {"interior": eng.draw(max(n_interior, 1), dtype=dtype)[:n_interior] * scale}
    eng = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed + 1)
    xi = eng.draw(max(n_initial, 1), dtype=dtype)[:n_initial] * scale[:d]
    out["initial"] = torch.cat([xi, torch.zeros(n_initial, 1, dtype=dtype)], 1)
    eng = torch.quasirandom.SobolEngine(d + 1, scramble=True, seed=seed + 2)
    xb = eng.draw(max(n_boundary, 1), dtype=dtype)[:n_boundary] * scale
    gen = torch.Generator().manual_seed(seed + 3)
    side = torch.randint(0, 2 * d, (n_boundary,), generator=gen)
    for s in range(2 * d):
        mask = side == s
        xb[mask, s // 2] = 0.0 if s % 2 == 0 else pde.lengths[s // 2]
    out["boundary"] = xb
    return out


def heat_residual(u_fn: Callable, xt, alpha: float):
    """PDE residual ``r = u_t - alpha Lap_x u`` of a torch callable by automatic differentiation.

    Parameters
    ----------
    u_fn
        Maps a ``(n, dim + 1)`` tensor of points ``(x_1, .., x_dim, t)`` to ``(n,)`` or ``(n, 1)``.
    xt
        Collocation points; a leaf copy with ``requires_grad`` is made.
    alpha
        Diffusivity.

    Returns
    -------
    torch.Tensor
        ``(n,)`` residuals, differentiable w.r.t. the parameters of ``u_fn`` (``create_graph``).
    """
    torch = _torch()
    xt = xt.detach().clone().requires_grad_(True)
    u = u_fn(xt).reshape(-1)
    (grad,) = torch.autograd.grad(u.sum(), xt, create_graph=True)
    dim = xt.shape[1] - 1
    lap = 0.0
    for d in range(dim):
        (g2,) = torch.autograd.grad(grad[:, d].sum(), xt, create_graph=True)
        lap = lap + g2[:, d]
    return grad[:, dim] - alpha * lap


def pinn_loss(u_fn: Callable, pde: HeatPDE, points: dict, w_initial: float = 1.0,
              w_boundary: float = 1.0, hard: bool = True) -> tuple[Any, dict[str, float]]:
    """Loss of a PINN ``u_fn`` on ``points`` (from :func:`sample_collocation`).

    ``L = mean(r^2)`` plus, unless ``hard``, ``w_initial mean((u(x,0) - u_0)^2)`` and
    ``w_boundary mean(u_b^2)``. Returns the loss tensor and its parts as floats.
    """
    torch = _torch()
    r = heat_residual(u_fn, points["interior"], pde.alpha)
    loss = torch.mean(r ** 2)
    parts = {"residual": float(loss.detach())}
    if not hard:
        x0 = points["initial"]
        li = torch.mean((u_fn(x0).reshape(-1) - pde.u0(x0[:, :pde.dim], torch)) ** 2)
        lb = torch.mean(u_fn(points["boundary"]).reshape(-1) ** 2)
        loss = loss + w_initial * li + w_boundary * lb
        parts.update(initial=float(li.detach()), boundary=float(lb.detach()))
    parts["total"] = float(loss.detach())
    return loss, parts


def fit(params: Sequence, loss_fn: Callable[[int], tuple[Any, dict]], adam_iters: int = 2000,
        lr: float = 2e-3, lbfgs_iters: int = 500, lr_decay: float = 0.1,
        log_every: int = 100, callback: Callable[[str, int, dict], None] | None = None,
        max_seconds: float | None = None) -> list[dict]:
    """Training loop: Adam with an exponential learning-rate decay, then full-batch L-BFGS.

    Parameters
    ----------
    params
        Parameters to optimise.
    loss_fn
        ``loss_fn(iteration) -> (loss tensor, parts dict)``; the iteration lets it resample
        collocation points during the Adam phase (L-BFGS calls it with ``-1``: keep points fixed).
    adam_iters, lr, lr_decay
        Adam steps; the learning rate decays geometrically from ``lr`` to ``lr * lr_decay``.
    lbfgs_iters
        Maximum L-BFGS iterations (strong-Wolfe line search).
    log_every
        History is recorded every ``log_every`` Adam steps and L-BFGS iterations.
    callback
        Called as ``callback(phase, iteration, parts)`` at every record.
    max_seconds
        Optional wall-clock limit for the whole loop.

    Returns
    -------
    list of dict
        History records ``{"phase", "iter", "seconds", **parts}``.
    """
    torch = _torch()
    params = list(params)
    history: list[dict] = []
    t0 = time.perf_counter()

    def record(phase, it, parts):
        rec = {"phase": phase, "iter": it, "seconds": time.perf_counter() - t0, **parts}
        history.append(rec)
        if callback is not None:
            callback(phase, it, parts)

    def out_of_time():
        return max_seconds is not None and time.perf_counter() - t0 > max_seconds

    if adam_iters > 0:
        opt = torch.optim.Adam(params, lr=lr)
        gamma = lr_decay ** (1.0 / max(adam_iters, 1))
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma)
        for it in range(adam_iters):
            opt.zero_grad()
            loss, parts = loss_fn(it)
            loss.backward()
            opt.step()
            sched.step()
            if it % log_every == 0 or it == adam_iters - 1:
                record("adam", it, parts)
            if out_of_time():
                break
    if lbfgs_iters > 0 and not out_of_time():
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=lbfgs_iters, history_size=50,
                                tolerance_grad=1e-12, tolerance_change=1e-16,
                                line_search_fn="strong_wolfe")
        state = {"n": 0, "parts": {}}

        def closure():
            opt.zero_grad()
            loss, parts = loss_fn(-1)
            loss.backward()
            state["n"] += 1
            state["parts"] = parts
            if state["n"] % log_every == 0:
                record("lbfgs", state["n"], parts)
            return loss

        opt.step(closure)
        record("lbfgs", state["n"], state["parts"])
    return history


def make_mlp(sizes: Sequence[int], activation: str = "tanh", dtype=None, seed: int = 0):
    """A torch ``nn.Sequential`` MLP with layer ``sizes`` (input, hidden..., output), Xavier-normal
    weights and zero biases, seeded."""
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(seed)
    act = {"tanh": nn.Tanh, "sin": None}[activation]
    layers: list = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b, dtype=dtype or torch.float64)
        nn.init.xavier_normal_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if k < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def mlp_flops(sizes: Sequence[int], activation_flops: int = 1) -> int:
    """Floating-point operations of one forward pass of an MLP, per input point.

    Convention: a dense layer ``a -> b`` costs ``2 a b`` FLOPs (``a`` multiplies and
    ``a - 1`` adds per output, plus the bias add); an activation costs
    ``activation_flops`` per hidden unit (1 by default, which *under*-counts ``tanh``
    and so favours the PINN in a spikes-vs-FLOPs comparison).

    .. math:: F = \\sum_{l} 2 n_{l} n_{l+1} + a \\sum_{l=1}^{L-1} n_l

    Examples
    --------
    >>> mlp_flops([2, 32, 32, 1])
    2240
    """
    sizes = list(sizes)
    dense = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return int(dense + activation_flops * sum(sizes[1:-1]))


# --------------------------------------------------------------------------- the teacher
@dataclass
class PINNTeacher:
    """A trained PINN as a teacher: ``u(x, t)`` by a NumPy forward pass.

    Parameters
    ----------
    pde
        The problem the network was trained on.
    weights, biases
        Dense-layer parameters, ``W_l`` of shape ``(n_{l+1}, n_l)`` (torch layout).
    hard
        Whether the output uses the hard-constraint ansatz (module docstring).
    activation_flops
        FLOPs charged per activation in :meth:`flops_per_point`.
    metadata
        Training record (configuration, loss history summary, errors, timings).
    """

    pde: HeatPDE
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    hard: bool = True
    activation_flops: int = 1
    metadata: dict = field(default_factory=dict)
    name: str = "pinn"

    @property
    def sizes(self) -> list[int]:
        """Layer sizes ``[dim + 1, hidden..., 1]``."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    # -- evaluation
    def network(self, xt: np.ndarray) -> np.ndarray:
        """Raw network output ``N(x_hat, t_hat)`` at points ``(n, dim + 1)``."""
        scale = np.array(list(self.pde.lengths) + [self.pde.t_train])
        h = 2.0 * np.asarray(xt, float) / scale - 1.0
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T + b
            if k < len(self.weights) - 1:
                h = np.tanh(h)
        return h[:, 0]

    def evaluate(self, xt: np.ndarray) -> np.ndarray:
        """``u`` at points ``xt`` of shape ``(n, dim + 1)``: columns ``x_1..x_dim, t``."""
        xt = np.asarray(xt, float)
        net = self.network(xt)
        if not self.hard:
            return net
        d = self.pde.dim
        x, t = xt[:, :d], xt[:, d]
        bubble = np.ones(len(xt))
        for k, L in enumerate(self.pde.lengths):
            bubble = bubble * 4.0 * x[:, k] * (L - x[:, k]) / L ** 2
        return self.pde.u0(x) + (t / self.pde.t_train) * bubble * net

    def __call__(self, points: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Teacher interface: ``u`` at ``points`` ``(N, dim)`` and ``times`` ``(T,)`` as ``(T, N)``."""
        points = np.asarray(points, float).reshape(-1, self.pde.dim)
        times = np.atleast_1d(np.asarray(times, float))
        out = np.empty((len(times), len(points)))
        for k, t in enumerate(times):
            xt = np.hstack([points, np.full((len(points), 1), t)])
            out[k] = self.evaluate(xt)
        return out

    # -- cost
    def flops_per_point(self) -> int:
        """FLOPs of one evaluation ``u(x, t)``: input scaling (2 per input), the MLP
        (:func:`mlp_flops`) and, with the hard ansatz, ``u_0`` (sine: 2 per axis + products,
        charged as ``3 dim``), the bubble ``B`` (4 per axis) and ``u_0 + (t/T) B N`` (4)."""
        d = self.pde.dim
        f = 2 * (d + 1) + mlp_flops(self.sizes, self.activation_flops)
        if self.hard:
            f += 3 * d + 4 * d + 4
        return int(f)

    def flops(self, n_points: int) -> int:
        """FLOPs to evaluate the field at ``n_points`` space-time points."""
        return int(n_points) * self.flops_per_point()

    # -- persistence
    def save(self, path: str | Path) -> Path:
        """Save to ``path.npz`` (weights + configuration) and ``path.json`` (metadata).

        Returns the ``.npz`` path. Loading needs NumPy only.
        """
        path = Path(path).with_suffix("")
        path.parent.mkdir(parents=True, exist_ok=True)
        config = {"pde": self.pde.to_dict(), "hard": self.hard,
                  "activation_flops": self.activation_flops, "sizes": self.sizes,
                  "format": "evsim-pinn-1"}
        arrays = {f"W{k}": w for k, w in enumerate(self.weights)}
        arrays.update({f"b{k}": b for k, b in enumerate(self.biases)})
        np.savez(path.with_suffix(".npz"), config=np.array(json.dumps(config)), **arrays)
        meta = dict(self.metadata)
        meta["config"] = config
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2, default=float) + "\n")
        return path.with_suffix(".npz")

    @classmethod
    def load(cls, path: str | Path) -> "PINNTeacher":
        """Load a teacher saved by :meth:`save` (``path`` with or without suffix).

        Raises
        ------
        ResultFileError
            If the files are missing or are not a saved teacher.
        """
        path = Path(path).with_suffix("")
        try:
            with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
                config = json.loads(str(z["config"]))
                n = len(config["sizes"]) - 1
                weights = [np.array(z[f"W{k}"], float) for k in range(n)]
                biases = [np.array(z[f"b{k}"], float) for k in range(n)]
            meta_path = path.with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            pde = HeatPDE.from_dict(config["pde"])
            return cls(pde, weights, biases, bool(config["hard"]), int(config["activation_flops"]),
                       meta)
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise ResultFileError(f"{path.with_suffix('.npz')} is not a readable PINN teacher: "
                                  f"{err}") from err

    # -- torch bridge
    def torch_function(self, model=None):
        """A torch callable ``u(xt)`` with the same ansatz as :meth:`evaluate`.

        ``model`` is the ``nn.Sequential`` to wrap (default: one built from the stored weights).
        """
        torch = _torch()
        if model is None:
            model = make_mlp(self.sizes)
            lin = [m for m in model if isinstance(m, torch.nn.Linear)]
            with torch.no_grad():
                for m, w, b in zip(lin, self.weights, self.biases):
                    m.weight.copy_(torch.as_tensor(w))
                    m.bias.copy_(torch.as_tensor(b))
        return _ansatz(model, self.pde, self.hard)


def _ansatz(model, pde: HeatPDE, hard: bool) -> Callable:
    torch = _torch()
    scale = torch.tensor(list(pde.lengths) + [pde.t_train], dtype=torch.float64)

    def u(xt):
        net = model(2.0 * xt / scale.to(xt.dtype) - 1.0)[:, 0]
        if not hard:
            return net
        d = pde.dim
        x, t = xt[:, :d], xt[:, d]
        bubble = torch.ones_like(t)
        for k, L in enumerate(pde.lengths):
            bubble = bubble * 4.0 * x[:, k] * (L - x[:, k]) / L ** 2
        return pde.u0(x, torch) + (t / pde.t_train) * bubble * net

    return u


def train_pinn(pde: HeatPDE = HeatPDE(), hidden: int = 32, depth: int = 3,
               n_interior: int = 2048, n_initial: int = 256, n_boundary: int = 256,
               adam_iters: int = 3000, lr: float = 2e-3, lbfgs_iters: int = 1000,
               resample_every: int = 250, hard: bool = True, seed: int = 0,
               threads: int = 1, log_every: int = 100, max_seconds: float | None = None,
               verbose: bool = False) -> PINNTeacher:
    """Train a tanh-MLP PINN on ``pde`` (float64, deterministic for a given ``seed``).

    Parameters
    ----------
    pde
        Problem and training window.
    hidden, depth
        Width and number of hidden layers.
    n_interior, n_initial, n_boundary
        Collocation points per batch (initial / boundary only used when ``hard`` is false).
    adam_iters, lr, lbfgs_iters
        See :func:`fit`.
    resample_every
        The interior points are redrawn (new Sobol seed) every ``resample_every`` Adam steps.
    hard
        Impose the initial and boundary conditions exactly by the ansatz (module docstring).
    seed
        Seeds initial weights and collocation points.
    threads
        torch threads during training (restored afterwards, see :func:`torch_scope`).
    max_seconds
        Optional wall-clock limit.

    Returns
    -------
    PINNTeacher
        With ``metadata`` recording the configuration, the loss history, wall time and,
        for the sine initial condition, the RMSE against the exact solution on a grid.
    """
    with torch_scope(threads=threads, deterministic=True) as torch:
        torch.manual_seed(seed)
        sizes = [pde.dim + 1] + [hidden] * depth + [1]
        model = make_mlp(sizes, seed=seed)
        u_fn = _ansatz(model, pde, hard)
        cache: dict[str, Any] = {}

        def loss_fn(it):
            block = 0 if it < 0 else it // resample_every
            if cache.get("block") != (block if it >= 0 else "lbfgs"):
                cache["points"] = sample_collocation(pde, n_interior, n_initial, n_boundary,
                                                     seed=1000 * seed + 7 * (block if it >= 0 else 999))
                cache["block"] = block if it >= 0 else "lbfgs"
            return pinn_loss(u_fn, pde, cache["points"], hard=hard)

        cb = (lambda ph, it, p: print(f"{ph:5s} {it:6d} loss={p['total']:.3e}", flush=True)) \
            if verbose else None
        t0 = time.perf_counter()
        history = fit(model.parameters(), loss_fn, adam_iters=adam_iters, lr=lr,
                      lbfgs_iters=lbfgs_iters, log_every=log_every, callback=cb,
                      max_seconds=max_seconds)
        wall = time.perf_counter() - t0
    lin = [m for m in model if isinstance(m, torch.nn.Linear)]
    teacher = PINNTeacher(pde, [m.weight.detach().numpy().copy() for m in lin],
                          [m.bias.detach().numpy().copy() for m in lin], hard=hard)
    meta = {"trainer": "evsim.teachers.pinn.train_pinn",
            "options": {"hidden": hidden, "depth": depth, "n_interior": n_interior,
                        "n_initial": n_initial, "n_boundary": n_boundary,
                        "adam_iters": adam_iters, "lr": lr, "lbfgs_iters": lbfgs_iters,
                        "resample_every": resample_every, "hard": hard, "seed": seed,
                        "threads": threads},
            "torch_version": torch.__version__, "wall_seconds": wall,
            "final_loss": history[-1] if history else None,
            "history": history}
    if pde.initial == "sine":
        meta["rmse_vs_exact_train_window"] = _rmse_vs_exact(teacher, 0.0, pde.t_train)
    teacher.metadata = meta
    return teacher


def _rmse_vs_exact(teacher: PINNTeacher, t0: float, t1: float, n: int = 101, nt: int = 51) -> float:
    """RMSE of a sine-IC teacher against the exact solution on a uniform grid of ``[t0, t1]``."""
    pde = teacher.pde
    axes = [np.linspace(0, L, n) for L in pde.lengths]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, pde.dim)
    t = np.linspace(t0, t1, nt)
    return rmse(teacher(pts, t), pde.exact(pts, t))


# --------------------------------------------------------------------------- shipped teacher
#: Training options of the shipped heat1d teacher (see :func:`retrain_shipped`).
SHIPPED_OPTIONS = dict(hidden=32, depth=3, n_interior=2048, adam_iters=3000, lr=2e-3,
                       lbfgs_iters=1500, resample_every=250, hard=True, seed=0)


def load_shipped() -> PINNTeacher:
    """The PINN teacher for heat1d shipped with evsim (``u_t = 0.1 u_xx`` on [0, 1],
    ``u_0 = sin(pi x)``, ``u = 0`` at both ends, trained on ``t in [0, 0.5]``)."""
    path = SHIPPED.with_suffix(".npz")
    if not path.exists():
        raise ResultFileError(f"{path} is missing; run `evsim retrain pinn`")
    return PINNTeacher.load(path)


def retrain_shipped(out: str | Path | None = None, verbose: bool = True, **options) -> PINNTeacher:
    """Retrain the shipped heat1d teacher and save it (default: over the shipped files).

    Parameters
    ----------
    out
        Path stem to save to (``.npz`` and ``.json``); default :data:`SHIPPED`.
    options
        Overrides of :data:`SHIPPED_OPTIONS` (passed to :func:`train_pinn`).
    """
    pde = HeatPDE(dim=1, alpha=0.1, lengths=(1.0,), t_train=0.5, initial="sine")
    teacher = train_pinn(pde, verbose=verbose, **{**SHIPPED_OPTIONS, **options})
    teacher.metadata["rmse_vs_exact_extrapolation_0.5_2.0"] = _rmse_vs_exact(teacher, 0.5, 2.0)
    teacher.metadata["problem"] = "heat1d"
    teacher.save(out or SHIPPED)
    if verbose:
        print(f"saved {Path(out or SHIPPED).with_suffix('.npz')}: "
              f"RMSE vs exact on [0, 0.5] = {teacher.metadata['rmse_vs_exact_train_window']:.3e}, "
              f"wall {teacher.metadata['wall_seconds']:.0f} s")
    return teacher
