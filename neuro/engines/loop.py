"""The one step loop of the clocked backends, written once; backends supply stages.

Step ``n`` (Brian2's schedule; see :mod:`neuro.engines.clock` for the arithmetic):

0. current-injection changes of the step; state monitors sample the state at ``t = n dt``;
1. ``update(n, model, st, bk, extra)``: integrate the neurons (a backend stage);
2. threshold and k-WTA (:func:`threshold_stage`, shared); spikes are recorded;
3. ``inputs(n, j, spiking, n_spk, model, st, bk, io)``: propagate the step's neuron and
   source spikes, add the external drives, deliver the ring-buffer slot (a backend stage);
4. learn: STDP (:func:`neuro.engines.plasticity.plastic_events`, shared), after
   propagation, so a spike is transmitted with the weight it had before the update;
5. reset (:func:`reset_stage`, shared), with threshold adaptation.

How backends plug in: :func:`run_steps` takes the two backend stages as arguments. Numba
compiles a numba dispatcher passed as an argument as a direct call to that function (one
specialisation of the loop per combination of stages, with the stages free to be inlined),
so the shared loop costs nothing over a hand-written one. ``bk`` is the backend's own
record (e.g. the Loihi model's cores, routes and counters), read by its stages only.

A specialisation with function arguments is not written to numba's on-disk cache; the
stages themselves are (``cache=True``), so a new process compiles only the small loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from neuro.engines.kernels import kwta_winners
from neuro.engines.plasticity import plastic_events

__all__ = ["Inputs", "Recorder", "reset_stage", "run_steps", "threshold_stage"]


class Inputs(NamedTuple):
    """The inputs of a block of steps ``[n0, n0 + len(ext_ptr) - 1)`` (pointers relative to
    the block's first step).

    Attributes
    ----------
    ext_ptr, ext_ids : ndarray of int64
        Source spikes of step ``n0 + j``: global ids ``ext_ids[ext_ptr[j]:ext_ptr[j + 1]]``.
    ev_ptr, ev_ids, ev_vals : ndarray
        Current-injection changes of step ``n0 + j``: ``drive[ev_ids[e]] += ev_vals[e]``.
    seed : int
        Seed of the external drives' random numbers.
    """

    ext_ptr: np.ndarray
    ext_ids: np.ndarray
    ev_ptr: np.ndarray
    ev_ids: np.ndarray
    ev_vals: np.ndarray
    seed: int


class Recorder(NamedTuple):
    """Where the loop writes what the monitors record.

    Attributes
    ----------
    ids, chan : ndarray of int64
        Sampled columns: global neuron id and ``-1`` for ``v`` or the channel of ``syn``.
    every : int
        Sampling period in steps (samples at multiples of it).
    samples : ndarray (n_samples, n_columns)
    spike_step, spike_id : ndarray of int64
        Output buffers of (step, global id) of every neuron spike; the loop stops early
        rather than overflow them.
    """

    ids: np.ndarray
    chan: np.ndarray
    every: int
    samples: np.ndarray
    spike_step: np.ndarray
    spike_id: np.ndarray


@numba.njit(cache=True, nogil=True)
def _crossings(n, v, last, theta, adaptive, th, rs, offset, cand):
    """Write ``offset + i`` of the non-refractory neurons with ``v > th (+ theta)`` into
    ``cand``; return how many (slices from 0, for the same reason as
    :func:`neuro.engines.kernels.lif_update`)."""
    n_c = 0
    if adaptive:
        for i in range(v.shape[0]):
            if v[i] > th + theta[i] and (n - last[i]) >= rs:
                cand[n_c] = offset + i
                n_c += 1
    else:
        for i in range(v.shape[0]):
            if v[i] > th and (n - last[i]) >= rs:
                cand[n_c] = offset + i
                n_c += 1
    return n_c


@numba.njit(cache=True, nogil=True)
def threshold_stage(n, nr, st, spiking, cand):
    """Stage 2: the spikes of step ``n``, population by population in neuron order, into
    ``spiking``; returns how many. ``nr`` is the :class:`neuro.engines.plan.Neurons` record
    (in the state's units: floats, or integers in the Loihi fixed-point model)."""
    v, last, theta = st.v, st.last_spike, st.theta
    n_spk = 0
    for pop in range(nr.pop_offsets.shape[0] - 1):
        lo = nr.pop_offsets[pop]
        hi = nr.pop_offsets[pop + 1]
        n_c = _crossings(n, v[lo:hi], last[lo:hi], theta[lo:hi], nr.adapt[pop],
                         nr.v_threshold[pop], nr.ref_steps[pop], lo, cand)
        n_spk = kwta_winners(v, theta, nr.adapt[pop], cand, n_c, nr.kwta_k[pop],
                             nr.kwta_hold[pop], nr.v_reset[pop], spiking, n_spk)
    return n_spk


@numba.njit(cache=True, nogil=True, inline="always")
def _pop_of(i, pop_offsets):
    """Population of neuron ``i`` (few populations: a linear scan is fastest)."""
    p = 0
    while i >= pop_offsets[p + 1]:
        p += 1
    return p


@numba.njit(cache=True, nogil=True)
def reset_stage(spiking, n_spk, nr, st):
    """Stage 5: spiking neurons go to ``v_reset`` (or subtract ``reset_amount``); adaptive
    thresholds grow by ``theta_plus``."""
    v = st.v
    for r in range(n_spk):
        i = spiking[r]
        pop = _pop_of(i, nr.pop_offsets)
        if nr.reset_amount[pop] > 0:
            v[i] -= nr.reset_amount[pop]
        else:
            v[i] = nr.v_reset[pop]
        if nr.adapt[pop]:  # --- plasticity hook: threshold adaptation
            st.theta[i] += st.theta_plus[pop]
    return 0


@numba.njit(nogil=True)
def run_steps(update, inputs, n0, n1, model, st, bk, io, rec, n_out, n_samples):
    """Run steps ``[n0, n1)`` with the backend stages ``update`` and ``inputs`` (see the
    module docstring); ``io`` holds the inputs of the steps from ``n0`` on.

    Stops early, before a step whose spikes could overflow ``rec.spike_step``. Returns
    ``(next step, spikes written, samples written)``.
    """
    nr = model.neurons
    v, syn, drive = st.v, st.syn, st.drive
    n_neur = v.shape[0]
    extra = np.zeros(n_neur, dtype=v.dtype)  # scratch of the update stage
    spiking = np.empty(n_neur, dtype=np.int64)
    cand = np.empty(n_neur, dtype=np.int64)
    learns = model.plastic.ints.shape[0] > 0
    cap = rec.spike_step.shape[0]
    n_cols = rec.ids.shape[0]
    for n in range(n0, n1):
        if n_out + n_neur > cap:
            return n, n_out, n_samples
        j = n - n0
        for e in range(io.ev_ptr[j], io.ev_ptr[j + 1]):
            drive[io.ev_ids[e]] += io.ev_vals[e]
        if n_cols > 0 and n % rec.every == 0:
            for c in range(n_cols):
                i = rec.ids[c]
                rec.samples[n_samples, c] = v[i] if rec.chan[c] < 0 else syn[rec.chan[c], i]
            n_samples += 1
        update(n, model, st, bk, extra)
        n_spk = threshold_stage(n, nr, st, spiking, cand)
        for r in range(n_spk):
            i = spiking[r]
            st.last_spike[i] = n
            rec.spike_step[n_out] = n
            rec.spike_id[n_out] = i
            n_out += 1
        inputs(n, j, spiking, n_spk, model, st, bk, io)
        if learns:
            plastic_events(n, spiking, n_spk, io.ext_ids, io.ext_ptr[j], io.ext_ptr[j + 1],
                           model.plastic, model.routing, st)
        reset_stage(spiking, n_spk, nr, st)
    return n1, n_out, n_samples
