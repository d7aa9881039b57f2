"""Input checks shared by parameter dataclasses, trainers and run entry points.

Values are checked in the form the caller gave them, before any cast, so that nothing is
silently coerced: numpy scalars are accepted wherever Python numbers are, booleans are not
numbers, NaN/inf are refused unless allowed, and a run whose size is out of reach is refused
with an estimate before any work.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["real", "check_finite_data", "check_duration", "MAX_NEURON_STEPS"]

#: Default limit of :func:`check_duration`: neuron-steps (steps x neurons) of one run. About
#: an hour at 3e8 neuron-steps/s, the clock engine's order of magnitude on one core.
MAX_NEURON_STEPS = 10**12


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


def check_finite_data(name: str, x: object) -> None:
    """Raise ValueError if the array ``x`` contains NaN or inf (training data, signals)."""
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {bad} NaN or inf values; clean the data first")


def check_duration(duration_s: float, dt_s: float, n_neurons: int,
                   max_neuron_steps: float | None = MAX_NEURON_STEPS) -> int:
    """Number of steps of a run, refused before any work if the run is out of reach.

    Parameters
    ----------
    duration_s : float
        Simulated time in seconds, finite and >= 0.
    dt_s : float
        Step in seconds, > 0.
    n_neurons : int
        Neurons simulated (the cost is about steps x neurons).
    max_neuron_steps : float or None
        Limit on ``steps * n_neurons`` (None: no limit).

    Returns
    -------
    int
        ``round(duration_s / dt_s)``.

    Raises
    ------
    ValueError
        Invalid values, or an estimated cost above the limit (the message gives the estimate).
    """
    d, dt = real("duration_s", duration_s), real("dt_s", dt_s)
    if d < 0:
        raise ValueError(f"duration_s must be >= 0 s, got {duration_s!r}")
    if dt <= 0:
        raise ValueError(f"dt_s must be > 0 s, got {dt_s!r}")
    n = int(n_neurons)
    steps = d / dt
    if max_neuron_steps is not None and steps * max(n, 1) > max_neuron_steps:
        raise ValueError(
            f"duration_s={d:g} s at dt_s={dt:g} s is {steps:.3g} steps x {n} neurons = "
            f"{steps * max(n, 1):.3g} neuron-steps, above the limit {max_neuron_steps:.3g} "
            f"(about {steps * max(n, 1) / 3e8 / 3600:.3g} h); shorten the run or raise the limit"
        )
    return int(round(steps))
