"""A sparse projection followed by LIF neurons, all ``T`` steps in one compiled call (numba).

The layer maps inputs ``x`` [T, B, I] (spikes, or any values) through a CSR synaptic matrix
``W`` (``indptr``, ``cols``, ``w``; rows are the ``I`` presynaptic neurons) into ``O`` LIF
neurons (:func:`sparse_neuro.neuro.train.lif_layer.lif_sequence` semantics, initial membrane 0, no
k-WTA).

The projection has no recurrence, so each sample's input current is computed for all steps
at once, with the steps as the vector lanes: every input that spiked at least once in the
sample adds its spike train (``T`` values) times the weight of each of its existing synapses
to the current train of the postsynaptic neuron. A spike train of a rate-coded input holds
many spikes, so one vector operation serves many spike events, and a silent input (most of
them, in sparse activity) costs nothing. Then:

* :func:`fused_forward` runs the LIF steps by blocks of 16 neurons in registers
  (:func:`sparse_neuro.neuro.train.kernels.simd.lif_tile`: a 16 x 16 tile of the current trains
  transposed to steps x neurons, then the operations of
  :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_step`, the step the dense path's
  :class:`sparse_neuro.neuro.train.lif_layer.LIF` runs, in its order); it returns spikes and
  membranes, and the spikes as bits for the next fused layer (from the registers, no second pass).
* :func:`fused_backward` runs back-propagation through time per sample: the membrane
  gradient ``delta_t = g^mem_t + g^spk_t S'(m_t - theta) + k_{t+1} delta_{t+1}`` step by
  step, by blocks of 16 neurons in registers
  (:func:`sparse_neuro.neuro.train.kernels.simd.lif_grad_tile`, the operations of
  :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_grad_step`), stored as trains; then the
  weight gradient at the existing synapses of the inputs that spiked,
  ``dL/dw[s] = sum_t x[t, b, pre(s)] delta_t[b, post(s)]`` (a dot product of two trains), and when
  asked the input gradient ``dL/dx[t, b, i] = sum_s w[s] delta_t[b, post(s)]`` over all synapses of
  ``i`` (the surrogate gradient reaches silent inputs too).

The backward pass skips the neurons whose membrane gradient is zero at every step (no
gradient reaches their spikes or membranes: :func:`live_neurons`, or ``live`` given by the
layer above, e.g. the hidden neurons without a synapse onto a sparse readout): it runs on their
membranes and on the synapses onto them (:func:`restrict`), and can return the input gradient
for the inputs with such synapses only (``gx_rows``), which is what the layer below then takes.
The forward pass of a hidden layer stores the membranes of the neurons with synapses onto the
next layer only (``keep_mems``; at 2% density 175 of 1000), the others are gathered or
computed again. The same operations on the same values: the same results.

Work is ``active inputs * fan-out * T / lanes`` per sample instead of ``T * I * O``. Samples
run in parallel (``numba.prange``); the weight gradient is summed in :data:`N_PARTS` fixed
parts of the batch, each into its own buffer, added in a fixed order, so that no result
depends on the number of threads. The current is summed input by input in ascending order,
as the event kernel (:mod:`sparse_neuro.neuro.train.kernels.event_products`) does, so spikes and
membranes equal that path's to the last bit.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from sparse_neuro.neuro.jit import njit
from sparse_neuro.neuro.train.kernels.lif_steps import lif_grad_step, lif_step
from sparse_neuro.neuro.train.kernels.simd import (
    WIDTH,
    axpy_row,
    dot_row,
    lif_grad_tile,
    lif_tile,
    scatter_row,
)

__all__ = [
    "COMPACT_BELOW",
    "LANES",
    "N_PARTS",
    "Neurons",
    "Synapses",
    "chunks",
    "count_active_inputs",
    "fused_backward",
    "fused_forward",
    "live_neurons",
    "restrict",
    "spike_bits",
]

#: Fixed number of batch parts of the backward pass (parallel units, one gradient buffer each).
N_PARTS = 4
#: Steps are padded to a multiple of this (the vector width, AVX-512 float32 lanes).
LANES = WIDTH
#: Outputs per chunk of the synapse loops: 256 trains of 32 float32 steps (32 KiB) stay in L1.
OUT_CHUNK = 256
#: ... unless a row would have fewer synapses than this per chunk (the loop overhead wins).
MIN_CHUNK_FAN_OUT = 16
#: Inputs per block of the transpose of an analog input to trains, so that a block stays in L1.
_BLOCK = 16


@njit(nogil=True)
def count_active_inputs(x):  # pragma: no cover - compiled
    """Number of (sample, input) pairs of ``x`` [T, B, I] that are non-zero at some step."""
    T, B, I = x.shape
    active = np.zeros((B, I), np.bool_)
    for t in range(T):
        for b in range(B):
            for i in range(I):
                active[b, i] |= x[t, b, i] != 0
    return np.count_nonzero(active)


@njit(nogil=True)
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


@njit(nogil=True, inline="always")
def _trains(x, bits, b, indptr, trains, active, any_):  # pragma: no cover - compiled
    """Trains ``trains[i, t] = x[t, b, i]`` of the inputs of sample ``b`` that are non-zero at
    some step and have synapses (rows of ``indptr``); returns how many, listed in ``active``
    in ascending order. ``any_``: work array [I] (bool)."""
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
    any_[:] = False
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


@njit(nogil=True)
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


class Synapses(NamedTuple):
    """The CSR of ``W`` as the kernels read it: rows ``indptr`` [I + 1], output chunks
    (:func:`chunks`) [I, n + 1], columns ``cols`` and weights ``w`` [nnz]."""

    indptr: np.ndarray
    chunks: np.ndarray
    cols: np.ndarray
    w: np.ndarray


class Neurons(NamedTuple):
    """The LIF constants the kernels read:
    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_consts`, the surrogate code
    (:data:`sparse_neuro.neuro.train.kernels.lif_steps.SURROGATE_CODES`), reset to 0 (``True``) or
    by subtraction."""

    consts: np.ndarray
    kind: int
    reset_value: bool


# Per-sample kernels allocate nothing and only borrow arrays, so they run without reference
# counting: numba otherwise counts a reference (an atomic operation, which waits for the
# pending stores) for every array they pass on.
_sample_kernel = njit(nogil=True, error_model="numpy", _nrt=False)


@_sample_kernel
def _sample_forward(
    x, bits, b, syn, bias, lif, work, spikes, mems, keep, out_bits, rec, rwork
):  # pragma: no cover - compiled
    """Current trains of sample ``b`` over the synapses of its active inputs, then the LIF steps
    of every block of 16 neurons in registers
    (:func:`sparse_neuro.neuro.train.kernels.simd.lif_tile`), which leave the current trains zeroed
    for the next sample."""
    trains, active, cur, any_ = work
    T = x.shape[0]
    B, O = x.shape[1], spikes.shape[1]
    chunks, cols, w = syn.chunks, syn.cols, syn.w
    n_active = _trains(x, bits, b, syn.indptr, trains, active, any_)
    for ch in range(chunks.shape[1] - 1):  # the chunk's current trains stay in L1
        for a in range(n_active):
            i = active[a]
            scatter_row(cur, cols, w, chunks[i, ch], chunks[i, ch + 1], trains, i)
    thr, beta, reset_value = lif.consts[0], lif.consts[1], lif.reset_value
    if rec is not None:  # pruned at compile time: the feed-forward layer runs the tiles below
        _recurrent_steps(cur, T, b, B, bias, lif, spikes, mems, out_bits, rec, rwork)
        return
    keep_mask, keep_pos = keep
    for k0 in range(0, O, WIDTH):
        pos = keep_pos[k0 // WIDTH]
        if out_bits.shape[0]:  # the next layer's input as bits, from the registers
            lif_tile(
                cur,
                k0,
                T,
                bias,
                thr,
                beta,
                reset_value,
                spikes,
                b,
                B,
                mems,
                keep_mask,
                pos,
                out_bits,
            )
        else:
            lif_tile(
                cur, k0, T, bias, thr, beta, reset_value, spikes, b, B, mems, keep_mask, pos, None
            )


@_sample_kernel
def _recurrent_steps(
    cur, T, b, B, bias, lif, spikes, mems, out_bits, rec, rwork
):  # pragma: no cover - compiled
    """The LIF steps of sample ``b`` with recurrent synapses ``rec`` (rows: the presynaptic
    neurons of this layer): step by step, the spikes of step ``t - 1`` add their synapses'
    weights to the current of step ``t`` (``W_rec s_{t-1}``, inputs in ascending order), then
    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_step` runs the step on every neuron
    (the dense path's step, in its order). Leaves ``cur`` zeroed for the next sample."""
    c1, m0 = rwork
    O = spikes.shape[1]
    if out_bits.shape[0]:
        out_bits[b, :] = 0
    for t in range(T):
        if t > 0:
            prev = spikes[(t - 1) * B + b]
            for j in range(O):
                if prev[j] != 0:
                    for s in range(rec.indptr[j], rec.indptr[j + 1]):
                        cur[rec.cols[s], t] += rec.w[s] * prev[j]
        for k in range(O):
            c1[k] = cur[k, t] if bias is None else cur[k, t] + bias[k]
            cur[k, t] = 0
        if t == 0:  # initial membrane 0, no reset
            lif_step(c1, m0, m0, mems[b], spikes[b], lif.consts, lif.reset_value)
        else:
            r0, r1 = (t - 1) * B + b, t * B + b
            lif_step(c1, mems[r0], spikes[r0], mems[r1], spikes[r1], lif.consts, lif.reset_value)
        if out_bits.shape[0]:
            row = spikes[t * B + b]
            for k in range(O):
                out_bits[b, k] |= np.uint32(row[k] != 0) << np.uint32(t)


@njit(nogil=True, parallel=True)
def _forward(
    x, bits, syn, bias, lif, spikes, mems, keep, out_bits, rec
):  # pragma: no cover - compiled
    """``spikes`` [T * B, O] and ``mems`` [T * B, n_kept] (``None``: not written): rows
    ``t * B + b``; ``keep``: the kept neurons as a mask [O + padding] (uint8) and the number
    kept before each block of 16."""
    _, B, _ = x.shape
    O = spikes.shape[1]
    I = syn.chunks.shape[0]
    lanes = -(-x.shape[0] // LANES) * LANES
    n_parts = min(N_PARTS, B)
    for part in prange(n_parts):
        # trains: the padding steps stay 0; cur: rows for whole blocks of 16, zero between samples
        work = (
            np.zeros((I, lanes), syn.w.dtype),
            np.empty(I, np.int64),
            np.zeros((-(-O // WIDTH) * WIDTH, lanes), syn.w.dtype),
            np.empty(I, np.bool_),
        )
        n_rec = O if rec is not None else 0  # recurrent work arrays (empty: none)
        rwork = (np.empty(n_rec, syn.w.dtype), np.zeros(n_rec, syn.w.dtype))
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            _sample_forward(
                x, bits, b, syn, bias, lif, work, spikes, mems, keep, out_bits, rec, rwork
            )


@njit(nogil=True, inline="always")
def _map(index, s):  # pragma: no cover - compiled
    """``index[s]``, or ``s`` for ``index`` None (resolved at compile time)."""
    if index is None:
        return s
    return index[s]


@njit(nogil=True, inline="always")
def _at(a, r):  # pragma: no cover - compiled
    """``a[r]``, or ``None`` for ``a`` None (resolved at compile time)."""
    if a is None:
        return None
    return a[r]


@njit(nogil=True, error_model="numpy")
def _recurrent_deltas(
    mems, g_spk, g_mem, resets, b, B, T, consts, kind, rec, delta, rwork, gwr
):  # pragma: no cover - compiled
    """Back-propagation through time of sample ``b`` with recurrent synapses ``rec``: step by
    step from the last, the spike gradient of step ``t`` gains ``sum_s w_rec[s] delta_{t+1}[post(s)]``
    over the recurrent synapses of each neuron, then
    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_grad_step` gives ``delta_t``; the
    recurrent weight gradient ``gwr[s] += sum_t s_{t-1}[pre(s)] delta_t[post(s)]``."""
    g, nxt, out = rwork
    O = mems.shape[1]
    delta[:, T:] = 0  # the padding steps: the trains' dot products read them
    for t in range(T - 1, -1, -1):
        r = t * B + b
        for k in range(O):
            g[k] = 0 if g_spk is None else g_spk[r, k]
        if t == T - 1:
            lif_grad_step(mems[r], g, _at(g_mem, r), None, None, None, consts, kind, out)
        else:
            for k in range(O):
                nxt[k] = delta[k, t + 1]
            for j in range(O):
                acc = g[j]
                for s in range(rec.indptr[j], rec.indptr[j + 1]):
                    acc += rec.w[s] * nxt[rec.cols[s]]
                g[j] = acc
            # resets are the spikes (r_{t+1} = s_t): the reset into step t + 1 is row r
            lif_grad_step(mems[r], g, _at(g_mem, r), None, _at(resets, r), nxt, consts, kind, out)
            row = mems[r]  # the spikes of step t feed step t + 1
            for j in range(O):
                if resets is None:
                    fired = row[j] > consts[0]
                else:
                    fired = resets[r, j] != 0
                if fired:
                    for s in range(rec.indptr[j], rec.indptr[j + 1]):
                        gwr[s] += nxt[rec.cols[s]]
        for k in range(O):
            delta[k, t] = out[k]


@njit(nogil=True, parallel=True, error_model="numpy")
def _backward(
    x,
    bits,
    syn,
    index,
    lif,
    mems,
    resets,
    g_spk,
    g_mem,
    gx,
    gx_pos,
    gw_parts,
    gb_parts,
    rec,
    gwr_parts,
):  # pragma: no cover - compiled
    """``mems``, ``resets``, ``g_spk``, ``g_mem``: ``[T * B, O]`` (rows ``t * B + b``);
    ``resets``: the spikes under reset to 0 (``r_{t+1} = s_t``), ``None`` under subtraction;
    ``gx`` (input gradient) and ``gb_parts`` (bias) ``None`` when not asked for.
    ``syn`` may be the CSR restricted to the live neurons (:func:`restrict`): its columns are
    then positions in the compacted arrays, and ``index`` maps its entries to the synapses
    of ``gw_parts`` (``None``: the layer's own CSR). ``gx_pos``: the column of ``gx`` of each
    input that has synapses (``None``: the input's own)."""
    T, B, _ = x.shape
    O = mems.shape[1]
    indptr, chunks, cols, w = syn
    I = indptr.size - 1
    consts, kind = lif.consts, lif.kind
    lanes = -(-T // LANES) * LANES
    n_parts = gw_parts.shape[0]
    for part in prange(n_parts):
        gw = gw_parts[part]
        trains = np.zeros((I, lanes), mems.dtype)
        active = np.empty(I, np.int64)
        any_ = np.empty(I, np.bool_)
        delta = np.empty((-(-O // WIDTH) * WIDTH, lanes), mems.dtype)
        g = np.empty((1, lanes), mems.dtype)
        n_rec = O if rec is not None else 0  # recurrent work arrays (empty: none)
        rwork = (
            np.empty(n_rec, mems.dtype),
            np.empty(n_rec, mems.dtype),
            np.empty(n_rec, mems.dtype),
        )
        for b in range(part * B // n_parts, (part + 1) * B // n_parts):
            if rec is not None:  # pruned at compile time for a feed-forward layer
                _recurrent_deltas(
                    mems,
                    g_spk,
                    g_mem,
                    resets,
                    b,
                    B,
                    T,
                    consts,
                    kind,
                    rec,
                    delta,
                    rwork,
                    gwr_parts[part],
                )
            else:
                for k0 in range(
                    0, O, WIDTH
                ):  # the time loop of sparse_neuro.neuro.train.kernels.lif_steps.lif_backward, in registers
                    lif_grad_tile(mems, g_spk, g_mem, resets, k0, T, b, B, consts, kind, delta)
            if gb_parts is not None:
                gb = gb_parts[part]
                for k in range(O):
                    for t in range(T):
                        gb[k] += delta[k, t]
            n_active = _trains(x, bits, b, syn.indptr, trains, active, any_)
            for ch in range(chunks.shape[1] - 1):  # the chunk's gradient trains stay in L1
                for a in range(n_active):
                    i = active[a]
                    for s in range(chunks[i, ch], chunks[i, ch + 1]):
                        gw[_map(index, s)] += dot_row(trains, i, delta, cols[s])
            if gx is not None:
                if gx_pos is None:  # (restricted rows all have synapses: all written below)
                    for t in range(
                        T
                    ):  # zeroed here (not np.zeros): the sample's rows then stay in L2
                        gx[t, b, :] = 0
                for i in range(I):  # an input without (live) synapses keeps its zero gradient
                    if indptr[i + 1] == indptr[i]:
                        continue
                    g[:] = 0
                    for s in range(indptr[i], indptr[i + 1]):
                        axpy_row(g, 0, w[s], delta, cols[s])
                    col = _map(gx_pos, i)
                    for t in range(T):  # the sample's rows of gx stay in L2 while it runs
                        gx[t, b, col] = g[0, t]


def fused_forward(
    x: np.ndarray,
    bits: np.ndarray,
    syn: Synapses,
    bias: np.ndarray | None,
    lif: Neurons,
    n_out: int,
    keep_mems: bool | np.ndarray = True,
    rec: Synapses | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Spikes [T, B, O] and membranes [T, B, O or len(keep_mems)] of the layer (see the module
    docstring), and the spikes as :func:`spike_bits` (what the next fused layer reads; empty
    beyond 32 steps).

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
    keep_mems : bool or ndarray
        Return the membranes; ``False``: ``None`` (not written, half the forward pass's
        memory traffic); ascending neuron indices: the membranes of those neurons only
        (``mems_of`` of :func:`fused_backward`, e.g. the neurons with synapses onto the next
        layer, the only ones a gradient can reach through it).
    rec : Synapses, optional
        Recurrent synapses ``O -> O`` (rows: presynaptic neurons of this layer): the input
        of step ``t`` is then ``W x_t + W_rec s_{t-1}`` (a recurrent layer; ``keep_mems``
        must be true).
    """
    T, B, _ = x.shape
    dtype = syn.w.dtype
    if rec is not None and keep_mems is not True:
        raise ValueError(f"keep_mems must be True for a recurrent layer, got {keep_mems!r}")
    spikes = np.empty((T, B, n_out), dtype)
    out_bits = np.empty((B if T <= 32 else 0, n_out), np.uint32)
    pad = (
        -n_out % LANES
    )  # whole blocks of 16 neurons: lif_tile reads the padding, stores nothing of it
    if bias is not None:
        bias = np.concatenate([bias, np.zeros(pad, dtype)])
    kept = keep_mems if isinstance(keep_mems, np.ndarray) else np.arange(n_out if keep_mems else 0)
    mask = np.zeros(n_out + pad, np.uint8)
    mask[kept] = 1
    block_pos = np.concatenate(
        [[0], np.cumsum(mask.reshape(-1, LANES).sum(1))]
    )  # kept before each block
    mems = None if keep_mems is False else np.empty((T, B, kept.size), dtype)
    _forward(
        x,
        bits,
        syn,
        bias,
        lif,
        spikes.reshape(T * B, n_out),
        None if mems is None else mems.reshape(T * B, kept.size),
        (mask, block_pos),
        out_bits,
        rec,
    )
    return spikes, mems, out_bits


#: The backward pass runs on the live neurons only (:func:`live_neurons`) when at most this
#: fraction of them is live: below it, gathering their arrays costs less than the steps saved.
COMPACT_BELOW = 0.75


@njit(nogil=True)
def _or_nonzero(g, live):  # pragma: no cover - compiled
    """``live[k] |= g[t, b, k] != 0`` over all ``t``, ``b`` (``g`` None: nothing)."""
    if g is None:
        return
    T, B, O = g.shape
    for t in range(T):
        for b in range(B):
            row = g[t, b]
            for k in range(O):
                live[k] |= row[k] != 0


def live_neurons(g_spk: np.ndarray | None, g_mem: np.ndarray | None, n_out: int) -> np.ndarray:
    """Ascending indices of the neurons whose spikes or membranes have a non-zero gradient at
    some step and sample.

    The membrane gradient of any other neuron is zero at every step (it only flows back in
    time from these gradients), so its synapses' gradients and its input's are zero too, and
    the backward pass can skip it. Typical: the hidden neurons without a synapse to a sparse
    readout (at 2% density, 82% of a 1000 -> 10 readout's inputs).
    """
    live = np.zeros(n_out, np.uint8)
    _or_nonzero(g_spk, live)
    _or_nonzero(g_mem, live)
    return np.flatnonzero(live)


@njit(nogil=True, parallel=True)
def _gather(a, live):  # pragma: no cover - compiled
    """``a[:, :, live]``, C-contiguous."""
    T, B, _ = a.shape
    out = np.empty((T, B, live.size), a.dtype)
    for t in prange(T):
        for b in range(B):
            for j in range(live.size):
                out[t, b, j] = a[t, b, live[j]]
    return out


@njit(nogil=True)
def _restrict(indptr, cols, w, position):  # pragma: no cover - compiled
    I = indptr.size - 1
    keep = np.zeros(cols.size, np.bool_)
    for s in range(cols.size):
        keep[s] = position[cols[s]] >= 0
    index = np.flatnonzero(keep)
    ptr = np.empty(I + 1, indptr.dtype)
    n = 0
    for i in range(I):
        ptr[i] = n
        for s in range(indptr[i], indptr[i + 1]):
            n += keep[s]
    ptr[I] = n
    new_cols = np.empty(index.size, cols.dtype)
    for e in range(index.size):
        new_cols[e] = position[cols[index[e]]]
    return ptr, new_cols, w[index], index


def _positions(members: np.ndarray, n: int) -> np.ndarray:
    """``[n]``: the position of each of ``0 .. n-1`` in the ascending ``members``, -1 if absent."""
    position = np.full(n, -1, np.int64)
    position[members] = np.arange(members.size)
    return position


def _membranes_of(
    mems: np.ndarray, mems_of: np.ndarray | None, live: np.ndarray | None, n_out: int
) -> np.ndarray | None:
    """The membranes of the ``live`` neurons (``None``: all) from ``mems``, which holds those of
    ``mems_of`` (``None``: all); ``None`` if some live neuron's were not kept."""
    if mems_of is None:
        return mems if live is None else _gather(mems, live)
    want = np.arange(n_out) if live is None else live
    if np.array_equal(mems_of, want):
        return mems
    pos = _positions(mems_of, n_out)[want]
    return None if (pos < 0).any() else _gather(mems, pos)


def restrict(syn: Synapses, live: np.ndarray, n_out: int) -> tuple[Synapses, np.ndarray]:
    """The synapses onto the ``live`` neurons, columns renumbered to positions in ``live``
    (still ascending in every row), and the index of each in ``syn``'s CSR."""
    indptr, cols, w, index = _restrict(syn.indptr, syn.cols, syn.w, _positions(live, n_out))
    return Synapses(indptr, chunks(indptr, cols, live.size), cols, w), index


def fused_backward(
    x: np.ndarray,
    bits: np.ndarray,
    syn: Synapses,
    lif: Neurons,
    mems: np.ndarray | None,
    spikes: np.ndarray,
    g_spk: np.ndarray | None,
    g_mem: np.ndarray | None,
    need_gx: bool,
    need_gb: bool,
    live: np.ndarray | None = None,
    gx_rows: bool = False,
    bias: np.ndarray | None = None,
    mems_of: np.ndarray | None = None,
    rec: Synapses | None = None,
) -> tuple:
    """Gradients w.r.t. the input [T, B, I] (or ``None``), the synapses [nnz] and the bias [O].

    ``g_spk``, ``g_mem`` [T, B, O] are the gradients w.r.t. the returned spikes and
    membranes (``None``: zero); the other arguments are those of :func:`fused_forward` and
    its results. When few neurons have a non-zero gradient (:func:`live_neurons`,
    :data:`COMPACT_BELOW`), the pass runs on their gathered arrays and the synapses onto them
    only (:func:`restrict`): the same operations on the same values, so the same results.

    Parameters
    ----------
    live : ndarray, optional
        Ascending neuron indices: ``g_spk`` and ``g_mem`` are given for these neurons only
        ([T, B, len(live)]), every other neuron's are zero.
    gx_rows : bool
        Return the input gradient of the inputs with a synapse onto a live neuron only, as
        ``(gx [T, B, n], inputs [n])`` (every other input's is zero): what the layer below
        takes as ``g_spk`` and ``live`` (:class:`sparse_neuro.neuro.train.models.SpikingMLP` chains
        its fused layers so, and the full input gradient is never written).
    bias : ndarray [O], optional
        The forward pass's bias, when ``mems`` is ``None`` (not kept, ``keep_mems=False``):
        the membranes of the live neurons are then computed again, by the forward pass over
        the synapses onto them (the same sums in the same order: the same membranes).
    mems_of : ndarray, optional
        ``mems`` holds the membranes of these neurons only (``keep_mems`` of
        :func:`fused_forward`); those of live neurons outside it are computed again.
    rec : Synapses, optional
        The recurrent synapses of :func:`fused_forward`: back-propagation through time then
        also runs through them (every neuron is live, ``mems`` must hold all membranes), and a
        fourth result is the gradient w.r.t. their weights [nnz of ``rec``].
    """
    T, B, O = spikes.shape
    dtype = spikes.dtype
    n_parts = min(N_PARTS, B)
    resets = spikes if lif.reset_value else None
    gw_parts = np.zeros((n_parts, syn.w.size), dtype)
    gwr_parts = None
    if rec is not None:  # the recurrence reaches every neuron: no compaction
        if live is not None or mems is None or mems_of is not None:
            raise ValueError("a recurrent layer's backward pass needs all membranes and no live")
        gwr_parts = np.zeros((n_parts, rec.w.size), dtype)
    elif live is None:
        live = live_neurons(g_spk, g_mem, O)
        if live.size <= COMPACT_BELOW * O:
            g_spk, g_mem = (None if a is None else _gather(a, live) for a in (g_spk, g_mem))
        else:
            live = None
    index = None
    if live is not None:
        syn, index = restrict(syn, live, O)
        resets = None if resets is None else _gather(resets, live)
    if mems is not None:
        mems = _membranes_of(mems, mems_of, live, O)
    if mems is None:  # not kept: computed again, for the live neurons only
        if live is not None and bias is not None:
            bias = np.ascontiguousarray(bias[live])
        mems = fused_forward(x, bits, syn, bias, lif, O if live is None else live.size)[1]
    gx = gx_pos = rows = None
    if need_gx and gx_rows:
        rows = np.flatnonzero(np.diff(syn.indptr))
        gx_pos = _positions(rows, syn.indptr.size - 1)
        gx = np.empty((T, B, rows.size), dtype)
    elif need_gx:
        gx = np.empty(x.shape, dtype)
    gb_parts = np.zeros((n_parts, mems.shape[2]), dtype) if need_gb else None
    rows2d = [None if a is None else a.reshape(T * B, -1) for a in (mems, resets, g_spk, g_mem)]
    _backward(x, bits, syn, index, lif, *rows2d, gx, gx_pos, gw_parts, gb_parts, rec, gwr_parts)
    gw = gw_parts[0]
    for part in range(1, n_parts):  # fixed order: the same sums for any number of threads
        gw += gw_parts[part]
    gb = None
    if need_gb:
        gb = gb_parts.sum(0)
        if live is not None:  # the other neurons' bias gradients are zero
            full = np.zeros(O, dtype)
            full[live] = gb
            gb = full
    gx_out = (gx, rows) if rows is not None else gx
    if gwr_parts is None:
        return gx_out, gw, gb
    gwr = gwr_parts[0]
    for part in range(1, n_parts):
        gwr += gwr_parts[part]
    return gx_out, gw, gb, gwr
