"""A recurrent sparse spiking layer: ``SparseLinear`` input and recurrent weights into LIF neurons.

The input current of step ``t`` is ``W_in x_t + W_rec s_{t-1} (+ bias)`` (``s_{-1} = 0``); the
LIF recurrence is :func:`sparse_neuro.neuro.train.lif_layer.lif_sequence`'s (initial membrane 0,
the reset detached). On the CPU with a surrogate the kernels know and no k-WTA, the layer runs
on the fused kernels (:mod:`sparse_neuro.neuro.train.kernels.fused_lif` with ``rec``): one
compiled call per direction, back-propagation through time through the recurrent synapses.
Elsewhere it runs :func:`recurrent_lif_dense`, a plain torch loop over dense masked weights
(the reference the fused path is tested against).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from sparse_neuro.neuro.train.fused_runs import _has_hooks
from sparse_neuro.neuro.train.kernels import fused_lif as _fused
from sparse_neuro.neuro.train.kernels.lif_steps import SURROGATE_CODES, lif_consts
from sparse_neuro.neuro.train.lif_layer import LIF
from sparse_neuro.neuro.train.models import SpikingOutput
from sparse_neuro.neuro.train.sparse_linear import SparseLinear

__all__ = ["RecurrentSparseLIF", "SpikingRNN", "recurrent_lif_dense"]


def _synapses(fc: SparseLinear) -> _fused.Synapses:
    w = fc.checked_weight().detach().numpy()
    return _fused.Synapses(fc._indptr, fc._chunks, fc._event_cols, w)


class _RecurrentFused(torch.autograd.Function):
    """The fused recurrent layer: spikes and membranes ``[T, B, O]``."""

    @staticmethod
    def forward(ctx, x, layer, w_in, w_rec, bias):  # type: ignore[override]
        xn = x.detach().contiguous().numpy()
        bits = _fused.spike_bits(xn)
        syn, rec = _synapses(layer.fc_in), _synapses(layer.fc_rec)
        lif = layer.lif
        neurons = _fused.Neurons(
            lif_consts(lif.threshold, lif.beta, lif.spike_fn.scale, syn.w.dtype),
            SURROGATE_CODES[lif.spike_fn.kind],
            lif.reset == "value",
        )
        b = None if bias is None else bias.detach().numpy()
        spikes, mems, _ = _fused.fused_forward(
            xn, bits, syn, b, neurons, layer.fc_in.out_features, rec=rec
        )
        ctx.state = (xn, bits, syn, rec, neurons, spikes, mems)
        ctx.needs = (x.requires_grad, bias is not None and bias.requires_grad)
        return torch.from_numpy(spikes), torch.from_numpy(mems)

    @staticmethod
    def backward(ctx, g_spk, g_mem):  # type: ignore[override]
        xn, bits, syn, rec, neurons, spikes, mems = ctx.state
        gs = None if g_spk is None else g_spk.contiguous().numpy()
        gm = None if g_mem is None else g_mem.contiguous().numpy()
        need_gx, need_gb = ctx.needs
        gx, gw, gb, gwr = _fused.fused_backward(
            xn, bits, syn, neurons, mems, spikes, gs, gm, need_gx, need_gb, rec=rec
        )
        return (
            None if gx is None else torch.from_numpy(gx),
            None,
            torch.from_numpy(gw),
            torch.from_numpy(gwr),
            None if gb is None else torch.from_numpy(gb),
        )


def recurrent_lif_dense(
    x: torch.Tensor, fc_in: SparseLinear, fc_rec: SparseLinear, lif: LIF
) -> tuple[torch.Tensor, torch.Tensor]:
    """The recurrent layer as a plain torch loop over dense masked weights (any device, the
    surrogate's own derivative): spikes and membranes ``[T, B, O]``."""
    w_in, w_rec = fc_in.dense_weight(), fc_rec.dense_weight()
    cur_in = x @ w_in
    if fc_in.bias is not None:
        cur_in = cur_in + fc_in.bias
    T, B, O = cur_in.shape
    mem = cur_in.new_zeros(B, O)
    spk = cur_in.new_zeros(B, O)
    spikes, mems = [], []
    for t in range(T):
        cur = cur_in[t] + spk @ w_rec if t else cur_in[t]
        reset = spk.detach()  # the reset is not differentiated (snntorch's detached reset)
        if lif.reset == "value":
            mem = (1 - reset) * mem * lif.beta + cur
        else:
            mem = mem * lif.beta + cur - lif.threshold * reset
        spk = lif.spike_fn(mem - lif.threshold)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


class RecurrentSparseLIF(nn.Module):
    """LIF neurons with sparse input weights ``fc_in`` and sparse recurrent weights ``fc_rec``.

    Parameters
    ----------
    n_in, n_out : int >= 1
        Inputs and neurons.
    beta, threshold, spike_fn, reset
        LIF parameters (see :class:`sparse_neuro.neuro.train.lif_layer.LIF`).
    density, rec_density : float in (0, 1]
        Connection density of the input and of the recurrent projection.
    bias : bool
        Learnable bias per neuron (on ``fc_in``).
    seed : int
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        beta: float = 0.95,
        threshold: float = 1.0,
        spike_fn=None,
        reset: str = "subtract",
        density: float = 1.0,
        rec_density: float = 0.1,
        bias: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.fc_in = SparseLinear.random(n_in, n_out, density, seed=seed, bias=bias)
        self.fc_rec = SparseLinear.random(n_out, n_out, rec_density, seed=seed + 1)
        self.lif = LIF(beta, threshold, spike_fn, reset)

    def _check_sizes(self, x: torch.Tensor) -> None:
        """The kernels index by these sizes: ``fc_in`` and ``fc_rec`` are public attributes, so
        a replaced projection is checked at every call, before any kernel runs."""
        n = self.fc_in.out_features
        if x.shape[-1] != self.fc_in.in_features:
            raise ValueError(
                f"x has {x.shape[-1]} inputs per step, fc_in expects {self.fc_in.in_features}"
            )
        if (self.fc_rec.in_features, self.fc_rec.out_features) != (n, n):
            raise ValueError(
                f"fc_rec must map the layer's {n} neurons onto themselves ({n} -> {n}), got "
                f"{self.fc_rec.in_features} -> {self.fc_rec.out_features}"
            )

    def fusable(self, x: torch.Tensor) -> bool:
        """Whether :meth:`forward` runs the fused kernels on ``x``."""
        return (
            x.dim() == 3
            and x.device.type == "cpu"
            and getattr(self.lif.spike_fn, "kind", None) in SURROGATE_CODES
            and x.dtype == self.fc_in.weight.dtype == self.fc_rec.weight.dtype
            and not _has_hooks(self.fc_in)
            and not _has_hooks(self.fc_rec)
        )

    def forward(
        self, x: torch.Tensor, fused: bool | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Spikes and membranes ``[T, B, O]`` of the input ``x`` ``[T, B, n_in]``.

        ``fused``: ``None`` (default) fused when :meth:`fusable`; ``False`` the dense path.
        """
        if x.dim() != 3:
            raise ValueError(f"x must be [T, B, N], got shape {tuple(x.shape)}")
        self._check_sizes(x)
        if fused is None:
            fused = self.fusable(x)
        elif fused and not self.fusable(x):
            raise ValueError("fused=True needs a CPU input [T, B, N] of the weights' dtype")
        if not fused:
            return recurrent_lif_dense(x, self.fc_in, self.fc_rec, self.lif)
        return _RecurrentFused.apply(
            x, self, self.fc_in.weight, self.fc_rec.weight, self.fc_in.bias
        )


class SpikingRNN(nn.Module):
    """A recurrent sparse spiking layer and a sparse LIF readout.

    Parameters
    ----------
    sizes : (n_in, n_hidden, n_out)
    n_steps : int
        ``T`` for a static input ``[B, N]`` (presented at every step).
    seed : int
    **layer
        Keyword arguments of :class:`RecurrentSparseLIF` (``beta``, ``threshold``,
        ``spike_fn``, ``reset``, ``density``, ``rec_density``, ``bias``); the readout has the
        same LIF parameters, ``density`` and ``bias``.

    Examples
    --------
    >>> import torch
    >>> net = SpikingRNN((8, 16, 3), n_steps=5)
    >>> net(torch.rand(4, 8)).spikes.shape
    torch.Size([5, 4, 3])
    """

    def __init__(
        self, sizes: tuple[int, int, int], n_steps: int = 25, seed: int = 0, **layer: Any
    ) -> None:
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) != 3 or min(sizes) < 1:
            raise ValueError(f"sizes must be 3 positive widths (in, hidden, out), got {sizes}")
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
        self.sizes, self.n_steps = sizes, int(n_steps)
        self.recurrent = RecurrentSparseLIF(sizes[0], sizes[1], seed=seed, **layer)
        lif = self.recurrent.lif
        self.readout = SparseLinear.random(
            sizes[1],
            sizes[2],
            layer.get("density", 1.0),
            seed=seed + 2,
            bias=layer.get("bias", False),
        )
        self.readout_lif = LIF(lif.beta, lif.threshold, lif.spike_fn, lif.reset)

    def forward(self, x: torch.Tensor, fused: bool | None = None) -> SpikingOutput:
        """``x``: ``[T, B, N]``, or a static ``[B, N]`` repeated ``n_steps`` times."""
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_steps, *x.shape)
        if x.dim() != 3:
            raise ValueError(f"x must be [B, N] (static) or [T, B, N], got shape {tuple(x.shape)}")
        hidden, _ = self.recurrent(x, fused)
        spikes, mems, _ = self.readout_lif(self.readout(hidden))
        return SpikingOutput(spikes, mems, [hidden])
