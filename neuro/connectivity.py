"""Connectivity rules of the canonical network benchmarks, as :class:`SparseSynapses`.

* :func:`fixed_total_number`: exactly ``n_synapses`` synapses, each with a pre- and a
  postsynaptic neuron drawn uniformly and independently, so one pair may be connected more
  than once (multapses) — the Potjans & Diesmann 2014 microcircuit rule (NEST
  ``fixed_total_number`` with ``allow_multapses=True``).
* :func:`fixed_indegree`: every postsynaptic neuron gets exactly ``k`` inputs (Brunel 2000),
  with multapses as NEST's default or distinct partners.
* :func:`normal_delays_steps`: per-synapse delays from a normal distribution given in
  **seconds**, truncated at ``min_s`` (redrawn below it, as NEST's ``redraw``; or clipped),
  converted to whole steps of ``dt`` by rounding.
* :func:`normal_weights`: weights from a normal distribution that never changes sign
  (redrawn, as the microcircuit's ``redraw`` on excitatory >= 0 / inhibitory <= 0 weights).
"""

from __future__ import annotations

import math

import numpy as np

from neuro.synapses import SparseSynapses

__all__ = ["fixed_total_number", "fixed_indegree", "normal_delays_steps", "normal_weights"]

Seed = int | np.random.Generator | None


def _count(name: str, value: int, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _from_pairs(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int,
                weights: np.ndarray | float, delays: np.ndarray | int, dtype: type) -> SparseSynapses:
    """CSR from COO pairs (stable order per presynaptic row)."""
    order = np.argsort(pre, kind="stable")
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    w = np.broadcast_to(np.asarray(weights, dtype=dtype), pre.shape)[order]
    d = np.broadcast_to(np.asarray(delays), pre.shape)[order]
    return SparseSynapses(indptr, post[order].astype(np.int32), np.ascontiguousarray(w), d, n_post)


def _trunc_normal(mean: float, sd: float, n: int, low: float, rng: np.random.Generator,
                  mode: str) -> np.ndarray:
    x = rng.normal(mean, sd, n) if sd > 0 else np.full(n, float(mean))
    if mode == "clip":
        return np.maximum(x, low)
    if mode != "redraw":
        raise ValueError(f"mode must be 'redraw' or 'clip', got {mode!r}")
    if sd == 0 and mean < low:
        raise ValueError(f"mean {mean} is below the bound {low} with sd 0: nothing to redraw")
    bad = x < low
    while bad.any():  # converges fast unless the bound sits far above the mean
        x[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = x < low
    return x


def normal_delays_steps(
    n: int, mean_s: float, sd_s: float, dt_s: float, *, min_s: float | None = None,
    mode: str = "redraw", seed: Seed = None,
) -> np.ndarray:
    """Synaptic delays in steps from a normal distribution in seconds, truncated below.

    Parameters
    ----------
    n : int
        Number of delays, >= 0.
    mean_s, sd_s : float
        Mean (> 0) and standard deviation (>= 0) in seconds.
    dt_s : float
        Simulation step in seconds, > 0; delays are ``round(d / dt)`` steps.
    min_s : float, optional
        Lower bound in seconds (default ``dt_s``, NEST's minimum delay), >= 0.
    mode : str
        ``"redraw"`` (values below ``min_s`` are drawn again: a truncated normal, as NEST's
        ``nest.math.redraw``) or ``"clip"`` (set to ``min_s``).
    seed : int or Generator, optional

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    n = _count("n", n)
    for name, v, ok in (("mean_s", mean_s, mean_s > 0), ("sd_s", sd_s, sd_s >= 0), ("dt_s", dt_s, dt_s > 0)):
        if not (math.isfinite(v) and ok):
            raise ValueError(f"{name} must be finite and {'>= 0' if name == 'sd_s' else '> 0'} s, got {v}")
    low = dt_s if min_s is None else float(min_s)
    if not (math.isfinite(low) and low >= 0):
        raise ValueError(f"min_s must be finite and >= 0 s, got {min_s}")
    d = _trunc_normal(mean_s, sd_s, n, low, np.random.default_rng(seed), mode)
    return np.rint(d / dt_s).astype(np.int64)


def normal_weights(n: int, mean: float, sd: float, *, seed: Seed = None) -> np.ndarray:
    """Weights from ``N(mean, sd)`` redrawn until they have the sign of ``mean`` (or are 0).

    Parameters
    ----------
    n : int
        Number of weights, >= 0.
    mean : float
        Mean weight, != 0; its sign is kept.
    sd : float
        Standard deviation, >= 0.
    seed : int or Generator, optional
    """
    n = _count("n", n)
    if not (math.isfinite(mean) and mean != 0):
        raise ValueError(f"mean must be finite and != 0, got {mean}")
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"sd must be finite and >= 0, got {sd}")
    s = math.copysign(1.0, mean)
    return s * _trunc_normal(abs(mean), sd, n, 0.0, np.random.default_rng(seed), "redraw")


def fixed_total_number(
    n_pre: int, n_post: int, n_synapses: int, weight: float | np.ndarray = 1.0,
    delay: int | np.ndarray = 0, *, seed: Seed = None, dtype: type = np.float32,
) -> SparseSynapses:
    """Exactly ``n_synapses`` synapses between uniformly drawn (pre, post) pairs, multapses allowed.

    Parameters
    ----------
    n_pre, n_post : int
        Population sizes, >= 1.
    n_synapses : int
        Total number of synapses, >= 0.
    weight : float or ndarray of shape (n_synapses,)
        Weight of every synapse or of each (in draw order, e.g. from :func:`normal_weights`).
    delay : int or ndarray of shape (n_synapses,)
        Delay in steps (e.g. from :func:`normal_delays_steps`).
    seed : int or Generator, optional
    dtype : numpy float type of the weights

    Returns
    -------
    SparseSynapses
    """
    n_pre, n_post = _count("n_pre", n_pre, 1), _count("n_post", n_post, 1)
    n_syn = _count("n_synapses", n_synapses)
    rng = np.random.default_rng(seed)
    pre = rng.integers(0, n_pre, n_syn)
    post = rng.integers(0, n_post, n_syn)
    return _from_pairs(pre, post, n_pre, n_post, weight, delay, dtype)


def fixed_indegree(
    n_pre: int, n_post: int, k: int, weight: float | np.ndarray = 1.0,
    delay: int | np.ndarray = 0, *, multapses: bool = True, seed: Seed = None,
    dtype: type = np.float32,
) -> SparseSynapses:
    """Every postsynaptic neuron receives exactly ``k`` synapses from uniformly drawn neurons.

    With ``multapses=True`` (NEST's default for ``fixed_indegree``) the ``k`` presynaptic
    neurons are drawn independently (with replacement); otherwise they are distinct
    (:meth:`SparseSynapses.fixed_indegree`). ``weight`` and ``delay`` arrays are in draw
    order: postsynaptic neuron ``j``'s synapses are ``j * k : (j + 1) * k``.
    """
    n_pre, n_post = _count("n_pre", n_pre, 1), _count("n_post", n_post, 1)
    k = _count("k", k)
    if not multapses:
        if np.ndim(weight) or np.ndim(delay):
            raise ValueError("per-synapse weight/delay arrays need multapses=True")
        return SparseSynapses.fixed_indegree(n_pre, n_post, k, weight, int(delay), seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    pre = rng.integers(0, n_pre, n_post * k)
    post = np.repeat(np.arange(n_post), k)
    return _from_pairs(pre, post, n_pre, n_post, weight, delay, dtype)
