"""learning: how synapses change (surrogate-gradient training, conversion, STDP, sparse coding).

The plasticity rule descriptions (``STDPRule``, ``ThresholdAdaptation``) are the network
description's (:mod:`sparse_neuro.neuro`), the surrogate spike functions the training stack's
(:mod:`sparse_neuro.neuro.train`) and :func:`~sparse_neuro.neuro.analysis.stdp_fit.fit_window`
the analysis'; this package uses them and does not re-export them.
"""

from sparse_neuro.learning.convert import (
    engine_lif_params,
    from_snntorch,
    run_on_engine,
    to_network,
)
from sparse_neuro.learning.dictionary import DictionaryConfig, DictionaryResult, learn_dictionary
from sparse_neuro.learning.homeostasis import normalize_columns, synaptic_scaling, theta_value
from sparse_neuro.learning.sparse_inference import fista, ista, lca
from sparse_neuro.learning.spiking_inference import SpikingLCAParams, spiking_lca_codes
from sparse_neuro.learning.stdp import (
    learning_rate_schedule,
    pair_window,
    reference_weight,
    trace_value,
)
from sparse_neuro.learning.training import (
    TrainConfig,
    TrainResult,
    direct_input,
    evaluate,
    rate_input,
    train,
)

__all__ = [
    "DictionaryConfig",
    "DictionaryResult",
    "SpikingLCAParams",
    "TrainConfig",
    "TrainResult",
    "direct_input",
    "engine_lif_params",
    "evaluate",
    "fista",
    "from_snntorch",
    "ista",
    "lca",
    "learn_dictionary",
    "learning_rate_schedule",
    "normalize_columns",
    "pair_window",
    "rate_input",
    "reference_weight",
    "run_on_engine",
    "spiking_lca_codes",
    "synaptic_scaling",
    "theta_value",
    "to_network",
    "trace_value",
    "train",
]
