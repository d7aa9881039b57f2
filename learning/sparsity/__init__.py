"""Sparsity as something the network does: pruning and growth of SparseLinear patterns.

* :mod:`~sparse_neuro.learning.sparsity.rewire`: remove/add synapses, optimizer state carried over;
* :mod:`~sparse_neuro.learning.sparsity.pruning`: magnitude (global, per layer), gradual magnitude
  pruning, iterative magnitude pruning with rewinding, the random-permutation control;
* :mod:`~sparse_neuro.learning.sparsity.foresight`: SNIP and SynFlow at initialisation;
* :mod:`~sparse_neuro.learning.sparsity.dst`: dynamic sparse training (SET, DSR, SNFS, RigL, Deep
  R);
* :mod:`~sparse_neuro.learning.sparsity.allocation`: per-layer synapse budgets (uniform,
  Erdos-Renyi-Kernel).
"""

from sparse_neuro.learning.sparsity.allocation import LAYOUTS, apply_layout, layer_counts
from sparse_neuro.learning.sparsity.dst import METHODS, DSTConfig, DynamicSparsity, dense_gradients
from sparse_neuro.learning.sparsity.foresight import snip_scores, synflow_prune, synflow_scores
from sparse_neuro.learning.sparsity.pruning import (
    WeightSnapshot,
    gmp_density,
    magnitude_prune,
    permute_patterns,
    prune_by_scores,
    rewind,
)
from sparse_neuro.learning.sparsity.rewire import (
    empty_positions,
    rewire,
    set_density,
    sparse_layers,
    synapse_keys,
)

__all__ = [
    "METHODS",
    "DSTConfig",
    "DynamicSparsity",
    "LAYOUTS",
    "WeightSnapshot",
    "apply_layout",
    "dense_gradients",
    "empty_positions",
    "gmp_density",
    "layer_counts",
    "magnitude_prune",
    "permute_patterns",
    "prune_by_scores",
    "rewind",
    "rewire",
    "set_density",
    "snip_scores",
    "sparse_layers",
    "synapse_keys",
    "synflow_prune",
    "synflow_scores",
]
