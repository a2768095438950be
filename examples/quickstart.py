"""The README's five-minute tour, as a script that checks its own claims.

    python examples/quickstart.py [OUT_DIR]      # default runs/quickstart (created)

A 1D heat equation on 100 C-LIF cells: simulate with both engines, compare with
the semi-discrete reference, check the exact ledger, save and reload.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import evsim
from evsim import teachers, topologies


def main(out: str | Path) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mesh = topologies.grid_1d(cells=100, length=1.0, diffusivity=0.1)  # Dirichlet 0 at both ends
    x = topologies.cell_positions(mesh)
    u0 = np.sin(np.pi * x[:, 0])
    times = np.linspace(0, 2, 21)
    result = evsim.simulate(mesh, u0=u0, quota=1e-5, t_end=2.0, record=times)
    ref = teachers.semidiscrete(mesh, u0, result.times)          # same graph, exact in time
    rmse = float(np.sqrt(np.mean((result.potential - ref) ** 2)))
    assert result.ledger.residual == 0                          # exact conservation
    assert rmse < 0.6 * 1e-5 / 0.01                              # ~0.4 q / V

    # the SimPy reference engine fires the same packets at the same times
    short = dict(u0=u0, quota=1e-4, t_end=0.5, spike_log=True)
    a = evsim.simulate(mesh, engine="compiled", **short)
    b = evsim.simulate(mesh, engine="simpy", **short)
    assert np.array_equal(a.spike_log["time"], b.spike_log["time"])
    assert np.array_equal(a.spike_log["edge"], b.spike_log["edge"])

    path = result.save(out / "heat1d.npz")
    back = evsim.load(path)
    assert np.array_equal(back.potential, result.potential) and back.spikes == result.spikes
    summary = {"spikes": result.spikes, "rmse_vs_semidiscrete": rmse,
               "mass_final": result.mass_final, "boundary_mass": result.boundary_mass}
    print(summary)
    print(f"wrote {path}", file=sys.stderr)
    return summary


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/quickstart")
