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
* :class:`SynapseArena` and :func:`concatenate_views`: projections built into one arena
  share their memory with the engine's flattened plan (one copy of the synapses, not two).

Large draws are made ``CHUNK`` values at a time, so that building the full-scale
microcircuit (0.3 billion synapses, 9 bytes each) needs little more than its result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from sparse_neuro.neuro.model.synapses import (
    SparseSynapses,
    _check_synapse_memory,
    _check_weight_values,
)
from sparse_neuro.neuro.model.validation import check_memory, make_rng

__all__ = [
    "fixed_total_number",
    "fixed_indegree",
    "normal_delays_steps",
    "normal_weights",
    "SynapseArena",
    "concatenate_views",
    "CHUNK",
]

Seed = int | np.random.Generator | None

#: Values drawn per chunk by the large builders (a few tens of MB of temporaries).
CHUNK = 1 << 22


def _count(name: str, value: int, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _from_pairs(
    pre: np.ndarray,
    post: np.ndarray,
    n_pre: int,
    n_post: int,
    weights: np.ndarray | float,
    delays: np.ndarray | int,
    dtype: type,
) -> SparseSynapses:
    """CSR from COO pairs (stable order per presynaptic row)."""
    order = np.argsort(pre, kind="stable")
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    w = np.broadcast_to(np.asarray(weights, dtype=dtype), pre.shape)[order]
    d = np.broadcast_to(np.asarray(delays), pre.shape)[order]
    return SparseSynapses(indptr, post[order].astype(np.int32), np.ascontiguousarray(w), d, n_post)


def _trunc_normal(
    mean: float, sd: float, n: int, low: float, rng: np.random.Generator, mode: str
) -> np.ndarray:
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


def _chunked(n: int, dtype: type, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """``n`` values of ``draw`` made ``CHUNK`` at a time into one array of ``dtype``, so that a
    draw of hundreds of millions never holds a float64 temporary of its full length."""
    out = np.empty(n, dtype=dtype)
    for lo in range(0, n, CHUNK):
        out[lo : lo + CHUNK] = draw(min(CHUNK, n - lo))
    return out


def normal_delays_steps(
    n: int,
    mean_s: float,
    sd_s: float,
    dt_s: float,
    *,
    min_s: float | None = None,
    mode: str = "redraw",
    seed: Seed = None,
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
    ndarray of uint8 (or uint16 when a delay exceeds 255 steps), shape (n,)
        The delay dtype of :class:`SparseSynapses`: one byte per synapse.

    Raises
    ------
    ValueError
        Invalid parameters, or a drawn delay above 65535 steps.
    """
    n = _count("n", n)
    check_memory(f"normal_delays_steps(n={n})", 3.0 * n, "lower n")  # uint16 + uint8 copy
    for name, v, ok in (
        ("mean_s", mean_s, mean_s > 0),
        ("sd_s", sd_s, sd_s >= 0),
        ("dt_s", dt_s, dt_s > 0),
    ):
        if not (math.isfinite(v) and ok):
            raise ValueError(
                f"{name} must be finite and {'>= 0' if name == 'sd_s' else '> 0'} s, got {v}"
            )
    low = dt_s if min_s is None else float(min_s)
    if not (math.isfinite(low) and low >= 0):
        raise ValueError(f"min_s must be finite and >= 0 s, got {min_s}")
    rng = make_rng(seed)
    top = np.iinfo(np.uint16).max

    def draw(m: int) -> np.ndarray:
        steps = np.rint(_trunc_normal(mean_s, sd_s, m, low, rng, mode) / dt_s)
        if m and steps.max() > top:
            raise ValueError(
                f"a delay of {steps.max():.0f} steps exceeds {top} steps (dt_s={dt_s:g} s); "
                "lower mean_s / sd_s or raise dt_s"
            )
        return steps

    d = _chunked(n, np.uint16, draw)
    return d.astype(np.uint8) if n == 0 or d.max() <= np.iinfo(np.uint8).max else d


def normal_weights(
    n: int, mean: float, sd: float, *, seed: Seed = None, dtype: type = np.float64
) -> np.ndarray:
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
    dtype : numpy float type
        Of the result (float32 halves the memory of a large projection).
    """
    n = _count("n", n)
    if not (math.isfinite(mean) and mean != 0):
        raise ValueError(f"mean must be finite and != 0, got {mean}")
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"sd must be finite and >= 0, got {sd}")
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    check_memory(f"normal_weights(n={n})", float(n) * np.dtype(dtype).itemsize, "lower n")
    s = math.copysign(1.0, mean)
    rng = make_rng(seed)
    return _chunked(n, dtype, lambda m: s * _trunc_normal(abs(mean), sd, m, 0.0, rng, "redraw"))


class SynapseArena:
    """Synapse arrays for many projections, allocated once and handed out block by block.

    Builders given an arena (``fixed_total_number(..., arena=a)``) store their synapses in
    its next free block instead of arrays of their own. Projections built in network order
    are then consecutive views of three arrays, and :func:`concatenate_views` (used by
    :func:`sparse_neuro.neuro.engines.plan.build_plan`) hands the engine those arrays instead of a
    concatenated copy: the network and the engine share one copy of the synapses, which
    halves the memory of a network of hundreds of millions of synapses.

    Parameters
    ----------
    n_synapses : int
        Capacity, >= 0.
    dtype : numpy float type
        Weight dtype (float32 or float64).
    delay_dtype : numpy unsigned type
        Delay dtype in steps (uint8 or uint16, as :class:`SparseSynapses`).
    """

    def __init__(self, n_synapses: int, dtype: type = np.float32, delay_dtype: type = np.uint8):
        n = _count("n_synapses", n_synapses)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
        if delay_dtype not in (np.uint8, np.uint16):
            raise ValueError(
                f"delay_dtype must be numpy.uint8 or numpy.uint16, got {delay_dtype!r}"
            )
        check_memory(
            f"SynapseArena(n_synapses={n})",
            float(n) * (4 + np.dtype(dtype).itemsize + np.dtype(delay_dtype).itemsize),
            "lower n_synapses",
        )
        self.indices = np.empty(n, dtype=np.int32)
        self.weights = np.empty(n, dtype=dtype)
        self.delays = np.empty(n, dtype=delay_dtype)
        self.used = 0

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Views ``(indices, weights, delays)`` of the next ``n`` free synapses."""
        n = _count("n", n)
        if self.used + n > self.indices.size:
            raise ValueError(
                f"arena full: {n} synapses requested, {self.indices.size - self.used} free"
            )
        sl = slice(self.used, self.used + n)
        self.used += n
        for a in (self.indices, self.weights, self.delays):
            a.flags.writeable = True  # until :meth:`seal`: the block is being filled
        return self.indices[sl], self.weights[sl], self.delays[sl]

    def seal(self) -> None:
        """Make the arena's arrays read-only (after a block is filled): a
        :class:`SparseSynapses` built on a sealed block is a read-only view of it rather than
        a copy (:func:`sparse_neuro.neuro.model.synapses.read_only`)."""
        for a in (self.indices, self.weights, self.delays):
            a.flags.writeable = False


def concatenate_views(arrays: Sequence[np.ndarray], dtype: type) -> np.ndarray:
    """``np.concatenate(arrays)`` as ``dtype``, without a copy when it is not needed.

    When the arrays are consecutive, contiguous views of one 1-D buffer of ``dtype`` (the
    projections of a :class:`SynapseArena`, in order), the result is a view of that buffer
    (it shares memory with the inputs); otherwise a new array.
    """
    arrays = list(arrays)
    if not arrays:
        return np.zeros(0, dtype=dtype)
    base = arrays[0].base
    if (
        isinstance(base, np.ndarray)
        and base.ndim == 1
        and base.dtype == dtype
        and all(
            a.base is base and a.ndim == 1 and a.dtype == dtype and a.flags.c_contiguous
            for a in arrays
        )
    ):
        starts = [(a.ctypes.data - base.ctypes.data) // base.itemsize for a in arrays]
        if all(s + a.size == s_next for s, a, s_next in zip(starts, arrays, starts[1:])):
            return base[starts[0] : starts[-1] + arrays[-1].size]
    return np.concatenate(arrays, dtype=dtype, casting="same_kind")


def _sorted_uniform_columns(
    indptr: np.ndarray, n_post: int, rng: np.random.Generator, out: np.ndarray
) -> None:
    """Fill ``out`` (int32) with uniform draws from ``[0, n_post)``, ascending within each row
    of ``indptr``, ``CHUNK`` synapses (whole rows) at a time.

    Rows sorted in ascending order let the clock engine split every row between threads by
    bisection; the draws of a row are exchangeable, so sorting them changes nothing else.
    """
    n_pre = indptr.size - 1
    r0 = 0
    while r0 < n_pre:
        # whole rows, about CHUNK synapses (at least one row)
        r1 = max(int(np.searchsorted(indptr, indptr[r0] + CHUNK, side="right")) - 1, r0 + 1)
        lo, hi = int(indptr[r0]), int(indptr[r1])
        rows = np.repeat(np.arange(r1 - r0, dtype=np.int64) * n_post, np.diff(indptr[r0 : r1 + 1]))
        key = rows + rng.integers(0, n_post, hi - lo)
        key.sort()
        out[lo:hi] = key - rows  # rows are non-decreasing: subtracting them undoes the offset
        r0 = r1


def fixed_total_number(
    n_pre: int,
    n_post: int,
    n_synapses: int,
    weight: float | np.ndarray = 1.0,
    delay: int | np.ndarray = 0,
    *,
    seed: Seed = None,
    dtype: type = np.float32,
    arena: SynapseArena | None = None,
) -> SparseSynapses:
    """Exactly ``n_synapses`` synapses between uniformly drawn (pre, post) pairs, multapses allowed.

    Each synapse's pre- and postsynaptic neurons are independent uniform draws. They are
    generated as the equivalent: the count of synapses of every presynaptic neuron
    (multinomial), then the postsynaptic neurons of each row (uniform), ``CHUNK`` synapses
    at a time and sorted within the row (memory: the result plus a few bytes per synapse of
    one chunk).

    Parameters
    ----------
    n_pre, n_post : int
        Population sizes, >= 1.
    n_synapses : int
        Total number of synapses, >= 0.
    weight : float or ndarray of shape (n_synapses,)
        Weight of every synapse or of each, in CSR order (e.g. from :func:`normal_weights`:
        i.i.d. weights, so their order does not matter).
    delay : int or ndarray of shape (n_synapses,)
        Delay in steps (e.g. from :func:`normal_delays_steps`), in CSR order.
    seed : int or Generator, optional
    dtype : numpy float type of the weights (ignored with an ``arena``: its dtype)
    arena : SynapseArena, optional
        Store the synapses in the arena's next block (see :class:`SynapseArena`).

    Returns
    -------
    SparseSynapses
    """
    n_pre, n_post = _count("n_pre", n_pre, 1), _count("n_post", n_post, 1)
    n_syn = _count("n_synapses", n_synapses)
    for name, v in (("weight", weight), ("delay", delay)):
        if np.ndim(v) and np.shape(v) != (n_syn,):
            raise ValueError(f"{name} must be a scalar or have shape ({n_syn},), got {np.shape(v)}")
    _check_weight_values(weight, (n_syn,))
    if arena is None:  # in an arena the synapses are already allocated: temporaries only
        _check_synapse_memory(
            f"fixed_total_number(n_pre={n_pre}, n_post={n_post}, n_synapses={n_syn})",
            n_pre,
            n_syn,
            "lower n_synapses (e.g. scale the network down)",
            24,
        )
    rng = make_rng(seed)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(rng.multinomial(n_syn, np.full(n_pre, 1.0 / n_pre)), out=indptr[1:])
    if arena is None:
        indices, w, d = np.empty(n_syn, dtype=np.int32), np.empty(n_syn, dtype=dtype), delay
    else:
        indices, w, d = arena.take(n_syn)
        top = np.iinfo(d.dtype).max
        if n_syn and (np.min(delay) < 0 or np.max(delay) > top):
            raise ValueError(
                f"delay must be in [0, {top}] steps (the arena's {d.dtype}), "
                f"got [{np.min(delay)}, {np.max(delay)}]"
            )
        d[:] = delay
    _sorted_uniform_columns(indptr, n_post, rng, indices)
    w[:] = weight
    if arena is not None:
        arena.seal()  # the synapses below are then views of the arena, not copies
    return SparseSynapses(indptr, indices, w, d, n_post)


def fixed_indegree(
    n_pre: int,
    n_post: int,
    k: int,
    weight: float | np.ndarray = 1.0,
    delay: int | np.ndarray = 0,
    *,
    multapses: bool = True,
    seed: Seed = None,
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
        return SparseSynapses.fixed_indegree(
            n_pre, n_post, k, weight, int(delay), seed=seed, dtype=dtype
        )
    _check_weight_values(weight, (n_post * k,))
    if np.ndim(delay) and np.shape(delay) != (n_post * k,):  # numpy's broadcast error otherwise
        raise ValueError(
            f"delay must be a scalar or have shape ({n_post * k},) (n_post * k), "
            f"got {np.shape(delay)}"
        )
    # measured peak ~48 B per synapse: int64 pre and post, their sort order, the CSR copy
    _check_synapse_memory(
        f"fixed_indegree(n_pre={n_pre}, n_post={n_post}, k={k})",
        n_pre,
        n_post * k,
        "lower k or n_post",
        64,
    )
    rng = make_rng(seed)
    pre = rng.integers(0, n_pre, n_post * k)
    post = np.repeat(np.arange(n_post), k)
    return _from_pairs(pre, post, n_pre, n_post, weight, delay, dtype)
