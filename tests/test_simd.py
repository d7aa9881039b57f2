"""neuro.simd intrinsics against numpy: transposes exact, axpy bit-equal to multiply-then-add,
dot products to float rounding, the LIF tile bit-equal to the LIF steps, for float32 and float64."""

import numpy as np
import pytest
from numba import njit

from neuro.lif_kernels import lif_consts, lif_forward
from neuro.simd import WIDTH, axpy_row, dot_row, lif_tile, transpose_tile


@njit(cache=False)
def _tile(src, r0, c0, dst):
    transpose_tile(src, r0, c0, dst)


@njit(cache=False)
def _axpy(dst, i, a, src, j):
    axpy_row(dst, i, a, src, j)


@njit(cache=False)
def _dot(a, i, b, j):
    return dot_row(a, i, b, j)


@njit(cache=False)
def _lif_tiles(cur, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, bits):
    for k0 in range(0, spikes.shape[1], WIDTH):
        lif_tile(cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, bits)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_tile_moves_exactly_one_tile(dtype):
    rng = np.random.default_rng(0)
    src = rng.normal(size=(40, 35)).astype(dtype)
    dst = np.full((35, 40), -7.0, dtype)
    _tile(src, 17, 3, dst)
    expect = np.full((35, 40), -7.0, dtype)
    expect[3:3 + WIDTH, 17:17 + WIDTH] = src[17:17 + WIDTH, 3:3 + WIDTH].T
    assert np.array_equal(dst, expect)


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
    assert np.isclose(got, np.dot(a[1].astype(np.float64), b[5].astype(np.float64)),
                      rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reset_value", [False, True])
@pytest.mark.parametrize("n_steps, ring", [(25, False), (25, True), (9, False), (32, True)])
def test_lif_tile_equals_the_lif_steps(dtype, reset_value, n_steps, ring):
    """Every block of 16 neurons (the last one partial: 37 neurons) of sample 1 of 3, against
    lif_forward on the transposed current plus bias: spikes, membranes (all steps, or a ring of
    two rows: the last two steps) and spike bits bit-equal; the current left zero; nothing
    written outside the sample's rows."""
    rng = np.random.default_rng(3)
    n_out, n_b, b = 37, 3, 1
    lanes = -(-n_steps // WIDTH) * WIDTH
    cur = np.zeros((48, lanes), dtype)
    cur[:n_out, :n_steps] = rng.normal(0.4, 0.6, size=(n_out, n_steps))
    bias = np.zeros(48, dtype)
    bias[:n_out] = rng.normal(0, 0.1, size=n_out)
    consts = lif_consts(1.0, 0.9, 25.0, dtype)
    spikes = np.full((n_steps * n_b, n_out), -1.0, dtype)
    n_mems = 2 if ring else n_steps
    mems = np.full((n_mems * n_b, n_out), -1.0, dtype)
    bits = np.full((n_b, n_out), 7, np.uint32)
    expect_s, expect_m = np.empty((n_steps, n_out), dtype), np.empty((n_steps, n_out), dtype)
    lif_forward(np.ascontiguousarray((cur[:n_out, :n_steps] + bias[:n_out, None]).T), np.zeros(n_out, dtype),
                consts, reset_value, expect_s, expect_m)
    _lif_tiles(cur, n_steps, bias, consts[0], consts[1], reset_value, spikes, b, n_b, mems, bits)
    assert 0 < expect_s.sum() < expect_s.size and not cur.any()
    assert np.array_equal(spikes.reshape(n_steps, n_b, n_out)[:, b], expect_s)
    got_m = mems.reshape(n_mems, n_b, n_out)[:, b]
    assert np.array_equal(got_m, expect_m[-2:][::(-1 if n_steps % 2 else 1)] if ring else expect_m)
    assert np.array_equal(bits[b], (expect_s.astype(np.uint64) << np.arange(n_steps, dtype=np.uint64)[:, None]).sum(0))
    others = [k for k in range(n_b) if k != b]
    assert (spikes.reshape(n_steps, n_b, n_out)[:, others] == -1).all() and (bits[others] == 7).all()
    assert (mems.reshape(n_mems, n_b, n_out)[:, others] == -1).all()
