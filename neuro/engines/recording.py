"""Assemble a :class:`Recording` from what a clocked backend collected (shared by the
clock engine and the Loihi event-queue model, so monitors mean the same on both): absolute
spike times with the interval's start, per-step rates, float64 states, :data:`META_KEYS`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparse_neuro.neuro.engines.plan import Plan
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
    run_meta,
)

__all__ = ["StateColumns", "assemble_recording", "state_columns"]


@dataclass(frozen=True, eq=False)
class StateColumns:
    """What the state monitors sample during steps ``[n_start, n_end)``.

    Attributes
    ----------
    monitors : list of StateMonitor
    every : int
        Sampling period in steps (samples at multiples of it).
    ids : ndarray of int64
        Global neuron id of each sampled column.
    channels : ndarray of int64
        ``-1`` for ``v``, else the synaptic channel of each column.
    n_samples : int
        Samples that fall in the interval.
    """

    monitors: list[StateMonitor]
    every: int
    ids: np.ndarray
    channels: np.ndarray
    n_samples: int


def state_columns(network: Network, flat: Plan, n_start: int, n_end: int) -> StateColumns:
    """The sampled columns of the network's StateMonitors over steps ``[n_start, n_end)``."""
    mons = [m for m in network.monitors if isinstance(m, StateMonitor)]
    every = mons[0].every_steps if mons else 1
    if any(m.every_steps != every for m in mons):
        raise ValueError("all StateMonitors of a network must use the same every_steps")
    ids = (
        np.concatenate([m.indices + flat.population_slice(m.target).start for m in mons]).astype(
            np.int64
        )
        if mons
        else np.zeros(0, np.int64)
    )
    chans = (
        np.concatenate([np.full(m.indices.size, m.channel()) for m in mons]).astype(np.int64)
        if mons
        else np.zeros(0, np.int64)
    )
    n_samples = len(range(-(-n_start // every) * every, n_end, every))
    return StateColumns(mons, every, ids, chans, n_samples)


def assemble_recording(
    network: Network,
    flat: Plan,
    n_start: int,
    n_end: int,
    neuron_steps: list[np.ndarray],
    neuron_ids: list[np.ndarray],
    source_steps: list[np.ndarray],
    source_ids: list[np.ndarray],
    states: np.ndarray,
    state_monitors: list[StateMonitor],
    every: int,
    wall_s: float,
    engine: str,
    *,
    column_scale: np.ndarray | float = 1.0,
    column_offset: np.ndarray | float = 0.0,
) -> Recording:
    """The Recording of steps ``[n_start, n_end)``.

    Parameters
    ----------
    network, flat : Network, Plan
        What was run, and its plan (global ids).
    neuron_steps, neuron_ids : list of ndarray
        Chunks of (step, global id) of every neuron spike.
    source_steps, source_ids : list of ndarray
        Chunks of (step, global id) of source spikes (needed only if a source is monitored).
    states : ndarray (n_samples, n_columns)
        Sampled states, columns in the order of ``state_monitors``' indices.
    state_monitors : list of StateMonitor
    every : int
        Sampling period in steps (samples at multiples of it).
    wall_s : float
        Wall time of the simulation loop (``meta["wall_s"]``).
    engine : str
        Backend name put in ``meta["engine"]``.
    column_scale, column_offset : float or ndarray (n_columns,)
        Model units of a sampled value: ``value * scale + offset`` (a fixed-point backend
        passes its quantisation; states are float64 on every backend).
    """
    dt = flat.dt_s
    steps = np.concatenate(neuron_steps) if neuron_steps else np.zeros(0, np.int64)
    ids = np.concatenate(neuron_ids) if neuron_ids else np.zeros(0, np.int64)
    sst = np.concatenate(source_steps) if source_steps else np.zeros(0, np.int64)
    sid = np.concatenate(source_ids) if source_ids else np.zeros(0, np.int64)
    duration = (n_end - n_start) * dt
    spikes, rates = {}, {}
    for m in network.monitors:
        if isinstance(m, (SpikeMonitor, RateMonitor)):
            sl = flat.population_slice(m.target)
            s_arr, i_arr = (sst, sid) if sl.start >= flat.n_neurons else (steps, ids)
            sel = (i_arr >= sl.start) & (i_arr < sl.stop)
            if isinstance(m, SpikeMonitor):
                spikes[m.target] = SpikeTrains(
                    s_arr[sel] * dt,
                    i_arr[sel] - sl.start,
                    sl.stop - sl.start,
                    duration,
                    t_start_s=n_start * dt,
                )
            else:
                counts = np.bincount(s_arr[sel] - n_start, minlength=n_end - n_start)
                rates[m.target] = counts / ((sl.stop - sl.start) * dt)
    values = states.astype(np.float64) * column_scale + column_offset
    traces, col = {}, 0
    first = -(-n_start // every) * every
    times = (first + every * np.arange(states.shape[0])) * dt
    for m in state_monitors:
        k = m.indices.size
        traces[m.key] = StateTrace(times, m.indices.copy(), values[:, col : col + k].copy())
        col += k
    return Recording(
        spikes,
        traces,
        rates,
        dt,
        duration,
        meta=run_meta(engine, wall_s, n_start * dt, n_end - n_start),
    )
