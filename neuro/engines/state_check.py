"""Checks of a state dict before any of it reaches the compiled stages.

The stages run without bounds checks: a step in the future of a trace, a queue longer than
its row or an id outside the network would make them read or write outside their arrays.
``load_state_dict`` of every clocked backend therefore builds the new state here, from
copies, and keeps the old one unless every key passes (a failed load changes nothing).
Each error is a ValueError naming the key, the offending value and the valid range.

Invariants checked (see :class:`sparse_neuro.neuro.engines.state.State`):

- ``0 <= step <= MAX_STEP``; every time stamp (``last_spike``, ``pre_last``, ``post_last``,
  ``elig_last``) in ``[NEVER, step]``, and a non-zero trace has a stamp ``>= 0``;
- the ring buffer's queues: per slot and partition, ``queue_len`` within the partition's
  width, the listed ids inside the partition and distinct, ``queued`` set exactly at them,
  and the buffer zero where nothing is queued;
- states finite; traces, learning rates and threshold increments ``>= 0``;
- dtypes: integers where the state holds integers, booleans for ``queued``; no objects.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from sparse_neuro.neuro.engines.layout import NEVER
from sparse_neuro.neuro.engines.state import State
from sparse_neuro.neuro.jit import njit

__all__ = [
    "MAX_STEP",
    "check_keys",
    "check_step",
    "state_array",
    "check_in_range",
    "checked_state",
    "commit_state",
    "state_layout",
    "check_record",
]

#: Largest step a state may hold: times ``step * dt`` stay exact in float64, and neither
#: ``step - NEVER`` nor the input drive's "never" (``2**62``) can overflow int64 in a run.
MAX_STEP = 2**53

# fields holding step numbers, and the trace each one stamps (None: no trace)
_STAMPS = {
    "last_spike": None,
    "pre_last": "pre_trace",
    "post_last": "post_trace",
    "elig_last": "eligibility",
}
_NON_NEGATIVE = ("theta_plus", "pre_trace", "post_trace", "learning_rate")


def check_keys(d: object, expected: set[str], where: str) -> Mapping:
    """``d`` if it is a mapping with exactly the keys ``expected``.

    Raises
    ------
    ValueError
        Not a mapping, or a key missing or unknown (named in the message).
    """
    if not isinstance(d, Mapping):
        raise ValueError(f"{where} must be a dict, got {type(d).__name__}")
    missing, extra = sorted(expected - set(d)), sorted(set(d) - expected, key=str)
    if missing or extra:
        raise ValueError(
            f"{where}: missing keys {missing}, unknown keys {extra}; "
            f"expected exactly {sorted(expected)}"
        )
    return d


def check_step(name: str, value: object, lo: int = 0, hi: int = MAX_STEP) -> int:
    """``value`` as an int if it is an integer (Python, numpy or a 0-d integer array) in
    ``[lo, hi]``; floats, booleans and strings are refused, not converted."""
    v = value
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "iu":
        v = v[()]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
        raise ValueError(
            f"state {name!r} must be an integer in [{lo}, {hi}], got {value!r} "
            f"({type(value).__name__})"
        )
    if not lo <= int(v) <= hi:
        raise ValueError(f"state {name!r} = {int(v)} is outside the valid range [{lo}, {hi}]")
    return int(v)


def state_array(
    name: str, value: object, like: np.ndarray, *, allow_inf: bool = False
) -> np.ndarray:
    """A new array of ``like``'s shape and dtype holding ``value``, refused unless the
    dtypes agree in kind (bool, integer, float), the shapes are equal and floats are finite
    (after the cast: a float64 beyond float32's range would become inf; NaN is refused
    even with ``allow_inf``)."""
    a = np.asarray(value)
    want = like.dtype.kind
    ok = (
        (a.dtype.kind == "b")
        if want == "b"
        else (a.dtype.kind in "iu" if want in "iu" else a.dtype.kind in "iuf")
    )
    if not ok:
        raise ValueError(
            f"state {name!r} must be an array of {like.dtype} (or the same kind), "
            f"got dtype {a.dtype}"
        )
    if a.shape != like.shape:
        raise ValueError(f"state {name!r}: shape {a.shape}, expected {like.shape}")
    if a.dtype.kind in "iu" and want in "iu" and a.size:
        info = np.iinfo(like.dtype)
        check_in_range(name, a, info.min, info.max)
    out = np.array(a, dtype=like.dtype, copy=True)
    bad_mask = (np.isnan(out) if allow_inf else ~np.isfinite(out)) if want == "f" else None
    if bad_mask is not None and np.any(bad_mask):
        bad = np.flatnonzero(bad_mask.ravel())[0]
        raise ValueError(
            f"state {name!r} must be finite, got {a.ravel()[bad].item()!r} at flat index {bad}"
        )
    return out


def check_in_range(name: str, a: np.ndarray, lo: float, hi: float, what: str = "state") -> None:
    """Raise ValueError naming the first element of ``a`` outside ``[lo, hi]`` (``what``
    ``name`` in the message)."""
    out = (a < lo) | (a > hi)
    if np.any(out):
        bad = int(np.flatnonzero(np.ravel(out))[0])
        raise ValueError(
            f"{what} {name!r}: value {np.ravel(a)[bad].item()!r} at flat index "
            f"{bad} is outside the valid range [{lo}, {hi}]"
        )


def _check_queues(arr: dict[str, np.ndarray], bounds: np.ndarray, buffer: bool = True) -> None:
    """The ring buffer's per-slot queues (see module docstring), partition by partition;
    with ``buffer``, also that the buffer is zero where nothing is queued (a float
    invariant, not an index: :func:`check_record` leaves it to :func:`checked_state`)."""
    queued, ids, q_len, buf = arr["queued"], arr["queue_ids"], arr["queue_len"], arr["buffer"]
    n_slots = queued.shape[0]
    for p in range(bounds.size - 1):
        lo, hi = int(bounds[p]), int(bounds[p + 1])
        lens = q_len[:, p, 0]
        check_in_range(f"queue_len[:, {p}, 0]", lens, 0, hi - lo)
        listed = ids[:, lo:hi][np.arange(hi - lo)[None, :] < lens[:, None]]
        check_in_range(f"queue_ids (partition {p}, listed entries)", listed, lo, hi - 1)
        flags = np.zeros((n_slots, hi - lo), np.bool_)
        flags[np.repeat(np.arange(n_slots), lens), listed - lo] = True
        if int(flags.sum()) != listed.size:
            raise ValueError(
                f"state 'queue_ids': a target is listed twice in one slot "
                f"(partition {p}); each slot lists distinct targets"
            )
        if not np.array_equal(flags, queued[:, lo:hi]):
            slot, i = np.argwhere(flags != queued[:, lo:hi])[0]
            raise ValueError(
                f"state 'queued'[{slot}, {lo + i}] = {bool(queued[slot, lo + i])} "
                f"disagrees with queue_ids/queue_len (the target is "
                f"{'' if flags[slot, i] else 'not '}listed in that slot)"
            )
    if buffer and np.any(buf[~queued] != 0):
        raise ValueError(
            "state 'buffer' holds input for a target that is not queued in that "
            "slot (queued[slot, i] False); it must be 0 there"
        )


def checked_state(
    d: Mapping, current: State, bounds: np.ndarray, *, max_trace: float = np.inf
) -> tuple[int, dict[str, np.ndarray]]:
    """The step and checked copies of the state arrays of a state dict.

    Parameters
    ----------
    d : mapping
        The state dict; holds the :class:`State` fields (others are the caller's).
    current : State
        The simulator's state: shapes and dtypes to match.
    bounds : ndarray of int64
        The plan's partitions (``plan.model.bounds``: the queues are per partition).
    max_trace : float
        Upper bound of the STDP traces (Loihi's fixed-point traces: ``2^trace_bits - 1``).

    Returns
    -------
    (int, dict of str to ndarray)
        The step and one new array per array field of :class:`State`; nothing of
        ``current`` is changed (see :func:`commit_state`).
    """
    step = check_step("step", d["step"])
    arr = {
        k: state_array(k, d[k], cur)
        for k, cur in current._asdict().items()
        if isinstance(cur, np.ndarray)
    }
    for k in _NON_NEGATIVE:
        check_in_range(k, arr[k], 0, max_trace if k.endswith("trace") else np.inf)
    if np.isfinite(max_trace):  # integer traces (stored in float columns)
        for k in ("pre_trace", "post_trace"):
            if np.any(arr[k] != np.round(arr[k])):
                raise ValueError(f"state {k!r} must hold whole numbers (fixed-point traces)")
    _check_stamps(arr, step)
    _check_queues(arr, bounds)
    return step, arr


def _check_stamps(arr: Mapping[str, np.ndarray], step: int) -> None:
    """Time stamps in ``[NEVER, step]`` (a stage indexes its decay tables by ``step -
    stamp``); a non-zero trace has a stamp >= 0 (else its lazy decay would run from NEVER)."""
    for k, trace in _STAMPS.items():
        check_in_range(k, arr[k], NEVER, step)
        if trace is not None:
            tr = arr[trace] if arr[trace].ndim == 1 else arr[trace].any(axis=1)
            if np.any((tr != 0) & (arr[k] < 0)):
                raise ValueError(
                    f"state {trace!r} is non-zero for a slot whose {k!r} is "
                    f"negative (never updated); a trace is stamped when it is set"
                )


def state_layout(st: State) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array of a state (taken when a simulator is built)."""
    return {k: (x.shape, x.dtype) for k, x in st._asdict().items() if isinstance(x, np.ndarray)}


def check_record(
    st: State, layout: Mapping[str, tuple[tuple[int, ...], np.dtype]], bounds: np.ndarray
) -> None:
    """Check a simulator's state record before a run: the record is public, so a caller may
    have replaced its arrays or written into them after :meth:`load_state_dict` checked
    them. Each array must have its ``layout`` shape and dtype and be C-contiguous and
    writable; the step, time stamps and queues are checked as in :func:`checked_state`
    (what the stages index with; floats are not scanned: NaN is no memory hazard).

    Raises
    ------
    ValueError
        Naming the field, the value and the valid range.
    """
    if not isinstance(st, State):
        raise ValueError(
            f"state must be a sparse_neuro.neuro.engines.State, got {type(st).__name__}"
        )
    step = check_step("step", st.step)
    for k, (shape, dtype) in layout.items():
        a = getattr(st, k)
        if not (
            isinstance(a, np.ndarray)
            and a.shape == shape
            and a.dtype == dtype
            and a.flags.c_contiguous
            and a.flags.writeable
        ):
            raise ValueError(
                f"state {k!r} must be a writable C-contiguous {dtype} array of "
                f"shape {shape}, got {getattr(a, 'dtype', type(a).__name__)} "
                f"{getattr(a, 'shape', '')}"
            )
    arr = {k: getattr(st, k) for k in layout}
    # the common case (nothing wrong) in one compiled pass without allocations; the
    # checks below run only to name what is wrong
    stamps = [_as_2d(arr, k, t) for k, t in _STAMPS.items()]
    queues = (arr["queued"], arr["queue_ids"], arr["queue_len"])
    if _record_ok(step, *stamps, *queues, bounds):
        return
    _check_stamps(arr, step)
    _check_queues(arr, bounds, buffer=False)
    raise ValueError("state record failed its check")  # the checks agree: not reached


def _as_2d(arr: Mapping[str, np.ndarray], stamp: str, trace: str | None):
    """``(stamps, trace as 2-d)`` of one stamp field (zero columns when it has no trace)."""
    s = arr[stamp]
    if trace is None or arr[trace].size == 0:
        return s, np.zeros((s.size, 0))
    return s, arr[trace].reshape(s.size, -1)


@njit(nogil=True)
def _stamps_ok(step, stamps, trace):
    never = NEVER
    for i in range(stamps.shape[0]):
        s = stamps[i]
        if s < never or s > step:
            return False
        if s < 0:
            for c in range(trace.shape[1]):
                if trace[i, c] != 0:
                    return False
    return True


@njit(nogil=True)
def _record_ok(step, last, pre, post, elig, queued, ids, q_len, bounds):
    """True if the stamps and queues hold the invariants that :func:`_check_stamps` and
    :func:`_check_queues` (without the buffer) check; shapes and dtypes checked before.
    Reads only integer and flag arrays: the buffer's size need not be read per run."""
    if not (
        _stamps_ok(step, last[0], last[1])
        and _stamps_ok(step, pre[0], pre[1])
        and _stamps_ok(step, post[0], post[1])
        and _stamps_ok(step, elig[0], elig[1])
    ):
        return False
    n_slots, n = queued.shape[0], queued.shape[1]
    seen = np.zeros(n, np.int64)  # slot + 1 where a target was listed
    for s in range(n_slots):
        for p in range(bounds.shape[0] - 1):
            lo, hi = bounds[p], bounds[p + 1]
            m = q_len[s, p, 0]
            if m < 0 or m > hi - lo:
                return False
            for r in range(m):
                i = ids[s, lo + r]
                if i < lo or i >= hi or seen[i] == s + 1 or not queued[s, i]:
                    return False
                seen[i] = s + 1
            n_true = 0
            for i in range(lo, hi):
                n_true += queued[s, i]
            if n_true != m:
                return False
    return True


def commit_state(current: State, step: int, arrays: Mapping[str, np.ndarray]) -> State:
    """``current`` with the checked ``arrays`` written into its own arrays (views of them,
    such as ``weights_view``, stay valid) and ``step``."""
    for k, a in arrays.items():
        getattr(current, k)[...] = a
    return current._replace(step=step)
