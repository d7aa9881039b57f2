"""Small numba kernels shared by the clocked backends (clock engine, Loihi event queue)."""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from sparse_neuro.neuro.engines.rng import poisson_count, poisson_from_cdf, uniform
from sparse_neuro.neuro.jit import njit

#: Neurons per block of the update's fused threshold scan (:func:`lif_update`).
SCAN_BLOCK = 128

__all__ = [
    "accepts_delta",
    "apply_drives",
    "crossings",
    "kwta_winners",
    "lif_update",
    "stable_argsort",
    "step_kernel",
]


def step_kernel(fn):
    """Compile a per-step kernel that allocates nothing: ``numba.njit`` without reference
    counting. Numba otherwise counts a reference (an atomic increment and decrement) for
    every array taken out of a record, some hundred per step across the stages, measured
    here at a fifth of the CUBA step time; these kernels only borrow arrays their caller
    holds, so the counts are not needed."""
    return njit(nogil=True, _nrt=False)(fn)


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to start loading the cache line of ``arr[idx]`` (LLVM's ``prefetch``
    intrinsic: a hint, no fault if out of range, no effect on results). Loading the
    synapse rows of all the step's spikes at once overlaps their cache misses, which
    otherwise come one row after another."""
    sig = types.void(arr, idx)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False
        )
        i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # read, keep in all cache levels, data cache
        builder.call(fn, [i8p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, inline="always")
def accepts_delta(n, i, last, ref_n):
    """Delta input reaches neuron ``i`` in step ``n`` unless it is refractory (a neuron that
    spiked in this step is; one with no refractory period never is)."""
    return ref_n[i] == 0 or (n - last[i]) >= ref_n[i]


@njit(nogil=True)
def apply_drives(n, seed, drives, v, syn, last, ref_n, hits, t_lo, t_hi):
    """External Poisson drives (``sparse_neuro.neuro.model.inputs.PoissonInput``) of step ``n``, as
    input that arrives in that step: each target neuron ``i`` of drive ``d`` gets ``weight * k``
    with ``k = poisson_count(lam, uniform(seed, stream, n, i - lo))`` (searched in the drive's CDF
    table where it has one: the same ``k``; the draws took 0.72x the time on Brunel's drive).

    ``drives`` is a :class:`sparse_neuro.neuro.engines.plan.DriveTable`. Channel 0 adds to ``v``
    unless the neuron is refractory (the delta-input rule of the clock engine), channel ``c >= 1``
    adds to ``syn[c - 1]``. Only the neurons in ``[t_lo, t_hi)`` (a partition) are driven. Keyed by
    neuron and step, never by visiting order, so the result does not depend on chunking, run
    splitting, threads or backend. If ``hits`` is not empty, ``hits[i] += k`` (the Loihi model
    counts the input spikes).
    """
    count = hits.shape[0] > 0
    for d in range(drives.lo.shape[0]):
        lo = drives.lo[d]
        lam = drives.lam[d]
        w = drives.weight[d]
        ch = drives.channel[d]
        stream = drives.stream[d]
        cdf = drives.cdf[d]
        n_cdf = drives.n_cdf[d]
        tail = drives.cdf_tail[d]
        for i in range(max(lo, t_lo), min(drives.hi[d], t_hi)):
            u = uniform(seed, stream, n, i - lo)
            k = poisson_from_cdf(u, cdf, n_cdf, tail) if n_cdf >= 0 else poisson_count(lam, u)
            if k == 0:
                continue
            if count:
                hits[i] += k
            if ch == 0:
                if accepts_delta(n, i, last, ref_n):
                    v[i] += w * k
            else:
                syn[ch - 1, i] += w * k
    return 0


@njit(nogil=True)
def stable_argsort(key, n, order, tmp):
    """Write into ``order[:n]`` the indices ``0`` to ``n - 1`` sorted by ``key`` (ascending),
    equal keys in index order: the order ``numpy.argsort(key[:n], kind="mergesort")``
    gives, without allocating (a bottom-up merge sort through ``tmp``, as long as
    ``order``), so that the step loop can run without reference counting."""
    for i in range(n):
        order[i] = i
    src, dst = order, tmp
    width = 1
    passes = 0
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            a, b, o = lo, mid, lo
            while a < mid and b < hi:
                if key[src[b]] < key[src[a]]:  # strict: ties keep the left (lower) index
                    dst[o] = src[b]
                    b += 1
                else:
                    dst[o] = src[a]
                    a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
        src, dst = dst, src
        width *= 2
        passes += 1
    if passes % 2 == 1:  # the sorted run ended in tmp
        for i in range(n):
            order[i] = tmp[i]
    return 0


@njit(nogil=True)
def kwta_winners(v, theta, adaptive, cand, n_c, k, hold, reset_value, spiking, n_spk, work):
    """k-winners-take-all among the ``n_c`` threshold-crossing neurons in ``cand``.

    Appends the spiking neurons to ``spiking`` (from position ``n_spk``) and returns the new
    count. With ``k < 0`` (no k-WTA) or ``n_c <= k`` every candidate spikes. Otherwise the
    ``k`` with the largest ``v`` win (with adaptive thresholds: the largest margin
    ``v - theta``), in that order; a stable sort puts lower indices first among equals.
    Losers keep their potential (``hold``) or are set to ``reset_value``. ``work`` is a
    tuple of three arrays of at least ``n_c`` elements ``(key float64, order int64, tmp
    int64)``: nothing is allocated.
    """
    if k < 0 or n_c <= k:
        for r in range(n_c):
            spiking[n_spk] = cand[r]
            n_spk += 1
        return n_spk
    key, order, tmp = work
    for r in range(n_c):
        key[r] = -np.float64(v[cand[r]])
        if adaptive:
            key[r] += theta[cand[r]]
    stable_argsort(key, n_c, order, tmp)
    for r in range(n_c):
        i = cand[order[r]]
        if r < k:
            spiking[n_spk] = i
            n_spk += 1
        elif not hold:
            v[i] = reset_value
    return n_spk


@njit(nogil=True, inline="always")
def _lif_block(n, v, s0, s1, last, drive, coef, rs, th):
    """The exact update of :func:`lif_update` on one block; returns how many of its neurons
    cross ``th`` (``v > th`` and not refractory): an integer sum, so the loop stays
    vectorised."""
    a, vi, c0, c1, d0, d1 = coef
    injected = drive.shape[0] > 0  # loop-invariant and predicted; when False, no drive traffic
    over = 0
    for i in range(v.shape[0]):
        target = vi + drive[i] if injected else vi
        # every load before any store: the stores could alias the arrays still to be read,
        # which would make LLVM load v twice and store it under a mask
        vv = v[i]
        x0 = s0[i]
        x1 = s1[i]
        ok = (n - last[i]) >= rs
        x = target + (vv - target) * a + x0 * c0 + x1 * c1
        y = x if ok else vv
        v[i] = y
        s0[i] = x0 * d0
        s1[i] = x1 * d1
        over += (y > th) & ok
    return over


@njit(nogil=True)
def lif_update(n, v, s0, s1, last, drive, coef, rs, th, scan, offset, cand):
    """Exact one-step update of one population's neurons (two channels), on slices, fused
    with the threshold scan: if ``scan``, writes ``offset + i`` of the neurons that cross
    ``th`` into ``cand`` (in neuron order) and returns how many (else returns 0).

    ``coef`` holds the population's step constants ``(a, v_inf, c0, c1, d0, d1)``: membrane
    decay, resting target, synapse-to-membrane factors and decays of the two channels;
    ``rs`` is the refractory period in steps. ``drive`` is the injected current, or empty
    if the population has none (then it is not read: less memory traffic).

    Block by block (:data:`SCAN_BLOCK`): the update of a block counts its crossings, and
    only a block with some is scanned, while it is in cache; a step has a few spikes among
    thousands of neurons, so the scan costs almost nothing and ``v`` and ``last`` are read
    once. A function of its own, looping from 0 over slices, so that LLVM vectorises it:
    over ``range(lo, hi)`` numba must keep negative-index wraparound checks, and inside the
    large step kernel too many arrays might alias; either blocks vectorisation and costs
    2-3x.
    """
    n_c = 0
    for b0 in range(0, v.shape[0], SCAN_BLOCK):
        b1 = b0 + SCAN_BLOCK
        vb = v[b0:b1]
        lb = last[b0:b1]
        over = _lif_block(n, vb, s0[b0:b1], s1[b0:b1], lb, drive[b0:b1], coef, rs, th)
        i = 0
        while scan and over > 0:
            if vb[i] > th and (n - lb[i]) >= rs:
                cand[n_c] = offset + b0 + i
                n_c += 1
                over -= 1
            i += 1
    return n_c


@njit(nogil=True)
def crossings(n, v, last, theta, adaptive, th, rs, offset, cand):
    """Threshold scan of one population's slice: write ``offset + i`` of the non-refractory
    neurons with ``v > th (+ theta)`` into ``cand`` (in neuron order); return how many.
    Slices from 0, for the same reason as :func:`lif_update`."""
    n_c = 0
    if adaptive:
        for i in range(v.shape[0]):
            if v[i] > th + theta[i] and (n - last[i]) >= rs:
                cand[n_c] = offset + i
                n_c += 1
    else:
        for i in range(v.shape[0]):
            if v[i] > th and (n - last[i]) >= rs:
                cand[n_c] = offset + i
                n_c += 1
    return n_c
