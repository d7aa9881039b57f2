"""Populations, projections and networks: a plain, validated description with no simulation code.

A :class:`Network` is what every backend runs: the clock engine, the exact event engine,
Brian2 (through :mod:`sparse_neuro.neuro.engines.backends.brian2_bridge`) and the Loihi-style model.
It is immutable; learning returns a new network with new weights (:meth:`Network.with_synapses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sparse_neuro.neuro.model.features import Feature, network_features
from sparse_neuro.neuro.model.inputs import (
    CurrentInjection,
    PoissonInput,
    PoissonSource,
    Source,
    SpikeArraySource,
)
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import Monitor, RateMonitor, SpikeMonitor, StateMonitor
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model.validation import broadcast, check_memory, integer, real_array

__all__ = ["Population", "Projection", "Network"]


@dataclass(frozen=True, eq=False)
class Population:
    """``size`` LIF neurons sharing one parameter set.

    Parameters
    ----------
    name : str
        Identifier, unique in the network.
    size : int
        Number of neurons, >= 1.
    params : LIFParams
    v_init : float or ndarray of shape (size,), optional
        Initial membrane potential; defaults to ``params.v_rest``.
    kwta_k : int, optional
        If set, k-winners-take-all: in each step at most ``kwta_k`` of the neurons that
        cross threshold spike, those with the largest ``v`` (ties: lower index first).
    kwta_losers : str
        What happens to threshold-crossing neurons that lose the k-WTA competition:
        ``"reset"`` (set to ``v_reset``, no spike, not refractory) or ``"hold"``
        (keep their potential and compete again next step).
    adaptation : ThresholdAdaptation, optional
        Adaptive threshold ``theta`` (effective threshold ``v_threshold + theta``).
    """

    name: str
    size: int
    params: LIFParams = field(default_factory=LIFParams)
    v_init: float | np.ndarray | None = None
    kwta_k: int | None = None
    kwta_losers: str = "reset"
    adaptation: ThresholdAdaptation | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"population name must be an identifier string, got {self.name!r}")
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, (int, np.integer))
            or self.size < 1
        ):  # True is an int to Python, not a size
            raise ValueError(
                f"population {self.name!r}: size must be an integer >= 1, got {self.size!r}"
            )
        if not isinstance(self.params, LIFParams):
            raise TypeError(
                f"population {self.name!r}: params must be LIFParams, got {type(self.params).__name__}"
            )
        check_memory(
            f"Population({self.name!r}, size={self.size})", 8.0 * self.size, "lower size"
        )  # v_init, float64: before numpy tries to allocate it
        v0 = self.params.v_rest if self.v_init is None else self.v_init
        what = f"population {self.name!r}: v_init"
        v0 = broadcast(what, real_array(what, v0), self.size)
        if not np.all(np.isfinite(v0)):
            raise ValueError(f"population {self.name!r}: v_init must be finite")
        v0.flags.writeable = False  # validated: engines read it, nobody may change it
        object.__setattr__(self, "v_init", v0)
        if self.kwta_k is not None:  # 2.9 is not 2 winners, '3' is not 3
            object.__setattr__(
                self,
                "kwta_k",
                integer(f"population {self.name!r}: kwta_k", self.kwta_k, 0, self.size),
            )
        if self.kwta_losers not in ("reset", "hold"):
            raise ValueError(
                f"population {self.name!r}: kwta_losers must be 'reset' or 'hold', "
                f"got {self.kwta_losers!r}"
            )
        if self.adaptation is not None and not isinstance(self.adaptation, ThresholdAdaptation):
            raise TypeError(
                f"population {self.name!r}: adaptation must be a ThresholdAdaptation or None, "
                f"got {type(self.adaptation).__name__}"
            )


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from a population or source to a population.

    Parameters
    ----------
    source, target : str
        Names of the presynaptic population/source and the postsynaptic population.
    synapses : SparseSynapses
        Shape must be ``(source size, target size)``.
    receptor : int
        Index of the target's synaptic channel (``LIFParams.tau_syn_s``) the weights
        feed; ignored (must be 0) for targets with delta synapses.
    plasticity : STDPRule, optional
        The learning rule of these synapses
        (:class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule`), or None.
    """

    source: str
    target: str
    synapses: SparseSynapses
    receptor: int = 0
    plasticity: STDPRule | None = None

    def __post_init__(self) -> None:
        # 0.7 is not channel 0 (and 0.0 would pass the network's `receptor in range(n)`)
        object.__setattr__(
            self,
            "receptor",
            integer(f"projection {self.source}->{self.target}: receptor", self.receptor, 0),
        )
        if not isinstance(self.synapses, SparseSynapses):
            raise TypeError(
                f"projection {self.source}->{self.target}: synapses must be SparseSynapses, "
                f"got {type(self.synapses).__name__} (use SparseSynapses.from_dense/from_scipy)"
            )
        if self.plasticity is not None and not isinstance(self.plasticity, STDPRule):
            raise TypeError(
                f"projection {self.source}->{self.target}: plasticity must be a "
                f"sparse_neuro.neuro.model.plasticity_rules.STDPRule or None, got {type(self.plasticity).__name__}"
            )

    @property
    def name(self) -> str:
        """``"source->target"`` (with the receptor when it is not 0)."""
        return f"{self.source}->{self.target}" + (f"[{self.receptor}]" if self.receptor else "")


@dataclass(frozen=True, eq=False)
class Network:
    """A complete network description: neurons, inputs, synapses and what to record.

    Examples
    --------
    >>> from sparse_neuro.neuro import LIFParams, Population, Projection, SparseSynapses, Network
    >>> from sparse_neuro.neuro.model.inputs import PoissonSource
    >>> from sparse_neuro.neuro.model.record import SpikeMonitor
    >>> net = Network(
    ...     populations=[Population("exc", 100, LIFParams(tau_mem_s=10e-3))],
    ...     sources=[PoissonSource("inp", 50, rate_hz=20.0)],
    ...     projections=[Projection("inp", "exc",
    ...                  SparseSynapses.fixed_probability(50, 100, 0.1, 0.3, seed=0))],
    ...     monitors=[SpikeMonitor("exc")])
    >>> net.size("exc")
    100
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    sources: tuple[Source, ...] = ()
    currents: tuple[CurrentInjection, ...] = ()
    monitors: tuple[Monitor, ...] = ()
    drives: tuple[PoissonInput, ...] = ()

    def __post_init__(self) -> None:
        for f in ("populations", "projections", "sources", "currents", "monitors", "drives"):
            object.__setattr__(self, f, tuple(getattr(self, f)))
        if not self.populations:
            raise ValueError("a network needs at least one population")
        names = [p.name for p in self.populations] + [s.name for s in self.sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"population/source names must be unique; repeated: {sorted(dup)}")
        for s in self.sources:
            if not isinstance(s, (PoissonSource, SpikeArraySource)):
                raise TypeError(
                    f"sources must be PoissonSource or SpikeArraySource, got {type(s).__name__}"
                )
        pops = {p.name: p for p in self.populations}
        for pr in self.projections:
            if pr.source not in names:
                raise ValueError(
                    f"projection {pr.name}: unknown source {pr.source!r}; known: {names}"
                )
            if pr.target not in pops:
                raise ValueError(
                    f"projection {pr.name}: target {pr.target!r} must be a population; "
                    f"known populations: {sorted(pops)}"
                )
            want = (self.size(pr.source), pops[pr.target].size)
            if pr.synapses.shape != want:
                raise ValueError(
                    f"projection {pr.name}: synapses have shape {pr.synapses.shape}, "
                    f"expected (source size, target size) = {want}"
                )
            n_ch = pops[pr.target].params.n_channels
            valid = range(max(n_ch, 1))
            if pr.receptor not in valid:
                raise ValueError(
                    f"projection {pr.name}: receptor must be in [0, {max(n_ch, 1) - 1}] "
                    f"(target has {n_ch} synaptic channels), got {pr.receptor}"
                )
        for c in self.currents:
            if c.target not in pops:
                raise ValueError(f"current injection target {c.target!r} is not a population")
            if c.amplitude.ndim and c.amplitude.shape != (pops[c.target].size,):
                raise ValueError(
                    f"current into {c.target!r}: amplitude shape {c.amplitude.shape} must be "
                    f"scalar or ({pops[c.target].size},)"
                )
        for d in self.drives:
            if not isinstance(d, PoissonInput):
                raise TypeError(f"drives must be PoissonInput, got {type(d).__name__}")
            if d.target not in pops:
                raise ValueError(
                    f"PoissonInput target {d.target!r} is not a population; known: {sorted(pops)}"
                )
            n_ch = pops[d.target].params.n_channels
            if d.receptor not in range(max(n_ch, 1)):
                raise ValueError(
                    f"PoissonInput into {d.target!r}: receptor must be in [0, {max(n_ch, 1) - 1}] "
                    f"(target has {n_ch} synaptic channels), got {d.receptor}"
                )
        for m in self.monitors:
            if m.target not in names:
                raise ValueError(f"monitor target {m.target!r} unknown; known: {names}")
            if isinstance(m, (StateMonitor, RateMonitor)) and m.target not in pops:
                raise ValueError(f"{type(m).__name__} target {m.target!r} must be a population")
            if isinstance(m, StateMonitor):
                m.validate(pops[m.target])

    # ----------------------------------------------------------------- lookup
    def population(self, name: str) -> Population:
        """The population called ``name``."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population {name!r}; populations: {[p.name for p in self.populations]}")

    def source(self, name: str) -> Source:
        """The source called ``name``."""
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"no source {name!r}; sources: {[s.name for s in self.sources]}")

    def size(self, name: str) -> int:
        """Number of neurons (or source channels) of a population or source."""
        for g in (*self.populations, *self.sources):
            if g.name == name:
                return int(g.size)
        raise KeyError(f"no population or source {name!r}")

    def id_range(self, name: str) -> slice:
        """Global ids of a population or source: every population's neurons first, then every
        source's channels, each in network order (the ids engines and recordings use)."""
        lo = 0
        for g in (*self.populations, *self.sources):
            if g.name == name:
                return slice(lo, lo + int(g.size))
            lo += int(g.size)
        raise KeyError(f"no population or source {name!r}")

    @property
    def n_neurons(self) -> int:
        """Total number of LIF neurons."""
        return int(sum(p.size for p in self.populations))

    @property
    def n_synapses(self) -> int:
        """Total number of synapses over all projections."""
        return int(sum(pr.synapses.n_synapses for pr in self.projections))

    # ----------------------------------------------------------------- derived networks
    def with_synapses(self, synapses: list[SparseSynapses] | tuple[SparseSynapses, ...]) -> Network:
        """Same network with each projection's synapses replaced (in order)."""
        if len(synapses) != len(self.projections):
            raise ValueError(
                f"expected {len(self.projections)} synapse matrices, got {len(synapses)}"
            )
        return replace(
            self,
            projections=tuple(replace(p, synapses=s) for p, s in zip(self.projections, synapses)),
        )

    def with_monitors(self, monitors: list[Monitor] | tuple[Monitor, ...]) -> Network:
        """Same network recording something else."""
        return replace(self, monitors=tuple(monitors))

    def with_sources(self, sources: list[Source] | tuple[Source, ...]) -> Network:
        """Same network driven by other sources (same names and sizes expected)."""
        return replace(self, sources=tuple(sources))

    def features(self) -> frozenset[Feature]:
        """The features this network uses (:class:`sparse_neuro.neuro.model.features.Feature`),
        which decide the backends that can run it."""
        return network_features(self)

    def spike_monitored(self) -> list[str]:
        """Names of the populations/sources whose spikes are recorded."""
        return [m.target for m in self.monitors if isinstance(m, SpikeMonitor)]
