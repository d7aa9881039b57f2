"""neuro: what a spiking network is and how it is simulated.

Public API (re-exported here, from :mod:`sparse_neuro.neuro.model`): LIF parameters, sparse
synapses, network description, inputs, monitors and recordings, plasticity rules. Engines live in
:mod:`sparse_neuro.neuro.engines`.
"""

from sparse_neuro.neuro.model.inputs import (
    CurrentInjection,
    PoissonInput,
    PoissonSource,
    SpikeArraySource,
)
from sparse_neuro.neuro.model.lif import LIFParams, firing_period, free_trajectory, step_factors
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
)
from sparse_neuro.neuro.model.synapses import SparseSynapses

__all__ = [
    "CurrentInjection",
    "LIFParams",
    "Network",
    "PoissonInput",
    "PoissonSource",
    "Population",
    "Projection",
    "RateMonitor",
    "STDPRule",
    "Recording",
    "SparseSynapses",
    "SpikeArraySource",
    "SpikeMonitor",
    "SpikeTrains",
    "StateMonitor",
    "StateTrace",
    "ThresholdAdaptation",
    "firing_period",
    "free_trajectory",
    "step_factors",
]
