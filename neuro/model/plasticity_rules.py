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
from dataclasses import dataclass

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
