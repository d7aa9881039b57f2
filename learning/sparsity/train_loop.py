"""A BPTT training loop with a hook after every optimizer step, for pattern-changing methods.

:func:`sparse_neuro.learning.training.train` has no per-step hook (and checkpoints a fixed pattern);
the pruning schedules and dynamic sparse training of this package need one. Batches, shuffling
and input encoding are seeded as in :func:`sparse_neuro.learning.training.train`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from sparse_neuro.learning.training import Encoder, _batch_seed, count_ce_loss, direct_input

log = logging.getLogger(__name__)

__all__ = ["StepHook", "train_with_hook", "cosine_lr"]

StepHook = Callable[[int, Callable[[], torch.Tensor], torch.optim.Optimizer], None]
"""``hook(step, loss_closure, optimizer)``, called after optimizer step ``step`` (1-based);
``loss_closure()`` recomputes the loss of that step's batch with the current weights."""


def cosine_lr(lr: float, total_steps: int) -> Callable[[int], float]:
    """``lr/2 (1 + cos(pi (step - 1) / total_steps))``: ``lr`` at step 1, towards 0 at the end."""
    if int(total_steps) != total_steps or total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
    return lambda step: lr / 2 * (1 + math.cos(math.pi * min(step - 1, total_steps) / total_steps))


def train_with_hook(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    encode: Encoder | None = None,
    loss_fn: Callable[[Any, torch.Tensor], torch.Tensor] = count_ce_loss,
    hook: StepHook | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr_at: Callable[[int], float] | None = None,
    first_step: int = 0,
) -> dict[str, Any]:
    """Adam/BPTT for ``epochs``; returns ``{"loss": [...], "seconds": float, "steps": int}``.

    Parameters
    ----------
    model : nn.Module
        ``model(input).spikes`` ``[T, B, C]`` (e.g.
        :class:`sparse_neuro.neuro.train.models.SpikingMLP`).
    hook : StepHook, optional
        Called after every optimizer step (pruning schedules, dynamic sparse training).
    optimizer : optional
        Default ``Adam(model.parameters(), lr)``; pass one to share it with the hook.
    lr_at : callable, optional
        Learning rate of every optimizer step (e.g. :func:`cosine_lr`); default ``lr`` throughout.
    first_step : int >= 0
        Steps already taken in earlier calls: steps are numbered from ``first_step + 1``
        (for ``hook`` and ``lr_at``), so that training split over calls keeps one schedule.
    """
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if int(first_step) != first_step or first_step < 0:
        raise ValueError(f"first_step must be an integer >= 0, got {first_step!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    x_np = np.asarray(x_train)
    if not np.all(np.isfinite(x_np)):
        raise ValueError("x_train must be finite (found NaN or inf)")
    encode = encode if encode is not None else direct_input()
    dtype = next(model.parameters()).dtype
    x_all = torch.as_tensor(x_np, dtype=dtype)
    y_all = torch.as_tensor(np.asarray(y_train), dtype=torch.int64)
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    n = x_all.shape[0]
    n_batches = math.ceil(n / batch_size)
    losses, step, t0 = [], int(first_step), time.perf_counter()
    for epoch in range(epochs):
        perm = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(n))
        model.train()
        total = 0.0
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            xb = encode(x_all[idx], _batch_seed(seed, epoch, b))
            yb = y_all[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            if lr_at is not None:
                for group in opt.param_groups:
                    group["lr"] = lr_at(step)
            opt.step()
            total += float(loss.detach()) * len(idx)
            if hook is not None:
                hook(step, lambda xb=xb, yb=yb: loss_fn(model(xb), yb), opt)
        losses.append(total / n)
        log.info(
            "epoch %d/%d: loss %.4f, %.1f s so far",
            epoch + 1,
            epochs,
            losses[-1],
            time.perf_counter() - t0,
        )
    return {"loss": losses, "seconds": time.perf_counter() - t0, "steps": step - first_step}
