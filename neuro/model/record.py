"""What to record (monitors) and what was recorded (sparse spike trains, sampled states).

Spikes are stored sparsely as (times, indices), never as dense ``[T, N]`` rasters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sparse_neuro.neuro.model.synapses import read_only
from sparse_neuro.neuro.model.validation import index_array, integer

if TYPE_CHECKING:
    from sparse_neuro.neuro.model.network import Population

__all__ = [
    "SpikeMonitor",
    "StateMonitor",
    "RateMonitor",
    "Monitor",
    "SpikeTrains",
    "StateTrace",
    "Recording",
    "META_KEYS",
    "run_meta",
]


@dataclass(frozen=True)
class SpikeMonitor:
    """Record every spike of a population or source."""

    target: str


@dataclass(frozen=True, eq=False)
class StateMonitor:
    """Sample a state variable of some neurons every ``every_steps`` steps.

    Parameters
    ----------
    target : str
        Population name.
    variable : str
        ``"v"`` (membrane) or ``"I0"``, ``"I1"``, ... (synaptic channel currents).
    indices : ndarray of int
        Neurons to record (within the population).
    every_steps : int
        Sampling period in steps, >= 1. Samples are taken at the start of a step, so
        sample ``j`` is the state at ``t = j * every_steps * dt``.
    """

    target: str
    variable: str = "v"
    indices: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    every_steps: int = 1

    def __post_init__(self) -> None:
        idx = np.atleast_1d(
            index_array(f"StateMonitor on {self.target!r}: indices", self.indices, None)
        )  # 0.5 is not neuron 0
        # read-only (a copy of the caller's array): engines index the state with it
        object.__setattr__(self, "indices", read_only(idx))
        object.__setattr__(
            self,
            "every_steps",
            integer(  # 2.5 is not a sampling period
                f"StateMonitor on {self.target!r}: every_steps", self.every_steps, 1
            ),
        )

    def channel(self) -> int:
        """-1 for ``v``, else the synaptic channel number of ``I<k>``."""
        if self.variable == "v":
            return -1
        if self.variable.startswith("I") and self.variable[1:].isdigit():
            return int(self.variable[1:])
        raise ValueError(
            f"variable must be 'v' or 'I<k>' (k a channel number), got {self.variable!r}"
        )

    def validate(self, pop: Population) -> None:
        """Check indices and variable against the population."""
        ch = self.channel()
        if ch >= pop.params.n_channels:
            raise ValueError(
                f"StateMonitor on {pop.name!r}: variable {self.variable!r} needs channel {ch}, "
                f"population has {pop.params.n_channels} channels"
            )
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= pop.size):
            raise ValueError(f"StateMonitor on {pop.name!r}: indices must be in [0, {pop.size})")

    @property
    def key(self) -> str:
        """``"target.variable"``: the key of its trace in a Recording."""
        return f"{self.target}.{self.variable}"


@dataclass(frozen=True)
class RateMonitor:
    """Population rate (spikes per neuron per second) in every step."""

    target: str


Monitor = SpikeMonitor | StateMonitor | RateMonitor


@dataclass(frozen=True, eq=False)
class SpikeTrains:
    """Spikes of one population over ``[t_start_s, t_start_s + duration_s)``: neuron
    ``indices[i]`` fired at ``times_s[i]`` (absolute times, sorted by time, then index).

    A run continued from ``t > 0`` records spikes with ``t_start_s = t``, so rates and
    analysis windows cover the interval that was actually simulated.
    """

    times_s: np.ndarray
    indices: np.ndarray
    size: int
    duration_s: float
    t_start_s: float = 0.0

    def __post_init__(self) -> None:
        t = np.asarray(self.times_s, dtype=np.float64)
        i = np.asarray(self.indices, dtype=np.int32)
        if t.shape != i.shape:
            raise ValueError(
                f"times_s and indices must match in shape, got {t.shape} and {i.shape}"
            )
        for name in ("duration_s", "t_start_s"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"SpikeTrains {name} must be finite and >= 0 s, got {value!r}")
            object.__setattr__(self, name, value)
        order = np.lexsort((i, t))
        object.__setattr__(self, "times_s", t[order])
        object.__setattr__(self, "indices", i[order])

    @property
    def t_stop_s(self) -> float:
        """End of the recorded interval, ``t_start_s + duration_s``."""
        return self.t_start_s + self.duration_s

    @property
    def n_spikes(self) -> int:
        """Total number of spikes."""
        return int(self.times_s.size)

    def counts(self) -> np.ndarray:
        """Spike count of each neuron."""
        return np.bincount(self.indices, minlength=self.size)

    def trains(self) -> list[np.ndarray]:
        """Per-neuron arrays of spike times."""
        order = np.argsort(self.indices, kind="stable")
        splits = np.cumsum(self.counts())[:-1]
        return np.split(self.times_s[order], splits)

    def rate_hz(self, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Population rate in bins of ``bin_s`` from ``t_start_s``: ``(bin centres in s
        (absolute), rate in Hz per neuron)``; the last bin may be partial (spikes only)."""
        if not bin_s > 0:
            raise ValueError(f"bin_s must be > 0, got {bin_s}")
        n_bins = max(1, int(np.ceil(self.duration_s / bin_s - 1e-9)))
        b = np.floor((self.times_s - self.t_start_s) / bin_s + 1e-9).astype(np.int64)
        counts = np.bincount(np.clip(b, 0, n_bins - 1), minlength=n_bins)
        centres = self.t_start_s + (np.arange(n_bins) + 0.5) * bin_s
        return centres, counts / (self.size * bin_s)


@dataclass(frozen=True, eq=False)
class StateTrace:
    """Sampled state: ``values[j, c]`` is the variable of neuron ``indices[c]`` at ``times_s[j]``."""

    times_s: np.ndarray
    indices: np.ndarray
    values: np.ndarray


#: Keys every backend puts in ``Recording.meta``: the backend name (as in
#: :func:`sparse_neuro.neuro.engines.registry.backends`), the wall time of the run in seconds, the
#: simulated time the recording starts at and its number of steps (rate bins). Backends may
#: add their own keys (``n_events``, ``brian2_target``, ...).
META_KEYS = ("engine", "wall_s", "t_start_s", "n_steps")


def run_meta(engine: str, wall_s: float, t_start_s: float, n_steps: int, **extra: object) -> dict:
    """The ``meta`` dict of a recording: :data:`META_KEYS` and backend-specific ``extra``."""
    return {
        "engine": engine,
        "wall_s": float(wall_s),
        "t_start_s": float(t_start_s),
        "n_steps": int(n_steps),
        **extra,
    }


class _Recorded(dict):
    """A dict of a :class:`Recording` whose missing key is a KeyError that says what was
    recorded (a bare ``KeyError: 'v'`` does not say that the key is ``"exc.v"``)."""

    def __init__(self, items: dict, *, what: str, hint: str) -> None:
        super().__init__(items)
        self._what, self._hint = what, hint

    def __missing__(self, key: object) -> None:
        raise KeyError(
            f"{key!r} was not recorded: Recording.{self._what} has "
            f"{sorted(self) if self else 'nothing'} ({self._hint})"
        )

    def __reduce__(self) -> tuple:  # pickles (and copies) as the plain dict it holds
        return (dict, (dict(self),))


@dataclass(frozen=True, eq=False)
class Recording:
    """Everything a run recorded, with one meaning on every backend.

    Attributes
    ----------
    spikes : dict of str to SpikeTrains
        Keyed by population/source name; absolute times, ``t_start_s`` set.
    states : dict of str to StateTrace
        Keyed by ``"population.variable"``; float64 values in model units, absolute times.
    rates : dict of str to ndarray
        Population rate in Hz (spikes per neuron per second) in each step
        ``[t_start + j dt, t_start + (j + 1) dt)``, keyed by population name.
    dt_s : float
        Step of the run (the rate bin on the event-driven engine).
    duration_s : float
    meta : dict
        :data:`META_KEYS` and backend-specific facts about the run.
    """

    spikes: dict[str, SpikeTrains]
    states: dict[str, StateTrace]
    rates: dict[str, np.ndarray]
    dt_s: float
    duration_s: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, hint in (
            ("spikes", "add a SpikeMonitor(target)"),
            ("states", "keys are 'population.variable'; add a StateMonitor"),
            ("rates", "add a RateMonitor(target)"),
        ):
            object.__setattr__(self, name, _Recorded(getattr(self, name), what=name, hint=hint))

    @property
    def t_start_s(self) -> float:
        """Simulated time at which this recording starts (0 for a run from the start)."""
        return float(self.meta.get("t_start_s", 0.0))
