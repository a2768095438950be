"""Mesh and graph builders: every builder returns an ``nx.Graph`` of C-LIF cells
and reservoirs with the attributes documented in :mod:`evsim.topologies.grids`."""
from .grids import SIDES, cell_nodes, cell_positions, grid, grid_1d, grid_2d, grid_3d

__all__ = ["SIDES", "cell_nodes", "cell_positions", "grid", "grid_1d", "grid_2d", "grid_3d"]
