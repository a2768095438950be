"""Command line: ``evsim run``, ``evsim experiment``, ``evsim sweep``, ``evsim report``, ``evsim retrain``.

    evsim run PROBLEM [--cells N] [--quota Q] [--t-end T] [--engine E] [--out DIR]
    evsim run CONFIG.toml [overrides...]
    evsim experiment NAME [--out DIR] [--fast]
    evsim sweep PROBLEM --quotas Q1 Q2 ... [--out DIR]
    evsim report DIR
    evsim retrain pinn [--out STEM] [--adam N] [--lbfgs N] [--seed N]
    evsim retrain baselines [--only NAME ...] [--out DIR]
    evsim problems | evsim experiments
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evsim.errors import EvsimError

__all__ = ["main"]


def _run(args) -> int:
    from evsim.workflow.runner import load_config, run_problem

    target = args.target
    config: dict = {}
    if target.endswith(".toml"):
        config = load_config(target)
        target = config.pop("problem")
    overrides = {k: getattr(args, k) for k in ("cells", "quota", "t_end", "engine", "diffusivity",
                                               "initial", "max_events", "max_wall_seconds", "out")
                 if getattr(args, k) is not None}
    config.update(overrides)
    config.setdefault("out", f"runs/{target}")
    _, summary = run_problem(target, plots=not args.no_plots, **config)
    keys = ("problem", "cells", "quota", "spikes", "rmse", "rmse_final", "ledger_residual",
            "wall_seconds", "events_per_second", "stop_reason")
    print(json.dumps({k: summary[k] for k in keys}, indent=2, default=float))
    print(f"wrote {Path(config['out']) / 'summary.json'}", file=sys.stderr)
    return 0


def _experiment(args) -> int:
    from evsim.experiments import get_experiment

    fn = get_experiment(args.name)
    out = Path(args.out or f"runs/{args.name}")
    out.mkdir(parents=True, exist_ok=True)
    summary = fn(out, fast=args.fast)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    print(json.dumps(summary, indent=2, default=float))
    print(f"wrote {out / 'summary.json'}", file=sys.stderr)
    return 0


def _sweep(args) -> int:
    from evsim.workflow import sweep

    return int(sweep.main(args) or 0)


def _report(args) -> int:
    from evsim.workflow.report import write_report

    print(write_report(Path(args.dir)))
    return 0


def _retrain_pinn(args) -> int:
    from evsim.teachers.pinn import retrain_shipped

    retrain_shipped(args.out, adam_iters=args.adam, lbfgs_iters=args.lbfgs, seed=args.seed)
    return 0


def _retrain_baselines(args) -> int:
    from evsim.baselines.models import retrain

    retrain(args.only, args.out)
    return 0


def _add_retrain(sub) -> None:
    """``evsim retrain pinn`` and ``evsim retrain baselines``."""
    from evsim.baselines.models import MODEL_NAMES
    from evsim.teachers.pinn import SHIPPED_OPTIONS

    retrain = sub.add_parser("retrain", help="retrain the shipped PINN teacher or spiking baselines")
    models = retrain.add_subparsers(dest="model", required=True, help="what to retrain")
    pinn = models.add_parser("pinn", help="retrain and save the heat1d PINN teacher (~2-4 min)")
    pinn.add_argument("--out", help="path stem (default: the shipped teacher)")
    pinn.add_argument("--adam", type=int, default=SHIPPED_OPTIONS["adam_iters"], help="Adam steps")
    pinn.add_argument("--lbfgs", type=int, default=SHIPPED_OPTIONS["lbfgs_iters"], help="L-BFGS steps")
    pinn.add_argument("--seed", type=int, default=SHIPPED_OPTIONS["seed"],
                      help="seed of the initial weights and collocation points")
    pinn.set_defaults(func=_retrain_pinn)
    base = models.add_parser("baselines", help="retrain and save the spiking-PINN baselines (~30 min)")
    base.add_argument("--only", nargs="+", metavar="NAME", choices=MODEL_NAMES,
                      help=f"model names (default all): {' '.join(MODEL_NAMES)}")
    base.add_argument("--out", help="output directory (default: the shipped models)")
    base.set_defaults(func=_retrain_baselines)


def _list(args) -> int:
    if args.command == "problems":
        from evsim.workflow.problems import PROBLEMS

        for name, p in PROBLEMS.items():
            print(f"{name:14s} {p.description}")
    else:
        from evsim.experiments import list_experiments, unavailable_experiments

        missing = unavailable_experiments()
        for name in list_experiments():
            print(f"{name:18s} unavailable: {missing[name]}" if name in missing else name)
    return 0


def _experiments_epilog() -> str:
    """``evsim experiment --help``: every experiment with its docstring's first line."""
    from evsim.experiments import list_experiments
    from evsim.experiments.registry import describe_experiments

    lines = describe_experiments()
    return "experiments:\n" + "\n".join(f"  {name:18s} {lines[name]}" for name in list_experiments())


def build_parser() -> argparse.ArgumentParser:
    """The ``evsim`` argument parser."""
    parser = argparse.ArgumentParser(prog="evsim", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True,
                                help="command ('evsim COMMAND --help' shows its options)")

    run = sub.add_parser("run", help="simulate a canonical problem or a TOML configuration")
    run.add_argument("target", help="problem name (see 'evsim problems') or CONFIG.toml")
    run.add_argument("--cells", type=int, help="resolution (cells per axis, or target cell count)")
    run.add_argument("--quota", type=float, help="packet mass q")
    run.add_argument("--t-end", dest="t_end", type=float, help="final time")
    run.add_argument("--engine", choices=["compiled", "simpy"],
                     help="numba kernel (default) or the SimPy reference; same spikes")
    run.add_argument("--diffusivity", type=float, help="override the operator's diffusivity")
    run.add_argument("--initial", help="use another problem's initial condition")
    run.add_argument("--max-events", dest="max_events", type=int,
                     help="stop after this many events, keeping the partial result")
    run.add_argument("--max-wall-seconds", dest="max_wall_seconds", type=float,
                     help="stop after about this much wall-clock time, keeping the partial result")
    run.add_argument("--out", help="output directory (default runs/PROBLEM)")
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    run.set_defaults(func=_run)

    exp = sub.add_parser("experiment", help="run a named experiment (see 'evsim experiments')",
                         description="Run a named experiment; it writes figures and summary.json.",
                         epilog=_experiments_epilog(),
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    exp.add_argument("name", help="experiment name (listed below)")
    exp.add_argument("--out", help="output directory (default runs/NAME)")
    exp.add_argument("--fast", action="store_true", help="small, quick configuration")
    exp.set_defaults(func=_experiment)

    sw = sub.add_parser("sweep", help="parameter sweep in parallel, with the Pareto frontier")
    try:
        from evsim.workflow import sweep as sweep_mod

        sweep_mod.add_arguments(sw)
    except ImportError:
        pass
    sw.set_defaults(func=_sweep)

    rep = sub.add_parser("report", help="write a self-contained HTML report of a run or sweep")
    rep.add_argument("dir", help="a run or sweep output directory")
    rep.set_defaults(func=_report)

    _add_retrain(sub)

    for name in ("problems", "experiments"):
        sub.add_parser(name, help=f"list the {name}").set_defaults(func=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evsim`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (EvsimError, ValueError, FileNotFoundError) as err:
        print(f"evsim: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
