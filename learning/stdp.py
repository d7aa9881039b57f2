"""STDP: the engine-side rule and pure reference functions (windows, traces, schedules).

:class:`~sparse_neuro.neuro.model.plasticity_rules.STDPRule` (part of the network description)
is attached to a :class:`~sparse_neuro.neuro.model.network.Projection` and run by the clock
engine. The functions below compute the same quantities without the engine, for tests, fits
and plots:

- :func:`pair_window`: the pair rule's weight change for one pre/post pair,
  ``+A+ exp(-dt/tau+)`` for ``dt = t_post - t_pre >= 0``, ``-A- exp(dt/tau-)`` otherwise;
- :func:`trace_value`: a trace after an arbitrary spike train, in closed form;
- :func:`reference_weight`: event-by-event evaluation of a rule on one synapse (pair,
  triplet, nearest / all-to-all, weight dependence, bounds) in plain Python;
- least-squares fits of exponential windows to measured changes are
  :func:`sparse_neuro.neuro.analysis.stdp_fit.fit_window` (the scorecard uses it too);
- :func:`learning_rate_schedule`: constant / linear / exponential / inverse decay.
"""

from __future__ import annotations

import math

import numpy as np

from sparse_neuro.neuro.model.plasticity_rules import PAIRINGS, STDPRule

__all__ = [
    "pair_window",
    "trace_value",
    "reference_weight",
    "learning_rate_schedule",
    "SCHEDULES",
]

#: Valid learning-rate schedules.
SCHEDULES = ("constant", "linear", "exponential", "inverse")


def pair_window(dt_s: np.ndarray | float, rule: STDPRule) -> np.ndarray:
    """Weight change of one isolated pre/post pair (additive rule, no bounds reached).

    .. math:: \\Delta w(\\Delta t) = \\eta A_+ e^{-\\Delta t/\\tau_+} \\;(\\Delta t \\ge 0),
              \\quad -\\eta A_- e^{\\Delta t/\\tau_-} \\;(\\Delta t < 0)

    Parameters
    ----------
    dt_s : float or ndarray
        ``t_post - t_pre`` in seconds.
    rule : STDPRule

    Returns
    -------
    ndarray
        ``Delta w`` for each interval.
    """
    dt = np.asarray(dt_s, dtype=np.float64)
    eta = rule.learning_rate
    return np.where(
        dt >= 0,
        eta * rule.a_plus * np.exp(-np.abs(dt) / rule.tau_plus_s),
        -eta * rule.a_minus * np.exp(-np.abs(dt) / rule.tau_minus_s),
    )


def trace_value(
    spike_times_s: np.ndarray, t_s: float, tau_s: float, pairing: str = "all_to_all"
) -> float:
    """A trace at time ``t_s`` after spikes at ``spike_times_s`` (those ``<= t_s`` count).

    .. math:: x(t) = \\sum_{t_k \\le t} e^{-(t - t_k)/\\tau} \\;\\text{(all-to-all)}, \\qquad
              x(t) = e^{-(t - t_{last})/\\tau} \\;\\text{(nearest)}
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    if not tau_s > 0:
        raise ValueError(f"tau_s must be > 0, got {tau_s!r}")
    ts = np.asarray(spike_times_s, dtype=np.float64)
    ts = ts[ts <= t_s]
    if ts.size == 0:
        return 0.0
    if pairing == "nearest":
        return float(math.exp(-(t_s - ts.max()) / tau_s))
    return float(np.exp(-(t_s - ts) / tau_s).sum())


def reference_weight(
    pre_times_s: np.ndarray,
    post_times_s: np.ndarray,
    rule: STDPRule,
    w0: float,
    dt_s: float | None = None,
) -> float:
    """Final weight of one synapse under ``rule`` for given spike trains (plain Python).

    Events are processed in time order, presynaptic before postsynaptic at equal times
    (the engine's order); with ``dt_s`` times are first binned to steps ``round(t/dt)``.
    Reward modulation is not applied (the returned value is what the eligibility would
    accumulate on top of ``w0`` without bounds only if the rule is reward-modulated; use it
    for plain rules).
    """
    pre = np.asarray(pre_times_s, dtype=np.float64)
    post = np.asarray(post_times_s, dtype=np.float64)
    if dt_s is not None:
        pre = np.round(pre / dt_s) * dt_s
        post = np.round(post / dt_s) * dt_s
    events = sorted([(t, 0) for t in pre] + [(t, 1) for t in post])
    x1 = x2 = y1 = y2 = 0.0
    t_pre = t_post = -math.inf
    w = float(w0)
    eta = rule.learning_rate
    nearest = rule.pairing == "nearest"
    for t, kind in events:
        if kind == 0:
            x1 *= math.exp(-(t - t_pre) / rule.tau_plus_s) if t_pre > -math.inf else 0.0
            x2 *= math.exp(-(t - t_pre) / rule.tau_x_s) if t_pre > -math.inf else 0.0
            y1_now = y1 * math.exp(-(t - t_post) / rule.tau_minus_s) if t_post > -math.inf else 0.0
            dw = -eta * y1_now * (rule.a_minus + rule.a3_minus * x2)
            if rule.mu_minus:
                dw *= max(w - rule.w_min, 0.0) ** rule.mu_minus
            w = min(max(w + dw, rule.w_min), rule.w_max)
            x1, x2 = (1.0, 1.0) if nearest else (x1 + 1.0, x2 + 1.0)
            t_pre = t
        else:
            y1 *= math.exp(-(t - t_post) / rule.tau_minus_s) if t_post > -math.inf else 0.0
            y2 *= math.exp(-(t - t_post) / rule.tau_y_s) if t_post > -math.inf else 0.0
            x1_now = x1 * math.exp(-(t - t_pre) / rule.tau_plus_s) if t_pre > -math.inf else 0.0
            dw = eta * x1_now * (rule.a_plus + rule.a3_plus * y2)
            if rule.mu_plus:
                dw *= max(rule.w_max - w, 0.0) ** rule.mu_plus
            w = min(max(w + dw, rule.w_min), rule.w_max)
            y1, y2 = (1.0, 1.0) if nearest else (y1 + 1.0, y2 + 1.0)
            t_post = t
    return w


def learning_rate_schedule(
    eta0: float, progress: float, kind: str = "constant", final_fraction: float = 0.1
) -> float:
    """Learning rate at ``progress`` in [0, 1] of training.

    ``constant``: ``eta0``; ``linear``: from ``eta0`` to ``final_fraction * eta0``;
    ``exponential``: ``eta0 * final_fraction ** progress``; ``inverse``:
    ``eta0 / (1 + (1/final_fraction - 1) * progress)``. Apply it between presentations
    with :meth:`sparse_neuro.neuro.engines.ClockSimulator.set_learning_rate`.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"kind must be one of {SCHEDULES}, got {kind!r}")
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress!r}")
    if not 0.0 < final_fraction <= 1.0:
        raise ValueError(f"final_fraction must be in (0, 1], got {final_fraction!r}")
    if eta0 < 0:
        raise ValueError(f"eta0 must be >= 0, got {eta0!r}")
    if kind == "constant":
        return float(eta0)
    if kind == "linear":
        return float(eta0 * (1.0 - (1.0 - final_fraction) * progress))
    if kind == "exponential":
        return float(eta0 * final_fraction**progress)
    return float(eta0 / (1.0 + (1.0 / final_fraction - 1.0) * progress))
