"""Counter-based random numbers: a pure function of (seed, stream, step, index).

Every random number an engine draws is ``uniform(seed, stream, step, index)``, a hash of its
coordinates, not the next value of a sequential generator. So spikes do not depend on how
a run is cut into chunks or calls, on the order in which sources are visited, on the thread
count or on the backend: any of them asks for the same coordinates and gets the same number.

The hash chains the SplitMix64 finaliser (Steele, Lea & Flood 2014), a bijective 64-bit
mixer with full avalanche, over the four coordinates, the construction of counter-based
generators such as Random123's (Salmon et al. 2011) with a cheaper round function. It is
not cryptographic; it passes the uniformity and independence checks in
``tests/test_rng.py``.

Streams: each consumer of randomness takes its own ``stream`` number (for example one per
Poisson source group, one per external drive), so adding a source never changes the numbers
another one draws.
"""

from __future__ import annotations

import numpy as np

from sparse_neuro.neuro.jit import njit

__all__ = [
    "uniform",
    "poisson_count",
    "poisson_cdf",
    "poisson_from_cdf",
    "uniform_array",
    "stream_id",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(nogil=True, inline="always")
def _mix(x):
    """SplitMix64 finaliser of ``x + golden`` (uint64 arithmetic wraps modulo 2**64)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(nogil=True, inline="always")
def uniform(seed, stream, step, index):
    """A uniform number in ``[0, 1)`` (53 random bits) for the given coordinates.

    Parameters
    ----------
    seed, stream, step, index : int
        Non-negative integers below 2**63 (cast to uint64).

    Returns
    -------
    float
    """
    h = _mix(np.uint64(seed))
    h = _mix(h ^ np.uint64(stream))
    h = _mix(h ^ np.uint64(step))
    h = _mix(h ^ np.uint64(index))
    return float(h >> _S11) * _INV53


@njit(nogil=True, inline="always")
def poisson_count(lam, u):
    """Inverse-CDF Poisson sample with mean ``lam`` (``lam`` <= ~700) from one uniform ``u``.

    The cost is ``O(1 + lam)``; the engines use it for per-step counts with small means.
    """
    p = np.exp(-lam)
    cdf = p
    k = 0
    while u >= cdf and p > 0.0:
        k += 1
        p *= lam / k
        cdf += p
    return k


@njit(nogil=True)
def poisson_cdf(lam, out):
    """The table that :func:`poisson_from_cdf` searches instead of :func:`poisson_count`
    computing it for every draw: ``out[j]`` = the CDF value ``poisson_count`` reaches after
    ``j`` terms, by the same floating-point operations in the same order.

    Returns ``(n, tail)``: the table holds ``n`` values; ``poisson_count`` returns ``tail``
    for every ``u`` at or above the last one (it stops there whatever ``u`` in ``[0, 1)``:
    its CDF reaches 1, or its term underflows to 0 after the CDF has stopped growing in
    floating point). ``(-1, -1)`` if ``out`` is too short (then use ``poisson_count``).
    """
    p = np.exp(-lam)
    cdf = p
    n = -1
    j = 0
    while p > 0.0 and cdf < 1.0:  # poisson_count's loop goes on for some u
        if n < 0:
            if j == out.shape[0]:
                return -1, -1
            out[j] = cdf
        j += 1
        p *= lam / j
        grown = cdf + p
        if n < 0 and grown == cdf:  # the CDF has stopped growing: only the tail is left
            n = j
        cdf = grown
    return (j if n < 0 else n), j


@njit(nogil=True, inline="always")
def poisson_from_cdf(u, cdf, n, tail):
    """:func:`poisson_count` of ``u`` from the table ``cdf[:n]`` (and ``tail``) of
    :func:`poisson_cdf`: the same count (the CDF never decreases, so the count is the number
    of table values ``<= u``), with no exponential or division per draw."""
    k = 0
    while k < n and u >= cdf[k]:
        k += 1
    return tail if k == n else k


@njit(nogil=True)
def uniform_array(seed, stream, step, n):
    """``uniform(seed, stream, step, i)`` for ``i`` in ``range(n)`` (tests and vector use)."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = uniform(seed, stream, step, i)
    return out


def stream_id(kind: int, group: int) -> int:
    """Stream number of consumer ``group`` of kind ``kind`` (0: Poisson sources, 1: external
    Poisson drives, 2..: reserved), so that kinds never share a stream."""
    if not (0 <= kind < 16 and 0 <= group < 2**40):
        raise ValueError(f"need 0 <= kind < 16 and 0 <= group < 2**40, got {kind}, {group}")
    return (kind << 40) | group
