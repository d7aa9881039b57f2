"""Simulation engines behind one :class:`~neuro.engines.protocol.Simulator` protocol: the
clock-driven engine, the exact event-driven engine (and, through :func:`simulate` and the
backend registry, the Loihi model, Brian2 and NEST), with declared capabilities.

All return a :class:`neuro.record.Recording`.
"""

from neuro.engines.capabilities import (
    Feature,
    UnsupportedFeatureError,
    capability_matrix,
    check_supported,
    network_features,
)
from neuro.engines.clock import ClockSimulator
from neuro.engines.drive import InputDrive, time_to_step
from neuro.engines.event import ExactSimulator, simulate_exact
from neuro.engines.plan import Plan, build_plan
from neuro.engines.protocol import Simulator, make_simulator, simulate
from neuro.engines.recording import assemble_recording
from neuro.engines.registry import Backend, backends, get_backend, register_backend
from neuro.engines.state import State, initial_state

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
