"""Which experiments exist, and what the demo tour runs.

EXPERIMENTS maps a command-line name to the module that implements it (see
experiments/common.py for the module contract). DEMO lists the experiments the
``demo`` tour runs, each at its ``QUICK`` size.
"""

EXPERIMENTS: dict[str, str] = {
    "stdp-window": "sparse_neuro.experiments.stdp_window",
    "stdp-digits": "sparse_neuro.experiments.stdp_digits",
    "stdp-fit": "sparse_neuro.experiments.stdp_fit",
    "cuba": "sparse_neuro.experiments.cuba",
    "brette2007": "sparse_neuro.experiments.brette2007",
    "brunel": "sparse_neuro.experiments.brunel",
    "microcircuit": "sparse_neuro.experiments.microcircuit",
    "engine-sweep": "sparse_neuro.experiments.engine_sweep",
    "digits-surrogate": "sparse_neuro.experiments.digits_surrogate",
    "mnist-surrogate": "sparse_neuro.experiments.mnist_surrogate",
    "loihi-energy": "sparse_neuro.experiments.loihi_energy",
    "loihi-calibration": "sparse_neuro.experiments.loihi_calibration",
    "double-sparsity": "sparse_neuro.experiments.double_sparsity",
    "olshausen-field": "sparse_neuro.experiments.olshausen_field",
    "spiking-lca": "sparse_neuro.experiments.spiking_lca",
    "sparsity-sweep": "sparse_neuro.experiments.sparsity_sweep",
    "noise-robustness": "sparse_neuro.experiments.noise_robustness",
    "bio-suite": "sparse_neuro.experiments.bio_suite",
}

DEMO: list[str] = [
    "stdp-window",
    "stdp-digits",
    "cuba",
    "engine-sweep",
    "digits-surrogate",
    "mnist-surrogate",
    "loihi-energy",
    "loihi-calibration",
    "olshausen-field",
    "bio-suite",
]
