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

__all__ = ["WIDTH", "axpy_row", "dot_row", "lif_tile", "transpose_tile"]

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


def _splat(builder, vec, value):
    undef = ir.Constant(vec, ir.Undefined)
    first = builder.insert_element(undef, value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, undef, ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH))


def _transposed(builder, rows):
    """The 16 x 16 tile of ``rows`` (16 vectors) transposed: four perfect shuffles."""
    mask = ir.VectorType(ir.IntType(32), WIDTH)
    half = WIDTH // 2
    lo = ir.Constant(mask, [v for k in range(half) for v in (k, k + WIDTH)])
    hi = ir.Constant(mask, [v for k in range(half, WIDTH) for v in (k, k + WIDTH)])
    for _ in range(4):  # out[2k] = (a0 b0 a1 b1 ...), out[2k + 1] = (a8 b8 ...) of rows k, k + 8
        rows = [builder.shuffle_vector(rows[k], rows[k + half], m) for k in range(half) for m in (lo, hi)]
    return rows


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
        rows = _transposed(builder, [s.load(builder.add(r0v, ir.Constant(intp, i)), c0v) for i in range(WIDTH)])
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
        av = _splat(builder, d.vec, args[2])
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


def _store_lanes(context, builder, rows: _Rows, value, row, col, n_valid):
    """``rows[row, col:col + WIDTH] = value``, only the first ``n_valid`` lanes when fewer than
    ``WIDTH`` (the last block of a row): one vector store, or one store per lane."""
    intp = context.get_value_type(types.intp)
    full = builder.icmp_signed(">=", n_valid, ir.Constant(intp, WIDTH))
    with builder.if_else(full, likely=True) as (whole, part):
        with whole:
            rows.store(value, row, col)
        with part:
            base = builder.bitcast(rows.ptr(row, col), rows.vec.element.as_pointer())
            with cgutils.for_range(builder, n_valid) as lane:
                builder.store(builder.extract_element(value, lane.index), builder.gep(base, [lane.index]))


@intrinsic
def lif_tile(typingctx, cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, bits):
    """The LIF steps of the 16 neurons ``k0 .. k0 + 15`` of one sample, in registers.

    ``cur`` [>= k0 + 16, lanes]: their input current trains (neurons x steps, the layout of the
    synapse loops), read by 16 x 16 tiles, transposed in registers and left zeroed (the next
    sample's synapse loops add into it). Then :func:`neuro.lif_kernels.lif_step`'s operations
    in its order, step by step from a zero membrane, the membranes and spikes carried in
    registers: ``spikes[t * n_b + b, k]`` (``[T * B, O]``), ``mems[(t % n_mems) * n_b + b, k]``
    (``[n_mems * B, O]``, a ring when ``n_mems < T``; ``None``: not written), ``bits[b, k]``
    (uint32, bit ``t`` = a spike at step ``t``, ``T <= 32``; ``None``: not written). ``bias``
    (length >= k0 + 16, ``None``: none) is added to the current first, as the unfused path
    does. Neurons ``>= spikes.shape[1]`` (the last block's padding) are computed, not stored.
    """
    if not (_matrices(cur, spikes) and isinstance(reset_value, types.Boolean)
            and (isinstance(bias, types.NoneType) or (isinstance(bias, types.Array) and bias.dtype == cur.dtype))
            and (isinstance(mems, types.NoneType) or _matrices(cur, mems))
            and (isinstance(bits, types.NoneType) or (isinstance(bits, types.Array) and bits.ndim == 2
                                                      and bits.dtype == types.uint32))):
        return None
    sig = types.void(cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, bits)

    def codegen(context, builder, sig, args):
        tys = sig.args
        intp = context.get_value_type(types.intp)
        i32 = ir.IntType(32)
        c = _Rows(context, builder, tys[0], args[0])
        spk_rows = _Rows(context, builder, tys[7], args[7])
        mem_rows = None if isinstance(tys[10], types.NoneType) else _Rows(context, builder, tys[10], args[10])
        bit_rows = None if isinstance(tys[11], types.NoneType) else _Rows(context, builder, tys[11], args[11])
        k0v, n, bv, nb = (_intp(context, builder, args[k], tys[k]) for k in (1, 2, 8, 9))
        dtype = tys[0].dtype
        vec, elt = c.vec, c.vec.element
        thr_v, beta_v = (_splat(builder, vec, context.cast(builder, args[k], tys[k], dtype)) for k in (4, 5))
        one, zero = ir.Constant(vec, [1.0] * WIDTH), ir.Constant(vec, [0.0] * WIDTH)
        bias_v = None
        if not isinstance(tys[3], types.NoneType):
            bias_ary = context.make_array(tys[3])(context, builder, args[3])
            ptr = builder.bitcast(builder.gep(bias_ary.data, [k0v]), vec.as_pointer())
            bias_v = builder.load(ptr, align=c.align)
        n_valid = builder.sub(spk_rows.n_cols, k0v)
        n_mems = None
        if mem_rows is not None:
            n_mems = builder.udiv(cgutils.unpack_tuple(builder, mem_rows.ary.shape, 2)[0], nb)
        bits_vec = ir.VectorType(i32, WIDTH)
        m = cgutils.alloca_once_value(builder, zero)
        s = cgutils.alloca_once_value(builder, zero)
        acc = cgutils.alloca_once_value(builder, ir.Constant(bits_vec, [0] * WIDTH))
        mem_t = cgutils.alloca_once_value(builder, ir.Constant(intp, 0))
        width = ir.Constant(intp, WIDTH)

        def steps(reset_to_value: bool):
            n_tiles = builder.udiv(builder.add(n, ir.Constant(intp, WIDTH - 1)), width)
            with cgutils.for_range(builder, n_tiles) as loop:
                c0 = builder.mul(loop.index, width)
                rows = []
                for i in range(WIDTH):
                    r = builder.add(k0v, ir.Constant(intp, i))
                    rows.append(c.load(r, c0))
                    c.store(zero, r, c0)
                for j, cur_t in enumerate(_transposed(builder, rows)):
                    t = builder.add(c0, ir.Constant(intp, j))
                    with builder.if_then(builder.icmp_signed("<", t, n), likely=True):
                        if bias_v is not None:
                            cur_t = builder.fadd(cur_t, bias_v)
                        mv, sv = builder.load(m), builder.load(s)
                        if reset_to_value:  # (one - s) * m * beta + cur
                            mt = builder.fadd(builder.fmul(builder.fmul(builder.fsub(one, sv), mv), beta_v), cur_t)
                        else:  # m * beta + cur - thr * s
                            mt = builder.fsub(builder.fadd(builder.fmul(mv, beta_v), cur_t), builder.fmul(thr_v, sv))
                        fired = builder.fcmp_ordered(">", mt, thr_v)
                        st = builder.select(fired, one, zero)
                        builder.store(mt, m)
                        builder.store(st, s)
                        _store_lanes(context, builder, spk_rows, st, builder.add(builder.mul(t, nb), bv), k0v, n_valid)
                        if mem_rows is not None:  # row t % n_mems, kept by a counter (no division)
                            ring = builder.load(mem_t)
                            row = builder.add(builder.mul(ring, nb), bv)
                            _store_lanes(context, builder, mem_rows, mt, row, k0v, n_valid)
                            ring = builder.add(ring, ir.Constant(intp, 1))
                            builder.store(builder.select(builder.icmp_signed("==", ring, n_mems),
                                                         ir.Constant(intp, 0), ring), mem_t)
                        if bit_rows is not None:
                            shift = _splat(builder, bits_vec, builder.trunc(t, i32))
                            bit = builder.shl(builder.zext(fired, bits_vec), shift)
                            builder.store(builder.or_(builder.load(acc), bit), acc)

        with builder.if_else(args[6]) as (to_value, by_subtraction):
            with to_value:
                steps(True)
            with by_subtraction:
                steps(False)
        if bit_rows is not None:
            _store_lanes(context, builder, bit_rows, builder.load(acc), bv, k0v, n_valid)
        return context.get_dummy_value()

    return sig, codegen
