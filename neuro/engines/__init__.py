"""Simulation engines behind one :class:`~sparse_neuro.neuro.engines.protocol.Simulator` protocol:
the clock-driven engine, the exact event-driven engine (and, through :func:`simulate` and the
backend registry, the Loihi model, Brian2 and NEST), with declared capabilities.

All return a :class:`sparse_neuro.neuro.model.record.Recording`.
"""

from sparse_neuro.neuro.engines.backends.clock import ClockSimulator
from sparse_neuro.neuro.engines.backends.exact import ExactSimulator, simulate_exact
from sparse_neuro.neuro.engines.capabilities import (
    UnsupportedFeatureError,
    capability_matrix,
    check_supported,
)
from sparse_neuro.neuro.engines.drive import InputDrive, time_to_step
from sparse_neuro.neuro.engines.plan import Plan, build_plan
from sparse_neuro.neuro.engines.protocol import Simulator, make_simulator, simulate
from sparse_neuro.neuro.engines.recording import assemble_recording
from sparse_neuro.neuro.engines.registry import Backend, backends, get_backend, register_backend
from sparse_neuro.neuro.engines.state import State, initial_state
from sparse_neuro.neuro.model.features import Feature, network_features

__all__ = [
    "Backend",
    "ClockSimulator",
    "ExactSimulator",
    "Feature",
    "Plan",
    "InputDrive",
    "Simulator",
    "State",
    "UnsupportedFeatureError",
    "assemble_recording",
    "backends",
    "capability_matrix",
    "check_supported",
    "build_plan",
    "get_backend",
    "initial_state",
    "make_simulator",
    "network_features",
    "register_backend",
    "simulate",
    "simulate_exact",
    "time_to_step",
]
