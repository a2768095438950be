"""Mesh and graph builders: every builder returns an ``nx.Graph`` of C-LIF cells
and reservoirs with the attributes documented in :mod:`evsim.topologies.grids`,
except the ``*_network`` builders of :mod:`evsim.topologies.fastmesh`, which return
the compiled :class:`evsim.network.Network` directly (million-cell meshes)."""
from .grids import SIDES, cell_nodes, cell_positions, grid, grid_1d, grid_2d, grid_3d
from .domains import Domain, annulus, disk, l_shape, polygon, square_with_hole
from .fastmesh import (box_network, disk_mesh, disk_network, simplex_network, square_mesh,
                       square_network)
from .meshfile import mesh_graph, mesh_network, read_mesh, write_mesh, write_results
from .simplicial import simplex_graph
from .tetra import tetra_ball, tetra_box, tetrahedralize_ball, tetrahedralize_box
from .voronoi import triangulate, voronoi_2d

__all__ = ["SIDES", "cell_nodes", "cell_positions", "grid", "grid_1d", "grid_2d", "grid_3d",
           "Domain", "annulus", "disk", "l_shape", "polygon", "square_with_hole",
           "mesh_graph", "mesh_network", "read_mesh", "write_mesh", "write_results", "simplex_graph",
           "tetra_ball", "tetra_box", "tetrahedralize_ball", "tetrahedralize_box",
           "triangulate", "voronoi_2d", "box_network", "simplex_network", "square_mesh",
           "square_network", "disk_mesh", "disk_network"]
