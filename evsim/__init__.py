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
"""
from .network import GraphError, Network, compile_network
from .result import Ledger, Result, load
from .routing import Routing
from .simulate import ENGINES, simulate
from . import topologies  # noqa: E402  (evsim.topologies, mapped from topologies/)

__version__ = "0.1.0"

__all__ = ["simulate", "load", "compile_network", "Network", "GraphError", "Result", "Ledger",
           "Routing", "ENGINES", "topologies", "teachers", "analysis", "__version__"]


def __getattr__(name):  # lazy subpackages: evsim.teachers, evsim.analysis
    if name in ("teachers", "analysis", "problems"):
        import importlib

        return importlib.import_module(f"evsim.{name}")
    raise AttributeError(f"module 'evsim' has no attribute {name!r}")
