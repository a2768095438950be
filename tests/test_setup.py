"""The README's set-up works beyond this machine: its two commands install no torch, the
shipped models evaluate without torch, and CI runs exactly the README's test command."""
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Imports every layer a user touches and evaluates every shipped model; prints the
#: loaded torch modules. argv[1] == "blocked": torch cannot be imported at all.
EVALUATE_SHIPPED = """
import sys
if sys.argv[1] == "blocked":
    sys.modules["torch"] = None
import numpy as np
import evsim, evsim.teachers, evsim.baselines, evsim.experiments, evsim.workflow, evsim.cli.main
from evsim.baselines.models import MODEL_NAMES, heat_grid
from evsim.experiments import get_experiment, unavailable_experiments

x, t = heat_grid(n_x=20, n_t=5)
u = evsim.teachers.load_shipped()(x[:, None], t)
assert u.shape == (5, 20) and np.all(np.isfinite(u))
for name in MODEL_NAMES:
    model = evsim.baselines.load_model(name)
    out = model.evaluate(np.array([[0.5]]))[0] if model.task == "x2" else model(x[:, None], t)
    assert np.all(np.isfinite(out)), name
for name in ("paper-heat1d", "paper-generalize", "paper-heat2d", "baselines", "energy-comparison"):
    get_experiment(name)
assert unavailable_experiments() == {}, unavailable_experiments()
print(sorted(m for m in sys.modules if m.split(".")[0] == "torch" and sys.modules[m] is not None))
"""


def _python(code, *args, drop=()):
    """Run ``code`` in a fresh interpreter, without the environment variables ``drop``."""
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={**env, "MPLBACKEND": "Agg"})


@pytest.mark.parametrize("torch", ["blocked", "installed-or-not"])
def test_shipped_models_and_experiments_need_no_torch(torch):
    run = _python(EVALUATE_SHIPPED, torch)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"          # nothing imported torch, not even lazily


def _readme_commands():
    """The commands of the README's set-up block (comments dropped)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set-up and the two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_two_commands_sharing_one_torch_free_install():
    main_job, tests = _readme_commands()
    install, run = main_job.split(" && ")
    assert tests == f"{install} && python -m pytest"
    assert run == "evsim run heat1d"
    assert install.startswith("pip install -e ") and "torch" not in install


def _extra(extras, name, seen=()):
    """Requirements of an extra with the self-references ``evsim[a,b]`` expanded."""
    reqs = set()
    for req in extras[name]:
        m = re.fullmatch(r"evsim\[(.+)\]", req)
        if m is None:
            reqs.add(req)
        else:
            for sub in m.group(1).split(","):
                if sub not in seen:
                    reqs |= _extra(extras, sub, seen + (name,))
    return reqs


def test_the_readme_install_pulls_no_torch_and_pinn_does():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    install = _readme_commands()[0].split(" && ")[0]
    chosen = re.search(r'"\.\[(.+)\]"', install).group(1).split(",")
    wanted = set().union(*(_extra(extras, e) for e in chosen))
    assert not any(r.startswith("torch") for r in wanted), wanted
    assert any(r.startswith("torch") for r in _extra(extras, "all"))
    assert {"pytest", "meshio", "xarray"} <= {re.split(r"[<>=\[]", r)[0] for r in wanted}


def test_ci_runs_the_readme_commands_after_the_pinned_torch():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    main_job, tests = _readme_commands()
    assert tests in ci
    run = main_job.split(" && ")[1]          # as written, its stderr kept to find the run folder
    assert any(line == run or line.startswith(run + " 2> ") for line in ci)
    torch_line = next(k for k, line in enumerate(ci) if re.match(r"pip install .*torch==2\.13\.0", line))
    assert torch_line < ci.index(tests)


#: A run longer than tqdm's 1 s delay on any machine: stopped by the wall-clock limit.
SIMULATE_TWO_SECONDS = """
import numpy as np, evsim
from evsim import topologies
mesh = topologies.grid_1d(cells=100, length=1.0, diffusivity=0.1)
x = topologies.cell_positions(mesh)
r = evsim.simulate(mesh, u0=np.sin(np.pi * x[:, 0]), quota=1e-8, t_end=2.0, engine="simpy",
                   max_wall_seconds=2.0)
assert r.stop_reason == "max_wall_seconds", r.stop_reason
"""


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    run = _python(SIMULATE_TWO_SECONDS, drop=("TQDM_DISABLE",))
    assert run.returncode == 0, run.stderr
    assert "evsim[simpy]" not in run.stderr


@pytest.mark.slow
def test_readme_reruns_the_configuration_the_paper_experiment_writes(tmp_path, monkeypatch, capsys):
    from evsim.cli.main import main

    readme = (ROOT / "README.md").read_text()
    run = re.search(r"^evsim run (\S+\.toml)", readme, re.M).group(1)
    assert run == "runs/paper-heat1d/pisnn_heat1d.toml"
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "paper-heat1d", "--fast"]) == 0
    capsys.readouterr()
    assert main(["run", run, "--no-plots"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ledger_residual"] == 0 and summary["problem"] == "heat1d"
