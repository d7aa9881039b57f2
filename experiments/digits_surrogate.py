"""digits-surrogate: surrogate-gradient BPTT on sklearn digits, 64-128-10 LIF, T = 25.

Stratified 75/25 split (random_state 0). Variants: dense with direct current input (the
accuracy claim), 90% weight sparsity, k-WTA hidden layer (k = 10 of 128), and Bernoulli
rate-coded input, whose trained model is converted to a Network and run on the clock
engine for every test sample (spike trains compared with torch's). Reference
(REFERENCE.md): snntorch 97.6 +- 0.7% direct input, 96.7 +- 0.7% Poisson input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sparse_neuro.encoders import load_digits_split
from sparse_neuro.experiments.surrogate_common import SurrogateConfig, run_surrogate

__all__ = ["Config", "run", "SMOKE", "QUICK"]


@dataclass(frozen=True)
class Config(SurrogateConfig):
    """digits-surrogate parameters (see
    sparse_neuro.experiments.surrogate_common.SurrogateConfig)."""

    hidden: int = 128
    n_steps: int = 25
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    beta: float = 0.95
    loss: str = "count"
    kwta_fraction: float = 0.08
    engine_samples: int = 450


SMOKE: dict[str, Any] = {"hidden": 32, "n_steps": 8, "epochs": 1, "engine_samples": 5}
QUICK: dict[str, Any] = {"epochs": 8, "engine_samples": 100}


def run(cfg: Config, ctx: Any) -> dict:
    """Train and evaluate the variants; see the module docstring."""
    return run_surrogate(cfg, ctx, load_digits_split(test_size=0.25, random_state=0))
