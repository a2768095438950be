"""Command line: ``evsim run``, ``evsim experiment``, ``evsim sweep``, ``evsim report``, ``evsim retrain``.

    evsim run PROBLEM [--cells N] [--quota Q] [--t-end T] [--engine E] [--out DIR [--overwrite]]
    evsim run PROBLEM --target-rmse R [--order 2]   (quota or tolerance from the mesh's error constant)
    evsim run CONFIG.toml [overrides...]
    evsim run PROBLEM --cut-latency L [--ranks N | --parts P]   (docs/parallel.md)
    evsim experiment NAME [--out DIR] [--fast]
    evsim sweep PROBLEM --quotas Q1 Q2 ... [--out DIR [--overwrite]]
    evsim report DIR
    evsim energy RUN_DIR [--profile loihi] [--time-step DT] [--cores WxH] [--sanafe]
    evsim retrain pinn [--out STEM] [--adam N] [--lbfgs N] [--seed N]
    evsim retrain baselines [--only NAME ...] [--out DIR]
    evsim problems | evsim experiments

Without ``--out``, ``evsim run X`` writes to ``runs/X``, or to ``runs/X-2``,
``runs/X-3``, ... when that already holds a run (the folder is printed on
stderr); an ``--out`` that holds a run is replaced only with ``--overwrite``.

Exit status: 0 done; 1 a sweep finished but some of its points failed (listed
in ``sweep.json``); 2 bad input (arguments, configuration, files), reported as
``evsim: error: ...``; 130 interrupted by SIGINT or SIGTERM (the partial run
and its summary are written).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from evsim.errors import ConfigError, EvsimError

__all__ = ["main", "EXIT_OK", "EXIT_FAILED_POINTS", "EXIT_ERROR", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_FAILED_POINTS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_RUN_OVERRIDES = ("cells", "quota", "t_end", "engine", "diffusivity", "initial", "max_events",
                  "max_wall_seconds", "out", "order", "tolerance")


def _knob_for_target(problem: str, config: dict, target_rmse: float) -> dict:
    """``{"quota": q}`` (order 1) or ``{"tolerance": delta}`` (order 2) predicted to reach
    ``target_rmse`` on the run's mesh (``RMSE ~ C knob``, evsim.teachers.error_constant);
    a knob given explicitly is kept."""
    from evsim.teachers.error_constant import error_constant, knob
    from evsim.workflow.case import make_case

    order = int(config.get("order") or 1)
    name = knob(order)
    if config.get(name) is not None:
        raise ConfigError(f"--target-rmse chooses --{name}; give one of them, not both")
    if not (target_rmse > 0 and math.isfinite(target_rmse)):
        raise ConfigError(f"--target-rmse must be positive and finite, got {target_rmse}")
    graph = make_case(problem, cells=config.get("cells"), diffusivity=config.get("diffusivity")).graph
    value = target_rmse / error_constant(graph, order)
    print(f"evsim: --target-rmse {target_rmse:g}: {name} = {value:.4g} (RMSE ~ "
          f"{error_constant(graph, order):.4g} {name})", file=sys.stderr, flush=True)
    return {name: value}


def _run(args) -> int:
    from evsim.workflow.output import reserved_directory

    if args.resume is not None:
        return _resume(args)
    with reserved_directory() as reserve:   # a refused run leaves no empty runs/PROBLEM behind
        return _run_new(args, reserve)


def _resume(args) -> int:
    from evsim.workflow.runner import check_config, resume_run

    if args.target is not None:
        raise ConfigError("--resume DIR continues the run in DIR; give no problem or "
                          f"configuration with it (got {args.target!r})")
    limits = check_config({"max_events": args.max_events,
                           "max_wall_seconds": args.max_wall_seconds}, "command line")
    _, summary = resume_run(args.resume, checkpoint_every=args.checkpoint_every, **limits)
    return _report_run(summary, Path(args.resume))


def _run_new(args, reserve) -> int:
    from evsim.workflow.problems import get_problem
    from evsim.workflow.runner import check_config, load_config, run_problem

    target = args.target
    if target is None:
        raise ConfigError("evsim run needs a problem name or CONFIG.toml (or --resume DIR)")
    config: dict = {}
    if target.endswith(".toml"):
        config = load_config(target)
        target = config.pop("problem")
    overrides = check_config({k: getattr(args, k) for k in _RUN_OVERRIDES}, "command line",
                             partial=True)
    config.update(overrides)
    get_problem(target)
    cut = {"ranks": args.ranks, "parts": args.parts, "cut_latency": args.cut_latency}
    if "out" in config:
        reserve.claim(config["out"])
    if args.ranks is not None and args.ranks > 1:
        from evsim.workflow.partitioned import launch, root_value, world_rank, world_size
        if args.cut_latency is None:   # (before any process is started)
            raise ConfigError("--ranks needs --cut-latency L (the latency model of the cut)")
        if world_size() != args.ranks:  # not yet inside mpiexec -n RANKS: start it on this command
            out = config.get("out") or reserve(Path("runs") / target)
            status = launch(args.ranks, ["-m", "evsim.cli", *args.argv, "--out", str(out)])
            if status != EXIT_OK:
                reserve.release()
            return status
        config["out"] = root_value(lambda: config.get("out") or reserve(Path("runs") / target))
    if args.target_rmse is not None:
        config.update(_knob_for_target(target, config, args.target_rmse))
    check_config({**config, "problem": target}, "command line")   # keys that go together, before a folder is made
    if "out" not in config:
        config["out"] = reserve(Path("runs") / target)
    if args.ranks is None or args.ranks == 1 or world_rank() == 0:
        print(f"evsim: writing to {config['out']}", file=sys.stderr, flush=True)
    _, summary = run_problem(target, plots=not args.no_plots, overwrite=args.overwrite,
                             checkpoint_every=args.checkpoint_every, **config, **cut)
    return EXIT_OK if summary is None else _report_run(summary, Path(config["out"]))


def _report_run(summary: dict, out: Path) -> int:
    """Print the headline of a run's summary; the exit status."""
    keys = ("problem", "cells", "quota", "order", "spikes", "events", "rmse", "rmse_final",
            "ledger_residual", "wall_seconds", "events_per_second", "stop_reason")
    print(json.dumps({k: summary[k] for k in keys}, indent=2, default=float))
    print(f"wrote {out / 'summary.json'}", file=sys.stderr)
    if summary["stop_reason"] == "interrupted" or "signal" in summary:
        print(f"evsim: interrupted ({summary.get('signal', 'SIGINT')}); the partial run is saved; "
              f"continue it with: evsim run --resume {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if "checkpoint" in summary:
        print(f"evsim: stopped ({summary['stop_reason']}); continue it with: "
              f"evsim run --resume {out}", file=sys.stderr)
    return EXIT_OK


def _experiment(args) -> int:
    from evsim.experiments import get_experiment
    from evsim.workflow.output import reserved_directory, write_json

    fn = get_experiment(args.name)
    out = Path(args.out or f"runs/{args.name}")
    with reserved_directory() as reserve:   # a failed experiment leaves no empty folder
        reserve.claim(out).mkdir(parents=True, exist_ok=True)
        summary = fn(out, fast=args.fast)
    write_json(out / "summary.json", summary)
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


def _energy(args) -> int:
    """``evsim energy``: time-stepped and asynchronous estimates of a saved run (optionally SANA-FE's)."""
    import evsim
    from evsim.analysis.chip import estimate, get_chip_profile
    from evsim.analysis.mapping import CoreMesh, map_cells
    from evsim.workflow.runner import saved_run
    from evsim.workflow.sweep import parse_mesh

    run = Path(args.run_dir)
    summary, case = saved_run(run, args.cells)
    width, height = parse_mesh(args.cores)
    result = evsim.load(run / "result.npz")
    rerun = result.spike_log is None
    if rerun:  # `evsim run` keeps no spike log: replay the same deterministic run with one
        print("evsim: result.npz has no spike log; re-simulating the run with spike_log=True", file=sys.stderr)
        config = summary.get("config", {})
        result = case.simulate(engine=summary.get("engine", "compiled"), spike_log=True,
                               order=config.get("order") or 1, tolerance=config.get("tolerance"))
        if result.spikes != summary["spikes"]:
            raise ConfigError(f"re-simulation gave {result.spikes} packets, the saved run {summary['spikes']}")
    prof = get_chip_profile(args.profile)
    mapping = map_cells(case.graph, CoreMesh(width, height, prof.core_capacity), args.mapping)
    dt_hw = args.time_step or result.t_final / 1000
    out = {"run": str(run), "profile": prof.name, "cores": f"{width}x{height}", "mapping": args.mapping,
           "re_simulated": rerun,
           "time_stepped": estimate(result, mapping, prof, "time-stepped", dt_hw, active=args.active).as_dict(),
           "asynchronous": estimate(result, mapping, args.async_profile, "asynchronous").as_dict()}
    if args.sanafe:
        from evsim.analysis.sanafe import compare

        c = compare(result, mapping, prof, dt_hw)
        out["sanafe"] = {"note": "evsim side: time-stepped with active='fired' (input somas update only when they fire)",
                         **{k: c[k] for k in ("sanafe", "sanafe_components", "evsim_components", "relative_error")}}
    print(json.dumps(out, indent=2, default=float))
    return 0


def _add_energy(sub) -> None:
    """``evsim energy RUN_DIR``."""
    en = sub.add_parser("energy", help="energy and chip time of a saved run on time-stepped hardware")
    en.add_argument("run_dir", help="directory written by 'evsim run' (summary.json, result.npz)")
    en.add_argument("--profile", default="loihi", help="time-stepped chip profile (loihi, loihi@sanafe-legacy, "
                                                       "truenorth, spinnaker)")
    en.add_argument("--async-profile", dest="async_profile", default="loihi",
                    help="profile of the ideal asynchronous estimate (evsim.analysis.energy)")
    en.add_argument("--time-step", dest="time_step", type=float,
                    help="simulated time per hardware step (default t_final / 1000)")
    en.add_argument("--cores", default="4x4", help="core mesh WIDTHxHEIGHT (default 4x4)")
    en.add_argument("--mapping", choices=["blocks", "partition"], default="blocks",
                    help="cells onto cores: contiguous blocks (default) or graph partition")
    en.add_argument("--active", choices=["fired", "fired_or_received"], default="fired_or_received",
                    help="which neuron steps pay the update energy")
    en.add_argument("--cells", type=int, help="resolution of the run, if it cannot be inferred from summary.json")
    en.add_argument("--sanafe", action="store_true", help="also run SANA-FE 2.2.9 on the replay (extra 'hardware')")
    en.set_defaults(func=_energy)


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
    from evsim.workflow.output import add_output_options

    parser = argparse.ArgumentParser(prog="evsim", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True,
                                help="command ('evsim COMMAND --help' shows its options)")

    run = sub.add_parser("run", help="simulate a canonical problem or a TOML configuration")
    run.add_argument("target", nargs="?",
                     help="problem name (see 'evsim problems') or CONFIG.toml (not with --resume)")
    run.add_argument("--cells", type=int, help="resolution (cells per axis, or target cell count)")
    run.add_argument("--quota", type=float, help="packet mass q")
    run.add_argument("--t-end", dest="t_end", type=float, help="final time")
    run.add_argument("--engine", choices=["compiled", "simpy"],
                     help="numba kernel (default) or the SimPy reference; same spikes")
    run.add_argument("--order", type=int, choices=[1, 2],
                     help="CFQ order: 1, the paper's rule (default); 2, trajectory CFQ "
                          "(needs --tolerance)")
    run.add_argument("--tolerance", type=float,
                     help="order 2: potential drift that triggers a trajectory message (the "
                          "accuracy); --quota is then the packet mass")
    run.add_argument("--target-rmse", dest="target_rmse", type=float,
                     help="choose the accuracy knob (order 1: --quota; order 2: --tolerance) for this "
                          "RMSE from the mesh's measured error constant (evsim.teachers.error_constant)")
    run.add_argument("--diffusivity", type=float, help="override the operator's diffusivity")
    run.add_argument("--initial", help="use another problem's initial condition")
    run.add_argument("--max-events", dest="max_events", type=int,
                     help="stop after this many events, keeping the partial result")
    run.add_argument("--max-wall-seconds", dest="max_wall_seconds", type=float,
                     help="stop after about this much wall-clock time, keeping the partial result")
    add_output_options(run, "runs/PROBLEM", "run")
    run.add_argument("--no-plots", action="store_true", help="skip the figures")
    run.add_argument("--resume", metavar="DIR",
                     help="continue the stopped run in DIR from its checkpoint.evsim "
                          "(same spikes and bits as an uninterrupted run)")
    run.add_argument("--checkpoint-every", dest="checkpoint_every", type=float, metavar="SECONDS",
                     help="also checkpoint every SECONDS of wall time (a stopped run always "
                          "leaves a checkpoint in its folder)")
    run.add_argument("--cut-latency", dest="cut_latency", type=float, metavar="L",
                     help="partition the cells (METIS) and run the cut-latency model: the far end "
                          "of a cut edge is seen L late, its packets arrive L later (docs/parallel.md)")
    run.add_argument("--ranks", type=int, metavar="N",
                     help="with --cut-latency: one MPI process per part (starts mpiexec -n N "
                          "itself, or runs under it); same bits as one process")
    run.add_argument("--parts", type=int, metavar="P",
                     help="with --cut-latency: number of parts (default: --ranks, else 1)")
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

    _add_energy(sub)

    for name in ("problems", "experiments"):
        sub.add_parser(name, help=f"list the {name}").set_defaults(func=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evsim`` command; returns the exit status (see the module docstring)."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except (EvsimError, OSError) as err:
        print(f"evsim: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("evsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
