"""Changing the connectivity pattern of :class:`SparseLinear` layers: remove and add synapses.

Every pruning and growth method of :mod:`sparse_neuro.learning.sparsity` ends in :func:`rewire`: the
layer's :class:`SparseSynapses` is rebuilt (CSR order) with the kept synapses and the new
ones. The weight becomes a new Parameter (autograd caches the shape of a leaf tensor it
has seen), which :func:`rewire` substitutes in the optimizer, carrying its per-parameter
state (Adam's moments, SGD's momentum) over for the kept synapses, zero for the new ones:
a new synapse has no history.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.train import SparseLinear

__all__ = ["sparse_layers", "rewire", "synapse_keys", "empty_positions", "set_density"]


def sparse_layers(model: nn.Module) -> list[SparseLinear]:
    """The :class:`SparseLinear` layers of ``model`` in registration order."""
    layers = [m for m in model.modules() if isinstance(m, SparseLinear)]
    if not layers:
        raise ValueError(f"model {type(model).__name__} has no SparseLinear layer")
    return layers


def synapse_keys(layer: SparseLinear) -> np.ndarray:
    """Flat position ``pre * out_features + post`` of every synapse (int64, CSR order)."""
    return layer.rows.numpy() * layer.out_features + layer.cols.numpy()


def empty_positions(layer: SparseLinear) -> np.ndarray:
    """Sorted flat positions where no synapse exists (memory ``in * out`` booleans)."""
    taken = np.zeros(layer.in_features * layer.out_features, dtype=bool)
    taken[synapse_keys(layer)] = True
    return np.flatnonzero(~taken)


def rewire(
    layer: SparseLinear,
    keep: np.ndarray,
    grow: np.ndarray | None = None,
    grow_weights: np.ndarray | float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Keep the synapses where ``keep`` is True and add synapses at flat positions ``grow``.

    Parameters
    ----------
    layer : SparseLinear
    keep : bool ndarray, shape (n_synapses,)
        Which current synapses survive (CSR order of the layer).
    grow : int ndarray, optional
        Flat positions ``pre * out + post`` of new synapses: distinct, and not a kept
        synapse (a removed one may be grown again, as new).
    grow_weights : float or ndarray
        Initial weights of the new synapses.
    optimizer : torch.optim.Optimizer, optional
        Holds ``layer.weight``: the new Parameter replaces it there, and its state is
        remapped (kept synapses keep theirs, new ones 0).
    """
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (layer.weight.numel(),):
        raise ValueError(
            f"keep must have shape {(layer.weight.numel(),)} (one flag per synapse), "
            f"got {keep.shape}"
        )
    syn, source = layer.to_synapses().rewired(keep, grow, grow_weights)
    old_param = layer.weight
    layer.set_synapses(syn)
    if optimizer is not None:
        _swap_param(optimizer, old_param, layer.weight, torch.from_numpy(source))


def _swap_param(
    optimizer: torch.optim.Optimizer, old: nn.Parameter, new: nn.Parameter, source: torch.Tensor
) -> None:
    """Put ``new`` where ``old`` was in ``optimizer``; per-synapse state follows ``source``."""
    found = False
    for group in optimizer.param_groups:
        for i, p in enumerate(group["params"]):
            if p is old:
                group["params"][i] = new
                found = True
    if not found:
        raise ValueError("optimizer does not hold this layer's weight")
    state = optimizer.state.pop(old, None)
    if not state:
        return
    kept = source >= 0
    for name, value in state.items():
        if torch.is_tensor(value) and value.dim() == 1 and name != "step":
            moved = torch.zeros(source.numel(), dtype=value.dtype)
            moved[kept] = value[source[kept]]
            state[name] = moved
    optimizer.state[new] = state


def set_density(
    layer: SparseLinear, density: float, *, seed: int | np.random.Generator = 0
) -> None:
    """Replace the pattern by a random one of ``round(density * in * out)`` synapses.

    Weights are redrawn uniform in ``+-1/sqrt(fan_in)`` as in :meth:`SparseLinear.random`.
    """
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    total = layer.in_features * layer.out_features
    k = max(1, int(round(density * total)))
    pos = np.sort(rng.choice(total, size=k, replace=False))
    bound = 1.0 / np.sqrt(max(layer.in_features * density, 1.0))
    keep = np.zeros(layer.weight.numel(), dtype=bool)
    rewire(layer, keep, pos, rng.uniform(-bound, bound, k))
