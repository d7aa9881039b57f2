"""Engine-side descriptions of plasticity: STDP on a projection, adaptive thresholds.

These are plain, frozen, validated parameter sets that a
:class:`sparse_neuro.neuro.model.network.Projection` (``plasticity=STDPRule(...)``) or
:class:`sparse_neuro.neuro.model.network.Population` (``adaptation=ThresholdAdaptation(...)``)
carries; the clock engine runs them (:mod:`sparse_neuro.neuro.engines.learn`),
:mod:`sparse_neuro.learning.stdp` / :mod:`sparse_neuro.learning.homeostasis` re-export them next to
pure reference functions.

Trace-based STDP (Morrison, Diesmann & Gerstner 2008; Pfister & Gerstner 2006). Every
presynaptic neuron carries a fast trace ``x1`` (time constant ``tau_plus_s``) and a slow
trace ``x2`` (``tau_x_s``); every postsynaptic neuron ``y1`` (``tau_minus_s``) and ``y2``
(``tau_y_s``). Between spikes they decay exponentially (computed analytically at the
next event); at a spike the neuron's own traces jump by 1 (``pairing="all_to_all"``) or
are set to 1 (``pairing="nearest"``: only the nearest spike counts). With ``eta`` the
current learning rate:

.. math::

    \\text{pre spike: } \\Delta w = -\\eta\\, y_1\\, (A_2^- + A_3^- x_2^{before})\\, f_-(w),
    \\qquad
    \\text{post spike: } \\Delta w = +\\eta\\, x_1\\, (A_2^+ + A_3^+ y_2^{before})\\, f_+(w)

with the weight dependence of Gutig et al. (2003), ``f_+(w) = (w_max - w)^mu_plus``,
``f_-(w) = (w - w_min)^mu_minus`` (``mu = 0``: additive; ``mu = 1``: multiplicative /
soft-bounded), followed by clipping to ``[w_min, w_max]`` (hard bounds). ``A_3 = 0`` is
the pair rule. A pre/post pair ``dt = t_post - t_pre`` therefore changes the weight by
``+a_plus exp(-dt/tau_plus)`` (``dt >= 0``) or ``-a_minus exp(dt/tau_minus)`` (``dt < 0``).
In one step, presynaptic events are processed before postsynaptic ones (Brian2's
pathway order), so a simultaneous pair counts as ``dt = 0`` potentiation.

Reward-modulated (three-factor) STDP: with ``tau_eligibility_s`` set, the changes above go
into a per-synapse eligibility trace ``e`` (decaying with that time constant) instead of
the weight; a reward ``r`` delivered by the experiment
(:meth:`sparse_neuro.neuro.engines.ClockSimulator.deliver_reward`) applies ``w += r e`` (then
clips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from sparse_neuro.neuro.model.validation import real

__all__ = ["STDPRule", "ThresholdAdaptation", "PAIRINGS"]

#: Valid trace pairing schemes.
PAIRINGS = ("all_to_all", "nearest")


def _pos(name: str, value: float) -> float:
    v = real(name, value, allow_inf=True)
    if not v > 0:
        raise ValueError(f"{name} must be > 0 (seconds), got {value!r}")
    return v


def _nonneg(name: str, value: float) -> float:
    v = real(name, value)
    if not v >= 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _set(obj: object, name: str, value: float) -> None:
    """Store a validated number as a Python float (numpy scalars are accepted)."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class STDPRule:
    """Trace-based STDP on the synapses of one projection (see module docstring).

    Parameters
    ----------
    tau_plus_s, tau_minus_s : float
        Time constants of the fast presynaptic (potentiation window) and postsynaptic
        (depression window) traces, > 0 s. Defaults: Bi & Poo (1998) fits.
    a_plus, a_minus : float
        Pair amplitudes ``A_2^+``, ``A_2^-`` (>= 0; depression is subtracted).
    w_min, w_max : float
        Hard bounds, ``w_min < w_max``.
    mu_plus, mu_minus : float
        Weight-dependence exponents, >= 0 (0: additive; 1: multiplicative).
    pairing : str
        ``"all_to_all"`` or ``"nearest"``.
    a3_plus, a3_minus : float
        Triplet amplitudes ``A_3^+``, ``A_3^-`` (>= 0; 0 gives the pair rule).
    tau_x_s, tau_y_s : float
        Slow pre / post trace time constants of the triplet rule (Pfister & Gerstner 2006
        visual cortex fit: 101 ms, 125 ms).
    learning_rate : float
        Initial ``eta`` (>= 0); change it during a run with
        :meth:`sparse_neuro.neuro.engines.ClockSimulator.set_learning_rate`.
    tau_eligibility_s : float or None
        If set (> 0 s), reward-modulated STDP with this eligibility time constant.
    """

    tau_plus_s: float = 16.8e-3
    tau_minus_s: float = 33.7e-3
    a_plus: float = 0.01
    a_minus: float = 0.0105
    w_min: float = 0.0
    w_max: float = 1.0
    mu_plus: float = 0.0
    mu_minus: float = 0.0
    pairing: str = "all_to_all"
    a3_plus: float = 0.0
    a3_minus: float = 0.0
    tau_x_s: float = 101e-3
    tau_y_s: float = 125e-3
    learning_rate: float = 1.0
    tau_eligibility_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("tau_plus_s", "tau_minus_s", "tau_x_s", "tau_y_s"):
            _set(self, name, _pos(name, getattr(self, name)))
        for name in (
            "a_plus",
            "a_minus",
            "a3_plus",
            "a3_minus",
            "mu_plus",
            "mu_minus",
            "learning_rate",
        ):
            _set(self, name, _nonneg(name, getattr(self, name)))
        for name in ("w_min", "w_max"):
            _set(self, name, real(name, getattr(self, name)))
        if not self.w_min < self.w_max:
            raise ValueError(
                f"w_max must be > w_min (valid range: ({self.w_min}, inf)), got w_max={self.w_max}"
            )
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {PAIRINGS}, got {self.pairing!r}")
        if self.tau_eligibility_s is not None:
            _set(self, "tau_eligibility_s", _pos("tau_eligibility_s", self.tau_eligibility_s))

    @property
    def is_triplet(self) -> bool:
        """True when a triplet amplitude is non-zero."""
        return self.a3_plus > 0 or self.a3_minus > 0

    @property
    def reward_modulated(self) -> bool:
        """True for three-factor (eligibility x reward) learning."""
        return self.tau_eligibility_s is not None

    # Fitted presets. The literals below are the results of the fit named in each docstring
    # (the description layer cannot import the fit); tests/test_stdp_fit.py refits and
    # checks that they agree.

    @classmethod
    def bi_poo_1998(cls, w_scale: float = 1.0, **overrides: object) -> STDPRule:
        """Pair rule fitted to Bi & Poo (1998): 45 cell pairs, 60 pairings at 1 Hz.

        Source: ``fit_stdp(STDPRule(), bi_poo_1998_data(), free=("a_plus", "tau_plus_s",
        "a_minus"))`` on ``neuro/bio/data/bi_poo_1998_points.csv``, all-to-all, additive:

        ========== ====================== ==================
        parameter  fit +- sd (Jacobian)   published
        ========== ====================== ==================
        a_plus     0.01313 +- 0.0033      (60 x = 0.79)
        tau_plus   16.5 +- 8.5 ms         16.8 ms
        a_minus    0.00163 +- 0.0013
        tau_minus  33.7 ms (fixed)        33.7 ms
        ========== ====================== ==================

        R^2 0.578 on the points. ``tau_minus`` is fixed at Bi & Poo's published value because
        the stored points do not determine it (fitted free: 0.22 s with a relative error far
        above 1; the depression side has few points near dt = 0 and two positive ones).

        Parameters
        ----------
        w_scale : float
            Multiplies the amplitudes (the data are relative changes of a weight of 1), > 0.
        **overrides
            Other :class:`STDPRule` fields (for example ``w_min``, ``w_max``).
        """
        return _preset(
            cls(tau_plus_s=16.528e-3, tau_minus_s=33.7e-3, a_plus=0.013131, a_minus=0.0016305),
            w_scale,
            overrides,
        )

    @classmethod
    def visual_cortex_2006(cls, w_scale: float = 1.0, **overrides: object) -> STDPRule:
        """Minimal all-to-all triplet rule (Pfister & Gerstner 2006) fitted to Sjostrom et al.
        (2001), visual cortex L5: 60 pairings at +-10 ms, 0.1-50 Hz.

        Source: ``fit_stdp(STDPRule(a_plus=0, a3_plus=6.5e-3, a_minus=7.1e-3, tau_y_s=0.114),
        sjostrom_2001_data(), free=("a3_plus", "a_minus"))`` on
        ``neuro/bio/data/sjostrom2001_pfister2006.csv`` (weighted by the SEMs); ``a_plus`` and
        ``a3_minus`` are 0 (the minimal model), ``tau_plus`` / ``tau_minus`` 16.8 / 33.7 ms and
        ``tau_y`` 114 ms fixed as in Pfister & Gerstner:

        ========== ====================== =============================
        parameter  fit +- sd (Jacobian)   published (P&G Table 3, min.)
        ========== ====================== =============================
        a3_plus    6.50e-3 +- 0.69e-3     6.5e-3
        a_minus    7.11e-3 +- 1.13e-3     7.1e-3
        tau_y      114 ms (fixed)         114 ms
        ========== ====================== =============================

        Reduced chi^2 0.30 (pre-post) / 0.41 (post-pre). With ``tau_y`` free the fit moves
        along a ridge (``a3_plus`` 3.3e-3 +- 3.0e-3, ``tau_y`` 231 ms, correlation -0.99): the
        data do not determine ``tau_y``, hence the fixed published value.

        Parameters
        ----------
        w_scale : float
            Multiplies the amplitudes (the data are relative changes of a weight of 1), > 0.
        **overrides
            Other :class:`STDPRule` fields (for example ``pairing``, ``w_min``, ``w_max``).
        """
        return _preset(
            cls(
                tau_plus_s=16.8e-3,
                tau_minus_s=33.7e-3,
                a_plus=0.0,
                a_minus=0.0071059,
                a3_plus=0.0065024,
                a3_minus=0.0,
                tau_y_s=114e-3,
            ),
            w_scale,
            overrides,
        )


def _preset(rule: STDPRule, w_scale: float, overrides: dict) -> STDPRule:
    """``rule`` with amplitudes times ``w_scale`` and the ``overrides`` applied."""
    scale = real("w_scale", w_scale)
    if not scale > 0:
        raise ValueError(f"w_scale must be > 0, got {w_scale!r}")
    amplitudes = {k: getattr(rule, k) * scale for k in ("a_plus", "a_minus", "a3_plus", "a3_minus")}
    return replace(rule, **{**amplitudes, **overrides})


@dataclass(frozen=True)
class ThresholdAdaptation:
    """Adaptive threshold (Diehl & Cook 2015's ``theta``): effective threshold
    ``v_threshold + theta``.

    .. math:: \\tau_\\theta \\frac{d\\theta}{dt} = -\\theta, \\qquad
              \\theta \\leftarrow \\theta + \\theta_+ \\text{ at each spike}

    Parameters
    ----------
    theta_plus : float
        Increment per spike, >= 0 (in the units of ``v``).
    tau_theta_s : float
        Decay time constant, > 0 s; ``math.inf`` for no decay.
    theta_init : float
        Initial ``theta`` of every neuron (finite).
    """

    theta_plus: float = 0.05
    tau_theta_s: float = math.inf
    theta_init: float = 0.0

    def __post_init__(self) -> None:
        _set(self, "theta_plus", _nonneg("theta_plus", self.theta_plus))
        _set(self, "tau_theta_s", _pos("tau_theta_s", self.tau_theta_s))
        _set(self, "theta_init", real("theta_init", self.theta_init))

    def decay_per_step(self, dt_s: float) -> float:
        """``exp(-dt / tau_theta)`` (1 without decay)."""
        return 1.0 if math.isinf(self.tau_theta_s) else math.exp(-dt_s / self.tau_theta_s)
