"""Pruning at initialisation: SNIP (Lee et al. 2019) and SynFlow (Tanaka et al. 2020).

Both score the existing synapses of (usually dense) :class:`SparseLinear` layers before
training, then :func:`prune_by_scores` keeps the best ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from sparse_neuro.learning.sparsity.pruning import prune_by_scores
from sparse_neuro.neuro.train import SparseLinear

__all__ = ["snip_scores", "synflow_scores", "synflow_prune"]


def snip_scores(
    layers: Sequence[SparseLinear], loss_closure: Callable[[], torch.Tensor]
) -> list[np.ndarray]:
    """Connection sensitivity ``|g * w|`` of every synapse (SNIP), from one loss evaluation.

    Parameters
    ----------
    layers : SparseLinear layers to score
    loss_closure : callable
        Computes the loss of one (or a few) mini-batches with the current weights, e.g.
        ``lambda: loss_fn(model(x), y)``; its gradient w.r.t. each synapse is ``g``.
    """
    for layer in layers:
        layer.weight.grad = None
    loss = loss_closure()
    grads = torch.autograd.grad(loss, [layer.weight for layer in layers], allow_unused=True)
    return [
        (torch.zeros_like(layer.weight) if g is None else g * layer.weight).detach().abs().numpy()
        for layer, g in zip(layers, grads)
    ]


def synflow_scores(layers: Sequence[SparseLinear]) -> tuple[list[np.ndarray], float]:
    """Synaptic saliency ``|w| * dR/d|w|`` of the linearised chain of ``layers``.

    ``R = 1^T |W_1| |W_2| ... |W_L| 1`` (all-ones input, absolute weights, no nonlinearity,
    computed in float64). Every layer's scores sum to ``R`` (conservation of synaptic
    flow), which is why SynFlow does not collapse a layer when pruned iteratively.

    Returns
    -------
    scores : list of ndarray (one per layer, CSR order)
    R : float
    """
    for a, b in zip(layers[:-1], layers[1:]):
        if a.out_features != b.in_features:
            raise ValueError(
                f"layers must chain: {a.out_features} outputs feed {b.in_features} inputs"
            )
    abs_w = [layer.weight.detach().double().abs().requires_grad_(True) for layer in layers]
    h = torch.ones(1, layers[0].in_features, dtype=torch.float64)
    for layer, w in zip(layers, abs_w):
        dense = torch.zeros(layer.in_features, layer.out_features, dtype=torch.float64)
        h = h @ dense.index_put((layer.rows, layer.cols), w)
    R = h.sum()
    grads = torch.autograd.grad(R, abs_w)
    return [(g * w).detach().numpy() for g, w in zip(grads, abs_w)], float(R.detach())


def synflow_prune(layers: Sequence[SparseLinear], density: float, iterations: int = 100) -> None:
    """Iterative SynFlow: ``iterations`` rounds at exponentially decreasing density.

    Round ``k`` (1-based) keeps ``density^(k / iterations)`` of the positions, scored by
    :func:`synflow_scores` of the pattern left by the previous round (global scope).
    """
    if int(iterations) != iterations or iterations < 1:
        raise ValueError(f"iterations must be an integer >= 1, got {iterations!r}")
    total = sum(layer.in_features * layer.out_features for layer in layers)
    start = sum(layer.weight.numel() for layer in layers) / total
    for k in range(1, iterations + 1):
        d = start * (density / start) ** (k / iterations)
        scores, _ = synflow_scores(layers)
        prune_by_scores(layers, scores, d, scope="global")
