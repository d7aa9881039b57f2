"""One simulator protocol for every backend, and one entry point that picks the backend.

===========  ===========================================================================  =====================
backend      class                                                                        options
===========  ===========================================================================  =====================
clock        :class:`~sparse_neuro.neuro.engines.backends.clock.ClockSimulator`           ``dtype``, ...
loihi-float  :class:`~sparse_neuro.hardware_models.event_queue.EventQueueSimulator`       ``mapping``, ``spec``
loihi-fixed  the same, ``mode="fixed"``                                                   ``mapping``, ``spec``
exact        :class:`~sparse_neuro.neuro.engines.backends.exact.ExactSimulator`           ``max_spikes``
brian2       :class:`~sparse_neuro.neuro.engines.backends.brian2_bridge.Brian2Simulator`  ``target``
nest         :class:`~sparse_neuro.neuro.engines.backends.nest_bridge.NestSimulator`      ``threads``
===========  ===========================================================================  =====================

The backends are found in the registry (:mod:`sparse_neuro.neuro.engines.registry`), where each
module registers its own. Every backend checks the network's features first
(:func:`sparse_neuro.neuro.engines.capabilities.check_supported`) and returns a
:class:`sparse_neuro.neuro.model.record.Recording` with one meaning.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from sparse_neuro.neuro.engines.capabilities import check_supported
from sparse_neuro.neuro.engines.registry import get_backend
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import Recording
from sparse_neuro.neuro.model.synapses import SparseSynapses

__all__ = ["Simulator", "make_simulator", "simulate"]


@runtime_checkable
class Simulator(Protocol):
    """What every backend is: built from ``(network, dt_s, *, seed=0, **options)``, run in
    pieces, reset, checkpointed.

    Attributes
    ----------
    network : Network
    dt_s : float
        Time step (the delay unit and rate bin on the event-driven engine).
    """

    network: Network
    dt_s: float

    def __init__(self, network: Network, dt_s: float, *, seed: int = 0, **options: Any) -> None: ...

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        ...

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` and return what the monitors recorded in that interval.

        ``duration_s`` must be a whole number of steps on every backend (ValueError naming
        the nearest valid durations otherwise:
        :func:`sparse_neuro.neuro.model.validation.check_duration`).
        """
        ...

    def reset(self, *, keep_weights: bool = False) -> None:
        """Back to the network's initial state at ``t = 0`` with the same seed (a new run
        gives the same spikes), weights included unless ``keep_weights``."""
        ...

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume a run."""
        ...

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of a simulator of the same network and dt.

        Every value is checked before any is used (a ValueError names the key, the value
        and the valid range, and the state is kept): no state dict may crash the process.
        """
        ...

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses with the current weights."""
        ...

    def counters(self) -> object | None:
        """Hardware counters of the run so far, or None on backends without them."""
        ...


def make_simulator(
    network: Network, dt_s: float, backend: str = "clock", *, seed: int = 0, **options: Any
) -> Simulator:
    """Build the simulator of ``backend`` for ``network`` (features checked first).

    Parameters
    ----------
    network : Network
    dt_s : float
        Time step in seconds.
    backend : str
        A registered backend (:func:`sparse_neuro.neuro.engines.registry.backends`).
    seed : int
        Seed of the random inputs.
    **options
        Backend options (see the module table).

    Raises
    ------
    UnsupportedFeatureError
        Before anything is built, if the backend cannot run a feature of the network.
    """
    check_supported(network, backend)  # validates the backend name too
    return get_backend(backend).factory(network, dt_s, seed=seed, **options)


def simulate(
    network: Network,
    duration_s: float,
    dt_s: float,
    backend: str = "clock",
    *,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
) -> Recording:
    """Run ``network`` for ``duration_s`` from ``t = 0`` on ``backend``.

    Parameters
    ----------
    network : Network
    duration_s : float
        Simulated time in seconds, a whole number of steps
        (:func:`sparse_neuro.neuro.model.validation.check_duration`).
    dt_s : float
        Time step in seconds.
    backend : str
        ``"clock"`` (default), ``"loihi-float"``, ``"loihi-fixed"``, ``"exact"``,
        ``"brian2"``, ``"nest"`` or another registered backend.
    seed : int
        Seed of the random inputs.
    progress : bool
        Show progress.
    **options
        Backend options, e.g. ``dtype=np.float32`` on the clock engine.

    Returns
    -------
    Recording

    Examples
    --------
    >>> rec = simulate(net, 0.5, 1e-4)                       # doctest: +SKIP
    >>> rec = simulate(net, 0.5, 1e-4, backend="brian2")     # doctest: +SKIP
    >>> rec = simulate(net, 0.5, 1e-4, backend="nest", threads=2)   # doctest: +SKIP
    """
    sim = make_simulator(network, dt_s, backend, seed=seed, **options)
    return sim.run(duration_s, progress=progress)
