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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from sparse_neuro.learning.batches import ArrayBatches, IterableBatches, batch_source
from sparse_neuro.learning.batches import labels as _labels
from sparse_neuro.learning.callbacks import TrainCallback, TrainState
from sparse_neuro.neuro.model.validation import check_field_types
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
    state: dict[str, Any],
    config: TrainConfig,
    n_batches: int | None,
    path: object,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Check the values of a training checkpoint before they are used (after its checksum:
    a re-signed file must still hold a resumable state).

    ``epoch`` in ``[0, config.epochs]`` and ``batch`` in ``[0, n_batches)`` (0 once every
    epoch is done; ``n_batches`` None: an iterable of unknown length); one history entry (a
    number) per finished epoch; model and optimizer tensors finite; the optimizer's settings
    those of this run's Adam (learning rate ``config.lr``) when ``optimizer`` is None, else
    the same groups (keys and parameters) as ``optimizer`` 's (a scheduler may have changed
    their values); per-parameter state of the shapes of ``model`` 's parameters and step
    counts >= 0; torch's random state a uint8 tensor of the size torch uses.

    Raises
    ------
    FormatError
        Naming the file, the entry, its value and the valid range.
    """
    epoch = _int_in(path, "epoch", state["epoch"], 0, config.epochs)
    last = 2**62 if n_batches is None else n_batches - 1
    _int_in(path, "batch", state["batch"], 0, 0 if epoch == config.epochs else last)
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
    _check_optimizer_state(path, opt, model, config, optimizer)
    rng, want = state["torch_rng"], torch.get_rng_state()
    if not (isinstance(rng, torch.Tensor) and rng.dtype == want.dtype and rng.shape == want.shape):
        raise FormatError(
            f"{path}: torch_rng must be a {want.dtype} tensor of shape "
            f"{tuple(want.shape)} (torch.get_rng_state())"
        )


def _same_groups(saved: object, fresh: list[dict], exact: bool) -> bool:
    """Whether saved param groups are ``fresh`` 's: equal (``exact``), or with the same keys
    and parameters (values such as the learning rate may differ: a scheduler changes them)."""
    if not isinstance(saved, list) or len(saved) != len(fresh):
        return False
    for g, f in zip(saved, fresh):
        if not isinstance(g, dict) or (g != f if exact else set(g) != set(f)):
            return False
        if g.get("params") != f["params"]:
            return False
    return True


def _check_optimizer_state(
    path: object,
    opt: object,
    model: nn.Module,
    config: TrainConfig,
    optimizer: torch.optim.Optimizer | None,
) -> None:
    """The optimizer state of a checkpoint against this run's optimizer: without one given,
    this run's Adam (the same settings, ``lr = config.lr``, one group over every parameter);
    else ``optimizer`` 's groups; per-parameter tensors of the parameter's shape (Adam would
    fail, or broadcast, on others), step counts >= 0."""
    params = list(model.parameters())
    if optimizer is None:
        fresh = torch.optim.Adam(params, lr=config.lr).state_dict()["param_groups"]
        what = f"this run's Adam settings (lr = {config.lr}, one group over the {len(params)} parameters)"
    else:
        fresh = optimizer.state_dict()["param_groups"]
        what = f"the groups of this run's {type(optimizer).__name__} ({len(fresh)} groups)"
    groups = opt.get("param_groups") if isinstance(opt, dict) else None
    if not _same_groups(groups, fresh, exact=optimizer is None):
        raise FormatError(f"{path}: optimizer param_groups must be {what}, got {groups!r}"[:500])
    if optimizer is not None:  # its per-parameter state has its own shapes: load_state_dict checks
        return
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


OptimizerArg = torch.optim.Optimizer | Callable[[Any], torch.optim.Optimizer] | None
"""An optimizer, or a factory ``lambda params: torch.optim.SGD(params, lr=...)``."""

SchedulerArg = Any | Callable[[torch.optim.Optimizer], Any] | None
"""A learning-rate scheduler, or a factory ``lambda opt: StepLR(opt, 10)``."""


def _optimizer(
    model: nn.Module, optimizer: OptimizerArg, config: TrainConfig
) -> torch.optim.Optimizer:
    """This run's optimizer: Adam with ``config.lr`` by default."""
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        opt = optimizer(model.parameters())
        if isinstance(opt, torch.optim.Optimizer):
            return opt
        raise TypeError(
            f"optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}"
        )
    raise TypeError(
        "optimizer must be a torch.optim.Optimizer or a factory params -> Optimizer, "
        f"got {type(optimizer).__name__}"
    )


def _scheduler(scheduler: SchedulerArg, opt: torch.optim.Optimizer) -> Any:
    """This run's learning-rate scheduler (anything with ``step()`` and ``state_dict()``)."""
    if scheduler is None:
        return None
    if not hasattr(scheduler, "step") and callable(scheduler):
        scheduler = scheduler(opt)
    if not all(hasattr(scheduler, a) for a in ("step", "state_dict", "load_state_dict")):
        raise TypeError(
            "scheduler must be a learning-rate scheduler (step, state_dict, load_state_dict) "
            f"or a factory optimizer -> scheduler, got {type(scheduler).__name__}"
        )
    return scheduler


def _check_epoch_state(path: object, state: object) -> None:
    """The epoch-start random states of a mid-epoch checkpoint of a DataLoader or a list of
    batches: torch's (a uint8 tensor of torch's size) and the loader's generators'.

    Raises
    ------
    FormatError
        Naming the file and the entry.
    """
    want = torch.get_rng_state()
    gens = state.get("generators", []) if isinstance(state, dict) else None
    rng = state.get("torch_rng") if isinstance(state, dict) else None
    for name, t in [("torch_rng", rng)] + [
        (f"generators[{i}]", g) for i, g in enumerate(gens or [])
    ]:
        if not (isinstance(t, torch.Tensor) and t.dtype == want.dtype and t.dim() == 1):
            raise FormatError(
                f"{path}: epoch_state.{name} must be a uint8 random state (a mid-epoch "
                f"checkpoint of this data replays its epoch from it), got {type(t).__name__}"
            )
    if rng.shape != want.shape or not isinstance(gens, list):
        raise FormatError(
            f"{path}: epoch_state.torch_rng must have shape {tuple(want.shape)} and "
            "epoch_state.generators be a list"
        )


def _check_callbacks(callbacks: Sequence[TrainCallback]) -> list[TrainCallback]:
    out = list(callbacks)
    for i, cb in enumerate(out):
        if not isinstance(cb, TrainCallback):
            raise TypeError(
                f"callbacks[{i}] must have on_step(state) and on_epoch_end(state) "
                f"(subclass sparse_neuro.learning.callbacks.Callback), got {type(cb).__name__}"
            )
    return out


def train(
    model: nn.Module,
    x_train: np.ndarray | torch.Tensor | Iterable[Any],
    y_train: np.ndarray | torch.Tensor | None = None,
    config: TrainConfig = TrainConfig(),
    *,
    encode: Encoder | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] = membrane_ce_loss,
    optimizer: OptimizerArg = None,
    scheduler: SchedulerArg = None,
    scheduler_interval: str = "epoch",
    callbacks: Sequence[TrainCallback] = (),
    eval_data: tuple[Any, Any] | None = None,
    checkpoint_path: str | Path | None = None,
    resume: bool = True,
    progress: bool | None = None,
    stop_after_batches: int | None = None,
    run_key: str = "",
    first_step: int = 0,
) -> TrainResult:
    """Train ``model`` with BPTT, checkpointing and resuming.

    Parameters
    ----------
    model : nn.Module
        ``model(input) -> out`` with ``out.spikes`` / ``out.mems`` ``[T, B, C]``
        (e.g. :class:`sparse_neuro.neuro.train.models.SpikingMLP`).
    x_train, y_train : arrays ``[n, N]`` and ``[n]``; or a DataLoader / iterable and None
        Whole arrays are batched by ``config.batch_size`` and shuffled from
        ``(config.seed, epoch)``. A ``torch.utils.data.DataLoader`` or any iterable of
        ``(x [B, N], y [B])`` batches (with ``y_train=None``) makes its own batches; which of
        them can resume in the middle of an epoch is said in
        :mod:`sparse_neuro.learning.batches` (the others refuse ``checkpoint_every > 0``).
    config : TrainConfig
    encode : Encoder, optional
        Default :func:`direct_input`. Batch ``b`` of epoch ``e`` is encoded with a seed from
        ``(config.seed, e, b)``.
    optimizer : Optimizer or callable, optional
        Default ``Adam(model.parameters(), lr=config.lr)``; or an optimizer over the model's
        parameters; or a factory ``lambda params: torch.optim.SGD(params, lr=0.1)``.
    scheduler : LR scheduler or callable, optional
        E.g. ``torch.optim.lr_scheduler.StepLR(opt, 5)`` or a factory ``lambda opt: ...``.
        Stepped after every epoch (``scheduler_interval="epoch"``) or after every optimizer
        step (``"step"``); its state is in the checkpoint.
    callbacks : sequence of callbacks
        ``on_step(state)`` after every optimizer step, ``on_epoch_end(state)`` after every
        epoch (:mod:`sparse_neuro.learning.callbacks`).
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
    first_step : int >= 0
        Optimizer steps taken before this call (callbacks see steps numbered from
        ``first_step + 1``), so that training split over calls keeps one schedule.

    Raises
    ------
    ValueError
        Bad data, ``scheduler_interval`` not ``"epoch"`` / ``"step"``, or
        ``checkpoint_every > 0`` with data that cannot resume mid-epoch.
    """
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    if int(first_step) != first_step or first_step < 0:
        raise ValueError(f"first_step must be an integer >= 0, got {first_step!r}")
    callbacks = _check_callbacks(callbacks)
    encode = encode if encode is not None else direct_input()
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    source = batch_source(
        x_train,
        y_train,
        batch_size=config.batch_size,
        seed=config.seed,
        epochs=config.epochs,
        dtype=dtype,
        device=device,
    )
    if config.checkpoint_every and not source.resumable_mid_epoch:
        raise ValueError(
            f"checkpoint_every={config.checkpoint_every} needs data that can resume in the "
            f"middle of an epoch; {type(x_train).__name__} cannot (see "
            "sparse_neuro.learning.batches): use checkpoint_every=0 (end-of-epoch checkpoints)"
        )
    default_opt = optimizer is None
    opt = _optimizer(model, optimizer, config)
    sched = _scheduler(scheduler, opt)
    result = TrainResult()
    start_epoch, start_batch, step = 0, 0, int(first_step)
    resumed_sums = (0.0, 0.0, 0.0)
    resumed_rng: torch.Tensor | None = None
    resumed_epoch_state: dict[str, Any] | None = None
    ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
    # the identity of arrays is their count (as before); of other data, their kind and count
    extra = {"data": type(x_train).__name__} if isinstance(source, IterableBatches) else {}
    identity = run_identity(config, n_train=source.n_samples, run_key=run_key, **extra)
    if ckpt is not None and resume and ckpt.is_file():
        state = load_checkpoint(ckpt)
        if state.get("config") != asdict(config):
            raise CheckpointMismatch(
                f"checkpoint {ckpt} was written with another TrainConfig: "
                f"{state.get('config')}; refusing to resume (resume=False starts fresh)"
            )
        check_identity(state, identity, str(ckpt))
        check_checkpoint(state, config, source.n_batches, ckpt, model, None if default_opt else opt)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            if sched is not None:
                sched.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError, TypeError) as e:  # shapes, missing keys
            raise FormatError(
                f"{ckpt}: the model, optimizer or scheduler state does not fit this run: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else e!r}"
            ) from None
        start_epoch, start_batch = state["epoch"], state["batch"]
        step = int(state.get("step", start_epoch * (source.n_batches or 0) + start_batch))
        result = TrainResult(**state["history"])
        result.resumed_from = (start_epoch, start_batch)
        resumed_sums = _partial_sums(state, ckpt)
        resumed_rng = state["torch_rng"]
        resumed_epoch_state = state.get("epoch_state")
        if start_batch and isinstance(source, IterableBatches):
            _check_epoch_state(ckpt, resumed_epoch_state)

    epoch_state: dict[str, Any] = {}

    def save(epoch: int, batch: int, sums: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        if ckpt is None:
            return
        hist = asdict(result)
        hist.pop("resumed_from")
        extra_state = {"scheduler": sched.state_dict()} if sched is not None else {}
        if batch:  # what a mid-epoch resume replays the epoch's order from
            extra_state["epoch_state"] = epoch_state
        _save_atomic(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "batch": batch,
                "step": step,
                "history": hist,
                "config": asdict(config),
                "torch_rng": torch.get_rng_state(),
                "epoch_sums": list(sums),
                **extra_state,
                **identity,
            },
            ckpt,
        )

    done_here = 0
    whole, labels_checked = isinstance(source, ArrayBatches), False
    for epoch in range(start_epoch, config.epochs):
        model.train()
        t0 = time.perf_counter()
        first = start_batch if epoch == start_epoch else 0
        if first:
            epoch_state = resumed_epoch_state or {}
            batches = source.epoch(epoch, first, epoch_state)
        else:
            epoch_state = source.epoch_state()
            batches = source.epoch(epoch, 0)
        if resumed_rng is not None:  # after the replayed batches: they drew from it too
            torch.set_rng_state(resumed_rng)
            resumed_rng = None
        bar = tqdm(
            batches,
            total=None if source.n_batches is None else source.n_batches - first,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            disable=None if progress is None else not progress,  # None: only on a terminal
            leave=False,
            mininterval=1.0,
        )
        # a resumed epoch continues the sums of its first batches (saved with the checkpoint),
        # so that its loss and accuracy are those of an uninterrupted run, to the last bit
        loss_sum, correct, seen = resumed_sums if epoch == start_epoch else (0.0, 0.0, 0.0)
        n_done = first
        for b, xb_raw, yb in bar:
            xb = encode(xb_raw, _batch_seed(config.seed, epoch, b))
            out = model(xb)
            if not labels_checked:  # before the loss: torch's error is unclear
                _check_classes("y_train", source.y if whole else yb, out)
                labels_checked = whole  # whole arrays: every label checked at once
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if sched is not None and scheduler_interval == "step":
                sched.step()
            loss_value = float(loss.detach())
            loss_sum += loss_value * len(yb)
            correct += float((out.spikes.sum(0).argmax(1) == yb).sum())
            seen += len(yb)
            n_done = b + 1
            if callbacks:
                st = TrainState(
                    epoch, step, b, loss_value, model, opt,
                    lambda xb=xb, yb=yb: loss_fn(model(xb), yb),
                )  # fmt: skip
                for cb in callbacks:
                    cb.on_step(st)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
            done_here += 1
            if (
                config.checkpoint_every
                and (b + 1) % config.checkpoint_every == 0
                and (source.n_batches is None or b + 1 < source.n_batches)
            ):
                save(epoch, b + 1, (loss_sum, correct, seen))
            if stop_after_batches is not None and done_here >= stop_after_batches:
                return result
        if sched is not None and scheduler_interval == "epoch":
            sched.step()
        result.epoch_seconds.append(time.perf_counter() - t0)
        result.loss.append(loss_sum / max(seen, 1))
        result.train_accuracy.append(correct / max(seen, 1))
        for cb in callbacks:
            cb.on_epoch_end(TrainState(epoch, step, n_done, result.loss[-1], model, opt))
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
