"""The backend registry: each backend registers its name, simulator factory and declared
capabilities from its own module.

``neuro`` knows the names of the backends it ships (:data:`PROVIDERS`, name -> the module
that registers it) but imports none of their packages statically: :func:`get_backend`
imports a provider the first time its name is asked for, so ``neuro`` never depends on
``hardware_models`` (the Loihi model registers itself when imported) and Brian2 or NEST are
loaded only when used. Another package adds a backend by calling :func:`register_backend`
when it is imported; it then appears in :func:`backends`, the capability matrix and the
conformance test.

Examples
--------
>>> from sparse_neuro.neuro.engines.registry import backends, get_backend
>>> "clock" in backends()
True
>>> get_backend("clock").supports(Feature.KWTA)   # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sparse_neuro.neuro.model.features import Feature

__all__ = ["PROVIDERS", "Backend", "backends", "get_backend", "register_backend"]

#: Backends shipped with the toolkit, in the order of the capability matrix, and the module
#: whose import registers each (imported on first use; see the module docstring).
PROVIDERS: dict[str, str] = {
    "clock": "sparse_neuro.neuro.engines.backends.clock",
    "loihi-float": "sparse_neuro.hardware_models.event_queue",
    "loihi-fixed": "sparse_neuro.hardware_models.event_queue",
    "exact": "sparse_neuro.neuro.engines.backends.exact",
    "brian2": "sparse_neuro.neuro.engines.backends.brian2_bridge",
    "nest": "sparse_neuro.neuro.engines.backends.nest_bridge",
}


@dataclass(frozen=True)
class Backend:
    """A registered backend.

    Attributes
    ----------
    name : str
    factory : callable
        ``factory(network, dt_s, *, seed=0, **options)`` returns a
        :class:`~sparse_neuro.neuro.engines.protocol.Simulator`.
    capabilities : frozenset of Feature
        What it runs; a network using anything else is refused before any work.
    note : str
        What the backend is, in a few words (said in an unsupported-feature error).
    """

    name: str
    factory: Callable[..., Any]
    capabilities: frozenset[Feature]
    note: str

    def supports(self, feature: Feature) -> bool:
        """Whether the backend runs ``feature``."""
        return feature in self.capabilities


_REGISTRY: dict[str, Backend] = {}


def register_backend(
    name: str, factory: Callable[..., Any], capabilities: Iterable[Feature], note: str
) -> Backend:
    """Register a backend (called by the backend's own module when it is imported).

    Parameters
    ----------
    name : str
        The ``backend=`` name of :func:`sparse_neuro.neuro.engines.simulate`.
    factory : callable
        ``factory(network, dt_s, *, seed=0, **options)`` -> simulator.
    capabilities : iterable of Feature
        The features it runs.
    note : str
        What the backend is, in a few words.

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        If another factory already holds ``name`` (re-importing the same module is allowed).
    TypeError
        On a non-callable factory or a capability that is not a :class:`Feature`.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"backend name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"backend {name!r}: factory must be callable, got {factory!r}")
    caps = frozenset(capabilities)
    bad = [c for c in caps if not isinstance(c, Feature)]
    if bad:
        raise TypeError(f"backend {name!r}: capabilities must be Feature members, got {bad!r}")
    old = _REGISTRY.get(name)
    if old is not None and _qualname(old.factory) != _qualname(factory):
        raise ValueError(f"backend {name!r} is already registered by {_qualname(old.factory)}")
    backend = Backend(name, factory, caps, str(note))
    _REGISTRY[name] = backend
    return backend


def _qualname(obj: object) -> str:
    """``module.qualname`` of a factory (a reloaded module registers an equal one)."""
    fn = getattr(obj, "func", obj)  # functools.partial
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def get_backend(name: str) -> Backend:
    """The registered backend ``name``, importing its provider module on first use.

    Raises
    ------
    ValueError
        If ``name`` is neither registered nor a known backend, listing the valid names.
    """
    if name not in _REGISTRY and isinstance(name, str) and name in PROVIDERS:
        importlib.import_module(PROVIDERS[name])
    if name not in _REGISTRY:
        raise ValueError(f"backend must be one of {list(_known())}, got {name!r}")
    return _REGISTRY[name]


def _known() -> tuple[str, ...]:
    """Known names without importing anything: shipped ones, then registered others."""
    return (*PROVIDERS, *(n for n in _REGISTRY if n not in PROVIDERS))


def backends() -> tuple[str, ...]:
    """Every backend name: the shipped ones (their modules imported, so registered) in
    matrix order, then any other registered one in registration order."""
    for name in PROVIDERS:
        get_backend(name)
    return _known()
