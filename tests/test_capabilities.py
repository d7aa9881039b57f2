"""Declared capabilities: features a network uses, what each backend runs, the one error."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import feature_network

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
from sparse_neuro.neuro.engines import (
    ExactSimulator,
    Feature,
    UnsupportedFeatureError,
    backends,
    capability_matrix,
    check_supported,
    get_backend,
    make_simulator,
)
from sparse_neuro.neuro.engines.capabilities import supporting_backends
from sparse_neuro.neuro.model.features import SIMULATOR_FEATURES, feature_uses
from sparse_neuro.neuro.model.inputs import SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule
from sparse_neuro.neuro.model.record import SpikeMonitor

DT = 1e-3
_SRC = SpikeArraySource("x", 2, [0.001], [0])
_with = feature_network


#: Features a network uses (the others are asked of a simulator by a call).
_NETWORK_FEATURES = [f for f in Feature if f not in SIMULATOR_FEATURES]


@pytest.mark.parametrize("feature", _NETWORK_FEATURES)
def test_each_feature_is_reported(feature):
    used = _with(feature).features()
    assert feature in used
    extra = {Feature.SPIKE_ARRAY_SOURCES, Feature.POISSON_SOURCES}
    if feature is Feature.PLASTIC_DELAYS:
        extra |= {Feature.DELAYS, Feature.STDP}
    if feature is Feature.CONDUCTANCE:  # conductances are exponential channels
        extra |= {Feature.EXP_CHANNELS}
    assert used - extra <= {feature}


_PAIRS = [(b, f) for b in backends() for f in _NETWORK_FEATURES if not get_backend(b).supports(f)]


@pytest.mark.parametrize(("backend", "feature"), _PAIRS, ids=[f"{b}-{f.name}" for b, f in _PAIRS])
def test_every_unsupported_pair_raises_before_running(backend, feature):
    net = _with(feature)
    with pytest.raises(UnsupportedFeatureError) as err:
        make_simulator(net, DT, backend)
    e = err.value
    assert isinstance(e, ValueError) and e.backend == backend and feature in e.missing
    msg = str(e)
    assert feature.value in msg
    others = supporting_backends([feature])
    assert (
        (f"supported by: {', '.join(others)}" in msg) if others else ("no backend supports" in msg)
    )
    for b in others:  # the backends named do accept the feature
        check_supported(_with(feature), b)
    if backend == "exact":  # the backend classes this module owns check in their constructor
        with pytest.raises(UnsupportedFeatureError):
            ExactSimulator(net, DT)
    elif backend == "brian2":
        from sparse_neuro.neuro.engines.backends.brian2_bridge import Brian2Simulator

        with pytest.raises(UnsupportedFeatureError):
            Brian2Simulator(net, DT)
    elif backend == "nest":
        from sparse_neuro.neuro.engines.backends.nest_bridge import NestSimulator, to_nest

        for build in (NestSimulator, to_nest):
            with pytest.raises(UnsupportedFeatureError):
                build(net, DT)


def test_error_names_every_missing_feature_and_where():
    net = Network(
        [Population("a", 3, LIFParams(tau_syn_s=(5e-3,)), kwta_k=1), Population("b", 2)],
        [Projection("x", "b", SparseSynapses.from_dense(np.ones((2, 2))), plasticity=STDPRule())],
        [_SRC],
        monitors=[SpikeMonitor("a")],
    )
    uses = feature_uses(net)
    assert uses[Feature.KWTA] == ["population 'a'"] and uses[Feature.STDP] == ["projection x->b"]
    with pytest.raises(UnsupportedFeatureError) as err:
        check_supported(net, "exact")
    msg = str(err.value)
    assert set(err.value.missing) == {Feature.EXP_CHANNELS, Feature.KWTA, Feature.STDP}
    assert "population 'a'" in msg and "projection x->b" in msg
    assert "backends that support all of them: clock, loihi-float" in msg
    with pytest.raises(ValueError, match="backend must be one of .*'nest'"):
        check_supported(net, "neuron")


def test_projection_accepts_only_known_rules():
    with pytest.raises(TypeError, match="STDPRule"):
        Projection("x", "a", SparseSynapses.from_dense(np.ones((2, 2))), plasticity=object())


def test_readme_matrix_is_the_generated_one():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    m = re.search(
        r"<!-- capability-matrix:begin -->\n(.*?)\n<!-- capability-matrix:end -->", readme, re.S
    )
    assert m, "README.md lacks the capability-matrix markers"
    assert m.group(1).strip() == capability_matrix(), (
        "README capability matrix is stale: paste sparse_neuro.neuro.engines.capability_matrix()"
    )
