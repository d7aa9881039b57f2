"""External inputs of a network: Poisson sources, spike-array sources, current injection.

Sources are presynaptic-only populations: they are connected to neurons through
Projections (SparseSynapses), exactly like neuron populations. Current injection adds a
drive (membrane units, like ``LIFParams.bias``) to the neurons of one population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.neuro.model.synapses import read_only
from sparse_neuro.neuro.model.validation import broadcast, index_array, integer, real, real_array

__all__ = ["PoissonSource", "SpikeArraySource", "CurrentInjection", "PoissonInput", "Source"]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a valid identifier string, got {name!r}")


def _check_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")


@dataclass(frozen=True, eq=False)
class PoissonSource:
    """``size`` independent Poisson spike trains.

    Parameters
    ----------
    name : str
    size : int
    rate_hz : float or ndarray of shape (size,)
        Firing rate of each train in Hz, >= 0. On a clock with step ``dt`` each train
        spikes in a step with probability ``rate * dt`` (which must be <= 1).
    """

    name: str
    size: int
    rate_hz: float | np.ndarray

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_size(self.size)
        what = f"source {self.name!r}: rate_hz"
        r = broadcast(what, real_array(what, self.rate_hz), self.size)
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ValueError(f"rate_hz must be finite and >= 0 Hz (source {self.name!r})")
        object.__setattr__(self, "rate_hz", read_only(r, fresh=True))


@dataclass(frozen=True, eq=False)
class SpikeArraySource:
    """Given spike times: neuron ``indices[i]`` spikes at ``times_s[i]``.

    On a clock engine a spike at time ``t`` is emitted in step ``round(t / dt)``.
    """

    name: str
    size: int
    times_s: np.ndarray
    indices: np.ndarray

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_size(self.size)
        t = real_array(f"source {self.name!r}: times_s", self.times_s).ravel()
        i = np.asarray(self.indices).ravel()
        index_array(f"source {self.name!r}: indices", i, self.size)  # 0.5 is not index 0
        if t.shape != i.shape:
            raise ValueError(
                f"times_s and indices must have the same length, got {t.size} and {i.size}"
            )
        if not np.all(np.isfinite(t)) or np.any(t < 0):
            raise ValueError(f"spike times must be finite and >= 0 s (source {self.name!r})")
        if i.size and (np.any(i < 0) or np.any(i >= self.size)):
            raise ValueError(f"indices must be in [0, {self.size}) (source {self.name!r})")
        order = np.lexsort((i, t))
        # new arrays, read-only: engines index with them after this validation
        object.__setattr__(self, "times_s", read_only(t[order], fresh=True))
        object.__setattr__(self, "indices", read_only(i[order].astype(np.int32), fresh=True))


Source = PoissonSource | SpikeArraySource


@dataclass(frozen=True, eq=False)
class CurrentInjection:
    """Extra drive added to the bias of one population's neurons while ``start <= t < stop``.

    Parameters
    ----------
    target : str
        Name of the neuron population.
    amplitude : float or ndarray of shape (size,)
        Drive in membrane units (steady-state shift, like ``LIFParams.bias``).
    start_s, stop_s : float
        Active interval in seconds.
    """

    target: str
    amplitude: float | np.ndarray
    start_s: float = 0.0
    stop_s: float = math.inf

    def __post_init__(self) -> None:
        a = real_array(f"current into {self.target!r}: amplitude", self.amplitude)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"amplitude must be finite (current into {self.target!r})")
        object.__setattr__(self, "start_s", real("start_s", self.start_s))  # "0.1" is no time
        object.__setattr__(self, "stop_s", real("stop_s", self.stop_s, allow_inf=True))
        if not (self.start_s >= 0 and self.stop_s > self.start_s):
            raise ValueError(
                f"need 0 <= start_s < stop_s, got start_s={self.start_s}, stop_s={self.stop_s}"
            )
        object.__setattr__(self, "amplitude", read_only(a))


@dataclass(frozen=True, eq=False)
class PoissonInput:
    """External Poisson drive without stored synapses (Brian2's ``PoissonInput``, NEST's
    ``poisson_generator`` connected to a population).

    In every step each neuron of ``target`` receives ``weight * k`` on channel ``receptor``,
    where ``k`` is the number of spikes of ``n_inputs`` independent Poisson trains of rate
    ``rate_hz`` in that step, drawn independently for every neuron (``k`` ~ Poisson with mean
    ``n_inputs * rate_hz * dt``). It costs one random number per neuron and step, whatever
    ``n_inputs`` is, and no memory per input.

    Parameters
    ----------
    target : str
        Name of the neuron population.
    n_inputs : int
        Number of independent input trains per neuron, >= 1.
    rate_hz : float
        Rate of each train in Hz, >= 0.
    weight : float
        Weight of one input spike (membrane units for delta channels).
    receptor : int
        Synaptic channel of the target (0 for delta synapses), as in ``Projection``.
    """

    target: str
    n_inputs: int
    rate_hz: float
    weight: float
    receptor: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.target, str):
            raise TypeError(f"PoissonInput target must be a population name, got {self.target!r}")
        if (
            isinstance(self.n_inputs, bool)
            or not isinstance(self.n_inputs, (int, np.integer))
            or self.n_inputs < 1
        ):
            raise ValueError(
                f"PoissonInput n_inputs must be an integer >= 1, got {self.n_inputs!r}"
            )
        for name in ("rate_hz", "weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise TypeError(f"PoissonInput {name} must be a real number, got {value!r}")
            if not math.isfinite(float(value)):
                raise ValueError(f"PoissonInput {name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.rate_hz < 0:
            raise ValueError(f"PoissonInput rate_hz must be >= 0 Hz, got {self.rate_hz}")
        object.__setattr__(self, "n_inputs", int(self.n_inputs))
        object.__setattr__(self, "receptor", integer("PoissonInput receptor", self.receptor, 0))

    def mean_per_step(self, dt_s: float) -> float:
        """Expected number of input spikes per neuron and step."""
        return self.n_inputs * self.rate_hz * dt_s
