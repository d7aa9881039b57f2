"""Spike codes: rate (Bernoulli/Poisson), latency, delta and population codes.

Every encoder returns a time-major dense array ``[T, *shape]`` of 0/1 spikes (numpy in,
numpy out; torch in, torch out) and is deterministic under ``seed``. :func:`to_events`
turns a dense raster into the sparse ``(times_s, indices)`` lists the engines consume
(``sparse_neuro.neuro.model.inputs.SpikeArraySource``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "rate_code",
    "poisson_code",
    "latency_code",
    "first_spike_steps",
    "delta_code",
    "population_code",
    "to_events",
]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _as_numpy(x: Any, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if _is_torch(x) else np.asarray(x)
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return arr


def _out(spikes: np.ndarray, like: Any, dtype: Any) -> Any:
    if _is_torch(like):
        import torch

        tdtype = (
            dtype
            if isinstance(dtype, torch.dtype)
            else like.dtype
            if like.is_floating_point()
            else torch.float32
        )
        return torch.from_numpy(spikes).to(device=like.device, dtype=tdtype)
    return spikes.astype(np.float32 if dtype is None else dtype)


def _check_steps(n_steps: int) -> int:
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    return int(n_steps)


def _check_unit(arr: np.ndarray, name: str) -> None:
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name} must lie in [0, 1] for this code, got range [{arr.min():.4g}, {arr.max():.4g}]; "
            "normalise first (e.g. x / x.max())"
        )


def rate_code(
    x: Any, n_steps: int, *, gain: float = 1.0, seed: int | None = 0, dtype: Any = None
) -> Any:
    """Bernoulli rate code: in each step, input ``i`` spikes with probability ``gain * x_i``.

    .. math:: P(s_{t,i} = 1) = g\\, x_i, \\quad \\mathbb{E}[\\sum_t s_{t,i}] = T g x_i

    Parameters
    ----------
    x : array ``[*shape]`` with values in [0, 1]
    n_steps : int
        ``T`` >= 1.
    gain : float
        Probability per step of a unit input, in (0, 1].
    seed : int or None

    Returns
    -------
    spikes : array ``[T, *shape]`` of 0/1
    """
    n_steps = _check_steps(n_steps)
    if not (0.0 < gain <= 1.0):
        raise ValueError(f"gain must be in (0, 1], got {gain}")
    arr = _as_numpy(x, "x")
    _check_unit(arr, "x")
    rng = np.random.default_rng(seed)
    spikes = rng.random((n_steps, *arr.shape)) < gain * arr
    return _out(spikes, x, dtype)


def poisson_code(
    x: Any,
    n_steps: int,
    dt_s: float,
    max_rate_hz: float,
    *,
    seed: int | None = 0,
    dtype: Any = None,
) -> Any:
    """Poisson rate code on a clock: rate ``x * max_rate_hz``, spike probability ``rate * dt``.

    The same discretisation as ``sparse_neuro.neuro.model.inputs.PoissonSource`` on the clock engine
    (requires ``max_rate_hz * dt_s <= 1``).
    """
    if not (dt_s > 0 and math.isfinite(dt_s)):
        raise ValueError(f"dt_s must be a finite number > 0 s, got {dt_s}")
    if not (max_rate_hz > 0 and max_rate_hz * dt_s <= 1.0):
        raise ValueError(
            f"max_rate_hz must be in (0, 1/dt_s] = (0, {1 / dt_s:.6g}] Hz, got {max_rate_hz}"
        )
    return rate_code(x, n_steps, gain=max_rate_hz * dt_s, seed=seed, dtype=dtype)


def latency_code(
    x: Any,
    n_steps: int,
    *,
    mode: str = "linear",
    threshold: float = 0.01,
    tau_steps: float = 5.0,
    dtype: Any = None,
) -> Any:
    """Time-to-first-spike code: each input spikes once, stronger inputs earlier.

    For ``x > threshold`` the spike step is

    .. math::

        t_{lin}(x) = \\mathrm{round}\\big((1 - x)(T - 1)\\big), \\qquad
        t_{log}(x) = \\min\\Big(T - 1, \\mathrm{round}\\big(\\tau \\ln\\frac{x}{x - \\vartheta}\\big)\\Big)

    (``log``: the time an RC membrane driven by ``x`` takes to reach the threshold
    ``vartheta``). Inputs ``x <= threshold`` never spike.

    Parameters
    ----------
    x : array with values in [0, 1]
    n_steps : int
    mode : {"linear", "log"}
    threshold : float in [0, 1)
    tau_steps : float > 0
        Time constant of the ``log`` code, in steps.
    """
    n_steps = _check_steps(n_steps)
    if mode not in ("linear", "log"):
        raise ValueError(f"mode must be 'linear' or 'log', got {mode!r}")
    if not (0.0 <= threshold < 1.0):
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if not (tau_steps > 0):
        raise ValueError(f"tau_steps must be > 0, got {tau_steps}")
    arr = _as_numpy(x, "x")
    _check_unit(arr, "x")
    times = first_spike_steps(arr, n_steps, mode=mode, threshold=threshold, tau_steps=tau_steps)
    spikes = np.zeros((n_steps, *arr.shape), dtype=bool)
    fire = times >= 0
    idx = np.nonzero(fire)
    spikes[(times[fire], *idx)] = True
    return _out(spikes, x, dtype)


def first_spike_steps(
    x: np.ndarray,
    n_steps: int,
    *,
    mode: str = "linear",
    threshold: float = 0.01,
    tau_steps: float = 5.0,
) -> np.ndarray:
    """Spike step of each input under :func:`latency_code` (``-1``: no spike)."""
    x = np.asarray(x, dtype=np.float64)
    fire = x > threshold
    t = np.full(x.shape, -1, dtype=np.int64)
    if mode == "linear":
        t[fire] = np.rint((1.0 - x[fire]) * (n_steps - 1)).astype(np.int64)
    else:
        xf = x[fire]
        with np.errstate(divide="ignore"):
            raw = tau_steps * np.log(xf / (xf - threshold))
        t[fire] = np.minimum(np.rint(raw), n_steps - 1).astype(np.int64)
    return t


def delta_code(
    series: Any, threshold: float, *, off_channel: bool = True, dtype: Any = None
) -> Any:
    """Delta (send-on-delta) code of a time series: spikes at threshold crossings.

    A reference level starts at ``series[0]``. At step ``t >= 1``, if
    ``series[t] - ref >= threshold`` an ON spike is emitted and the reference moves up by
    the whole number of thresholds crossed; symmetrically for OFF (decreases). At most one
    spike per channel and step.

    Parameters
    ----------
    series : array ``[T, *shape]``
        Time-major signal.
    threshold : float > 0
    off_channel : bool
        If True the output has a trailing axis of size 2: ``[..., 0]`` ON, ``[..., 1]`` OFF;
        else only ON spikes (shape ``[T, *shape]``).
    """
    if not (threshold > 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold}")
    arr = _as_numpy(series, "series")
    if arr.ndim < 1 or arr.shape[0] < 1:
        raise ValueError(f"series must be time-major with at least one step, got shape {arr.shape}")
    ref = arr[0].copy()
    on = np.zeros(arr.shape, dtype=bool)
    off = np.zeros(arr.shape, dtype=bool)
    for t in range(1, arr.shape[0]):
        d = arr[t] - ref
        n_up = np.floor(d / threshold)
        n_down = np.floor(-d / threshold)
        up, down = n_up >= 1, n_down >= 1
        on[t], off[t] = up, down
        ref = ref + np.where(up, n_up, 0.0) * threshold - np.where(down, n_down, 0.0) * threshold
    spikes = np.stack([on, off], axis=-1) if off_channel else on
    return _out(spikes, series, dtype)


def population_code(
    x: Any,
    n_steps: int,
    n_neurons: int,
    *,
    low: float = 0.0,
    high: float = 1.0,
    sigma: float | None = None,
    max_prob: float = 1.0,
    seed: int | None = 0,
    dtype: Any = None,
) -> Any:
    """Population code with Gaussian tuning curves, read out as Bernoulli spikes.

    Each scalar input drives ``n_neurons`` neurons with preferred values ``c_j`` evenly
    spaced on ``[low, high]``; neuron ``j`` spikes per step with probability

    .. math:: p_j(x) = p_{max} \\exp\\big(-(x - c_j)^2 / (2\\sigma^2)\\big)

    Parameters
    ----------
    x : array ``[*shape]`` with values in [low, high]
    n_steps, n_neurons : int
    sigma : float, optional
        Tuning width; default the spacing of the centres.
    max_prob : float in (0, 1]

    Returns
    -------
    spikes : array ``[T, *shape, n_neurons]``
    """
    n_steps = _check_steps(n_steps)
    if int(n_neurons) != n_neurons or n_neurons < 2:
        raise ValueError(f"n_neurons must be an integer >= 2, got {n_neurons!r}")
    if not high > low:
        raise ValueError(f"need low < high, got low={low}, high={high}")
    if not (0.0 < max_prob <= 1.0):
        raise ValueError(f"max_prob must be in (0, 1], got {max_prob}")
    centres = np.linspace(low, high, int(n_neurons))
    width = (centres[1] - centres[0]) if sigma is None else float(sigma)
    if not width > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    arr = _as_numpy(x, "x")
    if arr.size and (arr.min() < low or arr.max() > high):
        raise ValueError(
            f"x must lie in [low, high] = [{low}, {high}], got [{arr.min():.4g}, {arr.max():.4g}]"
        )
    p = max_prob * np.exp(-((arr[..., None] - centres) ** 2) / (2 * width**2))
    rng = np.random.default_rng(seed)
    spikes = rng.random((n_steps, *p.shape)) < p
    return _out(spikes, x, dtype)


def to_events(spikes: Any, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Dense raster ``[T, N]`` -> sparse ``(times_s, indices)`` sorted by time then index.

    Feed the result to
    ``sparse_neuro.neuro.model.inputs.SpikeArraySource(name, N, times_s, indices)``; for a batch
    ``[T, B, N]`` call it per sample (``spikes[:, b]``).
    """
    arr = _as_numpy(spikes, "spikes")
    if arr.ndim != 2:
        raise ValueError(f"spikes must be [T, N] (one sample), got shape {arr.shape}")
    if not (dt_s > 0 and math.isfinite(dt_s)):
        raise ValueError(f"dt_s must be a finite number > 0 s, got {dt_s}")
    if np.any((arr != 0) & (arr != 1)):
        raise ValueError("spikes must be 0/1")
    t, i = np.nonzero(arr)
    return t * dt_s, i.astype(np.int32)
