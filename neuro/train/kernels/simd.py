"""Vector primitives numba's loops do not produce, as LLVM IR intrinsics (numba ``@intrinsic``).

For the fused sparse layers (:mod:`sparse_neuro.neuro.train.kernels.fused_lif`), whose inner loops
work on rows of 16 to 64 values (a spike train over the steps, a row of neurons):

* :func:`axpy_row`: ``dst[i, :] += a * src[j, :]`` as vector operations. In a numba loop LLVM
  cannot know that the two rows do not overlap: it checks at run time before every row (the
  rows are short, so the checks cost as much as the work) or gives up vectorising.
* :func:`dot_row`: ``a[i, :] @ b[j, :]`` with one vector accumulator and one horizontal sum.
* :func:`lif_tile`, :func:`lif_grad_tile`: the LIF steps, forward and back in time, of 16
  neurons in registers, from and to trains (neurons x steps): 16 x 16 tiles transposed in
  registers (four perfect shuffles, ``shufflevector``), the membranes, spikes, spike bits and
  gradients carried from step to step in registers. With the steps of
  :mod:`sparse_neuro.neuro.train.kernels.lif_steps` over rows of neurons, a sample's currents went
  through a transposed copy in L2 and every step loaded and stored its rows (forward pass 15-27%
  slower, measured).

Arrays are 2-D, C-contiguous, of one float dtype (spike bits: uint32), and rows a multiple of
:data:`WIDTH` long (:func:`axpy_row`, :func:`dot_row`, the trains of the tiles); nothing is
bounds-checked. ``axpy_row`` multiplies then
adds, as ``dst[i, t] += a * src[j, t]`` does (no fused multiply-add): the same results to the
last bit; ``dot_row`` sums in its own fixed order.
"""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["WIDTH", "axpy_row", "dot_row", "lif_grad_tile", "lif_tile", "scatter_row"]

#: Elements per vector (AVX-512 float32); also the tile size of :func:`lif_tile` and :func:`lif_grad_tile`.
WIDTH = 16


def _matrices(*arrays) -> bool:
    return all(
        isinstance(a, types.Array)
        and a.ndim == 2
        and a.dtype == arrays[0].dtype
        and isinstance(a.dtype, types.Float)
        for a in arrays
    )


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
    return builder.shuffle_vector(
        first, undef, ir.Constant(ir.VectorType(ir.IntType(32), WIDTH), [0] * WIDTH)
    )


def _vector_fn(builder, name: str, vec, ret, arg_types):
    """The LLVM intrinsic ``llvm.<name>.v16f32`` (or ``v16f64``, by ``vec``'s element type)."""
    suffix = f"v{WIDTH}f{'32' if isinstance(vec.element, ir.FloatType) else '64'}"
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ret, arg_types), f"llvm.{name}.{suffix}"
    )


def _transposed(builder, rows):
    """The 16 x 16 tile of ``rows`` (16 vectors) transposed: four perfect shuffles."""
    mask = ir.VectorType(ir.IntType(32), WIDTH)
    half = WIDTH // 2
    lo = ir.Constant(mask, [v for k in range(half) for v in (k, k + WIDTH)])
    hi = ir.Constant(mask, [v for k in range(half, WIDTH) for v in (k, k + WIDTH)])
    for _ in range(4):  # out[2k] = (a0 b0 a1 b1 ...), out[2k + 1] = (a8 b8 ...) of rows k, k + 8
        rows = [
            builder.shuffle_vector(rows[k], rows[k + half], m)
            for k in range(half)
            for m in (lo, hi)
        ]
    return rows


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
def scatter_row(typingctx, dst, cols, w, s0, s1, src, i):
    """``dst[cols[s], :] += w[s] * src[i, :]`` for ``s`` from ``s0`` to ``s1 - 1`` (the synapses
    of input ``i`` in a CSR row): each chunk of 16 of ``src``'s row loaded once, then one multiply
    and one add per synapse (as :func:`axpy_row`, so the same results to the last bit)."""
    if not (
        _matrices(dst, src)
        and isinstance(cols, types.Array)
        and isinstance(cols.dtype, types.Integer)
        and isinstance(w, types.Array)
        and w.dtype == dst.dtype
    ):
        return None
    sig = types.void(dst, cols, w, s0, s1, src, i)

    def codegen(context, builder, sig, args):
        tys = sig.args
        d = _Rows(context, builder, tys[0], args[0])
        s = _Rows(context, builder, tys[5], args[5])
        cols_ary = context.make_array(tys[1])(context, builder, args[1])
        w_ary = context.make_array(tys[2])(context, builder, args[2])
        first, last, iv = (_intp(context, builder, args[k], tys[k]) for k in (3, 4, 6))
        with _row_chunks(context, builder, d) as col:
            v = s.load(iv, col)
            with cgutils.for_range(builder, builder.sub(last, first)) as loop:
                syn = builder.add(first, loop.index)
                k = context.cast(
                    builder,
                    builder.load(builder.gep(cols_ary.data, [syn])),
                    tys[1].dtype,
                    types.intp,
                )
                a = _splat(builder, d.vec, builder.load(builder.gep(w_ary.data, [syn])))
                d.store(builder.fadd(d.load(k, col), builder.fmul(a, v)), k, col)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def dot_row(typingctx, a, i, b, j):
    """``a[i, :] @ b[j, :]`` (rows of ``a``'s length, a multiple of 16): products summed into
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
            builder.store(
                builder.fadd(builder.load(acc), builder.fmul(x.load(iv, col), y.load(jv, col))), acc
            )
        v, width = builder.load(acc), WIDTH
        while width > 1:  # halves added: 16 -> 8 -> 4 -> 2 -> 1
            width //= 2
            mask = ir.VectorType(ir.IntType(32), width)
            v = builder.fadd(
                builder.shuffle_vector(v, v, ir.Constant(mask, list(range(width)))),
                builder.shuffle_vector(v, v, ir.Constant(mask, list(range(width, 2 * width)))),
            )
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
                builder.store(
                    builder.extract_element(value, lane.index), builder.gep(base, [lane.index])
                )


@intrinsic
def lif_tile(
    typingctx, cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, keep, pos, bits
):
    """The LIF steps of the 16 neurons ``k0`` to ``k0 + 15`` of one sample, in registers.

    ``cur`` [>= k0 + 16, lanes]: their input current trains (neurons x steps, the layout of the
    synapse loops), read by 16 x 16 tiles, transposed in registers and left zeroed (the next
    sample's synapse loops add into it). Then
    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_step`'s operations in its order, step by
    step from a zero membrane, the membranes and spikes carried in registers:
    ``spikes[t * n_b + b, k]`` (``[T * B, O]``); the membranes of the block's neurons with
    ``keep[k] != 0`` (uint8, length >= k0 + 16), one after the other from ``mems[t * n_b + b, pos]``
    (``[T * B, n_kept]``, ``pos``: the neurons kept before ``k0``; one compress-store per step;
    ``None``: not written); ``bits[b, k]`` (uint32, bit ``t`` = a spike at step ``t``, ``T <= 32``;
    ``None``: not written). ``bias`` (length >= k0 + 16, ``None``: none) is added to the current
    first, as the unfused path does. Neurons ``>= spikes.shape[1]`` (the last block's padding) are
    computed, not stored.
    """
    if not (
        _matrices(cur, spikes)
        and isinstance(reset_value, types.Boolean)
        and (
            isinstance(bias, types.NoneType)
            or (isinstance(bias, types.Array) and bias.dtype == cur.dtype)
        )
        and (
            isinstance(mems, types.NoneType)
            or (
                _matrices(cur, mems) and isinstance(keep, types.Array) and keep.dtype == types.uint8
            )
        )
        and (
            isinstance(bits, types.NoneType)
            or (isinstance(bits, types.Array) and bits.ndim == 2 and bits.dtype == types.uint32)
        )
    ):
        return None
    sig = types.void(
        cur, k0, n_steps, bias, thr, beta, reset_value, spikes, b, n_b, mems, keep, pos, bits
    )

    def codegen(context, builder, sig, args):
        tys = sig.args
        intp = context.get_value_type(types.intp)
        i32 = ir.IntType(32)
        c = _Rows(context, builder, tys[0], args[0])
        spk_rows = _Rows(context, builder, tys[7], args[7])
        mem_rows = (
            None
            if isinstance(tys[10], types.NoneType)
            else _Rows(context, builder, tys[10], args[10])
        )
        bit_rows = (
            None
            if isinstance(tys[13], types.NoneType)
            else _Rows(context, builder, tys[13], args[13])
        )
        k0v, n, bv, nb = (_intp(context, builder, args[k], tys[k]) for k in (1, 2, 8, 9))
        dtype = tys[0].dtype
        vec, elt = c.vec, c.vec.element
        thr_v, beta_v = (
            _splat(builder, vec, context.cast(builder, args[k], tys[k], dtype)) for k in (4, 5)
        )
        one, zero = ir.Constant(vec, [1.0] * WIDTH), ir.Constant(vec, [0.0] * WIDTH)
        bias_v = None
        if not isinstance(tys[3], types.NoneType):
            bias_ary = context.make_array(tys[3])(context, builder, args[3])
            ptr = builder.bitcast(builder.gep(bias_ary.data, [k0v]), vec.as_pointer())
            bias_v = builder.load(ptr, align=c.align)
        n_valid = builder.sub(spk_rows.n_cols, k0v)
        if mem_rows is not None:  # llvm.masked.compressstore: the kept lanes, one after the other
            keep_ary = context.make_array(tys[11])(context, builder, args[11])
            mask_bytes = ir.VectorType(ir.IntType(8), WIDTH)
            keep_v = builder.load(
                builder.bitcast(builder.gep(keep_ary.data, [k0v]), mask_bytes.as_pointer()), align=1
            )
            kept = builder.icmp_unsigned("!=", keep_v, ir.Constant(mask_bytes, [0] * WIDTH))
            pos = _intp(context, builder, args[12], tys[12])
            compress = _vector_fn(
                builder,
                "masked.compressstore",
                vec,
                ir.VoidType(),
                [vec, elt.as_pointer(), kept.type],
            )
        bits_vec = ir.VectorType(i32, WIDTH)
        m = cgutils.alloca_once_value(builder, zero)
        s = cgutils.alloca_once_value(builder, zero)
        acc = cgutils.alloca_once_value(builder, ir.Constant(bits_vec, [0] * WIDTH))
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
                            mt = builder.fadd(
                                builder.fmul(builder.fmul(builder.fsub(one, sv), mv), beta_v), cur_t
                            )
                        else:  # m * beta + cur - thr * s
                            mt = builder.fsub(
                                builder.fadd(builder.fmul(mv, beta_v), cur_t),
                                builder.fmul(thr_v, sv),
                            )
                        fired = builder.fcmp_ordered(">", mt, thr_v)
                        st = builder.select(fired, one, zero)
                        builder.store(mt, m)
                        builder.store(st, s)
                        _store_lanes(
                            context,
                            builder,
                            spk_rows,
                            st,
                            builder.add(builder.mul(t, nb), bv),
                            k0v,
                            n_valid,
                        )
                        if mem_rows is not None:
                            row = builder.add(builder.mul(t, nb), bv)
                            ptr = builder.gep(
                                mem_rows.ary.data,
                                [builder.add(builder.mul(row, mem_rows.n_cols), pos)],
                            )
                            builder.call(compress, [mt, ptr, kept])
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


def _load_lanes(context, builder, rows: _Rows, row, col, n_valid):
    """``rows[row, col:col + WIDTH]``; only the first ``n_valid`` lanes read when fewer than
    ``WIDTH`` (the others zero)."""
    intp = context.get_value_type(types.intp)
    out = cgutils.alloca_once_value(builder, ir.Constant(rows.vec, [0] * WIDTH))
    full = builder.icmp_signed(">=", n_valid, ir.Constant(intp, WIDTH))
    with builder.if_else(full, likely=True) as (whole, part):
        with whole:
            builder.store(rows.load(row, col), out)
        with part:
            base = builder.bitcast(rows.ptr(row, col), rows.vec.element.as_pointer())
            with cgutils.for_range(builder, n_valid) as lane:
                value = builder.load(builder.gep(base, [lane.index]))
                builder.store(builder.insert_element(builder.load(out), value, lane.index), out)
    return builder.load(out)


@intrinsic
def lif_grad_tile(typingctx, mems, g_spk, g_mem, resets, k0, n_steps, b, n_b, consts, kind, delta):
    """The membrane gradient of the 16 neurons ``k0`` to ``k0 + 15`` of one sample, back in time
    in registers, stored as trains ``delta[k, t]`` (neurons x steps, padding steps zero).

    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_grad_step`'s operations in its order
    (without k-WTA): ``delta_t = g_mem + g_spk S'(m_t - thr) + k_{t+1} delta_{t+1}``. ``mems``,
    ``g_spk``, ``g_mem``, ``resets`` are ``[T * B, O]`` with rows ``t * n_b + b`` (``None``: zero;
    for ``resets``: reset by subtraction); ``consts`` from
    :func:`sparse_neuro.neuro.train.kernels.lif_steps.lif_consts`, ``kind`` a surrogate code
    (:data:`sparse_neuro.neuro.train.kernels.lif_steps.SURROGATE_CODES`). ``delta`` has at least
    ``k0 + 16`` rows; the rows of neurons ``>= mems.shape[1]`` get zeros.
    """
    optional = (g_spk, g_mem, resets)
    if not (
        _matrices(mems, delta)
        and all(isinstance(a, types.NoneType) or _matrices(mems, a) for a in optional)
        and isinstance(kind, types.Integer)
    ):
        return None
    sig = types.void(mems, g_spk, g_mem, resets, k0, n_steps, b, n_b, consts, kind, delta)

    def codegen(context, builder, sig, args):
        tys = sig.args
        intp = context.get_value_type(types.intp)
        m_rows = _Rows(context, builder, tys[0], args[0])
        spk_g, mem_g, rst = (
            None if isinstance(tys[k], types.NoneType) else _Rows(context, builder, tys[k], args[k])
            for k in (1, 2, 3)
        )
        out = _Rows(context, builder, tys[10], args[10])
        k0v, n, bv, nb = (_intp(context, builder, args[k], tys[k]) for k in (4, 5, 6, 7))
        vec = m_rows.vec
        consts_ary = context.make_array(tys[8])(context, builder, args[8])
        thr, beta, scale, one, half_pi_scale, zero = (
            _splat(builder, vec, builder.load(builder.gep(consts_ary.data, [ir.Constant(intp, i)])))
            for i in range(6)
        )
        fabs = _vector_fn(builder, "fabs", vec, vec, [vec])
        n_valid = builder.sub(m_rows.n_cols, k0v)
        width = ir.Constant(intp, WIDTH)
        n_tiles = builder.udiv(builder.add(n, ir.Constant(intp, WIDTH - 1)), width)
        nxt = cgutils.alloca_once_value(builder, ir.Constant(vec, [0.0] * WIDTH))
        slots = [cgutils.alloca_once(builder, vec) for _ in range(WIDTH)]

        def derivative(x, code):  # sparse_neuro.neuro.train.kernels.lif_steps.surrogate_derivative
            if code == 0:
                d = builder.fadd(builder.fmul(scale, builder.call(fabs, [x])), one)
                return builder.fdiv(one, builder.fmul(d, d))
            if code == 1:
                u = builder.fmul(half_pi_scale, x)
                return builder.fdiv(
                    builder.fdiv(scale, builder.fadd(one, one)),
                    builder.fadd(one, builder.fmul(u, u)),
                )
            v = builder.fsub(one, builder.fdiv(builder.call(fabs, [x]), scale))
            return builder.select(builder.fcmp_ordered(">", v, zero), v, zero)

        def steps(code):
            with cgutils.for_range(builder, n_tiles) as loop:  # tiles from the last
                c0 = builder.mul(
                    builder.sub(builder.sub(n_tiles, loop.index), ir.Constant(intp, 1)), width
                )
                for j in range(WIDTH - 1, -1, -1):
                    builder.store(zero, slots[j])  # padding steps
                    t = builder.add(c0, ir.Constant(intp, j))
                    with builder.if_then(builder.icmp_signed("<", t, n), likely=True):
                        row = builder.add(builder.mul(t, nb), bv)
                        v = zero
                        if spk_g is not None:
                            d = derivative(
                                builder.fsub(
                                    _load_lanes(context, builder, m_rows, row, k0v, n_valid), thr
                                ),
                                code,
                            )
                            v = builder.fmul(
                                _load_lanes(context, builder, spk_g, row, k0v, n_valid), d
                            )
                        if mem_g is not None:
                            v = builder.fadd(
                                _load_lanes(context, builder, mem_g, row, k0v, n_valid), v
                            )
                        if rst is not None:  # (one - r) * beta * delta_{t+1}
                            k = builder.fmul(
                                builder.fsub(
                                    one, _load_lanes(context, builder, rst, row, k0v, n_valid)
                                ),
                                beta,
                            )
                        else:
                            k = beta
                        v = builder.fadd(
                            v, builder.fmul(k, builder.load(nxt))
                        )  # zero at the last step
                        builder.store(v, nxt)
                        builder.store(v, slots[j])
                rows = _transposed(builder, [builder.load(slot) for slot in slots])
                for i in range(WIDTH):
                    out.store(rows[i], builder.add(k0v, ir.Constant(intp, i)), c0)

        code = _intp(context, builder, args[9], tys[9])
        with builder.if_else(builder.icmp_signed("==", code, ir.Constant(intp, 0))) as (
            fast_sigmoid,
            other,
        ):
            with fast_sigmoid:
                steps(0)
            with other:
                with builder.if_else(builder.icmp_signed("==", code, ir.Constant(intp, 1))) as (
                    arctan,
                    triangle,
                ):
                    with arctan:
                        steps(1)
                    with triangle:
                        steps(2)
        return context.get_dummy_value()

    return sig, codegen
