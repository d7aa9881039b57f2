"""Which experiments exist, and what the demo tour runs.

EXPERIMENTS maps a command-line name to the module that implements it (see
experiments/common.py for the module contract). DEMO lists the experiments the
``demo`` tour runs, each at its ``QUICK`` size.
"""

EXPERIMENTS: dict[str, str] = {
    "stdp-window": "experiments.stdp_window",
    "stdp-digits": "experiments.stdp_digits",
    "cuba": "experiments.cuba",
    "brette2007": "experiments.brette2007",
    "brunel": "experiments.brunel",
    "microcircuit": "experiments.microcircuit",
    "engine-sweep": "experiments.engine_sweep",
    "digits-surrogate": "experiments.digits_surrogate",
    "mnist-surrogate": "experiments.mnist_surrogate",
    "loihi-energy": "experiments.loihi_energy",
    "loihi-calibration": "experiments.loihi_calibration",
    "double-sparsity": "experiments.double_sparsity",
    "olshausen-field": "experiments.olshausen_field",
    "spiking-lca": "experiments.spiking_lca",
    "sparsity-sweep": "experiments.sparsity_sweep",
    "noise-robustness": "experiments.noise_robustness",
    "bio-suite": "experiments.bio_suite",
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
