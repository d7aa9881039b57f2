"""BPTT training of spiking networks: progress bar, periodic checkpoints, exact resume.

Determinism: the shuffling of epoch ``e`` and the input encoding of batch ``b`` of epoch
``e`` are seeded from ``(seed, e, b)`` alone, and the checkpoint holds torch's global
random state, so a run interrupted after any checkpoint and resumed from it performs exactly
the same updates as an uninterrupted run and ends with the same weights. Checkpoints hold
tensors and plain data only and are read with ``weights_only=True`` (no code runs); they carry
the run identity (:mod:`sparse_neuro.neuro.storage.checkpoint`) and resuming another run's
checkpoint is refused. They are sealed with a manifest and SHA-256
(:func:`sparse_neuro.neuro.storage.checkpoint.seal`), and their values are checked before use
(:func:`check_checkpoint`): an edited file is a FormatError.

The default loss is snntorch tutorial 5's: cross-entropy of the output membrane at every
step, summed over steps; predictions are the argmax of output spike counts.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from sparse_neuro.neuro.model.validation import check_field_types, check_finite_data
from sparse_neuro.neuro.storage.atomic import atomic_path
from sparse_neuro.neuro.storage.checkpoint import (
    CheckpointMismatch,
    check_identity,
    run_identity,
    seal,
    verify,
)
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.safe_read import open_torch

log = logging.getLogger(__name__)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "Encoder",
    "direct_input",
    "rate_input",
    "train",
    "evaluate",
    "membrane_ce_loss",
    "count_ce_loss",
    "resolve_device",
    "load_checkpoint",
    "check_checkpoint",
    "check_finite_tensors",
]

Encoder = Callable[[torch.Tensor, int], torch.Tensor]
"""``encode(x_batch [B, N], seed) -> input [T, B, N] (or static [B, N])``."""


def direct_input() -> Encoder:
    """Present the real-valued input unchanged at every step (direct current input)."""

    def encode(x: torch.Tensor, seed: int) -> torch.Tensor:
        return x

    return encode


def rate_input(n_steps: int, gain: float = 1.0) -> Encoder:
    """Bernoulli rate code (:func:`sparse_neuro.encoders.rate_code`) with a per-batch seed."""
    from sparse_neuro.encoders.codes import rate_code

    def encode(x: torch.Tensor, seed: int) -> torch.Tensor:
        return rate_code(x, n_steps, gain=gain, seed=seed, dtype=x.dtype)

    return encode


def membrane_ce_loss(out: Any, y: torch.Tensor) -> torch.Tensor:
    """Sum over steps of cross-entropy of the output membrane (snntorch tutorial 5)."""
    mems = out.mems
    T, B, C = mems.shape
    return nn.functional.cross_entropy(mems.reshape(T * B, C), y.repeat(T), reduction="mean") * T


def count_ce_loss(out: Any, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of output spike counts."""
    return nn.functional.cross_entropy(out.spikes.sum(0), y)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    Parameters
    ----------
    epochs : int >= 1
    batch_size : int >= 1
    lr : float > 0
        Adam learning rate.
    seed : int
        Seeds shuffling and input encoding.
    checkpoint_every : int
        Save a checkpoint every this many batches (0: only at the end of each epoch).
    """

    epochs: int = 1
    batch_size: int = 128
    lr: float = 5e-4
    seed: int = 0
    checkpoint_every: int = 0

    def __post_init__(self) -> None:
        check_field_types(self)  # epochs=2.5 or seed="1" would pass the checks below
        if self.seed < 0:  # numpy would say only "expected non-negative integer", later
            raise ValueError(f"seed must be an integer >= 0, got {self.seed}")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        if int(self.checkpoint_every) != self.checkpoint_every or self.checkpoint_every < 0:
            raise ValueError(
                f"checkpoint_every must be an integer >= 0, got {self.checkpoint_every}"
            )


@dataclass
class TrainResult:
    """History of a training run: one entry per epoch."""

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    resumed_from: tuple[int, int] | None = None

    @property
    def train_seconds(self) -> float:
        return float(sum(self.epoch_seconds))


def resolve_device(device: str | torch.device) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``... as a usable ``torch.device``.

    Raises
    ------
    ValueError
        If torch cannot parse it or this machine has no such device (e.g. ``"cuda"`` without
        a GPU), naming the devices that are available.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    available = ["cpu"]
    if torch.cuda.is_available():
        available += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        available.append("mps")
    if str(dev) not in available:
        raise ValueError(
            f"device {str(dev)!r} is not available on this machine; available: {available}"
        )
    return dev


def _batch_seed(seed: int, epoch: int, batch: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, batch]).generate_state(1)[0])


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint with ``weights_only=True`` (tensors and plain data only).

    Raises
    ------
    FormatError
        The file is not such a checkpoint (e.g. a pickle that would import or call code).
    """
    try:
        with open_torch(path, "training checkpoint") as fh:  # regular file, no zip bomb
            state = torch.load(fh, weights_only=True, map_location="cpu")
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as e:
        raise FormatError(
            f"{path}: not a safe training checkpoint: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}"
        ) from None
    state = verify(state, str(path))  # manifest and SHA-256: an edited file stops here
    keys = {"model", "optimizer", "epoch", "batch", "history", "config", "torch_rng"}
    if not isinstance(state, dict) or not keys <= set(state):
        raise FormatError(f"{path}: not a training checkpoint (expected keys {sorted(keys)})")
    return state


def _int_in(path: object, name: str, value: object, lo: int, hi: int) -> int:
    """``value`` if it is an int in ``[lo, hi]``, else a FormatError naming the entry."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FormatError(f"{path}: {name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def check_finite_tensors(path: object, name: str, obj: object) -> None:
    """Raise a FormatError (naming the file ``path``) for the first tensor of ``obj``
    (nested dicts and lists, e.g. a state dict) with NaN or inf."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_finite_tensors(path, f"{name}.{k}", v)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_finite_tensors(path, f"{name}[{i}]", v)
    elif (
        isinstance(obj, torch.Tensor)
        and obj.is_floating_point()
        and not bool(torch.isfinite(obj).all())
    ):
        raise FormatError(f"{path}: {name} must be finite (found NaN or inf)")


def check_checkpoint(
    state: dict[str, Any], config: TrainConfig, n_batches: int, path: object, model: nn.Module
) -> None:
    """Check the values of a training checkpoint before they are used (after its checksum:
    a re-signed file must still hold a resumable state).

    ``epoch`` in ``[0, config.epochs]`` and ``batch`` in ``[0, n_batches)`` (0 once every
    epoch is done); one history entry (a number) per finished epoch; model and optimizer
    tensors finite; the optimizer's settings those of this run's Adam (learning rate
    ``config.lr``), its per-parameter state of the shapes of ``model`` 's parameters and its
    step counts >= 0; torch's random state a uint8 tensor of the size torch uses.

    Raises
    ------
    FormatError
        Naming the file, the entry, its value and the valid range.
    """
    epoch = _int_in(path, "epoch", state["epoch"], 0, config.epochs)
    _int_in(path, "batch", state["batch"], 0, 0 if epoch == config.epochs else n_batches - 1)
    hist = state["history"]
    names = {f.name for f in TrainResult.__dataclass_fields__.values()} - {"resumed_from"}
    if not isinstance(hist, dict) or set(hist) != names:
        raise FormatError(f"{path}: history must be a dict with keys {sorted(names)}")
    for k in names:
        n_k = epoch if k != "test_accuracy" else len(hist[k]) if isinstance(hist[k], list) else -1
        if not (
            isinstance(hist[k], list)
            and len(hist[k]) == n_k
            and n_k <= epoch
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in hist[k])
        ):
            raise FormatError(
                f"{path}: history {k!r} must list one number per finished epoch "
                f"({epoch}), got {hist[k]!r}"
            )
    check_finite_tensors(path, "model", state["model"])
    opt = state["optimizer"]
    check_finite_tensors(path, "optimizer", opt)
    _check_adam_state(path, opt, model, config)
    rng, want = state["torch_rng"], torch.get_rng_state()
    if not (isinstance(rng, torch.Tensor) and rng.dtype == want.dtype and rng.shape == want.shape):
        raise FormatError(
            f"{path}: torch_rng must be a {want.dtype} tensor of shape "
            f"{tuple(want.shape)} (torch.get_rng_state())"
        )


def _check_adam_state(path: object, opt: object, model: nn.Module, config: TrainConfig) -> None:
    """The optimizer state of a checkpoint against this run's Adam: the same settings
    (``lr = config.lr``), one group over every parameter, per-parameter tensors of the
    parameter's shape (Adam would fail, or broadcast, on others), step counts >= 0."""
    params = list(model.parameters())
    fresh = torch.optim.Adam(params, lr=config.lr).state_dict()["param_groups"]
    groups = opt.get("param_groups") if isinstance(opt, dict) else None
    if (
        not isinstance(groups, list)
        or len(groups) != len(fresh)
        or any(not isinstance(g, dict) or g != f for g, f in zip(groups, fresh))
    ):
        raise FormatError(
            f"{path}: optimizer param_groups must be this run's Adam settings "
            f"(lr = {config.lr}, one group over the {len(params)} parameters), "
            f"got {groups!r}"[:500]
        )
    state = opt.get("state")
    if not isinstance(state, dict) or not set(state) <= set(range(len(params))):
        raise FormatError(
            f"{path}: optimizer state must map parameter indices "
            f"0..{len(params) - 1} to their state"
        )
    for k, st in state.items():
        if not isinstance(st, dict):
            raise FormatError(f"{path}: optimizer state {k} must be a dict, got {st!r}")
        for name, t in st.items():
            shape = () if name == "step" else tuple(params[k].shape)
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
                raise FormatError(
                    f"{path}: optimizer state {k}.{name} must be a tensor of shape "
                    f"{shape}, got {type(t).__name__} {getattr(t, 'shape', '')}"
                )
        if "step" in st and not float(st["step"]) >= 0:
            raise FormatError(f"{path}: optimizer state {k} step must be >= 0, got {st['step']!r}")


def _labels(name: str, y: np.ndarray | torch.Tensor) -> np.ndarray:
    """Class labels as int64, refusing what a cast would change (2.5 is not class 2) and
    negative labels.

    Raises
    ------
    ValueError
        Labels that are not whole numbers >= 0 (the message gives the first bad one).
    """
    a = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
    elif a.dtype.kind in "iu":
        bad = np.zeros(a.shape, dtype=bool)
    else:
        raise ValueError(f"{name} must be integer class labels >= 0, got dtype {a.dtype}")
    bad |= a < 0
    if bad.any():
        raise ValueError(
            f"{name} must be integer class labels >= 0, got "
            f"{a.ravel()[np.flatnonzero(bad.ravel())[0]].item()!r}"
        )
    return a.astype(np.int64)


def _check_classes(name: str, y: torch.Tensor, out: Any) -> None:
    """Raise ValueError if a label is not one of the model's outputs (torch would say only
    ``Target 20 is out of bounds``, or count it as a wrong prediction)."""
    n_classes = out.spikes.shape[-1]
    if y.numel() and int(y.max()) >= n_classes:
        raise ValueError(
            f"{name} labels must be in [0, {n_classes}) (the model has {n_classes} "
            f"outputs), got {int(y.max())}"
        )


def _partial_sums(state: dict[str, Any], path: Path) -> tuple[float, float, float]:
    """The checkpoint's ``(loss_sum, correct, seen)`` of the batches of its epoch run so far.

    Checkpoints written before these sums were saved resume with zeros (the resumed epoch's
    loss then covers only the batches after the resume, as it did).

    Raises
    ------
    FormatError
        The sums are not three finite numbers >= 0.
    """
    sums = state.get("epoch_sums", [0.0, 0.0, 0.0])
    try:
        out = tuple(float(v) for v in sums)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3 or not all(math.isfinite(v) and v >= 0 for v in out):
        raise FormatError(f"{path}: epoch_sums must be 3 finite numbers >= 0, got {sums!r}")
    return out  # type: ignore[return-value]


def _save_atomic(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(seal(obj), tmp)  # manifest and SHA-256, verified by load_checkpoint


def train(
    model: nn.Module,
    x_train: np.ndarray | torch.Tensor,
    y_train: np.ndarray | torch.Tensor,
    config: TrainConfig,
    *,
    encode: Encoder | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] = membrane_ce_loss,
    eval_data: tuple[Any, Any] | None = None,
    checkpoint_path: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    stop_after_batches: int | None = None,
    run_key: str = "",
) -> TrainResult:
    """Train ``model`` with BPTT (Adam), checkpointing and resuming.

    Parameters
    ----------
    model : nn.Module
        ``model(input) -> out`` with ``out.spikes`` / ``out.mems`` ``[T, B, C]``
        (e.g. :class:`sparse_neuro.neuro.train.models.SpikingMLP`).
    x_train, y_train : arrays ``[n, N]`` and ``[n]``
    config : TrainConfig
    encode : Encoder, optional
        Default :func:`direct_input`.
    eval_data : (x_test, y_test), optional
        Evaluated after every epoch (``TrainResult.test_accuracy``).
    progress : bool, optional
        Draw a progress bar per epoch; default only when stderr is a terminal. Every epoch
        also logs one INFO line (logger ``sparse_neuro.learning.training``: loss, accuracies,
        seconds), so a log file of a batch job shows the progress without bar characters.
    checkpoint_path : path, optional
        Where to write checkpoints (atomically). If it exists and ``resume`` is true,
        training continues from it
        (:class:`sparse_neuro.neuro.storage.checkpoint.CheckpointMismatch` if it belongs to another
        run); with ``resume=False`` training starts fresh.
    stop_after_batches : int, optional
        Stop (return early) after this many batches of this call: simulates an interrupted
        run in tests.
    run_key : str
        Identifies everything else the run depends on (e.g. a hash of the experiment's
        configuration and model); a checkpoint written with another key is refused.
    """
    encode = encode if encode is not None else direct_input()
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    # the data follow the model: move the model (model.to(device)) to train on a GPU
    x_all = torch.as_tensor(np.asarray(x_train), dtype=dtype, device=device)
    y_all = torch.as_tensor(_labels("y_train", y_train), device=device)
    check_finite_data("x_train", np.asarray(x_train))
    if x_all.shape[0] != y_all.shape[0]:
        raise ValueError(
            f"x_train and y_train lengths differ: {x_all.shape[0]} vs {y_all.shape[0]}"
        )
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    result = TrainResult()
    start_epoch, start_batch = 0, 0
    resumed_sums = (0.0, 0.0, 0.0)
    ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
    identity = run_identity(config, n_train=int(x_all.shape[0]), run_key=run_key)
    if ckpt is not None and resume and ckpt.is_file():
        state = load_checkpoint(ckpt)
        if state.get("config") != asdict(config):
            raise CheckpointMismatch(
                f"checkpoint {ckpt} was written with another TrainConfig: "
                f"{state.get('config')}; refusing to resume (resume=False starts fresh)"
            )
        check_identity(state, identity, str(ckpt))
        check_checkpoint(state, config, math.ceil(x_all.shape[0] / config.batch_size), ckpt, model)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["torch_rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as e:  # shapes, missing keys
            raise FormatError(
                f"{ckpt}: the model or optimizer state does not fit this model: "
                f"{type(e).__name__}: {str(e).splitlines()[0]}"
            ) from None
        start_epoch, start_batch = state["epoch"], state["batch"]
        result = TrainResult(**state["history"])
        result.resumed_from = (start_epoch, start_batch)
        resumed_sums = _partial_sums(state, ckpt)

    def save(epoch: int, batch: int, sums: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        if ckpt is None:
            return
        hist = asdict(result)
        hist.pop("resumed_from")
        _save_atomic(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "batch": batch,
                "history": hist,
                "config": asdict(config),
                "torch_rng": torch.get_rng_state(),
                "epoch_sums": list(sums),
                **identity,
            },
            ckpt,
        )

    n = x_all.shape[0]
    n_batches = math.ceil(n / config.batch_size)
    done_here = 0
    for epoch in range(start_epoch, config.epochs):
        perm = torch.from_numpy(np.random.default_rng([config.seed, epoch]).permutation(n))
        model.train()
        t0 = time.perf_counter()
        first = start_batch if epoch == start_epoch else 0
        bar = tqdm(
            range(first, n_batches),
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=None if progress is None else not progress,  # None: only on a terminal
            leave=False,
            mininterval=1.0,
        )
        # a resumed epoch continues the sums of its first batches (saved with the checkpoint),
        # so that its loss and accuracy are those of an uninterrupted run, to the last bit
        loss_sum, correct, seen = resumed_sums if epoch == start_epoch else (0.0, 0.0, 0.0)
        for b in bar:
            idx = perm[b * config.batch_size : (b + 1) * config.batch_size]
            xb = encode(x_all[idx], _batch_seed(config.seed, epoch, b))
            out = model(xb)
            _check_classes("y_train", y_all, out)  # before the loss: torch's error is unclear
            loss = loss_fn(out, y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += float((out.spikes.sum(0).argmax(1) == y_all[idx]).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
            done_here += 1
            if (
                config.checkpoint_every
                and (b + 1) % config.checkpoint_every == 0
                and b + 1 < n_batches
            ):
                save(epoch, b + 1, (loss_sum, correct, seen))
            if stop_after_batches is not None and done_here >= stop_after_batches:
                return result
        result.epoch_seconds.append(time.perf_counter() - t0)
        result.loss.append(loss_sum / max(seen, 1))
        result.train_accuracy.append(correct / max(seen, 1))
        if eval_data is not None:
            result.test_accuracy.append(
                evaluate(model, *eval_data, encode=encode, seed=config.seed)["accuracy"]
            )
        save(epoch + 1, 0)
        log.info(
            "epoch %d/%d: loss %.4f, train accuracy %.4f%s, %.1f s",
            epoch + 1,
            config.epochs,
            result.loss[-1],
            result.train_accuracy[-1],
            f", test accuracy {result.test_accuracy[-1]:.4f}" if eval_data is not None else "",
            result.epoch_seconds[-1],
        )
    return result


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    *,
    encode: Encoder | None = None,
    batch_size: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Accuracy (argmax of output spike counts) and per-layer spike statistics.

    Returns
    -------
    dict with ``accuracy``, ``predictions`` (ndarray), ``spikes_per_sample`` (list, one
    per hidden layer then the output: mean spikes per sample) and ``activation_sparsity``
    (list: fraction of neuron-steps without a spike, NeuroBench's definition).
    """
    encode = encode if encode is not None else direct_input()
    model.eval()
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    x_all = torch.as_tensor(np.asarray(x), dtype=dtype, device=device)
    y_all = torch.as_tensor(_labels("y", y), device=device)
    preds, counts, totals = [], None, None
    for b, start in enumerate(range(0, x_all.shape[0], batch_size)):
        xb = encode(
            x_all[start : start + batch_size], _batch_seed(seed, 2**31, b)
        )  # eval stream, apart from training epochs
        out = model(xb)
        _check_classes("y", y_all, out)
        layers = [*out.hidden, out.spikes]
        c = [float(s.sum()) for s in layers]
        tot = [float(s.numel()) for s in layers]
        counts = c if counts is None else [a + d for a, d in zip(counts, c)]
        totals = tot if totals is None else [a + d for a, d in zip(totals, tot)]
        preds.append(out.spikes.sum(0).argmax(1))
    pred = torch.cat(preds)
    n = x_all.shape[0]
    return {
        "accuracy": float((pred == y_all).float().mean()),
        "predictions": pred.cpu().numpy(),
        "spikes_per_sample": [c / n for c in counts],
        "activation_sparsity": [1.0 - c / t for c, t in zip(counts, totals)],
    }
