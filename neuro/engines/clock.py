"""Clock-driven engine: time-stepped neuron updates, event-driven spike propagation.

Each step ``n`` follows Brian2's schedule, so that both give the same spikes where the
arithmetic is the same:

1. *update*: apply current-injection changes; neurons that are not refractory
   (``n - last_spike >= ref_steps``) integrate ``v`` exactly over ``dt``; every synaptic
   current decays exactly;
2. *threshold*: ``v > v_threshold`` and not refractory; in a k-WTA population at most ``k``
   of those spike (largest ``v`` first, ties to the lower index); spikes are recorded at
   ``t = n dt``;
3. *propagate*: the rows of the neurons and source channels that spiked are scattered into a
   delay ring buffer ``buf[(n + delay) % (max_delay + 1)]`` (only spiking rows are touched),
   then the external Poisson drives of step ``n`` (:func:`neuro.engines.kernels.apply_drives`)
   and slot ``n`` are delivered: channel 0 adds to ``v`` (delta synapses; discarded while the
   neuron is refractory, a neuron with ``t_ref = 0`` never is), channel ``1 + k`` adds to
   ``I_k``;
4. *reset*: spiking neurons go to ``v_reset`` (or subtract ``v_threshold - v_reset``).

State variables are recorded at the start of a step (the state at ``t = n dt``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import NamedTuple

import numba
import numpy as np
from tqdm.auto import tqdm

from neuro.coba import coba_update
from neuro.engines.capabilities import check_supported
from neuro.engines.drive import InputDrive
from neuro.engines.kernels import apply_drives, kwta_winners, lif_update
from neuro.engines.layout import partitions
from neuro.engines.plan import FlatNetwork, drive_table, flatten
from neuro.engines.plasticity import deliver_reward as _deliver_reward
from neuro.engines.plasticity import plastic_events
from neuro.engines.recording import assemble_recording, state_columns
from neuro.network import Network
from neuro.validation import check_duration
from neuro.record import Recording, SpikeMonitor
from neuro.synapses import SparseSynapses

__all__ = ["ClockState", "ClockSimulator"]


@dataclass(eq=False)
class ClockState:
    """Everything that evolves during a run (explicit, checkpointable).

    Attributes
    ----------
    step : int
        Index of the next step to run.
    v : ndarray (n_neurons,)
    syn : ndarray (max(n_channels, 2), n_neurons)
        Exponential synaptic currents, channel-major (each channel a contiguous stream);
        rows beyond the network's channels stay zero.
    last_spike : ndarray of int64 (n_neurons,)
        Step of each neuron's last spike (very negative if none).
    buffer : ndarray (max_delay + 1, n_neurons, 1 + n_channels)
        Delay ring buffer of inputs not yet delivered.
    queued, queue_ids, queue_len : ndarray
        Per slot: which targets hold input (flags), their ids (partition ``p``'s from
        ``bounds[p]`` on), and how many per partition (``queue_len[slot, p]``).
    drive : ndarray (n_neurons,)
        Current injection currently applied (added to ``v_inf``).
    weights : ndarray
        Concatenated synaptic weights (they change under plasticity).
    theta : ndarray (n_neurons,)
        Adaptive threshold of each neuron (0 where the population has none).
    theta_plus : ndarray (n_populations,)
        Current threshold increment per spike (set to 0 to freeze adaptation).
    pre_trace, post_trace : ndarray (n_slots, 2)
        STDP traces (fast, slow) of the presynaptic / postsynaptic neurons of the plastic
        projections, as of the step in ``pre_last`` / ``post_last``.
    eligibility, elig_last : ndarray
        Per-synapse eligibility (reward-modulated rules; empty otherwise) and its step.
    learning_rate : ndarray (n_plastic,)
        Current learning rate of each plastic projection.
    """

    step: int
    v: np.ndarray
    syn: np.ndarray
    last_spike: np.ndarray
    buffer: np.ndarray
    queued: np.ndarray
    queue_ids: np.ndarray
    queue_len: np.ndarray
    drive: np.ndarray
    weights: np.ndarray
    theta: np.ndarray
    theta_plus: np.ndarray
    pre_trace: np.ndarray
    pre_last: np.ndarray
    post_trace: np.ndarray
    post_last: np.ndarray
    eligibility: np.ndarray
    elig_last: np.ndarray
    learning_rate: np.ndarray

    @classmethod
    def initial(cls, flat: FlatNetwork, n_parts: int = 1) -> ClockState:
        """The state at ``t = 0``: ``v = v_init``, no currents, nothing in flight
        (``n_parts``: partitions of the neurons, see :func:`partitions`)."""
        n, c, dt = flat.n_neurons, flat.n_channels, flat.dtype
        pl = flat.plastic
        never = -(2**40)
        n_elig = flat.weights.size if pl.any_reward else 0
        return cls(
            step=0,
            v=flat.v_init.copy(),
            syn=np.zeros((max(c, 2), n), dtype=dt),
            last_spike=np.full(n, -(2**40), dtype=np.int64),
            buffer=np.zeros((flat.max_delay + 1, n, 1 + c), dtype=dt),
            queued=np.zeros((flat.max_delay + 1, n), dtype=np.bool_),
            queue_ids=np.zeros((flat.max_delay + 1, n), dtype=np.int64),
            queue_len=np.zeros((flat.max_delay + 1, n_parts), dtype=np.int64),
            drive=np.zeros(n, dtype=dt),
            weights=flat.weights.copy(),
            theta=flat.theta_init.copy(),
            theta_plus=flat.theta_plus.copy(),
            pre_trace=np.zeros((pl.n_pre, 2)),
            pre_last=np.full(pl.n_pre, never, dtype=np.int64),
            post_trace=np.zeros((pl.n_post, 2)),
            post_last=np.full(pl.n_post, never, dtype=np.int64),
            eligibility=np.zeros(n_elig),
            elig_last=np.full(n_elig, never, dtype=np.int64),
            learning_rate=pl.learning_rate.copy(),
        )


class Routing(NamedTuple):
    """Where each presynaptic id's synapses are (from :class:`FlatNetwork`), as one record."""

    group_of_pre: np.ndarray
    gp_ptr: np.ndarray
    gp_list: np.ndarray
    p_src_off: np.ndarray
    p_tgt_off: np.ndarray
    p_chan: np.ndarray
    p_iptr0: np.ndarray
    p_syn0: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    delays: np.ndarray


class Neurons(NamedTuple):
    """Per-population neuron constants, as one record."""

    pop_offsets: np.ndarray
    mem_decay: np.ndarray
    v_inf: np.ndarray
    syn_decay: np.ndarray  # (n_pops, max(2, n_channels)): padding columns are zero
    syn_to_mem: np.ndarray
    ref_steps: np.ndarray
    ref_n: np.ndarray  # refractory steps of each neuron (read when delta input arrives)
    adapt: np.ndarray
    theta_decay: np.ndarray
    coba: np.ndarray  # conductance-based populations (neuro.coba), same padding as syn_decay
    e_rev: np.ndarray
    g_mean: np.ndarray
    dt_over_tau: np.ndarray


def neurons_record(flat: FlatNetwork) -> Neurons:
    """The :class:`Neurons` record of a plan (channel columns padded to at least two)."""
    f = flat
    pad = ((0, 0), (0, max(f.n_channels, 2) - f.n_channels))
    return Neurons(f.group_offsets[: f.n_populations + 1], f.mem_decay, f.v_inf,
                   np.pad(f.syn_decay, pad), np.pad(f.syn_to_mem, pad), f.ref_steps,
                   f.per_neuron("ref_steps"), f.adapt, f.theta_decay, f.coba,
                   np.pad(f.e_rev, pad), np.pad(f.g_mean, pad), f.dt_over_tau)


@numba.njit(cache=True, nogil=True)
def _propagate(g, n, t_lo, t_hi, part, rt, weights, buf, queued, q_ids, q_len, v, syn, last,
               ref_n):
    """Scatter the synapses of presynaptic global id ``g`` (spiking in step ``n``) onto the
    targets in ``[t_lo, t_hi)``, the targets of partition ``part``.

    Zero-delay synapses act at once on the state (as delivery of slot ``n`` would, in the
    same order); delayed ones go to the ring buffer, and each slot keeps, per partition, the
    list of targets it holds input for (from ``q_ids[slot, t_lo]`` on), so delivery costs
    what was sent, not the network size. A partition narrower than the network finds its
    part of each row by bisection (rows are sorted when the network is partitioned).
    """
    n_slots = buf.shape[0]
    whole = t_lo == 0 and t_hi == v.shape[0]
    grp = rt.group_of_pre[g]
    for q in range(rt.gp_ptr[grp], rt.gp_ptr[grp + 1]):
        p = rt.gp_list[q]
        row = g - rt.p_src_off[p]
        base = rt.p_syn0[p]
        lo = base + rt.indptr[rt.p_iptr0[p] + row]
        hi = base + rt.indptr[rt.p_iptr0[p] + row + 1]
        tgt0 = rt.p_tgt_off[p]
        if not whole:
            cols = rt.indices[lo:hi]
            lo, hi = (lo + np.searchsorted(cols, t_lo - tgt0),
                      lo + np.searchsorted(cols, t_hi - tgt0))
        ch = rt.p_chan[p]
        indices = rt.indices
        if n_slots == 1:  # no delays in the network: a branch-free scatter into the state
            if ch == 0:
                for s in range(lo, hi):
                    t = tgt0 + indices[s]
                    if _accepts(n, t, last, ref_n):
                        v[t] += weights[s]
            else:
                current = syn[ch - 1]
                for s in range(lo, hi):
                    current[tgt0 + indices[s]] += weights[s]
            continue
        delays = rt.delays
        for s in range(lo, hi):
            t = tgt0 + indices[s]
            d = delays[s]
            if d == 0:
                if ch == 0:
                    if _accepts(n, t, last, ref_n):
                        v[t] += weights[s]
                else:
                    syn[ch - 1, t] += weights[s]
            else:
                slot = (n + d) % n_slots
                if not queued[slot, t]:
                    queued[slot, t] = True
                    q_ids[slot, t_lo + q_len[slot, part]] = t
                    q_len[slot, part] += 1
                buf[slot, t, ch] += weights[s]
    return 0


@numba.njit(cache=True, nogil=True)
def _inputs(n, part, t_lo, t_hi, spiking, n_spk, ext_ids, e0, e1, rt, weights, buf, queued,
            q_ids, q_len, v, syn, last, ref_n, seed, drives, no_hits):
    """Stage 3 for the targets ``[t_lo, t_hi)``: propagate the step's neuron and source
    spikes, add the external drives, deliver ring-buffer slot ``n`` (in this order, so each
    target sums its inputs in the same order whatever the partitioning)."""
    for r in range(n_spk):
        _propagate(spiking[r], n, t_lo, t_hi, part, rt, weights, buf, queued, q_ids, q_len,
                   v, syn, last, ref_n)
    for e in range(e0, e1):
        _propagate(ext_ids[e], n, t_lo, t_hi, part, rt, weights, buf, queued, q_ids, q_len,
                   v, syn, last, ref_n)
    if drives.lo.shape[0] > 0:
        apply_drives(n, seed, drives, v, syn, last, ref_n, no_hits, t_lo, t_hi)
    if buf.shape[0] > 1:
        slot = n % buf.shape[0]
        for q in range(q_len[slot, part]):
            i = q_ids[slot, t_lo + q]
            queued[slot, i] = False
            x = buf[slot, i, 0]
            if _accepts(n, i, last, ref_n):
                v[i] += x
            buf[slot, i, 0] = 0.0
            for k in range(buf.shape[2] - 1):
                syn[k, i] += buf[slot, i, 1 + k]
                buf[slot, i, 1 + k] = 0.0
        q_len[slot, part] = 0
    return 0


@numba.njit(cache=True, nogil=True, parallel=True)
def _inputs_parallel(n, bounds, spiking, n_spk, ext_ids, e0, e1, rt, weights, buf, queued,
                     q_ids, q_len, v, syn, last, ref_n, seed, drives, no_hits):
    """:func:`_inputs` of every partition, partitions spread over the threads."""
    for part in numba.prange(bounds.shape[0] - 1):
        _inputs(n, part, bounds[part], bounds[part + 1], spiking, n_spk, ext_ids, e0, e1, rt,
                weights, buf, queued, q_ids, q_len, v, syn, last, ref_n, seed, drives, no_hits)
    return 0


@numba.njit(cache=True, nogil=True)
def update_stage(n, t_lo, t_hi, nr, v, syn, last, drive, theta, extra):
    """Stage 1 for the neurons ``[t_lo, t_hi)``, population by population (shared
    constants); element-wise, so any partitioning gives the same result.

    The state always has >= 2 channel rows (padding rows have zero coupling), so one fused,
    vectorisable loop (:func:`lif_update`) serves every network. It stores nothing but the
    state: refractoriness is recomputed from ``last`` where needed (cheaper than storing
    flags). Channels beyond the second are added after it (left to right). A
    conductance-based population runs :func:`neuro.coba.coba_update` instead.
    """
    n_ch = syn.shape[0]
    for pop in range(nr.pop_offsets.shape[0] - 1):
        lo = max(nr.pop_offsets[pop], t_lo)
        hi = min(nr.pop_offsets[pop + 1], t_hi)
        if hi <= lo:
            continue
        rs = nr.ref_steps[pop]
        if nr.adapt[pop]:
            # --- plasticity hook: adaptive threshold (decays exactly every step)
            dth = nr.theta_decay[pop]
            if dth != 1.0:
                for i in range(lo, hi):
                    theta[i] *= dth
        s0 = syn[0]  # rows first, then slices: C-contiguous views (syn[0, lo:hi] is 'A')
        s1 = syn[1]
        if nr.coba[pop]:  # conductance channels (at most two, padded): neuro.coba
            coba_update(n, v[lo:hi], s0[lo:hi], s1[lo:hi], last[lo:hi], drive[lo:hi],
                        nr.v_inf[pop], nr.e_rev[pop, 0], nr.e_rev[pop, 1], nr.g_mean[pop, 0],
                        nr.g_mean[pop, 1], nr.syn_decay[pop, 0], nr.syn_decay[pop, 1],
                        nr.dt_over_tau[pop], rs)
            continue
        if n_ch > 2:
            for i in range(lo, hi):
                extra[i] = 0.0
            for k in range(2, n_ch):
                c_k = nr.syn_to_mem[pop, k]
                sk = syn[k]
                for i in range(lo, hi):
                    extra[i] += sk[i] * c_k
        lif_update(n, v[lo:hi], s0[lo:hi], s1[lo:hi], last[lo:hi], drive[lo:hi],
                   nr.mem_decay[pop], nr.v_inf[pop], nr.syn_to_mem[pop, 0],
                   nr.syn_to_mem[pop, 1], nr.syn_decay[pop, 0], nr.syn_decay[pop, 1], rs)
        if n_ch > 2:
            for k in range(2, n_ch):
                d_k = nr.syn_decay[pop, k]
                sk = syn[k]
                for i in range(lo, hi):
                    sk[i] *= d_k
            for i in range(lo, hi):
                if (n - last[i]) >= rs:
                    v[i] += extra[i]
    return 0


@numba.njit(cache=True, nogil=True, parallel=True)
def _update_parallel(n, bounds, nr, v, syn, last, drive, theta, extra):
    """:func:`update_stage` of every partition, partitions spread over the threads."""
    for part in numba.prange(bounds.shape[0] - 1):
        update_stage(n, bounds[part], bounds[part + 1], nr, v, syn, last, drive, theta, extra)
    return 0


@numba.njit(cache=True, nogil=True)
def _run_steps(n0, n1, parallel, bounds, nr, rt, v, syn, last, buf, queued, q_ids, q_len,
               drive, weights, v_reset, v_th, reset_amt, kwta_k, kwta_hold, theta_plus, theta,
               pl_ints, pl_par, pl_tau, pl_decay, csc_ptr, csc_syn, csc_pre,
               pre_tr, pre_last, post_tr, post_last, elig, elig_last, lr,
               ext_ptr, ext_ids, ev_ptr, ev_ids, ev_vals, seed, drives,
               rec_ids, rec_chan, rec_every, rec_out, rec_count,
               out_step, out_id, n_out):
    """Run steps ``[n0, n1)``; stop early (returning the step reached) if the spike output
    arrays could overflow. Returns ``(next_step, n_out, rec_count)``.

    The neurons are cut into the partitions ``bounds``; stages 1 and 3 run partition by
    partition, on all threads if ``parallel``, with the same result either way."""
    n_neur = v.shape[0]
    cap = out_step.shape[0]
    extra = np.zeros(n_neur, dtype=v.dtype)  # input of channels beyond the second
    spiking = np.empty(n_neur, dtype=np.int64)
    cand = np.empty(n_neur, dtype=np.int64)
    n_pops = nr.pop_offsets.shape[0] - 1
    n_plastic = pl_ints.shape[0]
    n_parts = bounds.shape[0] - 1
    no_hits = np.zeros(0, dtype=np.int64)
    for n in range(n0, n1):
        if n_out + n_neur > cap:
            return n, n_out, rec_count
        j = n - n0
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            drive[ev_ids[e]] += ev_vals[e]
        if rec_ids.shape[0] > 0 and n % rec_every == 0:
            for c in range(rec_ids.shape[0]):
                i = rec_ids[c]
                rec_out[rec_count, c] = v[i] if rec_chan[c] < 0 else syn[rec_chan[c], i]
            rec_count += 1
        # 1. update
        if parallel:
            _update_parallel(n, bounds, nr, v, syn, last, drive, theta, extra)
        else:
            for part in range(n_parts):
                update_stage(n, bounds[part], bounds[part + 1], nr, v, syn, last, drive, theta,
                             extra)
        # 2. threshold (k-WTA), population by population, in neuron order
        n_spk = 0
        for pop in range(n_pops):
            lo = nr.pop_offsets[pop]
            hi = nr.pop_offsets[pop + 1]
            n_c = _crossings(n, v[lo:hi], last[lo:hi], theta[lo:hi], nr.adapt[pop], v_th[pop],
                             nr.ref_steps[pop], lo, cand)
            n_spk = kwta_winners(v, theta, nr.adapt[pop], cand, n_c, kwta_k[pop],
                                 kwta_hold[pop], v_reset[pop], spiking, n_spk)
        for r in range(n_spk):
            i = spiking[r]
            last[i] = n
            out_step[n_out] = n
            out_id[n_out] = i
            n_out += 1
        # 3. propagate this step's neuron and source spikes, add the drives, deliver slot n
        if parallel:
            _inputs_parallel(n, bounds, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1],
                             rt, weights, buf, queued, q_ids, q_len, v, syn, last, nr.ref_n,
                             seed, drives, no_hits)
        else:
            for part in range(n_parts):
                _inputs(n, part, bounds[part], bounds[part + 1], spiking, n_spk, ext_ids,
                        ext_ptr[j], ext_ptr[j + 1], rt, weights, buf, queued, q_ids, q_len, v,
                        syn, last, nr.ref_n, seed, drives, no_hits)
        # --- plasticity hook: STDP after propagation (spikes carry the old weights)
        if n_plastic > 0:
            plastic_events(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], pl_ints,
                           pl_par, pl_tau, pl_decay, csc_ptr, csc_syn, csc_pre, rt.p_syn0,
                           rt.p_iptr0, rt.indptr, rt.indices, weights, pre_tr, pre_last, post_tr,
                           post_last, elig, elig_last, lr)
        # 4. reset
        for r in range(n_spk):
            i = spiking[r]
            pop = _pop_of(i, nr.pop_offsets)
            if reset_amt[pop] > 0.0:
                v[i] -= reset_amt[pop]
            else:
                v[i] = v_reset[pop]
            if nr.adapt[pop]:  # --- plasticity hook: threshold adaptation
                theta[i] += theta_plus[pop]
    return n1, n_out, rec_count


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


@numba.njit(cache=True, nogil=True, inline="always")
def _accepts(n, i, last, ref_n):
    """Delta input reaches neuron ``i`` in step ``n`` unless it is refractory (a neuron that
    spiked in this step is; one with no refractory period never is)."""
    return ref_n[i] == 0 or (n - last[i]) >= ref_n[i]


@numba.njit(cache=True, nogil=True, inline="always")
def _pop_of(i, pop_offsets):
    """Population of neuron ``i`` (few populations: a linear scan is fastest)."""
    p = 0
    while i >= pop_offsets[p + 1]:
        p += 1
    return p


class ClockSimulator:
    """A network compiled for the clock engine, with its state; run it in pieces.

    Parameters
    ----------
    network : Network
    dt_s : float
        Time step in seconds.
    seed : int
        Seed of the Poisson sources and drives (the run is deterministic for a given seed).
    dtype : numpy float type
        State and weight precision (float64 default; float32 for speed/memory).
    chunk_steps : int
        Steps per block of source spikes (>= 1); spikes do not depend on it.
    threads : int, optional
        Threads to run on (>= 1; default: all cores, ``numba.config.NUMBA_NUM_THREADS``).
        Networks of :data:`neuro.engines.layout.PARALLEL_MIN_NEURONS` neurons or more
        update and sum inputs on all of them; spikes do not depend on the count.

    Examples
    --------
    >>> sim = ClockSimulator(net, dt_s=1e-4, seed=0)   # doctest: +SKIP
    >>> rec = sim.run(0.5)                              # doctest: +SKIP
    """

    def __init__(self, network: Network, dt_s: float, *, seed: int = 0, dtype: type = np.float64,
                 chunk_steps: int = 10_000, threads: int | None = None):
        check_supported(network, "clock")
        if isinstance(chunk_steps, bool) or int(chunk_steps) != chunk_steps or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be an integer >= 1, got {chunk_steps!r}")
        max_threads = numba.config.NUMBA_NUM_THREADS
        if threads is not None and not (isinstance(threads, (int, np.integer))
                                        and not isinstance(threads, bool)
                                        and 1 <= threads <= max_threads):
            raise ValueError(f"threads must be an integer in [1, {max_threads}], got {threads!r}")
        self.network = network
        self.chunk_steps = int(chunk_steps)
        self.threads = max_threads if threads is None else int(threads)
        f = self.flat = flatten(network, dt_s, dtype)
        self.drive = InputDrive(network, f.dt_s, seed)
        self.drives = drive_table(network, f.dt_s)
        self.bounds = partitions(f)
        self.state = ClockState.initial(f, self.bounds.size - 1)
        self._neurons = neurons_record(f)
        self._routing = Routing(
            f.group_of_pre, f.group_proj_ptr, f.group_proj_list, f.proj_src_offset,
            f.proj_tgt_offset, f.proj_channel, f.proj_indptr_start, f.proj_syn_start,
            f.indptr, f.indices, f.delays)

    @property
    def dt_s(self) -> float:
        """The time step."""
        return self.flat.dt_s

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self.state.step * self.flat.dt_s

    def reset(self) -> None:
        """Back to ``t = 0`` with the same seed and the initial weights."""
        self.state = ClockState.initial(self.flat, self.bounds.size - 1)
        self.drive.reset()

    def counters(self) -> None:
        """The clock engine has no hardware counters."""
        return None

    # ------------------------------------------------------------------ plasticity API
    def _plastic_index(self, projection: int | str | None) -> list[int]:
        """Plastic-projection rows selected by a projection index or name (None: all)."""
        rows = [int(p) for p in self.flat.plastic.projections]
        if projection is None:
            return list(range(len(rows)))
        names = [pr.name for pr in self.network.projections]
        p = names.index(projection) if isinstance(projection, str) and projection in names else projection
        if p not in rows:
            raise ValueError(
                f"projection must be a plastic projection (index or name), got {projection!r}; "
                f"plastic: {[names[r] for r in rows]}"
            )
        return [rows.index(p)]

    def set_learning_rate(self, value: float, projection: int | str | None = None) -> None:
        """Set the STDP learning rate ``eta`` (>= 0; 0 freezes the weights, traces still
        run) of one plastic projection (index or name) or of all."""
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"learning rate must be a finite number >= 0, got {value!r}")
        self.state.learning_rate[self._plastic_index(projection)] = value

    def set_adaptation(self, enabled: bool) -> None:
        """Switch threshold increments on (the configured ``theta_plus``) or off; ``theta``
        itself is kept (and still decays)."""
        self.state.theta_plus[:] = self.flat.theta_plus if enabled else 0.0

    def deliver_reward(self, reward: float, projection: int | str | None = None) -> None:
        """Three-factor learning: ``w += reward * e`` on the reward-modulated projections
        (eligibility ``e`` decayed to the current step), then clip to the bounds."""
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        pl, st = self.flat.plastic, self.state
        for q in self._plastic_index(projection):
            if pl.par[q, 9] > 0:
                p = int(pl.projections[q])
                _deliver_reward(st.step, q, float(reward), int(self.flat.proj_syn_start[p]),
                                int(self.flat.proj_syn_start[p + 1]), pl.par, pl.tau_steps,
                                pl.decay, st.weights, st.eligibility, st.elig_last)

    def weights_view(self, projection: int | str) -> np.ndarray:
        """Writable view of one projection's current weights (CSR order)."""
        names = [pr.name for pr in self.network.projections]
        p = names.index(projection) if isinstance(projection, str) else int(projection)
        f = self.flat
        return self.state.weights[f.proj_syn_start[p] : f.proj_syn_start[p + 1]]

    def theta(self, population: str) -> np.ndarray:
        """Writable view of a population's adaptive thresholds."""
        return self.state.theta[self.flat.population_slice(population)]

    def set_source_rates(self, source: str, rate_hz: np.ndarray | float) -> None:
        """Change the rates of a Poisson source from the next step on."""
        self.drive.set_rates(source, rate_hz)

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume: the state arrays, the step and the input drive state."""
        d: dict[str, object] = {f.name: getattr(self.state, f.name).copy()
                                if isinstance(getattr(self.state, f.name), np.ndarray)
                                else getattr(self.state, f.name) for f in fields(ClockState)}
        d["inputs"] = self.drive.state_dict()
        return d

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` (same network and dt)."""
        for f in fields(ClockState):
            cur = getattr(self.state, f.name)
            val = d[f.name]
            if isinstance(cur, np.ndarray):
                val = np.asarray(val)
                if val.shape != cur.shape:
                    raise ValueError(f"state {f.name!r}: shape {val.shape}, expected {cur.shape}")
                cur[...] = val
            else:
                setattr(self.state, f.name, int(val))
        self.drive.load_state_dict(d["inputs"])

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses with the current weights."""
        f = self.flat
        return [
            pr.synapses.with_weights(
                self.state.weights[f.proj_syn_start[p] : f.proj_syn_start[p + 1]].copy()
            )
            for p, pr in enumerate(self.network.projections)
        ]

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` and return what the monitors recorded in that interval."""
        if not (duration_s > 0):
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        check_duration(duration_s, self.flat.dt_s, self.flat.n_neurons)  # refuse out-of-reach runs
        f, st = self.flat, self.state
        pl = f.plastic
        n_steps = int(round(duration_s / f.dt_s))
        if n_steps < 1:
            raise ValueError(f"duration_s={duration_s} is shorter than one step dt={f.dt_s}")
        n_start, n_end = st.step, st.step + n_steps
        mons = self.network.monitors
        cols = state_columns(self.network, f, n_start, n_end)
        state_mons, every, rec_ids, rec_chan = cols.monitors, cols.every, cols.ids, cols.channels
        rec_out = np.zeros((cols.n_samples, rec_ids.size), dtype=f.dtype)
        rec_count = 0
        src_mon = {m.target for m in mons if isinstance(m, SpikeMonitor)} - {
            p.name for p in self.network.populations
        }
        steps_out, ids_out, src_steps, src_ids = [], [], [], []
        cap = max(4 * f.n_neurons, 1 << 16)
        out_step = np.empty(cap, np.int64)
        out_id = np.empty(cap, np.int64)
        parallel = self.threads > 1 and self.bounds.size > 2
        if parallel:
            numba.set_num_threads(self.threads)
        t0 = time.perf_counter()
        bar = tqdm(total=n_steps, desc="clock engine", unit="step", disable=not progress)
        n = n_start
        while n < n_end:
            # the drive may return fewer steps than asked (bounded memory): run those
            ext_ptr, ext_ids = self.drive.spikes(n, min(n + self.chunk_steps, n_end))
            n1 = n + ext_ptr.size - 1
            ev_ptr, ev_ids, ev_vals = self.drive.current_events(n, n1)
            if src_mon:
                src_steps.append(np.repeat(np.arange(n, n1), np.diff(ext_ptr)))
                src_ids.append(ext_ids)
            m = n
            while m < n1:
                # ext/event pointers are relative to n; pass the sub-range views
                m_next, n_out, rec_count = _run_steps(
                    m, n1, parallel, self.bounds, self._neurons, self._routing, st.v, st.syn,
                    st.last_spike, st.buffer, st.queued, st.queue_ids, st.queue_len, st.drive,
                    st.weights, f.v_reset, f.v_threshold, f.reset_amount, f.kwta_k,
                    f.kwta_hold, st.theta_plus, st.theta,
                    pl.ints, pl.par, pl.tau_steps, pl.decay, pl.csc_ptr, pl.csc_syn, pl.csc_pre,
                    st.pre_trace, st.pre_last, st.post_trace, st.post_last, st.eligibility,
                    st.elig_last, st.learning_rate,
                    ext_ptr[m - n:], ext_ids, ev_ptr[m - n:], ev_ids, ev_vals,
                    self.drive.seed, self.drives, rec_ids, rec_chan, every, rec_out, rec_count,
                    out_step, out_id, 0,
                )
                steps_out.append(out_step[:n_out].copy())
                ids_out.append(out_id[:n_out].copy())
                bar.update(m_next - m)
                m = m_next
            n = n1
        bar.close()
        st.step = n_end
        wall = time.perf_counter() - t0
        return assemble_recording(
            self.network, self.flat, n_start, n_end, steps_out, ids_out, src_steps, src_ids,
            rec_out[:rec_count], state_mons, every, wall, engine="clock",
        )
