"""`evsim --help` is enough to find one's way: every option explains itself and
`evsim experiment --help` lists the experiments."""
import argparse

import pytest

from evsim.cli.main import build_parser, main
from evsim.experiments import list_experiments
from evsim.experiments.registry import describe_experiments


def _walk(parser, path=("evsim",)):
    """``(command path, action)`` of every action of ``parser`` and its subcommands."""
    for action in parser._actions:
        yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


def _label(path, action):
    return " ".join(path) + " " + ("/".join(action.option_strings) or action.dest)


def _without_help():
    """``{command: [options without help text]}`` over the whole parser."""
    missing = {}
    for path, action in _walk(build_parser()):
        if not (action.help or "").strip():
            missing.setdefault(path[1] if len(path) > 1 else "", []).append(_label(path, action))
    return missing


def test_every_action_has_help_text():
    assert _without_help() == {}


def test_walk_reaches_every_subcommand():
    paths = {p for p, _ in _walk(build_parser())}
    assert {("evsim", "run"), ("evsim", "experiment"), ("evsim", "sweep"),
            ("evsim", "retrain", "pinn"), ("evsim", "retrain", "baselines")} <= paths


def test_every_experiment_has_a_one_line_description():
    lines = describe_experiments()
    assert list(lines) == list_experiments()
    for name, line in lines.items():
        assert line and "\n" not in line, name


def test_experiment_help_lists_every_experiment_with_its_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["experiment", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name, line in describe_experiments().items():
        assert any(row.split() == [name] + line.split() for row in out.splitlines()), name
