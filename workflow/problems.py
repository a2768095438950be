"""Canonical problems: named PDE set-ups used by the CLI, the tests and the benchmarks.

A :class:`Problem` bundles a cell-graph builder, an initial condition, the time
window, default record times and quota, and (where one exists) the exact
solution, for any diffusivity. :meth:`Problem.case` sets up one run of it (a
:class:`~evsim.workflow.case.Case`: graph, positions, u0, record times and the
reference the run is scored against).

========== =========================================== ===========================
name       set-up                                      reference
========== =========================================== ===========================
heat1d     u_t = 0.1 u_xx on [0,1], 100 cells, T = 2,  sin(pi x) exp(-0.1 pi^2 t)
           u0 = sin(pi x), u = 0 at both ends
heat1d-    as heat1d, u0 = exp(-(x-1/2)^2 / (2 .05^2)) semi-discrete (expm)
gauss
heat1d-    as heat1d, u0 = 1 on (1/4, 3/4), else 0     semi-discrete (expm)
step
heat2d     u_t = 0.1 Lap u on the unit square, 64x64,  sin sin exp(-0.2 pi^2 t)
           u0 = sin(pi x) sin(pi y), u = 0 on sides,
           records t = 0, 0.1, 0.4, 0.8
laplace2d  as heat2d, u0 = 0, u(x,1) = sin(pi x),      semi-discrete; steady state
           run to steady state (T = 3)                 sin(pi x) sinh(pi y)/sinh(pi)
pulse1d    u_t = 0.1 u_xx on [0,10], 1000 cells,       free-space Gaussian
           T = 0.5, u0 = exp(-(x-5)^2 / (2 .05^2)):    (sigma/s) exp(-(x-5)^2/2s^2),
           localized activity                          s^2 = sigma^2 + 2 kappa t
========== =========================================== ===========================
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from evsim import topologies
from evsim.errors import ConfigError
from evsim.teachers.base import AnalyticTeacher

if TYPE_CHECKING:
    from .case import Case

__all__ = ["Problem", "PROBLEMS", "register", "get_problem"]

PROBLEMS: dict[str, "Problem"] = {}


#: Memory a cell costs while a grid case is built and run (the NetworkX graph, the compiled
#: network and the engine state; measured ~3.7 kB per cell of RSS on heat2d 256 x 256, 2.4 kB
#: traced at 96 x 96), for the check that refuses a resolution before anything is allocated.
BYTES_PER_CELL = 4096
#: The same for the tetrahedra of ``cube3d``: ~20 kB per cell traced at 1,331-4,913 cells
#: (per-tetrahedron geometry: ~6.5 tetrahedra and 7 edges per cell), with the allocator's
#: slack measured on grids (RSS / traced ~1.6).
CUBE3D_BYTES_PER_CELL = 36 << 10


@dataclass(frozen=True)
class Problem:
    """A named PDE set-up.

    Attributes
    ----------
    name, description
        Identification.
    build
        ``build(cells, diffusivity) -> nx.Graph``; ``cells`` is the resolution
        (cells per axis for grids, target cell count for meshes).
    initial
        ``initial(x) -> u0`` for cell positions ``x`` of shape ``(N, dim)``.
    cells, diffusivity, t_end, quota
        Defaults.
    record
        Default record times in ``[0, t_end]``.
    solution
        ``solution(x, t, diffusivity) -> (T, N)`` analytic solution for any
        diffusivity, or None (see :meth:`exact`).
    steady
        ``steady(x) -> (N,)`` analytic steady state, or None.
    dim
        How the resolution ``cells`` counts cells: ``cells ** dim`` of them (see
        :meth:`cell_count`; 1 where ``cells`` is the cell count itself).
    bytes_per_cell
        Memory one cell costs while a case of this problem is built and run (the
        NetworkX graph, its mesh geometry, the compiled network and the engine state):
        the check that refuses a resolution this machine cannot hold before anything
        is allocated (:func:`~evsim.workflow.case.make_case`).
    """

    name: str
    description: str
    build: Callable[[int, float], nx.Graph]
    initial: Callable[[np.ndarray], np.ndarray]
    cells: int
    diffusivity: float
    t_end: float
    quota: float
    record: tuple = field(default=())
    solution: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None
    steady: Callable[[np.ndarray], np.ndarray] | None = None
    dim: int = 1
    bytes_per_cell: int = BYTES_PER_CELL

    def cell_count(self, cells: int) -> int:
        """About how many cells ``build(cells, ...)`` makes (at most ``cells ** dim``):
        ``cells`` counts cells per axis on grids and lattices, cells on meshes (``dim`` 1)."""
        return int(cells) ** self.dim

    @property
    def has_exact(self) -> bool:
        """Whether the problem has a closed-form solution."""
        return self.solution is not None

    def exact(self, x: np.ndarray, t: np.ndarray, diffusivity: float | None = None) -> np.ndarray:
        """The analytic solution ``(T, N)`` at cell positions ``x`` and times ``t``.

        ``diffusivity`` defaults to the problem's own (:attr:`diffusivity`).

        Raises
        ------
        ConfigError
            If the problem has no closed-form solution.
        """
        if self.solution is None:
            raise ConfigError(f"problem {self.name!r} has no exact solution; "
                              "use the semi-discrete reference (evsim.teachers.semidiscrete)")
        kappa = self.diffusivity if diffusivity is None else float(diffusivity)
        return self.solution(np.asarray(x, dtype=float), np.asarray(t, dtype=float), kappa)

    def teacher(self, diffusivity: float | None = None) -> AnalyticTeacher:
        """The exact solution as a teacher (:class:`evsim.teachers.AnalyticTeacher`).

        Raises
        ------
        ConfigError
            If the problem has no closed-form solution (use
            :class:`~evsim.teachers.SemiDiscreteTeacher` for its reference).
        """
        if not self.has_exact:
            raise ConfigError(f"problem {self.name!r} has no exact solution; "
                              "use SemiDiscreteTeacher for its reference")
        return AnalyticTeacher(partial(self.exact, diffusivity=diffusivity), name=f"exact:{self.name}")

    def case(self, **overrides) -> "Case":
        """The set-up of one run of this problem (see :func:`evsim.workflow.case.make_case`)."""
        from .case import make_case

        return make_case(self, **overrides)

    def record_times(self, t_end: float | None = None) -> np.ndarray:
        """Record times for a run to ``t_end`` (default: the problem's own)."""
        if t_end is None or t_end == self.t_end:
            return np.asarray(self.record, dtype=float)
        return np.linspace(0.0, t_end, len(self.record) if len(self.record) > 2 else 21)


def register(problem: Problem) -> Problem:
    """Add ``problem`` to :data:`PROBLEMS` (name must be new)."""
    if problem.name in PROBLEMS:
        raise ConfigError(f"problem {problem.name!r} is already registered")
    PROBLEMS[problem.name] = problem
    return problem


def get_problem(name: str) -> Problem:
    """The problem registered as ``name``.

    Raises
    ------
    ConfigError
        For an unknown name (the message lists the known problems).
    """
    if name not in PROBLEMS:
        raise ConfigError(f"unknown problem {name!r}; known problems: {sorted(PROBLEMS)}")
    return PROBLEMS[name]


# --------------------------------------------------------------------- 1D heat
def _heat1d_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.grid_1d(cells=cells, length=1.0, diffusivity=diffusivity)


def _sine_1d(x):
    return np.sin(np.pi * x[:, 0])


def _gauss_1d(x):
    return np.exp(-((x[:, 0] - 0.5) ** 2) / (2 * 0.05**2))


def _step_1d(x):
    return ((x[:, 0] > 0.25) & (x[:, 0] < 0.75)).astype(float)


def _heat1d_exact(x, t, kappa):
    return np.sin(np.pi * x[:, 0])[None, :] * np.exp(-kappa * np.pi**2 * t)[:, None]


_HEAT1D = dict(build=_heat1d_graph, cells=100, diffusivity=0.1, t_end=2.0, quota=1e-6,
               record=tuple(np.linspace(0.0, 2.0, 21)))
register(Problem("heat1d", "u_t = 0.1 u_xx on [0,1], u0 = sin(pi x), u = 0 at both ends",
                 initial=_sine_1d, solution=_heat1d_exact, **_HEAT1D))
def _pulse_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.grid_1d(cells=cells, length=_PULSE_L, diffusivity=diffusivity)


_PULSE_L, _PULSE_SIGMA = 10.0, 0.05


def _pulse_initial(x):
    return np.exp(-((x[:, 0] - _PULSE_L / 2) ** 2) / (2 * _PULSE_SIGMA ** 2))


def _pulse_exact(x, t, kappa):
    """The free-space Gaussian, ``sigma / s exp(-(x - L/2)^2 / (2 s^2))``,
    ``s^2 = sigma^2 + 2 kappa t`` (the walls at 0 and L change it by < 1e-300)."""
    s2 = _PULSE_SIGMA ** 2 + 2 * kappa * np.asarray(t)[:, None]
    return _PULSE_SIGMA / np.sqrt(s2) * np.exp(-((x[:, 0][None, :] - _PULSE_L / 2) ** 2) / (2 * s2))


register(Problem("pulse1d", "localized activity: u_t = 0.1 u_xx on [0, 10], 1000 cells, a narrow "
                 "Gaussian (sigma = 0.05) at x = 5, T = 0.5; most cells stay at rest",
                 build=_pulse_graph, initial=_pulse_initial, cells=1000, diffusivity=0.1,
                 t_end=0.5, quota=1e-7, record=tuple(np.linspace(0.0, 0.5, 11)),
                 solution=_pulse_exact))
register(Problem("heat1d-gauss", "heat1d with a Gaussian pulse, sigma = 0.05",
                 initial=_gauss_1d, **_HEAT1D))
register(Problem("heat1d-step", "heat1d with u0 = 1 on (0.25, 0.75), else 0",
                 initial=_step_1d, **_HEAT1D))


# --------------------------------------------------------------------- 2D
def _heat2d_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.grid_2d(cells=cells, length=1.0, diffusivity=diffusivity)


def _laplace2d_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.grid_2d(cells=cells, length=1.0, diffusivity=diffusivity,
                              boundary={"top": lambda p: np.sin(np.pi * p[0])})


def _sine_2d(x):
    return np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])


def _heat2d_exact(x, t, kappa):
    return _sine_2d(x)[None, :] * np.exp(-(2 * kappa) * np.pi**2 * t)[:, None]


def _laplace_exact(x):
    return np.sin(np.pi * x[:, 0]) * np.sinh(np.pi * x[:, 1]) / np.sinh(np.pi)


register(Problem("heat2d", "u_t = 0.1 Lap u on the unit square, u0 = sin(pi x) sin(pi y), u = 0 on the boundary",
                 build=_heat2d_graph, initial=_sine_2d, cells=64, diffusivity=0.1, t_end=0.8,
                 quota=5e-7, record=(0.0, 0.1, 0.4, 0.8), solution=_heat2d_exact, dim=2))
register(Problem("laplace2d", "u_t = 0.1 Lap u from u0 = 0 with u(x, 1) = sin(pi x): converges to Laplace",
                 build=_laplace2d_graph, initial=lambda x: np.zeros(len(x)), cells=64,
                 diffusivity=0.1, t_end=3.0, quota=1e-6, record=tuple(np.linspace(0.0, 3.0, 31)),
                 steady=_laplace_exact, dim=2))


# --------------------------------------------------------------------- irregular meshes
_J01 = 2.404825557695773  # first zero of the Bessel function J0


def _disk_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.voronoi_2d("disk", cells=cells, diffusivity=diffusivity, seed=0)


def _disk_initial(x):
    from scipy.special import j0

    return j0(_J01 * np.hypot(x[:, 0], x[:, 1]))


def _disk_exact(x, t, kappa):
    return _disk_initial(x)[None, :] * np.exp(-kappa * _J01**2 * t)[:, None]


def _cube3d_graph(cells: int, diffusivity: float) -> nx.Graph:
    return topologies.tetra_box(cells=cells, diffusivity=diffusivity, jitter=0.25, seed=0)


def _sine_3d(x):
    return np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1]) * np.sin(np.pi * x[:, 2])


def _cube3d_exact(x, t, kappa):
    return _sine_3d(x)[None, :] * np.exp(-(3 * kappa) * np.pi**2 * t)[:, None]


register(Problem("disk", "u_t = 0.1 Lap u on the unit disk, irregular Voronoi cells (Lloyd points, "
                 "seed 0), u0 = J0(j01 r), u = 0 on r = 1",
                 build=_disk_graph, initial=_disk_initial, cells=2000, diffusivity=0.1, t_end=0.5,
                 quota=2e-6, record=tuple(np.linspace(0.0, 0.5, 11)), solution=_disk_exact))
register(Problem("cube3d", "u_t = 0.1 Lap u on the unit cube, jittered Delaunay tetrahedra "
                 "(cells = lattice intervals per axis), u0 = sin(pi x) sin(pi y) sin(pi z), u = 0 "
                 "on the boundary; exact decay exp(-3 kappa pi^2 t)",
                 build=_cube3d_graph, initial=_sine_3d, cells=12, diffusivity=0.1, t_end=0.5,
                 quota=5e-7, record=tuple(np.linspace(0.0, 0.5, 6)), solution=_cube3d_exact, dim=3,
                 bytes_per_cell=CUBE3D_BYTES_PER_CELL))
