"""noise-robustness: do sparse spiking networks degrade more slowly under input noise?

Ahmad & Scheinkman 2019 ("How can we be so dense?") report that networks with sparse
weights and k-winners-take-all activations keep their accuracy far longer than dense
networks of equal clean accuracy when input pixels are replaced by noise. Here, on the
MNIST split (first 8,000 test images train, last 2,000 test), three LIF networks
``784-hidden-10`` with rate-coded input are trained identically (spike-count
cross-entropy, Adam) for every seed:

``dense``         all-to-all weights;
``sparse``        a fixed random pattern of ``weight_density`` in both projections;
``sparse_kwta``   the same with k-WTA in the hidden layer, ``k = kwta_fraction * hidden``
                  winners per step.

Test: a fraction ``f`` of the pixels of every test image (chosen at random per image) is
replaced by uniform noise in [0, 1] before rate coding; accuracy vs ``f``. The noise score
is the mean accuracy over the noise levels (the area under the curve).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sparse_neuro.encoders import load_mnist
from sparse_neuro.experiments.point_store import PointStore, point_key
from sparse_neuro.learning import evaluate, rate_input
from sparse_neuro.learning.sparsity.train_loop import train_with_hook
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.storage.checkpoint import check_resume_mode, config_hash
from sparse_neuro.neuro.train import SpikingMLP

__all__ = ["Config", "run", "SMOKE", "QUICK", "NETWORKS", "replace_with_noise"]

NETWORKS = ("dense", "sparse", "sparse_kwta")


@dataclass(frozen=True)
class Config:
    """Parameters of the noise-robustness comparison."""

    hidden: int = 1000
    n_train: int = 8000
    n_test: int = 2000
    n_steps: int = 25
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3  # mnist-surrogate's validated rate (2e-3 left a dense net at 30%)
    weight_density: float = 0.3
    kwta_fraction: float = 0.1
    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    seeds: int = 3
    threads: int = 1
    resume: str = "auto"

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        for name in ("hidden", "n_steps", "epochs", "batch_size", "seeds", "threads"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0 < self.n_train < 10000:
            raise ValueError(f"n_train must be in [1, 9999], got {self.n_train}")
        if not 0 < self.n_test <= 10000 - self.n_train:
            raise ValueError(f"n_test must be in [1, {10000 - self.n_train}], got {self.n_test}")
        if not 0 < self.weight_density < 1:
            raise ValueError(f"weight_density must be in (0, 1), got {self.weight_density}")
        if not 0 < self.kwta_fraction < 1:
            raise ValueError(f"kwta_fraction must be in (0, 1), got {self.kwta_fraction}")
        if not self.noise_levels or any(not 0 <= f <= 1 for f in self.noise_levels):
            raise ValueError(f"noise_levels must be values in [0, 1], got {self.noise_levels}")
        check_resume_mode(self.resume)


SMOKE: dict[str, Any] = {
    "hidden": 40,
    "n_train": 600,
    "n_test": 200,
    "n_steps": 6,
    "epochs": 1,
    "seeds": 2,
    "noise_levels": (0.0, 0.5),
}
QUICK: dict[str, Any] = {"epochs": 2, "noise_levels": (0.0, 0.2, 0.4, 0.6)}


def replace_with_noise(x: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Copy of ``x`` [n, d] with ``round(fraction * d)`` random pixels per row set to U(0, 1)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    out = np.array(x, dtype=np.float32, copy=True)
    n, d = out.shape
    k = int(round(fraction * d))
    if k:
        cols = np.argsort(rng.random((n, d)), axis=1)[:, :k]  # k distinct pixels per image
        out[np.arange(n)[:, None], cols] = rng.random((n, k), dtype=np.float32)
    return out


def _network(cfg: Config, name: str, n_in: int, n_out: int, seed: int) -> SpikingMLP:
    density = 1.0 if name == "dense" else cfg.weight_density
    k = max(1, round(cfg.kwta_fraction * cfg.hidden)) if name == "sparse_kwta" else None
    return SpikingMLP(
        (n_in, cfg.hidden, n_out), n_steps=cfg.n_steps, density=density, kwta_k=k, seed=seed
    )


def _identity(cfg: Config, name: str, seed: int) -> str:
    """Run identity of network ``name``: the parameters it does not use set to their defaults."""
    unused = {"seeds": 1, "threads": 1, "resume": "auto"}
    if name != "sparse_kwta":
        unused["kwta_fraction"] = Config.kwta_fraction
    if name == "dense":
        unused["weight_density"] = Config.weight_density
    return config_hash(replace(cfg, **unused), seed=seed)


def run(cfg: Config, ctx) -> dict:
    """Train the three networks per seed; accuracy vs noise fraction; plot mean +- std."""
    torch.set_num_threads(cfg.threads)
    data = load_mnist(n_train=cfg.n_train)
    x_test, y_test = data.x_test[: cfg.n_test], data.y_test[: cfg.n_test]
    encode = rate_input(cfg.n_steps)
    levels = list(cfg.noise_levels)
    acc = np.zeros((len(NETWORKS), cfg.seeds, len(levels)))
    act = np.zeros((len(NETWORKS), cfg.seeds))
    jobs = {
        point_key(NETWORKS[i], s): (i, s) for s in range(cfg.seeds) for i in range(len(NETWORKS))
    }

    def compute(key: str) -> dict:
        i, s = jobs[key]
        seed = ctx.seed + 1000 * s
        model = _network(cfg, NETWORKS[i], data.n_features, data.n_classes, seed)
        train_with_hook(
            model,
            data.x_train,
            data.y_train,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=seed,
            encode=encode,
        )
        out = {"accuracy": [], "activation_sparsity": float("nan")}
        for j, f in enumerate(levels):
            noisy = replace_with_noise(x_test, f, seed + 7 + j)
            ev = evaluate(model, noisy, y_test, encode=encode, seed=seed)
            out["accuracy"].append(ev["accuracy"])
            if f == 0:
                out["activation_sparsity"] = ev["activation_sparsity"][0]
        return out

    # finished (network, seed) points are kept: a killed run resumes, parallel runs share
    # them, and a run that changes one network's parameters reuses the other networks
    bar = ctx.progress(total=len(jobs), desc="networks x seeds")
    stores = [
        PointStore(
            ctx.checkpoint_path("points"),
            _identity(cfg, name, ctx.seed),
            fresh=cfg.resume == "fresh",
        )
        for name in NETWORKS
    ]
    done: dict[str, dict] = {}
    for wait in (False, True):  # first what no other process holds, then await the rest
        for i, store in enumerate(stores):
            mine = [k for k, (n, _s) in jobs.items() if n == i and k not in done]
            done.update(
                store.compute_all(mine, compute, on_done=lambda _k: bar.update(1), wait=wait)
            )
    for key, r in done.items():
        i, s = jobs[key]
        acc[i, s], act[i, s] = r["accuracy"], r["activation_sparsity"]
    mean, std = acc.mean(1), acc.std(1, ddof=1) if cfg.seeds > 1 else np.zeros_like(acc[:, 0])
    ctx.save_arrays(
        "noise",
        {"accuracy": acc, "noise_levels": np.asarray(levels), "hidden_activation_sparsity": act},
        {"networks": ",".join(NETWORKS)},
    )

    fig = Figure(figsize=(6, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, name in enumerate(NETWORKS):
        ax.errorbar(
            100 * np.asarray(levels),
            100 * mean[i],
            yerr=100 * std[i],
            marker="o",
            ms=4,
            capsize=3,
            label=f"{name} (clean {100 * mean[i, 0]:.1f}%)",
        )
    ax.set(
        xlabel="input pixels replaced by noise (%)",
        ylabel="test accuracy (%)",
        title=f"MNIST split, {cfg.seeds} seeds (mean +- std)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.save_figure(fig, "noise_robustness")

    score = acc.mean(2)  # per network and seed: mean accuracy over the noise levels
    return {
        "noise_levels": levels,
        "accuracy": {n: mean[i].tolist() for i, n in enumerate(NETWORKS)},
        "accuracy_std": {n: std[i].tolist() for i, n in enumerate(NETWORKS)},
        "accuracy_per_seed": {n: acc[i].tolist() for i, n in enumerate(NETWORKS)},
        "clean_accuracy": {n: float(mean[i, 0]) for i, n in enumerate(NETWORKS)},
        "noise_score": {n: float(score[i].mean()) for i, n in enumerate(NETWORKS)},
        "noise_score_std": {
            n: float(score[i].std(ddof=1)) if cfg.seeds > 1 else 0.0 for i, n in enumerate(NETWORKS)
        },
        "hidden_activation_sparsity": {n: float(act[i].mean()) for i, n in enumerate(NETWORKS)},
        "seeds": cfg.seeds,
        "data": {"split": data.description, "test_used": len(y_test)},
        "weight_density": cfg.weight_density,
        "kwta_k": max(1, round(cfg.kwta_fraction * cfg.hidden)),
    }
