"""neuro.simd intrinsics against numpy: transposes exact, axpy bit-equal to multiply-then-add,
dot products to float rounding, for float32 and float64."""

import numpy as np
import pytest
from numba import njit

from neuro.simd import WIDTH, axpy_row, dot_row, transpose_tile


@njit(cache=False)
def _tile(src, r0, c0, dst):
    transpose_tile(src, r0, c0, dst)


@njit(cache=False)
def _axpy(dst, i, a, src, j):
    axpy_row(dst, i, a, src, j)


@njit(cache=False)
def _dot(a, i, b, j):
    return dot_row(a, i, b, j)


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
