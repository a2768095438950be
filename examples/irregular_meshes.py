"""Heat on irregular meshes: an L-shaped room, a mesh file round trip, ParaView output.

Run ``python examples/irregular_meshes.py [OUT_DIR]``. It

1. meshes the L-shape (Lloyd-relaxed Voronoi cells, seed 0), heats the re-entrant
   walls (Dirichlet 1) with the outer walls insulated (Neumann), and runs the PISNN;
2. writes the mesh as a gmsh file, reads it back as a cell graph and checks the
   two graphs run to the same bits;
3. compares with the independent scikit-fem solution and writes ParaView files
   (``l_shape.xdmf``) and figures.

It asserts its own claims, so ``tests/test_mesh_examples.py`` runs it as a test.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import evsim
from evsim import topologies as T
from evsim.analysis.meshplot import plot_mesh_result
from evsim.teachers import semidiscrete
from evsim.teachers.fem import fem_reference


def main(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    room = T.polygon([(0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1)],
                     names=["wall", "wall", "heater", "heater", "wall", "wall"], name="room")
    bc = {"heater": 1.0, "wall": "neumann"}
    points, triangles, tags = T.triangulate(room, cells=600, seed=0)
    graph = T.simplex_graph(points, triangles, diffusivity=0.05, tags=tags, boundary=bc, name="room")
    T.write_mesh(out / "room.msh", points, triangles, tags)
    from_file = T.mesh_graph(out / "room.msh", diffusivity=0.05, boundary=bc)

    times = np.linspace(0.0, 1.0, 11)
    u0 = np.zeros(len(T.cell_nodes(graph)))
    run = evsim.simulate(graph, u0=u0, quota=4e-6, t_end=1.0, record=times, progress=False)
    run_file = evsim.simulate(from_file, u0=u0, quota=4e-6, t_end=1.0, record=times, progress=False)
    assert run.ledger.residual == 0 and run_file.ledger.residual == 0
    assert np.array_equal(run.potential, run_file.potential)       # same graph, same bits
    sd = semidiscrete(graph, u0, times)
    fem = fem_reference(graph, u0, times)
    summary = {
        "cells": len(u0), "spikes": int(run.spikes),
        "rmse_vs_semidiscrete": float(np.sqrt(np.mean((run.potential - sd) ** 2))),
        "rmse_vs_fem": float(np.sqrt(np.mean((run.potential - fem) ** 2))),
        "heat_in": float(-run.boundary_mass), "mass_final": float(run.mass_final),
    }
    assert summary["rmse_vs_semidiscrete"] < 5e-3 and summary["rmse_vs_fem"] < 5e-3  # 2.6e-3, 2.9e-3
    assert abs(summary["heat_in"] - summary["mass_final"]) < 1e-9   # all heat came from the heater
    T.write_results(out / "room.xdmf", graph, run)
    plot_mesh_result(graph, run, out, reference=fem, prefix="room")
    return summary


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "irregular_meshes_out")))
