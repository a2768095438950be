"""Conventional solvers of the same heat problems, each with its operation count: the
peers evsim is compared with at matched accuracy (:mod:`evsim.experiments.accuracy`).

On the finite-volume graph of a case, ``V du/dt = -K u + b``
(:func:`evsim.teachers.base.cell_operator`, ``N`` cells, ``nnz(K)`` non-zeros):

- **FTCS** (explicit Euler, :mod:`evsim.teachers.ftcs`), step ``cfl * min_i V_i / K_ii``,
  costed exactly by :func:`evsim.analysis.costs.ftcs_cost` (adds and mults).
- **Crank-Nicolson** with ``scipy.sparse``: ``(V/dt + K/2) u^{n+1} = (V/dt - K/2) u^n + b``,
  the left matrix factorized once per distinct step (SuperLU, ``splu``). FLOPs: the
  factorization ``sum_k (2 l_k u_k + l_k)`` (``l_k`` entries below the diagonal in column
  ``k`` of ``L``, ``u_k`` right of it in row ``k`` of ``U``) plus per step
  ``2 nnz(B) + N`` (right-hand side) and ``2 (nnz(L) + nnz(U))`` (the two triangular solves).
- **RK45** (Dormand-Prince, adaptive, ``scipy.integrate.solve_ivp``), FLOPs
  ``nfev (2 nnz(K) + 2 N + 12 N)``: each right-hand side ``(-K u + b) / V`` and, on
  average, six axpy of the stage combination per evaluation (an estimate).

And py-pde (extra ``bench``) on its own Cartesian grid for the grid problems (the same
cell-centred finite-volume discretization: its cell centres are evsim's, a Dirichlet wall
is a ghost cell, so the spatial error is the same), with its RK45 (``ScipySolver``,
adaptive) and explicit Euler (fixed ``dt``), FLOPs ``nfev (2 d + 2 + 12) N`` and
``steps (2 d + 4) N`` (a ``2 d + 1`` point stencil, ``d`` dimensions; estimates). py-pde
compiles its stepper with numba on every call (~2.5 s here); its wall time is taken from
py-pde's own profiler (solver + tracker), without the compilation (reported apart).

Each solver returns a :class:`PeerRun`: the field at the case's record times in cell
order, the FLOPs and the wall time. Energies charge FLOPs on the 45 nm CMOS profile
(:data:`evsim.analysis.energy.CMOS45`; estimates count FLOPs only, split half adds, half
mults; FTCS has its exact split).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from evsim.analysis.costs import ftcs_cost
from evsim.analysis.energy import CMOS45
from evsim.errors import ConfigError
from evsim.optional import require
from evsim.teachers.base import cell_operator

__all__ = ["PeerRun", "ftcs_run", "crank_nicolson_run", "rk45_run", "pypde_run", "pypde_grid"]

#: FLOPs of the RK45 stage combination per right-hand-side evaluation, per cell (estimate).
RK45_COMBINE_FLOPS = 12


@dataclass
class PeerRun:
    """One run of a conventional solver.

    ``field`` is ``(T, N)`` at the case's record times in cell order; ``flops`` the
    operation count of the module docstring; ``energy`` the FLOPs on 45 nm CMOS (J).
    """

    field: np.ndarray
    flops: int
    wall_seconds: float
    steps: int
    energy: float
    details: dict = field(default_factory=dict)


def _flop_energy(flops: float) -> float:
    return CMOS45.flop_energy(adds=flops / 2, mults=flops / 2)


def ftcs_run(case: Any, cfl: float) -> PeerRun:
    """FTCS on the case's graph at ``cfl`` (``0 < cfl <= 1``)."""
    t0 = time.perf_counter()
    c = ftcs_cost(case.graph, case.u0, case.times, cfl=cfl)
    wall = time.perf_counter() - t0
    return PeerRun(c["field"], c["flops"], wall, c["steps"], c["energy"], {"dt": c["dt"]})


def _lu_flops(lu: Any) -> int:
    """FLOPs of the sparse LU factorization (module docstring)."""
    L, U = lu.L.tocsc(), lu.U.tocsr()
    below = np.diff(L.indptr) - 1          # unit diagonal stored in L
    right = np.diff(U.indptr) - 1
    return int(np.sum(2 * below * right + below))


def crank_nicolson_run(case: Any, dt: float) -> PeerRun:
    """Crank-Nicolson on the case's graph with steps of at most ``dt``.

    Each record interval ``D`` is cut into ``ceil(D / dt)`` equal steps; one LU
    factorization per distinct step length.
    """
    if not (math.isfinite(dt) and dt > 0):
        raise ConfigError(f"dt must be positive and finite, got {dt}")
    op = cell_operator(case.graph)
    V = sp.diags(op.volume)
    drive = op.b + op.source
    t0 = time.perf_counter()
    u = np.asarray(case.u0, float).copy()
    out = np.empty((len(case.times), u.size))
    factors: dict[float, tuple[Any, sp.csr_matrix]] = {}
    flops = steps = 0
    t = 0.0
    for k, target in enumerate(case.times):
        span = float(target) - t
        if span > 0:
            n = max(1, math.ceil(span / dt * (1 - 1e-12)))
            h = span / n
            key = round(h, 15)
            if key not in factors:
                lu = sp.linalg.splu((V / h + 0.5 * op.K).tocsc())
                factors[key] = (lu, (V / h - 0.5 * op.K).tocsr())
                flops += _lu_flops(lu)
            lu, B = factors[key]
            per_step = 2 * B.nnz + u.size + 2 * (lu.L.nnz + lu.U.nnz)
            for _ in range(n):
                u = lu.solve(B @ u + drive)
            flops += n * per_step
            steps += n
            t = float(target)
        out[k] = u
    wall = time.perf_counter() - t0
    return PeerRun(out, int(flops), wall, steps, _flop_energy(flops),
                   {"dt": dt, "factorizations": len(factors)})


def rk45_run(case: Any, rtol: float) -> PeerRun:
    """Adaptive RK45 (``scipy.integrate.solve_ivp``) on the case's graph, ``atol = 1e-3 rtol``."""
    from scipy.integrate import solve_ivp

    op = cell_operator(case.graph)
    n = len(op.volume)
    t0 = time.perf_counter()
    sol = solve_ivp(lambda _t, u: op.rhs(u), (0.0, float(case.times[-1])), np.asarray(case.u0, float),
                    method="RK45", t_eval=case.times, rtol=rtol, atol=1e-3 * rtol)
    wall = time.perf_counter() - t0
    if not sol.success:
        raise ConfigError(f"RK45 failed at rtol={rtol}: {sol.message}")
    flops = sol.nfev * (2 * op.K.nnz + 2 * n + RK45_COMBINE_FLOPS * n)
    return PeerRun(sol.y.T.copy(), int(flops), wall, int(sol.nfev), _flop_energy(flops),
                   {"rtol": rtol, "nfev": int(sol.nfev)})


def pypde_grid(case: Any) -> tuple[Any, np.ndarray]:
    """py-pde's Cartesian grid of a grid case and the index of each evsim cell in it.

    Raises
    ------
    ConfigError
        If the case's cells are not a uniform cell-centred grid of the unit box.
    """
    pde = require("pde", extra="bench", feature="py-pde peers")
    x = np.asarray(case.x, float)
    dim = x.shape[1]
    n = round(len(x) ** (1 / dim))
    if n ** dim != len(x):
        raise ConfigError(f"case {case.name!r} is not an n^{dim} grid ({len(x)} cells)")
    h = 1.0 / n
    idx = np.floor(x / h).astype(int)
    if np.any(idx < 0) or np.any(idx >= n) or not np.allclose(x, (idx + 0.5) * h):
        raise ConfigError(f"case {case.name!r}: cells are not the cell centres of a unit-box grid")
    return pde.CartesianGrid([[0.0, 1.0]] * dim, [n] * dim), idx


def _dividing_step(times: np.ndarray, dt: float) -> float:
    """The largest step ``<= dt`` that divides every record interval (py-pde's fixed-step
    solvers record at the step nearest to a record time, not at it)."""
    gaps = np.diff(np.asarray(times, float))
    gaps = gaps[gaps > 0]
    base = float(gaps.min())
    if not np.allclose(gaps / base, np.round(gaps / base), rtol=0, atol=1e-9):
        raise ConfigError(f"record intervals {gaps.tolist()} have no common step")
    return base / math.ceil(base / dt * (1 - 1e-12))


def pypde_run(case: Any, solver: str, knob: float) -> PeerRun:
    """py-pde on its own grid: ``solver="rk45"`` (adaptive, ``rtol = knob``, ``atol = 1e-3 knob``)
    or ``"euler"`` (``dt``: the largest step ``<= knob`` that divides the record intervals). The diffusivity is the case's; Dirichlet 0 walls."""
    pde = require("pde", extra="bench", feature="py-pde peers")
    grid, idx = pypde_grid(case)
    dim = grid.dim
    eq = pde.DiffusionPDE(diffusivity=case.diffusivity, bc={"value": 0.0})
    data = np.zeros(grid.shape)
    data[tuple(idx.T)] = case.u0
    state = pde.ScalarField(grid, data)
    if solver == "rk45":
        options = {"solver": "scipy", "method": "RK45", "rtol": knob, "atol": 1e-3 * knob}
    elif solver == "euler":
        options = {"solver": "euler", "dt": _dividing_step(case.times, knob)}
    else:
        raise ConfigError(f"py-pde solver must be 'rk45' or 'euler', got {solver!r}")
    storage = pde.MemoryStorage()
    _, info = eq.solve(state.copy(), t_range=float(case.times[-1]), tracker=[storage.tracker(case.times)],
                       ret_info=True, **options)
    profile = info["controller"]["profiler"]      # py-pde's own clock: solver and tracker time,
    wall = float(profile["solver"] + profile["tracker"])   # without its per-call numba compilation
    if len(storage.times) != len(case.times) or not np.allclose(storage.times, case.times, atol=1e-6):
        raise ConfigError(f"py-pde recorded {list(storage.times)} instead of the case's record times")
    field_ = np.array([np.asarray(d)[tuple(idx.T)] for d in storage.data])
    steps = int(info["solver"]["steps"])
    n = len(idx)
    per_cell = (2 * dim + 2 + RK45_COMBINE_FLOPS) if solver == "rk45" else (2 * dim + 4)
    flops = steps * per_cell * n
    return PeerRun(field_, int(flops), wall, steps, _flop_energy(flops),
                   {"rtol" if solver == "rk45" else "dt": options.get("rtol", options.get("dt")),
                    "compile_seconds": float(profile["compilation"])})
