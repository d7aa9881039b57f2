"""A sparse projection followed by LIF neurons, all ``T`` steps in one compiled call (numba).

The layer maps inputs ``x`` [T, B, I] (spikes, or any values) through a CSR synaptic matrix
``W`` (``indptr``, ``cols``, ``w``; rows are the ``I`` presynaptic neurons) into ``O`` LIF
neurons (:func:`neuro.layers.lif_sequence` semantics, initial membrane 0, no k-WTA).

The projection has no recurrence, so each sample's input current is computed for all steps
at once, with the steps as the vector lanes: every input that spiked at least once in the
sample adds its spike train (``T`` values) times the weight of each of its existing synapses
to the current train of the postsynaptic neuron. A spike train of a rate-coded input holds
many spikes, so one vector operation serves many spike events, and a silent input (most of
them, in sparse activity) costs nothing. Then:

* :func:`fused_forward` runs the LIF recursion over the steps (membrane update, threshold,
  reset) and returns spikes and membranes.
* :func:`fused_backward` runs back-propagation through time per sample: the membrane
  gradient ``delta_t = g^mem_t + g^spk_t S'(m_t - theta) + k_{t+1} delta_{t+1}`` (as
  :func:`neuro.lif_kernels.lif_backward`), then the weight gradient at the existing synapses
  of the inputs that spiked, ``dL/dw[s] = sum_t x[t, b, pre(s)] delta_t[b, post(s)]`` (a dot
  product of two trains), and when asked the input gradient
  ``dL/dx[t, b, i] = sum_s w[s] delta_t[b, post(s)]`` over all synapses of ``i`` (the
  surrogate gradient reaches silent inputs too).

Work is ``active inputs * fan-out * T / lanes`` per sample instead of ``T * I * O``. Samples
run in parallel (``numba.prange``); the weight gradient is summed in :data:`N_PARTS` fixed
parts of the batch, each into its own buffer, added in a fixed order, so that no result
depends on the number of threads. The current is summed input by input in ascending order,
as the event kernel (:mod:`neuro.event_kernels`) does, so spikes and membranes equal that
path's to the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuro.lif_kernels import surrogate_derivative

__all__ = ["LANES", "N_PARTS", "count_active_inputs", "spike_bits", "fused_forward", "fused_backward"]

#: Fixed number of batch parts of the backward pass (parallel units, one gradient buffer each).
N_PARTS = 4
#: Steps are padded to a multiple of this (the vector width, AVX-512 float32 lanes).
LANES = 16
#: Outputs per chunk of the synapse loops: 256 trains of 32 float32 steps (32 KiB) stay in L1.
OUT_CHUNK = 256
#: ... unless a row would have fewer synapses than this per chunk (the loop overhead wins).
MIN_CHUNK_FAN_OUT = 16
#: Neurons per block of the (step <-> neuron) transposes, so that a block's trains stay in L1.
_BLOCK = 16


@njit(cache=True, nogil=True)
def count_active_inputs(x):  # pragma: no cover - compiled
    """Number of (sample, input) pairs of ``x`` [T, B, I] that are non-zero at some step."""
    T, B, I = x.shape
    active = np.zeros((B, I), np.bool_)
    for t in range(T):
        for b in range(B):
            for i in range(I):
                active[b, i] |= x[t, b, i] != 0
    return np.count_nonzero(active)


@njit(cache=True, nogil=True)
def spike_bits(x):  # pragma: no cover - compiled
    """Spike trains of ``x`` [T, B, I] as bits, ``[B, I]`` uint32 (bit ``t``: a spike at step ``t``).

    Empty ``(0, 0)`` when ``x`` is not a spike train (a value other than 0 and 1) or has more
    than 32 steps; the kernels then read ``x`` itself.
    """
    T, B, I = x.shape
    bits = np.zeros((B, I), np.uint32)
    if T > 32:
        return bits[:0]
    other = False
    for t in range(T):
        for b in range(B):
            for i in range(I):
                v = x[t, b, i]
                bits[b, i] |= np.uint32(v != 0) << np.uint32(t)
                other |= (v != 0) & (v != 1)
    return bits[:0] if other else bits


@njit(cache=True, nogil=True, inline="always")
def _trains(x, bits, b, trains, active):  # pragma: no cover - compiled
    """Trains ``trains[i, t] = x[t, b, i]`` of the inputs of sample ``b`` that are non-zero at
    some step; returns how many, listed in ``active`` in ascending order."""
    T, _, I = x.shape
    n = 0
    if bits.shape[0]:  # spikes: only the active inputs' rows, from their bits
        for i in range(I):  # branch-free compaction
            active[n] = i
            n += bits[b, i] != 0
        for a in range(n):
            i = active[a]
            v = bits[b, i]
            for t in range(T):
                trains[i, t] = (v >> np.uint32(t)) & np.uint32(1)
        return n
    any_ = np.zeros(I, np.bool_)
    for i0 in range(0, I, _BLOCK):  # transpose by blocks that stay in L1
        i1 = min(i0 + _BLOCK, I)
        for t in range(T):
            for i in range(i0, i1):
                v = x[t, b, i]
                trains[i, t] = v
                any_[i] |= v != 0
    for i in range(I):
        active[n] = i
        n += any_[i]
    return n


@njit(cache=True, nogil=True)
def _chunk_rows(indptr, cols, width, n):  # pragma: no cover - compiled
    I = indptr.size - 1
    out = np.empty((I, n + 1), np.int64)
    for i in range(I):
        s = indptr[i]
        for c in range(n):
            out[i, c] = s
            while s < indptr[i + 1] and cols[s] < (c + 1) * width:
                s += 1
        out[i, n] = indptr[i + 1]
    return out


def _chunks(indptr: np.ndarray, cols: np.ndarray, n_out: int) -> np.ndarray:
    """``[I, n + 1]``: row ``i``'s synapses onto chunk ``c`` of the outputs are
    ``chunks[i, c]:chunks[i, c + 1]`` (the columns of a row are sorted).

    Chunks of at most :data:`OUT_CHUNK` outputs keep the trains a synapse loop updates in L1,
    but each costs a loop per active input: no more chunks than leave
    :data:`MIN_CHUNK_FAN_OUT` synapses per row and chunk on average.
    """
    I = indptr.size - 1
    fan_out = (indptr[-1] - indptr[0]) / max(I, 1)
    n = max(1, min(-(-n_out // OUT_CHUNK), int(fan_out // MIN_CHUNK_FAN_OUT)))
    return _chunk_rows(indptr, cols, -(-n_out // n), n)


@njit(cache=True, nogil=True, fastmath={"reassoc"})
def _dot(a, i, b, j):  # pragma: no cover - compiled
    """``a[i] . b[j]``, summed in any order (a vectorised reduction; strict order is scalar)."""
    acc = a.dtype.type(0)
    for t in range(a.shape[1]):
        acc += a[i, t] * b[j, t]
    return acc


@njit(cache=True, nogil=True)
def _sample_forward(x, bits, b, chunks, cols, w, bias, use_bias, consts, reset_value, trains,
                    active, cur, spikes, mems):  # pragma: no cover - compiled
    """Current trains of sample ``b`` over the synapses of its active inputs, then LIF."""
    T, O = spikes.shape[0], spikes.shape[2]
    lanes = trains.shape[1]
    thr, beta, one, zero = consts[0], consts[1], consts[3], consts[5]
    n_active = _trains(x, bits, b, trains, active)
    cur[:] = zero
    for ch in range(chunks.shape[1] - 1):  # the chunk's current trains stay in L1
        for a in range(n_active):
            i = active[a]
            for s in range(chunks[i, ch], chunks[i, ch + 1]):
                c, ws = cols[s], w[s]
                for t in range(lanes):
                    cur[c, t] += ws * trains[i, t]
    m = np.zeros(O, w.dtype)
    prev = np.zeros(O, w.dtype)  # a zero initial membrane is below the threshold (> 0)
    for k0 in range(0, O, _BLOCK):  # neurons by blocks whose current trains stay in L1
        for t in range(T):
            for k in range(k0, min(k0 + _BLOCK, O)):
                c = cur[k, t] + bias[k] if use_bias else cur[k, t]
                # the operation order of neuro.layers.lif_sequence: equal to the last bit
                if reset_value:
                    mt = (one - prev[k]) * m[k] * beta + c
                else:
                    mt = m[k] * beta + c - thr * prev[k]
                m[k] = mt
                mems[t, b, k] = mt
                prev[k] = one if mt > thr else zero
                spikes[t, b, k] = prev[k]


@njit(cache=True, nogil=True, parallel=True)
def _forward(x, bits, chunks, cols, w, bias, use_bias, consts, reset_value, lanes, spikes,
             mems):  # pragma: no cover - compiled
    B, O = spikes.shape[1:]
    I = chunks.shape[0]
    n_parts = min(N_PARTS, B)
    for part in prange(n_parts):
        trains = np.zeros((I, lanes), w.dtype)  # the padding steps stay 0
        active = np.empty(I, np.int64)
        cur = np.empty((O, lanes), w.dtype)
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            _sample_forward(x, bits, b, chunks, cols, w, bias, use_bias, consts, reset_value, trains,
                            active, cur, spikes, mems)


@njit(cache=True, nogil=True, parallel=True)
def _backward(x, bits, indptr, chunks, cols, w, mems, spikes, g_spk, g_mem, use_gspk, use_gmem,
              consts, kind, reset_value, need_gx, use_bias, lanes, gx, gw_parts,
              gb_parts):  # pragma: no cover - compiled
    T, B, O = mems.shape
    I = indptr.size - 1
    thr, beta, one, zero = consts[0], consts[1], consts[3], consts[5]
    n_parts = gw_parts.shape[0]
    for part in prange(n_parts):
        gw = gw_parts[part]
        gb = gb_parts[part]
        trains = np.zeros((I, lanes), mems.dtype)
        active = np.empty(I, np.int64)
        delta = np.zeros((O, lanes), mems.dtype)  # the padding steps stay 0
        g = np.empty((_BLOCK, lanes), mems.dtype)
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            for k0 in range(0, O, _BLOCK):  # neurons by blocks whose trains stay in L1
                for t in range(T - 1, -1, -1):
                    for k in range(k0, min(k0 + _BLOCK, O)):
                        v = g_mem[t, b, k] if use_gmem else zero
                        if use_gspk:
                            v += g_spk[t, b, k] * surrogate_derivative(mems[t, b, k] - thr, kind, consts)
                        if t < T - 1:
                            # dm_{t+1}/dm_t: beta, or beta (1 - r_{t+1}) with r_{t+1} = s_t
                            v += (beta * (one - spikes[t, b, k]) if reset_value else beta) * delta[k, t + 1]
                        delta[k, t] = v
                        if use_bias:
                            gb[k] += v
            n_active = _trains(x, bits, b, trains, active)
            for ch in range(chunks.shape[1] - 1):  # the chunk's gradient trains stay in L1
                for a in range(n_active):
                    i = active[a]
                    for s in range(chunks[i, ch], chunks[i, ch + 1]):
                        gw[s] += _dot(trains, i, delta, cols[s])
            if need_gx:
                for i0 in range(0, I, _BLOCK):  # by blocks of inputs: whole cache lines of gx
                    i1 = min(i0 + _BLOCK, I)
                    g[:] = zero
                    for i in range(i0, i1):
                        for s in range(indptr[i], indptr[i + 1]):
                            c, ws = cols[s], w[s]
                            for t in range(lanes):
                                g[i - i0, t] += ws * delta[c, t]
                    for t in range(T):
                        for i in range(i0, i1):
                            gx[t, b, i] = g[i - i0, t]


def _lanes(n_steps: int) -> int:
    return -(-n_steps // LANES) * LANES


def fused_forward(x: np.ndarray, bits: np.ndarray, indptr: np.ndarray, cols: np.ndarray, w: np.ndarray,
                  bias: np.ndarray | None, consts: np.ndarray, reset_value: bool,
                  n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Spikes and membranes [T, B, O] of the layer (see the module docstring).

    Parameters
    ----------
    x : ndarray [T, B, I]
        The input (C-contiguous, ``w``'s dtype).
    bits : ndarray
        :func:`spike_bits` of ``x``.
    indptr, cols, w : ndarray
        CSR of ``W`` over the ``I`` inputs (``I + 1``, ``nnz``, ``nnz``).
    bias : ndarray [O] or None
    consts : ndarray
        :func:`neuro.lif_kernels.lif_consts` (threshold, beta, surrogate scale) in ``w``'s dtype.
    reset_value : bool
        Reset to 0 (``True``) or by subtraction of the threshold.
    n_out : int
        ``O``.
    """
    T, B, _ = x.shape
    spikes = np.empty((T, B, n_out), w.dtype)
    mems = np.empty((T, B, n_out), w.dtype)
    use_bias = bias is not None
    _forward(x, bits, _chunks(indptr, cols, n_out), cols, w,
             bias if use_bias else np.empty(0, w.dtype), use_bias, consts, reset_value, _lanes(T),
             spikes, mems)
    return spikes, mems


def fused_backward(x: np.ndarray, bits: np.ndarray, indptr: np.ndarray, cols: np.ndarray,
                   w: np.ndarray, mems: np.ndarray, spikes: np.ndarray, g_spk: np.ndarray | None,
                   g_mem: np.ndarray | None, consts: np.ndarray, kind: int, reset_value: bool,
                   need_gx: bool, need_gb: bool
                   ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients w.r.t. the input [T, B, I] (or ``None``), the synapses [nnz] and the bias [O].

    ``g_spk``, ``g_mem`` [T, B, O] are the gradients w.r.t. the returned spikes and
    membranes (``None``: zero); ``kind`` is a :data:`neuro.lif_kernels.SURROGATE_CODES` value;
    the other arguments are those of :func:`fused_forward` and its results.
    """
    T, B, O = mems.shape
    dtype = mems.dtype
    n_parts = min(N_PARTS, B)
    empty = np.empty((0, 0, 0), dtype)
    gx = np.empty(x.shape, dtype) if need_gx else empty
    gw_parts = np.zeros((n_parts, w.size), dtype)
    gb_parts = np.zeros((n_parts, O if need_gb else 0), dtype)
    _backward(x, bits, indptr, _chunks(indptr, cols, O), cols, w, mems, spikes,
              empty if g_spk is None else g_spk, empty if g_mem is None else g_mem,
              g_spk is not None, g_mem is not None, consts, kind, reset_value, need_gx, need_gb,
              _lanes(T), gx, gw_parts, gb_parts)
    gw = gw_parts[0]
    for part in range(1, n_parts):  # fixed order: the same sums for any number of threads
        gw += gw_parts[part]
    gb = gb_parts.sum(0) if need_gb else None
    return (gx if need_gx else None), gw, gb
