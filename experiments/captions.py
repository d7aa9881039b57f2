"""Captions of the experiments' figures, shown under each figure of a run's report page.

Keyed by ``"experiment/figure"`` (the figure's file name without extension); a key ending
in ``*`` matches every figure whose name starts with what precedes it (figures named per
population or per network). An experiment may also pass its own caption to
``RunContext.save_figure``, which then wins (it can quote numbers of the run).
"""

from __future__ import annotations

__all__ = ["CAPTIONS", "caption_for"]

CAPTIONS: dict[str, str] = {
    "stdp-window/stdp_window": (
        "Weight change per pairing against the pre-to-post spike interval (pairing protocol on the "
        "clock engine), with the fitted double-exponential window."
    ),
    "stdp-window/triplet_frequency": (
        "Triplet rule: weight change after the pairings at +/- the configured interval against the "
        "pairing frequency (potentiation grows with frequency, depression turns into potentiation)."
    ),
    "stdp-digits/receptive_fields": (
        "Input weights of the excitatory neurons after unsupervised STDP learning, one tile per neuron "
        "(up to 400 shown), grey = 0."
    ),
    "stdp-digits/assignments": "Number of excitatory neurons assigned to each digit class after learning.",
    "stdp-digits/raster": "Spikes of the excitatory layer during one test presentation (time from its onset).",
    "cuba/raster": (
        "Spike raster of the CUBA network (a subsample of neurons, as stated in the panel) and the "
        "population rate below it."
    ),
    "engine-sweep/engine_sweep": (
        "Wall time per simulated duration of the clock engine and the exact event-driven engine "
        "against the network's mean firing rate (log-log)."
    ),
    "digits-surrogate/learning_curve": "Training loss (log scale) and test accuracy per epoch of the surrogate-gradient network.",
    "digits-surrogate/raster": "Spikes of the trained network's layers for one test sample (1 time step = 1 ms).",
    "mnist-surrogate/learning_curve": "Training loss (log scale) and test accuracy per epoch of the surrogate-gradient network.",
    "mnist-surrogate/raster": "Spikes of the trained network's layers for one test sample (1 time step = 1 ms).",
    "loihi-energy/digits_breakdown": (
        "Energy per inference of the digits classifier on the Loihi energy model, split by category "
        "(synaptic operations, neuron updates, spikes, static), for each energy preset."
    ),
    "loihi-energy/digits_vs_dense": (
        "Energy per inference of the digits classifier: Loihi model against a dense CPU/GPU baseline "
        "(log scale)."
    ),
    "loihi-energy/digits_core_heatmap": "Energy per inference of each neuromorphic core, placed as on the chip; colour scale from zero.",
    "loihi-energy/kws_breakdown": (
        "Keyword-spotting-sized network (2x256): energy per inference of the Loihi model, a dense "
        "model and the measurements of Blouw et al. (2019) on Loihi, CPU and GPU (log scale)."
    ),
    "loihi-energy/cuba_core_heatmap": "CUBA network on the Loihi model: energy per simulated second of each core; colour scale from zero.",
    "loihi-calibration/measured_vs_model": (
        "Energy (left) and time (right) per inference: Loihi energy model against the measurements of "
        "Blouw et al. (2019); squares were used to fit the model, circles are held out; shaded: within 2x."
    ),
    "olshausen-field/receptive_fields": (
        "Learned basis functions on whitened natural-image patches, each tile scaled symmetrically "
        "around zero (grey = 0)."
    ),
    "olshausen-field/receptive_fields_sorted": "The same basis functions sorted by the R^2 of their Gabor fit (best first).",
    "olshausen-field/gabor_tiling": (
        "Position, orientation and spatial frequency of the well-fit Gabors: each bar is one basis "
        "function at its centre, drawn along its bars."
    ),
    "spiking-lca/receptive_fields_spiking": "Effective receptive fields of the spiking LCA neurons (grey = 0).",
    "spiking-lca/gabor_tiling_spiking": "Gabor tiling of the spiking LCA receptive fields (centre, orientation, frequency).",
    "spiking-lca/receptive_fields_spiking_learned": "Dictionary learned with spiking-LCA inference in the loop (grey = 0).",
    "brunel/brunel_*": "Brunel (2000) network in the named state, per simulator: spike raster (top) and population rate (bottom).",
    "brette2007/raster_*": "Brette et al. (2007) benchmark network, per simulator: spike raster with mean rate and ISI CV in the title.",
    "microcircuit/microcircuit": "Potjans & Diesmann (2014) microcircuit: raster of 5% of the neurons per simulator, and the mean rate of each population.",
    "double-sparsity/double_sparsity": (
        "Activation and weight sparsity together: synaptic operations relative to dense multiplications, "
        "the densities explored, and energy per step of the Loihi model against measured activation density."
    ),
    "noise-robustness/noise_robustness": "Test accuracy against the percentage of input pixels replaced by noise.",
    "sparsity-sweep/sparsity_sweep": (
        "Pruning: test accuracy against weight density, against energy per inference on the Loihi model, "
        "and with only one layer pruned."
    ),
}


def caption_for(experiment: str, figure: str) -> str | None:
    """The registered caption of ``figure`` of ``experiment``, or ``None``."""
    key = f"{experiment}/{figure}"
    if key in CAPTIONS:
        return CAPTIONS[key]
    for k, text in CAPTIONS.items():
        if k.endswith("*") and key.startswith(k[:-1]):
            return text
    return None
