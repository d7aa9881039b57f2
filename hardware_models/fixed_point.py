"""Fixed-point CUBA neurons as on Loihi, and quantisation of a float network.

Bit-accurate model (declared as such; the integer update is run by the event-queue backend
in ``mode="fixed"``). Per neuron and per step ``n``, with integer state:

.. math::

    u_k[n] &= \\mathrm{wrap}_{24}\\big(\\mathrm{dec}(u_k[n-1], du_k) + a_k[n-1]\\big) \\\\
    v[n]   &= \\mathrm{clip}_{24}\\big(\\mathrm{dec}(v[n-1], dv) + \\textstyle\\sum_k u_k[n] + b\\big)
              \\quad\\text{(not refractory)} \\\\
    \\mathrm{dec}(x, d) &= \\mathrm{sign}(x)\\,\\big(|x| (4096 - d) \\gg 12\\big)

then spike if ``v > vth`` (``vth = vth_mant << 6``), reset ``v = 0``. ``a_k[n-1]`` is the
synaptic input delivered in step ``n - 1``: the sum of integer weights
``w_mant << (6 + weight_exp)`` (8-bit signed mantissa, one exponent per projection, the
``<< 6`` being Loihi's MSB alignment of synaptic input). ``du, dv`` are 12-bit fractions
(0..4096). ``u`` wraps modulo ``2^24`` and ``v`` saturates at ``+-(2^23 - 1)`` (as Lava's
bit-accurate ``PyLifModelBitAcc``). Delta-synapse populations use one channel with
``du = 4096`` (``u`` holds only the last step's input). Refractoriness freezes ``v`` as in the
float engine; ``u`` keeps integrating.

Quantisation of a float population (origin at ``v_reset``, ``S`` integer units per membrane
unit, chosen so that the threshold is about ``2^threshold_bits``):

- ``dv = round(4096 (1 - e^{-dt/tau_m}))``, ``du_k = round(4096 (1 - e^{-dt/tau_k}))``;
- ``vth = round(S (v_th - v_reset) / 64) << 6``; ``b = round(S (1 - e^{-dt/tau_m})(v_inf - v_reset))``;
- a weight ``w`` on channel ``k`` becomes ``S c_k w`` (``c_k`` = ``step_factors().syn_to_mem``;
  a delta weight becomes ``S e^{-dt/tau_m} w``), so that its effect on ``v`` one step after
  arrival matches the float engine; then mantissa and exponent per projection.

The float and fixed models differ in timing details (Loihi adds ``u[n]`` after its decay) and
by rounding, so agreement is statistical: see :func:`spike_count_agreement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.hardware_models.loihi import LoihiSpec
from sparse_neuro.neuro.engines.plan import Plan, build_plan
from sparse_neuro.neuro.model.network import Network

__all__ = [
    "QuantizedNetwork",
    "quantize",
    "quantize_weights",
    "decay_int",
    "spike_count_agreement",
    "ACT_SHIFT",
    "DECAY_UNITY",
]

DECAY_UNITY = 4096  # 2**12: decays are 12-bit fractions
ACT_SHIFT = 6  # synaptic input and threshold are left-shifted by 6 (Loihi MSB alignment)


def decay_int(x: np.ndarray | int, d: np.ndarray | int, decay_bits: int = 12) -> np.ndarray:
    """Loihi decay ``sign(x) * ((|x| * (2^b - d)) >> b)`` on int64, ``b = decay_bits``
    (12 on Loihi: ``DECAY_UNITY = 4096``)."""
    x = np.asarray(x, dtype=np.int64)
    p = np.abs(x) * ((1 << decay_bits) - np.asarray(d, dtype=np.int64))
    return np.sign(x) * (p >> decay_bits)


def quantize_weights(w: np.ndarray, weight_bits: int = 8) -> tuple[np.ndarray, int]:
    """Mantissas and a shared exponent for integer weights ``w`` (already in state units).

    Returns ``(mantissa, exp)`` with ``mantissa`` in ``[-2^(b-1), 2^(b-1) - 1]`` and
    ``mantissa << (6 + exp)`` approximating ``w``; ``exp`` in ``[-6, 7]`` (exponents below
    -6, which would need a right shift, are not modelled).
    """
    w = np.asarray(w, dtype=np.float64)
    hi = 2 ** (weight_bits - 1) - 1
    m = float(np.max(np.abs(w))) if w.size else 0.0
    if m == 0.0:
        return np.zeros(w.shape, dtype=np.int64), 0
    exp = int(math.ceil(math.log2(m / hi))) - ACT_SHIFT
    exp = min(max(exp, -ACT_SHIFT), 7)
    mant = np.clip(np.rint(w / 2.0 ** (ACT_SHIFT + exp)), -hi - 1, hi).astype(np.int64)
    return mant, exp


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """Integer constants of a network's Loihi CUBA model, per global neuron (flat order).

    Attributes
    ----------
    plan : Plan
        The float plan the quantisation started from (same global ids).
    du : ndarray of int64, shape (n_neurons, n_u)
        Current decays per channel (``n_u = max(1, n_channels)``; unused channels 4096).
    dv, bias, vth, v_init, reset_amount : ndarray of int64, shape (n_neurons,)
        ``reset_amount > 0`` is reset by subtraction (an extension; Loihi resets to 0).
    scale : ndarray of float64, shape (n_populations,)
        Integer units per membrane unit ``S`` of each population.
    weights : ndarray of int64
        Effective integer weights ``mantissa << (6 + exp)`` in flat synapse order.
    mantissa : ndarray of int64
    weight_exp : ndarray of int64, shape (n_projections,)
    u_channel : ndarray of int64, shape (n_projections,)
        Channel of ``u`` each projection feeds.
    drive_gain : ndarray of float64, shape (n_neurons,)
        ``S (1 - e^{-dt/tau_m})``: a current injection ``I`` (membrane units) adds
        ``round(I * drive_gain)`` to the bias while it is on.
    weight_rel_error : ndarray of float64, shape (n_projections,)
        RMS quantisation error of each projection's weights relative to their RMS.
    weight_gain : ndarray of float64, shape (n_projections,)
        Mantissa units per float weight unit ``G`` of each projection
        (``mantissa ~ G w``); a plastic projection's exponent also covers its rule's
        bounds ``w_min``, ``w_max`` (the weights learn within them).
    """

    plan: Plan
    du: np.ndarray
    dv: np.ndarray
    bias: np.ndarray
    vth: np.ndarray
    v_init: np.ndarray
    reset_amount: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    mantissa: np.ndarray
    weight_exp: np.ndarray
    u_channel: np.ndarray
    drive_gain: np.ndarray
    weight_rel_error: np.ndarray
    weight_gain: np.ndarray

    def to_float_v(self, v_int: np.ndarray, population: str) -> np.ndarray:
        """Convert integer membrane values of ``population`` back to float units."""
        k = self.plan.group_names.index(population)
        return np.asarray(v_int) / self.scale[k] + float(self.plan.neurons.v_reset[k])


def quantize(
    network: Network,
    dt_s: float,
    spec: LoihiSpec | None = None,
    threshold_bits: int = 17,
) -> QuantizedNetwork:
    """Quantise ``network`` to Loihi's fixed-point CUBA model (see module docstring).

    Parameters
    ----------
    network : Network
    dt_s : float
        Time step in seconds.
    spec : LoihiSpec, optional
        Uses ``weight_bits``, ``decay_bits`` and ``membrane_bits``.
    threshold_bits : int
        The threshold (``v_th - v_reset``) maps to about ``2^threshold_bits`` integer units;
        in ``[8, membrane_bits - 2]``.
    """
    spec = spec or LoihiSpec()
    if not 8 <= threshold_bits <= spec.membrane_bits - 2:
        raise ValueError(
            f"threshold_bits must be in [8, {spec.membrane_bits - 2}], got {threshold_bits}"
        )
    plan = build_plan(network, dt_s, np.float64)
    nr, rt = plan.neurons, plan.routing
    unity = 2**spec.decay_bits
    pops = network.populations
    n = plan.n_neurons
    n_u = max(1, plan.n_channels)
    du = np.full((n, n_u), unity, dtype=np.int64)
    scale = np.zeros(len(pops))
    lim = 2 ** (spec.membrane_bits - 1) - 1
    for k, p in enumerate(pops):
        lo, hi = int(plan.group_offsets[k]), int(plan.group_offsets[k + 1])
        span = p.params.v_threshold - p.params.v_reset
        scale[k] = 2.0**threshold_bits / span
        if p.params.n_channels:
            du[lo:hi, : p.params.n_channels] = np.rint(
                unity * (1 - nr.syn_decay[k, : p.params.n_channels])
            )
    s_neuron = plan.per_neuron(scale)
    mem_decay = plan.per_neuron(nr.mem_decay)
    v_reset = plan.per_neuron(nr.v_reset)
    dv = np.rint(unity * (1 - mem_decay)).astype(np.int64)
    vth = (
        np.rint(s_neuron * (plan.per_neuron(nr.v_threshold) - v_reset) / 2**ACT_SHIFT).astype(
            np.int64
        )
        << ACT_SHIFT
    )
    bias = np.rint(s_neuron * (1 - mem_decay) * (plan.per_neuron(nr.v_inf) - v_reset)).astype(
        np.int64
    )
    v_init = np.clip(np.rint(s_neuron * (plan.v_init - v_reset)), -lim, lim).astype(np.int64)
    reset_amount = np.rint(s_neuron * plan.per_neuron(nr.reset_amount)).astype(np.int64)

    weights = np.zeros(plan.weights.size, dtype=np.int64)
    mantissa = np.zeros(plan.weights.size, dtype=np.int64)
    exps = np.zeros(plan.n_projections, dtype=np.int64)
    rel_err = np.zeros(plan.n_projections)
    u_ch = np.zeros(plan.n_projections, dtype=np.int64)
    gain_out = np.zeros(plan.n_projections)
    for p, pr in enumerate(network.projections):
        k = [q.name for q in pops].index(pr.target)
        sl = plan.projection_slice(p)
        ch = int(rt.p_chan[p])
        gain = nr.mem_decay[k] if ch == 0 else nr.syn_to_mem[k, ch - 1]
        u_ch[p] = 0 if ch == 0 else ch - 1
        w_int = scale[k] * gain * plan.weights[sl]
        rule = pr.plasticity
        bounds = (
            [] if rule is None else [scale[k] * gain * rule.w_min, scale[k] * gain * rule.w_max]
        )
        mant, e = quantize_weights(np.r_[w_int, bounds], spec.weight_bits)
        mant = mant[: w_int.size]
        gain_out[p] = scale[k] * gain / 2.0 ** (ACT_SHIFT + e)
        mantissa[sl] = mant
        exps[p] = e
        weights[sl] = mant << (ACT_SHIFT + e)
        rms = float(np.sqrt(np.mean(w_int**2))) if w_int.size else 0.0
        rel_err[p] = float(np.sqrt(np.mean((weights[sl] - w_int) ** 2))) / rms if rms else 0.0
    return QuantizedNetwork(
        plan,
        du,
        dv,
        bias,
        vth,
        v_init,
        reset_amount,
        scale,
        weights,
        mantissa,
        exps,
        u_ch,
        s_neuron * (1 - mem_decay),
        rel_err,
        gain_out,
    )


def spike_count_agreement(counts_a: np.ndarray, counts_b: np.ndarray) -> dict[str, float]:
    """Compare per-neuron spike counts of two runs (e.g. float vs fixed point).

    Returns the Pearson correlation of the counts (``nan`` if either is constant), the
    relative difference of the totals, and the fraction of neurons whose counts are equal.
    """
    a = np.asarray(counts_a, dtype=np.float64).ravel()
    b = np.asarray(counts_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"counts must have the same shape, got {a.shape} and {b.shape}")
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    tot = a.sum()
    return {
        "count_correlation": corr,
        "total_rel_diff": float((b.sum() - tot) / tot) if tot else float("nan"),
        "fraction_equal": float(np.mean(a == b)),
    }
