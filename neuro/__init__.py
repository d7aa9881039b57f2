"""neuro: what a spiking network is and how it is simulated.

Public API (re-exported here): LIF parameters, sparse synapses, network description,
inputs, monitors and recordings. Engines live in :mod:`neuro.engines`.
"""

from neuro.inputs import CurrentInjection, PoissonInput, PoissonSource, SpikeArraySource
from neuro.lif import LIFParams, firing_period, free_trajectory, step_factors
from neuro.network import Network, Population, Projection
from neuro.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
)
from neuro.synapses import SparseSynapses

__all__ = [
    "CurrentInjection",
    "LIFParams",
    "Network",
    "PoissonInput",
    "PoissonSource",
    "Population",
    "Projection",
    "RateMonitor",
    "Recording",
    "SparseSynapses",
    "SpikeArraySource",
    "SpikeMonitor",
    "SpikeTrains",
    "StateMonitor",
    "StateTrace",
    "firing_period",
    "free_trajectory",
    "step_factors",
]
