"""Input checks shared by parameter dataclasses, trainers and run entry points.

Values are checked in the form the caller gave them, before any cast, so that nothing is
silently coerced: numpy scalars are accepted wherever Python numbers are, booleans are not
numbers, NaN/inf are refused unless allowed, and a run whose size is out of reach is refused
with an estimate before any work, as is a call that would need more memory than is available
(:func:`check_memory`, the one place that asks how much is).
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = [
    "real",
    "integer",
    "check_finite_data",
    "check_duration",
    "MAX_NEURON_STEPS",
    "MAX_STEPS",
    "STEP_RTOL",
    "UNKNOWN_MEMORY",
    "available_memory",
    "check_memory",
    "TooLargeError",
    "real_array",
    "broadcast",
    "check_field_types",
    "index_array",
    "make_rng",
]

#: Default limit of :func:`check_duration`: neuron-steps (steps x neurons) of one run. About
#: an hour at 3e8 neuron-steps/s, the clock engine's order of magnitude on one core.
MAX_NEURON_STEPS = 10**12

#: Default limit of :func:`check_duration` on the steps of one run, whatever the network size:
#: every step has a fixed cost (about 0.1-1 us in the engines), so 1e9 steps is minutes to
#: a quarter of an hour even for one neuron; beyond it a mistyped ``dt_s`` or duration is
#: more likely than an intended run.
MAX_STEPS = 10**9

#: What :func:`available_memory` returns when the system does not say (no limit enforced).
UNKNOWN_MEMORY = 2**62

#: Relative tolerance of :func:`check_duration` on ``duration_s / dt_s`` being a whole number:
#: far above float rounding (``0.35 / 1e-4`` is 3499.9999999999995), far below half a step.
STEP_RTOL = 1e-9


def real(name: str, value: object, *, allow_inf: bool = False) -> float:
    """``value`` as a Python float if it is a real number (numpy scalars included).

    Raises
    ------
    ValueError
        Not a real number (strings, booleans, arrays), NaN, or +-inf unless ``allow_inf``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def integer(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int if it is an integer (numpy integers included), in range.

    Floats are refused even when whole (``3.0``): a float where a count is expected is more
    often a mistake (``2.9`` silently truncated to 2) than an intent.

    Parameters
    ----------
    name : str
        Parameter name, for the message.
    value : object
        The value as the caller gave it.
    low, high : int, optional
        Inclusive bounds.

    Raises
    ------
    ValueError
        Not an integer (floats, strings, booleans, arrays) or out of ``[low, high]``.
    """
    rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        where = "" if low is None and high is None else f" in {rng}"
        raise ValueError(
            f"{name} must be an integer{where}, got {value!r} ({type(value).__name__})"
        )
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be in {rng}, got {v}")
    return v


def check_finite_data(name: str, x: object) -> None:
    """Raise ValueError if the array ``x`` contains NaN or inf (training data, signals)."""
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {bad} NaN or inf values; clean the data first")


def check_duration(
    duration_s: float,
    dt_s: float,
    n_neurons: int,
    max_neuron_steps: float | None = MAX_NEURON_STEPS,
    max_steps: float | None = MAX_STEPS,
) -> int:
    """Number of steps of a run, refused before any work if it is not a whole number of steps
    or out of reach.

    Every backend's ``run`` calls this, so that a duration means the same on each: a duration
    that is not a whole number of steps is an error (rounding it silently would make
    ``run(1.5e-4)`` twice at ``dt_s = 1e-4`` do 2 steps while ``run(3e-4)`` does 3).

    Parameters
    ----------
    duration_s : float
        Simulated time in seconds, finite, > 0 and a whole number of steps (relative
        tolerance :data:`STEP_RTOL`).
    dt_s : float
        Step in seconds, > 0.
    n_neurons : int
        Neurons simulated (the cost is about steps x neurons).
    max_neuron_steps : float or None
        Limit on ``steps * n_neurons`` (None: no limit).
    max_steps : float or None
        Limit on ``steps`` whatever the number of neurons (None: no limit).

    Returns
    -------
    int
        ``duration_s / dt_s``, >= 1.

    Raises
    ------
    ValueError
        Invalid values, a duration shorter than one step or not a whole number of steps (the
        message names the nearest valid durations), or an estimated cost above a limit (the
        message gives the estimate).
    """
    d, dt = real("duration_s", duration_s), real("dt_s", dt_s)
    if dt <= 0:
        raise ValueError(f"dt_s must be > 0 s, got {dt_s!r}")
    if d <= 0:
        raise ValueError(
            f"duration_s must be > 0 s (at least one step, dt_s={dt:g} s), got {duration_s!r}"
        )
    n = int(n_neurons)
    steps = d / dt
    if max_neuron_steps is not None and steps * max(n, 1) > max_neuron_steps:
        raise ValueError(
            f"duration_s={d:g} s at dt_s={dt:g} s is {steps:.3g} steps x {n} neurons = "
            f"{steps * max(n, 1):.3g} neuron-steps, above the limit {max_neuron_steps:.3g} "
            f"(about {steps * max(n, 1) / 3e8 / 3600:.3g} h); shorten the run or raise the limit"
        )
    if max_steps is not None and steps > max_steps:
        raise ValueError(
            f"duration_s={d:g} s at dt_s={dt:g} s is {steps:.3g} steps, above the limit "
            f"{max_steps:.3g} steps (max_steps); shorten the run or use a larger dt_s"
        )
    whole = round(steps)
    if whole < 1 or abs(steps - whole) > STEP_RTOL * max(steps, 1.0):
        lo, hi = max(math.floor(steps), 1), max(math.ceil(steps), 1)
        near = (
            f"{lo * dt:.12g} s ({lo} step{'s' * (lo > 1)})"
            if hi == lo
            else f"{lo * dt:.12g} s or {hi * dt:.12g} s ({lo} or {hi} steps)"
        )
        raise ValueError(
            f"duration_s={d!r} s is {steps:.9g} steps of dt_s={dt:g} s, not a whole number of "
            f"steps (>= 1); use {near}"
        )
    return int(whole)


class TooLargeError(ValueError, MemoryError):
    """A call refused before allocating because it would need more memory than is available.

    A ValueError (a size is a bad input, as the conventions say) and a MemoryError (code
    that catches running out of memory catches this too).
    """


def available_memory() -> int:
    """Bytes of memory a new allocation can take now without swapping.

    The smallest of the kernel's estimate (``MemAvailable`` of ``/proc/meminfo``, else free
    pages from ``os.sysconf``) and, in a container, the cgroup's limit minus its usage
    (``MemAvailable`` is the host's there). The one place builders ask, so that every size
    check agrees.

    Returns
    -------
    int
        Bytes, >= 0; :data:`UNKNOWN_MEMORY` if the system does not say.
    """
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, AttributeError):  # no sysconf (Windows): no limit known
            return UNKNOWN_MEMORY
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            with open(limit) as f1, open(usage) as f2:
                avail = min(avail, int(f1.read().strip()) - int(f2.read().strip()))
        except (OSError, ValueError):  # "max", or no such cgroup
            continue
    return max(int(avail), 0)


def check_memory(what: str, n_bytes: float, reduce: str) -> None:
    """Refuse, before allocating, a call estimated to need more memory than is available.

    Parameters
    ----------
    what : str
        The call and its size parameters, for the message (``"fixed_probability(n_pre=...)"``).
    n_bytes : float
        Estimated peak bytes of the call (result and temporaries).
    reduce : str
        How to reduce it, for the message (``"lower p or the population sizes"``).

    Raises
    ------
    TooLargeError
        ``n_bytes`` above :func:`available_memory` (the message gives both and ``reduce``).
    """
    avail = available_memory()
    if n_bytes > avail:
        raise TooLargeError(
            f"{what} needs about {n_bytes / 2**30:.3g} GiB, more than the {avail / 2**30:.3g} GiB "
            f"of memory available; {reduce}"
        )


def real_array(name: str, value: object) -> np.ndarray:
    """``value`` as a float64 array if it holds real numbers (strings and booleans refused).

    ``np.asarray(x, dtype=float)`` would read ``"10"`` as 10.0 and ``True`` as 1.0: the dtype
    the caller gave is checked first.

    Raises
    ------
    ValueError
        A dtype other than integer or float (strings, booleans, objects, complex).
    """
    a = np.asarray(value)
    if a.size and a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be real numbers, got {value!r} (dtype {a.dtype})")
    return a.astype(np.float64)


def index_array(name: str, value: object, size: int | None) -> np.ndarray:
    """``value`` as an int64 array of indices in ``[0, size)`` (``size`` None: no upper
    bound); floats only when whole.

    Raises
    ------
    ValueError
        Strings, booleans, fractional or non-finite values (``0.5`` is not index 0), or an
        index out of range (the message gives the first offending value).
    """
    a = np.asarray(value)
    rng = f"in [0, {size})" if size is not None else ">= 0"
    if a.size == 0:
        return np.zeros(a.shape, dtype=np.int64)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.round(a))
        if bad.any():
            raise ValueError(
                f"{name} must be integers {rng}, got "
                f"{a.ravel()[np.flatnonzero(bad.ravel())[0]].item()!r}"
            )
    elif a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers {rng}, got dtype {a.dtype}")
    out_of = (a < 0) | (a >= size) if size is not None else a < 0
    if out_of.any():
        raise ValueError(
            f"{name} must be {rng}, got {a.ravel()[np.flatnonzero(out_of.ravel())[0]].item()!r}"
        )
    return a.astype(np.int64)


def broadcast(name: str, a: np.ndarray, size: int) -> np.ndarray:
    """A scalar or a ``(size,)`` array as a new ``(size,)`` array, or an error naming ``name``
    (numpy's own says only that "operands could not be broadcast").

    Raises
    ------
    ValueError
        ``a`` is neither a scalar nor of shape ``(size,)`` (or broadcastable to it).
    """
    try:
        return np.broadcast_to(a, (size,)).copy()
    except ValueError:
        raise ValueError(
            f"{name} must be a scalar or have shape ({size},) (one per neuron), "
            f"got shape {np.shape(a)}"
        ) from None


def check_field_types(obj: object) -> None:
    """Check the fields of a dataclass instance annotated ``int``, ``float``, ``bool`` or
    ``str`` hold a value of that kind, before any range check compares them.

    ``kwta_k = 2.9`` would pass ``1 <= kwta_k <= n`` and run with 2 winners; ``"3"`` would be
    stored as a string. ints are accepted for ``float`` fields; numpy scalars are accepted.
    Other annotations (unions, tuples, classes) are left to the caller's own checks.

    Raises
    ------
    ValueError
        A field of the wrong kind (the message names it, its value and the expected kind).
    """
    import dataclasses
    import typing

    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        tp, v = hints.get(f.name), getattr(obj, f.name)
        if tp is int:
            integer(f.name, v)
        elif tp is float:
            real(f.name, v, allow_inf=True)  # finiteness is a range question: the caller's
        elif tp is bool and not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"{f.name} must be True or False, got {v!r} ({type(v).__name__})")
        elif tp is str and not isinstance(v, str):
            raise ValueError(f"{f.name} must be a string, got {v!r} ({type(v).__name__})")


def make_rng(seed: int | np.random.Generator | None, name: str = "seed") -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` with the seed checked first (numpy's own error for
    -1, ``expected non-negative integer``, names no parameter).

    Parameters
    ----------
    seed : int, Generator or None
        An int >= 0 (numpy integers included), a Generator (used as is) or None (fresh
        entropy).
    name : str
        Parameter name, for the message.

    Raises
    ------
    ValueError
        Any other seed (the message names ``name``, the value and the valid range).
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    return np.random.default_rng(integer(name, seed, 0))
