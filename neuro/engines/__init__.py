"""Simulation engines: the clock-driven engine and the exact event-driven engine.

Both run a :class:`neuro.network.Network` and return a :class:`neuro.record.Recording`.
"""

from neuro.engines.clock import ClockSimulator, ClockState, simulate
from neuro.engines.drive import InputDrive, time_to_step
from neuro.engines.event import simulate_exact
from neuro.engines.plan import FlatNetwork, flatten
from neuro.engines.recording import assemble_recording

__all__ = [
    "ClockSimulator",
    "ClockState",
    "FlatNetwork",
    "InputDrive",
    "assemble_recording",
    "flatten",
    "simulate",
    "simulate_exact",
    "time_to_step",
]
