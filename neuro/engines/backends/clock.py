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
   then the external Poisson drives of step ``n``
   (:func:`sparse_neuro.neuro.engines.primitives.apply_drives`) and slot ``n`` are delivered:
   channel 0 adds to ``v`` (delta synapses; discarded while the neuron is refractory, a neuron with
   ``t_ref = 0`` never is), channel ``1 + k`` adds to ``I_k``;
4. *reset*: spiking neurons go to ``v_reset`` (or subtract ``v_threshold - v_reset``).

State variables are recorded at the start of a step (the state at ``t = n dt``).

The step loop itself is :func:`sparse_neuro.neuro.engines.loop.run_steps` (shared with the Loihi
model); this module supplies its update and input stages (:func:`update_serial` /
:func:`update_parallel`, :func:`inputs_serial` / :func:`inputs_parallel`: the same stages
run partition by partition on one thread or on all).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numba
import numpy as np

from sparse_neuro.neuro.engines.capabilities import check_supported
from sparse_neuro.neuro.engines.coba import coba_update
from sparse_neuro.neuro.engines.drive import InputDrive
from sparse_neuro.neuro.engines.driver import n_run_steps, run_blocks
from sparse_neuro.neuro.engines.learn import P_REWARD
from sparse_neuro.neuro.engines.learn import deliver_reward as _deliver_reward
from sparse_neuro.neuro.engines.loop import register_stages
from sparse_neuro.neuro.engines.plan import build_plan
from sparse_neuro.neuro.engines.primitives import (
    accepts_delta,
    apply_drives,
    crossings,
    lif_update,
    prefetch,
    step_kernel,
)
from sparse_neuro.neuro.engines.registry import register_backend
from sparse_neuro.neuro.engines.ring import ring_deliver, ring_push, ring_slot
from sparse_neuro.neuro.engines.state import initial_state
from sparse_neuro.neuro.engines.state_check import (
    check_keys,
    check_record,
    checked_state,
    commit_state,
    state_layout,
)
from sparse_neuro.neuro.jit import njit
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import Recording
from sparse_neuro.neuro.model.synapses import SparseSynapses

__all__ = ["ClockSimulator", "update_stage", "update_serial", "update_parallel"]

log = logging.getLogger(__name__)


class ClockSerial(NamedTuple):
    """The clock engine's record for the step loop (``bk``), on one thread: nothing to
    count, so the drive stage gets an empty ``hits`` array."""

    no_hits: np.ndarray


class ClockParallel(ClockSerial):
    """The clock engine's record for the step loop, partitions spread over the threads."""

    __slots__ = ()


@step_kernel
def _propagate(n, part, t_lo, t_hi, spikes, rt, st, ref_n):
    """Scatter the synapses of the step's ``spikes`` (neurons, then source channels) onto
    the targets in ``[t_lo, t_hi)``, the targets of partition ``part``.

    Zero-delay synapses act at once on the state (as delivery of slot ``n`` would, in the
    same order); delayed ones go to the ring buffer, and each slot keeps, per partition, the
    list of targets it holds input for (from ``queue_ids[slot, t_lo]`` on), so delivery costs
    what was sent, not the network size. A partition narrower than the network finds its
    part of each row by bisection (rows are sorted when the network is partitioned). The
    arrays are taken out of the records once, not per spike.
    """
    v, syn, last, weights = st.v, st.syn, st.last_spike, st.weights
    buf, queued, q_ids, q_len = st.buffer, st.queued, st.queue_ids, st.queue_len
    group_of_pre, gp_ptr, gp_list, p_src_off = rt.group_of_pre, rt.gp_ptr, rt.gp_list, rt.p_src_off
    p_syn0, indptr, p_iptr0, p_tgt_off = rt.p_syn0, rt.indptr, rt.p_iptr0, rt.p_tgt_off
    indices, p_chan, delays = rt.indices, rt.p_chan, rt.delays
    n_slots = buf.shape[0]
    n_mod = n % n_slots  # delays are < n_slots
    whole = t_lo == 0 and t_hi == v.shape[0]
    n_spk = spikes.n_neurons
    n_pre = n_spk + spikes.s1 - spikes.s0
    # first start loading every row (see prefetch), in an unpartitioned network: a partition
    # reads only its part of each row (long rows, which the hardware prefetcher follows)
    for r in range(n_pre if whole else 0):
        g = spikes.neurons[r] if r < n_spk else spikes.sources[spikes.s0 + r - n_spk]
        grp = group_of_pre[g]
        for q in range(gp_ptr[grp], gp_ptr[grp + 1]):
            p = gp_list[q]
            lo = p_syn0[p] + indptr[p_iptr0[p] + g - p_src_off[p]]
            hi = p_syn0[p] + indptr[p_iptr0[p] + g - p_src_off[p] + 1]
            for s in range(lo, hi, 16):  # 64-byte lines: 16 int32 indices, 8 float64 weights
                prefetch(indices, s)
                prefetch(weights, s)
                prefetch(weights, min(s + 8, hi - 1))
    for r in range(n_pre):
        g = spikes.neurons[r] if r < n_spk else spikes.sources[spikes.s0 + r - n_spk]
        grp = group_of_pre[g]
        for q in range(gp_ptr[grp], gp_ptr[grp + 1]):
            p = gp_list[q]
            row = g - p_src_off[p]
            base = p_syn0[p]
            lo = base + indptr[p_iptr0[p] + row]
            hi = base + indptr[p_iptr0[p] + row + 1]
            tgt0 = p_tgt_off[p]
            if not whole:
                cols = indices[lo:hi]
                lo, hi = (
                    lo + np.searchsorted(cols, t_lo - tgt0),
                    lo + np.searchsorted(cols, t_hi - tgt0),
                )
            ch = p_chan[p]
            if n_slots == 1:  # no delays in the network: a branch-free scatter into the state
                if ch == 0:
                    for s in range(lo, hi):
                        t = tgt0 + indices[s]
                        if accepts_delta(n, t, last, ref_n):
                            v[t] += weights[s]
                else:
                    current = syn[ch - 1]
                    for s in range(lo, hi):
                        current[tgt0 + indices[s]] += weights[s]
                continue
            for s in range(lo, hi):
                t = tgt0 + indices[s]
                d = delays[s]
                if d == 0:
                    if ch == 0:
                        if accepts_delta(n, t, last, ref_n):
                            v[t] += weights[s]
                    else:
                        syn[ch - 1, t] += weights[s]
                else:
                    ring_push(
                        buf,
                        queued,
                        q_ids,
                        q_len,
                        ring_slot(n_mod, d, n_slots),
                        t,
                        ch,
                        weights[s],
                        part,
                        t_lo,
                    )
    return 0


class StepSpikes(NamedTuple):
    """The spikes of one step that stage 3 propagates: neurons ``neurons[:n_neurons]``, then
    source channels ``sources[s0:s1]`` (global ids)."""

    neurons: np.ndarray
    n_neurons: int
    sources: np.ndarray
    s0: int
    s1: int


@step_kernel
def _inputs(n, part, spikes, bounds, nr, rt, drives, seed, st, hits):
    """Stage 3 for the targets of partition ``part``: propagate the step's ``spikes``, add
    the external drives, deliver ring-buffer slot ``n`` (in this order, so each target sums
    its inputs in the same order whatever the partitioning)."""
    t_lo = bounds[part]
    t_hi = bounds[part + 1]
    ref_n = nr.ref_n
    _propagate(n, part, t_lo, t_hi, spikes, rt, st, ref_n)
    if drives.lo.shape[0] > 0:
        apply_drives(n, seed, drives, st.v, st.syn, st.last_spike, ref_n, hits, t_lo, t_hi)
    ring_deliver(n, part, t_lo, st, st.syn, ref_n, True, hits[:0])
    return 0


@njit(nogil=True, parallel=True)
def _inputs_partitions(n, spikes, bounds, nr, rt, drives, seed, st, hits):
    """:func:`_inputs` of every partition, partitions spread over the threads (records are
    passed one by one: a parallel loop cannot take a record nested in another)."""
    for part in numba.prange(bounds.shape[0] - 1):
        _inputs(n, part, spikes, bounds, nr, rt, drives, seed, st, hits)
    return 0


@step_kernel
def inputs_serial(n, j, spiking, n_spk, model, st, bk, io):
    """Stage 3 (:func:`_inputs`) of every partition, in order, on this thread."""
    spikes = StepSpikes(spiking, n_spk, io.ext_ids, io.ext_ptr[j], io.ext_ptr[j + 1])
    for part in range(model.bounds.shape[0] - 1):
        _inputs(
            n,
            part,
            spikes,
            model.bounds,
            model.neurons,
            model.routing,
            model.drives,
            io.seed,
            st,
            bk.no_hits,
        )
    return 0


@step_kernel
def inputs_parallel(n, j, spiking, n_spk, model, st, bk, io):
    """Stage 3 (:func:`_inputs`) of every partition, partitions spread over the threads."""
    spikes = StepSpikes(spiking, n_spk, io.ext_ids, io.ext_ptr[j], io.ext_ptr[j + 1])
    _inputs_partitions(
        n, spikes, model.bounds, model.neurons, model.routing, model.drives, io.seed, st, bk.no_hits
    )
    return 0


@step_kernel
def update_stage(n, part, bounds, nr, st, sc):
    """Stage 1 for the neurons of partition ``part`` (``[bounds[part], bounds[part + 1])``),
    population by population (shared constants): integrate and scan for threshold
    crossings in one pass (:func:`lif_update`; a population whose threshold or ``v``
    changes after that update is scanned after it, :func:`crossings`) (the candidates go to
    ``sc.cand`` from ``bounds[part]`` on, their count to ``sc.n_cand[part]``).
    Element-wise, so any partitioning gives the same result.

    The state always has >= 2 channel rows (padding rows have zero coupling), so one fused,
    vectorisable loop (:func:`lif_update`) serves every network. It stores nothing but the
    state: refractoriness is recomputed from ``last_spike`` where needed (cheaper than
    storing flags). Channels beyond the second are added after it (left to right). A
    conductance-based population (``Neurons.coba``) runs
    :func:`sparse_neuro.neuro.engines.coba.coba_update` instead, a branch on the population.
    """
    # record fields are taken out once (each access in a loop costs an atomic reference
    # count increment and decrement)
    v, syn, last, drive, theta = st.v, st.syn, st.last_spike, st.drive, st.theta
    extra, cand = sc.extra, sc.cand
    pop_offsets, ref_steps, syn_to_mem, syn_decay = (
        nr.pop_offsets,
        nr.ref_steps,
        nr.syn_to_mem,
        nr.syn_decay,
    )
    mem_decay, v_inf, adapt, theta_decay, v_threshold = (
        nr.mem_decay,
        nr.v_inf,
        nr.adapt,
        nr.theta_decay,
        nr.v_threshold,
    )
    coba, e_rev, g_mean, dt_over_tau = nr.coba, nr.e_rev, nr.g_mean, nr.dt_over_tau
    injected = nr.injected
    t_lo = bounds[part]
    t_hi = bounds[part + 1]
    n_ch = syn.shape[0]
    s0 = syn[0]  # rows first, then slices: C-contiguous views (syn[0, lo:hi] is 'A')
    s1 = syn[1]
    n_c = 0
    for pop in range(pop_offsets.shape[0] - 1):
        lo = max(pop_offsets[pop], t_lo)
        hi = min(pop_offsets[pop + 1], t_hi)
        if hi <= lo:
            continue
        rs = ref_steps[pop]
        if coba[pop]:  # conductance channels (at most two, padded): sparse_neuro.neuro.engines.coba
            coba_coef = (
                v_inf[pop],
                e_rev[pop, 0],
                e_rev[pop, 1],
                g_mean[pop, 0],
                g_mean[pop, 1],
                syn_decay[pop, 0],
                syn_decay[pop, 1],
                dt_over_tau[pop],
            )
            coba_update(n, v[lo:hi], s0[lo:hi], s1[lo:hi], last[lo:hi], drive[lo:hi], coba_coef, rs)
        else:
            if n_ch > 2:
                for i in range(lo, hi):
                    extra[i] = 0.0
                for k in range(2, n_ch):
                    c_k = syn_to_mem[pop, k]
                    sk = syn[k]
                    for i in range(lo, hi):
                        extra[i] += sk[i] * c_k
            # the scan is fused into the update where nothing changes v or the threshold
            # after it (two channels, fixed threshold); elsewhere crossings() runs below
            fused = n_ch == 2 and not adapt[pop]
            coef = (
                mem_decay[pop],
                v_inf[pop],
                syn_to_mem[pop, 0],
                syn_to_mem[pop, 1],
                syn_decay[pop, 0],
                syn_decay[pop, 1],
            )
            # an empty drive: nothing injected, the update does not read it
            dr = drive[lo:hi] if injected[pop] else drive[lo:lo]
            n_c += lif_update(
                n,
                v[lo:hi],
                s0[lo:hi],
                s1[lo:hi],
                last[lo:hi],
                dr,
                coef,
                rs,
                v_threshold[pop],
                fused,
                lo,
                cand[t_lo + n_c :],
            )
            if fused:
                continue
            if n_ch > 2:
                for k in range(2, n_ch):
                    d_k = syn_decay[pop, k]
                    sk = syn[k]
                    for i in range(lo, hi):
                        sk[i] *= d_k
                for i in range(lo, hi):
                    if (n - last[i]) >= rs:
                        v[i] += extra[i]
        if adapt[pop]:
            # --- plasticity hook: adaptive threshold (decays exactly every step)
            dth = theta_decay[pop]
            if dth != 1.0:
                for i in range(lo, hi):
                    theta[i] *= dth
        n_c += crossings(
            n,
            v[lo:hi],
            last[lo:hi],
            theta[lo:hi],
            adapt[pop],
            v_threshold[pop],
            rs,
            lo,
            cand[t_lo + n_c :],
        )
    sc.n_cand[part] = n_c
    return 0


@step_kernel
def update_serial(n, model, st, bk, sc):
    """Stage 1 (:func:`update_stage`) of every partition, in order, on this thread."""
    for part in range(model.bounds.shape[0] - 1):
        update_stage(n, part, model.bounds, model.neurons, st, sc)
    return 0


@njit(nogil=True, parallel=True)
def _update_partitions(n, bounds, nr, st, sc):
    """:func:`update_stage` of every partition, partitions spread over the threads."""
    for part in numba.prange(bounds.shape[0] - 1):
        update_stage(n, part, bounds, nr, st, sc)
    return 0


@step_kernel
def update_parallel(n, model, st, bk, sc):
    """Stage 1 (:func:`update_stage`) of every partition, partitions spread over the
    threads (records passed one by one: a parallel loop cannot take a record nested in
    another)."""
    _update_partitions(n, model.bounds, model.neurons, st, sc)
    return 0


register_stages(ClockSerial, update_serial, inputs_serial)
register_stages(ClockParallel, update_parallel, inputs_parallel)


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
        Networks of :data:`sparse_neuro.neuro.engines.layout.PARALLEL_MIN_NEURONS` neurons or more
        update and sum inputs on all of them; spikes do not depend on the count.

    Examples
    --------
    >>> sim = ClockSimulator(net, dt_s=1e-4, seed=0)   # doctest: +SKIP
    >>> rec = sim.run(0.5)                              # doctest: +SKIP
    """

    def __init__(
        self,
        network: Network,
        dt_s: float,
        *,
        seed: int = 0,
        dtype: type = np.float64,
        chunk_steps: int = 10_000,
        threads: int | None = None,
    ):
        check_supported(network, "clock")
        if isinstance(chunk_steps, bool) or int(chunk_steps) != chunk_steps or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be an integer >= 1, got {chunk_steps!r}")
        max_threads = numba.config.NUMBA_NUM_THREADS
        if threads is not None and not (
            isinstance(threads, (int, np.integer))
            and not isinstance(threads, bool)
            and 1 <= threads <= max_threads
        ):
            raise ValueError(f"threads must be an integer in [1, {max_threads}], got {threads!r}")
        self.network = network
        self.chunk_steps = int(chunk_steps)
        self.threads = max_threads if threads is None else int(threads)
        self.plan = build_plan(network, dt_s, dtype)
        self.drive = InputDrive(network, self.plan.dt_s, seed)
        self.state = initial_state(self.plan)
        self._layout = state_layout(self.state)  # what run() requires of a replaced state
        log.debug(
            "clock: %d neurons, %d synapses, %d partitions, %d threads",
            self.plan.n_neurons,
            self.plan.weights.size,
            self.plan.model.bounds.size - 1,
            self.threads,
        )

    @property
    def dt_s(self) -> float:
        """The time step."""
        return self.plan.dt_s

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self.state.step * self.plan.dt_s

    def reset(self, *, keep_weights: bool = False) -> None:
        """Back to the network's initial state at ``t = 0`` with the same seed; learned
        weights are kept only if ``keep_weights``."""
        self.state = initial_state(self.plan, weights=self.state.weights if keep_weights else None)
        self.drive.reset()

    def counters(self) -> None:
        """The clock engine has no hardware counters."""
        return None

    # ------------------------------------------------------------------ plasticity API
    def _plastic_index(self, projection: int | str | None) -> list[int]:
        """Plastic-projection rows selected by a projection index or name (None: all)."""
        rows = [int(p) for p in self.plan.plastic.projections]
        if projection is None:
            return list(range(len(rows)))
        names = [pr.name for pr in self.network.projections]
        p = (
            names.index(projection)
            if isinstance(projection, str) and projection in names
            else projection
        )
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
        self.state.theta_plus[:] = self.plan.neurons.theta_plus if enabled else 0.0

    def deliver_reward(self, reward: float, projection: int | str | None = None) -> None:
        """Three-factor learning: ``w += reward * e`` on the reward-modulated projections
        (eligibility ``e`` decayed to the current step), then clip to the bounds."""
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        check_record(self.state, self._layout, self.plan.model.bounds)  # the kernel indexes it
        pl, st = self.plan.plastic, self.state
        for q in self._plastic_index(projection):
            if pl.par[q, P_REWARD] > 0:
                sl = self.plan.projection_slice(int(pl.projections[q]))
                _deliver_reward(st.step, q, float(reward), sl.start, sl.stop, pl, st)

    def weights_view(self, projection: int | str) -> np.ndarray:
        """Writable view of one projection's current weights (CSR order)."""
        names = [pr.name for pr in self.network.projections]
        p = names.index(projection) if isinstance(projection, str) else int(projection)
        return self.state.weights[self.plan.projection_slice(p)]

    def theta(self, population: str) -> np.ndarray:
        """Writable view of a population's adaptive thresholds."""
        return self.state.theta[self.plan.population_slice(population)]

    def set_source_rates(self, source: str, rate_hz: np.ndarray | float) -> None:
        """Change the rates of a Poisson source from the next step on."""
        self.drive.set_rates(source, rate_hz)

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume: the state record's fields and the input drive state."""
        d: dict[str, object] = {
            k: (x.copy() if isinstance(x, np.ndarray) else x)
            for k, x in self.state._asdict().items()
        }
        d["inputs"] = self.drive.state_dict()
        return d

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` (same network and dt).

        Every value is checked before any is used (:mod:`sparse_neuro.neuro.engines.state_check`:
        the compiled stages have no bounds checks); a ValueError names the key, the value and
        the valid range, and the simulator keeps its state.
        """
        d = check_keys(d, {*self.state._fields, "inputs"}, "state dict")
        step, arrays = checked_state(d, self.state, self.plan.model.bounds)
        self.drive.load_state_dict(d["inputs"], step=step)  # checked before it changes
        self.state = commit_state(self.state, step, arrays)

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses with the current weights."""
        return [
            pr.synapses.with_weights(self.state.weights[self.plan.projection_slice(p)].copy())
            for p, pr in enumerate(self.network.projections)
        ]

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` and return what the monitors recorded in that interval."""
        plan = self.plan
        check_record(self.state, self._layout, plan.model.bounds)  # public: recheck
        n_steps = n_run_steps(duration_s, plan)
        parallel = self.threads > 1 and plan.model.bounds.size > 2
        if parallel:
            numba.set_num_threads(self.threads)
        bk = (ClockParallel if parallel else ClockSerial)(np.zeros(0, np.int64))
        rec, self.state = run_blocks(
            self.network,
            plan,
            self.state,
            self.drive,
            n_steps,
            chunk_steps=self.chunk_steps,
            records=lambda n0, n1: lambda k: bk,  # one record
            engine="clock",
            progress=progress,
        )
        return rec


#: Everything but plastic synapses with delays, which no backend runs (the STDP kernel pairs
#: a presynaptic spike with the postsynaptic state of the same step).
CLOCK_FEATURES: frozenset[Feature] = frozenset(Feature) - {Feature.PLASTIC_DELAYS}

register_backend(
    "clock", ClockSimulator, CLOCK_FEATURES, "the clock engine runs every supported feature"
)
