"""The backend registry: backends register from their own modules, neuro imports a backend's
package only when its name is asked for, and a newly registered backend joins the matrix."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import feature_network

from sparse_neuro.neuro.engines import (
    Feature,
    UnsupportedFeatureError,
    backends,
    capability_matrix,
    check_supported,
    get_backend,
    make_simulator,
    register_backend,
    registry,
)
from sparse_neuro.neuro.engines.backends.clock import ClockSimulator

ROOT = Path(__file__).resolve().parents[1]


def test_neuro_imports_a_backend_package_only_when_asked_for():
    # hardware_models is left out: numba's cache index of the one step loop holds the loop's
    # specialisations, the Loihi records' types among them, and unpickling it imports them
    # (no import of neuro's own: tests/test_import_contracts.py checks that)
    code = """
import sys
import numpy as np
from sparse_neuro.neuro import Network, Population
from sparse_neuro.neuro.engines import simulate
net = Network([Population("a", 3)])
assert net.features() == frozenset()
simulate(net, 1e-3, 1e-4)
lazy = ("sparse_neuro.neuro.engines.backends.nest_bridge", "sparse_neuro.neuro.engines.backends.brian2_bridge", "brian2", "nest")
assert not [m for m in lazy if m in sys.modules], [m for m in lazy if m in sys.modules]
simulate(net, 1e-3, 1e-4, backend="nest")
assert "sparse_neuro.neuro.engines.backends.nest_bridge" in sys.modules and "sparse_neuro.neuro.engines.backends.brian2_bridge" not in sys.modules
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]


def test_every_shipped_backend_registers_from_its_own_module():
    for name, module in registry.PROVIDERS.items():
        b = get_backend(name)
        assert b.name == name and b.note
        assert getattr(b.factory, "func", b.factory).__module__ == module


def test_a_registered_backend_joins_the_matrix_and_the_checks(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_backend(
        "toy", ClockSimulator, {Feature.DELAYS, Feature.SPIKE_ARRAY_SOURCES}, "a toy backend"
    )
    assert backends()[-1] == "toy"
    assert capability_matrix().splitlines()[0].endswith("| toy |")
    check_supported(feature_network(Feature.DELAYS), "toy")
    with pytest.raises(UnsupportedFeatureError, match="a toy backend"):
        make_simulator(feature_network(Feature.KWTA), 1e-3, "toy")
    with pytest.raises(ValueError, match="already registered"):
        register_backend("toy", make_simulator, set(), "another")
    with pytest.raises(TypeError, match="Feature"):
        register_backend("toy2", ClockSimulator, {"k-WTA"}, "strings are not features")


def test_unknown_backend_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"backend must be one of \['clock', .*'nest'\]"):
        get_backend("neuron")
