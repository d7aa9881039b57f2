"""Shared body of the surrogate-gradient experiments (digits-surrogate, mnist-surrogate).

One run trains up to four variants of the same architecture with BPTT
(:mod:`sparse_neuro.learning.training`) and reports each on the test set:

* ``main``: dense weights, direct current input (the accuracy claim);
* ``sparse``: the same with a fixed random connectivity of density ``sparse_density``;
* ``kwta``: k-WTA hidden layers, ``k = round(kwta_fraction * hidden)``;
* ``spike``: Bernoulli rate-coded input; this model is converted to a
  :class:`sparse_neuro.neuro.model.network.Network` and run on the clock engine sample by sample,
  and the engine's spike trains are compared with torch's (float64, same arithmetic up to the
  order of additions, see :mod:`sparse_neuro.learning.convert`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from sparse_neuro.encoders import Split, rate_code
from sparse_neuro.learning.convert import run_on_engine, to_network
from sparse_neuro.learning.training import (
    TrainConfig,
    count_ce_loss,
    direct_input,
    evaluate,
    membrane_ce_loss,
    rate_input,
    resolve_device,
    train,
)
from sparse_neuro.neuro.model.record import SpikeTrains
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting import raster
from sparse_neuro.neuro.storage.checkpoint import check_resume_mode, config_hash
from sparse_neuro.neuro.train import SpikingMLP
from sparse_neuro.neuro.train.surrogate import arctan, fast_sigmoid

__all__ = ["SurrogateConfig", "run_surrogate"]

_LOSSES = {"count": count_ce_loss, "membrane": membrane_ce_loss}


@dataclass(frozen=True)
class SurrogateConfig:
    """Parameters shared by the surrogate-gradient experiments (subclassed with defaults).

    Parameters
    ----------
    hidden : int
        Hidden-layer width (one hidden layer).
    n_steps : int
        Time steps per sample.
    epochs, batch_size, lr
        Adam/BPTT settings.
    beta, threshold : float
        LIF decay per step and threshold.
    surrogate : str
        ``"arctan"`` (alpha = 2, snntorch's default) or ``"fast_sigmoid"`` (slope 25).
    loss : str
        ``"count"`` (cross-entropy of spike counts) or ``"membrane"`` (tutorial 5: summed
        per-step cross-entropy of the output membrane).
    sparse_density : float
        Density of the ``sparse`` variant (0.1 = 90% weight sparsity); 0 skips it.
    kwta_fraction : float
        ``k / hidden`` of the ``kwta`` variant; 0 skips it.
    spike_input : bool
        Train the rate-coded-input variant and check it on the clock engine.
    engine_samples : int
        Test samples run on the engine (0: none).
    threads : int
        torch threads for the run.
    device : str
        torch device for training and evaluation (``"cpu"``, ``"cuda"``, ``"cuda:1"``);
        the clock-engine check and the saved arrays are computed on the CPU.
    resume : str
        ``"auto"``: continue from this run's checkpoint, refuse another run's;
        ``"fresh"``: ignore (and overwrite) existing checkpoints.
    """

    hidden: int = 128
    n_steps: int = 25
    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    beta: float = 0.95
    threshold: float = 1.0
    surrogate: str = "arctan"
    loss: str = "count"
    sparse_density: float = 0.1
    kwta_fraction: float = 0.08
    spike_input: bool = True
    engine_samples: int = 450
    threads: int = 1
    device: str = "cpu"
    resume: str = "auto"

    def __post_init__(self) -> None:
        check_field_types(self)  # hidden=2.9 would pass the checks below
        resolve_device(self.device)  # ValueError naming the available devices
        check_resume_mode(self.resume)
        for name in ("hidden", "n_steps", "epochs", "batch_size", "threads"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not (0.0 < self.beta < 1.0):
            raise ValueError(f"beta must be in (0, 1), got {self.beta}")
        if not self.threshold > 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if self.surrogate not in ("arctan", "fast_sigmoid"):
            raise ValueError(
                f"surrogate must be 'arctan' or 'fast_sigmoid', got {self.surrogate!r}"
            )
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {sorted(_LOSSES)}, got {self.loss!r}")
        if not (0.0 <= self.sparse_density <= 1.0):
            raise ValueError(f"sparse_density must be in [0, 1], got {self.sparse_density}")
        if not (0.0 <= self.kwta_fraction <= 1.0):
            raise ValueError(f"kwta_fraction must be in [0, 1], got {self.kwta_fraction}")
        if self.engine_samples < 0:
            raise ValueError(f"engine_samples must be >= 0, got {self.engine_samples}")


def _model(cfg: SurrogateConfig, sizes: tuple[int, ...], seed: int, **kw: Any) -> SpikingMLP:
    fn = arctan(2.0) if cfg.surrogate == "arctan" else fast_sigmoid(25.0)
    return SpikingMLP(
        sizes,
        n_steps=cfg.n_steps,
        beta=cfg.beta,
        threshold=cfg.threshold,
        spike_fn=fn,
        seed=seed,
        **kw,
    ).to(resolve_device(cfg.device))


def _variant(cfg, ctx, data: Split, sizes, name: str, encode, **kw) -> dict[str, Any]:
    model = _model(cfg, sizes, ctx.seed, **kw)
    tc = TrainConfig(
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=ctx.seed, checkpoint_every=20
    )
    res = train(
        model,
        data.x_train,
        data.y_train,
        tc,
        encode=encode,
        loss_fn=_LOSSES[cfg.loss],
        eval_data=(data.x_test, data.y_test),
        checkpoint_path=ctx.checkpoint_path(f"{name}.pt"),
        resume=cfg.resume == "auto",
        run_key=config_hash(replace(cfg, resume="auto"), variant=name),
        progress=ctx.show_progress,
    )
    ev = evaluate(model, data.x_test, data.y_test, encode=encode, seed=ctx.seed)
    return {"model": model, "history": res, "eval": ev}


def _engine_check(cfg, ctx, model: SpikingMLP, data: Split) -> dict[str, Any]:
    """Run the spike-input model on the clock engine; compare spikes sample by sample."""
    model = model.cpu().double()  # the engine reference runs on the CPU in float64
    n = min(cfg.engine_samples, len(data.x_test))
    x = rate_code(data.x_test[:n], cfg.n_steps, seed=ctx.seed + 1, dtype=np.float64)
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    layers = [*out.hidden, out.spikes]
    net = to_network(model)
    identical, eng_pred = 0, []
    t0 = time.perf_counter()
    for b in ctx.progress(range(n), total=n, desc="clock engine"):
        eng = run_on_engine(model, x[:, b], network=net)
        same = all(np.array_equal(e, s[:, b].numpy().astype(bool)) for e, s in zip(eng, layers))
        identical += int(same)
        eng_pred.append(int(eng[-1].sum(0).argmax()))
    eng_pred = np.array(eng_pred)
    torch_pred = out.spikes.sum(0).argmax(1).numpy()
    return {
        "engine_samples": n,
        "engine_identical_fraction": identical / max(n, 1),
        "engine_accuracy": float((eng_pred == data.y_test[:n]).mean()) if n else float("nan"),
        "engine_torch_accuracy": float((torch_pred == data.y_test[:n]).mean())
        if n
        else float("nan"),
        "engine_predictions_equal": bool(np.array_equal(eng_pred, torch_pred)),
        "engine_seconds": time.perf_counter() - t0,
    }


def _curve_figure(results: dict[str, dict]) -> Figure:
    fig = Figure(figsize=(9, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    for name, r in results.items():
        h = r["history"]
        ep = np.arange(1, len(h.loss) + 1)
        ax1.plot(ep, h.loss, label=name)
        ax2.plot(ep, 100 * np.array(h.test_accuracy), label=name)
    ax1.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _raster_figure(
    model: SpikingMLP, x: np.ndarray, label: int, encode, dt_s: float = 1e-3
) -> Figure:
    p = next(model.parameters())
    with torch.no_grad():
        out = model(encode(torch.as_tensor(x[None], dtype=p.dtype, device=p.device), 0))
    groups = {}
    for name, s in (("hidden", out.hidden[0][:, 0]), ("output", out.spikes[:, 0])):
        t, i = np.nonzero(s.cpu().numpy())
        groups[name] = SpikeTrains(t * dt_s, i, s.shape[1], s.shape[0] * dt_s)
    return raster(
        groups, bin_s=5 * dt_s, marker_size=6.0, title=f"test sample, label {label} (1 step = 1 ms)"
    )


def run_surrogate(cfg: SurrogateConfig, ctx: Any, data: Split) -> dict[str, Any]:
    """Train the variants, evaluate, check the engine, write figures and arrays.

    The summary's ``data.split`` is ``data.description`` (which data and which split).
    """
    torch.set_num_threads(cfg.threads)
    sizes = (data.n_features, cfg.hidden, data.n_classes)
    direct = direct_input()
    results: dict[str, dict] = {}
    results["main"] = _variant(cfg, ctx, data, sizes, "main", direct)
    if cfg.sparse_density > 0:
        results["sparse"] = _variant(
            cfg, ctx, data, sizes, "sparse", direct, density=cfg.sparse_density
        )
    k = max(1, round(cfg.kwta_fraction * cfg.hidden)) if cfg.kwta_fraction > 0 else 0
    if k:
        results["kwta"] = _variant(cfg, ctx, data, sizes, "kwta", direct, kwta_k=k)
    if cfg.spike_input:
        results["spike"] = _variant(cfg, ctx, data, sizes, "spike", rate_input(cfg.n_steps))

    main = results["main"]["eval"]
    summary: dict[str, Any] = {
        "test_accuracy": main["accuracy"],
        "train_seconds": results["main"]["history"].train_seconds,  # excludes evaluation
        "hidden_spikes_per_sample": main["spikes_per_sample"][0],
        "activation_sparsity": main["activation_sparsity"][0],
        "output_spikes_per_sample": main["spikes_per_sample"][1],
        "architecture": "-".join(map(str, sizes)),
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "data": {"split": data.description},
    }
    for name in ("sparse", "kwta", "spike"):
        if name in results:
            ev = results[name]["eval"]
            summary[f"{name}_test_accuracy"] = ev["accuracy"]
            summary[f"{name}_hidden_spikes_per_sample"] = ev["spikes_per_sample"][0]
            summary[f"{name}_activation_sparsity"] = ev["activation_sparsity"][0]
            summary[f"{name}_train_seconds"] = results[name]["history"].train_seconds
    if "sparse" in results:
        summary["sparse_weight_sparsity"] = 1.0 - cfg.sparse_density
    if k:
        summary["kwta_k"] = k
    if cfg.spike_input and cfg.engine_samples > 0:
        summary.update(_engine_check(cfg, ctx, results["spike"]["model"], data))

    for name, r in results.items():
        h = r["history"]
        ctx.save_arrays(
            f"{name}/history",
            {
                "loss": np.array(h.loss),
                "test_accuracy": np.array(h.test_accuracy),
                "epoch_seconds": np.array(h.epoch_seconds),
            },
        )
        ctx.save_arrays(
            f"{name}/weights",
            {f"layer{i}": fc.to_synapses().to_dense() for i, fc in enumerate(r["model"].fcs)},
        )
        ctx.save_arrays(f"{name}/predictions", {"test": r["eval"]["predictions"]})
    ctx.save_figure(_curve_figure(results), "learning_curve")
    ctx.save_figure(
        _raster_figure(results["main"]["model"], data.x_test[0], int(data.y_test[0]), direct),
        "raster",
    )
    return summary
