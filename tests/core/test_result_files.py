"""Result files: atomic saves, and a loader that refuses what is not a consistent result."""
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.atomic import TEMP_MARKER, write_atomic
from evsim.errors import ResultFileError
from evsim.result import FORMAT_VERSION


def small_result(quota=1e-3, cells=12, **kw):
    mesh = topologies.grid_1d(cells=cells, length=1.0, diffusivity=0.1)
    x = topologies.cell_positions(mesh)
    return evsim.simulate(mesh, u0=np.sin(np.pi * x[:, 0]), quota=quota, t_end=0.2,
                          progress=False, **kw)


@pytest.fixture(scope="module")
def result():
    return small_result(spike_log=True)


@pytest.fixture
def saved(result, tmp_path):
    return result.save(tmp_path / "result.npz")


def members(path):
    """The arrays and metadata of a saved .npz, as plain numpy data."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"]))
    return arrays, meta


def rewrite(path, arrays, meta):
    np.savez_compressed(path, __meta__=np.array(json.dumps(meta)), **arrays)
    return path


def same(a, b):
    return (np.array_equal(a.potential, b.potential)
            and np.array_equal(a.ledger_cells, b.ledger_cells)
            and a.quota == b.quota and a.firings == b.firings)


def refused(path, *words):
    with pytest.raises(ResultFileError) as info:
        evsim.load(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


# ------------------------------------------------------------------ round trip
def test_round_trip_writes_the_format_version_and_no_temporary_file(result, saved):
    assert members(saved)[1]["format"] == FORMAT_VERSION
    back = evsim.load(saved)
    assert same(back, result) and back.ledger.residual == 0
    assert np.array_equal(back.spike_log["edge"], result.spike_log["edge"])
    assert sorted(os.listdir(saved.parent)) == ["result.npz"]


def test_file_without_a_version_loads_when_consistent(result, saved):
    arrays, meta = members(saved)
    del meta["format"]
    assert same(evsim.load(rewrite(saved, arrays, meta)), result)


def test_suffix_other_than_nc_becomes_npz(result, tmp_path):
    assert result.save(tmp_path / "run.dat") == tmp_path / "run.npz"
    assert evsim.load(tmp_path / "run.npz").firings == result.firings


def test_netcdf_round_trip_is_checked_too(result, tmp_path):
    pytest.importorskip("xarray")
    path = result.save(tmp_path / "result.nc")
    assert same(evsim.load(path), result)
    path.write_bytes(path.read_bytes()[:200])
    refused(path)


# ------------------------------------------------------------------ damaged files
def test_missing_file_and_directory(tmp_path):
    refused(tmp_path / "nothing.npz", "no such file")
    refused(tmp_path, "not a regular file")


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, fraction):
    data = saved.read_bytes()
    saved.write_bytes(data[:int(len(data) * fraction)])
    refused(saved)


@pytest.mark.parametrize("member", ["__meta__", "times", "potential", "edges", "ledger_cells",
                                    "log_time"])
def test_bit_flip_in_a_member(saved, member):
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo(f"{member}.npy")
    data = bytearray(saved.read_bytes())
    data[info.header_offset + len(info.FileHeader()) + info.compress_size // 2] ^= 0x10
    saved.write_bytes(bytes(data))
    refused(saved, member)


@pytest.mark.parametrize("where", [0.5, 0.9, 0.99])
def test_bit_flip_in_the_zip_directory(saved, where):
    data = bytearray(saved.read_bytes())
    directory = data.index(b"PK\x01\x02")
    data[directory + int((len(data) - directory) * where)] ^= 0xFF
    saved.write_bytes(bytes(data))
    refused(saved)


def test_text_file_is_not_a_result(tmp_path):
    path = tmp_path / "result.npz"
    path.write_text("problem = 'heat1d'\n")
    refused(path, "not an evsim result file")


def test_foreign_npz_is_not_a_result(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    refused(path, "unexpected member 'weights.npy'")


def test_npz_without_metadata(saved):
    arrays, _ = members(saved)
    np.savez(saved, **arrays)
    refused(saved, "no __meta__")


def test_huge_declared_shape_is_refused_before_allocating(tmp_path):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    buf.write(b"\0" * 64)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("times.npy", buf.getvalue())
    tracemalloc.start()
    try:
        refused(path, "times", "(1000000000000,)")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_zip_member_declaring_more_than_deflate_can_produce(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("potential.npy")
    central = data.find(b"potential.npy", data.index(b"PK\x01\x02")) - 46
    assert data[central:central + 4] == b"PK\x01\x02"
    data[central + 24:central + 28] = (info.compress_size * 5000).to_bytes(4, "little")
    saved.write_bytes(bytes(data))
    refused(saved, "potential", "more than compression can produce")


# ------------------------------------------------------------------ tampered content
def shifted(arrays, key, index, delta):
    arrays[key][index] += delta


TAMPERED = [  # (what, mutate(arrays, meta), words of the message)
    ("pickled objects", lambda a, m: a.update(times=np.array([{"evil": 1}, None], dtype=object)),
     ["times", "Python objects"]),
    ("missing array", lambda a, m: a.pop("edges"), ["missing array(s) ['edges']"]),
    ("inconsistent shapes", lambda a, m: a.update(final_potential=a["final_potential"][:-1]),
     ["final_potential", "does not match"]),
    ("wrong dtype", lambda a, m: a.update(ledger_cells=a["ledger_cells"].astype(float)),
     ["ledger_cells", "expected integer"]),
    ("newer format", lambda a, m: m.update(format=FORMAT_VERSION + 1), ["newer evsim"]),
    ("metadata without a key", lambda a, m: m.pop("quota"), ["lacks 'quota'"]),
    ("quota as text", lambda a, m: m.update(quota="1e-3"), ["'quota'"]),
    ("negative quota", lambda a, m: m.update(quota=-1.0), ["'quota'"]),
    ("NaN t_final", lambda a, m: m.update(t_final=float("nan")), ["'t_final'"]),
    ("fractional firings", lambda a, m: m.update(firings=1.5), ["'firings'"]),
    ("boolean in_transit", lambda a, m: m.update(in_transit=True), ["'in_transit'"]),
    ("numeric engine", lambda a, m: m.update(engine=3), ["'engine'"]),
    ("unknown stop_reason", lambda a, m: m.update(stop_reason="tired"), ["stop_reason 'tired'"]),
    ("format as text", lambda a, m: m.update(format="1"), ["format version"]),
    ("metadata as a list", lambda a, m: m.update(metadata=[]), ["'metadata'"]),
    ("t_final after t_end", lambda a, m: m.update(t_final=99.0), ["after t_end"]),
    ("nonzero residual", lambda a, m: shifted(a, "ledger_cells", 0, 1), ["does not add up"]),
    ("ledger that sums to zero but contradicts the edges",
     lambda a, m: (shifted(a, "ledger_cells", 2, 1), shifted(a, "ledger_cells", 5, -1)),
     ["does not match the packets"]),
    ("firings that contradict the edges", lambda a, m: m.update(firings=m["firings"] + 1),
     ["firings"]),
    ("edges outside the nodes", lambda a, m: a["edges"].__setitem__((0, 1), 10**6), ["outside"]),
    ("more arrivals than firings", lambda a, m: m.update(arrivals=m["firings"] + 1), ["delayed"]),
]


@pytest.mark.parametrize("mutate, words", [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED])
def test_tampered_file_is_refused(saved, mutate, words):
    arrays, meta = members(saved)
    mutate(arrays, meta)
    refused(rewrite(saved, arrays, meta), *words)


def test_packets_in_transit_are_accounted_per_node(tmp_path):
    from evsim.analysis.mapping import CoreMesh, map_cells, with_noc_timing
    from evsim.workflow.problems import get_problem

    case = get_problem("heat1d").case(cells=40, quota=1e-4, t_end=0.3)
    graph, routing = with_noc_timing(case.graph, map_cells(case.graph, CoreMesh(2, 2, 10)),
                                     0.01, 50.0)
    r = case.simulate(graph=graph, routing=routing, max_events=5000, progress=False)
    assert r.in_transit > 0
    path = r.save(tmp_path / "r.npz")
    assert evsim.load(path).in_transit == r.in_transit
    arrays, meta = members(path)
    meta["arrivals"] = meta["firings"]
    refused(rewrite(path, arrays, meta), "delayed")


# ------------------------------------------------------------------ atomic writes
SLOW_SAVE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import evsim, evsim.result

    result = evsim.load(sys.argv[1])
    result.quota *= 2

    def slow(file, **arrays):
        with open(file, "wb") as fh:
            fh.write(b"PK partial")
            fh.flush()
            time.sleep(60)

    evsim.result.np.savez_compressed = slow
    result.save(sys.argv[1])
""")


def test_kill_9_during_save_leaves_the_previous_file(result, saved):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(saved)])
    try:
        deadline = time.monotonic() + 60
        while not any(TEMP_MARKER in p.name for p in saved.parent.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert same(evsim.load(saved), result)


def test_failed_save_removes_its_temporary_file(result, saved, monkeypatch):
    def broken(file, **arrays):
        raise OSError("disk full")

    monkeypatch.setattr(evsim.result.np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        result.save(saved)
    assert sorted(os.listdir(saved.parent)) == ["result.npz"]
    assert same(evsim.load(saved), result)


def test_concurrent_saves_leave_one_complete_file(tmp_path):
    results = [small_result(quota=q) for q in (1e-3, 2e-3, 4e-3)]
    path = tmp_path / "result.npz"
    errors = []

    def writer(r):
        try:
            for _ in range(8):
                r.save(path)
        except Exception as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    back = evsim.load(path)
    assert sum(same(back, r) for r in results) == 1
    assert sorted(os.listdir(tmp_path)) == ["result.npz"]


def test_concurrent_saves_from_processes_leave_one_complete_file(tmp_path):
    sources = [small_result(quota=q).save(tmp_path / f"source{i}.npz")
               for i, q in enumerate((1e-3, 3e-3))]
    target = tmp_path / "out" / "result.npz"
    target.parent.mkdir()
    script = ("import sys, evsim\nr = evsim.load(sys.argv[1])\n"
              "for _ in range(10):\n    r.save(sys.argv[2])\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(src), str(target)])
             for src in sources]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    back = evsim.load(target)
    assert sum(same(back, evsim.load(src)) for src in sources) == 1
    assert sorted(os.listdir(target.parent)) == ["result.npz"]


def test_write_atomic_text_and_bytes(tmp_path):
    assert write_atomic(tmp_path / "a.json", "{}\n").read_text() == "{}\n"
    assert write_atomic(tmp_path / "a.json", b"[]").read_bytes() == b"[]"
    assert sorted(os.listdir(tmp_path)) == ["a.json"]
