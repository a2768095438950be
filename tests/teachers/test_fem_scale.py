"""The FEM teacher gives the same solution on a mesh and time axis of any scale."""
from __future__ import annotations

import numpy as np
import pytest

from evsim import topologies as T
from evsim.teachers.fem import fem_heat


@pytest.mark.parametrize("length", [1e-9, 1e6])
def test_fem_heat_is_invariant_under_scaling_space_and_time(length):
    pytest.importorskip("skfem")
    points, tri, tags = T.triangulate("disk", cells=150, seed=3)
    boundary = np.unique(np.concatenate(list(tags.values())))
    u0 = np.cos(2.0 * points[:, 0]) * np.sin(3.0 * points[:, 1] + 0.5)
    times = np.array([0.01, 0.03, 0.05])                  # steps of two sizes for dt = 0.004
    ref = fem_heat(points, tri, u0, times, 0.3, dirichlet=boundary, dt=0.004)
    tau = length ** 2                                     # diffusive time scale of the mesh
    scaled = fem_heat(points * length, tri, u0, times * tau, 0.3, dirichlet=boundary, dt=0.004 * tau)
    np.testing.assert_allclose(scaled, ref, rtol=1e-9, atol=1e-12)
