"""Every registered backend through the Simulator protocol (parametrized over the registry, so
a new backend is covered as soon as it registers): the methods are there, ``reset()`` goes
back to the network's initial state (weights included unless ``keep_weights=True``) and a
rerun gives the same spikes, a ``state_dict()`` round trip continues as the uninterrupted
run does, and what a backend does not run is refused by name before any work.
"""

import dataclasses
import inspect

import numpy as np
import pytest
from conftest import feature_network

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
from sparse_neuro.neuro.engines import (
    Simulator,
    UnsupportedFeatureError,
    backends,
    get_backend,
    make_simulator,
    registry,
)
from sparse_neuro.neuro.model.features import SIMULATOR_FEATURES, Feature
from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule
from sparse_neuro.neuro.model.record import RateMonitor, SpikeMonitor, StateMonitor

DT = 1e-4
N = 20
BACKENDS = backends()

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated.*:DeprecationWarning")  # Brian2


def _network(backend: str) -> Network:
    """A small network with what ``backend`` runs of: delayed and instantaneous delta
    synapses, Poisson and spike-array sources, plastic input synapses, a state monitor."""
    b = get_backend(backend)
    rng = np.random.default_rng(4)
    p = LIFParams(tau_mem_s=10e-3, bias=0.6, t_ref_s=2e-3)
    w_in = SparseSynapses.fixed_probability(30, N, 0.3, 0.35, seed=rng, dtype=np.float64)
    w_x = SparseSynapses.fixed_probability(4, N, 0.5, 0.5, delay=2, seed=rng, dtype=np.float64)
    w_rec = SparseSynapses.fixed_probability(
        N, N, 0.1, -0.2, delay=3, seed=rng, allow_self=False, dtype=np.float64
    )
    rule = STDPRule(a_plus=0.02, a_minus=0.021, w_max=0.6) if b.supports(Feature.STDP) else None
    mons = [SpikeMonitor("a"), RateMonitor("a"), SpikeMonitor("s")]
    if b.supports(Feature.STATE_MONITORS):
        mons.append(StateMonitor("a", "v", np.array([0, 5]), every_steps=3))
    return Network(
        [Population("a", N, p, v_init=rng.uniform(0.0, 0.9, N))],
        [
            Projection("s", "a", w_in, plasticity=rule),
            Projection("x", "a", w_x),
            Projection("a", "a", w_rec),
        ],
        [
            PoissonSource("s", 30, 60.0),
            SpikeArraySource("x", 4, [0.0012, 0.0105, 0.021, 0.0333], [0, 1, 2, 3]),
        ],
        monitors=mons,
    )


def _same_spikes(a, b) -> None:
    for name in ("a", "s"):
        np.testing.assert_array_equal(a.spikes[name].indices, b.spikes[name].indices)
        np.testing.assert_array_equal(a.spikes[name].times_s, b.spikes[name].times_s)
    assert a.spikes["a"].n_spikes > 5


def _weights(sim) -> list[np.ndarray]:
    return [s.weights.copy() for s in sim.synapses()]


def test_the_shipped_backends_are_registered():
    assert {"clock", "loihi-float", "loihi-fixed", "exact", "brian2", "nest"} <= set(BACKENDS)


@pytest.mark.parametrize("backend", BACKENDS)
def test_protocol_methods(backend):
    net = _network(backend)
    sim = make_simulator(net, DT, backend, seed=1)
    assert isinstance(sim, Simulator)
    for name in ("run", "reset", "state_dict", "load_state_dict", "synapses", "counters"):
        assert callable(getattr(sim, name)), name
    assert "keep_weights" in inspect.signature(sim.reset).parameters
    assert "progress" in inspect.signature(sim.run).parameters
    assert sim.network is net and sim.dt_s == pytest.approx(DT) and sim.t_s == 0.0
    rec = sim.run(0.01)
    assert sim.t_s == pytest.approx(0.01) and rec.meta["engine"] == backend
    assert [s.shape for s in sim.synapses()] == [pr.synapses.shape for pr in net.projections]


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_then_rerun_gives_identical_spikes_and_initial_weights(backend):
    net = _network(backend)
    sim = make_simulator(net, DT, backend, seed=2)
    w0 = _weights(sim)
    first = sim.run(0.04)
    learned = _weights(sim)
    if get_backend(backend).supports(Feature.STDP):
        assert not np.array_equal(learned[0], w0[0]), "the plastic projection did not learn"
    sim.reset(keep_weights=True)
    assert sim.t_s == 0.0
    for w, x in zip(_weights(sim), learned):
        np.testing.assert_array_equal(w, x)
    sim.reset()
    assert sim.t_s == 0.0
    for w, x in zip(_weights(sim), w0):
        np.testing.assert_array_equal(w, x)
    _same_spikes(sim.run(0.04), first)


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_dict_round_trip(backend):
    net = _network(backend)
    sim = make_simulator(net, DT, backend, seed=3)
    sim.run(0.02)
    if not get_backend(backend).supports(Feature.CHECKPOINTS):
        for call in (sim.state_dict, lambda: sim.load_state_dict({})):
            with pytest.raises(UnsupportedFeatureError) as err:
                call()
            assert err.value.backend == backend and Feature.CHECKPOINTS in err.value.missing
            assert Feature.CHECKPOINTS.value in str(err.value)
        return
    saved = sim.state_dict()
    later = sim.run(0.03)
    w_later = _weights(sim)
    other = make_simulator(net, DT, backend, seed=3)
    other.load_state_dict(saved)
    assert other.t_s == pytest.approx(0.02)
    resumed = other.run(0.03)
    _same_spikes(resumed, later)
    for w, x in zip(_weights(other), w_later):
        np.testing.assert_array_equal(w, x)


_REFUSALS = [
    (b, f)
    for b in BACKENDS
    for f in Feature
    if f not in SIMULATOR_FEATURES and not get_backend(b).supports(f)
]


@pytest.mark.parametrize(
    ("backend", "feature"), _REFUSALS, ids=[f"{b}-{f.name}" for b, f in _REFUSALS]
)
def test_unsupported_features_are_refused_before_work_by_name(backend, feature, monkeypatch):
    net = feature_network(feature)
    b = get_backend(backend)
    # the backend's own factory refuses (whoever builds it) ...
    with pytest.raises(UnsupportedFeatureError) as err:
        b.factory(net, DT)
    assert err.value.backend == backend and feature in err.value.missing
    assert feature.value in str(err.value)

    # ... and make_simulator refuses before it calls the factory at all
    def factory(*args, **kwargs):
        raise AssertionError(f"{backend}: factory called for an unsupported network")

    monkeypatch.setitem(registry._REGISTRY, backend, dataclasses.replace(b, factory=factory))
    with pytest.raises(UnsupportedFeatureError):
        make_simulator(net, DT, backend)
