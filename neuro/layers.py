"""Differentiable spiking layers (torch): LIF, k-WTA, SparseLinear and readouts.

Tensors are time-major ``[T, B, N]``. State is explicit: :class:`LIF` takes the initial
membrane and returns the final one, and never stores anything between calls.

The LIF recurrence (snntorch ``Leaky`` semantics, reset computed from the previous step
and detached from the graph) is

.. math::

    m_t = \\beta m_{t-1} + x_t - \\vartheta\\, r_t, \\qquad
    s_t = H(m_t - \\vartheta)

with ``r_t = s_{t-1}`` (reset by subtraction) or
``m_t = \\beta (1 - r_t) m_{t-1} + x_t`` (reset to the value 0). The whole time loop runs in one
``autograd.Function`` (forward loop, then one backward loop using the surrogate's
derivative), which removes the per-step autograd bookkeeping that dominates small
spiking networks on CPU.

Converting to the clock engine (:mod:`learning.convert`): real-valued inputs must be
spike-encoded (:mod:`encoders`) for a network to be run on the engines.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from neuro import fused_kernels as _fused
from neuro.event_kernels import event_forward, event_weight_grad, synapse_input_grad
from neuro.kwta import kwta_mask_torch
from neuro.lif_kernels import SURROGATE_CODES, lif_backward, lif_consts, lif_forward
from neuro.surrogate import fast_sigmoid
from neuro.synapses import SparseSynapses

__all__ = [
    "LIF",
    "SparseLinear",
    "SpikingMLP",
    "sparse_lif",
    "SpikingOutput",
    "spike_count_readout",
    "max_membrane_readout",
    "lif_sequence",
]

_RESETS = ("subtract", "value")  # the words of LIFParams.reset_mode
_LOSERS = ("hold", "reset")


class _LIFSequence(torch.autograd.Function):
    """Fused LIF over all steps; see :func:`lif_sequence`."""

    @staticmethod
    def forward(ctx, x, mem0, beta, threshold, spike_fn, reset, kwta_k, kwta_groups, losers):  # type: ignore[override]
        T = x.shape[0]
        ctx.set_materialize_grads(False)  # an unused output (e.g. hidden membranes) costs no pass
        ctx.beta, ctx.threshold, ctx.spike_fn, ctx.reset = beta, threshold, spike_fn, reset
        ctx.kwta = kwta_k is not None
        ctx.mem0_shape = mem0.shape
        if x.device.type == "cpu" and kwta_k is None and x.dtype in (torch.float32, torch.float64):
            # one compiled pass per step, the same operations (equal to the last bit)
            xf = x.detach().contiguous().reshape(T, -1).numpy()
            spikes, mems = np.empty_like(xf), np.empty_like(xf)
            lif_forward(
                xf,
                mem0.detach().contiguous().reshape(-1).numpy(),
                lif_consts(threshold, beta, 1.0, xf.dtype),
                reset == "value",
                spikes,
                mems,
            )
            spikes, mems = torch.from_numpy(spikes).view_as(x), torch.from_numpy(mems).view_as(x)
            resets = None
            if reset == "value":  # r_t = s_{t-1}, r_0 from the initial membrane
                resets = torch.cat([(mem0 > threshold).to(x.dtype).unsqueeze(0), spikes[:-1]])
            ctx.save_for_backward(mems, spikes, resets)
            return spikes, mems
        spikes = torch.empty_like(x)
        mems = torch.empty_like(x)
        m = mem0
        prev = (mem0 > threshold).to(x.dtype)  # snntorch: reset from the initial membrane
        # the zero-reset backward needs the reset of every step; subtract needs none
        resets = torch.empty_like(x) if reset == "value" else None
        for t in range(T):
            mt = mems[t]
            # same operation order as snntorch's Leaky, so the results are bit-identical
            if reset == "subtract":
                torch.mul(m, beta, out=mt)
                mt.add_(x[t]).sub_(prev, alpha=threshold)  # threshold * prev is exact (0/1)
            else:
                resets[t] = prev
                torch.mul((1 - prev) * m, beta, out=mt)
                mt.add_(x[t])
            m = mt
            crossed = mt > threshold
            if kwta_k is not None:
                win = kwta_mask_torch(mt, crossed, kwta_k, kwta_groups)
                spikes[t].copy_(win)
                prev = (crossed if losers == "reset" else win).to(x.dtype)
            else:
                spikes[t].copy_(crossed)
                prev = spikes[t]
        ctx.save_for_backward(mems, spikes, resets)
        return spikes, mems

    @staticmethod
    def backward(ctx, g_spk, g_mem):  # type: ignore[override]
        mems, spikes, resets = ctx.saved_tensors
        beta, thr = ctx.beta, ctx.threshold
        kind = getattr(ctx.spike_fn, "kind", None)
        if g_spk is None and g_mem is None:
            return None, None, None, None, None, None, None, None, None
        if mems.device.type == "cpu" and kind in SURROGATE_CODES:  # one compiled pass
            flat = [
                None if a is None else a.detach().reshape(mems.shape[0], -1).contiguous().numpy()
                for a in (mems, g_spk, g_mem, spikes if ctx.kwta else None, resets)
            ]
            gx = torch.from_numpy(
                lif_backward(
                    flat[0], flat[1], flat[2], thr, beta, kind, ctx.spike_fn.scale, flat[3], flat[4]
                )
            ).view_as(mems)
            g0 = gx[0] * (beta if resets is None else (1 - resets[0]) * beta)
            return gx, g0.expand(ctx.mem0_shape), None, None, None, None, None, None, None
        g_spk, g_mem = (torch.zeros_like(mems) if g is None else g for g in (g_spk, g_mem))
        # everything that does not depend on the recursion is computed for all T at once
        sg = ctx.spike_fn.derivative(mems - thr)
        if ctx.kwta:
            sg = sg * spikes  # the gradient flows through the winners only
        gx = torch.addcmul(g_mem, g_spk, sg)  # local gradient of m_t, then the recursion
        if ctx.reset == "subtract":
            for t in range(mems.shape[0] - 2, -1, -1):
                gx[t].add_(gx[t + 1], alpha=beta)  # dm_{t+1}/dm_t = beta
            g0 = gx[0] * beta
        else:
            keep = (1 - resets) * beta  # dm_t/dm_{t-1} = beta (1 - r_t)
            for t in range(mems.shape[0] - 2, -1, -1):
                gx[t].addcmul_(gx[t + 1], keep[t + 1])
            g0 = gx[0] * keep[0]
        return gx, g0.expand(ctx.mem0_shape), None, None, None, None, None, None, None


def lif_sequence(
    x: torch.Tensor,
    mem0: torch.Tensor,
    beta: float,
    threshold: float,
    spike_fn,
    reset: str = "subtract",
    kwta_k: int | None = None,
    kwta_groups: int | None = None,
    kwta_losers: str = "hold",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run LIF neurons over all ``T`` steps (functional core of :class:`LIF`).

    Parameters
    ----------
    x : Tensor [T, B, N]
        Input current per step (membrane units).
    mem0 : Tensor broadcastable to [B, N]
        Initial membrane.
    beta, threshold : float
        Decay per step in [0, 1] and firing threshold > 0.
    spike_fn : neuro.surrogate.SurrogateSpike
        Any callable with a ``derivative(x)`` method.
    reset : {"subtract", "value"}
    kwta_k, kwta_groups, kwta_losers
        k-winners-take-all (see :mod:`neuro.kwta`): at most ``kwta_k`` of the crossing
        neurons spike per step (per group), losers ``"hold"`` their potential (not reset)
        or are ``"reset"`` like spiking neurons.

    Returns
    -------
    spikes, mems : Tensor [T, B, N]
        Spikes and membrane after the input (before the reset of the next step),
        as snntorch's ``Leaky`` returns them.
    """
    mem0 = torch.broadcast_to(mem0, x.shape[1:]).to(x.dtype)
    return _LIFSequence.apply(
        x, mem0, float(beta), float(threshold), spike_fn, reset, kwta_k, kwta_groups, kwta_losers
    )


class LIF(nn.Module):
    """Leaky integrate-and-fire layer over a whole sequence, explicit state in and out.

    Parameters
    ----------
    beta : float
        Membrane decay per step, in [0, 1] (``exp(-dt / tau_mem)``).
    threshold : float
        Firing threshold, > 0.
    spike_fn : SurrogateSpike
        Surrogate spike function (default ``fast_sigmoid(25)``).
    reset : {"subtract", "value"}
        Reset by subtraction of the threshold, or to the reset value 0 (snntorch's
        ``"subtract"`` and ``"value"``; the names of ``LIFParams.reset_mode``).
    kwta_k : int, optional
        k-winners-take-all within the layer (or within each of ``kwta_groups`` equal
        contiguous groups).
    kwta_losers : {"hold", "reset"}

    Examples
    --------
    >>> import torch
    >>> lif = LIF(beta=0.9)
    >>> spikes, mems, mem_T = lif(torch.full((5, 1, 2), 0.6))
    >>> spikes[:, 0, 0].tolist()
    [0.0, 1.0, 0.0, 1.0, 0.0]
    """

    def __init__(
        self,
        beta: float,
        threshold: float = 1.0,
        spike_fn=None,
        reset: str = "subtract",
        kwta_k: int | None = None,
        kwta_groups: int | None = None,
        kwta_losers: str = "hold",
    ) -> None:
        super().__init__()
        if not (isinstance(beta, (int, float)) and 0.0 <= beta <= 1.0):
            raise ValueError(f"beta must be a number in [0, 1], got {beta!r}")
        if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        if reset not in _RESETS:
            raise ValueError(f"reset must be one of {_RESETS}, got {reset!r}")
        if kwta_losers not in _LOSERS:
            raise ValueError(f"kwta_losers must be one of {_LOSERS}, got {kwta_losers!r}")
        if kwta_k is not None and (int(kwta_k) != kwta_k or kwta_k < 0):
            raise ValueError(f"kwta_k must be an integer >= 0, got {kwta_k!r}")
        if kwta_groups is not None and (int(kwta_groups) != kwta_groups or kwta_groups < 1):
            raise ValueError(f"kwta_groups must be an integer >= 1, got {kwta_groups!r}")
        if spike_fn is not None and not (callable(spike_fn) and hasattr(spike_fn, "derivative")):
            raise TypeError(
                f"spike_fn must be a SurrogateSpike (e.g. neuro.surrogate.fast_sigmoid(25)), "
                f"got {type(spike_fn).__name__}"
            )
        self.beta = float(beta)
        self.threshold = float(threshold)
        if spike_fn is None:
            spike_fn = fast_sigmoid(25.0)
        self.spike_fn = spike_fn
        self.reset = reset
        self.kwta_k = None if kwta_k is None else int(kwta_k)
        self.kwta_groups = None if kwta_groups is None else int(kwta_groups)
        self.kwta_losers = kwta_losers

    def forward(
        self, x: torch.Tensor, mem: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the sequence.

        Parameters
        ----------
        x : Tensor [T, B, N]
        mem : Tensor [B, N], optional
            Initial membrane (zeros by default).

        Returns
        -------
        spikes : Tensor [T, B, N]
        mems : Tensor [T, B, N]
            Membrane at each step (after input, before the next step's reset).
        mem_out : Tensor [B, N]
            Final membrane, to pass as ``mem`` to continue the sequence.
        """
        if x.dim() != 3:
            raise ValueError(f"x must be time-major [T, B, N], got shape {tuple(x.shape)}")
        if self.kwta_groups is not None and x.shape[2] % self.kwta_groups:
            raise ValueError(
                f"layer width {x.shape[2]} must be divisible by kwta_groups={self.kwta_groups}"
            )
        mem0 = torch.zeros((), dtype=x.dtype, device=x.device) if mem is None else mem
        spikes, mems = lif_sequence(
            x,
            mem0,
            self.beta,
            self.threshold,
            self.spike_fn,
            self.reset,
            self.kwta_k,
            self.kwta_groups,
            self.kwta_losers,
        )
        return spikes, mems, mems[-1]

    def extra_repr(self) -> str:
        k = f", kwta_k={self.kwta_k}" if self.kwta_k is not None else ""
        return f"beta={self.beta}, threshold={self.threshold}, reset={self.reset!r}{k}"


class _EventLinear(torch.autograd.Function):
    """``x @ W`` over the existing synapses of the non-zero inputs (:mod:`neuro.event_kernels`)."""

    @staticmethod
    def forward(ctx, x, weight, indptr, indices, n_out):  # type: ignore[override]
        xn = x.detach().contiguous().numpy()
        y = event_forward(xn, indptr, indices, weight.detach().numpy(), n_out)
        ctx.save_for_backward(x, weight)
        ctx.csr = (indptr, indices)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        indptr, indices = ctx.csr
        gn = g.contiguous().numpy()
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch.from_numpy(synapse_input_grad(gn, indptr, indices, weight.detach().numpy()))
        if ctx.needs_input_grad[1]:
            gw = torch.from_numpy(
                event_weight_grad(x.detach().contiguous().numpy(), gn, indptr, indices)
            )
        return gx, gw, None, None, None


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
    direction, :mod:`neuro.fused_kernels`); see :func:`sparse_lif` and :class:`SpikingMLP`.

    The run starts at ``fcs[0]`` and takes the next layer while it is fusable on the spikes of
    the one before (at most ``max_layers``). Between the layers of a run the spikes pass as
    bits, and the gradient w.r.t. a hidden layer's spikes passes only for the neurons with
    synapses onto the live neurons of the layer above (``gx_rows`` of
    :func:`neuro.fused_kernels.fused_backward`), so the backward pass of the layer below
    skips every other neuron: with a sparse readout, most of them.

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
    called, e.g. RigL's dense gradients in :mod:`learning.sparsity`), on CPU, and ``lif`` has no k-WTA and a surrogate of
    :data:`neuro.lif_kernels.SURROGATE_CODES` (:mod:`neuro.fused_kernels`). The spikes and
    membranes equal those of the unfused event path to the last bit, the gradients to
    float rounding.

    Returns
    -------
    (spikes, mems) : Tensor [T, B, out] each, or None
    """
    out = _fused_layers(x, [fc], [lif], None, 1)
    return None if out is None else (out[0][0], out[1])


_KERNELS = ("auto", "dense", "event", "sparse")

# Cost model of the automatic kernel choice, per elementary operation, measured on this
# project's 2-core CPU with one thread (torch 2.13, numba 0.68; benchmarks/sparse_training.py
# prints the calibration): a multiply-add inside torch's GEMM, an event-driven synapse
# update (indirect load/store), and the test of one input for zero.
_NS_PER_MAC = 0.017
_NS_PER_EVENT = 2.0
_NS_PER_SCAN = 0.6
# ... a dense product's pass over its [M, in] operand (what bounds a skinny GEMM such as the
# 1000 -> 10 readout), and for the fused kernels (sparse_lif): a pass over one input entry
# (its spike bits), what they add per output neuron and step to the LIF steps both paths run
# (the transposes between trains and steps, the output bits), and one vector operation over
# 16 steps at a synapse. Calibrated on the kernels of benchmarks/sparse_training.py (1 thread,
# the 784 -> 1000 layer at densities 1e-5, 2% and 10%, CPU time) before the LIF steps ran in
# registers (neuro.simd.lif_tile): the fused kernels are now faster than this estimates, so
# the choice errs towards the dense kernel.
_NS_PER_DENSE_ENTRY = 0.5
_NS_PER_ENTRY = 0.2
_NS_PER_OUT_ENTRY = 1.2
_NS_PER_VECTOR = 2.4


class SparseLinear(nn.Module):
    """Linear map whose connectivity pattern is a :class:`SparseSynapses` matrix.

    Only the weights of existing synapses are parameters (``self.weight``, in the CSR order
    of the pattern); absent synapses stay zero through training. The pattern itself can be
    changed (pruning, growth) with :meth:`set_synapses`.

    Parameters
    ----------
    synapses : SparseSynapses
        Pattern and initial weights, shape ``(in_features, out_features)``.
    bias : bool
        Add a learnable bias per output.
    kernel : {"auto", "dense", "event", "sparse"}
        ``"dense"`` scatters the weights into a dense matrix and uses one GEMM (memory
        ``in * out``); ``"event"`` touches only the existing synapses of the non-zero inputs
        (spikes) in the forward pass and the weight gradient (:mod:`neuro.event_kernels`);
        ``"sparse"`` uses ``torch.sparse.mm``. ``"auto"`` picks ``"event"`` or ``"dense"`` at
        every call from the estimated time of each (the number of non-zero inputs, the
        number of synapses and the measured cost per operation), and never ``"dense"`` when
        the dense matrix would exceed ``max_dense_bytes``. Followed by a :class:`LIF` layer
        (:class:`SpikingMLP`, :func:`sparse_lif`), the event choice runs the projection and
        the LIF layer fused (:mod:`neuro.fused_kernels`, chosen by :meth:`choose_fused`).
    max_dense_bytes : int
        Largest dense weight matrix (bytes, and as much again for its gradient) the dense
        kernel may allocate; ``kernel="dense"`` beyond it is an error at construction.

    Examples
    --------
    >>> import torch
    >>> syn = SparseSynapses.fixed_probability(20, 5, p=0.1, weight=0.5, seed=0)
    >>> lin = SparseLinear(syn)
    >>> lin(torch.ones(3, 2, 20)).shape
    torch.Size([3, 2, 5])
    """

    def __init__(
        self,
        synapses: SparseSynapses,
        bias: bool = False,
        kernel: str = "auto",
        max_dense_bytes: int = 2**30,
    ) -> None:
        super().__init__()
        if not isinstance(synapses, SparseSynapses):
            raise TypeError(f"synapses must be SparseSynapses, got {type(synapses).__name__}")
        if kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
        if int(max_dense_bytes) != max_dense_bytes or max_dense_bytes < 0:
            raise ValueError(f"max_dense_bytes must be an integer >= 0, got {max_dense_bytes!r}")
        self.in_features, self.out_features = synapses.shape
        self.max_dense_bytes = int(max_dense_bytes)
        need = self.dense_bytes(synapses.weights.dtype)
        if kernel == "dense" and need > self.max_dense_bytes:
            raise ValueError(
                f"kernel='dense' would allocate {need / 2**30:.3g} GiB for the "
                f"{self.in_features}x{self.out_features} weight matrix and its gradient, more than "
                f"max_dense_bytes={self.max_dense_bytes} ({self.max_dense_bytes / 2**30:.3g} GiB); "
                "use kernel='event' or 'auto', or raise max_dense_bytes"
            )
        self.kernel = kernel
        self.weight = nn.Parameter(torch.from_numpy(synapses.weights.copy()))
        self.set_synapses(synapses)
        self.bias = (
            nn.Parameter(torch.zeros(self.out_features, dtype=self.weight.dtype)) if bias else None
        )

    def dense_bytes(self, dtype=None) -> int:
        """Bytes the dense kernel allocates: the dense matrix and its gradient."""
        itemsize = np.dtype(dtype).itemsize if dtype is not None else self.weight.element_size()
        return 2 * self.in_features * self.out_features * itemsize

    def set_synapses(self, synapses: SparseSynapses) -> None:
        """Replace the pattern and the weights (``weight`` becomes a new Parameter).

        An optimizer holding the old ``weight`` must be told; :func:`learning.sparsity.rewire`
        does that and carries its state over.
        """
        if not isinstance(synapses, SparseSynapses):
            raise TypeError(f"synapses must be SparseSynapses, got {type(synapses).__name__}")
        if synapses.shape != (self.in_features, self.out_features):
            raise ValueError(
                f"synapses shape must be {(self.in_features, self.out_features)}, "
                f"got {synapses.shape}"
            )
        if synapses.max_delay:
            raise ValueError(
                f"SparseLinear needs delay-0 synapses (got max delay {synapses.max_delay} steps)"
            )
        rows = torch.from_numpy(synapses.pre_indices().astype(np.int64))
        cols = torch.from_numpy(synapses.indices.astype(np.int64))
        if "rows" in self._buffers:
            self.rows, self.cols = rows, cols
        else:
            self.register_buffer("rows", rows)
            self.register_buffer("cols", cols)
        self._indptr = synapses.indptr.copy()
        # the (post, pre) indices the sparse kernel reads unchecked: private, as validated
        # (the rows/cols buffers are public and saved; a changed buffer must not reach it)
        self._coo = torch.stack([cols, rows])
        # narrowest unsigned column index for the numba loops: less memory traffic per
        # synapse and no negative-index check (uint16 measured 1.6x faster than int64 at 10%)
        self._event_cols = synapses.indices.astype(
            np.uint16 if self.out_features <= np.iinfo(np.uint16).max + 1 else np.uint32
        )
        self._chunks = _fused.chunks(self._indptr, self._event_cols, self.out_features)
        # a complete pattern in CSR order is the row-major dense matrix: no scatter needed
        self._full = synapses.n_synapses == self.in_features * self.out_features and np.array_equal(
            synapses.indices,
            np.tile(np.arange(self.out_features, dtype=np.int32), self.in_features),
        )
        # a new Parameter, not new .data: autograd caches the shape of a leaf it has seen
        self.weight = nn.Parameter(
            torch.from_numpy(synapses.weights.copy()).to(self.weight.dtype),
            requires_grad=self.weight.requires_grad,
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        # a saved pattern may differ from this one (pruned, regrown): adopt it, then load
        rows, cols = state_dict.get(prefix + "rows"), state_dict.get(prefix + "cols")
        w = state_dict.get(prefix + "weight")
        if (
            rows is not None
            and cols is not None
            and w is not None
            and not (
                rows.shape == self.rows.shape
                and torch.equal(rows, self.rows)
                and torch.equal(cols, self.cols)
            )
        ):
            r = rows.numpy()
            if r.size and (np.any(np.diff(r) < 0) or r.min() < 0 or r.max() >= self.in_features):
                raise ValueError(
                    f"{prefix}rows must be sorted presynaptic indices in [0, {self.in_features})"
                )
            indptr = np.zeros(self.in_features + 1, dtype=np.int64)
            np.cumsum(np.bincount(r, minlength=self.in_features), out=indptr[1:])
            self.set_synapses(
                SparseSynapses(indptr, cols.numpy(), w.detach().numpy(), 0, self.out_features)
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @classmethod
    def random(
        cls,
        in_features: int,
        out_features: int,
        density: float = 1.0,
        *,
        seed: int = 0,
        bias: bool = False,
        kernel: str = "auto",
        dtype: type = np.float32,
    ) -> SparseLinear:
        """Random pattern of the given density; weights uniform in ``+-1/sqrt(fan_in)``.

        ``fan_in = in_features * density`` (the expected number of inputs), as
        ``nn.Linear``'s default initialisation for the dense case.
        """
        if not (0.0 < density <= 1.0):
            raise ValueError(f"density must be in (0, 1], got {density}")
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(max(in_features * density, 1.0))
        syn = SparseSynapses.fixed_probability(
            in_features, out_features, density, seed=rng, dtype=dtype
        )
        w = rng.uniform(-bound, bound, size=syn.n_synapses).astype(dtype)
        return cls(syn.with_weights(w), bias=bias, kernel=kernel)

    @property
    def density(self) -> float:
        """Fraction of the ``in * out`` possible synapses that exist."""
        return self.weight.numel() / (self.in_features * self.out_features)

    def dense_weight(self) -> torch.Tensor:
        """The ``(in, out)`` weight matrix (differentiable w.r.t. ``self.weight``)."""
        if self._full:
            return self.weight.view(self.in_features, self.out_features)
        if self.dense_bytes() > self.max_dense_bytes:
            raise MemoryError(
                f"the dense {self.in_features}x{self.out_features} weight matrix needs "
                f"{self.dense_bytes() / 2**30:.3g} GiB with its gradient, more than "
                f"max_dense_bytes={self.max_dense_bytes}"
            )
        w = torch.zeros(
            self.in_features, self.out_features, dtype=self.weight.dtype, device=self.weight.device
        )
        return w.index_put((self.rows, self.cols), self.weight)

    def choose_kernel(self, flat: torch.Tensor) -> str:
        """The kernel a call on ``flat`` [M, in] uses (``self.kernel`` unless ``"auto"``)."""
        if self.kernel != "auto":
            return self.kernel
        if self.dense_bytes() > self.max_dense_bytes:
            return "event"
        M, I, O = flat.shape[0], self.in_features, self.out_features
        training = torch.is_grad_enabled() and (self.weight.requires_grad or flat.requires_grad)
        grad_w = training and self.weight.requires_grad
        grad_x = training and flat.requires_grad
        dense_ns = _NS_PER_MAC * M * I * O * (1 + grad_w + grad_x)
        # numpy counts ~2.5x faster than torch.count_nonzero on CPU (measured, float32)
        nnz = (
            np.count_nonzero(flat.detach().numpy())
            if flat.device.type == "cpu"
            else int(torch.count_nonzero(flat))
        )
        events = int(nnz) * (self.weight.numel() / I)
        event_ns = _NS_PER_EVENT * (
            events * (1 + grad_w) + grad_x * M * self.weight.numel()
        ) + _NS_PER_SCAN * M * I * (1 + grad_w)
        return "event" if event_ns < dense_ns else "dense"

    def choose_fused(
        self,
        x: torch.Tensor,
        bits: np.ndarray | None = None,
        needs_grad: tuple[bool, bool] | None = None,
    ) -> bool:
        """Whether :func:`sparse_lif` runs this projection and its LIF layer fused on ``x`` [T, B, in].

        ``kernel="event"``: always; ``"dense"``, ``"sparse"``: never; ``"auto"``: when the
        estimated time of the fused kernels (:mod:`neuro.fused_kernels`: a pass over the
        input, the LIF tiles per output neuron and step, then vector operations over the
        steps for each synapse of each input that spiked in a sample; ``bits``, the input's
        :func:`neuro.fused_kernels.spike_bits` if known, saves a pass) is below that of the dense matrix products, or the dense matrix
        would exceed ``max_dense_bytes``. ``needs_grad``: whether the weights' and the input's
        gradients will be computed (default: from grad mode and ``requires_grad``).
        """
        if self.kernel != "auto":
            return self.kernel == "event"
        if self.dense_bytes() > self.max_dense_bytes:
            return True
        T, B, I = x.shape
        O, nnz = self.out_features, self.weight.numel()
        if needs_grad is None:
            grad_mode = torch.is_grad_enabled()
            needs_grad = (grad_mode and self.weight.requires_grad, grad_mode and x.requires_grad)
        grad_w, grad_x = needs_grad
        training = grad_w or grad_x
        dense_ns = (_NS_PER_MAC * O + _NS_PER_DENSE_ENTRY) * T * B * I * (1 + grad_w + grad_x)
        vectors = -(-T // _fused.LANES)  # vector operations per synapse and input train
        pairs = (
            np.count_nonzero(bits)
            if bits is not None and bits.size
            else _fused.count_active_inputs(x.detach().contiguous().numpy())
        )
        fused_ns = (_NS_PER_ENTRY * I + _NS_PER_OUT_ENTRY * O) * T * B * (
            1 + training
        ) + _NS_PER_VECTOR * vectors * (pairs * nnz / I * (1 + grad_w) + grad_x * B * nnz)
        return fused_ns < dense_ns

    def checked_weight(self) -> torch.Tensor:
        """``weight``, checked to hold one value per synapse: the compiled kernels index it
        by synapse, and ``weight`` is a public attribute that may have been replaced."""
        n = self._event_cols.size
        if tuple(self.weight.shape) != (n,):
            raise ValueError(
                f"weight must have shape ({n},) (one value per synapse), got "
                f"{tuple(self.weight.shape)}; change the pattern with set_synapses"
            )
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ W (+ bias)`` over the last dimension; any leading shape (e.g. ``[T, B]``)."""
        self.checked_weight()
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input last dimension must be {self.in_features}, got {x.shape[-1]}")
        flat = x.reshape(-1, self.in_features)
        kernel = self.choose_kernel(flat)
        if kernel == "dense":
            y = flat @ self.dense_weight()
        elif kernel == "event":
            if flat.dtype != self.weight.dtype:
                raise TypeError(
                    f"input dtype {flat.dtype} must match the weights' {self.weight.dtype}"
                )
            y = _EventLinear.apply(
                flat, self.weight, self._indptr, self._event_cols, self.out_features
            )
        else:
            wt = torch.sparse_coo_tensor(
                self._coo.to(self.weight.device),
                self.weight,
                (self.out_features, self.in_features),
                is_coalesced=False,
                check_invariants=False,  # indices come from a validated SparseSynapses
            )
            y = torch.sparse.mm(wt, flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def to_synapses(self) -> SparseSynapses:
        """Current weights as :class:`SparseSynapses` (same pattern, delay 0)."""
        w = self.weight.detach().cpu().numpy().copy()
        return SparseSynapses(
            self._indptr, self.cols.cpu().numpy().astype(np.int32), w, 0, self.out_features
        )

    def extra_repr(self) -> str:
        return (
            f"in={self.in_features}, out={self.out_features}, synapses={self.weight.numel()}, "
            f"density={self.density:.3g}, kernel={self.kernel!r}"
        )


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
        """``x``: spikes/currents ``[T, B, N]``, or a static input ``[B, N]`` repeated ``n_steps`` times."""
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
