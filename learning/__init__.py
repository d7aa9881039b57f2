"""learning: how synapses change (surrogate-gradient training, conversion, STDP, sparse coding)."""

from learning.convert import engine_lif_params, from_snntorch, run_on_engine, to_network
from learning.surrogate import SurrogateSpike, arctan, fast_sigmoid, triangle
from learning.training import TrainConfig, TrainResult, direct_input, evaluate, rate_input, train
from learning.sparse_coding import DictionaryConfig, DictionaryResult, fista, ista, lca, learn_dictionary  # noqa: F401
from learning.spiking_lca import SpikingLCAParams, spiking_lca_codes  # noqa: F401
from learning.stdp import STDPRule, fit_window, learning_rate_schedule, pair_window, reference_weight, trace_value  # noqa: F401
from learning.homeostasis import ThresholdAdaptation, normalize_columns, synaptic_scaling, theta_value  # noqa: F401

__all__ = [
    "SurrogateSpike",
    "TrainConfig",
    "TrainResult",
    "arctan",
    "direct_input",
    "engine_lif_params",
    "evaluate",
    "fast_sigmoid",
    "from_snntorch",
    "rate_input",
    "run_on_engine",
    "to_network",
    "train",
    "triangle",
]
