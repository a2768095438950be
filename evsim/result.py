"""Results of a simulation: recorded fields, exact spike counts and the integer ledger.

A :class:`Result` is plain data (numpy arrays and numbers) and round-trips through
:meth:`Result.save` / :func:`load`: ``.npz`` always works; ``.nc`` (netCDF-4 via
xarray) needs the ``io`` extra (xarray and netCDF4, imported through
:func:`evsim.optional.require` when a ``.nc`` file is written or read).
"""
from __future__ import annotations

import json
import math
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_path
from .errors import ResultFileError
from .optional import require
from .trajectory import PACKET_BITS, TRAJECTORY_BITS

__all__ = ["Ledger", "Result", "load", "FORMAT_VERSION", "STOP_REASONS"]

#: Version of the file layout :meth:`Result.save` writes (``"format"`` in the metadata).
#: Format 2 adds the monitors' records (``monitor.<name>.<key>`` arrays and a
#: ``"monitors"`` manifest in the metadata); files of format 1 (and older, without a
#: version) still load, a newer format is refused naming it.
FORMAT_VERSION = 2

#: Payload bits of one message of each kind (:attr:`Result.event_bits`).
_EVENT_BITS = {"packet": PACKET_BITS, "trajectory": TRAJECTORY_BITS}

#: Why a run stopped (``Result.stop_reason``).
STOP_REASONS = ("t_end", "max_events", "max_wall_seconds", "interrupted", "stalled")


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


#: Saved arrays: dtype kind ("f" float, "iu" integer) and dimensions (names of
#: :data:`_DIMS`, or a fixed size); ``log_*`` only with a spike log.
_LAYOUT = {
    "times": ("f", ("T",)), "potential": ("f", ("T", "N")), "cell_count": ("iu", ("T",)),
    "edge_forward": ("iu", ("E",)), "edge_backward": ("iu", ("E",)), "edges": ("iu", ("E", 2)),
    "positions": ("f", ("N", "D")), "final_potential": ("f", ("N",)),
    "ledger_cells": ("iu", ("N",)), "ledger_reservoirs": ("iu", ("R",)),
    "log_time": ("f", ("S",)), "log_edge": ("iu", ("S",)), "log_sign": ("iu", ("S",)),
}
_DIMS = {"T": "time", "N": "cell", "E": "edge", 2: "end", "D": "dim", "R": "reservoir",
         "S": "spike"}
_KIND_NAMES = {"f": "floating point", "iu": "integer"}
_ARRAYS = tuple(k for k in _LAYOUT if not k.startswith("log_"))
_META_KEY = "__meta__"
#: Saved metadata: type and bound (JSON keeps ints and floats apart).
_META = {"quota": (float, ">0"), "t_end": (float, ">=0"), "t_final": (float, ">=0"),
         "engine": (str, None), "stop_reason": (str, None), "wall_seconds": (float, ">=0"),
         "firings": (int, ">=0"), "arrivals": (int, ">=0"), "mass_initial": (float, None),
         "in_transit": (int, ">=0"), "metadata": (dict, None)}
#: zlib's deflate cannot expand data by more than about 1032:1.
_MAX_DEFLATE_RATIO = 1100
#: Prefix of the monitors' arrays in a file: ``monitor.<name>.<key>``.
_MONITOR = "monitor."


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
    stop_reason : ``"t_end"``, ``"max_events"``, ``"max_wall_seconds"``, ``"interrupted"`` or
        ``"stalled"`` (the clock stopped advancing, see :func:`evsim.checks.stalled`).
    firings, arrivals : number of packets fired / delivered after a latency.
    mass_initial : total cell mass at ``t = 0``.
    spike_log : ``{"time", "edge", "sign"}`` arrays of every firing, or None.
    monitors : what the run's monitors recorded (:mod:`evsim.monitors`): name ->
        ``{"kind": kind, key: array, ...}``; empty without monitors.
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
    monitors: dict = field(default_factory=dict)
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
    def order(self) -> int:
        """Order of the CFQ rule: 1 (:mod:`evsim.rule`) or 2 (:mod:`evsim.trajectory`)."""
        return int(self.metadata.get("order", 1))

    @property
    def events(self) -> dict[str, int]:
        """Messages between neurons by kind: ``"packet"`` (CFQ packets, :attr:`spikes`)
        and, at order 2, ``"trajectory"`` (trajectory messages, one per receiving
        neighbour cell of each update; :mod:`evsim.trajectory`)."""
        kinds = {"packet": int(self.firings)}
        if self.order >= 2:
            kinds["trajectory"] = int(self.metadata["trajectory_messages"])
        return kinds

    @property
    def event_bits(self) -> dict[str, int]:
        """Payload in bits of one message of each kind in :attr:`events`: a packet
        carries its sign (1 bit), a trajectory message a value and a slope (2 x 32 bits)."""
        return {kind: _EVENT_BITS[kind] for kind in self.events}

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
        """Write the result to ``path`` (``.npz``, or ``.nc`` with xarray), atomically.

        The file is written beside ``path`` and renamed over it
        (:func:`evsim.atomic.atomic_path`): an interrupted save leaves the previous
        file loadable. Any suffix other than ``.nc`` becomes ``.npz``.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        MissingDependency
            ``.nc`` without xarray or netCDF4 installed (extra ``io``).
        """
        path = Path(path)
        meta = {"format": FORMAT_VERSION, **{k: getattr(self, k) for k in _META}}
        arrays = {k: getattr(self, k) for k in _ARRAYS}
        if self.spike_log is not None:
            arrays.update({f"log_{k}": v for k, v in self.spike_log.items()})
        if self.monitors:
            meta["monitors"] = {}
            for name, record in self.monitors.items():
                keys = {k: np.asarray(v) for k, v in record.items() if k != "kind"}
                meta["monitors"][name] = {"kind": str(record.get("kind", "")), "arrays": {
                    k: [v.dtype.kind, v.ndim] for k, v in keys.items()}}
                arrays.update({f"{_MONITOR}{name}.{k}": v for k, v in keys.items()})
        if path.suffix != ".nc" and path.suffix != ".npz":
            path = path.with_suffix(".npz")
        with atomic_path(path) as tmp:
            if path.suffix == ".nc":
                _save_netcdf(tmp, arrays, meta)
            else:
                np.savez_compressed(tmp, __meta__=np.array(json.dumps(meta, default=_json)),
                                    **arrays)
        return path


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _xarray(feature: str):
    """xarray, after checking that its netCDF-4 backend is installed too (extra ``io``)."""
    require("netCDF4", extra="io", feature=feature)
    return require("xarray", extra="io", feature=feature)


def _dims(key: str, ndim: int) -> list[str]:
    """netCDF dimension names of a saved array (a monitor's array has its own)."""
    if key.startswith(_MONITOR):
        return [f"{key}.{i}" for i in range(ndim)]
    return [_DIMS[s] for s in _LAYOUT[key][1]]


def _save_netcdf(path: Path, arrays: dict, meta: dict) -> None:
    xr = _xarray("writing netCDF results (.nc)")

    ds = xr.Dataset({k: (_dims(k, np.ndim(v)), v) for k, v in arrays.items()},
                    attrs={"evsim": json.dumps(meta, default=_json)})
    ds.to_netcdf(path, engine="netcdf4")


# ------------------------------------------------------------------------ load
class _Bad(Exception):
    """What is wrong with a result file (turned into ResultFileError naming the file)."""


def load(path: str | Path) -> Result:
    """Read a :class:`Result` written by :meth:`Result.save`, checking what it reads.

    Before any array is read, every member's declared shape and dtype are checked
    against the layout of a result (and, for ``.npz``, against the member's stored
    size), so a damaged or hostile file cannot make the reader allocate more than
    the file holds. Nothing is unpickled. After reading, the integer ledger is
    recomputed from the per-edge packet counts: a file whose ledger does not add
    up is refused. Files without a format version (older evsim) load when they
    pass the same checks.

    Raises
    ------
    ResultFileError
        Naming the file and what is wrong with it: missing, unreadable, not a
        result file, truncated or corrupted, written by a newer evsim, or
        inconsistent (shapes, dtypes, metadata or ledger).
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise _Bad("no such file" if not path.exists() else "not a regular file")
        arrays, meta = _read_netcdf(path) if path.suffix == ".nc" else _read_npz(path)
        _check_meta(meta)
        _check_monitors(arrays, meta)
        result = _from_parts(arrays, meta)
        _check_ledger(result)
    except _Bad as err:
        raise ResultFileError(f"{path}: {err}") from None
    except OSError as err:
        raise ResultFileError(f"{path}: cannot be read ({err.strerror or err})") from None
    return result


def _from_parts(arrays: dict, meta: dict) -> Result:
    log = {k[4:]: v for k, v in arrays.items() if k.startswith("log_")}
    kwargs = {k: meta[k] for k in _META}
    kwargs.update({k: arrays[k] for k in _ARRAYS})
    monitors = {name: {"kind": entry["kind"],
                       **{k: arrays[f"{_MONITOR}{name}.{k}"] for k in entry["arrays"]}}
                for name, entry in meta.get("monitors", {}).items()}
    return Result(**kwargs, spike_log=log or None, monitors=monitors)


def _check_monitors(arrays: dict, meta: dict) -> None:
    """The monitors' arrays are exactly those the manifest names, of its kinds and ranks."""
    manifest = meta.get("monitors", {})
    if not isinstance(manifest, dict) or (manifest and meta.get("format", 1) < 2):
        raise _Bad("metadata 'monitors' must be a JSON object (format 2)")
    expected = {}
    for name, entry in manifest.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("kind"), str)
                and isinstance(entry.get("arrays"), dict)):
            raise _Bad(f"monitor {name!r}: manifest entry must hold 'kind' and 'arrays'")
        for key, spec in entry["arrays"].items():
            if not (isinstance(spec, list) and len(spec) == 2 and spec[0] in ("f", "i", "u")
                    and isinstance(spec[1], int)):
                raise _Bad(f"monitor {name!r}: bad manifest entry for {key!r}: {spec!r}")
            expected[f"{_MONITOR}{name}.{key}"] = spec
    present = {k for k in arrays if k.startswith(_MONITOR)}
    if present != set(expected):
        raise _Bad(f"monitor arrays {sorted(present ^ set(expected))} do not match the manifest")
    for key, (kind, ndim) in expected.items():
        a = arrays[key]
        if a.ndim != ndim or a.dtype.kind != kind:
            raise _Bad(f"{key}: {a.dtype} of rank {a.ndim}, the manifest says kind {kind!r} "
                       f"rank {ndim}")


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}


def _read_npz(path: Path) -> tuple[dict, dict]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError) as err:
        raise _Bad(f"not an evsim result file (.npz is a zip archive; {err})") from None
    with archive:
        members = {}
        for info in archive.infolist():
            key = info.filename.removesuffix(".npy")
            if key == info.filename or (key != _META_KEY and key not in _LAYOUT
                                        and not key.startswith(_MONITOR)):
                raise _Bad(f"unexpected member {info.filename!r} (not written by Result.save)")
            members[key] = info
        headers = {k: _npy_header(archive, info, k) for k, info in members.items()}
        if _META_KEY not in members:
            raise _Bad("no __meta__ record (not written by Result.save)")
        meta_shape, meta_dtype = headers.pop(_META_KEY)
        if meta_shape != () or meta_dtype.kind != "U":
            raise _Bad(f"__meta__ must be a text scalar, found {meta_dtype} of shape {meta_shape}")
        _check_layout({k: v for k, v in headers.items() if not k.startswith(_MONITOR)})
        meta = _decode_meta(str(_npy_data(archive, members[_META_KEY], _META_KEY)))
        arrays = {k: _npy_data(archive, members[k], k) for k in headers}
    return arrays, meta


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                key: str) -> tuple[tuple, np.dtype]:
    """Shape and dtype of one member, checked against its stored sizes before any data."""
    if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
        raise _Bad(f"{key}: declares {info.file_size} bytes stored in {info.compress_size} "
                   "(more than compression can produce)")
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version not in _HEADER_READERS:
                raise _Bad(f"{key}: unsupported .npy format version {version}")
            shape, _, dtype = _HEADER_READERS[version](fh)
            offset = fh.tell()
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise _Bad(f"{key}: unreadable array header ({err})") from None
    if dtype.hasobject:
        raise _Bad(f"{key}: holds Python objects (dtype {dtype}); evsim never writes those")
    nbytes = math.prod(shape) * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise _Bad(f"{key}: declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                   f"{info.file_size - offset} bytes")
    return shape, dtype


def _npy_data(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str) -> np.ndarray:
    try:
        with archive.open(info) as fh:
            data = np.lib.format.read_array(fh, allow_pickle=False)
            fh.read()  # to the end of the member, where the zip CRC is verified
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise _Bad(f"{key}: corrupted data ({err})") from None
    return data


def _read_netcdf(path: Path) -> tuple[dict, dict]:
    xr = _xarray("reading netCDF results (.nc)")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            unknown = sorted(k for k in set(ds.data_vars) - set(_LAYOUT)
                             if not str(k).startswith(_MONITOR))
            if unknown:
                raise _Bad(f"unexpected variable(s) {unknown} (not written by Result.save)")
            if "evsim" not in ds.attrs:
                raise _Bad("no 'evsim' attribute (not written by Result.save)")
            _check_layout({k: (ds[k].shape, ds[k].dtype) for k in ds.data_vars
                           if not str(k).startswith(_MONITOR)})
            arrays = {k: ds[k].values for k in ds.data_vars}
            meta = _decode_meta(ds.attrs["evsim"])
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise _Bad(f"not a readable netCDF result ({err})") from None
    return arrays, meta


def _check_layout(headers: dict[str, tuple[tuple, np.dtype]]) -> None:
    """Every array present, of its kind, with consistent dimensions (before reading data)."""
    missing = [k for k in _LAYOUT if k not in headers and not k.startswith("log_")]
    logged = [k for k in _LAYOUT if k.startswith("log_")]
    if any(k in headers for k in logged):
        missing += [k for k in logged if k not in headers]
    if missing:
        raise _Bad(f"missing array(s) {missing}")
    sizes: dict[str | int, int] = {}
    for key, (shape, dtype) in headers.items():
        kind, dims = _LAYOUT[key]
        if dtype.kind not in kind:
            raise _Bad(f"{key}: dtype {dtype}, expected {_KIND_NAMES[kind]}")
        if len(shape) != len(dims):
            raise _Bad(f"{key}: shape {shape}, expected {len(dims)} dimension(s) {dims}")
        for dim, n in zip(dims, shape):
            expected = sizes.setdefault(dim, dim if isinstance(dim, int) else n)
            if n != expected:
                raise _Bad(f"{key}: shape {shape} does not match the other arrays "
                           f"(dimension {_DIMS[dim]} = {expected})")


def _decode_meta(text: str) -> dict:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise _Bad(f"__meta__ is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise _Bad(f"__meta__ must be a JSON object, found {type(meta).__name__}")
    return meta


def _check_meta(meta: dict) -> None:
    version = meta.get("format", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _Bad(f"format version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise _Bad(f"written in format {version} by a newer evsim; this one reads format "
                   f"{FORMAT_VERSION} and older")
    for key, (kind, low) in _META.items():
        if key not in meta:
            raise _Bad(f"metadata lacks {key!r}")
        value = meta[key]
        if kind is float:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and math.isfinite(value))
        else:
            ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and low is not None:
            ok = value > 0 if low == ">0" else value >= 0
        if not ok:
            bound = "" if low is None else f" {low}"
            raise _Bad(f"metadata {key!r} = {value!r} is not a {kind.__name__}{bound}")
    if meta["stop_reason"] not in STOP_REASONS:
        raise _Bad(f"stop_reason {meta['stop_reason']!r} is not one of {list(STOP_REASONS)}")
    if meta["t_final"] > meta["t_end"]:
        raise _Bad(f"t_final = {meta['t_final']!r} is after t_end = {meta['t_end']!r}")


def _check_ledger(result: Result) -> None:
    """The ledger and the packet counts of a read result tell the same story.

    Each packet leaves its sender's count at firing and joins its receiver's at
    delivery, so per node ``received - sent - n_i`` is the number of packets on
    their way to it: never negative (their sum is ``in_transit`` when the
    residual is 0).
    """
    nodes = result.ledger_cells.size + result.ledger_reservoirs.size
    if result.edges.size and (result.edges.min() < 0 or result.edges.max() >= nodes):
        raise _Bad(f"edges name nodes outside 0..{nodes - 1}")
    if np.any(result.edge_forward < 0) or np.any(result.edge_backward < 0):
        raise _Bad("negative packet counts on edges")
    fired = int(result.edge_spikes.sum(dtype=np.int64))
    if fired != result.firings:
        raise _Bad(f"firings = {result.firings} but the edges fired {fired} packets")
    if result.arrivals + result.in_transit > result.firings:
        raise _Bad(f"{result.arrivals} arrivals and {result.in_transit} packets in transit: more "
                   f"delayed packets than the {result.firings} fired")
    if result.ledger.residual != 0:
        raise _Bad(f"the ledger does not add up (residual {result.ledger.residual})")
    count = np.concatenate([result.ledger_cells, result.ledger_reservoirs]).astype(np.int64)
    on_the_way = result.node_received - result.node_spikes - count
    if np.any(on_the_way < 0):
        raise _Bad("the ledger does not match the packets fired along the edges (node "
                   f"{int(np.flatnonzero(on_the_way < 0)[0])})")
    if result.spike_log is not None and result.spike_log["time"].size != result.firings:
        raise _Bad(f"the spike log holds {result.spike_log['time'].size} firings, "
                   f"not {result.firings}")
