"""sparse_neuro.neuro.train.kernels.simd intrinsics against numpy: axpy bit-equal to
multiply-then-add, dot products to float rounding, the LIF tiles bit-equal to the LIF steps of
sparse_neuro.neuro.train.kernels.lif_steps, forward and backward, for float32 and float64."""

import numpy as np
import pytest
from numba import njit

from sparse_neuro.neuro.train.kernels.lif_steps import (
    SURROGATE_CODES,
    lif_backward,
    lif_consts,
    lif_forward,
)
from sparse_neuro.neuro.train.kernels.simd import WIDTH, axpy_row, dot_row, lif_grad_tile, lif_tile


@njit(cache=False)
def _axpy(dst, i, a, src, j):
    axpy_row(dst, i, a, src, j)


@njit(cache=False)
def _dot(a, i, b, j):
    return dot_row(a, i, b, j)


@njit(cache=False)
def _lif_tiles(cur, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, keep, bits):
    pos = 0
    for k0 in range(0, spikes.shape[1], WIDTH):
        lif_tile(
            cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, keep, pos, bits
        )
        pos += keep[k0 : k0 + WIDTH].sum()


@njit(cache=False)
def _lif_grad_tiles(mems, g_spk, g_mem, resets, n_steps, b, n_b, consts, kind, delta):
    for k0 in range(0, mems.shape[1], WIDTH):
        lif_grad_tile(mems, g_spk, g_mem, resets, k0, n_steps, b, n_b, consts, kind, delta)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_row_is_multiply_then_add_on_one_row(dtype):
    rng = np.random.default_rng(1)
    dst = rng.normal(size=(5, 3 * WIDTH)).astype(dtype)
    src = rng.normal(size=(4, 3 * WIDTH)).astype(dtype)
    a = dtype(rng.normal())
    expect = dst.copy()
    expect[2] = expect[2] + a * src[3]  # numpy: one rounding after the product, one after the sum
    _axpy(dst, 2, a, src, 3)
    assert np.array_equal(dst, expect)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dot_row(dtype):
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 2 * WIDTH)).astype(dtype)
    b = rng.normal(size=(6, 2 * WIDTH)).astype(dtype)
    got = _dot(a, 1, b, 5)
    assert np.isclose(
        got,
        np.dot(a[1].astype(np.float64), b[5].astype(np.float64)),
        rtol=1e-5 if dtype == np.float32 else 1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_value", [False, True])
@pytest.mark.parametrize("n_steps, kept", [(25, "all"), (25, "some"), (9, "all"), (32, "some")])
def test_lif_tile_equals_the_lif_steps(dtype, reset_value, n_steps, kept):
    """Every block of 16 neurons (the last one partial: 37 neurons) of sample 1 of 3, against
    lif_forward on the transposed current plus bias: spikes, membranes (of all neurons, or of
    a subset, one after the other) and spike bits bit-equal; the current left zero; nothing
    written outside the sample's rows."""
    rng = np.random.default_rng(3)
    n_out, n_b, b = 37, 3, 1
    lanes = -(-n_steps // WIDTH) * WIDTH
    cur = np.zeros((48, lanes), dtype)
    cur[:n_out, :n_steps] = rng.normal(0.4, 0.6, size=(n_out, n_steps))
    bias = np.zeros(48, dtype)
    bias[:n_out] = rng.normal(0, 0.1, size=n_out)
    consts = lif_consts(1.0, 0.9, 25.0, dtype)
    keep = np.zeros(48, np.uint8)
    keep[:n_out] = 1 if kept == "all" else rng.random(n_out) < 0.4
    n_kept = int(keep.sum())
    spikes = np.full((n_steps * n_b, n_out), -1.0, dtype)
    mems = np.full((n_steps * n_b, n_kept), -1.0, dtype)
    bits = np.full((n_b, n_out), 7, np.uint32)
    expect_s, expect_m = np.empty((n_steps, n_out), dtype), np.empty((n_steps, n_out), dtype)
    lif_forward(
        np.ascontiguousarray((cur[:n_out, :n_steps] + bias[:n_out, None]).T),
        np.zeros(n_out, dtype),
        consts,
        reset_value,
        expect_s,
        expect_m,
    )
    _lif_tiles(
        cur, n_steps, bias, consts[0], consts[1], reset_value, spikes, b, n_b, mems, keep, bits
    )
    assert 0 < expect_s.sum() < expect_s.size and not cur.any() and 0 < n_kept <= n_out
    assert np.array_equal(spikes.reshape(n_steps, n_b, n_out)[:, b], expect_s)
    assert np.array_equal(mems.reshape(n_steps, n_b, n_kept)[:, b], expect_m[:, keep[:n_out] == 1])
    assert np.array_equal(
        bits[b], (expect_s.astype(np.uint64) << np.arange(n_steps, dtype=np.uint64)[:, None]).sum(0)
    )
    others = [k for k in range(n_b) if k != b]
    assert (spikes.reshape(n_steps, n_b, n_out)[:, others] == -1).all() and (
        bits[others] == 7
    ).all()
    assert (mems.reshape(n_steps, n_b, n_kept)[:, others] == -1).all()


@pytest.mark.parametrize("kind", list(SURROGATE_CODES))
@pytest.mark.parametrize("inputs", ["spk", "mem", "spk+mem", "spk+reset"])
@pytest.mark.parametrize("dtype, n_steps", [(np.float32, 25), (np.float64, 19), (np.float32, 32)])
def test_lif_grad_tile_equals_the_lif_backward_steps(kind, inputs, dtype, n_steps):
    """Sample 2 of 3, 37 neurons (the last block partial), against lif_backward on that
    sample's rows: the membrane gradient trains bit-equal, padding steps and neurons zero."""
    rng = np.random.default_rng(4)
    n_out, n_b, b = 37, 3, 2
    lanes = -(-n_steps // WIDTH) * WIDTH
    rows = lambda a: a.reshape(n_steps * n_b, n_out)  # noqa: E731
    mems = rng.normal(0.8, 0.5, size=(n_steps, n_b, n_out)).astype(dtype)
    g_spk = rng.normal(size=mems.shape).astype(dtype) if "spk" in inputs else None
    g_mem = rng.normal(size=mems.shape).astype(dtype) if "mem" in inputs else None
    spikes = (rng.random(mems.shape) < 0.3).astype(dtype) if "reset" in inputs else None
    consts = lif_consts(1.0, 0.9, 5.0, dtype)
    delta = np.full((48, lanes), np.nan, dtype)
    _lif_grad_tiles(
        rows(mems),
        *(None if a is None else rows(a) for a in (g_spk, g_mem, spikes)),
        n_steps,
        b,
        n_b,
        consts,
        SURROGATE_CODES[kind],
        delta,
    )
    at_b = lambda a: None if a is None else np.ascontiguousarray(a[:, b])  # noqa: E731
    # lif_backward's resets: r_{t+1} = s_t (its row t + 1 at step t)
    resets = None if spikes is None else np.roll(at_b(spikes), 1, axis=0)
    expect = lif_backward(at_b(mems), at_b(g_spk), at_b(g_mem), 1.0, 0.9, kind, 5.0, resets=resets)
    assert np.count_nonzero(expect) > expect.size // 2
    assert np.array_equal(delta[:n_out, :n_steps], expect.T)
    assert not delta[:n_out, n_steps:].any() and not delta[n_out:].any()
