"""Results of a simulation: recorded fields, exact spike counts and the integer ledger.

A :class:`Result` is plain data (numpy arrays and numbers) and round-trips through
:meth:`Result.save` / :func:`load`: ``.npz`` always works; ``.nc`` (netCDF-4 via
xarray) needs the ``io`` extra (xarray and netCDF4, imported through
:func:`evsim.optional.require` when a ``.nc`` file is written or read).
"""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ResultFileError
from .optional import require

__all__ = ["Ledger", "Result", "load"]


@dataclass(eq=False)
class Ledger:
    """Integer mass ledger: the conservation certificate of a run.

    Every cell and reservoir stores its mass as ``m_i = b_i + q n_i``; packets
    move integers only, so ``sum(cells) + sum(reservoirs) + in_transit == 0``
    holds exactly, for any quota, mesh and run length.
    """

    cells: np.ndarray        #: (N,) n_i of the cells
    reservoirs: np.ndarray   #: (R,) n_i of the reservoirs (Dirichlet, ground, source)
    in_transit: int          #: packets fired but not yet arrived

    @property
    def residual(self) -> int:
        """``sum(n_cells) + sum(n_reservoirs) + n_in_transit``; exactly 0."""
        return int(self.cells.sum(dtype=np.int64) + self.reservoirs.sum(dtype=np.int64)
                   + self.in_transit)

    def __repr__(self) -> str:
        return (f"Ledger(cells={self.cells.size}, reservoirs={self.reservoirs.size}, "
                f"in_transit={self.in_transit}, residual={self.residual})")


_SCALARS = ("quota", "t_end", "t_final", "engine", "stop_reason", "wall_seconds",
            "firings", "arrivals", "mass_initial")
_ARRAYS = ("times", "potential", "cell_count", "edge_forward", "edge_backward", "edges",
           "positions", "final_potential", "ledger_cells", "ledger_reservoirs")


@dataclass(eq=False)
class Result:
    """Outcome of :func:`evsim.simulate`.

    Attributes
    ----------
    times : (T,) record times reached (a run stopped early keeps those taken).
    potential : (T, N) cell potentials ``u_i`` at the record times.
    cell_count : (T,) sum of the cells' ledger counts at each record time.
    edge_forward, edge_backward : (E,) packets fired along / against each edge.
    edges : (E, 2) node indices (cells ``0..N-1``, then reservoirs) of each edge.
    positions : (N, dim) cell centres.
    final_potential : (N,) potentials when the run stopped (at ``t_final``).
    ledger : :class:`Ledger`.
    quota, t_end, t_final, engine, wall_seconds : run parameters and timing.
    stop_reason : ``"t_end"``, ``"max_events"``, ``"max_wall_seconds"`` or ``"interrupted"``.
    firings, arrivals : number of packets fired / delivered after a latency.
    mass_initial : total cell mass at ``t = 0``.
    spike_log : ``{"time", "edge", "sign"}`` arrays of every firing, or None.
    network : the compiled :class:`~evsim.network.Network` (not saved).
    """

    times: np.ndarray
    potential: np.ndarray
    cell_count: np.ndarray
    edge_forward: np.ndarray
    edge_backward: np.ndarray
    edges: np.ndarray
    positions: np.ndarray
    final_potential: np.ndarray
    ledger_cells: np.ndarray
    ledger_reservoirs: np.ndarray
    in_transit: int
    quota: float
    t_end: float
    t_final: float
    engine: str
    stop_reason: str
    wall_seconds: float
    firings: int
    arrivals: int
    mass_initial: float
    spike_log: dict | None = None
    metadata: dict = field(default_factory=dict)
    network: Any = field(default=None, repr=False)

    # ---------------------------------------------------------------- derived
    @property
    def ledger(self) -> Ledger:
        """The integer mass ledger; ``ledger.residual == 0`` exactly."""
        return Ledger(self.ledger_cells, self.ledger_reservoirs, int(self.in_transit))

    @property
    def spikes(self) -> int:
        """Total packets fired."""
        return int(self.firings)

    @property
    def edge_spikes(self) -> np.ndarray:
        """(E,) packets fired on each edge, both directions."""
        return self.edge_forward + self.edge_backward

    @property
    def edge_flow(self) -> np.ndarray:
        """(E,) net forward packets on each edge."""
        return self.edge_forward - self.edge_backward

    @property
    def node_spikes(self) -> np.ndarray:
        """(N + R,) packets sent by each node (cells, then reservoirs)."""
        n = self.ledger_cells.size + self.ledger_reservoirs.size
        return (np.bincount(self.edges[:, 0], self.edge_forward, n)
                + np.bincount(self.edges[:, 1], self.edge_backward, n)).astype(np.int64)

    @property
    def node_received(self) -> np.ndarray:
        """(N + R,) packets addressed to each node (delivered or in flight)."""
        n = self.ledger_cells.size + self.ledger_reservoirs.size
        return (np.bincount(self.edges[:, 1], self.edge_forward, n)
                + np.bincount(self.edges[:, 0], self.edge_backward, n)).astype(np.int64)

    @property
    def mass(self) -> np.ndarray:
        """(T,) total cell mass ``sum_i (b_i + q n_i)`` at the record times."""
        return self.mass_initial + self.quota * self.cell_count

    @property
    def mass_final(self) -> float:
        """Total cell mass when the run stopped."""
        return float(self.mass_initial + self.quota * self.ledger_cells.sum())

    @property
    def boundary_mass(self) -> float:
        """Net mass delivered into reservoirs (negative: reservoirs gave mass)."""
        return float(self.quota * self.ledger_reservoirs.sum())

    @property
    def events_per_second(self) -> float:
        """Packets fired per wall-clock second."""
        return self.firings / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def __repr__(self) -> str:
        return (f"Result(engine={self.engine!r}, cells={self.potential.shape[1]}, "
                f"records={self.times.size}, spikes={self.spikes}, t_final={self.t_final:g}, "
                f"stop_reason={self.stop_reason!r}, ledger_residual={self.ledger.residual})")

    # ---------------------------------------------------------------- I/O
    def save(self, path: str | Path) -> Path:
        """Write the result to ``path`` (``.npz``, or ``.nc`` with the ``io`` extra).

        Parameters
        ----------
        path
            Output file; a suffix other than ``.nc`` is replaced by ``.npz``.

        Returns
        -------
        pathlib.Path
            Where the result was written (the ``.npz`` suffix applied).

        Raises
        ------
        MissingDependency
            ``.nc`` without xarray or netCDF4 installed (extra ``io``).
        """
        path = Path(path)
        meta = {k: getattr(self, k) for k in _SCALARS}
        meta.update(in_transit=int(self.in_transit), metadata=self.metadata)
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        if self.spike_log is not None:
            arrays.update({f"log_{k}": v for k, v in self.spike_log.items()})
        if path.suffix == ".nc":
            _save_netcdf(path, arrays, meta)
        else:
            if path.suffix != ".npz":
                path = path.with_suffix(".npz")
            np.savez_compressed(path, __meta__=np.array(json.dumps(meta, default=_json)), **arrays)
        return path


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _from_parts(arrays: dict, meta: dict) -> Result:
    log = {k[4:]: v for k, v in arrays.items() if k.startswith("log_")}
    kwargs = {f.name: meta[f.name] for f in fields(Result) if f.name in meta}
    kwargs.update({k: arrays[k] for k in _ARRAYS})
    return Result(**kwargs, spike_log=log or None)


def _xarray(feature: str):
    """xarray, after checking that its netCDF-4 backend is installed too (extra ``io``)."""
    require("netCDF4", extra="io", feature=feature)
    return require("xarray", extra="io", feature=feature)


def _save_netcdf(path: Path, arrays: dict, meta: dict) -> None:
    xr = _xarray("writing netCDF results (.nc)")

    dims = {"times": ("time",), "potential": ("time", "cell"), "cell_count": ("time",),
            "edge_forward": ("edge",), "edge_backward": ("edge",), "edges": ("edge", "end"),
            "positions": ("cell", "dim"), "final_potential": ("cell",),
            "ledger_cells": ("cell",), "ledger_reservoirs": ("reservoir",),
            "log_time": ("spike",), "log_edge": ("spike",), "log_sign": ("spike",)}
    ds = xr.Dataset({k: (dims[k], v) for k, v in arrays.items()},
                    attrs={"evsim": json.dumps(meta, default=_json)})
    ds.to_netcdf(path, engine="netcdf4")


#: Result fields a saved file must provide (the rest have defaults).
_REQUIRED = tuple(f.name for f in fields(Result)
                  if f.default is MISSING and f.default_factory is MISSING and f.name not in _ARRAYS)


def _read_npz(path: Path) -> tuple[dict, Any]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"]))
    return arrays, meta


def _read_netcdf(path: Path) -> tuple[dict, Any]:
    xr = _xarray("reading netCDF results (.nc)")
    with xr.open_dataset(path, engine="netcdf4") as ds:
        arrays = {k: ds[k].values for k in ds.data_vars}
        meta = json.loads(ds.attrs["evsim"])
    return arrays, meta


def load(path: str | Path) -> Result:
    """Read a :class:`Result` written by :meth:`Result.save`.

    Parameters
    ----------
    path
        A ``.npz`` file, or a ``.nc`` file (extra ``io``).

    Returns
    -------
    Result
        The saved result (``network`` is not saved: ``None``).

    Raises
    ------
    ResultFileError
        The file does not exist, is not a readable archive (corrupt or
        truncated), or lacks the metadata or arrays of a result; the message
        names the file.
    MissingDependency
        A ``.nc`` file without xarray or netCDF4 installed (extra ``io``).
    """
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"result file {str(path)!r} does not exist")
    read = _read_netcdf if path.suffix == ".nc" else _read_npz
    try:
        arrays, meta = read(path)
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        raise ResultFileError(f"cannot read result file {str(path)!r} (corrupt, truncated or not "
                              f"written by Result.save): {type(err).__name__}: {err}") from err
    if not isinstance(meta, dict):
        raise ResultFileError(f"result file {str(path)!r}: metadata is not a JSON object")
    missing = [k for k in _ARRAYS if k not in arrays] + [k for k in _REQUIRED if k not in meta]
    if missing:
        raise ResultFileError(f"result file {str(path)!r} is not an evsim result: it lacks {missing}")
    return _from_parts(arrays, meta)
