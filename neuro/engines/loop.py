"""The one step loop of the clocked backends, written once; backends supply stages.

Step ``n`` (Brian2's schedule; see :mod:`sparse_neuro.neuro.engines.backends.clock` for the
arithmetic):

0. current-injection changes of the step; state monitors sample the state at ``t = n dt``;
1. ``update(n, model, st, bk, sc)``: integrate the neurons and scan them for threshold
   crossings, population by population (a backend stage; candidates into ``sc``);
2. k-WTA (:func:`threshold_stage`, shared); spikes are recorded;
3. ``inputs(n, j, spiking, n_spk, model, st, bk, io)``: propagate the step's neuron and
   source spikes, add the external drives, deliver the ring-buffer slot (a backend stage);
4. learn: STDP (:func:`sparse_neuro.neuro.engines.learn.plastic_events`, shared), after
   propagation, so a spike is transmitted with the weight it had before the update;
5. reset (:func:`reset_stage`, shared), with threshold adaptation.

How backends plug in: a backend's record ``bk`` (a NamedTuple class of its own) selects its
stages. :func:`register_stages` binds a record class to an update and an inputs function;
the loop calls the generic :func:`update` and :func:`inputs`, which numba resolves at compile
time from the type of ``bk`` (``numba.extending.overload``) and inlines. So the loop is
written once, each backend gets its own compiled specialisation (one per record class), with
no call through a pointer, and that specialisation is cached on disk like any kernel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.core import types
from numba.extending import overload

from sparse_neuro.neuro.engines.learn import plastic_events
from sparse_neuro.neuro.engines.primitives import kwta_winners, step_kernel
from sparse_neuro.neuro.jit import check_keyed, njit

__all__ = [
    "Inputs",
    "Recorder",
    "Scratch",
    "inputs",
    "register_stages",
    "reset_stage",
    "run_steps",
    "scratch",
    "threshold_stage",
    "update",
]


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


class Scratch(NamedTuple):
    """Work arrays of one call of the loop.

    Attributes
    ----------
    extra : ndarray (n_neurons,)
        For the update stage (input of channels beyond the second).
    cand : ndarray of int64 (n_neurons,)
        Threshold candidates: the update stage writes those of partition ``p`` (neurons
        over threshold and not refractory, in neuron order) from ``cand[bounds[p]]`` on.
    n_cand : ndarray of int64 (n_partitions,)
        How many candidates each partition wrote.
    spiking : ndarray of int64 (n_neurons,)
        The step's spiking neurons (after k-WTA).
    key, order, tmp : ndarray (n_neurons,) of float64, int64, int64
        Work arrays of the k-WTA sort (:func:`sparse_neuro.neuro.engines.primitives.kwta_winners`).
    """

    extra: np.ndarray
    cand: np.ndarray
    n_cand: np.ndarray
    spiking: np.ndarray
    key: np.ndarray
    order: np.ndarray
    tmp: np.ndarray


def scratch(n_neurons: int, n_partitions: int, dtype: type) -> Scratch:
    """The work arrays of :func:`run_steps` for a network of ``n_neurons`` neurons in
    ``n_partitions`` partitions whose state has ``dtype``. Allocated by the caller, so that
    the loop allocates nothing and runs without reference counting
    (:func:`sparse_neuro.neuro.engines.primitives.step_kernel`)."""
    return Scratch(
        np.zeros(n_neurons, dtype=dtype),
        np.empty(n_neurons, np.int64),
        np.zeros(n_partitions, np.int64),
        np.empty(n_neurons, np.int64),
        np.empty(n_neurons, np.float64),
        np.empty(n_neurons, np.int64),
        np.empty(n_neurons, np.int64),
    )


@njit(nogil=True, inline="always")
def threshold_stage(kw, v, theta, bounds, sc):
    """Stage 2: the spikes of the step, population by population in neuron order, into
    ``sc.spiking``; returns how many.

    The update stage has already scanned each population right after updating it (while
    its data are in cache) and left the candidates of partition ``p`` in ``cand`` from
    ``bounds[p]`` on (``n_cand[p]`` of them); this stage joins them (partitions are
    contiguous, so the joined list is in neuron order) and applies k-WTA per population.
    ``kw`` is a tuple of the :class:`sparse_neuro.neuro.engines.plan.Neurons` arrays ``(pop_offsets,
    adapt, kwta_k, kwta_hold, v_reset)``, taken out of the record once per call of the loop."""
    pop_offsets, adapt, kwta_k, kwta_hold, v_reset = kw
    cand, n_cand, spiking = sc.cand, sc.n_cand, sc.spiking
    work = (sc.key, sc.order, sc.tmp)
    total = 0
    for p in range(bounds.shape[0] - 1):
        lo = bounds[p]
        k = n_cand[p]
        if lo != total:  # move left: the gap only grows, so a forward copy is safe
            for r in range(k):
                cand[total + r] = cand[lo + r]
        total += k
    n_spk = 0
    start = 0
    for pop in range(pop_offsets.shape[0] - 1):
        hi = pop_offsets[pop + 1]
        end = start
        while end < total and cand[end] < hi:
            end += 1
        if end > start and kwta_k[pop] < 0:  # no k-WTA: every candidate spikes
            for r in range(start, end):
                spiking[n_spk] = cand[r]
                n_spk += 1
        elif end > start:
            n_spk = kwta_winners(
                v,
                theta,
                adapt[pop],
                cand[start:],
                end - start,
                kwta_k[pop],
                kwta_hold[pop],
                v_reset[pop],
                spiking,
                n_spk,
                work,
            )
        start = end
    return n_spk


@njit(nogil=True, inline="always")
def _pop_of(i, pop_offsets):
    """Population of neuron ``i`` (few populations: a linear scan is fastest)."""
    p = 0
    while i >= pop_offsets[p + 1]:
        p += 1
    return p


@step_kernel
def reset_stage(spiking, n_spk, nr, st):
    """Stage 5: spiking neurons go to ``v_reset`` (or subtract ``reset_amount``); adaptive
    thresholds grow by ``theta_plus``."""
    v, theta, theta_plus = st.v, st.theta, st.theta_plus
    pop_offsets, reset_amount, v_reset, adapt = (
        nr.pop_offsets,
        nr.reset_amount,
        nr.v_reset,
        nr.adapt,
    )
    for r in range(n_spk):
        i = spiking[r]
        pop = _pop_of(i, pop_offsets)
        if reset_amount[pop] > 0:
            v[i] -= reset_amount[pop]
        else:
            v[i] = v_reset[pop]
        if adapt[pop]:  # --- plasticity hook: threshold adaptation
            theta[i] += theta_plus[pop]
    return 0


def update(n, model, st, bk, sc):
    """Stage 1 of the backend whose record is ``bk`` (compiled code only; see
    :func:`register_stages`): integrate the neurons and leave the threshold candidates in
    ``sc``."""
    raise NotImplementedError("a stage runs inside compiled code only")


def inputs(n, j, spiking, n_spk, model, st, bk, io):
    """Stage 3 of the backend whose record is ``bk`` (compiled code only; see
    :func:`register_stages`): propagate the spikes of step ``n`` (``j = n - n0``), add the
    drives, deliver the ring-buffer slot."""
    raise NotImplementedError("a stage runs inside compiled code only")


def register_stages(record: type, update_impl, inputs_impl) -> None:
    """Make ``update_impl`` and ``inputs_impl`` (numba functions with the signatures of
    :func:`update` and :func:`inputs`) the stages of backends whose ``bk`` is a
    ``record`` (a NamedTuple class; a subclass is a record class of its own)."""

    check_keyed(update_impl, inputs_impl)

    def _is(bk):
        return isinstance(bk, types.BaseNamedTuple) and bk.instance_class is record

    @overload(update, inline="always")
    def _update(n, model, st, bk, sc):
        if _is(bk):
            return lambda n, model, st, bk, sc: update_impl(n, model, st, bk, sc)
        return None

    @overload(inputs, inline="always")
    def _inputs(n, j, spiking, n_spk, model, st, bk, io):
        if _is(bk):
            return lambda n, j, spiking, n_spk, model, st, bk, io: inputs_impl(
                n, j, spiking, n_spk, model, st, bk, io
            )
        return None


@step_kernel
def run_steps(n0, n1, model, st, bk, io, rec, sc, n_samples):
    """Run steps ``[n0, n1)`` with the stages of the backend record ``bk`` (see the module
    docstring); ``io`` holds the inputs of the steps from ``n0`` on, ``sc`` the work arrays
    (:func:`scratch`), ``n_samples`` the samples already in ``rec.samples``.

    Allocates nothing, so it is compiled without reference counting
    (:func:`sparse_neuro.neuro.engines.primitives.step_kernel`): with it, passing the records to the
    stages and taking arrays out of them cost about a fifth of a CUBA step in atomic counts.
    Stops early, before a step whose spikes could overflow ``rec.spike_step``. Returns
    ``(next step, spikes written, samples written)``.
    """
    # record fields are taken out once, before the loop
    nr, bounds, plastic, routing = model.neurons, model.bounds, model.plastic, model.routing
    v, syn, drive, last, theta = st.v, st.syn, st.drive, st.last_spike, st.theta
    kw = (nr.pop_offsets, nr.adapt, nr.kwta_k, nr.kwta_hold, nr.v_reset)
    ev_ptr, ev_ids, ev_vals, ext_ptr, ext_ids = (
        io.ev_ptr,
        io.ev_ids,
        io.ev_vals,
        io.ext_ptr,
        io.ext_ids,
    )
    rec_ids, rec_chan, samples, every = rec.ids, rec.chan, rec.samples, rec.every
    spike_step, spike_id = rec.spike_step, rec.spike_id
    n_neur = v.shape[0]
    spiking = sc.spiking
    n_out = 0
    learns = plastic.ints.shape[0] > 0
    cap = spike_step.shape[0]
    n_cols = rec_ids.shape[0]
    for n in range(n0, n1):
        if n_out + n_neur > cap:
            return n, n_out, n_samples
        j = n - n0
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            drive[ev_ids[e]] += ev_vals[e]
        if n_cols > 0 and n % every == 0:
            for c in range(n_cols):
                i = rec_ids[c]
                samples[n_samples, c] = v[i] if rec_chan[c] < 0 else syn[rec_chan[c], i]
            n_samples += 1
        update(n, model, st, bk, sc)
        n_spk = threshold_stage(kw, v, theta, bounds, sc)
        for r in range(n_spk):
            i = spiking[r]
            last[i] = n
            spike_step[n_out] = n
            spike_id[n_out] = i
            n_out += 1
        inputs(n, j, spiking, n_spk, model, st, bk, io)
        if learns:
            plastic_events(
                n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], plastic, routing, st
            )
        reset_stage(spiking, n_spk, nr, st)
    return n1, n_out, n_samples
