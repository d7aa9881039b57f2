"""Backward pass of the fused LIF layer in one compiled loop (numba).

:class:`neuro.layers.LIF` runs the time recursion of the membrane gradient backwards:

.. math::

    \\bar m_t = \\bar m^{\\,out}_t + \\bar s_t\\, S'(m_t - \\vartheta)\\,[w_t]
               + k_{t+1} \\bar m_{t+1}

with ``k = beta`` (reset by subtraction) or ``k_t = beta (1 - r_t)`` (reset to zero), and
``w_t`` the winners' mask under k-WTA. In torch this is a chain of whole-tensor operations
(the surrogate's derivative alone is five) and one small operation per step; here it is a
single pass over ``[T, B*N]`` that keeps nothing but the result. The surrogate derivatives
are those of :mod:`neuro.surrogate` (``fast_sigmoid``, ``arctan``, ``triangle``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["SURROGATE_CODES", "lif_backward", "lif_consts", "surrogate_derivative"]

#: :attr:`neuro.surrogate.SurrogateSpike.kind` -> the code the compiled loop switches on.
SURROGATE_CODES = {"fast_sigmoid": 0, "arctan": 1, "triangle": 2}


@njit(cache=True, nogil=True, inline="always")
def surrogate_derivative(x, kind, consts):  # pragma: no cover - compiled
    """``S'(x)`` of the surrogate ``kind`` (:data:`SURROGATE_CODES`); ``consts`` from :func:`lif_consts`."""
    scale, one, half_pi_scale, zero = consts[2], consts[3], consts[4], consts[5]
    if kind == 0:
        d = scale * abs(x) + one
        return one / (d * d)
    if kind == 1:
        u = half_pi_scale * x
        return scale / (one + one) / (one + u * u)
    return max(one - abs(x) / scale, zero)


def lif_consts(threshold: float, beta: float, scale: float, dtype) -> np.ndarray:
    """The constants the compiled loops read, in the layer's dtype (no float64 promotion)."""
    return np.array([threshold, beta, scale, 1.0, math.pi / 2 * scale, 0.0], dtype=dtype)


@njit(cache=True, nogil=True)
def _backward(mems, g_spk, g_mem, mask, keep, consts, kind, use_mask, use_keep, gx):  # pragma: no cover - compiled
    T, K = mems.shape
    thr, beta = consts[0], consts[1]
    for t in range(T - 1, -1, -1):
        for k in range(K):
            d = surrogate_derivative(mems[t, k] - thr, kind, consts)
            if use_mask:
                d = d * mask[t, k]
            v = g_mem[t, k] + g_spk[t, k] * d
            if t < T - 1:
                v += (keep[t + 1, k] if use_keep else beta) * gx[t + 1, k]
            gx[t, k] = v


def lif_backward(mems: np.ndarray, g_spk: np.ndarray, g_mem: np.ndarray, threshold: float,
                 beta: float, kind: str, scale: float, winners: np.ndarray | None = None,
                 keep: np.ndarray | None = None) -> np.ndarray:
    """Gradient w.r.t. the LIF input current of every step (see the module formula).

    Parameters
    ----------
    mems, g_spk, g_mem : ndarray [T, K], C-contiguous, one float dtype
        Membranes after the input of each step, and the gradients w.r.t. the spikes and
        membranes the layer returned.
    threshold, beta, scale : float
        Firing threshold, decay per step, surrogate sharpness.
    kind : {"fast_sigmoid", "arctan", "triangle"}
    winners : ndarray [T, K], optional
        k-WTA: the spikes (the gradient flows through the winners only).
    keep : ndarray [T, K], optional
        Reset to zero: ``beta * (1 - r_t)`` per step (``None``: reset by subtraction, ``beta``).

    Returns
    -------
    ndarray [T, K]
        ``dL/dx_t``; ``dL/dmem0`` is ``beta`` (or ``keep[0]``) times its first row.
    """
    if kind not in SURROGATE_CODES:
        raise ValueError(f"kind must be one of {tuple(SURROGATE_CODES)}, got {kind!r}")
    dtype = mems.dtype
    consts = lif_consts(threshold, beta, scale, dtype)
    empty = np.empty((0, 0), dtype=dtype)
    gx = np.empty_like(mems)
    _backward(mems, g_spk, g_mem, empty if winners is None else winners, empty if keep is None else keep,
              consts, SURROGATE_CODES[kind], winners is not None, keep is not None, gx)
    return gx
