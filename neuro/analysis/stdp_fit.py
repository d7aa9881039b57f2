"""Fit of the pair-STDP window to measured weight changes (used by :mod:`sparse_neuro.neuro.bio` to
judge rules against data; re-exported by :mod:`sparse_neuro.learning.stdp`)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

__all__ = ["fit_window"]


def _exp_decay(x: np.ndarray, a: float, tau: float) -> np.ndarray:
    return a * np.exp(-x / tau)


def fit_window(dt_s: np.ndarray, dw: np.ndarray) -> dict[str, float]:
    """Fit ``A+ exp(-dt/tau+)`` to the ``dt > 0`` changes and ``-A- exp(dt/tau-)`` to the
    ``dt < 0`` ones (nonlinear least squares).

    Returns
    -------
    dict
        ``a_plus``, ``tau_plus_s``, ``a_minus``, ``tau_minus_s`` (amplitudes as magnitudes).
    """
    dt = np.asarray(dt_s, dtype=np.float64)
    dw = np.asarray(dw, dtype=np.float64)
    pos, neg = dt > 0, dt < 0
    if pos.sum() < 3 or neg.sum() < 3:
        raise ValueError("fit_window needs at least 3 positive and 3 negative intervals")
    (ap, tp), _ = curve_fit(_exp_decay, dt[pos], dw[pos], p0=(dw[pos].max(), 0.02), maxfev=10000)
    (am, tm), _ = curve_fit(_exp_decay, -dt[neg], -dw[neg], p0=(-dw[neg].min(), 0.02), maxfev=10000)
    return {
        "a_plus": float(ap),
        "tau_plus_s": float(tp),
        "a_minus": float(am),
        "tau_minus_s": float(tm),
    }
