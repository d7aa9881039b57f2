"""Sparse synaptic connectivity: one CSR abstraction shared by every backend.

Rows are presynaptic neurons, columns postsynaptic neurons, so that propagating the
spikes of one step touches only the rows of the neurons that spiked (event-driven).
Memory is ~9 bytes per synapse: int32 column index + float32 weight + uint8 delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sparse_neuro.neuro.model.validation import check_memory, integer, make_rng, real

__all__ = ["SparseSynapses", "delay_steps", "read_only"]

_WEIGHT_DTYPES = (np.float32, np.float64)
_DELAY_DTYPES = (np.uint8, np.uint16)


def _int_array(name: str, values: object) -> np.ndarray:
    """``values`` as an integer array, checked in its own dtype: floats, booleans and
    objects are refused (they would be truncated or misread by a cast)."""
    a = np.asarray(values)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer array, got dtype {a.dtype}")
    return a


def read_only(a: np.ndarray, *, fresh: bool = False) -> np.ndarray:
    """``a`` as an array nobody can write through any more (validated data reach compiled
    kernels without bounds checks, so they must stay as validated).

    A copy, made read-only, unless no writable array shares the memory: ``a`` is read-only
    and so is the array that owns its memory (e.g. a block of a sealed
    :class:`sparse_neuro.neuro.model.connectivity.SynapseArena`); then a read-only view. The
    caller's own arrays are never frozen. ``fresh=True``: ``a`` is a new array no one else holds
    (made by the caller from the input); it is frozen itself, without a copy.
    """
    if fresh and a.base is None:
        a.flags.writeable = False
        return a
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if root.base is None and not root.flags.writeable and not a.flags.writeable:
        return a
    if root.base is None and not root.flags.writeable:
        out = a.view()
    else:
        out = a.copy()
    out.flags.writeable = False
    return out


def _owned(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """New arrays a builder made (nobody else holds them) marked read-only, so that the
    constructor keeps them instead of copying (:func:`read_only`): half the peak memory."""
    for a in arrays:
        if a.base is None:
            a.flags.writeable = False
    return arrays


def _weight_array(values: object) -> np.ndarray:
    """``values`` as weights in a dtype the engines support, without changing any value.

    float32 and float64 are kept; float16 and integers become float32 only when every value
    is exactly a float32 (int64 weights above 2**24 would be rounded: an error, not a silent
    change). Booleans, strings, objects and complex numbers are refused.

    Raises
    ------
    ValueError
        A dtype that is not real numbers, or integers that float32 cannot hold exactly (the
        message names the dtype and what to pass instead).
    """
    w = np.asarray(values)
    if w.dtype in _WEIGHT_DTYPES:
        return w
    if w.dtype.kind not in "iuf":
        raise ValueError(f"weights must be real numbers (float32 or float64), got dtype {w.dtype}")
    w32 = w.astype(np.float32)
    if w.dtype.kind in "iu" and not np.array_equal(w32.astype(w.dtype), w):
        raise ValueError(
            f"weights of dtype {w.dtype} cannot be held exactly in float32 (values "
            "beyond 2**24); pass them as float64 (weights.astype(numpy.float64))"
        )
    return w32


def _delay_array(delays: int | np.ndarray, n_syn: int) -> np.ndarray:
    """Broadcast a delay (steps) to one per synapse in the smallest unsigned dtype.

    Steps must be whole numbers: ``1e-3`` (seconds meant as steps) is an error, not 0 steps.
    """
    d = np.asarray(delays)
    if d.dtype.kind == "f":
        if not np.all(np.isfinite(d)) or np.any(d != np.round(d)):
            raise ValueError(
                "delays are whole time steps, got non-integer values (e.g. "
                f"{d.ravel()[np.flatnonzero(d != np.round(d))[:1]]}); give delays in seconds "
                "with delay_s=... and dt_s=..."
            )
        d = d.astype(np.int64)
    d = _int_array("delays", d)
    if d.ndim == 0:
        d = np.full(n_syn, int(d), dtype=np.int64) if d >= 0 else d
    if np.any(d < 0):
        raise ValueError(f"delays must be >= 0 steps, got minimum {int(np.min(d))}")
    if d.size and int(np.max(d)) > np.iinfo(np.uint16).max:
        raise ValueError(f"delays must be <= 65535 steps, got maximum {int(np.max(d))}")
    dtype = np.uint8 if (d.size == 0 or int(np.max(d)) <= 255) else np.uint16
    return np.ascontiguousarray(d, dtype=dtype)


def delay_steps(delay_s: float | np.ndarray, dt_s: float) -> np.ndarray:
    """Delays in seconds as whole steps of ``dt_s``, rounded to the nearest step.

    Raises
    ------
    ValueError
        Negative or non-finite delays, ``dt_s <= 0``, or a positive delay shorter than half
        a step (it would silently become 0 steps).
    """
    dt = real("dt_s", dt_s)
    if not dt > 0:
        raise ValueError(f"dt_s must be > 0 s, got {dt_s!r}")
    d = np.asarray(delay_s, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("delay_s must be finite and >= 0 s")
    steps = np.round(d / dt)
    if np.any((d > 0) & (steps == 0)):
        raise ValueError(
            f"delay_s below half a step (dt_s={dt:g} s) would become 0 steps; "
            "use 0 or a delay >= dt_s / 2"
        )
    return steps.astype(np.int64)


def _delays_from(
    delay: int | np.ndarray, delay_s: float | np.ndarray | None, dt_s: float | None
) -> tuple[int | np.ndarray, float | None]:
    """Builders accept steps (``delay``) or seconds (``delay_s`` with ``dt_s``)."""
    if delay_s is None:
        return delay, dt_s
    if dt_s is None:
        raise ValueError("delay_s needs dt_s (the simulation step the delays are made for)")
    if np.any(np.asarray(delay) != 0):
        raise ValueError("give either delay (steps) or delay_s (seconds), not both")
    return delay_steps(delay_s, dt_s), float(dt_s)


@dataclass(frozen=True, eq=False)
class SparseSynapses:
    """CSR synaptic matrix ``W[pre, post]`` with per-synapse delays in time steps.

    Parameters
    ----------
    indptr : ndarray of int64, shape (n_pre + 1,)
        Row pointers: the synapses of presynaptic neuron ``i`` are
        ``indptr[i]:indptr[i + 1]``.
    indices : ndarray of int32, shape (n_synapses,)
        Postsynaptic neuron of each synapse, in ``[0, n_post)``.
    weights : ndarray of float32 or float64, shape (n_synapses,)
        Synaptic weights (finite), in the units of the target's membrane/current.
    delays : ndarray of uint8 or uint16, shape (n_synapses,)
        Transmission delay of each synapse, in time steps of the simulation.
    n_post : int
        Number of postsynaptic neurons.
    dt_s : float or None
        The step (seconds) the delays were made for; :meth:`check_dt` detects a run with
        another step. Builders set it when delays are given in seconds (``delay_s``).

    Examples
    --------
    >>> syn = SparseSynapses.fixed_probability(100, 50, p=0.1, weight=0.5, seed=1)
    >>> syn.shape, syn.to_scipy().shape
    ((100, 50), (100, 50))
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    n_post: int
    dt_s: float | None = None

    def __post_init__(self) -> None:
        # validated in the caller's dtype first: an int64 index 2**32 + 1 must not wrap to 1
        indptr_in = _int_array("indptr", self.indptr)
        indices_in = _int_array("indices", self.indices)
        n_post_in = np.asarray(self.n_post)
        if n_post_in.shape != () or n_post_in.dtype.kind not in "iu":
            raise ValueError(f"n_post must be an integer, got {self.n_post!r}")
        if int(n_post_in) > np.iinfo(np.int32).max + 1:
            raise ValueError(f"n_post must be <= 2**31, got {int(n_post_in)}")
        if indices_in.size and (indices_in.min() < 0 or indices_in.max() >= int(n_post_in)):
            raise ValueError(
                f"indices out of range: valid range is [0, {int(n_post_in)}), "
                f"got [{indices_in.min()}, {indices_in.max()}]"
            )
        if self.dt_s is not None:
            object.__setattr__(self, "dt_s", real("dt_s", self.dt_s))
            if not self.dt_s > 0:
                raise ValueError(f"dt_s must be > 0 s or None, got {self.dt_s}")
        indptr = np.ascontiguousarray(indptr_in, dtype=np.int64)
        indices = np.ascontiguousarray(indices_in, dtype=np.int32)
        w = np.ascontiguousarray(_weight_array(self.weights))
        if indptr.ndim != 1 or indptr.size < 1:
            raise ValueError("indptr must be a 1-D array of length n_pre + 1 >= 1")
        if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must start at 0 and be non-decreasing")
        n_syn = int(indptr[-1])
        if indices.shape != (n_syn,) or w.shape != (n_syn,):
            raise ValueError(
                f"indices and weights must have shape ({n_syn},) = (indptr[-1],), "
                f"got {indices.shape} and {w.shape}"
            )
        if int(self.n_post) < 0:
            raise ValueError(f"n_post must be >= 0, got {self.n_post}")
        if n_syn and (indices.min() < 0 or indices.max() >= self.n_post):
            raise ValueError(
                f"indices out of range: valid range is [0, {self.n_post}), "
                f"got [{indices.min()}, {indices.max()}]"
            )
        if not np.all(np.isfinite(w)):
            raise ValueError(f"weights must be finite; {int(np.sum(~np.isfinite(w)))} are NaN/inf")
        d = np.asarray(self.delays)
        if d.dtype not in _DELAY_DTYPES or d.shape != (n_syn,):
            d = _delay_array(d, n_syn)
        if d.shape != (n_syn,):
            raise ValueError(f"delays must be a scalar or have shape ({n_syn},), got {d.shape}")
        # read-only (copies where the caller could still write): the engines index with them
        object.__setattr__(self, "indptr", read_only(indptr))
        object.__setattr__(self, "indices", read_only(indices))
        object.__setattr__(self, "weights", read_only(w))
        object.__setattr__(self, "delays", read_only(d))
        object.__setattr__(self, "n_post", int(self.n_post))

    # ----------------------------------------------------------------- properties
    @property
    def n_pre(self) -> int:
        """Number of presynaptic neurons (rows)."""
        return self.indptr.size - 1

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_pre, n_post)``."""
        return (self.n_pre, self.n_post)

    @property
    def n_synapses(self) -> int:
        """Number of stored synapses."""
        return int(self.indices.size)

    @property
    def density(self) -> float:
        """Fraction of the ``n_pre * n_post`` possible synapses that exist."""
        total = self.n_pre * self.n_post
        return self.n_synapses / total if total else 0.0

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (indptr, indices, weights, delays)."""
        return self.indptr.nbytes + self.indices.nbytes + self.weights.nbytes + self.delays.nbytes

    @property
    def max_delay(self) -> int:
        """Largest delay in steps (0 for an empty matrix)."""
        return int(self.delays.max()) if self.n_synapses else 0

    def fan_out(self) -> np.ndarray:
        """Number of outgoing synapses of each presynaptic neuron."""
        return np.diff(self.indptr)

    def fan_in(self) -> np.ndarray:
        """Number of incoming synapses of each postsynaptic neuron."""
        return np.bincount(self.indices, minlength=self.n_post)

    def pre_indices(self) -> np.ndarray:
        """Presynaptic neuron of each synapse (COO row array), int32."""
        return np.repeat(np.arange(self.n_pre, dtype=np.int32), self.fan_out())

    # ----------------------------------------------------------------- derived copies
    def rewired(
        self,
        keep: np.ndarray,
        grow: np.ndarray | None = None,
        grow_weights: np.ndarray | float = 0.0,
        grow_delay: int = 0,
    ) -> tuple[SparseSynapses, np.ndarray]:
        """Keep the synapses where ``keep`` is True and add synapses at flat positions
        ``grow`` (the one pattern change used by pruning, growth and structural plasticity).

        Parameters
        ----------
        keep : bool ndarray, shape (n_synapses,)
            Which current synapses survive (CSR order).
        grow : int ndarray, optional
            Flat positions ``pre * n_post + post`` of new synapses: distinct, and not a kept
            synapse (a removed one may be created again, as new).
        grow_weights : float or ndarray
            Initial weights of the new synapses.
        grow_delay : int
            Delay (steps) of the new synapses; kept synapses keep theirs.

        Returns
        -------
        new : SparseSynapses
            The new pattern in CSR order (same shape, dtypes and ``dt_s``).
        source : int64 ndarray, shape (new.n_synapses,)
            For each new synapse the index of the old synapse it is, or -1 if it was created.
        """
        n_pre, n_post = self.shape
        keys = self.pre_indices().astype(np.int64) * n_post + self.indices
        keep = np.asarray(keep)
        if keep.dtype != np.bool_ or keep.shape != keys.shape:
            raise ValueError(
                f"keep must be a bool array of shape {keys.shape} (one flag per synapse), "
                f"got {keep.dtype} {keep.shape}"
            )
        grow = (
            np.zeros(0, dtype=np.int64)
            if grow is None
            else np.asarray(grow, dtype=np.int64).ravel()
        )
        if grow.size and (grow.min() < 0 or grow.max() >= n_pre * n_post):
            raise ValueError(
                f"grow positions must be in [0, {n_pre * n_post}), got [{grow.min()}, {grow.max()}]"
            )
        if np.unique(grow).size != grow.size or np.isin(grow, keys[keep]).any():
            raise ValueError("grow positions must be distinct and not hold a kept synapse")
        gw = np.broadcast_to(np.asarray(grow_weights, dtype=self.weights.dtype), grow.shape)
        new_keys = np.concatenate([keys[keep], grow])
        source = np.concatenate([np.flatnonzero(keep), np.full(grow.size, -1)])
        order = np.argsort(new_keys, kind="stable")  # CSR order: by pre, then post
        new_keys, source = new_keys[order], source[order]
        weights = np.concatenate([self.weights[keep], gw])[order]
        delays = np.concatenate(
            [self.delays[keep], np.full(grow.size, grow_delay, dtype=self.delays.dtype)]
        )[order]
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(new_keys // n_post, minlength=n_pre), out=indptr[1:])
        new = SparseSynapses(
            indptr,
            (new_keys % n_post).astype(self.indices.dtype),
            weights,
            delays,
            n_post,
            self.dt_s,
        )
        return new, source

    def with_weights(self, weights: np.ndarray) -> SparseSynapses:
        """Same pattern and delays, new weights (e.g. after learning)."""
        return SparseSynapses(
            self.indptr, self.indices, weights, self.delays, self.n_post, self.dt_s
        )

    def check_dt(self, dt_s: float) -> None:
        """Raise ValueError if the delays were made for another step than ``dt_s``.

        Engines call this before a run; synapses without a recorded step pass.
        """
        if (
            self.dt_s is not None
            and self.max_delay > 0
            and not np.isclose(self.dt_s, dt_s, rtol=1e-9)
        ):
            raise ValueError(
                f"synaptic delays were made for dt_s={self.dt_s:g} s, "
                f"the run uses dt_s={dt_s:g} s; rebuild them with delay_s and this dt_s"
            )

    def astype(self, dtype: type) -> SparseSynapses:
        """Copy with weights of another float dtype (float32 or float64)."""
        return self.with_weights(self.weights.astype(dtype))

    # ----------------------------------------------------------------- builders
    @classmethod
    def from_scipy(
        cls,
        matrix: sp.spmatrix | sp.sparray,
        delay: int | np.ndarray = 0,
        *,
        delay_s: float | np.ndarray | None = None,
        dt_s: float | None = None,
    ) -> SparseSynapses:
        """Build from any scipy sparse matrix of shape ``(n_pre, n_post)``.

        Explicitly stored zeros are kept as synapses (a zero weight is a synapse that can
        learn); duplicate entries are summed.
        """
        delay, dt_s = _delays_from(delay, delay_s, dt_s)
        csr = sp.csr_array(matrix)
        csr.sum_duplicates()
        csr.sort_indices()
        w = _weight_array(csr.data)
        return cls(csr.indptr, csr.indices, w, _delay_array(delay, csr.nnz), csr.shape[1], dt_s)

    @classmethod
    def from_dense(
        cls,
        weights: np.ndarray,
        delay: int | np.ndarray = 0,
        *,
        delay_s: float | np.ndarray | None = None,
        dt_s: float | None = None,
    ) -> SparseSynapses:
        """Build from a dense ``(n_pre, n_post)`` array; zero entries are not synapses.

        ``delay`` (steps) or ``delay_s`` (seconds, with ``dt_s``) is a scalar or a dense
        array of the same shape (read at the non-zeros).
        """
        delay, dt_s = _delays_from(delay, delay_s, dt_s)
        w = _weight_array(weights)  # dtype first: isfinite cannot read strings
        if w.ndim != 2:
            raise ValueError(f"weights must be 2-D (n_pre, n_post), got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite (found NaN or inf)")
        rows, cols = np.nonzero(w)
        d = np.asarray(delay)
        if d.ndim == 2:
            if d.shape != w.shape:
                raise ValueError(f"delay array shape {d.shape} must match weights {w.shape}")
            d = d[rows, cols]
        indptr = np.zeros(w.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=w.shape[0]), out=indptr[1:])
        data = _weight_array(w[rows, cols])
        return cls(*_owned(indptr, cols, data), _delay_array(d, rows.size), w.shape[1], dt_s)

    @classmethod
    def fixed_probability(
        cls,
        n_pre: int,
        n_post: int,
        p: float,
        weight: float | np.ndarray = 1.0,
        delay: int = 0,
        *,
        seed: int | np.random.Generator | None = None,
        allow_self: bool = True,
        dtype: type = np.float32,
        delay_s: float | None = None,
        dt_s: float | None = None,
    ) -> SparseSynapses:
        """Each of the ``n_pre * n_post`` pairs is connected independently with probability p.

        Sampled exactly by geometric gaps over the flattened pair index, so the cost is
        proportional to the number of synapses (15 million in about a second), and the
        result is already in CSR order.

        Parameters
        ----------
        weight : float or ndarray
            A constant, or a dense ``(n_pre, n_post)`` array read at the created synapses
            (which synapses exist is not known in advance).
        allow_self : bool
            If False, the diagonal ``pre == post`` is excluded (recurrent projections).
        delay, delay_s, dt_s
            The delay in whole steps, or in seconds (``delay_s``) for the step ``dt_s``
            (rounded to the nearest step; recorded in :attr:`dt_s`).
        """
        delay, dt_s = _delays_from(delay, delay_s, dt_s)
        _check_count("n_pre", n_pre)
        _check_count("n_post", n_post)
        p = real("p", p)
        if not (0.0 <= p <= 1.0):
            raise ValueError(f"p must be in [0, 1], got {p}")
        _check_weight_values(weight, (n_pre, n_post))
        _check_synapse_memory(
            f"fixed_probability(n_pre={n_pre}, n_post={n_post}, p={p:g})",
            n_pre,
            n_pre * n_post * p,
            "lower p or the population sizes",
        )
        rng = make_rng(seed)
        total = n_pre * n_post
        flat = _bernoulli_positions(total, p, rng)
        rows = flat // n_post
        cols = flat % n_post
        if not allow_self:
            keep = rows != cols
            rows, cols = rows[keep], cols[keep]
        w = np.asarray(weight)
        data = np.full(rows.size, w, dtype=dtype) if w.ndim == 0 else w[rows, cols].astype(dtype)
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_pre), out=indptr[1:])
        return cls(
            *_owned(indptr, cols.astype(np.int32), data),
            _delay_array(delay, rows.size),
            n_post,
            dt_s,
        )

    @classmethod
    def fixed_indegree(
        cls,
        n_pre: int,
        n_post: int,
        k: int,
        weight: float = 1.0,
        delay: int = 0,
        *,
        seed: int | np.random.Generator | None = None,
        allow_self: bool = True,
        dtype: type = np.float32,
        delay_s: float | None = None,
        dt_s: float | None = None,
    ) -> SparseSynapses:
        """Every postsynaptic neuron receives exactly ``k`` distinct presynaptic partners."""
        delay, dt_s = _delays_from(delay, delay_s, dt_s)
        _check_count("n_pre", n_pre)
        _check_count("n_post", n_post)
        limit = n_pre - (0 if allow_self else 1)
        integer("k", k, 0, limit)
        _check_weight_values(weight)
        _check_synapse_memory(
            f"fixed_indegree(n_pre={n_pre}, n_post={n_post}, k={k})",
            n_pre,
            n_post * k,
            "lower k or the population sizes",
        )
        rng = make_rng(seed)
        pre = rng.integers(0, n_pre, size=(n_post, k))
        post_ids = np.arange(n_post)[:, None]
        # Redraw duplicates (and self-connections) until every row is k distinct partners;
        # for k << n_pre this converges in a few passes.
        while True:
            order = np.sort(pre, axis=1)
            bad = np.zeros_like(pre, dtype=bool)
            bad[:, 1:] = order[:, 1:] == order[:, :-1]
            pre = order
            if not allow_self:
                bad |= pre == post_ids
            if not bad.any():
                break
            pre[bad] = rng.integers(0, n_pre, size=int(bad.sum()))
        rows = pre.ravel()
        cols = np.repeat(np.arange(n_post, dtype=np.int32), k)
        order = np.argsort(rows, kind="stable")
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_pre), out=indptr[1:])
        data = np.full(rows.size, weight, dtype=dtype)
        return cls(*_owned(indptr, cols[order], data), _delay_array(delay, rows.size), n_post, dt_s)

    # ----------------------------------------------------------------- conversions
    def to_scipy(self) -> sp.csr_array:
        """scipy CSR array of shape ``(n_pre, n_post)`` (shares no memory)."""
        return sp.csr_array(
            (self.weights.copy(), self.indices.copy(), self.indptr.copy()), shape=self.shape
        )

    def to_dense(self) -> np.ndarray:
        """Dense ``(n_pre, n_post)`` weight array (absent synapses are 0)."""
        return self.to_scipy().toarray()

    def mask(self) -> np.ndarray:
        """Dense boolean ``(n_pre, n_post)`` array, True where a synapse exists."""
        m = np.zeros(self.shape, dtype=bool)
        m[self.pre_indices(), self.indices] = True
        return m

    def __repr__(self) -> str:
        return (
            f"SparseSynapses(shape={self.shape}, n_synapses={self.n_synapses}, "
            f"density={self.density:.4g}, dtype={self.weights.dtype}, max_delay={self.max_delay})"
        )


def _check_count(name: str, value: int) -> None:
    integer(name, value, 0)


def _check_weight_values(weight: object, shape: tuple[int, ...] | None = None) -> None:
    """Refuse a builder's ``weight`` that is not real numbers (``"0.5"`` would be read as 0.5
    by ``numpy.full``), not finite, or neither a scalar nor of ``shape`` (None: scalars
    only), before anything is drawn."""
    w = np.asarray(weight)
    if w.ndim and w.shape != shape:
        raise ValueError(
            "weight must be a scalar"
            + (f" or have shape {shape}" if shape else "")
            + f", got shape {w.shape}"
        )
    if w.dtype.kind not in "iuf":
        raise ValueError(
            f"weight must be a real number or an array of them, got {weight!r} (dtype {w.dtype})"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(
            f"weight must be finite, got {weight!r}"
            if w.ndim == 0
            else "weight must be finite (found NaN or inf)"
        )


#: Peak bytes per synapse of the random builders (measured: result ~9 B plus int64
#: positions, rows, columns and their casts ~40 B), rounded up so that the check errs on
#: the side of refusing rather than swapping.
BUILD_BYTES_PER_SYNAPSE = 56


def _check_synapse_memory(
    what: str,
    n_pre: int,
    n_synapses: float,
    reduce: str,
    bytes_per_synapse: int = BUILD_BYTES_PER_SYNAPSE,
) -> None:
    """Refuse a builder call whose expected synapse count would not fit in memory, before it
    draws anything (see :func:`sparse_neuro.neuro.model.validation.check_memory`).

    Parameters
    ----------
    what : str
        The call, for the message.
    n_pre : int
        Presynaptic neurons (the row pointers, 8 bytes each, and per-row temporaries).
    n_synapses : float
        Expected number of synapses.
    reduce : str
        How to reduce the size, for the message.
    bytes_per_synapse : int
        Peak bytes per synapse of the builder.
    """
    check_memory(
        f"{what}, about {n_synapses:.3g} synapses",
        float(n_synapses) * bytes_per_synapse + 24.0 * n_pre,
        reduce,
    )


def _bernoulli_positions(total: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions in ``[0, total)`` each included independently with probability p."""
    if total == 0 or p == 0.0:
        return np.zeros(0, dtype=np.int64)
    if p == 1.0:
        return np.arange(total, dtype=np.int64)
    chunks = []
    pos = -1
    expected = total * p
    while True:
        n = int(expected + 5 * np.sqrt(expected) + 100)
        gaps = rng.geometric(p, size=n)
        steps = pos + np.cumsum(gaps)
        chunks.append(steps[steps < total])
        if steps[-1] >= total:
            break
        pos = int(steps[-1])
        expected = (total - pos) * p
    return np.concatenate(chunks).astype(np.int64)
