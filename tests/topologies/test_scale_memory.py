"""Memory per cell and per edge: the model of evsim.network.engine_bytes against the arrays
initial_state allocates, and the problems' bytes_per_cell against measured graph-path cases."""
import tracemalloc

import numpy as np
import pytest

from evsim import topologies
from evsim.network import compile_network, engine_bytes, network_bytes
from evsim.state import EngineState, initial_state
from evsim.topologies.fastmesh import box_network, square_network
from evsim.workflow.case import BYTES_PER_CELL
from evsim.workflow.problems import get_problem


def state_nbytes(network, records=2):
    state = initial_state(network, np.zeros(network.cells), 1e-3, 1.0, np.linspace(0, 1, records))
    return sum(getattr(state, f).nbytes for f in EngineState.__dataclass_fields__
               if isinstance(getattr(state, f), np.ndarray)), state


@pytest.mark.parametrize("build, width", [
    (lambda: square_network(30, seed=1), 32),                 # 2D Delaunay: ~6 neighbours
    (lambda: square_network(30, jitter=0.0), 16),             # 5-point grid
    (lambda: box_network(7, seed=2), 80),                     # 3D Delaunay: ~14 neighbours
    (lambda: compile_network(topologies.grid_2d(12, latency=0.1)), 16),            # 2 slots per edge
    (lambda: compile_network(topologies.voronoi_2d("disk", 300, decay=0.3, source=1.0)), 48),
])
def test_engine_bytes_model_is_exact(build, width):
    net = build()
    measured, state = state_nbytes(net, records=3)
    model = engine_bytes(net, records=3)
    assert model["total"] == measured
    assert model["stencil_width"] == state.stencil.shape[1] == width


def test_bytes_per_cell_and_edge_of_the_million_cell_meshes():
    """The figures of docs/scale.md: a 2D Delaunay mesh costs ~1.1 kB per cell (network +
    engine state), a 3D one ~4.7 kB, so a 10^6-cell 3D mesh needs ~5 GiB of the 24."""
    for net, per_cell, per_edge in ((square_network(60, seed=0), 1100, 360),
                                    (box_network(14, seed=0), 4700, 530)):
        total = network_bytes(net) + engine_bytes(net)["total"]
        assert total / net.cells == pytest.approx(per_cell, rel=0.1)
        assert total / net.size == pytest.approx(per_edge, rel=0.1)
    assert 1e6 * total / net.cells < 6 * 2**30


@pytest.mark.parametrize("name, cells", [("heat2d", 96), ("cube3d", 14)])
def test_bytes_per_cell_of_the_graph_path_matches_the_case_check(name, cells):
    """A problem's bytes_per_cell (refusing a resolution before building) bounds the graph
    path's cost: NetworkX graph, mesh geometry and compiled network (traced peak: 1.7 kB
    per cell on the heat2d grid at 96^2, ~18 kB on the cube3d tetrahedra) and the engine
    state; the process's RSS adds the allocator's slack (~3.7 kB per cell measured at
    256^2, the figure problems.py cites). The fast builders are the way to 10^6 cells."""
    prob = get_problem(name)
    tracemalloc.start()
    graph = prob.build(cells, prob.diffusivity)
    net = compile_network(graph)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    state, _ = state_nbytes(net)
    per_cell = (peak + state) / net.cells
    assert 0.4 * prob.bytes_per_cell < per_cell < prob.bytes_per_cell   # 2.2 kB, 20 kB
    assert name != "heat2d" or prob.bytes_per_cell == BYTES_PER_CELL


def test_the_memory_check_refuses_a_cube_that_the_grid_figure_would_let_through():
    from evsim.errors import ConfigError
    from evsim.workflow.case import _physical_memory, make_case

    memory = _physical_memory()
    if not memory:
        pytest.skip("the OS does not tell the physical memory")
    prob = get_problem("cube3d")
    cells = int((memory / (0.5 * prob.bytes_per_cell)) ** (1 / 3))   # twice the memory
    assert cells ** 3 * BYTES_PER_CELL < memory                     # what 4 kB a cell let run
    with pytest.raises(ConfigError, match=f"cells = {cells} gives cube3d"):
        make_case("cube3d", cells=cells)
