"""Simulation engines behind one :class:`~neuro.engines.protocol.Simulator` protocol: the
clock-driven engine, the exact event-driven engine (and, through :func:`simulate`, the Loihi
model and Brian2), with declared capabilities.

All return a :class:`neuro.record.Recording`.
"""

from neuro.engines.capabilities import (
    BACKENDS,
    Feature,
    UnsupportedFeatureError,
    capability_matrix,
    check_supported,
    network_features,
)
from neuro.engines.clock import ClockSimulator, ClockState
from neuro.engines.drive import InputDrive, time_to_step
from neuro.engines.event import ExactSimulator, simulate_exact
from neuro.engines.plan import FlatNetwork, flatten
from neuro.engines.protocol import Simulator, make_simulator, simulate
from neuro.engines.recording import assemble_recording

__all__ = [
    "BACKENDS",
    "ClockSimulator",
    "ClockState",
    "ExactSimulator",
    "Feature",
    "FlatNetwork",
    "InputDrive",
    "Simulator",
    "UnsupportedFeatureError",
    "assemble_recording",
    "capability_matrix",
    "check_supported",
    "flatten",
    "make_simulator",
    "network_features",
    "simulate",
    "simulate_exact",
    "time_to_step",
]
