"""Spiking networks for training: the feed-forward ``SparseLinear -> LIF`` stack and readouts."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from sparse_neuro.neuro.train.fused_runs import _fused_layers
from sparse_neuro.neuro.train.lif_layer import LIF
from sparse_neuro.neuro.train.sparse_linear import SparseLinear

__all__ = ["SpikingMLP", "SpikingOutput", "max_membrane_readout", "spike_count_readout"]


def spike_count_readout(spikes: torch.Tensor) -> torch.Tensor:
    """Spike counts over time: ``[T, B, C] -> [B, C]`` (class scores / logits)."""
    return spikes.sum(0)


def max_membrane_readout(mems: torch.Tensor) -> torch.Tensor:
    """Maximum membrane over time: ``[T, B, C] -> [B, C]`` (differentiable logits)."""
    return mems.max(0).values


class SpikingOutput(NamedTuple):
    """What :class:`SpikingMLP` returns: output spikes and membranes, hidden spikes."""

    spikes: torch.Tensor
    mems: torch.Tensor
    hidden: list[torch.Tensor]


class SpikingMLP(nn.Module):
    """Feed-forward stack ``SparseLinear -> LIF`` per layer (snntorch tutorial-5 style).

    A layer whose projection chooses the event kernel runs fused (:func:`sparse_lif`), and
    consecutive fused layers run as one autograd node (``_FusedLayers``: spikes passed as
    bits, gradients for the neurons with a path to the loss only).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths including the input, e.g. ``(784, 1000, 10)``.
    n_steps : int
        ``T``, used when the input is static ``[B, N]`` (direct current input: the first
        projection is computed once and presented at every step).
    beta, threshold, spike_fn, reset
        LIF parameters shared by all layers (see :class:`LIF`).
    density : float
        Connection density of every projection (1.0: dense).
    kwta_k : int, optional
        k-WTA in the hidden layers (not the output).
    bias : bool
        Learnable bias per neuron (as ``nn.Linear``); off by default because a bias has no
        exact counterpart in the clock engine.
    seed : int
        Initialisation seed.

    Examples
    --------
    >>> import torch
    >>> net = SpikingMLP((8, 16, 3), n_steps=5)
    >>> out = net(torch.rand(4, 8))
    >>> out.spikes.shape, len(out.hidden)
    (torch.Size([5, 4, 3]), 1)
    """

    def __init__(
        self,
        sizes: tuple[int, ...] | list[int],
        n_steps: int = 25,
        beta: float = 0.95,
        threshold: float = 1.0,
        spike_fn=None,
        reset: str = "subtract",
        density: float = 1.0,
        kwta_k: int | None = None,
        kwta_losers: str = "hold",
        bias: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list >= 2 positive layer widths, got {sizes}")
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
        self.sizes, self.n_steps = sizes, int(n_steps)
        self.fcs = nn.ModuleList(
            SparseLinear.random(a, b, density, seed=seed + i, bias=bias)
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        )
        n_layers = len(sizes) - 1
        self.lifs = nn.ModuleList(
            LIF(
                beta,
                threshold,
                spike_fn,
                reset,
                kwta_k=kwta_k if i < n_layers - 1 else None,
                kwta_losers=kwta_losers,
            )
            for i in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> SpikingOutput:
        """``x``: spikes/currents ``[T, B, N]``, or a static input ``[B, N]`` repeated ``n_steps``
        times."""
        if x.dim() not in (2, 3):
            raise ValueError(f"x must be [B, N] (static) or [T, B, N], got shape {tuple(x.shape)}")
        outs: list[torch.Tensor] = []  # every layer's spikes
        spikes, mems, bits = x, None, None
        i = 0
        while i < len(self.fcs):
            # spikes through the synapses that exist only; a run of fused layers passes its
            # spikes on as bits and its gradients for the live neurons only (_FusedLayers)
            fused = _fused_layers(spikes, self.fcs[i:], self.lifs[i:], bits, len(self.fcs))
            if fused is not None:
                layer_spikes, mems, bits = fused
                outs += layer_spikes
                spikes = layer_spikes[-1]
                i += len(layer_spikes)
                continue
            bits = None
            cur = self.fcs[i](spikes)
            if cur.dim() == 2:  # static input: one projection, presented at every step
                cur = cur.unsqueeze(0).expand(self.n_steps, *cur.shape)
            spikes, mems, _ = self.lifs[i](cur)
            outs.append(spikes)
            i += 1
        hidden = outs[:-1]
        return SpikingOutput(spikes, mems, hidden)
