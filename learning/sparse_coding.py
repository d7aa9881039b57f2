"""Sparse coding (Olshausen & Field): inference and dictionary learning in one namespace.

The solvers live in :mod:`learning.sparse_inference` (ISTA, FISTA, LCA) and the learning
loop in :mod:`learning.dictionary`; the spiking LCA is :mod:`learning.spiking_lca`.
"""

from learning.dictionary import (
    DictionaryConfig,
    DictionaryResult,
    infer,
    learn_dictionary,
    relative_reconstruction_error,
)
from learning.sparse_inference import (
    InferenceResult,
    fista,
    ista,
    l1_objective,
    lca,
    soft_threshold,
)

__all__ = [
    "DictionaryConfig",
    "DictionaryResult",
    "InferenceResult",
    "fista",
    "infer",
    "ista",
    "l1_objective",
    "lca",
    "learn_dictionary",
    "relative_reconstruction_error",
    "soft_threshold",
]
