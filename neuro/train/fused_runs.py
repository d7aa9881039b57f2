"""Runs of ``SparseLinear -> LIF`` layers in one compiled pass per layer and direction.

When a projection and its LIF layer may run fused (CPU, no k-WTA, a surrogate the
kernels know, no forward hooks) and :meth:`SparseLinear.choose_fused` says it is
cheaper, :func:`sparse_lif` and :class:`~sparse_neuro.neuro.train.models.SpikingMLP`
run them through :mod:`sparse_neuro.neuro.train.kernels.fused_lif` (one autograd node,
spikes passed between layers as bits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.train.kernels import fused_lif as _fused
from sparse_neuro.neuro.train.kernels.lif_steps import (
    SURROGATE_CODES,
    lif_consts,
)

if TYPE_CHECKING:
    from sparse_neuro.neuro.train.lif_layer import LIF
    from sparse_neuro.neuro.train.sparse_linear import SparseLinear

__all__ = ["sparse_lif"]


def _has_hooks(module: nn.Module) -> bool:
    """Whether calling ``module`` would run forward (pre-)hooks, its own or global ones."""
    from torch.nn.modules import module as mod

    return bool(
        module._forward_hooks
        or module._forward_pre_hooks
        or mod._global_forward_hooks
        or mod._global_forward_pre_hooks
    )


def _can_fuse(x: torch.Tensor, fc: SparseLinear, lif: LIF) -> bool:
    """Whether the fused kernels can run ``lif(fc(x))`` (whether they do: :func:`_fusable`)."""
    return (
        x.dim() == 3
        and x.device.type == "cpu"
        and lif.kwta_k is None
        and not _has_hooks(fc)
        and getattr(lif.spike_fn, "kind", None) in SURROGATE_CODES
        and x.dtype == fc.weight.dtype
    )


def _fusable(
    x: torch.Tensor,
    fc: SparseLinear,
    lif: LIF,
    bits: np.ndarray | None,
    needs_grad: tuple[bool, bool] | None = None,
) -> bool:
    """Whether ``lif(fc(x))`` runs fused (see :func:`sparse_lif`)."""
    return _can_fuse(x, fc, lif) and fc.choose_fused(x, bits, needs_grad)


class _Layer(NamedTuple):
    """What the backward pass of one fused layer keeps (numpy, no copies)."""

    x: np.ndarray
    bits: np.ndarray
    syn: _fused.Synapses
    neurons: _fused.Neurons
    spikes: np.ndarray
    mems: np.ndarray
    mems_of: np.ndarray | None  # mems holds these neurons' membranes only (None: all)
    bias: np.ndarray | None


class _FusedLayers(torch.autograd.Function):
    """A run of ``SparseLinear -> LIF`` layers, each fused (one compiled call per layer and
    direction, :mod:`sparse_neuro.neuro.train.kernels.fused_lif`); see :func:`sparse_lif` and
    :class:`SpikingMLP`.

    The run starts at ``fcs[0]`` and takes the next layer while it is fusable on the spikes of
    the one before (at most ``max_layers``). Between the layers of a run the spikes pass as
    bits, and the gradient w.r.t. a hidden layer's spikes passes only for the neurons with
    synapses onto the live neurons of the layer above (``gx_rows`` of
    :func:`sparse_neuro.neuro.train.kernels.fused_lif.fused_backward`), so the backward pass of the
    layer below skips every other neuron: with a sparse readout, most of them.

    Outputs: the last layer's membranes, its spikes as bits (not differentiable), then the
    spikes of every layer of the run. A loss on a hidden layer's spikes back-propagates (its
    gradient is added to the one from above); the spikes of a layer are not, in the autograd
    graph, the input of the next (the run is one node).
    """

    @staticmethod
    def forward(ctx, x, run, bits, *params):  # type: ignore[override]
        fcs, lifs, needs_grad, max_layers = run
        ctx.set_materialize_grads(False)  # a None gradient is skipped, not read as zeros
        xn = x.detach().contiguous().numpy()
        bits = _fused.spike_bits(xn) if bits is None else bits
        layers: list[_Layer] = []
        for fc, lif in zip(fcs, lifs):
            if layers and (
                len(layers) == max_layers
                or not _fusable(
                    torch.from_numpy(xn), fc, lif, bits, (needs_grad[0], any(needs_grad))
                )
            ):
                break
            w = fc.checked_weight().detach().numpy()
            syn = _fused.Synapses(fc._indptr, fc._chunks, fc._event_cols, w)
            neurons = _fused.Neurons(
                lif_consts(lif.threshold, lif.beta, lif.spike_fn.scale, w.dtype),
                SURROGATE_CODES[lif.spike_fn.kind],
                lif.reset == "value",
            )
            bias = None if fc.bias is None else fc.bias.detach().numpy()
            # a hidden layer's membranes are not an output: it keeps those of the neurons with
            # synapses onto the next layer only (no gradient reaches the others through it)
            k = len(layers)
            keep = (
                None
                if k + 1 == min(max_layers, len(fcs))
                else np.flatnonzero(np.diff(fcs[k + 1]._indptr))
            )
            spikes, mems, out_bits = _fused.fused_forward(
                xn,
                bits,
                syn,
                bias,
                neurons,
                fc.out_features,
                keep_mems=True if keep is None else keep,
            )
            layers.append(_Layer(xn, bits, syn, neurons, spikes, mems, keep, bias))
            xn, bits = spikes, out_bits
        if (
            layers[-1].mems_of is not None
        ):  # the run ended before the next layer: its membranes are an output
            top = layers[-1]
            layers[-1] = top._replace(
                mems=_fused.fused_forward(
                    top.x, top.bits, top.syn, top.bias, top.neurons, top.spikes.shape[2]
                )[1],
                mems_of=None,
            )
        ctx.layers, ctx.has_bias = layers, [fc.bias is not None for fc in fcs[: len(layers)]]
        ctx.n_params = len(params)
        spikes = [torch.from_numpy(layer.spikes) for layer in layers]
        mems = torch.from_numpy(layers[-1].mems)
        out_bits = torch.from_numpy(bits.view(np.int32))  # torch has no uint32 arithmetic
        ctx.mark_non_differentiable(out_bits)
        # autograd checks that these stay unmodified (the kernels read their numpy views)
        ctx.save_for_backward(x, mems, *spikes, *params[: 2 * len(layers)])
        return (mems, out_bits, *spikes)

    @staticmethod
    def backward(ctx, g_mem, _, *g_spikes):  # type: ignore[override]
        _ = ctx.saved_tensors  # raises if one was modified in place
        layers = ctx.layers
        need_x = ctx.needs_input_grad[0]
        grads: list[torch.Tensor | None] = [None] * ctx.n_params
        above = None  # (gradient, neurons) from the layer above, for its inputs with synapses
        gx_input = None
        for k in range(len(layers) - 1, -1, -1):
            layer = layers[k]
            g = None if g_spikes[k] is None else g_spikes[k].detach().contiguous().numpy()
            gm = (
                None
                if k < len(layers) - 1 or g_mem is None
                else g_mem.detach().contiguous().numpy()
            )
            live = None
            if above is not None and g is None:
                g, live = above
            elif (
                above is not None
            ):  # a loss on these spikes too: add, the kernel finds the live neurons
                g = g.copy()
                g[:, :, above[1]] += above[0]
            if g is None and gm is None:  # nothing reaches this layer or the ones below from above
                above = None
                continue
            need_w, need_b = ctx.needs_input_grad[3 + 2 * k : 5 + 2 * k]
            gx, gw, gb = _fused.fused_backward(
                layer.x,
                layer.bits,
                layer.syn,
                layer.neurons,
                layer.mems,
                layer.spikes,
                g,
                gm,
                k > 0 or need_x,
                need_b and ctx.has_bias[k],
                live,
                gx_rows=k > 0,
                bias=layer.bias,
                mems_of=layer.mems_of,
            )
            grads[2 * k] = torch.from_numpy(gw) if need_w else None
            grads[2 * k + 1] = None if gb is None else torch.from_numpy(gb)
            if k > 0:
                above = gx
            elif need_x:
                gx_input = torch.from_numpy(gx)
        return (gx_input, None, None, *grads)


def _fused_layers(x: torch.Tensor, fcs, lifs, bits: np.ndarray | None, max_layers: int):
    """The spikes of each layer of the fused run at ``fcs[0]`` (see :class:`_FusedLayers`),
    the last one's membranes and spike bits; ``None`` when ``fcs[0]`` is not fusable on ``x``."""
    if not _can_fuse(x, fcs[0], lifs[0]):
        return None
    if bits is None and fcs[0].kernel == "auto":
        # the cost model counts the active inputs: from the spike bits the kernels read anyway
        # (one pass over the input instead of two)
        bits = _fused.spike_bits(x.detach().contiguous().numpy())
    if not fcs[0].choose_fused(x, bits):
        return None
    training = torch.is_grad_enabled()
    needs_grad = (
        training and any(fc.weight.requires_grad for fc in fcs),
        training and x.requires_grad,
    )
    params = [p for fc in fcs for p in (fc.weight, fc.bias)]
    mems, out_bits, *spikes = _FusedLayers.apply(
        x, (list(fcs), list(lifs), needs_grad, max_layers), bits, *params
    )
    return spikes, mems, out_bits.numpy().view(np.uint32)


def sparse_lif(
    x: torch.Tensor, fc: SparseLinear, lif: LIF
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``lif(fc(x))`` (zero initial membrane) in one compiled pass when it applies, else ``None``.

    Applies when ``fc`` chooses the event kernel for ``x`` [T, B, in] (see
    :meth:`SparseLinear.choose_fused`) and has no forward hooks (a hook must see ``fc``
    called, e.g. RigL's dense gradients in :mod:`sparse_neuro.learning.sparsity`), on CPU, and
    ``lif`` has no k-WTA and a surrogate of
    :data:`sparse_neuro.neuro.train.kernels.lif_steps.SURROGATE_CODES`
    (:mod:`sparse_neuro.neuro.train.kernels.fused_lif`). The spikes and membranes equal those of the
    unfused event path to the last bit, the gradients to float rounding.

    Returns
    -------
    (spikes, mems) : Tensor [T, B, out] each, or None
    """
    out = _fused_layers(x, [fc], [lif], None, 1)
    return None if out is None else (out[0][0], out[1])
