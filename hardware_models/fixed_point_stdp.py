"""Pair STDP in Loihi's fixed point: integer traces, 8-bit weight mantissas, rounding stated.

The learning stage of the event-queue backend's ``mode="fixed"`` (the float mode runs the
clock engine's :mod:`sparse_neuro.neuro.engines.learn` kernel). Integer state per plastic
projection, with the precisions of Loihi's learning engine:

- traces ``x1`` (per presynaptic neuron, time constant ``tau_plus``) and ``y1`` (per
  postsynaptic neuron, ``tau_minus``): unsigned ``LoihiSpec.trace_bits``-bit integers
  (7 on Loihi: Lava's ``W_TRACE = 7``), saturating at ``2^trace_bits - 1``;
- weights: the signed ``LoihiSpec.weight_bits``-bit mantissa ``m`` of the projection's
  effective weight ``m << (6 + weight_exp)`` (:mod:`sparse_neuro.hardware_models.fixed_point`);
- weight changes accumulate in a 16-bit signed accumulator with ``ACC_FRAC_BITS = 7``
  fractional bits below the mantissa's LSB (Lava: ``W_ACCUMULATOR_S = 16`` minus the
  9-bit signed weight width ``W_WEIGHTS_S``);
- the rule is a sum of products with power-of-two scale factors, as Loihi's learning
  engine evaluates it (Davies et al. 2018, IEEE Micro 38(1), "learning rules as sums of
  products"; Lava's product series): ``dw = -(m_- 2^{e_-}) y1`` at a presynaptic spike and
  ``dw = +(m_+ 2^{e_+}) x1`` at a postsynaptic spike, with scale mantissas of
  ``SCALE_MANT_BITS = 4`` bits (Lava's ``W_S_MANT = 4``).

(Lava: github lava-nc/lava, ``src/lava/magma/core/learning/constants.py`` for the widths;
its bit-approximate ``ConnectionModelBitApproximate`` for stochastic rounding of trace
decay and of the accumulator back to the weight width.)

Per step ``n`` (learning epoch of one step), in the clock engine's order:

1. a trace not touched since step ``l`` is decayed once per step ``t = l+1 .. n``:
   ``p = x d``; ``x = (p >> 12) + round(p mod 4096)`` with the 12-bit decay factor
   ``d = round(4096 exp(-dt / tau))``; rounding of the 12-bit remainder ``r``:
   ``"stochastic"`` adds 1 with probability ``r / 4096``, ``"nearest"`` adds 1 iff
   ``r >= 2048`` (round half up). Decaying lazily gives exactly the eager result because
   each step's random number depends only on (seed, step, trace slot).
2. every presynaptic spike (neurons, then source channels): each synapse of the row with
   ``y1 > 0`` is depressed, then ``x1`` jumps: ``x1 = min(x1 + I, 2^b - 1)``
   (``pairing="all_to_all"``) or ``x1 = I`` (``"nearest"``), ``I`` the trace impulse;
3. every postsynaptic spike: each incoming synapse with ``x1 > 0`` is potentiated, then
   ``y1`` jumps likewise.

A synapse update: ``v = m_c * trace`` shifted by ``e_c`` (left, or right with truncation),
``acc = (m << 7) +- v`` saturated to 16 bits signed, ``m' = acc >> 7`` plus the rounding of
its 7-bit remainder (stochastic: probability ``r / 128``; nearest: ``r >= 64``), then
clipped to the rule's bounds ``[lo, hi]`` (in mantissa units, inside the mantissa range).

Random numbers: a counter-based hash (SplitMix64 finaliser) of (seed, step, slot, stream)
with streams 0 / 1 for the decay of x / y traces (slot = trace index) and 2 / 3 for the
rounding of depression / potentiation (slot = flat synapse id), so the compiled stage and
the plain-Python reference (:func:`stdp_reference`) draw the same numbers.

Conversion of an :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule`
(:func:`build_fixed_stdp`): a float trace value 1 is the impulse ``I`` (default ``2^b - 1`` with
nearest pairing, ``2^(b-1) - 1`` with all-to-all, leaving room for overlapping spikes); with ``G``
the mantissa units per float weight unit (``QuantizedNetwork.weight_gain``) the accumulator
change per trace LSB is ``c = eta a G 2^7 / I``, quantised to ``m_c 2^{e_c}``,
``8 <= m_c <= 15`` (relative error at most 1/15, :func:`scale_factor`); the bounds are
``round(G w_min)``, ``round(G w_max)``.

Not modelled (rejected in fixed mode by :func:`check_fixed_rules`): triplet terms
(``a3_plus``, ``a3_minus``), weight dependence (``mu_plus``, ``mu_minus`` > 0),
reward modulation; the learning rate is fixed at the rule's ``learning_rate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sparse_neuro.neuro.engines.learn import (
    I_CSC_OFF,
    I_POST_OFF,
    I_PRE_OFF,
    I_PROJ,
    PlasticPlan,
    register_rule,
    walk_events,
)
from sparse_neuro.neuro.engines.primitives import step_kernel
from sparse_neuro.neuro.jit import njit

__all__ = [
    "ACC_FRAC_BITS",
    "ROUNDINGS",
    "FixedLearn",
    "FixedSTDPPlan",
    "build_fixed_stdp",
    "check_fixed_rules",
    "scale_factor",
    "fixed_plastic_events",
    "stdp_reference",
    "rand_bits_py",
]

ACC_FRAC_BITS = 7  # 16-bit signed accumulator minus the 9-bit signed weight width (Lava)
ACC_BITS = 16
SCALE_MANT_BITS = 4  # Lava W_S_MANT: mantissa of a product term's scale factor
TRACE_DECAY_BITS = 12  # trace decay factors are 12-bit fractions
MAX_SCALE_EXP, MIN_SCALE_EXP = 16, -48  # product-term scale exponents kept
ROUNDINGS = ("stochastic", "nearest")

# columns of FixedSTDPPlan.table
(
    F_IMPULSE,
    F_XDEC,
    F_YDEC,
    F_MP,
    F_EP,
    F_MM,
    F_EM,
    F_WLO,
    F_WHI,
    F_SHIFT,
    F_NEAREST,
    F_STOCH,
    F_TMAX,
) = range(13)
N_F = 13
# streams of the counter-based random numbers
S_XDEC, S_YDEC, S_DEP, S_POT = range(4)

_MASK = (1 << 64) - 1
_K_SEED, _K_STEP, _K_SLOT, _K_STREAM = (
    0x9E3779B97F4A7C15,
    0xD1B54A32D192ED03,
    0x8CB92BA72F3D8DD7,
    0xD6E8FEB86659FD93,
)
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U_SEED, _U_STEP, _U_SLOT, _U_STREAM = (
    np.uint64(_K_SEED),
    np.uint64(_K_STEP),
    np.uint64(_K_SLOT),
    np.uint64(_K_STREAM),
)
_U_M1, _U_M2 = np.uint64(_M1), np.uint64(_M2)


@dataclass(frozen=True, eq=False)
class FixedSTDPPlan:
    """Integer constants of the plastic projections (rows in ``PlasticPlan`` order).

    Attributes
    ----------
    table : ndarray of int64, shape (n_plastic, 13)
        Per row: impulse, x / y decay factors, potentiation and depression scale
        (mantissa, exponent), bounds (mantissa units), weight shift ``6 + weight_exp``,
        nearest pairing, stochastic rounding, trace maximum ``2^trace_bits - 1``.
    coefficient : ndarray of float64, shape (n_plastic, 2)
        The unquantised accumulator changes per trace LSB (potentiation, depression).
    """

    table: np.ndarray
    coefficient: np.ndarray

    def scale(self, q: int, which: str) -> float:
        """Quantised scale factor ``m 2^e`` of row ``q`` (``"plus"`` or ``"minus"``)."""
        m, e = (F_MP, F_EP) if which == "plus" else (F_MM, F_EM)
        return float(self.table[q, m]) * 2.0 ** int(self.table[q, e])


def scale_factor(c: float, mant_bits: int = SCALE_MANT_BITS) -> tuple[int, int]:
    """``(m, e)`` with ``m 2^e`` nearest to ``c >= 0`` and ``1 <= m <= 2^mant_bits - 1``
    (``(0, 0)`` for ``c = 0``); ``e`` is chosen so that ``m >= 2^(mant_bits-1)``, so the
    relative error is at most ``1 / (2^mant_bits - 1)`` (1/15 for 4 bits).

    Exponents above ``MAX_SCALE_EXP`` are an error (one trace LSB would saturate the
    16-bit accumulator); factors below ``2^MIN_SCALE_EXP`` are dropped (``(0, 0)``)."""
    if not (math.isfinite(c) and c >= 0):
        raise ValueError(f"scale factor must be a finite number >= 0, got {c!r}")
    if c == 0.0:
        return 0, 0
    top = (1 << mant_bits) - 1
    e = math.ceil(math.log2(c / top))
    m = int(round(c / 2.0**e))
    if m > top:  # rounding up past the top mantissa: one more exponent
        e += 1
        m = int(round(c / 2.0**e))
    if e > MAX_SCALE_EXP:
        raise ValueError(
            f"scale factor {c:g} needs exponent {e} > {MAX_SCALE_EXP}: one trace "
            "LSB would saturate the 16-bit accumulator (learning rate too large)"
        )
    if e < MIN_SCALE_EXP:
        return 0, 0
    return max(m, 1), e


def check_fixed_rules(network) -> None:
    """Reject plasticity the fixed-point stage does not model (clear error per rule)."""
    for pr in network.projections:
        rule = pr.plasticity
        if rule is None:
            continue
        for name in ("a3_plus", "a3_minus", "mu_plus", "mu_minus"):
            if getattr(rule, name) != 0.0:
                raise ValueError(
                    f"projection {pr.name}: STDPRule.{name} = {getattr(rule, name)} is not "
                    "modelled in mode='fixed' (pair rule, additive: must be 0); use mode='float'"
                )
        if rule.reward_modulated:
            raise ValueError(
                f"projection {pr.name}: reward-modulated STDP (tau_eligibility_s) "
                "is not modelled in mode='fixed'; use mode='float'"
            )


def build_fixed_stdp(
    network,
    plastic,
    weight_gain: np.ndarray,
    weight_exp: np.ndarray,
    weight_bits: int,
    trace_bits: int,
    rounding: str,
    impulse: int | None = None,
) -> FixedSTDPPlan:
    """Integer learning constants of every plastic projection (see module docstring).

    Parameters
    ----------
    network : Network
    plastic : PlasticPlan
        The flat network's plan (``FlatNetwork.plastic``): row order and ``dt / tau``.
    weight_gain, weight_exp : ndarray, shape (n_projections,)
        Mantissa units per float weight unit and weight exponent of each projection
        (:class:`sparse_neuro.hardware_models.fixed_point.QuantizedNetwork`).
    weight_bits, trace_bits : int
        Mantissa width (signed) and trace width (unsigned), from :class:`LoihiSpec`.
    rounding : str
        ``"stochastic"`` or ``"nearest"``.
    impulse : int, optional
        Trace jump per spike, ``1 .. 2^trace_bits - 1`` (default: see module docstring).
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    tmax = (1 << trace_bits) - 1
    if impulse is not None and not (isinstance(impulse, int) and 1 <= impulse <= tmax):
        raise ValueError(f"impulse must be an integer in [1, {tmax}], got {impulse!r}")
    check_fixed_rules(network)
    mlo, mhi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    n_pl = plastic.n_plastic
    table = np.zeros((n_pl, N_F), np.int64)
    coef = np.zeros((n_pl, 2))
    for q in range(n_pl):
        p = int(plastic.projections[q])
        rule = network.projections[p].plasticity
        nearest = rule.pairing == "nearest"
        imp = impulse if impulse is not None else (tmax if nearest else (1 << (trace_bits - 1)) - 1)
        g = float(weight_gain[p])
        c_plus = rule.learning_rate * rule.a_plus * g * 2**ACC_FRAC_BITS / imp
        c_minus = rule.learning_rate * rule.a_minus * g * 2**ACC_FRAC_BITS / imp
        mp, ep = scale_factor(c_plus)
        mm, em = scale_factor(c_minus)
        lo = int(np.clip(round(g * rule.w_min), mlo, mhi))
        hi = int(np.clip(round(g * rule.w_max), mlo, mhi))
        dec = [round((1 << TRACE_DECAY_BITS) * math.exp(-plastic.tau_steps[q, k])) for k in (0, 2)]
        table[q] = [
            imp,
            dec[0],
            dec[1],
            mp,
            ep,
            mm,
            em,
            lo,
            hi,
            6 + int(weight_exp[p]),
            int(nearest),
            int(rounding == "stochastic"),
            tmax,
        ]
        coef[q] = c_plus, c_minus
    return FixedSTDPPlan(table, coef)


# ---------------------------------------------------------------------- compiled stage
@njit(nogil=True, inline="always")
def _rand_bits(seed, step, slot, stream, bits):
    """Top ``bits`` bits of SplitMix64's finaliser of (seed, step, slot, stream)."""
    z = (
        np.uint64(seed) * _U_SEED
        + np.uint64(step) * _U_STEP
        + np.uint64(slot) * _U_SLOT
        + np.uint64(stream) * _U_STREAM
    )
    z = (z ^ (z >> np.uint64(30))) * _U_M1
    z = (z ^ (z >> np.uint64(27))) * _U_M2
    z = z ^ (z >> np.uint64(31))
    return np.int64(z >> np.uint64(64 - bits))


@step_kernel
def _trace_at(tr, last, k, n, dec, stoch, seed, stream):
    """Trace slot ``k`` decayed step by step to step ``n`` (stored: lazy equals eager).
    ``tr`` may be a float array (the float rule's trace storage): values stay integers."""
    x = np.int64(tr[k])
    t = last[k] + 1
    half = np.int64(1) << (TRACE_DECAY_BITS - 1)
    low = (np.int64(1) << TRACE_DECAY_BITS) - 1
    while x > 0 and t <= n:
        p = x * dec
        r = p & low
        x_next = p >> TRACE_DECAY_BITS
        if stoch:
            if _rand_bits(seed, t, k, stream, TRACE_DECAY_BITS) < r:
                x_next += 1
        else:
            if r >= half:
                x_next += 1
            if x_next == x:
                # nearest rounding at a fixed point (e.g. 1 * dec rounds back to 1): every
                # later step gives the same value, so stop (a gap of 2**53 steps would loop)
                break
        x = x_next
        t += 1
    tr[k] = x
    last[k] = n
    return x


@njit(nogil=True, inline="always")
def _scaled(m, e, trace):
    v = m * trace
    return v << e if e >= 0 else v >> (-e)


@step_kernel
def _update(w, s, term, fx, q, seed, n, stream):
    """Add ``term`` (accumulator units) to synapse ``s``'s mantissa, round, clip."""
    sh = fx[q, F_SHIFT]
    acc = ((w[s] >> sh) << ACC_FRAC_BITS) + term
    top = (np.int64(1) << (ACC_BITS - 1)) - 1
    acc = -top - 1 if acc < -top - 1 else (top if acc > top else acc)
    m = acc >> ACC_FRAC_BITS
    r = acc & ((np.int64(1) << ACC_FRAC_BITS) - 1)
    if fx[q, F_STOCH]:
        if _rand_bits(seed, n, s, stream, ACC_FRAC_BITS) < r:
            m += 1
    elif r >= (np.int64(1) << (ACC_FRAC_BITS - 1)):
        m += 1
    lo = fx[q, F_WLO]
    hi = fx[q, F_WHI]
    m = lo if m < lo else (hi if m > hi else m)
    w[s] = m << sh


@njit(nogil=True, inline="always")
def _jump(x, fx, q):
    if fx[q, F_NEAREST]:
        return fx[q, F_IMPULSE]
    x += fx[q, F_IMPULSE]
    return x if x < fx[q, F_TMAX] else fx[q, F_TMAX]


class FixedLearn(NamedTuple):
    """What the fixed-point rule's event functions read and write (a numba record).

    Attributes
    ----------
    pl : PlasticPlan
        The float plan's plastic projections (id table, CSC arrays).
    fx : ndarray of int64 (n_plastic, 13)
        :attr:`FixedSTDPPlan.table`.
    rt : Routing
        The plan's routing record (CSR rows of every projection).
    w : ndarray of int64
        Effective integer weights, flat synapse order.
    x_tr, y_tr : ndarray
        Pre / post traces per slot (int64, or the float rule's trace column holding
        integer values); ``x_last``, ``y_last`` the step of their last update.
    seed : int
        Seed of the counter-based random numbers.
    """

    pl: PlasticPlan
    fx: np.ndarray
    rt: object
    w: np.ndarray
    x_tr: np.ndarray
    x_last: np.ndarray
    y_tr: np.ndarray
    y_last: np.ndarray
    seed: int


@step_kernel
def _pre_event(q, i, n, c):
    fx, ints, rt, seed = c.fx, c.pl.ints, c.rt, c.seed
    k = ints[q, I_PRE_OFF] + i
    stoch = fx[q, F_STOCH] != 0
    x = _trace_at(c.x_tr, c.x_last, k, n, fx[q, F_XDEC], stoch, seed, S_XDEC)
    mm = fx[q, F_MM]
    if mm != 0:
        p = ints[q, I_PROJ]
        base = rt.p_syn0[p]
        lo = base + rt.indptr[rt.p_iptr0[p] + i]
        hi = base + rt.indptr[rt.p_iptr0[p] + i + 1]
        post0 = ints[q, I_POST_OFF]
        for s in range(lo, hi):
            y = _trace_at(
                c.y_tr, c.y_last, post0 + rt.indices[s], n, fx[q, F_YDEC], stoch, seed, S_YDEC
            )
            if y > 0:
                _update(c.w, s, -_scaled(mm, fx[q, F_EM], y), fx, q, seed, n, S_DEP)
    c.x_tr[k] = _jump(x, fx, q)


@step_kernel
def _post_event(q, j, n, c):
    fx, pl, seed = c.fx, c.pl, c.seed
    kk = pl.ints[q, I_POST_OFF] + j
    stoch = fx[q, F_STOCH] != 0
    y = _trace_at(c.y_tr, c.y_last, kk, n, fx[q, F_YDEC], stoch, seed, S_YDEC)
    mp = fx[q, F_MP]
    if mp != 0:
        c0 = pl.ints[q, I_CSC_OFF] + j
        pre0 = pl.ints[q, I_PRE_OFF]
        for e in range(pl.csc_ptr[c0], pl.csc_ptr[c0 + 1]):
            x = _trace_at(
                c.x_tr, c.x_last, pre0 + pl.csc_pre[e], n, fx[q, F_XDEC], stoch, seed, S_XDEC
            )
            if x > 0:
                _update(c.w, pl.csc_syn[e], _scaled(mp, fx[q, F_EP], x), fx, q, seed, n, S_POT)
    c.y_tr[kk] = _jump(y, fx, q)


register_rule(FixedLearn, _pre_event, _post_event)


@step_kernel
def fixed_plastic_events(n, spiking, n_spk, ext_ids, e0, e1, learn):
    """Fixed-point STDP of step ``n`` on the effective integer weights ``learn.w``: the
    float rule's event walk (:func:`sparse_neuro.neuro.engines.learn.walk_events`: presynaptic
    events of neurons ``spiking[:n_spk]`` and source channels ``ext_ids[e0:e1]``, then
    postsynaptic events) with this module's integer updates (``learn`` a
    :class:`FixedLearn`)."""
    return walk_events(n, spiking, n_spk, ext_ids, e0, e1, learn.pl.ints, learn)


# ---------------------------------------------------------------------- plain reference
def rand_bits_py(seed: int, step: int, slot: int, stream: int, bits: int) -> int:
    """The stage's random numbers in plain Python integers (same hash, no numpy)."""
    z = (seed * _K_SEED + step * _K_STEP + slot * _K_SLOT + stream * _K_STREAM) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    z ^= z >> 31
    return z >> (64 - bits)


def stdp_reference(
    pre_spikes: list,
    post_spikes: list,
    indptr: list,
    indices: list,
    mantissa: list,
    row: list,
    seed: int,
    syn0: int = 0,
    pre_off: int = 0,
    post_off: int = 0,
) -> list[int]:
    """Plain-Python integer reference of one plastic projection (eager trace decay).

    Parameters
    ----------
    pre_spikes, post_spikes : list of lists of int
        Local ids of the presynaptic / postsynaptic neurons spiking in each step.
    indptr, indices : list of int
        The projection's CSR pattern (row = presynaptic neuron, ``indices`` = local post).
    mantissa : list of int
        Initial weight mantissas in CSR order.
    row : list of int
        One row of :attr:`FixedSTDPPlan.table`.
    seed : int
    syn0, pre_off, post_off : int
        Flat id of the first synapse and the trace slot offsets (the random numbers are
        keyed by them, as in the compiled stage).

    Returns
    -------
    list of int
        Final mantissas in CSR order.
    """
    imp, xdec, ydec, mp, ep, mm, em, wlo, whi, _, nearest, stoch, tmax = (int(v) for v in row)
    n_pre, n_post = len(indptr) - 1, 1 + max(indices, default=-1)
    n_post = max(n_post, 1 + max((j for s in post_spikes for j in s), default=-1))
    m = [int(v) for v in mantissa]
    x, y = [0] * n_pre, [0] * n_post

    def rnd(p: int, step: int, slot: int, stream: int, bits: int) -> int:
        q, r = p >> bits, p & ((1 << bits) - 1)
        if stoch:
            return q + (rand_bits_py(seed, step, slot, stream, bits) < r)
        return q + (r >= 1 << (bits - 1))

    def scaled(c: int, e: int, t: int) -> int:
        return (c * t) << e if e >= 0 else (c * t) >> -e

    def update(s: int, term: int, step: int, stream: int) -> None:
        acc = min(max((m[s] << ACC_FRAC_BITS) + term, -(1 << 15)), (1 << 15) - 1)
        m[s] = min(max(rnd(acc, step, syn0 + s, stream, ACC_FRAC_BITS), wlo), whi)

    def jump(t: int) -> int:
        return imp if nearest else min(t + imp, tmax)

    for n in range(len(pre_spikes)):
        x = [rnd(v * xdec, n, pre_off + i, S_XDEC, TRACE_DECAY_BITS) for i, v in enumerate(x)]
        y = [rnd(v * ydec, n, post_off + j, S_YDEC, TRACE_DECAY_BITS) for j, v in enumerate(y)]
        for i in pre_spikes[n]:
            for s in range(indptr[i], indptr[i + 1]):
                if mm and y[indices[s]] > 0:
                    update(s, -scaled(mm, em, y[indices[s]]), n, S_DEP)
            x[i] = jump(x[i])
        for j in post_spikes[n]:
            for i in range(n_pre):
                for s in range(indptr[i], indptr[i + 1]):
                    if indices[s] == j and mp and x[i] > 0:
                        update(s, scaled(mp, ep, x[i]), n, S_POT)
            y[j] = jump(y[j])
    return m
