"""Install evsim as one import package.

Each top-level folder of the repository is one layer and is mapped onto a
subpackage of ``evsim`` with ``package_dir`` (see docs/ARCHITECTURE.md), so
nothing generic named ``analysis`` or ``teachers`` lands in site-packages:

    evsim/        -> evsim               engine core
    topologies/   -> evsim.topologies    mesh and graph builders
    teachers/     -> evsim.teachers      reference solvers, PINN, distillation
    baselines/    -> evsim.baselines     spiking-PINN baselines
    analysis/     -> evsim.analysis      metrics, energy, mapping, plots
    workflow/     -> evsim.workflow      problems, run pipeline, sweeps, reports
    experiments/  -> evsim.experiments   the paper's and the project's experiments
    cli/          -> evsim.cli           the ``evsim`` command
"""
from setuptools import setup

LAYERS = ("topologies", "teachers", "baselines", "analysis", "workflow", "experiments", "cli")

setup(
    packages=["evsim"] + [f"evsim.{name}" for name in LAYERS],
    package_dir={"evsim": "evsim", **{f"evsim.{name}": name for name in LAYERS}},
    package_data={"evsim.teachers": ["data/*"], "evsim.baselines": ["data/*"], "evsim.analysis": ["data/*"]},
)
