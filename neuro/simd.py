"""Vector primitives numba's loops do not produce, as LLVM IR intrinsics (numba ``@intrinsic``).

For the fused sparse layers (:mod:`neuro.fused_kernels`), whose inner loops work on rows of 16
to 64 values (a spike train over the steps, a row of neurons):

* :func:`transpose_tile`: a 16 x 16 tile transposed in registers (``shufflevector``); numba's
  transpose loop moves one element per instruction (3x slower, measured).
* :func:`axpy_row`: ``dst[i, :] += a * src[j, :]`` as vector operations. In a numba loop LLVM
  cannot know that the two rows do not overlap: it checks at run time before every row (the
  rows are short, so the checks cost as much as the work) or gives up vectorising.
* :func:`dot_row`: ``a[i, :] . b[j, :]`` with one vector accumulator and one horizontal sum.

Arrays are 2-D, C-contiguous, of one float dtype, and rows a multiple of :data:`WIDTH` long
(:func:`axpy_row`, :func:`dot_row`); nothing is bounds-checked. ``axpy_row`` multiplies then
adds, as ``dst[i, t] += a * src[j, t]`` does (no fused multiply-add): the same results to the
last bit; ``dot_row`` sums in its own fixed order.
"""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["WIDTH", "axpy_row", "dot_row", "transpose_tile"]

#: Elements per vector (AVX-512 float32); also the tile size of :func:`transpose_tile`.
WIDTH = 16


def _matrices(*arrays) -> bool:
    return all(isinstance(a, types.Array) and a.ndim == 2 and a.dtype == arrays[0].dtype
               and isinstance(a.dtype, types.Float) for a in arrays)


class _Rows:
    """Pointers to ``WIDTH``-vectors of a 2-D C-contiguous array inside an intrinsic."""

    def __init__(self, context, builder, aryty, value):
        self.builder = builder
        self.ary = context.make_array(aryty)(context, builder, value)
        self.n_cols = cgutils.unpack_tuple(builder, self.ary.shape, 2)[1]
        elt = context.get_value_type(aryty.dtype)
        self.vec = ir.VectorType(elt, WIDTH)
        self.align = context.get_abi_alignment(elt)

    def ptr(self, row, col):
        b = self.builder
        off = b.add(b.mul(row, self.n_cols), col)
        return b.bitcast(b.gep(self.ary.data, [off]), self.vec.as_pointer())

    def load(self, row, col):
        return self.builder.load(self.ptr(row, col), align=self.align)

    def store(self, value, row, col):
        self.builder.store(value, self.ptr(row, col), align=self.align)


def _intp(context, builder, value, ty):
    return context.cast(builder, value, ty, types.intp)


@contextmanager
def _row_chunks(context, builder, rows: _Rows):
    """Loop over the ``WIDTH``-element chunks of a row of ``rows``; yields the chunk's column."""
    intp = context.get_value_type(types.intp)
    width = ir.Constant(intp, WIDTH)
    with cgutils.for_range(builder, builder.udiv(rows.n_cols, width)) as loop:
        yield builder.mul(loop.index, width)


@intrinsic
def transpose_tile(typingctx, src, r0, c0, dst):
    """``dst[c0 + j, r0 + i] = src[r0 + i, c0 + j]`` for ``i, j < 16``: sixteen row loads, four
    rounds of sixteen two-vector shuffles (four perfect shuffles transpose 16 x 16), sixteen
    row stores."""
    if not _matrices(src, dst):
        return None
    sig = types.void(src, r0, c0, dst)

    def codegen(context, builder, sig, args):
        s = _Rows(context, builder, sig.args[0], args[0])
        d = _Rows(context, builder, sig.args[3], args[3])
        r0v, c0v = (_intp(context, builder, args[k], sig.args[k]) for k in (1, 2))
        intp = context.get_value_type(types.intp)
        rows = [s.load(builder.add(r0v, ir.Constant(intp, i)), c0v) for i in range(WIDTH)]
        mask = ir.VectorType(ir.IntType(32), WIDTH)
        half = WIDTH // 2
        lo = ir.Constant(mask, [v for k in range(half) for v in (k, k + WIDTH)])
        hi = ir.Constant(mask, [v for k in range(half, WIDTH) for v in (k, k + WIDTH)])
        for _ in range(4):  # out[2k] = (a0 b0 a1 b1 ...), out[2k + 1] = (a8 b8 ...) of rows k, k + 8
            rows = [builder.shuffle_vector(rows[k], rows[k + half], m) for k in range(half) for m in (lo, hi)]
        for j in range(WIDTH):
            d.store(rows[j], builder.add(c0v, ir.Constant(intp, j)), r0v)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def axpy_row(typingctx, dst, i, a, src, j):
    """``dst[i, :] += a * src[j, :]`` (rows of ``dst``'s length, a multiple of 16)."""
    if not _matrices(dst, src):
        return None
    sig = types.void(dst, i, dst.dtype, src, j)

    def codegen(context, builder, sig, args):
        d = _Rows(context, builder, sig.args[0], args[0])
        s = _Rows(context, builder, sig.args[3], args[3])
        iv, jv = (_intp(context, builder, args[k], sig.args[k]) for k in (1, 4))
        undef = ir.Constant(d.vec, ir.Undefined)
        first = builder.insert_element(undef, args[2], ir.Constant(ir.IntType(32), 0))
        av = builder.shuffle_vector(first, undef, ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH))
        with _row_chunks(context, builder, d) as col:
            d.store(builder.fadd(d.load(iv, col), builder.fmul(av, s.load(jv, col))), iv, col)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def dot_row(typingctx, a, i, b, j):
    """``a[i, :] . b[j, :]`` (rows of ``a``'s length, a multiple of 16): products summed into
    one vector, then its elements by halves."""
    if not _matrices(a, b):
        return None
    sig = a.dtype(a, i, b, j)

    def codegen(context, builder, sig, args):
        x = _Rows(context, builder, sig.args[0], args[0])
        y = _Rows(context, builder, sig.args[2], args[2])
        iv, jv = (_intp(context, builder, args[k], sig.args[k]) for k in (1, 3))
        acc = cgutils.alloca_once_value(builder, ir.Constant(x.vec, [0.0] * WIDTH))
        with _row_chunks(context, builder, x) as col:
            builder.store(builder.fadd(builder.load(acc), builder.fmul(x.load(iv, col), y.load(jv, col))), acc)
        v, width = builder.load(acc), WIDTH
        while width > 1:  # halves added: 16 -> 8 -> 4 -> 2 -> 1
            width //= 2
            mask = ir.VectorType(ir.IntType(32), width)
            v = builder.fadd(builder.shuffle_vector(v, v, ir.Constant(mask, list(range(width)))),
                             builder.shuffle_vector(v, v, ir.Constant(mask, list(range(width, 2 * width)))))
        return builder.extract_element(v, ir.Constant(ir.IntType(32), 0))

    return sig, codegen
