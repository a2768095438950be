"""Bad command lines, configurations and files: `evsim: error: ...` naming the key, exit 2.

Each row is one bad input: the arguments (``{d}`` is a scratch folder), the files
to create there first (text, bytes, or ``DIR`` for a folder) and the words the
error message must contain (the key, and what was expected or found).
"""
import subprocess
import sys

import pytest

from evsim.cli import main
from evsim.cli.main import EXIT_ERROR

DIR = object()
RUN = {"run/summary.json": "{}"}


def toml(body):
    return {"c.toml": body}


def key_row(line, words):
    """A configuration of heat1d with one more (bad) line."""
    return ["run", "{d}/c.toml"], toml(f"problem = 'heat1d'\n{line}"), words


ROWS = [
    # ------------------------------------------------------------ evsim run, flags
    (["run", "heat1d", "--cells", "abc"], {}, ["--cells", "invalid int value: 'abc'"]),
    (["run", "heat1d", "--cells", "1.5"], {}, ["--cells", "invalid int value"]),
    (["run", "heat1d", "--cells", "0"], {}, ["cells must be a positive integer, got 0"]),
    (["run", "heat1d", "--cells", "-5"], {}, ["cells must be a positive integer, got -5"]),
    (["run", "heat1d", "--quota", "abc"], {}, ["--quota", "invalid float value"]),
    (["run", "heat1d", "--quota", "0"], {}, ["quota must be a positive finite number, got 0.0"]),
    (["run", "heat1d", "--quota=-1e-3"], {}, ["quota must be a positive finite number"]),
    (["run", "heat1d", "--quota", "nan"], {}, ["quota must be a positive finite number, got nan"]),
    (["run", "heat1d", "--quota", "inf"], {}, ["quota must be a positive finite number, got inf"]),
    (["run", "heat1d", "--t-end", "0"], {}, ["t_end must be a positive finite number"]),
    (["run", "heat1d", "--t-end", "-2"], {}, ["t_end must be a positive finite number"]),
    (["run", "heat1d", "--order", "3"], {}, ["--order", "invalid choice: 3"]),
    (["run", "heat1d", "--order", "2"], {}, ["order = 2 needs a tolerance"]),
    (["run", "heat1d", "--tolerance", "1e-3"], {}, ["tolerance is a parameter of order = 2"]),
    (["run", "heat1d", "--order", "2", "--tolerance", "0"], {},
     ["tolerance must be a positive finite number", "got 0.0"]),
    # refused inside the run, after its folder was picked: the folder is given back
    (["run", "heat1d", "--order", "2", "--tolerance", "1e-3", "--cut-latency", "1e-3",
      "--parts", "2"], {}, ["cut_latency", "runs order 1 only"]),
    (["run", "heat2d", "--cells", "100000"], {}, ["cells = 100000", "choose a smaller cells"]),
    (["run", "heat1d", "--target-rmse", "0"], {}, ["--target-rmse must be positive and finite"]),
    key_row("order = 3", ["order must be one of (1, 2)", "got 3"]),
    (["run", "heat1d", "--diffusivity", "0"], {}, ["diffusivity must be a positive finite number"]),
    (["run", "heat1d", "--diffusivity", "-0.1"], {}, ["diffusivity must be a positive"]),
    (["run", "heat1d", "--max-events", "-1"], {}, ["max_events must be an integer >= 0, got -1"]),
    (["run", "heat1d", "--max-events", "many"], {}, ["--max-events", "invalid int value"]),
    (["run", "heat1d", "--max-wall-seconds", "0"], {}, ["max_wall_seconds must be a positive"]),
    (["run", "heat1d", "--max-wall-seconds", "-3"], {}, ["max_wall_seconds must be a positive"]),
    (["run", "heat1d", "--engine", "gpu"], {}, ["--engine", "invalid choice: 'gpu'"]),
    (["run", "heat1d", "--initial", "heat9d"], {}, ["initial", "unknown problem 'heat9d'"]),
    (["run", "heat9d"], {}, ["unknown problem 'heat9d'"]),
    (["run", "heat1d", "--out", "{d}/f"], {"f": "x"}, ["out", "is an existing file"]),
    (["run", "heat1d", "--out", "{d}/run"], RUN, ["out", "already holds a run", "--overwrite"]),
    (["run"], {}, ["needs a problem name or CONFIG.toml"]),
    # ------------------------------------------------------------ evsim run, config files
    (["run", "{d}/missing.toml"], {}, ["missing.toml", "no such configuration file"]),
    (["run", "{d}/c.toml"], {"c.toml": DIR}, ["c.toml", "is a directory"]),
    (["run", "{d}/c.toml"], toml("problem = heat1d\n"), ["c.toml", "not a valid TOML file"]),
    (["run", "{d}/c.toml"], {"c.toml": b"problem = '\xff\xfe'\n"}, ["c.toml", "not a UTF-8"]),
    (["run", "{d}/c.toml"], toml("cells = 10\n"), ["c.toml", "must name a 'problem'"]),
    (["run", "{d}/c.toml"], toml("problem = 3\n"), ["problem must be a problem name", "got 3"]),
    (["run", "{d}/c.toml"], toml("[problem]\nname = 'heat1d'\n"), ["problem must be a problem"]),
    (["run", "{d}/c.toml"], toml("problem = 'heat9d'\n"), ["unknown problem 'heat9d'"]),
    key_row("qouta = 1\n", ["unknown configuration key(s) ['qouta']"]),
    key_row("cells = 'abc'\n", ["c.toml", "cells must be a positive integer, got 'abc'"]),
    key_row("[cells]\nx = 1\n", ["cells must be a positive integer, got {'x': 1}"]),
    key_row("cells = [10, 20]\n", ["cells must be a positive integer, got [10, 20]"]),
    key_row("cells = 1.5\n", ["cells must be a positive integer, got 1.5"]),
    key_row("cells = true\n", ["cells must be a positive integer, got True"]),
    key_row("cells = 0\n", ["cells must be a positive integer, got 0"]),
    key_row("quota = 'small'\n", ["quota must be a positive finite number, got 'small'"]),
    key_row("quota = {}\n", ["quota must be", "{}"]),
    key_row("quota = -1e-4\n", ["quota must be"]),
    key_row("quota = nan\n", ["quota must be", "nan"]),
    key_row("quota = true\n", ["quota must be", "True"]),
    key_row("t_end = [1]\n", ["t_end must be", "[1]"]),
    key_row("t_end = 0\n", ["t_end must be", "got 0"]),
    key_row("t_end = 1979-05-27\n", ["t_end must be"]),
    key_row("diffusivity = 'fast'\n", ["diffusivity must be", "'fast'"]),
    key_row("diffusivity = -inf\n", ["diffusivity must be", "-inf"]),
    key_row("engine = 3\n", ["engine must be one of ['compiled', 'simpy'], got 3"]),
    key_row("engine = 'gpu'\n", ["engine must be one of", "'gpu'"]),
    key_row("engine = ['simpy']\n", ["engine must be"]),
    key_row("initial = 5\n", ["initial must be a problem name", "got 5"]),
    key_row("initial = 'heat9d'\n", ["initial", "unknown problem 'heat9d'"]),
    key_row("max_events = -1\n", ["max_events must be an integer >= 0, got -1"]),
    key_row("max_events = 1.5\n", ["max_events must be an integer", "1.5"]),
    key_row("max_events = 'many'\n", ["max_events must be", "'many'"]),
    key_row("max_wall_seconds = 0\n", ["max_wall_seconds must be a positive"]),
    key_row("max_wall_seconds = 'soon'\n", ["max_wall_seconds must be", "'soon'"]),
    key_row("out = 5\n", ["out must be a folder", "5"]),
    key_row("out = ''\n", ["out must be a folder"]),
    key_row("provenance = 3\n", ["provenance must be a table, got 3"]),
    (["run", "{d}/c.toml", "--cells", "0"], toml("problem = 'heat1d'\n"),
     ["command line: cells must be a positive integer"]),
    # ------------------------------------------------------------ evsim sweep
    (["sweep", "heat1d", "--quotas", "0"], {}, ["quotas must be", "positive"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "-0.001"], {}, ["quotas must be"]),
    (["sweep", "heat1d", "--quotas", "nan"], {}, ["quotas must be"]),
    (["sweep", "heat1d", "--quotas", "abc"], {}, ["--quotas", "invalid float value"]),
    (["sweep", "heat1d", "--quota-range", "1e-4:1e-3"], {}, ["--quota-range must be QMIN:QMAX:N"]),
    (["sweep", "heat1d", "--quota-range", "a:b:3"], {}, ["--quota-range must be QMIN:QMAX:N"]),
    (["sweep", "heat1d", "--quota-range", "1e-4:1e-3:0"], {}, ["--quota-range needs", "N >= 1"]),
    (["sweep", "heat1d", "--quota-range=-1:1e-3:3"], {}, ["--quota-range needs positive"]),
    (["sweep", "heat9d", "--quotas", "1e-3"], {}, ["unknown problem 'heat9d'"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--workers", "0"], {}, ["workers must be a positive"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--workers", "-2"], {}, ["workers must be", "-2"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--mesh", "4by4"], {}, ["mesh must look like '4x4'"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--mesh", "0x4"], {},
     ["mesh dimensions must be >= 1"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--profiles", "abacus"], {}, ["abacus"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--out", "{d}/f"], {"f": "x"},
     ["out", "existing file"]),
    (["sweep", "heat1d", "--quotas", "1e-3", "--out", "{d}/run"], RUN, ["already holds a run"]),
    # ------------------------------------------------------------ evsim report
    (["report", "{d}/nothing"], {}, ["nothing is not a directory"]),
    (["report", "{d}"], {}, ["holds neither summary.json nor sweep.json"]),
]


def prepare(tmp_path, args, files):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is DIR:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return [a.replace("{d}", str(tmp_path)) for a in args]


def call(argv):
    try:
        return main(argv)
    except SystemExit as stop:  # argparse's own errors
        return stop.code


def test_the_catalogue_is_large():
    assert len(ROWS) >= 40


@pytest.mark.parametrize("args, files, words", ROWS, ids=[" ".join(r[0]) for r in ROWS])
def test_bad_input_is_an_error_naming_the_key(tmp_path, monkeypatch, capsys, args, files, words):
    monkeypatch.chdir(tmp_path)
    argv = prepare(tmp_path, args, files)
    assert call(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    assert "error: " in captured.err and "Traceback" not in captured.err
    for word in words:
        assert word.replace("{d}", str(tmp_path)) in captured.err
    assert not (tmp_path / "runs").exists()          # nothing was started


def row(words):
    """The row whose last expected words are ``words``."""
    return next(r for r in ROWS if r[2][-1] == words)


@pytest.mark.parametrize("args, files, words", [
    row("cells must be a positive integer, got -5"), row("is a directory"),
    row("cells must be a positive integer, got {'x': 1}"), row("nothing is not a directory")],
    ids=["flag", "directory as config", "table as a number", "report"])
def test_bad_input_in_a_real_process_has_no_traceback(tmp_path, args, files, words):
    argv = prepare(tmp_path, args, files)
    proc = subprocess.run([sys.executable, "-m", "evsim.cli", *argv], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == EXIT_ERROR
    assert proc.stderr.startswith("evsim: error: ") and "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_a_refused_run_leaves_no_folder_it_made(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "heat1d").mkdir(parents=True)
    (tmp_path / "runs" / "heat1d" / "summary.json").write_text("{}")   # an earlier run
    bad = ["--order", "2", "--tolerance", "1e-3", "--cut-latency", "1e-3", "--parts", "2"]
    assert call(["run", "heat1d", *bad]) == EXIT_ERROR
    assert call(["run", "heat1d", *bad, "--out", "a/b/c"]) == EXIT_ERROR
    assert "writing to runs/heat1d-2" in capsys.readouterr().err      # it was reserved, then given back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["heat1d"]


def test_a_failed_experiment_leaves_no_folder_it_made(tmp_path, monkeypatch, capsys):
    import evsim.experiments
    from evsim.errors import ConfigError

    def refuse(out, fast=False):
        raise ConfigError("refused on purpose")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evsim.experiments, "get_experiment", lambda name: refuse)
    assert call(["experiment", "twin"]) == EXIT_ERROR
    assert call(["experiment", "twin", "--out", "x/y"]) == EXIT_ERROR
    assert "refused on purpose" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
