"""Teachers: the interface, analytic, semi-discrete, FTCS and PINN teachers."""
import math
import sys

import numpy as np
import pytest

from evsim import topologies
from evsim.errors import MissingDependency
from evsim.teachers import pinn as P
from evsim.teachers.base import (AnalyticTeacher, SemiDiscreteTeacher, Teacher, cell_operator,
                                 teacher_on_cells)
from evsim.teachers.ftcs import FTCSTeacher, ftcs, ftcs_flops_per_step, ftcs_stable_dt

KAPPA = 0.1


def heat1d_exact(x, t):
    return np.sin(np.pi * x[:, 0])[None, :] * np.exp(-KAPPA * np.pi ** 2 * np.asarray(t))[:, None]


@pytest.fixture
def line():
    g = topologies.grid_1d(cells=40, length=1.0, diffusivity=KAPPA)
    x = topologies.cell_positions(g)
    return g, x, np.sin(np.pi * x[:, 0])


# ---------------------------------------------------------------- interface and operator
def test_every_teacher_satisfies_the_protocol(line):
    g, x, u0 = line
    from evsim.teachers.pinn import load_shipped
    teachers = [AnalyticTeacher(heat1d_exact), SemiDiscreteTeacher(g, u0), FTCSTeacher(g, u0),
                load_shipped()]
    t = np.array([0.0, 0.1, 0.3])
    for teacher in teachers:
        assert isinstance(teacher, Teacher)
        u = teacher(x, t)
        assert u.shape == (3, len(x))
        np.testing.assert_allclose(u[0], u0, atol=1e-12)   # every teacher starts from u0
        assert np.all(np.isfinite(u))


def test_cell_operator_matches_engine_semidiscrete_operator():
    from evsim.teachers.semidiscrete import operator
    g = topologies.grid_2d(cells=(5, 4), length=(1.0, 2.0), diffusivity=0.3,
                           boundary={"top": 1.5, "left": "neumann"}, decay=0.2, source=0.7)
    op = cell_operator(g)
    A, b = operator(g)
    u = np.random.default_rng(0).normal(size=len(op.volume))
    np.testing.assert_allclose(op.rhs(u), A @ u + b, rtol=1e-12, atol=1e-12)
    assert op.n_cell_edges == 5 * 3 + 4 * 4  # interior faces, Neumann left side has no edge


# ---------------------------------------------------------------- semi-discrete
def test_semidiscrete_teacher_decays_at_the_discrete_eigenvalue():
    # on a cell-centred grid with Dirichlet faces, sin(pi x) is not exactly an eigenvector, but the
    # field must stay within O(h^2) of the exact solution; at cells it equals the engine's function
    g = topologies.grid_1d(cells=50, length=1.0, diffusivity=KAPPA)
    x = topologies.cell_positions(g)
    u0 = np.sin(np.pi * x[:, 0])
    t = np.linspace(0, 1, 5)
    u = SemiDiscreteTeacher(g, u0)(x, t)
    from evsim.teachers import semidiscrete
    np.testing.assert_array_equal(u, semidiscrete(g, u0, t))
    assert np.max(np.abs(u - heat1d_exact(x, t))) < 2e-3


def test_graph_teacher_interpolates_between_cells_and_boundary(line):
    g, x, u0 = line
    teacher = SemiDiscreteTeacher(g, u0)
    t = np.array([0.0, 0.2])
    pts = np.array([[0.0], [1.0], [0.5 * (x[3, 0] + x[4, 0])], [1.5]])
    u = teacher(pts, t)
    at_cells = teacher(x, t)
    np.testing.assert_allclose(u[:, :2], 0.0, atol=1e-15)          # Dirichlet reservoirs
    np.testing.assert_allclose(u[:, 2], 0.5 * (at_cells[:, 3] + at_cells[:, 4]), rtol=1e-12)
    assert np.all(np.isnan(u[:, 3]))                                 # outside the mesh
    # a subset / permutation of the cells is returned exactly
    np.testing.assert_array_equal(teacher(x[[5, 2]], t), at_cells[:, [5, 2]])


# ---------------------------------------------------------------- FTCS
def test_ftcs_step_is_the_max_principle_limit_and_counts_operations(line):
    g, x, u0 = line
    h = 1.0 / 40
    op = cell_operator(g)
    assert ftcs_stable_dt(op) == pytest.approx(h * h / (3 * KAPPA), rel=1e-12)   # Dirichlet cell
    per_step = 4 * 39 + 3 * 2 + 2 * 40
    assert ftcs_flops_per_step(op) == per_step
    teacher = FTCSTeacher(g, u0)
    u = teacher(x, np.array([0.0, 0.05, 0.5]))
    assert teacher.steps == math.ceil(0.5 / teacher.dt - 1e-9)
    assert teacher.operations == teacher.steps * per_step
    # stable and monotone: the sine never grows and stays positive
    assert np.all(u >= 0) and np.all(np.diff(u.max(axis=1)) < 0)


def test_ftcs_converges_to_semidiscrete_at_first_order(line):
    g, x, u0 = line
    t = np.array([0.1, 0.5])
    ref = SemiDiscreteTeacher(g, u0)(x, t)
    op = cell_operator(g)
    e1 = np.abs(ftcs(op, u0, t, cfl=1.0)[0] - ref).max()
    e2 = np.abs(ftcs(op, u0, t, cfl=0.5)[0] - ref).max()
    assert e1 < 5e-4
    assert 1.7 < e1 / e2 < 2.3        # forward Euler: error ~ dt


def test_ftcs_2d_matches_exact_and_rejects_bad_cfl():
    g = topologies.grid_2d(cells=16, length=1.0, diffusivity=KAPPA)
    x = topologies.cell_positions(g)
    u0 = np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])
    teacher = FTCSTeacher(g, u0)
    u = teacher(x, np.array([0.4]))
    exact = u0 * math.exp(-2 * KAPPA * math.pi ** 2 * 0.4)
    assert np.abs(u[0] - exact).max() < 5e-3
    with pytest.raises(ValueError):
        ftcs(cell_operator(g), u0, [0.1], cfl=1.5)


# ---------------------------------------------------------------- PINN (tests taking `torch` train)


def test_mlp_flops_formula():
    assert P.mlp_flops([2, 32, 32, 32, 1]) == 2 * (2 * 32 + 32 * 32 * 2 + 32) + 96
    assert P.mlp_flops([3, 10, 1], activation_flops=5) == 2 * (30 + 10) + 50


def test_heat_residual_vanishes_on_the_exact_solution_and_not_otherwise(torch):
    pde = P.HeatPDE(dim=2, alpha=0.1, lengths=(1.0, 2.0))
    pts = P.sample_collocation(pde, 64, seed=3)["interior"]

    def exact(xt):
        rate = 0.1 * math.pi ** 2 * (1 + 0.25)
        return torch.sin(math.pi * xt[:, 0]) * torch.sin(math.pi * xt[:, 1] / 2) * torch.exp(-rate * xt[:, 2])

    assert float(P.heat_residual(exact, pts, 0.1).detach().abs().max()) < 1e-12
    assert float(P.heat_residual(exact, pts, 0.2).detach().abs().max()) > 1e-2


def test_sample_collocation_ranges(torch):
    pde = P.HeatPDE(dim=2, lengths=(1.0, 3.0), t_train=0.5)
    pts = P.sample_collocation(pde, 100, 20, 40, seed=1)
    xi = pts["interior"].numpy()
    assert xi.shape == (100, 3) and xi.min() >= 0 and xi[:, 1].max() <= 3 and xi[:, 2].max() <= 0.5
    assert np.all(pts["initial"].numpy()[:, 2] == 0)
    xb = pts["boundary"].numpy()
    on_side = np.isin(xb[:, 0], [0.0, 1.0]) | np.isin(xb[:, 1], [0.0, 3.0])
    assert xb.shape == (40, 3) and np.all(on_side)
    again = P.sample_collocation(pde, 100, 20, 40, seed=1)
    assert torch.equal(again["interior"], pts["interior"])


@pytest.fixture(scope="module")
def tiny_pinn(torch):
    pde = P.HeatPDE(dim=1, alpha=0.1, t_train=0.5)
    return P.train_pinn(pde, hidden=16, depth=2, n_interior=256, adam_iters=150, lbfgs_iters=80)


def test_tiny_pinn_learns_heat1d_and_keeps_constraints(tiny_pinn):
    x = np.linspace(0, 1, 41)[:, None]
    t = np.linspace(0, 0.5, 11)
    u = tiny_pinn(x, t)
    exact = tiny_pinn.pde.exact(x, t)
    err = float(np.sqrt(np.mean((u - exact) ** 2)))
    assert err < 2e-3
    assert tiny_pinn.metadata["rmse_vs_exact_train_window"] < 2e-3
    np.testing.assert_allclose(u[0], exact[0], atol=1e-15)             # exact initial condition
    np.testing.assert_allclose(u[:, [0, -1]], 0.0, atol=1e-15)          # exact Dirichlet ends
    hist = tiny_pinn.metadata["history"]
    assert hist[-1]["total"] < 0.1 * hist[0]["total"]                  # training reduced the loss


def test_pinn_save_load_roundtrip_and_torch_bridge(tiny_pinn, tmp_path, torch):
    path = tiny_pinn.save(tmp_path / "teacher")
    assert path.suffix == ".npz" and path.with_suffix(".json").exists()
    back = P.PINNTeacher.load(tmp_path / "teacher")
    x = np.random.default_rng(1).uniform(0, 1, (30, 1))
    t = np.array([0.05, 0.3, 1.0])
    np.testing.assert_array_equal(back(x, t), tiny_pinn(x, t))
    assert back.pde == tiny_pinn.pde and back.sizes == [2, 16, 16, 1]
    assert back.metadata["options"]["adam_iters"] == 150
    xt = np.hstack([x, np.full((30, 1), 0.3)])
    u_torch = back.torch_function()(torch.as_tensor(xt)).detach().numpy()
    np.testing.assert_allclose(u_torch, back.evaluate(xt), rtol=1e-12, atol=1e-14)
    assert back.flops(10) == 10 * (4 + P.mlp_flops([2, 16, 16, 1]) + 3 + 4 + 4)


def test_pinn_training_is_deterministic(torch):
    pde = P.HeatPDE()
    a = P.train_pinn(pde, hidden=8, depth=1, n_interior=64, adam_iters=30, lbfgs_iters=5, seed=4)
    b = P.train_pinn(pde, hidden=8, depth=1, n_interior=64, adam_iters=30, lbfgs_iters=5, seed=4)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)


def test_soft_constraint_pinn_2d_trains(torch):
    pde = P.HeatPDE(dim=2, alpha=0.1, lengths=(1.0, 1.0), t_train=0.2)
    teacher = P.train_pinn(pde, hidden=16, depth=2, n_interior=256, n_initial=128, n_boundary=128,
                           adam_iters=300, lbfgs_iters=150, lr=5e-3, hard=False)
    hist = teacher.metadata["history"]
    assert {"initial", "boundary", "residual"} <= set(hist[-1])
    assert hist[-1]["total"] < 0.05 * hist[0]["total"]
    assert teacher.metadata["rmse_vs_exact_train_window"] < 0.05   # amplitude ~0.6: it learned


def test_shipped_teacher_is_accurate_on_its_window_only():
    teacher = P.load_shipped()
    meta = teacher.metadata
    assert teacher.pde == P.HeatPDE(dim=1, alpha=0.1, lengths=(1.0,), t_train=0.5, initial="sine")
    x = np.linspace(0, 1, 101)[:, None]
    t = np.linspace(0, 0.5, 26)
    err = float(np.sqrt(np.mean((teacher(x, t) - teacher.pde.exact(x, t)) ** 2)))
    assert err < 1e-4
    assert err == pytest.approx(meta["rmse_vs_exact_train_window"], rel=0.5)
    assert meta["problem"] == "heat1d" and meta["options"]["seed"] == 0
    g = topologies.grid_1d(cells=100, diffusivity=0.1)
    assert teacher_on_cells(teacher, g, t).shape == (26, 100)
    assert (teacher.pde.t_train, teacher.flops_per_point()) == (0.5, 4 + P.mlp_flops(teacher.sizes) + 11)


def test_without_torch_the_shipped_teacher_evaluates_and_training_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)             # as if torch were not installed
    teacher = P.load_shipped()
    back = P.PINNTeacher.load(teacher.save(tmp_path / "copy"))
    x, t = np.linspace(0, 1, 11)[:, None], np.array([0.1, 1.0])
    np.testing.assert_array_equal(back(x, t), teacher(x, t))
    with pytest.raises(MissingDependency, match=r"torch==2\.13\.0"):
        teacher.torch_function()
    with pytest.raises(MissingDependency, match=r"evsim\[pinn\]"):
        P.retrain_shipped(out=tmp_path / "retrained")
    assert not (tmp_path / "retrained.npz").exists()
