"""Plasticity kernels of the clock engine: trace STDP (pair, triplet, reward-modulated).

The rules are described by :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule` (see its
module for the equations). :func:`build_plastic_plan` turns the plastic projections of a network
into arrays: per rule a parameter row, per projection a CSC permutation (for each postsynaptic
neuron the global ids of its incoming synapses) so that a postsynaptic spike touches only
that neuron's fan-in. Traces live per presynaptic and per postsynaptic neuron together
with the step of their last update and are decayed analytically (``x exp(-k dt / tau)``,
looked up in a table for small ``k``) only when an event needs them; only existing synapses
change (the CSR pattern is fixed).

:func:`plastic_events` is called by the clock engine once per step in which something
spiked, after propagation (so a spike is transmitted with the weight it had before the
update, as in Brian2's ``on_pre``) and before the reset: all presynaptic events of the
step first, then all postsynaptic ones.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload

from sparse_neuro.neuro.engines.primitives import step_kernel
from sparse_neuro.neuro.jit import check_keyed, njit

__all__ = [
    "PlasticPlan",
    "build_plastic_plan",
    "plastic_events",
    "deliver_reward",
    "register_rule",
    "walk_events",
]

# rows of PlasticPlan.par
P_APLUS, P_AMINUS, P_A3PLUS, P_A3MINUS, P_WMIN, P_WMAX, P_MUP, P_MUM, P_NEAREST, P_REWARD = range(
    10
)
N_PAR = 10
# rows of PlasticPlan.ints
I_SRC_LO, I_SRC_HI, I_TGT_LO, I_TGT_HI, I_PRE_OFF, I_POST_OFF, I_CSC_OFF, I_PROJ = range(8)
N_INT = 8
# decay tables: x1 (tau_plus), x2 (tau_x), y1 (tau_minus), y2 (tau_y), eligibility
T_X1, T_X2, T_Y1, T_Y2, T_E = range(5)
TABLE_LEN = 4096
DECAY_CUTOFF = 50.0


class PlasticPlan(NamedTuple):
    """Arrays of the plastic projections of a plan (see module docstring); a numba record.

    Attributes
    ----------
    projections : ndarray of int64 (n_plastic,)
        Projection index of each plastic projection.
    ints : ndarray of int64 (n_plastic, 8)
        Source/target global id ranges, trace offsets, CSC pointer offset, projection.
    par : ndarray of float64 (n_plastic, 10)
        Amplitudes, bounds, exponents, pairing and reward flags.
    tau_steps : ndarray of float64 (n_plastic, 5)
        ``dt / tau`` of the traces x1, x2, y1, y2 and the eligibility.
    decay : ndarray of float64 (n_plastic, 5, TABLE_LEN)
        ``exp(-k dt / tau)`` for ``k < TABLE_LEN``.
    csc_ptr, csc_syn, csc_pre : ndarray of int64
        Concatenated per projection: incoming synapses (global ids) and their local
        presynaptic index, for each postsynaptic neuron.
    n_pre, n_post : int
        Total number of presynaptic / postsynaptic trace slots.
    learning_rate : ndarray of float64 (n_plastic,)
        Initial learning rates.
    """

    projections: np.ndarray
    ints: np.ndarray
    par: np.ndarray
    tau_steps: np.ndarray
    decay: np.ndarray
    csc_ptr: np.ndarray
    csc_syn: np.ndarray
    csc_pre: np.ndarray
    n_pre: int
    n_post: int
    learning_rate: np.ndarray

    @property
    def n_plastic(self) -> int:
        """Number of plastic projections."""
        return int(self.projections.size)

    @property
    def any_reward(self) -> bool:
        """Some rule is reward-modulated (the state then holds eligibility traces)."""
        return bool(np.any(self.par[:, P_REWARD] > 0))


def build_plastic_plan(
    network, dt_s: float, group_offsets: np.ndarray, names: list[str], syn_start: np.ndarray
) -> PlasticPlan:
    """Arrays for the projections whose ``plasticity`` is a
    :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule`.

    Other rule types (e.g. a hardware model's own) are left to their backend.
    """
    from sparse_neuro.neuro.model.plasticity_rules import STDPRule

    rows, ints, pars, taus, ptrs, syns, pres, lrs = [], [], [], [], [], [], [], []
    pre_off = post_off = csc_off = 0
    for p, pr in enumerate(network.projections):
        rule = pr.plasticity
        if not isinstance(rule, STDPRule):
            continue
        syn = pr.synapses
        g_src = names.index(pr.source)
        g_tgt = names.index(pr.target)
        n_pre, n_post = syn.shape
        ints.append(
            [
                group_offsets[g_src],
                group_offsets[g_src] + n_pre,
                group_offsets[g_tgt],
                group_offsets[g_tgt] + n_post,
                pre_off,
                post_off,
                csc_off,
                p,
            ]
        )
        pars.append(
            [
                rule.a_plus,
                rule.a_minus,
                rule.a3_plus,
                rule.a3_minus,
                rule.w_min,
                rule.w_max,
                rule.mu_plus,
                rule.mu_minus,
                float(rule.pairing == "nearest"),
                float(rule.reward_modulated),
            ]
        )
        tau_e = rule.tau_eligibility_s if rule.reward_modulated else math.inf
        taus.append(
            [
                dt_s / rule.tau_plus_s,
                dt_s / rule.tau_x_s,
                dt_s / rule.tau_minus_s,
                dt_s / rule.tau_y_s,
                dt_s / tau_e,
            ]
        )
        pre_local = syn.pre_indices().astype(np.int64)
        order = np.argsort(syn.indices, kind="stable")  # by post, then by pre (CSR order)
        counts = np.bincount(syn.indices, minlength=n_post)
        ptr = np.zeros(n_post + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        ptrs.append(ptr)
        syns.append(order.astype(np.int64) + syn_start[p])
        pres.append(pre_local[order])
        lrs.append(rule.learning_rate)
        rows.append(p)
        pre_off += n_pre
        post_off += n_post
        csc_off += n_post + 1
    tau_steps = np.asarray(taus, dtype=np.float64).reshape(-1, 5)
    k = np.arange(TABLE_LEN, dtype=np.float64)
    decay = np.exp(-tau_steps[:, :, None] * k[None, None, :])

    def cat(a: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(a).astype(np.int64) if a else np.zeros(0, np.int64)

    return PlasticPlan(
        projections=np.asarray(rows, dtype=np.int64),
        ints=np.asarray(ints, dtype=np.int64).reshape(-1, N_INT),
        par=np.asarray(pars, dtype=np.float64).reshape(-1, N_PAR),
        tau_steps=tau_steps,
        decay=decay,
        csc_ptr=cat(ptrs),
        csc_syn=cat(syns),
        csc_pre=cat(pres),
        n_pre=pre_off,
        n_post=post_off,
        learning_rate=np.asarray(lrs, dtype=np.float64),
    )


@njit(nogil=True, inline="always")
def _decay(decay, tau_steps, q, which, k):
    """``exp(-k dt / tau)`` of trace ``which`` of plastic projection ``q``; 0 beyond
    ``e^-50`` (2e-22: a trace that small changes no float64 weight, and skipping it saves
    an ``exp`` per synapse of long-silent neurons)."""
    if k < decay.shape[2]:
        return decay[q, which, k]
    x = k * tau_steps[q, which]
    if x > DECAY_CUTOFF:
        return 0.0
    return math.exp(-x)


@step_kernel
def _depress(q, n, lo, hi, amp, pl, indices, st):
    """Depression of synapses ``[lo, hi)`` (one presynaptic row) by the post traces."""
    post0 = pl.ints[q, I_POST_OFF]
    mu = pl.par[q, P_MUM]
    wmin = pl.par[q, P_WMIN]
    wmax = pl.par[q, P_WMAX]
    reward = pl.par[q, P_REWARD] > 0.0
    decay, tau_steps = pl.decay, pl.tau_steps
    weights, post_tr, post_last = st.weights, st.post_trace, st.post_last
    elig, elig_last = st.eligibility, st.elig_last
    for s in range(lo, hi):
        kk = post0 + indices[s]
        y1 = post_tr[kk, 0]
        if y1 == 0.0:
            continue
        y1 *= _decay(decay, tau_steps, q, T_Y1, n - post_last[kk])
        if y1 == 0.0:
            continue
        dw = -amp * y1
        if mu != 0.0:
            gap = weights[s] - wmin
            gap = gap if gap > 0.0 else 0.0
            dw *= gap if mu == 1.0 else gap**mu
        # the update is written out in these small loop functions: a helper call per
        # synapse, or the loop inlined into the step kernel, was 5-20x slower
        if reward:
            e = elig[s] * _decay(decay, tau_steps, q, T_E, n - elig_last[s])
            elig[s] = e + dw
            elig_last[s] = n
        else:
            w = weights[s] + dw
            weights[s] = wmin if w < wmin else (wmax if w > wmax else w)
    return 0


class FloatLearn(NamedTuple):
    """What the float rule's event functions read and write (a numba record): the plan's
    :class:`PlasticPlan`, its routing record and the state record."""

    pl: PlasticPlan
    rt: object
    st: object


@step_kernel
def _on_pre(q, i, n, c):
    """Presynaptic spike of local neuron ``i`` of plastic projection ``q`` in step ``n``
    (``c`` a :class:`FloatLearn`)."""
    pl, rt, st = c.pl, c.rt, c.st
    k = pl.ints[q, I_PRE_OFF] + i
    dk = n - st.pre_last[k]
    x1 = st.pre_trace[k, 0] * _decay(pl.decay, pl.tau_steps, q, T_X1, dk)
    x2 = st.pre_trace[k, 1] * _decay(pl.decay, pl.tau_steps, q, T_X2, dk)
    amp = st.learning_rate[q] * (pl.par[q, P_AMINUS] + pl.par[q, P_A3MINUS] * x2)
    if amp != 0.0:
        p = pl.ints[q, I_PROJ]
        base = rt.p_syn0[p]
        lo = base + rt.indptr[rt.p_iptr0[p] + i]
        hi = base + rt.indptr[rt.p_iptr0[p] + i + 1]
        _depress(q, n, lo, hi, amp, pl, rt.indices, st)
    if pl.par[q, P_NEAREST] > 0.0:
        x1 = 1.0
        x2 = 1.0
    else:
        x1 += 1.0
        x2 += 1.0
    st.pre_trace[k, 0] = x1
    st.pre_trace[k, 1] = x2
    st.pre_last[k] = n


@step_kernel
def _potentiate(q, n, c_lo, c_hi, amp, pl, st):
    """Potentiation of one postsynaptic neuron's incoming synapses ``csc_syn[c_lo:c_hi]``."""
    pre0 = pl.ints[q, I_PRE_OFF]
    mu = pl.par[q, P_MUP]
    wmin = pl.par[q, P_WMIN]
    wmax = pl.par[q, P_WMAX]
    reward = pl.par[q, P_REWARD] > 0.0
    decay, tau_steps, csc_syn, csc_pre = pl.decay, pl.tau_steps, pl.csc_syn, pl.csc_pre
    weights, pre_tr, pre_last = st.weights, st.pre_trace, st.pre_last
    elig, elig_last = st.eligibility, st.elig_last
    for c in range(c_lo, c_hi):
        k = pre0 + csc_pre[c]
        x1 = pre_tr[k, 0]
        if x1 == 0.0:
            continue
        x1 *= _decay(decay, tau_steps, q, T_X1, n - pre_last[k])
        if x1 == 0.0:
            continue
        s = csc_syn[c]
        dw = amp * x1
        if mu != 0.0:
            gap = wmax - weights[s]
            gap = gap if gap > 0.0 else 0.0
            dw *= gap if mu == 1.0 else gap**mu
        if reward:
            e = elig[s] * _decay(decay, tau_steps, q, T_E, n - elig_last[s])
            elig[s] = e + dw
            elig_last[s] = n
        else:
            w = weights[s] + dw
            weights[s] = wmin if w < wmin else (wmax if w > wmax else w)
    return 0


@step_kernel
def _on_post(q, j, n, c):
    """Postsynaptic spike of local neuron ``j`` of plastic projection ``q`` in step ``n``
    (``c`` a :class:`FloatLearn`)."""
    pl, st = c.pl, c.st
    kk = pl.ints[q, I_POST_OFF] + j
    dk = n - st.post_last[kk]
    y1 = st.post_trace[kk, 0] * _decay(pl.decay, pl.tau_steps, q, T_Y1, dk)
    y2 = st.post_trace[kk, 1] * _decay(pl.decay, pl.tau_steps, q, T_Y2, dk)
    amp = st.learning_rate[q] * (pl.par[q, P_APLUS] + pl.par[q, P_A3PLUS] * y2)
    if amp != 0.0:
        c0 = pl.ints[q, I_CSC_OFF] + j
        _potentiate(q, n, pl.csc_ptr[c0], pl.csc_ptr[c0 + 1], amp, pl, st)
    if pl.par[q, P_NEAREST] > 0.0:
        y1 = 1.0
        y2 = 1.0
    else:
        y1 += 1.0
        y2 += 1.0
    st.post_trace[kk, 0] = y1
    st.post_trace[kk, 1] = y2
    st.post_last[kk] = n


def on_pre(q, i, n, ctx):
    """Learning at a presynaptic spike of local neuron ``i`` of plastic projection ``q`` in
    step ``n``, for the rule whose context record is ``ctx`` (compiled code only; see
    :func:`register_rule`)."""
    raise NotImplementedError("a learning rule runs inside compiled code only")


def on_post(q, j, n, ctx):
    """Learning at a postsynaptic spike of local neuron ``j`` (see :func:`on_pre`)."""
    raise NotImplementedError("a learning rule runs inside compiled code only")


def register_rule(record: type, pre_impl, post_impl) -> None:
    """Make ``pre_impl`` / ``post_impl`` (numba functions ``(q, i, n, ctx)``) the event
    functions :func:`walk_events` calls when its context is a ``record`` (a NamedTuple
    class): the float rule here, Loihi's fixed-point rule in
    :mod:`sparse_neuro.hardware_models.fixed_point_stdp`. One event walk, bound per rule, as the
    step loop's stages are bound per backend
    (:func:`sparse_neuro.neuro.engines.loop.register_stages`)."""

    check_keyed(pre_impl, post_impl)

    def _is(ctx):
        return isinstance(ctx, types.BaseNamedTuple) and ctx.instance_class is record

    @overload(on_pre, inline="always")
    def _pre(q, i, n, ctx):
        if _is(ctx):
            return lambda q, i, n, ctx: pre_impl(q, i, n, ctx)
        return None

    @overload(on_post, inline="always")
    def _post(q, j, n, ctx):
        if _is(ctx):
            return lambda q, j, n, ctx: post_impl(q, j, n, ctx)
        return None


@step_kernel
def walk_events(n, spiking, n_spk, ext_ids, e0, e1, ints, ctx):
    """The learning events of step ``n`` in the clock engine's order: every presynaptic
    event (neurons ``spiking[:n_spk]``, then source channels ``ext_ids[e0:e1]``), then every
    postsynaptic event, each passed to the rule bound to ``ctx``'s record class. ``ints`` is
    the :class:`PlasticPlan`'s id table (source/target ranges per plastic projection)."""
    n_pl = ints.shape[0]
    for q in range(n_pl):
        lo = ints[q, I_SRC_LO]
        hi = ints[q, I_SRC_HI]
        for r in range(n_spk):
            g = spiking[r]
            if lo <= g < hi:
                on_pre(q, g - lo, n, ctx)
        for e in range(e0, e1):
            g = ext_ids[e]
            if lo <= g < hi:
                on_pre(q, g - lo, n, ctx)
    for q in range(n_pl):
        lo = ints[q, I_TGT_LO]
        hi = ints[q, I_TGT_HI]
        for r in range(n_spk):
            g = spiking[r]
            if lo <= g < hi:
                on_post(q, g - lo, n, ctx)
    return 0


register_rule(FloatLearn, _on_pre, _on_post)


@step_kernel
def plastic_events(n, spiking, n_spk, ext_ids, e0, e1, pl, rt, st):
    """STDP updates of step ``n`` (:func:`walk_events` with the float rule).

    ``pl`` is the plan's :class:`PlasticPlan`, ``rt`` its routing record and ``st`` the
    state record (weights, traces, eligibility, learning rates)."""
    return walk_events(n, spiking, n_spk, ext_ids, e0, e1, pl.ints, FloatLearn(pl, rt, st))


@njit(nogil=True)
def deliver_reward(n, q, reward, s_lo, s_hi, pl, st):
    """Apply ``w += reward * e(n)`` to synapses ``[s_lo, s_hi)`` of reward-modulated
    projection ``q`` (eligibility decayed to step ``n``), then clip to the bounds."""
    lo = pl.par[q, P_WMIN]
    hi = pl.par[q, P_WMAX]
    weights, elig, elig_last = st.weights, st.eligibility, st.elig_last
    for s in range(s_lo, s_hi):
        e = elig[s] * _decay(pl.decay, pl.tau_steps, q, T_E, n - elig_last[s])
        elig[s] = e
        elig_last[s] = n
        w = weights[s] + reward * e
        weights[s] = lo if w < lo else (hi if w > hi else w)
    return 0
