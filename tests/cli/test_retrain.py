"""``evsim retrain pinn`` / ``evsim retrain baselines``: argument parsing only (no training)."""
import pytest

from evsim.baselines import models
from evsim.cli import main
from evsim.cli.main import build_parser
from evsim.teachers import pinn


def test_retrain_pinn_passes_its_options(monkeypatch):
    calls = []
    monkeypatch.setattr(pinn, "retrain_shipped", lambda out, **kw: calls.append((out, kw)))
    assert main(["retrain", "pinn", "--out", "stem", "--adam", "7", "--lbfgs", "3", "--seed", "2"]) == 0
    assert calls == [("stem", {"adam_iters": 7, "lbfgs_iters": 3, "seed": 2})]


def test_retrain_pinn_defaults_are_the_shipped_options():
    args = build_parser().parse_args(["retrain", "pinn"])
    assert args.out is None and args.seed == pinn.SHIPPED_OPTIONS["seed"]
    assert (args.adam, args.lbfgs) == (pinn.SHIPPED_OPTIONS["adam_iters"],
                                       pinn.SHIPPED_OPTIONS["lbfgs_iters"])


def test_retrain_baselines_passes_names_and_directory(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(models, "retrain", lambda only, out: calls.append((only, out)))
    assert main(["retrain", "baselines", "--only", "x2_qif", "heat_vsn", "--out", str(tmp_path)]) == 0
    assert main(["retrain", "baselines"]) == 0
    assert calls == [(["x2_qif", "heat_vsn"], str(tmp_path)), (None, None)]


def test_retrain_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit) as err:
        main(["retrain", "baselines", "--only", "x2_nope"])
    assert err.value.code == 2 and "invalid choice: 'x2_nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["retrain"])                         # pinn or baselines is required


def test_retrain_help_names_both(capsys):
    with pytest.raises(SystemExit):
        main(["retrain", "--help"])
    out = capsys.readouterr().out
    assert "pinn" in out and "baselines" in out
