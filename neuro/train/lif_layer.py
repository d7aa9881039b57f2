"""The LIF layer (torch): the LIF recurrence over all steps in one autograd function.

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

Which implementation runs (this torch loop, or the compiled steps of
:mod:`sparse_neuro.neuro.train.kernels.lif_steps`): docs/TRAINING_KERNELS.md. Converting to the
clock engine (:mod:`sparse_neuro.learning.convert`): real-valued inputs must be spike-encoded
(:mod:`sparse_neuro.encoders`) for a network to be run on the engines.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.train.kernels.lif_steps import (
    SURROGATE_CODES,
    lif_backward,
    lif_consts,
    lif_forward,
)
from sparse_neuro.neuro.train.kwta import kwta_mask_torch
from sparse_neuro.neuro.train.surrogate import fast_sigmoid

__all__ = ["LIF", "lif_sequence"]


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
    spike_fn : sparse_neuro.neuro.train.surrogate.SurrogateSpike
        Any callable with a ``derivative(x)`` method.
    reset : {"subtract", "value"}
    kwta_k, kwta_groups, kwta_losers
        k-winners-take-all (see :mod:`sparse_neuro.neuro.train.kwta`): at most ``kwta_k`` of the
        crossing neurons spike per step (per group), losers ``"hold"`` their potential (not reset)
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
                f"spike_fn must be a SurrogateSpike (e.g. sparse_neuro.neuro.train.surrogate.fast_sigmoid(25)), "
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
