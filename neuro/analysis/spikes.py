"""Spike-train statistics: firing rates, ISI coefficient of variation, Fano factor, sparseness.

All functions take a :class:`sparse_neuro.neuro.model.record.SpikeTrains` (sparse times + indices)
or plain arrays; nothing builds a dense ``[T, N]`` raster. Times are in seconds, rates in hertz.
"""

from __future__ import annotations

import math

import numpy as np

from sparse_neuro.neuro.model.record import SpikeTrains

__all__ = [
    "firing_rates",
    "mean_rate",
    "isi_cv",
    "fano_factor",
    "population_sparseness",
    "lifetime_sparseness",
    "activation_sparsity",
]


def _window(
    spikes: SpikeTrains, t_start_s: float | None, t_stop_s: float | None
) -> tuple[float, float]:
    """The analysis window; defaults to the recorded ``[t_start, t_start + duration)``."""
    t_start_s = spikes.t_start_s if t_start_s is None else float(t_start_s)
    stop = spikes.t_stop_s if t_stop_s is None else float(t_stop_s)
    if not (math.isfinite(t_start_s) and t_start_s >= 0):
        raise ValueError(f"t_start_s must be finite and >= 0 s, got {t_start_s}")
    if not (math.isfinite(stop) and stop > t_start_s):
        raise ValueError(f"t_stop_s must be finite and > t_start_s={t_start_s} s, got {stop}")
    return float(t_start_s), stop


def _select(spikes: SpikeTrains, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    keep = (spikes.times_s >= t0) & (spikes.times_s < t1)
    return spikes.times_s[keep], spikes.indices[keep]


def firing_rates(
    spikes: SpikeTrains, t_start_s: float | None = None, t_stop_s: float | None = None
) -> np.ndarray:
    """Firing rate of every neuron over ``[t_start_s, t_stop_s)``.

    .. math:: r_i = n_i / (t_{stop} - t_{start})

    Parameters
    ----------
    spikes : SpikeTrains
    t_start_s, t_stop_s : float
        Analysis window in seconds (absolute times); defaults to the recorded interval
        ``[spikes.t_start_s, spikes.t_stop_s)``.

    Returns
    -------
    ndarray of float64, shape (spikes.size,)
        Rates in Hz.
    """
    t0, t1 = _window(spikes, t_start_s, t_stop_s)
    _, idx = _select(spikes, t0, t1)
    return np.bincount(idx, minlength=spikes.size).astype(np.float64) / (t1 - t0)


def mean_rate(
    spikes: SpikeTrains, t_start_s: float | None = None, t_stop_s: float | None = None
) -> float:
    """Population-mean firing rate in Hz (spikes per neuron per second) over the window."""
    return float(firing_rates(spikes, t_start_s, t_stop_s).mean())


def isi_cv(
    spikes: SpikeTrains,
    min_spikes: int = 3,
    t_start_s: float | None = None,
    t_stop_s: float | None = None,
) -> np.ndarray:
    """Coefficient of variation of the interspike intervals of every neuron.

    .. math:: CV_i = \\sigma(\\mathrm{ISI}_i) / \\mu(\\mathrm{ISI}_i)

    using the population standard deviation (``ddof=0``) of each neuron's intervals.
    A Poisson train has CV 1, a regular (clock-like) train CV 0.

    Parameters
    ----------
    spikes : SpikeTrains
    min_spikes : int
        Neurons with fewer spikes in the window (so fewer than ``min_spikes - 1``
        intervals) get ``nan``; must be >= 2.
    t_start_s, t_stop_s : float
        Analysis window in seconds; defaults to the recorded interval.

    Returns
    -------
    ndarray of float64, shape (spikes.size,)
        CV per neuron, ``nan`` where undefined; use ``np.nanmedian`` / ``np.nanmean``.
    """
    if int(min_spikes) != min_spikes or min_spikes < 2:
        raise ValueError(f"min_spikes must be an integer >= 2, got {min_spikes!r}")
    t0, t1 = _window(spikes, t_start_s, t_stop_s)
    times, idx = _select(spikes, t0, t1)
    order = np.lexsort((times, idx))  # by neuron, then time
    times, idx = times[order], idx[order]
    same = idx[1:] == idx[:-1]
    isi = np.diff(times)[same]
    owner = idx[1:][same]
    n = np.bincount(owner, minlength=spikes.size).astype(np.float64)
    s1 = np.bincount(owner, weights=isi, minlength=spikes.size)
    mu = s1 / np.maximum(n, 1.0)
    # two-pass variance: E[x^2] - E[x]^2 would leave ~1e-8 noise on a regular train
    dev = isi - mu[owner]
    var = np.bincount(owner, weights=dev * dev, minlength=spikes.size) / np.maximum(n, 1.0)
    cv = np.full(spikes.size, np.nan)
    ok = (n >= min_spikes - 1) & (s1 > 0)
    cv[ok] = np.sqrt(var[ok]) / mu[ok]
    return cv


def fano_factor(
    spikes: SpikeTrains,
    bin_s: float,
    t_start_s: float | None = None,
    t_stop_s: float | None = None,
    pooled: bool = False,
) -> np.ndarray | float:
    """Fano factor of spike counts in consecutive windows of ``bin_s`` seconds.

    .. math:: F_i = \\mathrm{Var}(N_i) / \\mathrm{E}[N_i]

    over the ``floor((t_stop - t_start) / bin_s)`` complete windows (``ddof=0``).
    A Poisson process has F = 1.

    Parameters
    ----------
    spikes : SpikeTrains
    bin_s : float
        Counting window in seconds, > 0; at least two windows must fit in the range.
    t_start_s, t_stop_s : float
        Analysis range in seconds; defaults to the recorded interval.
    pooled : bool
        If True, return the Fano factor of the population's summed count instead of one
        value per neuron.

    Returns
    -------
    ndarray of float64, shape (spikes.size,), or float if ``pooled``
        ``nan`` for neurons that never fire in the range.
    """
    t0, t1 = _window(spikes, t_start_s, t_stop_s)
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin_s must be finite and > 0 s, got {bin_s}")
    n_bins = int(math.floor((t1 - t0) / bin_s + 1e-9))
    if n_bins < 2:
        raise ValueError(
            f"bin_s={bin_s} s leaves {n_bins} complete window(s) in [{t0}, {t1}) s; need >= 2"
        )
    times, idx = _select(spikes, t0, t0 + n_bins * bin_s)
    b = np.minimum(((times - t0) / bin_s).astype(np.int64), n_bins - 1)
    if pooled:
        counts = np.bincount(b, minlength=n_bins).astype(np.float64)
        m = counts.mean()
        return float(counts.var() / m) if m > 0 else math.nan
    counts = np.bincount(idx.astype(np.int64) * n_bins + b, minlength=spikes.size * n_bins)
    counts = counts.reshape(spikes.size, n_bins).astype(np.float64)
    m = counts.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, counts.var(axis=1) / np.where(m > 0, m, 1.0), np.nan)


def _treves_rolls(r: np.ndarray, axis: int) -> np.ndarray:
    """Vinje-Gallant sparseness along ``axis``; nan where every response is 0."""
    n = r.shape[axis]
    if n < 2:
        raise ValueError(f"need at least 2 responses along the sparseness axis, got {n}")
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("responses must be finite and >= 0 (rates or spike counts)")
    m1 = r.mean(axis=axis)
    m2 = (r * r).mean(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(m2 > 0, m1 * m1 / np.where(m2 > 0, m2, 1.0), np.nan)
    return (1.0 - a) / (1.0 - 1.0 / n)


def population_sparseness(responses: np.ndarray) -> np.ndarray | float:
    """Treves-Rolls / Vinje-Gallant sparseness across neurons, per stimulus.

    .. math:: S = \\frac{1 - (\\sum_i r_i / N)^2 / (\\sum_i r_i^2 / N)}{1 - 1/N}

    0 when all ``N`` neurons respond equally, 1 when exactly one responds.

    Parameters
    ----------
    responses : ndarray, shape (N,) or (n_stimuli, N)
        Non-negative responses (rates or counts) of ``N`` neurons.

    Returns
    -------
    float or ndarray of shape (n_stimuli,)
        ``nan`` for a stimulus with no response at all.
    """
    r = np.asarray(responses, dtype=np.float64)
    if r.ndim not in (1, 2):
        raise ValueError(f"responses must be 1-D (N,) or 2-D (n_stimuli, N), got shape {r.shape}")
    s = _treves_rolls(r, axis=-1)
    return float(s) if r.ndim == 1 else s


def lifetime_sparseness(responses: np.ndarray) -> np.ndarray:
    """Treves-Rolls sparseness of each neuron across stimuli.

    Parameters
    ----------
    responses : ndarray, shape (n_stimuli, N)

    Returns
    -------
    ndarray of shape (N,)
        Same formula as :func:`population_sparseness`, taken along the stimulus axis.
    """
    r = np.asarray(responses, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"responses must be 2-D (n_stimuli, N), got shape {r.shape}")
    return _treves_rolls(r, axis=0)


def activation_sparsity(activations: np.ndarray, threshold: float = 0.0) -> float:
    """Fraction of activations that are zero (NeuroBench's activation sparsity).

    An activation counts as zero when ``|a| <= threshold``. For a spike raster this is
    ``1 - (spikes / (steps * neurons))``.

    Parameters
    ----------
    activations : ndarray
        Any shape (e.g. time-major ``[T, B, N]`` spikes or rates).
    threshold : float
        >= 0.
    """
    a = np.asarray(activations)
    if a.size == 0:
        raise ValueError("activations must not be empty")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be finite and >= 0, got {threshold}")
    return float(np.count_nonzero(np.abs(a) <= threshold) / a.size)
