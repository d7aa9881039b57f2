"""learning: how synapses change (surrogate-gradient training, conversion, STDP, sparse coding)."""

from learning.convert import engine_lif_params, from_snntorch, run_on_engine, to_network
from learning.homeostasis import (
    ThresholdAdaptation,
    normalize_columns,
    synaptic_scaling,
    theta_value,
)
from learning.sparse_coding import (
    DictionaryConfig,
    DictionaryResult,
    fista,
    ista,
    lca,
    learn_dictionary,
)
from learning.spiking_lca import SpikingLCAParams, spiking_lca_codes
from learning.stdp import (
    STDPRule,
    fit_window,
    learning_rate_schedule,
    pair_window,
    reference_weight,
    trace_value,
)
from learning.surrogate import SurrogateSpike, arctan, fast_sigmoid, triangle
from learning.training import TrainConfig, TrainResult, direct_input, evaluate, rate_input, train

__all__ = [
    "DictionaryConfig",
    "DictionaryResult",
    "STDPRule",
    "SpikingLCAParams",
    "SurrogateSpike",
    "ThresholdAdaptation",
    "TrainConfig",
    "TrainResult",
    "arctan",
    "direct_input",
    "engine_lif_params",
    "evaluate",
    "fast_sigmoid",
    "fista",
    "fit_window",
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
    "triangle",
]
