"""The chunk driver of every clocked backend: runs the one step loop over a run's steps in
blocks, written once.

A run of ``n`` steps is cut into blocks of at most ``chunk_steps`` steps (the input drive
may return fewer: bounded memory); per block the source spikes and current-injection events
are drawn, and :func:`sparse_neuro.neuro.engines.loop.run_steps` runs the block (in several calls
when its spike buffer could overflow). A backend brings its loop record ``bk`` per block
(:data:`BlockRecords`): the clock engine the same record every time, the Loihi model one
whose counters are that block's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from sparse_neuro.neuro.engines.drive import InputDrive
from sparse_neuro.neuro.engines.loop import Inputs, Recorder, run_steps, scratch
from sparse_neuro.neuro.engines.plan import Plan
from sparse_neuro.neuro.engines.recording import assemble_recording, state_columns
from sparse_neuro.neuro.engines.state import State
from sparse_neuro.neuro.jit import compile_time
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import Recording
from sparse_neuro.neuro.model.validation import check_duration

__all__ = ["BlockRecords", "n_run_steps", "run_blocks"]

log = logging.getLogger(__name__)

#: ``records(n0, n1)`` is called once per block ``[n0, n1)`` and returns ``bk_at(k)``: the
#: loop record for the call of the loop that starts at step ``k`` of the block.
BlockRecords = Callable[[int, int], Callable[[int], NamedTuple]]


def n_run_steps(duration_s: float, plan: Plan) -> int:
    """Steps in ``duration_s``: a whole number >= 1 within reach (the one helper every
    backend's ``run`` uses, :func:`sparse_neuro.neuro.model.validation.check_duration`; a fraction
    of a step is an error naming the nearest valid durations, not rounded)."""
    return check_duration(duration_s, plan.dt_s, plan.n_neurons)


def run_blocks(
    network: Network,
    plan: Plan,
    st: State,
    drive: InputDrive,
    n_steps: int,
    *,
    chunk_steps: int,
    records: BlockRecords,
    engine: str,
    progress: bool = False,
    float_states: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[Recording, State]:
    """Run steps ``[st.step, st.step + n_steps)`` of a clocked backend.

    Parameters
    ----------
    network : Network
    plan : Plan
        The backend's plan (its ``model`` is what the loop runs).
    st : State
        The state at the first step; its arrays are advanced in place.
    drive : InputDrive
        Source spikes, current-injection events and the seed of the external drives.
    n_steps : int
        Steps to run (:func:`n_run_steps`).
    chunk_steps : int
        Steps per block at most.
    records : BlockRecords
        The backend's loop record per block (see :data:`BlockRecords`).
    engine : str
        The backend name, the recording's ``meta["engine"]`` and the progress bar's label.
    progress : bool
        Show a progress bar.
    float_states : callable, optional
        ``float_states(samples, ids, channels)``: the state samples in the network's float
        units, for a backend whose state is not (the Loihi fixed-point model).

    Returns
    -------
    (Recording, State)
        What the monitors recorded in the interval, and the state after it.
    """
    n_start, n_end = st.step, st.step + n_steps
    cols = state_columns(network, plan, n_start, n_end)
    cap = max(4 * plan.n_neurons, 1 << 16)
    rec = Recorder(
        cols.ids,
        cols.channels,
        cols.every,
        np.zeros((cols.n_samples, cols.ids.size), dtype=st.v.dtype),
        np.empty(cap, np.int64),
        np.empty(cap, np.int64),
    )
    sc = scratch(plan.n_neurons, plan.model.bounds.size - 1, st.v.dtype)
    src_mon = set(network.spike_monitored()) - {p.name for p in network.populations}
    steps_out: list[np.ndarray] = []
    ids_out: list[np.ndarray] = []
    src_steps: list[np.ndarray] = []
    src_ids: list[np.ndarray] = []
    n_samples = 0
    t0 = time.perf_counter()
    # a cold kernel cache compiles inside the first run_steps call: timed apart (compile_s)
    with compile_time() as compiling:
        # no bar object at all without progress: a run of a few steps pays for none
        bar = tqdm(total=n_steps, desc=engine, unit="step") if progress else None
        n = n_start
        while n < n_end:
            # the drive may return fewer steps than asked (bounded memory): run those
            ext_ptr, ext_ids = drive.spikes(n, min(n + chunk_steps, n_end))
            n1 = n + ext_ptr.size - 1
            ev_ptr, ev_ids, ev_vals = drive.current_events(n, n1)
            if src_mon:
                src_steps.append(np.repeat(np.arange(n, n1), np.diff(ext_ptr)))
                src_ids.append(ext_ids)
            bk_at = records(n, n1)
            k = n
            while k < n1:  # the loop stops early when its spike buffer could overflow
                io = Inputs(ext_ptr[k - n :], ext_ids, ev_ptr[k - n :], ev_ids, ev_vals, drive.seed)
                k_next, n_out, n_samples = run_steps(
                    k, n1, plan.model, st, bk_at(k), io, rec, sc, n_samples
                )
                steps_out.append(rec.spike_step[:n_out].copy())
                ids_out.append(rec.spike_id[:n_out].copy())
                if bar is not None:
                    bar.update(k_next - k)
                k = k_next
            n = n1
        if bar is not None:
            bar.close()
    st = st._replace(step=n_end)
    wall = time.perf_counter() - t0 - compiling.seconds
    states: Any = rec.samples[:n_samples]
    if float_states is not None:
        states = float_states(states, cols.ids, cols.channels)
    recording = assemble_recording(
        network,
        plan,
        n_start,
        n_end,
        steps_out,
        ids_out,
        src_steps,
        src_ids,
        states,
        cols.monitors,
        cols.every,
        wall,
        engine=engine,
    )
    recording.meta["compile_s"] = compiling.seconds
    log.debug(
        "%s: steps %d to %d in %.3f s (compiling %.1f s)",
        engine,
        n_start,
        n_end,
        wall,
        compiling.seconds,
    )
    return recording, st
