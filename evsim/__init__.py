"""evsim: event-driven simulation of physics-informed spiking neural networks.

Each cell of a mesh is a Conservative Leaky Integrate-and-Fire (C-LIF) neuron
whose membrane potential is the physical quantity; neighbours exchange flux as
Conservative Flux Quantization (CFQ) packets of mass ``q``, delivered at exact
times by a priority-queue scheduler. Mass is conserved exactly (an integer
ledger) and every spike is counted.

>>> import numpy as np, evsim
>>> from evsim import topologies
>>> mesh = topologies.grid_1d(cells=20, length=1.0, diffusivity=0.1)
>>> x = topologies.cell_positions(mesh)
>>> result = evsim.simulate(mesh, u0=np.sin(np.pi * x[:, 0]), quota=1e-4, t_end=0.5)
>>> result.ledger.residual
0

This package is the engine core. The higher layers are its subpackages
(``evsim.topologies``, ``evsim.teachers``, ``evsim.baselines``, ``evsim.analysis``,
``evsim.workflow``, ``evsim.experiments``, ``evsim.cli``); they are imported when
first used as attributes (``evsim.teachers``) or imported directly.
"""
from .errors import (ConfigError, EvsimError, GraphError, MeshError, MissingDependency,
                     ResultFileError)
from .network import Network, compile_network
from .result import Ledger, Result, load
from .routing import Routing
from .checks import ScaleWarning, StallWarning
from .checkpoint import CheckpointWarning
from .simulate import ENGINES, resume, simulate

__version__ = "0.1.0"

#: The layers above the engine core, lowest first (each a subpackage of ``evsim``).
LAYERS = ("topologies", "teachers", "baselines", "analysis", "workflow", "experiments", "cli")

__all__ = ["simulate", "resume", "load", "ScaleWarning", "StallWarning", "CheckpointWarning",
           "compile_network", "Network", "Result", "Ledger", "EvsimError",
           "GraphError", "ConfigError", "MeshError", "ResultFileError", "MissingDependency",
           "Routing", "ENGINES", "LAYERS", "__version__", *LAYERS]


def __getattr__(name: str):
    """``evsim.topologies`` etc. without importing every layer with the core."""
    if name in LAYERS:
        import importlib

        return importlib.import_module(f"evsim.{name}")
    raise AttributeError(f"module 'evsim' has no attribute {name!r}")
