"""neuro.analysis: statistics of recordings and learned weights.

Spike statistics (:mod:`neuro.analysis.spikes`): firing rates, ISI CV, Fano factor,
population / lifetime sparseness, activation sparsity. Other modules (Gabor fits, ...) add
their re-exports below, one line each.
"""

from neuro.analysis.spikes import (
    activation_sparsity,
    fano_factor,
    firing_rates,
    isi_cv,
    lifetime_sparseness,
    mean_rate,
    population_sparseness,
)
from neuro.analysis.gabor import GaborFit, fit_gabor, fit_gabors, gabor_image, gabor_population_stats  # noqa: F401
