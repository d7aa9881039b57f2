"""The features a network uses: what decides which backends can run it.

This is part of the description (no simulation code):
:meth:`sparse_neuro.neuro.model.network.Network.features` reports them, and each backend declares
which it runs (:mod:`sparse_neuro.neuro.engines.registry`). A new feature is one :class:`Feature`
member, one clause in :func:`feature_uses` and one entry in the declaration of each backend that
runs it.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.record import StateMonitor

if TYPE_CHECKING:
    from sparse_neuro.neuro.model.network import Network

__all__ = ["Feature", "SIMULATOR_FEATURES", "feature_uses", "network_features"]


class Feature(enum.StrEnum):
    """A feature a backend may or may not run (value: its human-readable name).

    Most are used by a network (:func:`feature_uses`); those in :data:`SIMULATOR_FEATURES`
    are asked of a simulator by a call (``state_dict()``), whatever the network.
    """

    EXP_CHANNELS = "exponential synaptic channels"
    CONDUCTANCE = "conductance synapses"
    KWTA = "k-WTA"
    STDP = "STDP"
    REWARD_STDP = "reward-modulated STDP"
    ADAPTATION = "adaptive thresholds"
    SUBTRACT_RESET = "reset by subtraction"
    DELAYS = "synaptic delays"
    PLASTIC_DELAYS = "plastic synapses with delays"
    CURRENT_INJECTION = "current injection"
    STATE_MONITORS = "state monitors"
    POISSON_INPUT = "PoissonInput drives"
    POISSON_SOURCES = "Poisson sources"
    SPIKE_ARRAY_SOURCES = "spike-array sources"
    CHECKPOINTS = "checkpoints (state_dict)"


#: Features a simulator is asked for by a call, not by the network it runs.
SIMULATOR_FEATURES: frozenset[Feature] = frozenset({Feature.CHECKPOINTS})


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
        if pop.params.reset_mode == "subtract":
            add(Feature.SUBTRACT_RESET, where)
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
