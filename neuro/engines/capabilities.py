"""Declared capabilities: the features a network uses and the features each backend runs.

A :class:`~neuro.network.Network` reports what it uses (:func:`network_features`, also
``Network.features()``); every backend declares what it supports (:data:`SUPPORT`); and
:func:`check_supported`, called by every backend before any work, raises the one error
type :class:`UnsupportedFeatureError` naming what is missing, where the network uses it and
which backends do run it. The README's capability matrix is :func:`capability_matrix`.

A new feature is one :class:`Feature` member, one clause in :func:`feature_uses` and one
entry per backend that runs it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from neuro.inputs import PoissonSource, SpikeArraySource
from neuro.record import StateMonitor

if TYPE_CHECKING:
    from neuro.network import Network

__all__ = [
    "BACKENDS",
    "Feature",
    "NOTES",
    "SUPPORT",
    "UnsupportedFeatureError",
    "capability_matrix",
    "check_supported",
    "feature_uses",
    "network_features",
    "supporting_backends",
]


class Feature(str, enum.Enum):
    """A network feature a backend may or may not run (value: its human-readable name)."""

    EXP_CHANNELS = "exponential synaptic channels"
    CONDUCTANCE = "conductance synapses"
    KWTA = "k-WTA"
    STDP = "STDP"
    REWARD_STDP = "reward-modulated STDP"
    ADAPTATION = "adaptive thresholds"
    DELAYS = "synaptic delays"
    PLASTIC_DELAYS = "plastic synapses with delays"
    CURRENT_INJECTION = "current injection"
    STATE_MONITORS = "state monitors"
    POISSON_INPUT = "PoissonInput drives"
    POISSON_SOURCES = "Poisson sources"
    SPIKE_ARRAY_SOURCES = "spike-array sources"


#: Backend names, in the order of the capability matrix.
BACKENDS: tuple[str, ...] = ("clock", "loihi-float", "loihi-fixed", "exact", "brian2")

_ALL = frozenset(Feature) - {Feature.PLASTIC_DELAYS}
_LOIHI = _ALL - {Feature.CONDUCTANCE}

#: What each backend runs. Plastic synapses with delays are run by none (the STDP kernel
#: pairs a presynaptic spike with the postsynaptic state of the same step). The Loihi model
#: has current-based neurons (no conductance synapses) and no reward input; in fixed-point
#: mode STDP is the pair rule with additive updates (hardware_models.fixed_point_stdp) and
#: thresholds do not adapt. The exact engine
#: integrates delta synapses with a constant drive between events and has no clock to sample states on. Brian2 has no k-WTA equivalent and the
#: bridge exports no reward input.
SUPPORT: dict[str, frozenset[Feature]] = {
    "clock": _ALL,
    "loihi-float": _LOIHI - {Feature.REWARD_STDP},
    "loihi-fixed": _LOIHI - {Feature.REWARD_STDP, Feature.ADAPTATION},
    "exact": frozenset({Feature.DELAYS, Feature.POISSON_SOURCES, Feature.SPIKE_ARRAY_SOURCES,
                        Feature.POISSON_INPUT}),
    "brian2": _ALL - {Feature.KWTA, Feature.REWARD_STDP},
}


#: What each backend is, said in an unsupported-feature error.
NOTES: dict[str, str] = {
    "clock": "the clock engine runs every supported feature",
    "loihi-float": "the Loihi model has current-based neurons and no reward input",
    "loihi-fixed": "fixed-point mode has current-based neurons, learns by pair additive STDP "
                   "only and has no adaptation",
    "exact": "the exact engine runs delta synapses with a constant drive between events",
    "brian2": "the Brian2 bridge has no k-WTA and no reward input",
}


class UnsupportedFeatureError(ValueError):
    """A backend was asked to run a network feature it does not support.

    Attributes
    ----------
    backend : str
    missing : dict of Feature to list of str
        Each unsupported feature and where the network uses it.
    """

    def __init__(self, backend: str, missing: dict[Feature, list[str]]):
        self.backend = backend
        self.missing = missing
        lines = [f"backend {backend!r} does not support ({NOTES[backend]}):"]
        for feat, where in missing.items():
            others = supporting_backends([feat])
            alt = f"supported by: {', '.join(others)}" if others else "no backend supports it"
            lines.append(f"  - {feat.value} (used by {', '.join(where)}); {alt}")
        every = supporting_backends(missing)
        if every and len(missing) > 1:
            lines.append(f"backends that support all of them: {', '.join(every)}")
        super().__init__("\n".join(lines))


def feature_uses(network: Network) -> dict[Feature, list[str]]:
    """Every feature ``network`` uses, with where it is used (population, projection, ...).

    Parameters
    ----------
    network : Network

    Returns
    -------
    dict of Feature to list of str
        Only features that are used appear.
    """
    uses: dict[Feature, list[str]] = {}

    def add(feat: Feature, where: str) -> None:
        uses.setdefault(feat, []).append(where)

    for pop in network.populations:
        where = f"population {pop.name!r}"
        if pop.params.n_channels:
            add(Feature.EXP_CHANNELS, where)
        if pop.params.conductance_based:
            add(Feature.CONDUCTANCE, where)
        if pop.kwta_k is not None:
            add(Feature.KWTA, where)
        if pop.adaptation is not None:
            add(Feature.ADAPTATION, where)
    for pr in network.projections:
        where = f"projection {pr.name}"
        delayed = pr.synapses.n_synapses > 0 and int(pr.synapses.delays.max()) > 0
        if delayed:
            add(Feature.DELAYS, where)
        rule = pr.plasticity
        if rule is not None:
            add(Feature.REWARD_STDP if rule.reward_modulated else Feature.STDP, where)
            if delayed:
                add(Feature.PLASTIC_DELAYS, where)
    for c in network.currents:
        add(Feature.CURRENT_INJECTION, f"current into {c.target!r}")
    for m in network.monitors:
        if isinstance(m, StateMonitor):
            add(Feature.STATE_MONITORS, f"StateMonitor {m.key!r}")
    for d in network.drives:
        add(Feature.POISSON_INPUT, f"PoissonInput into {d.target!r}")
    for s in network.sources:
        if isinstance(s, PoissonSource):
            add(Feature.POISSON_SOURCES, f"source {s.name!r}")
        elif isinstance(s, SpikeArraySource):
            add(Feature.SPIKE_ARRAY_SOURCES, f"source {s.name!r}")
    return uses


def network_features(network: Network) -> frozenset[Feature]:
    """The set of features ``network`` uses (see :func:`feature_uses`)."""
    return frozenset(feature_uses(network))


def supporting_backends(features: object) -> list[str]:
    """Backends (in :data:`BACKENDS` order) that support every feature in ``features``."""
    want = set(features)  # type: ignore[call-overload]
    return [b for b in BACKENDS if want <= SUPPORT[b]]


def check_supported(network: Network, backend: str) -> None:
    """Raise :class:`UnsupportedFeatureError` if ``backend`` cannot run ``network``.

    Every backend calls this before any work, so an unsupported feature is never ignored.

    Parameters
    ----------
    network : Network
    backend : str
        One of :data:`BACKENDS`.

    Raises
    ------
    UnsupportedFeatureError
        Naming each unsupported feature, where it is used and which backends support it.
    ValueError
        If ``backend`` is not a known backend name.
    """
    if backend not in SUPPORT:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    uses = feature_uses(network)
    missing = {f: w for f, w in uses.items() if f not in SUPPORT[backend]}
    if missing:
        raise UnsupportedFeatureError(backend, missing)


def capability_matrix() -> str:
    """The capability matrix as a Markdown table (features x backends), as in the README."""
    head = "| feature | " + " | ".join(BACKENDS) + " |"
    rule = "|---|" + "---|" * len(BACKENDS)
    rows = [
        f"| {f.value} | " + " | ".join("yes" if f in SUPPORT[b] else "no" for b in BACKENDS) + " |"
        for f in Feature
    ]
    return "\n".join([head, rule, *rows])
