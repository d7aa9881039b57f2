"""Declared capabilities: the features a network uses and the features each backend runs.

A :class:`~sparse_neuro.neuro.model.network.Network` reports what it uses
(:func:`sparse_neuro.neuro.model.features.feature_uses`, also ``Network.features()``); every backend
declares what it supports when it registers
(:func:`sparse_neuro.neuro.engines.registry.register_backend`, in the backend's own module); and
:func:`check_supported`, called by every backend before any work, raises the one error type
:class:`UnsupportedFeatureError` naming what is missing, where the network uses it and which
backends do run it (a feature asked of the simulator by a call, a checkpoint, is refused with the
same error). The README's capability matrix is :func:`capability_matrix`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sparse_neuro.neuro.engines.registry import backends, get_backend
from sparse_neuro.neuro.model.features import Feature, feature_uses, network_features

if TYPE_CHECKING:
    from sparse_neuro.neuro.model.network import Network

__all__ = [
    "Feature",
    "UnsupportedFeatureError",
    "capability_matrix",
    "check_supported",
    "feature_uses",
    "network_features",
    "supporting_backends",
]


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
        lines = [f"backend {backend!r} does not support ({get_backend(backend).note}):"]
        for feat, where in missing.items():
            others = supporting_backends([feat])
            alt = f"supported by: {', '.join(others)}" if others else "no backend supports it"
            lines.append(f"  - {feat.value} (used by {', '.join(where)}); {alt}")
        every = supporting_backends(missing)
        if every and len(missing) > 1:
            lines.append(f"backends that support all of them: {', '.join(every)}")
        super().__init__("\n".join(lines))


def supporting_backends(features: Iterable[Feature]) -> list[str]:
    """Backends (in :func:`~sparse_neuro.neuro.engines.registry.backends` order) that support every
    feature in ``features``."""
    want = set(features)
    return [b for b in backends() if want <= get_backend(b).capabilities]


def check_supported(network: Network, backend: str) -> None:
    """Raise :class:`UnsupportedFeatureError` if ``backend`` cannot run ``network``.

    Every backend calls this before any work, so an unsupported feature is never ignored.

    Parameters
    ----------
    network : Network
    backend : str
        A registered backend name (:func:`~sparse_neuro.neuro.engines.registry.backends`).

    Raises
    ------
    UnsupportedFeatureError
        Naming each unsupported feature, where it is used and which backends support it.
    ValueError
        If ``backend`` is not a known backend name.
    """
    caps = get_backend(backend).capabilities  # validates the name
    missing = {f: w for f, w in feature_uses(network).items() if f not in caps}
    if missing:
        raise UnsupportedFeatureError(backend, missing)


def capability_matrix() -> str:
    """The capability matrix as a Markdown table (features x backends), as in the README."""
    names = backends()
    caps = [get_backend(b).capabilities for b in names]
    head = "| feature | " + " | ".join(names) + " |"
    rule = "|---|" + "---|" * len(names)
    rows = [
        f"| {f.value} | " + " | ".join("yes" if f in c else "no" for c in caps) + " |"
        for f in Feature
    ]
    return "\n".join([head, rule, *rows])
