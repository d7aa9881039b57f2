"""What to record (monitors) and what was recorded (sparse spike trains, sampled states).

Spikes are stored sparsely as (times, indices), never as dense ``[T, N]`` rasters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from neuro.network import Population

__all__ = [
    "SpikeMonitor",
    "StateMonitor",
    "RateMonitor",
    "Monitor",
    "SpikeTrains",
    "StateTrace",
    "Recording",
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
        idx = np.atleast_1d(np.asarray(self.indices, dtype=np.int64))
        object.__setattr__(self, "indices", idx)
        if int(self.every_steps) < 1:
            raise ValueError(f"every_steps must be >= 1, got {self.every_steps}")

    def channel(self) -> int:
        """-1 for ``v``, else the synaptic channel number of ``I<k>``."""
        if self.variable == "v":
            return -1
        if self.variable.startswith("I") and self.variable[1:].isdigit():
            return int(self.variable[1:])
        raise ValueError(f"variable must be 'v' or 'I<k>' (k a channel number), got {self.variable!r}")

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
    """Spikes of one population: neuron ``indices[i]`` fired at ``times_s[i]``.

    Sorted by time, then index.
    """

    times_s: np.ndarray
    indices: np.ndarray
    size: int
    duration_s: float

    def __post_init__(self) -> None:
        t = np.asarray(self.times_s, dtype=np.float64)
        i = np.asarray(self.indices, dtype=np.int32)
        if t.shape != i.shape:
            raise ValueError(f"times_s and indices must match in shape, got {t.shape} and {i.shape}")
        order = np.lexsort((i, t))
        object.__setattr__(self, "times_s", t[order])
        object.__setattr__(self, "indices", i[order])

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
        """Population rate in bins: ``(bin centres in s, rate in Hz per neuron)``."""
        if bin_s <= 0:
            raise ValueError(f"bin_s must be > 0, got {bin_s}")
        n_bins = max(1, int(np.ceil(self.duration_s / bin_s - 1e-9)))
        counts = np.bincount(
            np.minimum((self.times_s / bin_s).astype(np.int64), n_bins - 1), minlength=n_bins
        )
        centres = (np.arange(n_bins) + 0.5) * bin_s
        return centres, counts / (self.size * bin_s)


@dataclass(frozen=True, eq=False)
class StateTrace:
    """Sampled state: ``values[j, c]`` is the variable of neuron ``indices[c]`` at ``times_s[j]``."""

    times_s: np.ndarray
    indices: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class Recording:
    """Everything a run recorded.

    Attributes
    ----------
    spikes : dict of str to SpikeTrains
        Keyed by population/source name.
    states : dict of str to StateTrace
        Keyed by ``"population.variable"``.
    rates : dict of str to ndarray
        Population rate in Hz at every step, keyed by population name.
    dt_s : float
        Step of the run (``nan`` for the exact event-driven engine).
    duration_s : float
    meta : dict
        Engine name, wall times and other facts about the run.
    """

    spikes: dict[str, SpikeTrains]
    states: dict[str, StateTrace]
    rates: dict[str, np.ndarray]
    dt_s: float
    duration_s: float
    meta: dict = field(default_factory=dict)
