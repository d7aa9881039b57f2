"""Pruning by score: magnitude (global or per layer), gradual magnitude pruning (Zhu & Gupta
2017), iterative magnitude pruning with weight rewinding (Frankle et al. 2019/2020) and the
random-permutation sanity check of a pruned pattern (Frankle et al. 2021).

Pruning removes synapses from the :class:`SparseLinear` patterns (:func:`rewire`); it does
not mask a dense matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sparse_neuro.learning.sparsity.rewire import rewire, synapse_keys
from sparse_neuro.neuro.train import SparseLinear

__all__ = [
    "prune_by_scores",
    "magnitude_prune",
    "gmp_density",
    "WeightSnapshot",
    "rewind",
    "permute_patterns",
]

_SCOPES = ("global", "layer")


def _check_density(density: float) -> None:
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")


def prune_by_scores(
    layers: Sequence[SparseLinear],
    scores: Sequence[np.ndarray],
    density: float,
    scope: str = "global",
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Keep the highest-scoring synapses so that ``density`` of all possible positions remain.

    Parameters
    ----------
    layers, scores
        One score per existing synapse of each layer (CSR order).
    density : float in (0, 1]
        Target fraction of ``in * out`` positions (per layer, or over all layers together
        for ``scope="global"``); never more synapses than exist are kept.
    scope : {"global", "layer"}
        One threshold over all layers, or the same density in every layer.
    """
    _check_density(density)
    if scope not in _SCOPES:
        raise ValueError(f"scope must be one of {_SCOPES}, got {scope!r}")
    if len(scores) != len(layers):
        raise ValueError(f"need one score array per layer ({len(layers)}), got {len(scores)}")
    for layer, s in zip(layers, scores):
        if np.shape(s) != (layer.weight.numel(),):
            raise ValueError(
                f"scores must have one value per synapse ({layer.weight.numel()}), got {np.shape(s)}"
            )
    if scope == "layer":
        for layer, s in zip(layers, scores):
            k = min(int(round(density * layer.in_features * layer.out_features)), s.size)
            rewire(layer, _top_k(np.asarray(s), k), optimizer=optimizer)
        return
    flat = np.concatenate([np.asarray(s, dtype=np.float64) for s in scores])
    total = sum(layer.in_features * layer.out_features for layer in layers)
    keep = _top_k(flat, min(int(round(density * total)), flat.size))
    for layer, part in zip(layers, np.split(keep, np.cumsum([s.size for s in scores])[:-1])):
        rewire(layer, part, optimizer=optimizer)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` largest scores (ties broken by position, deterministic)."""
    keep = np.zeros(scores.size, dtype=bool)
    if k > 0:
        keep[np.argsort(-scores, kind="stable")[:k]] = True
    return keep


def magnitude_prune(
    layers: Sequence[SparseLinear],
    density: float,
    scope: str = "global",
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Keep the synapses of largest ``|w|`` (see :func:`prune_by_scores`)."""
    prune_by_scores(
        layers, [layer.weight.detach().abs().numpy() for layer in layers], density, scope, optimizer
    )


def gmp_density(
    step: int, final_density: float, start_step: int, end_step: int, initial_density: float = 1.0
) -> float:
    """Density of gradual magnitude pruning at ``step`` (Zhu & Gupta 2017, eq. 1).

    Sparsity ``s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (t_end - t_0))^3`` between
    ``start_step`` and ``end_step``; ``s_i`` before, ``s_f`` after.
    """
    _check_density(final_density)
    _check_density(initial_density)
    if not 0 <= start_step < end_step:
        raise ValueError(f"need 0 <= start_step < end_step, got {start_step}, {end_step}")
    frac = min(max((step - start_step) / (end_step - start_step), 0.0), 1.0)
    s_i, s_f = 1.0 - initial_density, 1.0 - final_density
    return 1.0 - (s_f + (s_i - s_f) * (1.0 - frac) ** 3)


class WeightSnapshot:
    """Weights of every synapse of some layers at one moment (the rewinding point).

    Stored by flat position, so that they can be read back after the patterns changed.
    """

    def __init__(self, layers: Sequence[SparseLinear]) -> None:
        self._keys, self._weights = [], []
        for layer in layers:
            keys = synapse_keys(layer)
            order = np.argsort(keys)
            self._keys.append(keys[order])
            self._weights.append(layer.weight.detach().numpy()[order].copy())

    def lookup(self, index: int, keys: np.ndarray) -> np.ndarray:
        """Snapshot weights of layer ``index`` at flat positions ``keys`` (must have existed)."""
        pos = np.searchsorted(self._keys[index], keys)
        pos = np.minimum(pos, self._keys[index].size - 1)
        if not np.array_equal(self._keys[index][pos], keys):
            raise ValueError(
                f"layer {index}: some synapses did not exist when the snapshot was taken"
            )
        return self._weights[index][pos]


def rewind(layers: Sequence[SparseLinear], snapshot: WeightSnapshot) -> None:
    """Reset the weights of the surviving synapses to their snapshot values (IMP rewinding).

    One round of iterative magnitude pruning with rewinding is: train, ``magnitude_prune``
    to the round's density, ``rewind`` to the weights of an early iteration, train again.
    """
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.weight.copy_(torch.from_numpy(snapshot.lookup(i, synapse_keys(layer))))


def permute_patterns(layers: Sequence[SparseLinear], seed: int | np.random.Generator = 0) -> None:
    """Sanity check of a pruned pattern: move every synapse to a random position of its layer.

    Each layer keeps its number of synapses (so its density) and its multiset of weights;
    only which pre/post pairs are connected is randomised.
    """
    rng = np.random.default_rng(seed)
    for layer in layers:
        n = layer.weight.numel()
        pos = rng.choice(layer.in_features * layer.out_features, size=n, replace=False)
        w = layer.weight.detach().numpy()[rng.permutation(n)]
        # remove all, then add at the new positions (rewire sorts them into CSR order)
        rewire(layer, np.zeros(n, dtype=bool), pos, w)
