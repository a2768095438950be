"""Spiking-PINN baselines: NeuroPINNs (VSN neurons), "From LIF to QIF" (QIF, LIF).

:mod:`~evsim.baselines.layered` simulates trained layered networks event by event
(NumPy), counting spikes, synaptic operations and neuron updates;
:mod:`~evsim.baselines.training` holds their torch models and training;
:mod:`~evsim.baselines.models` the shipped trained models and their I/O.
"""
from .models import SpikingModel, load_model

__all__ = ["SpikingModel", "load_model"]
