"""The torch training stack: LIF layers, SparseLinear and its kernel choice, fused runs,
models (feed-forward and recurrent), surrogate spike functions and k-WTA; the compiled kernels are in
:mod:`sparse_neuro.neuro.train.kernels` (which runs when: docs/TRAINING_KERNELS.md).
"""

from sparse_neuro.neuro.train.fused_runs import sparse_lif
from sparse_neuro.neuro.train.kwta import KWTA
from sparse_neuro.neuro.train.lif_layer import LIF, lif_sequence
from sparse_neuro.neuro.train.models import (
    SpikingMLP,
    SpikingOutput,
    max_membrane_readout,
    spike_count_readout,
)
from sparse_neuro.neuro.train.recurrent import RecurrentSparseLIF, SpikingRNN
from sparse_neuro.neuro.train.sparse_linear import SparseLinear, synapses_to_torch
from sparse_neuro.neuro.train.surrogate import SurrogateSpike, arctan, fast_sigmoid, triangle

__all__ = [
    "KWTA",
    "LIF",
    "RecurrentSparseLIF",
    "SparseLinear",
    "SpikingMLP",
    "SpikingOutput",
    "SpikingRNN",
    "SurrogateSpike",
    "arctan",
    "fast_sigmoid",
    "lif_sequence",
    "max_membrane_readout",
    "sparse_lif",
    "spike_count_readout",
    "synapses_to_torch",
    "triangle",
]
