"""Cell graphs from mesh files (anything meshio reads) and results for ParaView.

:func:`read_mesh` extracts the linear triangles (2D) or tetrahedra (3D) of a
mesh file (gmsh ``.msh``, VTK ``.vtu``/``.vtk``, XDMF, Medit, ...) together
with its tagged boundary facets (lines in 2D, triangles in 3D), e.g. gmsh
physical groups. :func:`mesh_graph` builds the vertex-centred cell graph of
:func:`~evsim.topologies.simplicial.simplex_graph` from it, with boundary
conditions given per tag name. :func:`write_mesh` writes a mesh (with its
boundary tags), and :func:`write_results` writes the potential per cell over
time and the spike counts per cell as an XDMF time series (``.xdmf``) or a
ParaView collection of VTU files (``.pvd``), both opened by ParaView.

meshio is an optional dependency (extra ``mesh``), imported inside the functions
through :func:`evsim.optional.require`.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from evsim.errors import ConfigError, MeshError, ResultFileError
from evsim.network import Network, compile_network
from evsim.optional import require

from .fastmesh import simplex_network
from .grids import cell_nodes
from .simplicial import Condition, graph_mesh, simplex_graph

__all__ = ["read_mesh", "mesh_graph", "write_mesh", "write_results", "TAG_KEYS"]

#: Cell-data keys searched (in order) for integer boundary tags.
TAG_KEYS = ("gmsh:physical", "boundary_tag", "CellEntityIds", "cell_tags", "medit:ref", "tag")

_VOLUME = {"triangle": 2, "tetra": 3}
_FACET = {2: "line", 3: "triangle"}
_DIM_OF = {"vertex": 0, "line": 1, "line3": 1, "triangle": 2, "triangle6": 2, "triangle7": 2,
           "quad": 2, "quad8": 2, "quad9": 2, "polygon": 2, "tetra": 3, "tetra10": 3,
           "hexahedron": 3, "hexahedron20": 3, "hexahedron27": 3, "wedge": 3, "wedge15": 3,
           "pyramid": 3, "pyramid13": 3, "polyhedron": 3}


def _meshio():
    """The meshio module, or :class:`~evsim.errors.MissingDependency` naming the extra."""
    return require("meshio", extra="mesh", feature="reading and writing mesh files")


def _read(meshio, path: Path, file_format: str | None):
    """``meshio.read`` with every failure turned into a :class:`ResultFileError` naming ``path``.

    meshio ends the interpreter (``sys.exit``) when no reader accepts a file,
    and its readers raise assorted errors on truncated input; both become a
    :class:`ResultFileError` chained to the original error.
    """
    if not path.exists():
        raise ResultFileError(f"mesh file {str(path)!r} does not exist")
    what = f"cannot read mesh file {str(path)!r}" + (f" as {file_format!r}" if file_format else "")
    try:
        return meshio.read(path, file_format=file_format)
    except ImportError:
        raise                      # a reader's own optional dependency (e.g. h5py) is missing
    except SystemExit as err:
        raise ResultFileError(f"{what}: no meshio reader accepts it") from err
    except Exception as err:
        raise ResultFileError(f"{what}: {type(err).__name__}: {err}") from err


def read_mesh(source: str | os.PathLike | Any, tag_names: Mapping[int, str] | None = None,
              file_format: str | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Simplices and tagged boundary facets of a mesh file or ``meshio.Mesh``.

    Parameters
    ----------
    source
        Path of a file meshio reads, or a ``meshio.Mesh``.
    tag_names
        Names of integer tags; by default names come from the file's
        ``field_data`` (gmsh physical names) and otherwise are ``str(id)``.
    file_format
        meshio format name, when the extension is ambiguous.

    Returns
    -------
    points : ``(P, d)`` array
        Vertex coordinates (3D points with constant z are kept; the graph
        builder reduces planar triangle meshes to 2D).
    simplices : ``(M, d + 1)`` int array
        Triangles (2D) or tetrahedra (3D).
    tags : dict
        Tag name -> ``(K, d)`` boundary facets, from the first cell-data key of
        :data:`TAG_KEYS` present on facet blocks.

    Raises
    ------
    ResultFileError
        The file does not exist or meshio cannot read it (names the file).
    MeshError
        No triangle/tetra elements (empty mesh), non-linear (higher-order)
        elements, or mixed element types that are not simplices (names the
        file when ``source`` is a path).
    MissingDependency
        meshio is not installed (extra ``mesh``).
    """
    meshio = _meshio()
    if isinstance(source, meshio.Mesh):
        mesh, where = source, ""
    else:
        mesh = _read(meshio, Path(source), file_format)
        where = f"mesh file {str(source)!r}: "
    types = [block.type for block in mesh.cells]
    dims = [_DIM_OF.get(t, -1) for t in types]
    unknown = [t for t, d in zip(types, dims) if d < 0]
    if unknown:
        raise MeshError(f"{where}unsupported element type(s) {sorted(set(unknown))}")
    if not types or max(dims) < 2:
        raise MeshError(f"{where}empty mesh: no triangle or tetrahedron elements "
                        f"(element types present: {sorted(set(types)) or 'none'})")
    d = max(dims)
    volume_types = sorted({t for t, k in zip(types, dims) if k == d})
    want = "triangle" if d == 2 else "tetra"
    if volume_types != [want]:
        other = [t for t in volume_types if t != want]
        if want in volume_types:
            raise MeshError(f"{where}mixed element types: {want} with {other}; only linear "
                            "triangle (2D) or tetra (3D) meshes are supported (split the other "
                            "elements into simplices)")
        raise MeshError(f"{where}unsupported element type(s) {other}: only linear triangle (2D) "
                        "or tetra (3D) elements are supported (higher-order or non-simplex "
                        "elements must be converted)")
    simplices = np.concatenate([b.data for b in mesh.cells if b.type == want]).astype(np.int64)
    names: dict[int, str] = {}
    for name, value in (mesh.field_data or {}).items():
        value = np.atleast_1d(value)
        if len(value) >= 2 and int(value[1]) == d - 1:
            names[int(value[0])] = str(name)
        elif len(value) == 1:
            names.setdefault(int(value[0]), str(name))
    if tag_names:
        names.update({int(k): str(v) for k, v in tag_names.items()})
    key = next((k for k in TAG_KEYS if k in mesh.cell_data), None)
    tags: dict[str, list[np.ndarray]] = {}
    if key is not None:
        for block, values in zip(mesh.cells, mesh.cell_data[key]):
            if block.type != _FACET[d]:
                continue
            values = np.asarray(values).astype(np.int64).ravel()
            for tag in np.unique(values):
                label = names.get(int(tag), str(int(tag)))
                tags.setdefault(label, []).append(block.data[values == tag])
    return (np.asarray(mesh.points, dtype=float), simplices,
            {k: np.concatenate(v).astype(np.int64) for k, v in tags.items()})


def mesh_graph(
    source: str | os.PathLike | Any,
    diffusivity: float = 1.0,
    boundary: Condition | Mapping[str, Condition] = 0.0,
    tag_names: Mapping[int, str] | None = None,
    scheme: str = "auto",
    negative: str = "raise",
    orient: bool = False,
    decay: float = 0.0,
    source_density: float | Callable[[np.ndarray], float] | None = None,
    latency: float = 0.0,
    file_format: str | None = None,
) -> nx.Graph:
    """Cell graph of a triangle or tetrahedron mesh file (or ``meshio.Mesh``).

    Parameters
    ----------
    source
        Path of a mesh file meshio reads, or a ``meshio.Mesh``.
    diffusivity
        ``kappa > 0``.
    boundary
        A condition for the whole boundary, or a mapping tag name ->
        condition. Tags are the file's boundary physical groups (names from
        gmsh ``$PhysicalNames`` or ``tag_names``, else the integer id as a
        string); missing tags are Dirichlet 0. Untagged boundary facets form
        the tag ``"boundary"``, which a mapping must name (no default: a
        :class:`~evsim.errors.MeshError` gives their count). Numbers and
        ``callable(pos)`` are Dirichlet values, ``"neumann"`` is zero flux.
    tag_names
        Names for integer tags (see :func:`read_mesh`).
    scheme, negative, orient, decay, latency
        See :func:`~evsim.topologies.simplicial.simplex_graph`.
    source_density
        Constant source density ``f`` (cells get ``source = f V_i``; a hidden
        reservoir, see :func:`~evsim.topologies.grids.grid`).
    file_format
        meshio format name.

    Returns
    -------
    networkx.Graph
        As :func:`~evsim.topologies.simplicial.simplex_graph`; ``name`` is the
        file stem.

    Raises
    ------
    ResultFileError, MeshError, MissingDependency
        As :func:`read_mesh`.
    ConfigError, MeshError
        As :func:`~evsim.topologies.simplicial.simplex_graph`.
    """
    points, simplices, tags = read_mesh(source, tag_names=tag_names, file_format=file_format)
    name = Path(source).stem if isinstance(source, (str, os.PathLike)) else "mesh"
    return simplex_graph(points, simplices, diffusivity=diffusivity, boundary=boundary, tags=tags,
                         scheme=scheme, negative=negative, orient=orient, decay=decay,
                         source=source_density, latency=latency, name=name)


def mesh_network(
    source: str | os.PathLike | Any,
    diffusivity: float = 1.0,
    boundary: Condition | Mapping[str, Condition] = 0.0,
    *,
    tag_names: Mapping[int, str] | None = None,
    file_format: str | None = None,
    source_density: float | Callable[[np.ndarray], float] | None = None,
    order: str | None = None,
    **options: Any,
) -> Network:
    """Compiled cell network of a mesh file, without a NetworkX graph (million-cell meshes).

    :func:`read_mesh` then :func:`~evsim.topologies.fastmesh.simplex_network`: with
    ``order=None`` exactly ``compile_network(mesh_graph(source, ...))``, bit for bit;
    ``order="rcm"`` or ``"morton"`` renumbers cells and edges for locality (mesh
    generators number vertices in their own order; docs/scale.md).

    Parameters
    ----------
    source, diffusivity, boundary, tag_names, file_format, source_density
        As for :func:`mesh_graph`.
    order
        ``None``, ``"rcm"`` or ``"morton"`` (:mod:`~evsim.topologies.ordering`).
    **options
        ``scheme``, ``negative``, ``orient``, ``decay``, ``latency``, as for
        :func:`mesh_graph`.

    Returns
    -------
    evsim.network.Network

    Raises
    ------
    ResultFileError, MeshError, MissingDependency, ConfigError
        As :func:`mesh_graph`.
    """
    points, simplices, tags = read_mesh(source, tag_names=tag_names, file_format=file_format)
    return simplex_network(points, simplices, diffusivity=diffusivity, boundary=boundary,
                           tags=tags, source=source_density, order=order, **options)


def write_mesh(path: str | os.PathLike, points: np.ndarray, simplices: np.ndarray,
               tags: Mapping[str, np.ndarray] | None = None, file_format: str | None = None) -> None:
    """Write a simplicial mesh and its tagged boundary facets with meshio.

    Tags are written as integer cell data ``gmsh:physical`` on a facet block
    (ids ``1, 2, ...`` in the order of ``tags``) and their names as
    ``field_data`` (kept by gmsh files; formats that drop field data read back
    as ids ``"1"``, ``"2"``..., name them with ``read_mesh(tag_names=...)``).
    ``.msh`` files are written as ASCII gmsh 2.2.

    Parameters
    ----------
    path
        Output file; the extension selects the meshio format.
    points
        ``(P, 2)`` or ``(P, 3)`` vertex coordinates.
    simplices
        ``(M, 3)`` triangles or ``(M, 4)`` tetrahedra.
    tags
        Tag name -> ``(K, d)`` boundary facets.
    file_format
        meshio format name (default: from the extension).

    Raises
    ------
    MeshError
        ``simplices`` is not an ``(M, 3)`` or ``(M, 4)`` array.
    MissingDependency
        meshio is not installed (extra ``mesh``).
    """
    points = np.asarray(points, dtype=float)
    simplices = np.asarray(simplices, dtype=np.int64)
    if simplices.ndim != 2 or simplices.shape[1] not in (3, 4):
        raise MeshError(f"simplices must be (M, 3) triangles or (M, 4) tetrahedra, "
                        f"got shape {simplices.shape}")
    meshio = _meshio()
    d = simplices.shape[1] - 1
    cells = [("triangle" if d == 2 else "tetra", simplices)]
    cell_data = {"gmsh:physical": [np.zeros(len(simplices), dtype=np.int64)],
                 "gmsh:geometrical": [np.zeros(len(simplices), dtype=np.int64)]}
    field_data = {}
    if tags:
        facets, ids = [], []
        for k, (name, f) in enumerate(tags.items(), start=1):
            f = np.asarray(f, dtype=np.int64).reshape(-1, d)
            facets.append(f)
            ids.append(np.full(len(f), k, dtype=np.int64))
            field_data[str(name)] = np.array([k, d - 1])
        cells.append((_FACET[d], np.concatenate(facets)))
        cell_data["gmsh:physical"].append(np.concatenate(ids))
        cell_data["gmsh:geometrical"].append(np.concatenate(ids))
    if points.shape[1] == 2:
        points = np.c_[points, np.zeros(len(points))]
    mesh = meshio.Mesh(points, cells, cell_data=cell_data, field_data=field_data)
    kwargs: dict[str, Any] = {}
    fmt = file_format
    if fmt is None and str(path).endswith(".msh"):
        fmt, kwargs = "gmsh22", {"binary": False}
    mesh.write(path, file_format=fmt, **kwargs)


def _vertex_fields(graph: nx.Graph, result: Any = None, times=None, potential=None):
    """Per-vertex potential over time and spike counts, with reservoirs filled in."""
    _, _, nodes = graph_mesh(graph)
    cells = cell_nodes(graph)
    cell_index = {n: k for k, n in enumerate(cells)}
    if result is not None:
        times, potential = result.times, result.potential
    if times is None or potential is None:
        raise ConfigError("write_results needs a result, or both times and potential")
    times = np.atleast_1d(np.asarray(times, dtype=float))
    potential = np.asarray(potential, dtype=float)
    if potential.size != len(times) * len(cells):
        raise ConfigError(f"potential has shape {potential.shape}, expected ({len(times)}, "
                          f"{len(cells)}) for {len(times)} times and {len(cells)} cells")
    potential = potential.reshape(len(times), len(cells))
    is_cell = np.array([n in cell_index for n in nodes])
    col = np.array([cell_index.get(n, 0) for n in nodes])
    fixed = np.array([0.0 if n in cell_index else float(graph.nodes[n].get("potential", 0.0))
                      for n in nodes])
    vertex_potential = np.where(is_cell[None, :], potential[:, col], fixed[None, :])
    static: dict[str, np.ndarray] = {
        "is_cell": is_cell.astype(np.int64),
        "volume": np.array([graph.nodes[n]["volume"] if n in cell_index else 0.0 for n in nodes]),
    }
    if result is not None and getattr(result, "node_spikes", None) is not None:
        net = getattr(result, "network", None)
        if net is None:
            net = compile_network(graph)
        where = {n: k for k, n in enumerate(net.nodes)}
        idx = np.array([where[n] for n in nodes])
        static["spikes_sent"] = np.asarray(result.node_spikes)[idx].astype(np.int64)
        static["spikes_received"] = np.asarray(result.node_received)[idx].astype(np.int64)
    return times, vertex_potential, static


def write_results(path: str | os.PathLike, graph: nx.Graph, result: Any = None, *,
                  times: np.ndarray | None = None, potential: np.ndarray | None = None) -> Path:
    """Write potentials over time and spike counts per cell for ParaView.

    Parameters
    ----------
    path
        ``*.xdmf``: XDMF temporal collection with inline XML data (one file);
        ``*.pvd``: ParaView collection referencing one ``*_NNNN.vtu`` per time.
    graph
        A mesh cell graph (it carries ``points``, ``simplices``, ``vertex_nodes``).
    result
        An :class:`evsim.Result`: its ``times``, ``potential`` and per-node
        spike counts (``node_spikes`` sent, ``node_received``) are written.
    times, potential
        Instead of ``result``: record times ``(T,)`` and cell potentials ``(T, N)``.

    Point data: ``potential`` (reservoir vertices hold their fixed potential),
    ``is_cell``, ``volume`` and, with a result, ``spikes_sent`` and
    ``spikes_received``.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ConfigError
        An extension other than ``.xdmf``/``.pvd``, or potentials that do not
        match the times and cells.
    GraphError
        ``graph`` carries no mesh.
    MissingDependency
        meshio is not installed (extra ``mesh``).
    """
    path = Path(path)
    if path.suffix not in (".xdmf", ".pvd"):
        raise ConfigError(f"unknown results format {path.suffix!r} of {str(path)!r}: "
                          "use '.xdmf' or '.pvd'")
    meshio = _meshio()
    times, vpot, static = _vertex_fields(graph, result, times, potential)
    points, simplices, _ = graph_mesh(graph)
    if points.shape[1] == 2:
        points = np.c_[points, np.zeros(len(points))]
    cells = [("triangle" if simplices.shape[1] == 3 else "tetra", simplices)]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xdmf":
        with meshio.xdmf.TimeSeriesWriter(str(path), data_format="XML") as writer:
            writer.write_points_cells(points, cells)
            for k, t in enumerate(times):
                writer.write_data(float(t), point_data={"potential": vpot[k], **static})
    else:
        entries = []
        for k, t in enumerate(times):
            name = f"{path.stem}_{k:04d}.vtu"
            meshio.Mesh(points, cells, point_data={"potential": vpot[k], **static}).write(
                path.parent / name)
            entries.append(f'    <DataSet timestep="{float(t)!r}" part="0" file="{name}"/>')
        path.write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
                        "  <Collection>\n" + "\n".join(entries) + "\n  </Collection>\n</VTKFile>\n")
    return path
