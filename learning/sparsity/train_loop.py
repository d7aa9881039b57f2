"""The sparsity methods' hook into :func:`sparse_neuro.learning.training.train`.

Pruning schedules and dynamic sparse training change the weight pattern after optimizer steps:
they are a :class:`StepHookCallback` of ``train`` (its ``on_step``). :func:`train_with_hook`
is ``train`` with that callback and a per-step learning rate, returning the short history the
sparsity experiments record. Batches, shuffling and input encoding are those of ``train``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from sparse_neuro.learning.callbacks import Callback, TrainState
from sparse_neuro.learning.training import Encoder, TrainConfig, count_ce_loss, train

log = logging.getLogger(__name__)

__all__ = ["StepHook", "StepHookCallback", "train_with_hook", "cosine_lr"]

StepHook = Callable[[int, Callable[[], torch.Tensor], torch.optim.Optimizer], None]
"""``hook(step, loss_closure, optimizer)``, called after optimizer step ``step`` (1-based);
``loss_closure()`` recomputes the loss of that step's batch with the current weights."""


def cosine_lr(lr: float, total_steps: int) -> Callable[[int], float]:
    """``lr/2 (1 + cos(pi (step - 1) / total_steps))``: ``lr`` at step 1, towards 0 at the end."""
    if int(total_steps) != total_steps or total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1, got {total_steps!r}")
    return lambda step: lr / 2 * (1 + math.cos(math.pi * min(step - 1, total_steps) / total_steps))


class StepHookCallback(Callback):
    """A :data:`StepHook` and a per-step learning rate as a callback of ``train``.

    Parameters
    ----------
    hook : StepHook, optional
        Called after every optimizer step with ``(step, recompute_loss, optimizer)``.
    lr_at : callable, optional
        Learning rate of every optimizer step: after step ``s`` (and its hook) the optimizer's
        rate becomes ``lr_at(s + 1)``; set ``lr_at(first_step + 1)`` before the first step
        (:meth:`start`).
    """

    def __init__(
        self, hook: StepHook | None = None, lr_at: Callable[[int], float] | None = None
    ) -> None:
        self.hook, self.lr_at = hook, lr_at

    def start(self, optimizer: torch.optim.Optimizer, first_step: int) -> None:
        """Set the rate of the first step ``first_step + 1``."""
        self._set_lr(optimizer, first_step + 1)

    def _set_lr(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        if self.lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = self.lr_at(step)

    def on_step(self, state: TrainState) -> None:
        if self.hook is not None:
            assert state.recompute_loss is not None  # train() gives it to on_step
            self.hook(state.step, state.recompute_loss, state.optimizer)
        self._set_lr(state.optimizer, state.step + 1)


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
    """``train`` (Adam/BPTT) for ``epochs`` with ``hook`` after every step; returns
    ``{"loss": [...], "seconds": float, "steps": int}``.

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
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
    if int(first_step) != first_step or first_step < 0:
        raise ValueError(f"first_step must be an integer >= 0, got {first_step!r}")
    opt = optimizer if optimizer is not None else torch.optim.Adam(model.parameters(), lr=lr)
    callback = StepHookCallback(hook, lr_at)
    callback.start(opt, int(first_step))
    res = train(
        model,
        x_train,
        y_train,
        config,
        encode=encode,
        loss_fn=loss_fn,
        optimizer=opt,
        callbacks=[callback],
        progress=False,
        first_step=int(first_step),
    )
    return {
        "loss": res.loss,
        "seconds": res.train_seconds,
        "steps": epochs * math.ceil(len(y_train) / batch_size),
    }
