"""Homeostasis: adaptive thresholds, weight normalisation, synaptic scaling.

:class:`~sparse_neuro.neuro.model.plasticity_rules.ThresholdAdaptation` (part of the network
description) runs inside the clock engine (``Population(adaptation=...)``); :func:`theta_value` is
its closed form. The other two act on a projection's weights between presentations, in place, on the
CSR arrays (``weights``, ``indices`` = postsynaptic index of each synapse), e.g. on
``ClockSimulator.weights_view(name)``.
"""

from __future__ import annotations

import math

import numpy as np

from sparse_neuro.neuro.model.plasticity_rules import ThresholdAdaptation

__all__ = [
    "theta_value",
    "normalize_columns",
    "synaptic_scaling",
    "NORM_ORDERS",
]

#: Valid ``order`` of :func:`normalize_columns`: 1 (column sum), 2 (Euclidean norm).
NORM_ORDERS = (1, 2)


def theta_value(spike_times_s: np.ndarray, t_s: float, adaptation: ThresholdAdaptation) -> float:
    """``theta`` at ``t_s`` after spikes at ``spike_times_s`` (each increment applied at
    the spike, then decaying).

    .. math:: \\theta(t) = \\theta_0 e^{-t/\\tau_\\theta}
              + \\theta_+ \\sum_{t_k \\le t} e^{-(t - t_k)/\\tau_\\theta}
    """
    ts = np.asarray(spike_times_s, dtype=np.float64)
    ts = ts[ts <= t_s]
    tau = adaptation.tau_theta_s
    if math.isinf(tau):
        return float(adaptation.theta_init + adaptation.theta_plus * ts.size)
    return float(
        adaptation.theta_init * math.exp(-t_s / tau)
        + adaptation.theta_plus * np.exp(-(t_s - ts) / tau).sum()
    )


def _check(weights: np.ndarray, indices: np.ndarray, n_post: int) -> None:
    if weights.shape != indices.shape:
        raise ValueError(
            f"weights and indices must have the same shape, got {weights.shape} and {indices.shape}"
        )
    if int(n_post) < 1 or (indices.size and indices.max() >= n_post):
        raise ValueError(
            f"n_post must be >= 1 and > every index (max index {indices.max() if indices.size else -1}), got {n_post}"
        )


def normalize_columns(
    weights: np.ndarray, indices: np.ndarray, n_post: int, total: float, order: int = 1
) -> np.ndarray:
    """Scale each postsynaptic neuron's incoming weights to norm ``total`` (in place).

    .. math:: w_{ij} \\leftarrow w_{ij} \\frac{T}{\\lVert w_{\\cdot j} \\rVert_p}

    Parameters
    ----------
    total : float
        Target norm ``T`` > 0.
    order : {1, 2}
        ``1``: the column sum (Diehl & Cook 2015; equal to the L1 norm for non-negative
        weights); ``2``: the Euclidean norm (the fixed point of Oja's rule). With an L2 norm
        the neuron's drive ``x . w`` ranks prototypes by angle, which is what makes a
        winner-take-all layer a nearest-prototype classifier on inputs of varying contrast.

    Columns of norm 0 are left unchanged. Returns ``weights``.
    """
    _check(weights, indices, n_post)
    if not (np.isfinite(total) and total > 0):
        raise ValueError(f"total must be a finite number > 0, got {total!r}")
    if order not in NORM_ORDERS:
        raise ValueError(f"order must be 1 (column sum) or 2 (Euclidean norm), got {order!r}")
    if order == 1:
        norms = np.bincount(indices, weights=weights, minlength=n_post)
    else:
        norms = np.sqrt(
            np.bincount(indices, weights=np.square(weights, dtype=np.float64), minlength=n_post)
        )
    factor = np.divide(total, norms, out=np.ones_like(norms), where=norms != 0)
    weights *= factor[indices].astype(weights.dtype)
    return weights


def synaptic_scaling(
    weights: np.ndarray,
    indices: np.ndarray,
    n_post: int,
    rate_hz: np.ndarray,
    target_hz: float,
    gain: float = 0.1,
    w_max: float | None = None,
) -> np.ndarray:
    """Multiplicative synaptic scaling toward a target rate (Turrigiano 1998), in place.

    .. math:: w_{ij} \\leftarrow w_{ij} \\max(0, 1 + g (r^* - r_j) / r^*)

    Parameters
    ----------
    rate_hz : ndarray (n_post,)
        Measured rate of each postsynaptic neuron.
    target_hz : float
        Target rate ``r*`` > 0.
    gain : float
        Step size ``g`` in (0, 1].
    w_max : float, optional
        Clip weights to at most this after scaling.
    """
    _check(weights, indices, n_post)
    rate = np.asarray(rate_hz, dtype=np.float64)
    if rate.shape != (n_post,):
        raise ValueError(f"rate_hz must have shape ({n_post},), got {rate.shape}")
    if not target_hz > 0:
        raise ValueError(f"target_hz must be > 0, got {target_hz!r}")
    if not 0 < gain <= 1:
        raise ValueError(f"gain must be in (0, 1], got {gain!r}")
    factor = np.maximum(0.0, 1.0 + gain * (target_hz - rate) / target_hz)
    weights *= factor[indices].astype(weights.dtype)
    if w_max is not None:
        np.minimum(weights, w_max, out=weights)
    return weights
