"""Checkpoint and resume: a run stopped and resumed equals the run without the stop."""
import dataclasses
import importlib

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.checkpoint import load_checkpoint, save_checkpoint


def _problem(latency):
    graph = topologies.grid_2d(cells=6, diffusivity=0.1, latency=latency)
    x = topologies.cell_positions(graph)
    return graph, np.sin(np.pi * x[:, 0]) * np.sin(np.pi * x[:, 1])


def _routing(graph):
    net = evsim.compile_network(graph)
    E = net.size
    ptr = np.arange(2 * E + 1, dtype=np.int64)          # one link per direction...
    links = np.arange(2 * E, dtype=np.int64) % 7         # ...shared by several routes
    return evsim.Routing(ptr, links, np.full(7, 1e-3))


def _assert_same(a, b):
    for f in dataclasses.fields(evsim.Result):
        if f.name in ("wall_seconds", "network", "spike_log", "metadata"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert x == y, f.name
    for k in ("time", "edge", "sign"):
        assert np.array_equal(a.spike_log[k], b.spike_log[k]), k


CASES = {"plain": (0.0, False), "latency": (0.02, False), "routing": (0.01, True)}


@pytest.mark.parametrize("engine", sorted(evsim.ENGINES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_is_bit_identical(tmp_path, engine, case):
    latency, routed = CASES[case]
    graph, u0 = _problem(latency)
    run = dict(quota=2e-4, t_end=0.2, record=np.linspace(0, 0.2, 7), engine=engine,
               spike_log=True, routing=_routing(graph) if routed else None, progress=False)
    whole = evsim.simulate(graph, u0, **run)
    assert whole.stop_reason == "t_end" and whole.spikes > 1000
    path = tmp_path / "run.ckpt"
    first = evsim.simulate(graph, u0, **run, max_events=whole.spikes // 3, checkpoint=path)
    assert first.stop_reason == "max_events" and path.exists()
    second = evsim.resume(path, max_events=2 * whole.spikes // 3)   # a checkpoint of a resumed run
    assert second.stop_reason == "max_events"
    rest = evsim.resume(path)
    assert rest.stop_reason == "t_end" and rest.ledger.residual == 0
    _assert_same(whole, rest)


@pytest.mark.parametrize("engine", sorted(evsim.ENGINES))
def test_periodic_checkpoints_resume(tmp_path, monkeypatch, engine):
    graph, u0 = _problem(0.01)
    run = dict(quota=2e-4, t_end=0.1, engine=engine, spike_log=True, progress=False)
    whole = evsim.simulate(graph, u0, **run)
    module = importlib.import_module("evsim.simulate")
    saved = []

    def spy(path, run, network, state, monitors=None):
        saved.append(int(state.cursor[1] + state.cursor[2]))
        return save_checkpoint(path, run, network, state, monitors)

    monkeypatch.setattr(module, "save_checkpoint", spy)
    monkeypatch.setattr(evsim.ENGINES[engine], "chunk", 200)   # many chunks
    path = tmp_path / "every.ckpt"
    stopped = evsim.simulate(graph, u0, **run, checkpoint=path, checkpoint_every=500,
                             max_events=whole.spikes // 2)
    assert stopped.stop_reason == "max_events"
    assert saved[:-1] == list(range(600, whole.spikes // 2, 600))  # every 500 events, chunk-aligned
    assert saved[-1] == whole.spikes // 2                           # and at the stop
    _assert_same(whole, evsim.resume(path))


def test_checkpoint_holds_the_state_and_rejects_other_files(tmp_path):
    graph, u0 = _problem(0.0)
    path = tmp_path / "c.ckpt"
    evsim.simulate(graph, u0, quota=2e-4, t_end=0.1, max_events=500, checkpoint=path, progress=False)
    run, net, state, monitors = load_checkpoint(path)
    assert monitors is None                                          # a run without monitors
    assert run.quota == 2e-4 and int(state.cursor[1] + state.cursor[2]) == 500
    assert not net.edges.flags.writeable
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(evsim.ResultFileError):
        evsim.resume(bad)
    with pytest.raises(evsim.ResultFileError):
        evsim.resume(tmp_path / "missing.ckpt")


@pytest.mark.parametrize("every", [0, -1, "10", True])
def test_bad_checkpoint_every(tmp_path, every):
    graph, u0 = _problem(0.0)
    with pytest.raises(evsim.ConfigError):
        evsim.simulate(graph, u0, checkpoint=tmp_path / "c", checkpoint_every=every)
    with pytest.raises(evsim.ConfigError, match="needs a checkpoint"):
        evsim.simulate(graph, u0, checkpoint_every=10)


def test_interrupted_compiled_run_leaves_a_checkpoint(tmp_path, monkeypatch):
    graph, u0 = _problem(0.01)
    run = dict(quota=2e-4, t_end=0.1, spike_log=True, progress=False)
    whole = evsim.simulate(graph, u0, **run)
    cls = evsim.ENGINES["compiled"]
    real, calls = cls.run, []

    def ctrl_c_on_third_chunk(self, max_events):
        calls.append(max_events)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, max_events)

    monkeypatch.setattr(cls, "chunk", 300)
    monkeypatch.setattr(cls, "run", ctrl_c_on_third_chunk)
    path = tmp_path / "ctrl-c.ckpt"
    stopped = evsim.simulate(graph, u0, **run, checkpoint=path)
    assert stopped.stop_reason == "interrupted" and stopped.firings + stopped.arrivals == 600
    monkeypatch.undo()
    _assert_same(whole, evsim.resume(path))
