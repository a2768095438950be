"""The engine protocol, the status codes, the kernel's state tuple and the firing rule."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import evsim
from evsim import ConfigError, rule, topologies
from evsim.engine import Engine, Status
from evsim.network import compile_network
from evsim.state import EngineState, StateTuple, initial_state

RUN = dict(quota=1e-3, t_end=0.3, record=np.linspace(0, 0.3, 4), spike_log=True)


def sine(latency=0.0):
    graph = topologies.grid_1d(cells=12, diffusivity=0.1, latency=latency)
    return graph, np.sin(np.pi * topologies.cell_positions(graph)[:, 0])


def fresh_state(latency=0.0):
    graph, u0 = sine(latency)
    return initial_state(compile_network(graph), u0, RUN["quota"], RUN["t_end"], RUN["record"],
                         spike_log=RUN["spike_log"])


@pytest.mark.parametrize("name", sorted(evsim.ENGINES))
def test_registered_engines_honour_the_protocol(name):
    cls = evsim.ENGINES[name]
    engine = cls(fresh_state(latency=0.01))
    assert isinstance(engine, Engine) and cls.name == name
    assert isinstance(cls.chunk, int) and cls.chunk > 0
    assert engine.run(0) is Status.LIMIT
    statuses = []
    while not statuses or statuses[-1] is not Status.DONE:  # small chunks, as simulate runs them
        statuses.append(engine.run(500))
    assert set(statuses[:-1]) == {Status.LIMIT} and len(statuses) > 2
    st = engine.state
    assert st.clock[0] == st.t_end and st.cursor[0] == st.record_times.size
    assert st.count.sum() + st.pool[1] == 0     # the ledger, packets in transit included


def test_engine_chunks_do_not_change_the_run():
    runs = {}
    for name in evsim.ENGINES:
        engine = evsim.ENGINES[name](fresh_state(latency=0.01))
        while engine.run(37) is not Status.DONE:
            pass
        runs[name] = engine.state
    whole = evsim.simulate(*sine(latency=0.01), **RUN)
    for st in runs.values():
        n = int(st.cursor[3])
        np.testing.assert_array_equal(st.log_time[:n], whole.spike_log["time"])
        np.testing.assert_array_equal(st.log_edge[:n], whole.spike_log["edge"])
        np.testing.assert_array_equal(st.record_potential, whole.potential)


def test_registry_lists_names_without_importing_the_engines():
    code = ("import sys, evsim; print(sorted(evsim.ENGINES), 'compiled' in evsim.ENGINES, "
            "'x' in evsim.ENGINES, 'numba' in sys.modules, 'simpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['compiled',", "'simpy']", "True", "False", "False", "False"]


def test_unknown_engine_is_a_config_error():
    graph = topologies.grid_1d(cells=4, diffusivity=0.1)
    with pytest.raises(ConfigError, match="unknown engine 'fast'"):
        evsim.simulate(graph, np.zeros(4), engine="fast")
    with pytest.raises(KeyError):
        evsim.ENGINES["fast"]


def test_kernel_status_codes_are_the_enum():
    from evsim import kernel
    assert (kernel._DONE, kernel._LIMIT, kernel._GROW_POOL, kernel._GROW_LOG) == tuple(Status)
    assert [s.name for s in Status] == ["DONE", "LIMIT", "GROW_POOL", "GROW_LOG"]


def test_state_tuple_has_every_field_of_the_state_in_order():
    st = fresh_state()
    assert StateTuple._fields == tuple(f.name for f in dataclasses.fields(EngineState))
    packed = st.as_tuple()
    assert all(value is getattr(st, name) for name, value in zip(StateTuple._fields, packed))


@pytest.mark.parametrize("rate", [2.5, -2.5, 1e-300, -1e-300])
@pytest.mark.parametrize("acc", [1e-3, -1e-3, 1.0000000000000002e-3])
def test_firing_rule_plain_and_compiled_agree(acc, rate):
    from evsim import kernel
    quota = 1e-3
    sign, after = rule.fire(acc, rate, quota)
    assert sign == (1 if rate > 0 else -1) and after == acc - sign * quota
    assert kernel._fire(acc, rate, quota) == (sign, after)
    sender, receiver = rule.ends(sign, 3, 7)
    assert (sender, receiver) == ((3, 7) if sign > 0 else (7, 3))
    assert kernel._ends(sign, 3, 7) == (sender, receiver)
    assert rule.route(5, sign) == kernel._route(5, sign) == (10 if sign > 0 else 11)


def test_deposits_of_a_packet_conserve_the_total():
    from evsim import kernel
    assert (rule.SEND, rule.RECEIVE) == (-1, 1)
    assert rule.deposit(4, rule.SEND) == kernel._deposit_count(4, rule.SEND) == 3
    assert rule.deposit(-2, rule.RECEIVE) == kernel._deposit_count(-2, rule.RECEIVE) == -1
    sender = transit = receiver = 0
    for _ in range(5):   # fire onto a delayed edge, then arrive
        sender, transit = rule.deposit(sender, rule.SEND), rule.deposit(transit, rule.RECEIVE)
        transit, receiver = rule.deposit(transit, rule.SEND), rule.deposit(receiver, rule.RECEIVE)
    assert (sender, transit, receiver) == (-5, 0, 5)
