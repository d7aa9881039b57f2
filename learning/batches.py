"""Where :func:`sparse_neuro.learning.training.train` takes its batches from, and whether a
run can be resumed in the middle of an epoch.

Three kinds of training data:

* whole arrays ``x [n, N]``, ``y [n]`` (:class:`ArrayBatches`): shuffled per epoch from
  ``(seed, epoch)``; a resume skips to the checkpoint's batch without touching the data.
* a ``torch.utils.data.DataLoader`` over a map-style dataset (:class:`LoaderBatches`): the
  torch random state and the states of the loader's generators (``DataLoader(generator=...)``,
  a sampler's ``generator``) are kept at the start of every epoch; a mid-epoch resume restores
  them, lets the loader draw the same order again and skips the batches already done. That is
  exact when the dataset returns the same item for the same index (random augmentation drawn
  from torch's random state included). A loader over an ``IterableDataset`` orders its items
  itself: it resumes at epoch ends only, and ``checkpoint_every > 0`` is refused.
* any other iterable of ``(x, y)`` batches (:class:`IterableBatches`): a list or tuple is
  replayed and skipped like a loader; a generic iterable (a generator, a stream) cannot be
  replayed, so it resumes at epoch ends only and ``checkpoint_every > 0`` is refused. A
  one-shot iterator (``iter(data) is data``) is refused for more than one epoch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from sparse_neuro.neuro.model.validation import check_finite_data

__all__ = ["ArrayBatches", "LoaderBatches", "IterableBatches", "batch_source", "labels"]

Batch = tuple[int, torch.Tensor, torch.Tensor]
"""``(index of the batch in its epoch, x [B, ...], y [B])``."""


def labels(name: str, y: np.ndarray | torch.Tensor) -> np.ndarray:
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


class ArrayBatches:
    """Mini-batches of whole arrays, shuffled per epoch from ``(seed, epoch)``."""

    resumable_mid_epoch = True

    def __init__(
        self,
        x: np.ndarray | torch.Tensor,
        y: np.ndarray | torch.Tensor,
        batch_size: int,
        seed: int,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        # the data follow the model: move the model (model.to(device)) to train on a GPU
        self.x = torch.as_tensor(np.asarray(x), dtype=dtype, device=device)
        self.y = torch.as_tensor(labels("y_train", y), device=device)
        check_finite_data("x_train", np.asarray(x))
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"x_train and y_train lengths differ: {self.x.shape[0]} vs {self.y.shape[0]}"
            )
        self.batch_size, self.seed = batch_size, seed
        self.n_samples = int(self.x.shape[0])
        self.n_batches: int | None = math.ceil(self.n_samples / batch_size)

    def epoch_state(self) -> dict[str, Any]:
        """Nothing to keep: the order is a function of ``(seed, epoch)``."""
        return {}

    def epoch(self, epoch: int, skip: int, state: dict[str, Any] | None = None) -> Iterator[Batch]:
        """The batches of ``epoch`` from batch ``skip`` on."""
        perm = torch.from_numpy(
            np.random.default_rng([self.seed, epoch]).permutation(self.n_samples)
        )
        bs = self.batch_size
        for b in range(skip, self.n_batches or 0):
            idx = perm[b * bs : (b + 1) * bs]
            yield b, self.x[idx], self.y[idx]


class IterableBatches:
    """``(x, y)`` batches from a list, a tuple or any iterable (see the module docstring)."""

    def __init__(
        self, data: Iterable[Any], epochs: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        if iter(data) is data and epochs > 1:
            raise ValueError(
                f"data is a one-shot iterator (e.g. a generator), which cannot be iterated for "
                f"epochs={epochs}; pass a DataLoader, a list of batches or a re-iterable object"
            )
        self.data, self.dtype, self.device = data, dtype, device
        self.resumable_mid_epoch = isinstance(data, Sequence)
        self.n_batches = len(data) if isinstance(data, Sequence) else None
        self.n_samples = -1  # unknown without a pass over the data

    def epoch_state(self) -> dict[str, Any]:
        """Torch's random state at the start of the epoch (a loader's order may use it)."""
        return {"torch_rng": torch.get_rng_state()}

    def _iterator(self) -> Iterator[Any]:
        return iter(self.data)

    def epoch(self, epoch: int, skip: int, state: dict[str, Any] | None = None) -> Iterator[Batch]:
        """The batches of ``epoch`` from batch ``skip`` on, as tensors of the model's dtype.

        With ``skip > 0`` the iterator is created from the epoch-start ``state`` and the first
        ``skip`` batches are drawn (and dropped) before this returns, so that the caller can
        then restore the random state of the checkpoint.
        """
        if skip and not self.resumable_mid_epoch:
            raise ValueError(
                f"{type(self.data).__name__} data cannot be resumed in the middle of an epoch "
                f"(batch {skip}); resume from an end-of-epoch checkpoint (checkpoint_every=0)"
            )
        if skip and state is not None:
            torch.set_rng_state(state["torch_rng"])
            self._restore(state)
        it = enumerate(self._iterator())
        if skip:
            next(itertools.islice(it, skip - 1, skip), None)
        return (self._convert(b, batch) for b, batch in it)

    def _restore(self, state: dict[str, Any]) -> None:
        """Restore what else the order of an epoch depends on (a loader's generators)."""

    def _convert(self, b: int, batch: Any) -> Batch:
        try:
            x, y = batch
        except (TypeError, ValueError):
            raise ValueError(
                f"batch {b} of the training data must be a pair (x, y), got {type(batch).__name__}"
            ) from None
        x = torch.as_tensor(x, dtype=self.dtype, device=self.device)
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise ValueError(f"x of training batch {b} must be finite (found NaN or inf)")
        y = torch.as_tensor(labels(f"y of training batch {b}", y), device=self.device)
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"batch {b}: x and y lengths differ: {x.shape[0]} vs {y.shape[0]}")
        return b, x, y


def _generators(loader: DataLoader) -> list[torch.Generator]:
    """The distinct generators that order a loader's epoch (loader, sampler, batch sampler)."""
    found: list[torch.Generator] = []
    for owner in (loader, loader.sampler, getattr(loader.batch_sampler, "sampler", None)):
        g = getattr(owner, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not h for h in found):
            found.append(g)
    return found


class LoaderBatches(IterableBatches):
    """Batches of a ``DataLoader``; replayable when its dataset is map-style."""

    def __init__(
        self, loader: DataLoader, epochs: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        super().__init__(loader, epochs, dtype, device)
        self.resumable_mid_epoch = not isinstance(loader.dataset, IterableDataset)
        try:
            self.n_batches = len(loader)
            self.n_samples = len(loader.dataset)  # type: ignore[arg-type]
        except TypeError:  # an IterableDataset without __len__
            self.n_batches, self.n_samples = None, -1

    def epoch_state(self) -> dict[str, Any]:
        """Torch's random state and the loader's generator states at the start of the epoch."""
        gens = _generators(self.data)  # type: ignore[arg-type]
        return {**super().epoch_state(), "generators": [g.get_state() for g in gens]}

    def _restore(self, state: dict[str, Any]) -> None:
        gens = _generators(self.data)  # type: ignore[arg-type]
        saved = state.get("generators", [])
        if len(saved) != len(gens):
            raise ValueError(
                f"the checkpoint holds {len(saved)} DataLoader generator states, this loader "
                f"has {len(gens)} generators: it is another loader; refusing to resume"
            )
        for g, s in zip(gens, saved):
            g.set_state(s)


def batch_source(
    x_train: Any,
    y_train: Any,
    *,
    batch_size: int,
    seed: int,
    epochs: int,
    dtype: torch.dtype,
    device: torch.device,
) -> ArrayBatches | IterableBatches:
    """The batch source of ``train(model, x_train, y_train, ...)``.

    ``y_train`` given: whole arrays. ``y_train`` None: ``x_train`` is a DataLoader or an
    iterable of ``(x, y)`` batches (``batch_size`` and ``seed`` then do not apply: the
    iterable makes the batches).
    """
    if y_train is not None:
        return ArrayBatches(x_train, y_train, batch_size, seed, dtype, device)
    if isinstance(x_train, DataLoader):
        return LoaderBatches(x_train, epochs, dtype, device)
    if isinstance(x_train, (np.ndarray, torch.Tensor)) or not isinstance(x_train, Iterable):
        raise TypeError(
            "train() takes either arrays x_train and y_train, or a DataLoader / iterable of "
            f"(x, y) batches as x_train with y_train=None; got {type(x_train).__name__} "
            "and y_train=None"
        )
    return IterableBatches(x_train, epochs, dtype, device)
