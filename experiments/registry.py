"""Which experiments exist, and what the demo tour runs.

EXPERIMENTS maps a command-line name to the module that implements it (see
experiments/common.py for the module contract). DEMO lists the experiments the
``demo`` tour runs, each at its ``QUICK`` size.
"""

EXPERIMENTS: dict[str, str] = {
    "cuba": "experiments.cuba",
    "loihi-energy": "experiments.loihi_energy",
    "double-sparsity": "experiments.double_sparsity",
}

DEMO: list[str] = [
    "cuba",
    "loihi-energy",
]
