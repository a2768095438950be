"""The SimPy internals evsim.simpy_adapter relies on hold on the installed SimPy."""
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import simpy

from evsim import EvsimError
from evsim.simpy_adapter import (
    SUPPORTED,
    BornEvent,
    Environment,
    SimPyVersionError,
    check_version,
    stop,
)
from evsim.simpy_engine import USER_PRIORITIES


def born(env, log, name):
    ev = BornEvent(env)
    ev.callbacks = [lambda event: log.append((name, env.now))]
    return ev


def test_installed_simpy_is_in_the_supported_range():
    assert check_version() == version("simpy")


def test_pyproject_pins_the_supported_range():
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    (pin,) = [d for d in project["dependencies"] if d.startswith("simpy")]
    lowest, beyond = (".".join(map(str, v)) for v in SUPPORTED)
    assert pin.replace(" ", "") == f"simpy>={lowest},<{beyond}"


@pytest.mark.parametrize("installed", ["4.1", "4.1.0", "4.1.2", "4.1.9rc1"])
def test_versions_in_the_range_pass(installed):
    assert check_version(installed) == installed


@pytest.mark.parametrize("installed", ["4.0.2", "4.2", "4.2.0", "5.0", "3.0.13", "dev"])
def test_versions_outside_the_range_raise_a_clear_error(installed):
    with pytest.raises(SimPyVersionError, match=rf"simpy>=4\.1,<4\.2, found simpy {installed}"):
        check_version(installed)
    assert issubclass(SimPyVersionError, EvsimError) and issubclass(SimPyVersionError, ImportError)


def test_born_events_are_triggered_and_successful():
    ev = BornEvent(simpy.Environment())
    assert ev.triggered and ev.ok and ev.value is None


def test_schedule_at_orders_by_absolute_time_then_priority_then_insertion():
    env, log = Environment(), []
    t = 0.1 + 0.2                    # not 0.3: the time must be kept as given
    for name, time, priority in [("c", t, 5), ("a", 0.05, 9), ("d", t, 5), ("b", t, 2)]:
        env.schedule_at(born(env, log, name), time, priority)
    assert env.peek_entry()[:2] == (0.05, 9)
    env.run()
    assert log == [("a", 0.05), ("b", t), ("c", t), ("d", t)]


def test_user_events_precede_engine_priorities_at_equal_times():
    env, log = Environment(), []
    env.schedule_at(born(env, log, "engine"), 1.0, USER_PRIORITIES)

    def process():
        yield env.timeout(1.0)
        log.append(("process", env.now))

    env.process(process())
    env.run()
    assert [name for name, _ in log] == ["process", "engine"]


def test_stop_from_a_callback_ends_run_with_its_value_and_keeps_the_rest_queued():
    env, log = Environment(), []
    end = BornEvent(env)
    end.callbacks = []              # env.run(until=end) adds its own
    stopper = BornEvent(env)
    stopper.callbacks = [lambda event: stop("limit")]
    env.schedule_at(stopper, 1.0, USER_PRIORITIES)
    env.schedule_at(born(env, log, "later"), 2.0, USER_PRIORITIES)
    env.schedule_at(end, 3.0, USER_PRIORITIES + 1)
    assert env.run(until=end) == "limit" and env.now == 1.0 and log == []
    # SimPy re-queues the stopping event, emptied, at once and ahead of user priorities:
    # the engine steps over it as a passive event
    time, priority, event = env.peek_entry()
    assert (time, event) == (1.0, stopper) and priority < USER_PRIORITIES
    env.step()
    assert env.peek_entry()[0] == 2.0
    assert env.run(until=end) is None and log == [("later", 2.0)]
