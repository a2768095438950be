"""Independent finite-element teacher: scikit-fem P1 solution of the heat equation.

Solves ``u_t = kappa Lap u`` on a triangle or tetrahedron mesh with P1
(piecewise linear) elements, *consistent* mass matrix and Crank-Nicolson time
stepping,

.. math:: (M + \\tfrac{\\Delta t}{2} K) u^{n+1} = (M - \\tfrac{\\Delta t}{2} K) u^n,
          \\qquad M_{ij} = \\int \\phi_i \\phi_j, \\quad
          K_{ij} = \\kappa \\int \\nabla\\phi_i \\cdot \\nabla\\phi_j,

with Dirichlet values imposed on boundary vertices (the rows of the unknowns
are condensed). Assembly is done by scikit-fem, not by evsim, and the mass is
not lumped, so agreement with a PISNN on the same mesh is an independent
cross-check of the cell graph (conductances, volumes, boundary reservoirs) on
irregular meshes: both converge to the PDE solution at ``O(h^2)``.

scikit-fem is an optional dependency (extra ``mesh``), imported inside the
functions through :func:`evsim.optional.require`.
"""
from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

from evsim.errors import ConfigError, GraphError, MeshError
from evsim.optional import require
from evsim.topologies.grids import cell_nodes
from evsim.topologies.simplicial import graph_mesh

__all__ = ["fem_heat", "fem_reference"]


def _assemble(points: np.ndarray, simplices: np.ndarray, diffusivity: float
              ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """P1 stiffness ``K`` (times ``diffusivity``) and consistent mass ``M``, assembled by scikit-fem."""
    feature = "the FEM teacher"
    skfem = require("skfem", extra="mesh", feature=feature)
    poisson = require("skfem.models.poisson", extra="mesh", feature=feature)
    d = points.shape[1]
    if d == 2:
        mesh = skfem.MeshTri(np.ascontiguousarray(points.T), np.ascontiguousarray(simplices.T))
        element = skfem.ElementTriP1()
    elif d == 3:
        mesh = skfem.MeshTet(np.ascontiguousarray(points.T), np.ascontiguousarray(simplices.T))
        element = skfem.ElementTetP1()
    else:
        raise MeshError(f"FEM teacher needs 2D or 3D points, got dimension {d}")
    basis = skfem.Basis(mesh, element)
    K = diffusivity * skfem.asm(poisson.laplace, basis)
    M = skfem.asm(poisson.mass, basis)
    return K.tocsr(), M.tocsr()


def fem_heat(points: np.ndarray, simplices: np.ndarray, u0: np.ndarray, times: Sequence[float],
             diffusivity: float, dirichlet: np.ndarray | None = None,
             dirichlet_values: np.ndarray | float = 0.0, dt: float | None = None) -> np.ndarray:
    """P1 finite-element solution of ``u_t = kappa Lap u`` at all mesh vertices.

    Parameters
    ----------
    points
        ``(P, d)`` vertices; simplices ``(M, d + 1)`` triangles or tetrahedra.
    simplices
        Element vertex indices.
    u0
        ``(P,)`` initial nodal values (Dirichlet vertices are overwritten).
    times
        Increasing output times ``>= 0`` (the start time is 0).
    diffusivity
        ``kappa > 0``.
    dirichlet
        Vertex indices with prescribed values (default: none, i.e. Neumann).
    dirichlet_values
        Values at ``dirichlet`` (scalar or array).
    dt
        Crank-Nicolson step (default ``max(times) / 1000``); each output
        interval is split into equal steps of at most ``dt``.

    Returns
    -------
    numpy.ndarray
        ``(T, P)`` nodal values at ``times``.

    Raises
    ------
    ConfigError
        Decreasing or negative ``times``, ``diffusivity <= 0`` or ``u0`` of the
        wrong shape.
    MeshError
        Points that are neither 2D nor 3D.
    MissingDependency
        scikit-fem is not installed (extra ``mesh``).
    """
    from scipy.sparse.linalg import splu

    points = np.asarray(points, dtype=float)
    simplices = np.asarray(simplices, dtype=np.int64)
    times = np.asarray(times, dtype=float)
    if np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ConfigError("times must be non-negative and increasing")
    if not diffusivity > 0:
        raise ConfigError(f"diffusivity must be > 0, got {diffusivity}")
    n = len(points)
    u = np.asarray(u0, dtype=float).copy()
    if u.shape != (n,):
        raise ConfigError(f"u0 must have one value per mesh vertex ({n}), got shape {u.shape}")
    K, M = _assemble(points, simplices, float(diffusivity))
    fixed = np.zeros(n, dtype=bool)
    if dirichlet is not None:
        fixed[np.asarray(dirichlet, dtype=np.int64)] = True
    u[fixed] = dirichlet_values if np.isscalar(dirichlet_values) else np.asarray(dirichlet_values)
    free = ~fixed
    Kff, Mff = K[free][:, free], M[free][:, free]
    # constant Dirichlet data: the load -K_fD u_D is the same at every step
    load = -(K[free][:, fixed] @ u[fixed]) if fixed.any() else np.zeros(int(free.sum()))
    if dt is None:
        dt = max(float(times.max()), 1e-12) / 1000
    out = np.empty((len(times), n))
    t, cache = 0.0, {}
    uf = u[free]
    for k, target in enumerate(times):
        span = target - t
        if span > 0:
            steps = int(np.ceil(span / dt - 1e-9))
            h = span / steps
            key = round(h / dt, 9)          # relative: steps of any time scale share factors
            if key not in cache:
                cache[key] = (splu((Mff + 0.5 * h * Kff).tocsc()), (Mff - 0.5 * h * Kff).tocsr())
            lu, rhs = cache[key]
            for _ in range(steps):
                uf = lu.solve(rhs @ uf + h * load)
            t = target
        u[free] = uf
        out[k] = u
    return out


def fem_reference(graph: nx.Graph, u0: np.ndarray, times: Sequence[float],
                  dt: float | None = None) -> np.ndarray:
    """FEM solution on the mesh of a cell graph, sampled at its cells.

    The graph must come from a simplicial mesh builder (``voronoi_2d``,
    ``tetra_box``, ``tetra_ball``, ``mesh_graph``, ``simplex_graph``), which
    stores the mesh in ``graph.graph`` (``points``, ``simplices``,
    ``vertex_nodes``). Reservoir vertices are Dirichlet vertices with the
    reservoir potential; the other boundary vertices are Neumann.

    Parameters
    ----------
    graph
        Mesh cell graph (pure diffusion: no decay edges or sources).
    u0
        ``(N,)`` initial cell potentials, in cell order.
    times
        Output times.
    dt
        Crank-Nicolson step (see :func:`fem_heat`).

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` FEM values at the cells (mesh vertices of the cells).

    Raises
    ------
    GraphError
        If the graph carries no mesh, or has reservoirs or sources that are
        not mesh vertices (decay to ground, sources).
    ConfigError
        ``u0`` of the wrong shape.
    """
    points, simplices, nodes = graph_mesh(graph)
    on_mesh = set(nodes)
    extra = [n for n in graph.nodes if n not in on_mesh]
    if extra or any("source" in a for _, a in graph.nodes(data=True)):
        raise GraphError(f"the FEM teacher solves pure diffusion; graph has extra nodes "
                         f"{extra[:3]} (decay/ground) or sources")
    cells = cell_nodes(graph)
    cell_index = {n: k for k, n in enumerate(cells)}
    u0 = np.asarray(u0, dtype=float)
    if u0.shape != (len(cells),):
        raise ConfigError(f"u0 must have one value per cell ({len(cells)}), got shape {u0.shape}")
    vertex_cell = np.array([cell_index.get(n, -1) for n in nodes])
    fixed = np.flatnonzero(vertex_cell < 0)
    values = np.array([float(graph.nodes[nodes[v]]["potential"]) for v in fixed])
    u = np.zeros(len(nodes))
    u[vertex_cell >= 0] = u0[vertex_cell[vertex_cell >= 0]]
    full = fem_heat(points, simplices, u, times, float(graph.graph["diffusivity"]),
                    dirichlet=fixed, dirichlet_values=values, dt=dt)
    order = np.empty(len(cells), dtype=np.int64)
    order[vertex_cell[vertex_cell >= 0]] = np.flatnonzero(vertex_cell >= 0)
    return full[:, order]
