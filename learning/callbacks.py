"""Callbacks of :func:`sparse_neuro.learning.training.train`: a hook after every optimizer step
and at the end of every epoch.

A callback is any object with ``on_step(state)`` and ``on_epoch_end(state)`` (subclass
:class:`Callback` to get no-op defaults for the one you do not need). Both receive a
:class:`TrainState`. The pruning schedules and dynamic sparse training of
:mod:`sparse_neuro.learning.sparsity` hook in this way
(:class:`sparse_neuro.learning.sparsity.train_loop.StepHookCallback`).

A callback's own state (e.g. a pruning schedule's counters) is not in the training checkpoint:
a resumed run calls it from the resumed step on, with ``state.step`` counting every step of
the run (those before the resume too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn

__all__ = ["TrainState", "TrainCallback", "Callback"]


@dataclass(frozen=True)
class TrainState:
    """What a callback sees after an optimizer step or at the end of an epoch.

    Parameters
    ----------
    epoch : int >= 0
        0-based epoch.
    step : int >= 1
        Optimizer steps taken so far in the run (1-based; counts steps before a resume).
    batch : int >= 0
        0-based index of the batch in its epoch (at the end of an epoch: the number of batches).
    loss : float
        Loss of this step's batch (``on_step``), or the epoch's mean loss per sample
        (``on_epoch_end``).
    model : nn.Module
    optimizer : torch.optim.Optimizer
    recompute_loss : callable or None
        ``recompute_loss()`` is the loss of this step's batch with the current weights
        (``on_step`` only; ``None`` at the end of an epoch).
    """

    epoch: int
    step: int
    batch: int
    loss: float
    model: nn.Module
    optimizer: torch.optim.Optimizer
    recompute_loss: Callable[[], torch.Tensor] | None = None


@runtime_checkable
class TrainCallback(Protocol):
    """The protocol :func:`sparse_neuro.learning.training.train` calls."""

    def on_step(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...


class Callback:
    """Base class with no-op ``on_step`` and ``on_epoch_end``: override what you need."""

    def on_step(self, state: TrainState) -> None:
        """Called after every optimizer step (and after the scheduler, if it steps per step)."""

    def on_epoch_end(self, state: TrainState) -> None:
        """Called after the last step of every epoch, before evaluation and the checkpoint."""
