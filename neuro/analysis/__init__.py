"""sparse_neuro.neuro.analysis: statistics of recordings and learned weights.

Spike statistics (:mod:`sparse_neuro.neuro.analysis.spikes`): firing rates, ISI CV, Fano factor,
population / lifetime sparseness, activation sparsity. Receptive-field analysis
(:mod:`sparse_neuro.neuro.analysis.gabor`): 2-D Gabor fits and population statistics.
"""

from sparse_neuro.neuro.analysis.gabor import (
    GaborFit,
    fit_gabor,
    fit_gabors,
    gabor_image,
    gabor_population_stats,
)
from sparse_neuro.neuro.analysis.spikes import (
    activation_sparsity,
    fano_factor,
    firing_rates,
    isi_cv,
    lifetime_sparseness,
    mean_rate,
    population_sparseness,
)

__all__ = [
    "GaborFit",
    "activation_sparsity",
    "fano_factor",
    "firing_rates",
    "fit_gabor",
    "fit_gabors",
    "gabor_image",
    "gabor_population_stats",
    "isi_cv",
    "lifetime_sparseness",
    "mean_rate",
    "population_sparseness",
]
