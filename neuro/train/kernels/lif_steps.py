"""The LIF recursion forward and backward in compiled loops (numba), one step per call.

Forward (:func:`lif_step`, :func:`lif_forward`), snntorch ``Leaky`` semantics as
:func:`sparse_neuro.neuro.train.lif_layer.lif_sequence`; backward, the time recursion of the
membrane gradient:

.. math::

    \\bar m_t = \\bar m^{\\,out}_t + \\bar s_t\\, S'(m_t - \\vartheta)\\,[w_t]
               + k_{t+1} \\bar m_{t+1}

with ``k = beta`` (reset by subtraction) or ``k_t = beta (1 - r_t)`` (reset to zero), and
``w_t`` the winners' mask under k-WTA (:func:`lif_grad_step`, :func:`lif_backward`). In torch
this is a chain of whole-tensor operations per step (the surrogate's derivative alone is
five); here every step is one vectorised pass over the neurons that keeps nothing but its
result. The step functions work on 1-D slices, so the same code serves a whole layer
``[T, B*N]`` (:class:`sparse_neuro.neuro.train.lif_layer.LIF`, the dense path) and one sample of a
fused sparse layer (:mod:`sparse_neuro.neuro.train.kernels.fused_lif`). The surrogate derivatives
are those of :mod:`sparse_neuro.neuro.train.surrogate` (``fast_sigmoid``, ``arctan``, ``triangle``).
"""

from __future__ import annotations

import math

import numpy as np

from sparse_neuro.neuro.jit import njit

__all__ = [
    "SURROGATE_CODES",
    "lif_backward",
    "lif_consts",
    "lif_forward",
    "lif_grad_step",
    "lif_step",
    "surrogate_derivative",
]

#: :attr:`sparse_neuro.neuro.train.surrogate.SurrogateSpike.kind` -> the code the compiled loop
#: switches on.
SURROGATE_CODES = {"fast_sigmoid": 0, "arctan": 1, "triangle": 2}


# error_model="numpy": a float division raises no ZeroDivisionError (none can be zero here),
# so the loops that inline the surrogate derivative stay branch-free and vectorise (4x faster)
@njit(nogil=True, inline="always", error_model="numpy")
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


@njit(nogil=True)
def lif_step(cur, m_prev, s_prev, mem, spk, consts, reset_value):  # pragma: no cover - compiled
    """One step of ``K`` LIF neurons on 1-D slices: membranes ``mem`` and spikes ``spk`` from the
    previous step's ``m_prev``, ``s_prev`` (the reset) and the input ``cur``.

    The operation order of :func:`sparse_neuro.neuro.train.lif_layer.lif_sequence`'s torch loop
    (snntorch's ``Leaky``), so the results are equal to the last bit. A function of its own over
    whole slices from 0, branch-free, so that LLVM vectorises it (the neurons are the SIMD lanes).
    """
    thr, beta, one, zero = consts[0], consts[1], consts[3], consts[5]
    for k in range(cur.shape[0]):
        if reset_value:  # loop-invariant: LLVM unswitches it
            mt = (one - s_prev[k]) * m_prev[k] * beta + cur[k]
        else:
            mt = m_prev[k] * beta + cur[k] - thr * s_prev[k]
        mem[k] = mt
        spk[k] = one if mt > thr else zero


@njit(nogil=True)
def lif_forward(cur, mem0, consts, reset_value, spikes, mems):  # pragma: no cover - compiled
    """:func:`lif_step` over the rows of ``cur`` [T, K] from the membrane ``mem0`` [K]."""
    s0 = (mem0 > consts[0]).astype(mem0.dtype)  # snntorch: reset from the initial membrane
    lif_step(cur[0], mem0, s0, mems[0], spikes[0], consts, reset_value)
    for t in range(1, cur.shape[0]):
        lif_step(cur[t], mems[t - 1], spikes[t - 1], mems[t], spikes[t], consts, reset_value)


@njit(nogil=True, error_model="numpy")
def lif_grad_step(
    mem, g_spk, g_mem, win, reset, nxt, consts, kind, out
):  # pragma: no cover - compiled
    """One step of the membrane gradient on 1-D slices (the module formula):
    ``out = g_mem + g_spk S'(mem - thr) win + k nxt`` with ``k = beta (1 - reset)``, or ``beta``.

    ``None`` for ``g_spk``, ``g_mem``, ``nxt``: zero; ``win``: one; ``reset``: reset by
    subtraction. numba compiles a version per combination (the ``None`` branches are pruned),
    so the loop stays branch-free and vectorised.
    """
    thr, beta, one, zero = consts[0], consts[1], consts[3], consts[5]
    for k in range(out.shape[0]):
        v = zero
        if g_spk is not None:
            d = surrogate_derivative(mem[k] - thr, kind, consts)
            if win is not None:
                d = d * win[k]
            v = g_spk[k] * d
        if g_mem is not None:
            v = g_mem[k] + v
        if nxt is not None:
            if reset is not None:
                v += (one - reset[k]) * beta * nxt[k]
            else:
                v += beta * nxt[k]
        out[k] = v


#: Neurons per column block of :func:`lif_backward`: the block's rows of every array stay in L1/L2.
_COLUMNS = 2048


@njit(nogil=True, inline="always")
def _row(a, t, k0, k1):  # pragma: no cover - compiled
    """``a[t, k0:k1]``, or ``None`` for ``a`` None (resolved at compile time)."""
    if a is None:
        return None
    return a[t, k0:k1]


@njit(nogil=True, error_model="numpy")
def _backward(mems, g_spk, g_mem, win, resets, consts, kind, gx):  # pragma: no cover - compiled
    T, K = mems.shape
    for k0 in range(0, K, _COLUMNS):
        k1 = min(k0 + _COLUMNS, K)
        t = T - 1
        lif_grad_step(
            mems[t, k0:k1],
            _row(g_spk, t, k0, k1),
            _row(g_mem, t, k0, k1),
            _row(win, t, k0, k1),
            None,
            None,
            consts,
            kind,
            gx[t, k0:k1],
        )
        for t in range(T - 2, -1, -1):
            lif_grad_step(
                mems[t, k0:k1],
                _row(g_spk, t, k0, k1),
                _row(g_mem, t, k0, k1),
                _row(win, t, k0, k1),
                _row(resets, t + 1, k0, k1),
                gx[t + 1, k0:k1],
                consts,
                kind,
                gx[t, k0:k1],
            )


def lif_backward(
    mems: np.ndarray,
    g_spk: np.ndarray | None,
    g_mem: np.ndarray | None,
    threshold: float,
    beta: float,
    kind: str,
    scale: float,
    winners: np.ndarray | None = None,
    resets: np.ndarray | None = None,
) -> np.ndarray:
    """Gradient w.r.t. the LIF input current of every step (see the module formula).

    Parameters
    ----------
    mems : ndarray [T, K], C-contiguous
        Membranes after the input of each step.
    g_spk, g_mem : ndarray [T, K] or None
        Gradients w.r.t. the spikes and membranes the layer returned (``None``: zero).
    threshold, beta, scale : float
        Firing threshold, decay per step, surrogate sharpness.
    kind : {"fast_sigmoid", "arctan", "triangle"}
    winners : ndarray [T, K], optional
        k-WTA: the spikes (the gradient flows through the winners only).
    resets : ndarray [T, K], optional
        Reset to zero: the reset ``r_t`` of each step (0 or 1), ``k_t = beta (1 - r_t)``
        (``None``: reset by subtraction, ``k_t = beta``).

    Returns
    -------
    ndarray [T, K]
        ``dL/dx_t``; ``dL/dmem0`` is ``k_0`` times its first row.
    """
    if kind not in SURROGATE_CODES:
        raise ValueError(f"kind must be one of {tuple(SURROGATE_CODES)}, got {kind!r}")
    consts = lif_consts(threshold, beta, scale, mems.dtype)
    gx = np.empty_like(mems)
    _backward(mems, g_spk, g_mem, winners, resets, consts, SURROGATE_CODES[kind], gx)
    return gx
