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

* :func:`fused_forward` transposes the sample's current trains to steps x neurons and runs
  the LIF steps with the neurons as vector lanes (:func:`neuro.lif_kernels.lif_step`, the
  step the dense path's :class:`neuro.layers.LIF` runs too), by blocks of neurons that stay
  in L1; it returns spikes and membranes, and the spikes as bits for the next fused layer
  (no second pass over them).
* :func:`fused_backward` runs back-propagation through time per sample: the membrane
  gradient ``delta_t = g^mem_t + g^spk_t S'(m_t - theta) + k_{t+1} delta_{t+1}`` step by
  step over the neurons (:func:`neuro.lif_kernels.lif_grad_step`, as the dense path), then
  transposed back to trains, then the weight gradient at the existing synapses
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

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from neuro.lif_kernels import lif_grad_step, lif_step

__all__ = ["LANES", "N_PARTS", "Neurons", "Synapses", "chunks", "count_active_inputs", "spike_bits",
           "fused_forward", "fused_backward"]

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
#: Neurons per block of the LIF steps of a sample: their current, membrane and spike rows over
#: all steps stay in L1.
LIF_BLOCK = 128


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
def _trains(x, bits, b, indptr, trains, active):  # pragma: no cover - compiled
    """Trains ``trains[i, t] = x[t, b, i]`` of the inputs of sample ``b`` that are non-zero at
    some step and have synapses (rows of ``indptr``); returns how many, listed in ``active``
    in ascending order."""
    T, _, I = x.shape
    n = 0
    if bits.shape[0]:  # spikes: only the active inputs' rows, from their bits
        for i in range(I):  # branch-free compaction
            active[n] = i
            n += (bits[b, i] != 0) & (indptr[i + 1] > indptr[i])
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
        n += any_[i] & (indptr[i + 1] > indptr[i])
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


def chunks(indptr: np.ndarray, cols: np.ndarray, n_out: int) -> np.ndarray:
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


class Synapses(NamedTuple):
    """The CSR of ``W`` as the kernels read it: rows ``indptr`` [I + 1], output chunks
    (:func:`chunks`) [I, n + 1], columns ``cols`` and weights ``w`` [nnz]."""

    indptr: np.ndarray
    chunks: np.ndarray
    cols: np.ndarray
    w: np.ndarray


class Neurons(NamedTuple):
    """The LIF constants the kernels read: :func:`neuro.lif_kernels.lif_consts`, the surrogate
    code (:data:`neuro.lif_kernels.SURROGATE_CODES`), reset to 0 (``True``) or by subtraction."""

    consts: np.ndarray
    kind: int
    reset_value: bool


@njit(cache=True, nogil=True, inline="always")
def _at(a, t, b, k0, k1):  # pragma: no cover - compiled
    """``a[t, b, k0:k1]``, or ``None`` for ``a`` None (resolved at compile time)."""
    if a is None:
        return None
    return a[t, b, k0:k1]


@njit(cache=True, nogil=True)
def _transpose(src, dst, n_rows, n_cols):  # pragma: no cover - compiled
    """``dst[c, r] = src[r, c]`` for ``r < n_rows``, ``c < n_cols``, by blocks of columns whose
    rows stay in L1 (steps <-> neurons between the synapse loops and the LIF steps)."""
    for c0 in range(0, n_cols, _BLOCK):
        c1 = min(c0 + _BLOCK, n_cols)
        for r in range(n_rows):
            for c in range(c0, c1):
                dst[c, r] = src[r, c]


@njit(cache=True, nogil=True, error_model="numpy")
def _sample_forward(x, bits, b, syn, bias, lif, work, spikes, mems, out_bits):  # pragma: no cover - compiled
    """Current trains of sample ``b`` over the synapses of its active inputs, then the LIF steps."""
    trains, active, cur, cur_t, zeros = work
    T, O = spikes.shape[0], spikes.shape[2]
    lanes = trains.shape[1]
    chunks, cols, w = syn.chunks, syn.cols, syn.w
    n_active = _trains(x, bits, b, syn.indptr, trains, active)
    cur[:] = 0
    for ch in range(chunks.shape[1] - 1):  # the chunk's current trains stay in L1
        for a in range(n_active):
            i = active[a]
            for s in range(chunks[i, ch], chunks[i, ch + 1]):
                c, ws = cols[s], w[s]
                for t in range(lanes):
                    cur[c, t] += ws * trains[i, t]
    _transpose(cur, cur_t, O, T)
    if bias is not None:  # after the sum, as the unfused path adds it: equal to the last bit
        for t in range(T):
            for k in range(O):
                cur_t[t, k] += bias[k]
    # the time loop of neuro.lif_kernels.lif_forward from a zero membrane, on this sample's
    # rows, by blocks of neurons whose rows over all steps stay in L1
    consts, reset_value = lif.consts, lif.reset_value
    for k0 in range(0, O, LIF_BLOCK):
        k1 = min(k0 + LIF_BLOCK, O)
        lif_step(cur_t[0, k0:k1], zeros[k0:k1], zeros[k0:k1], mems[0, b, k0:k1], spikes[0, b, k0:k1],
                 consts, reset_value)
        for t in range(1, T):
            lif_step(cur_t[t, k0:k1], mems[t - 1, b, k0:k1], spikes[t - 1, b, k0:k1], mems[t, b, k0:k1],
                     spikes[t, b, k0:k1], consts, reset_value)
    if out_bits.shape[0]:  # the next layer's input as bits, while the spikes are in cache
        ob = out_bits[b]
        for t in range(T):
            st = spikes[t, b]
            for k in range(O):
                ob[k] |= np.uint32(st[k]) << np.uint32(t)


@njit(cache=True, nogil=True, parallel=True)
def _forward(x, bits, syn, bias, lif, spikes, mems, out_bits):  # pragma: no cover - compiled
    T, B, O = spikes.shape
    I = syn.chunks.shape[0]
    lanes = -(-T // LANES) * LANES
    n_parts = min(N_PARTS, B)
    for part in prange(n_parts):
        work = (np.zeros((I, lanes), syn.w.dtype),  # trains; the padding steps stay 0
                np.empty(I, np.int64), np.empty((O, lanes), syn.w.dtype), np.empty((T, O), syn.w.dtype),
                np.zeros(O, syn.w.dtype))
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            _sample_forward(x, bits, b, syn, bias, lif, work, spikes, mems, out_bits)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _backward(x, bits, syn, lif, mems, resets, g_spk, g_mem, gx, gw_parts, gb_parts):  # pragma: no cover - compiled
    """``resets``: the spikes under reset to 0 (``r_{t+1} = s_t``), ``None`` under subtraction;
    ``gx`` (input gradient) and ``gb_parts`` (bias) ``None`` when not asked for."""
    T, B, O = mems.shape
    indptr, chunks, cols, w = syn
    I = indptr.size - 1
    consts, kind = lif.consts, lif.kind
    lanes = -(-T // LANES) * LANES
    n_parts = gw_parts.shape[0]
    for part in prange(n_parts):
        gw = gw_parts[part]
        trains = np.zeros((I, lanes), mems.dtype)
        active = np.empty(I, np.int64)
        delta = np.zeros((O, lanes), mems.dtype)  # the padding steps stay 0
        delta_t = np.empty((T, O), mems.dtype)
        g = np.empty((_BLOCK, lanes), mems.dtype)
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            # the time loop of neuro.lif_kernels.lif_backward on this sample's rows
            for k0 in range(0, O, LIF_BLOCK):
                k1 = min(k0 + LIF_BLOCK, O)
                t = T - 1
                lif_grad_step(mems[t, b, k0:k1], _at(g_spk, t, b, k0, k1), _at(g_mem, t, b, k0, k1), None,
                              None, None, consts, kind, delta_t[t, k0:k1])
                for t in range(T - 2, -1, -1):
                    lif_grad_step(mems[t, b, k0:k1], _at(g_spk, t, b, k0, k1), _at(g_mem, t, b, k0, k1), None,
                                  _at(resets, t, b, k0, k1), delta_t[t + 1, k0:k1], consts, kind, delta_t[t, k0:k1])
            if gb_parts is not None:
                gb = gb_parts[part]
                for t in range(T):
                    for k in range(O):
                        gb[k] += delta_t[t, k]
            _transpose(delta_t, delta, T, O)
            n_active = _trains(x, bits, b, syn.indptr, trains, active)
            for ch in range(chunks.shape[1] - 1):  # the chunk's gradient trains stay in L1
                for a in range(n_active):
                    i = active[a]
                    for s in range(chunks[i, ch], chunks[i, ch + 1]):
                        gw[s] += _dot(trains, i, delta, cols[s])
            if gx is not None:
                for i0 in range(0, I, _BLOCK):  # by blocks of inputs: whole cache lines of gx
                    i1 = min(i0 + _BLOCK, I)
                    g[:] = 0
                    for i in range(i0, i1):
                        for s in range(indptr[i], indptr[i + 1]):
                            c, ws = cols[s], w[s]
                            for t in range(lanes):
                                g[i - i0, t] += ws * delta[c, t]
                    for t in range(T):
                        for i in range(i0, i1):
                            gx[t, b, i] = g[i - i0, t]


def fused_forward(x: np.ndarray, bits: np.ndarray, syn: Synapses, bias: np.ndarray | None,
                  lif: Neurons, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spikes and membranes [T, B, O] of the layer (see the module docstring), and the spikes
    as :func:`spike_bits` (what the next fused layer reads; empty beyond 32 steps).

    Parameters
    ----------
    x : ndarray [T, B, I]
        The input (C-contiguous, the weights' dtype).
    bits : ndarray
        :func:`spike_bits` of ``x``.
    syn : Synapses
        The CSR of ``W`` over the ``I`` inputs (:class:`Synapses`).
    bias : ndarray [O] or None
    lif : Neurons
        LIF constants in the weights' dtype.
    n_out : int
        ``O``.
    """
    T, B, _ = x.shape
    dtype = syn.w.dtype
    spikes = np.empty((T, B, n_out), dtype)
    mems = np.empty((T, B, n_out), dtype)
    out_bits = np.zeros((B if T <= 32 else 0, n_out), np.uint32)
    _forward(x, bits, syn, bias, lif, spikes, mems, out_bits)
    return spikes, mems, out_bits


def fused_backward(x: np.ndarray, bits: np.ndarray, syn: Synapses, lif: Neurons, mems: np.ndarray,
                   spikes: np.ndarray, g_spk: np.ndarray | None, g_mem: np.ndarray | None,
                   need_gx: bool, need_gb: bool) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients w.r.t. the input [T, B, I] (or ``None``), the synapses [nnz] and the bias [O].

    ``g_spk``, ``g_mem`` [T, B, O] are the gradients w.r.t. the returned spikes and
    membranes (``None``: zero); the other arguments are those of :func:`fused_forward` and
    its results.
    """
    T, B, O = mems.shape
    dtype = mems.dtype
    n_parts = min(N_PARTS, B)
    gx = np.empty(x.shape, dtype) if need_gx else None
    gw_parts = np.zeros((n_parts, syn.w.size), dtype)
    gb_parts = np.zeros((n_parts, O), dtype) if need_gb else None
    _backward(x, bits, syn, lif, mems, spikes if lif.reset_value else None, g_spk, g_mem, gx,
              gw_parts, gb_parts)
    gw = gw_parts[0]
    for part in range(1, n_parts):  # fixed order: the same sums for any number of threads
        gw += gw_parts[part]
    gb = gb_parts.sum(0) if need_gb else None
    return gx, gw, gb
