"""Time-stepped event-queue backend in the Loihi manner, with per-step, per-core counters.

Each step ``n``:

1. every core updates its neurons (float: the clock engine's exact LIF update; fixed:
   Loihi's integer CUBA update of :mod:`hardware_models.fixed_point`) and thresholds them
   (k-WTA as the clock engine);
2. every spike becomes one *message* per destination core (an output axon): within the
   sender's tile, or over the mesh with Manhattan-distance hops, east-west and north-south
   counted separately; spikes of sources (off-chip input) are counted as input spikes;
3. the messages are queued per destination core (a stable counting sort, so each core sees
   them in global spike order) and each core processes its queue: one *synaptic op* per
   synapse of the message, accumulated into the delay ring buffer of its target;
4. pairwise-STDP *synaptic updates* are counted for projections with plasticity (every
   synapse of a spiking presynaptic row and every synapse into a spiking postsynaptic
   neuron; see :class:`EventQueueSimulator` for the weight rule);
5. delivery of the step's ring-buffer slot, reset, then the barrier.

A neuron's update in step ``n`` is *active* if the neuron spiked or received at least one
synaptic event delivered in step ``n``, otherwise *inactive*; counts are in compartments
(a neuron with ``K > 1`` current channels is ``K`` compartments, see :mod:`.mapping`).

In ``mode="float"`` the arithmetic, step order, refractoriness, k-WTA and input spikes are
those of :func:`neuro.engines.simulate` (same :func:`neuro.engines.flatten` plan and
:class:`neuro.engines.InputDrive`), so spikes are identical. The cost is proportional to
events plus one pass over the neurons per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numba
import numpy as np

from hardware_models._plan import per_neuron_constants
from hardware_models.fixed_point import QuantizedNetwork, quantize
from hardware_models.loihi import LoihiSpec
from hardware_models.mapping import Mapping, place
from hardware_models.plasticity import build_tables, stdp_step
from neuro.engines import ClockSimulator, InputDrive, flatten
from neuro.network import Network
from neuro.record import Recording, StateMonitor

__all__ = ["COUNTERS", "LoihiCounters", "EventQueueSimulator", "run_event_queue"]

#: Per-core, per-step counters (columns of the kernel's counter array).
COUNTERS = (
    "syn_ops", "neuron_active", "neuron_inactive", "spikes_out", "msgs_tile", "msgs_mesh",
    "hops_ew", "hops_ns", "input_spikes", "syn_updates",
)
_SYN, _ACT, _INACT, _SPK, _TILE, _MESH, _EW, _NS, _INP, _UPD = range(len(COUNTERS))


@dataclass(frozen=True, eq=False)
class LoihiCounters:
    """Operation counts of a run.

    Attributes
    ----------
    per_step : ndarray of int64, shape (n_steps, n_cores, len(COUNTERS))
        Counter ``COUNTERS[j]`` of core ``c`` in step ``n`` is ``per_step[n, c, j]``.
        Routing counters (messages, hops) belong to the sending core; synaptic ops and
        input spikes to the receiving core.
    per_population : dict of str to ndarray of int64, shape (len(COUNTERS),)
        Totals attributed to each population: synaptic ops and updates by target,
        neuron updates and spikes by the neuron, routing by the sender; input spikes by
        the receiving population.
    dt_s : float
    population_names : tuple of str
    """

    per_step: np.ndarray
    per_population: dict
    dt_s: float
    population_names: tuple[str, ...]

    @property
    def n_steps(self) -> int:
        """Number of steps counted."""
        return int(self.per_step.shape[0])

    def total(self, name: str) -> int:
        """Total of one counter over steps and cores."""
        return int(self.per_step[:, :, COUNTERS.index(name)].sum())

    def per_core(self, name: str) -> np.ndarray:
        """Totals of one counter per core."""
        return self.per_step[:, :, COUNTERS.index(name)].sum(axis=0)

    def totals(self) -> dict[str, int]:
        """All counters summed over steps and cores."""
        t = self.per_step.sum(axis=(0, 1))
        return {k: int(t[j]) for j, k in enumerate(COUNTERS)}

    def merged(self, other: LoihiCounters) -> LoihiCounters:
        """Counters of this run followed by ``other`` (steps concatenated)."""
        return LoihiCounters(
            np.concatenate([self.per_step, other.per_step]),
            {k: self.per_population[k] + other.per_population[k] for k in self.per_population},
            self.dt_s, self.population_names,
        )


# ---------------------------------------------------------------------- routing table
@dataclass(frozen=True, eq=False)
class _Routes:
    """Synapses regrouped by (presynaptic id, destination core): one segment = one message."""

    pre_seg_ptr: np.ndarray  # (n_pre_total + 1,)
    seg_core: np.ndarray  # (n_seg,)
    seg_syn_ptr: np.ndarray  # (n_seg + 1,)
    syn_tgt: np.ndarray  # global neuron id
    syn_ch: np.ndarray  # buffer channel
    syn_d: np.ndarray  # delay steps
    syn_orig: np.ndarray  # index in the flat synapse arrays


def _routes(flat, core_of: np.ndarray, n_cores: int, channel_of_proj: np.ndarray) -> _Routes:
    n_syn = flat.weights.size
    proj = np.repeat(np.arange(flat.n_projections), np.diff(flat.proj_syn_start))
    rows = np.empty(n_syn, dtype=np.int64)
    for p in range(flat.n_projections):
        lo = flat.proj_indptr_start[p]
        n_pre = int(np.searchsorted(flat.group_offsets, flat.proj_src_offset[p], side="right"))
        ip = flat.indptr[lo: lo + (flat.group_offsets[n_pre] - flat.proj_src_offset[p]) + 1]
        rows[flat.proj_syn_start[p]: flat.proj_syn_start[p + 1]] = np.repeat(
            np.arange(ip.size - 1), np.diff(ip))
    pre = flat.proj_src_offset[proj] + rows
    tgt = flat.proj_tgt_offset[proj] + flat.indices.astype(np.int64)
    core = core_of[tgt].astype(np.int64)
    order = np.lexsort((np.arange(n_syn), core, pre))  # clock order within (pre, core)
    key = pre[order] * n_cores + core[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if n_syn else np.zeros(0, np.int64)
    seg_pre = pre[order][starts]
    n_total = flat.n_neurons + flat.n_sources
    pre_seg_ptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(np.bincount(seg_pre, minlength=n_total), out=pre_seg_ptr[1:])
    return _Routes(
        pre_seg_ptr,
        core[order][starts].astype(np.int64),
        np.r_[starts, n_syn].astype(np.int64),
        tgt[order].astype(np.int64),
        channel_of_proj[proj][order].astype(np.int64),
        flat.delays[order].astype(np.int64),
        order.astype(np.int64),
    )


# ---------------------------------------------------------------------- kernels
@numba.njit(cache=True, nogil=True)
def _threshold(v, vth, v_reset, notref, pop_offsets, kwta_k, kwta_hold, spiking, cand):
    """The clock engine's threshold with k-WTA; returns the number of spikes."""
    n_spk = 0
    for pop in range(pop_offsets.shape[0] - 1):
        n_c = 0
        for i in range(pop_offsets[pop], pop_offsets[pop + 1]):
            if notref[i] and v[i] > vth[i]:
                cand[n_c] = i
                n_c += 1
        k = kwta_k[pop]
        if k >= 0 and n_c > k:
            order = np.argsort(-v[cand[:n_c]], kind="mergesort")
            for r in range(n_c):
                i = cand[order[r]]
                if r < k:
                    spiking[n_spk] = i
                    n_spk += 1
                elif not kwta_hold[pop]:
                    v[i] = v_reset[i]
        else:
            for r in range(n_c):
                spiking[n_spk] = cand[r]
                n_spk += 1
    return n_spk


@numba.njit(cache=True, nogil=True)
def _route(n, spiking, n_spk, ext_ids, e0, e1, core_of, core_x, core_y, core_tile,
           pre_seg_ptr, seg_core, seg_syn_ptr, syn_tgt, syn_ch, syn_d, syn_w, buf, cnt,
           msg_seg, msg_sorted, q_ptr, ctr, fixed, v, syn, inreg, accept, received, rlist,
           rcount):
    """Send this step's spikes as messages, queue them per core, process the queues.

    Zero-delay events act at once (float: on ``v`` / ``I`` exactly as the clock engine,
    in the same order per target; fixed: into the input registers), delayed ones go to
    the ring buffer."""
    n_slots = buf.shape[0]
    n_cores = ctr.shape[0]
    n_msg = 0
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        src = core_of[g] if r < n_spk else -1
        if src >= 0:
            ctr[src, 3] += 1
        for sg in range(pre_seg_ptr[g], pre_seg_ptr[g + 1]):
            msg_seg[n_msg] = sg
            n_msg += 1
            dst = seg_core[sg]
            if src < 0:
                ctr[dst, 8] += 1
            elif core_tile[src] == core_tile[dst]:
                ctr[src, 4] += 1
            else:
                ctr[src, 5] += 1
                ctr[src, 6] += abs(core_x[src] - core_x[dst])
                ctr[src, 7] += abs(core_y[src] - core_y[dst])
    # per-core queues: stable counting sort by destination core
    for c in range(n_cores + 1):
        q_ptr[c] = 0
    for m in range(n_msg):
        q_ptr[seg_core[msg_seg[m]] + 1] += 1
    for c in range(n_cores):
        q_ptr[c + 1] += q_ptr[c]
    for m in range(n_msg):
        c = seg_core[msg_seg[m]]
        msg_sorted[q_ptr[c]] = msg_seg[m]
        q_ptr[c] += 1
    start = 0
    for c in range(n_cores):
        stop = q_ptr[c]
        for m in range(start, stop):
            sg = msg_sorted[m]
            lo, hi = seg_syn_ptr[sg], seg_syn_ptr[sg + 1]
            ctr[c, 0] += hi - lo
            for s in range(lo, hi):
                t = syn_tgt[s]
                d = syn_d[s]
                if d == 0:
                    if received[t] == 0:
                        received[t] = 1
                        rlist[rcount[0]] = t
                        rcount[0] += 1
                    ch = syn_ch[s]
                    if fixed:
                        inreg[t, ch] += syn_w[s]
                    elif ch == 0:
                        if accept[t]:
                            v[t] += syn_w[s]
                    else:
                        syn[t, ch - 1] += syn_w[s]
                else:
                    slot = (n + d) % n_slots
                    buf[slot, t, syn_ch[s]] += syn_w[s]
                    cnt[slot, t] += 1
        start = stop
    return 0


@numba.njit(cache=True, nogil=True)
def _plastic_counts(spiking, n_spk, ext_ids, e0, e1, pre_plastic_fanout, post_plastic_fanin,
                    core_of_tgt_pre, core_of, ctr):
    """Count STDP synaptic updates: plastic fan-out of spiking rows (at the cores holding
    those synapses) and plastic fan-in of spiking neurons (at their core)."""
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        for c in range(pre_plastic_fanout.shape[1]):
            ctr[c, 9] += pre_plastic_fanout[g, c]
        if r < n_spk:
            ctr[core_of[g], 9] += post_plastic_fanin[g]
    return 0


@numba.njit(cache=True, nogil=True)
def _deliver_and_count(n, v, syn_or_in, accept, buf, cnt, spiking, n_spk,
                       core_of, n_comp, comp_per_core, received, rlist, rcount, ctr, fixed):
    """Deliver slot ``n`` (float: into v / I; fixed: into the input registers), count
    active/inactive compartment updates (cost: the neurons marked, plus one pass over the
    neurons only when delayed synapses exist)."""
    n_slots = buf.shape[0]
    slot = n % n_slots
    n_ch = syn_or_in.shape[1]
    for r in range(n_spk):
        i = spiking[r]
        if received[i] == 0:
            received[i] = 1
            rlist[rcount[0]] = i
            rcount[0] += 1
    deliver = n_slots > 1
    for i in range(v.shape[0] if deliver else 0):
        if cnt[slot, i] > 0:
            if received[i] == 0:
                received[i] = 1
                rlist[rcount[0]] = i
                rcount[0] += 1
            cnt[slot, i] = 0
        if fixed:
            for k in range(n_ch):
                y = buf[slot, i, k]
                if y != 0:
                    syn_or_in[i, k] += y
                    buf[slot, i, k] = 0
        else:
            x = buf[slot, i, 0]
            if x != 0:
                if accept[i]:
                    v[i] += x
                buf[slot, i, 0] = 0
            for k in range(n_ch):
                y = buf[slot, i, 1 + k]
                if y != 0:
                    syn_or_in[i, k] += y
                    buf[slot, i, 1 + k] = 0
    for c in range(comp_per_core.shape[0]):
        ctr[c, 2] += comp_per_core[c]
    for r in range(rcount[0]):
        i = rlist[r]
        ctr[core_of[i], 1] += n_comp[i]
        ctr[core_of[i], 2] -= n_comp[i]
        received[i] = 0
    rcount[0] = 0
    return 0


@numba.njit(cache=True, nogil=True)
def _update_float(n, v, syn, inreg, last, drive, notref, accept, mem_decay, v_inf, syn_decay,
                  syn_to_mem, du, dv, bias, ref_steps, u_wrap, v_lim):
    """The clock engine's exact LIF update (same expression order, hence same rounding)."""
    n_ch = syn.shape[1]
    for i in range(v.shape[0]):
        nr = (n - last[i]) >= ref_steps[i]
        notref[i] = nr
        accept[i] = nr or ref_steps[i] == 0
        if nr:
            target = v_inf[i] + drive[i]
            x = target + (v[i] - target) * mem_decay[i]
            for k in range(n_ch):
                x += syn[i, k] * syn_to_mem[i, k]
            v[i] = x
        for k in range(n_ch):
            syn[i, k] *= syn_decay[i, k]
    return 0


@numba.njit(cache=True, nogil=True)
def _update_fixed(n, v, u, inreg, last, drive, notref, accept, mem_decay, v_inf, syn_decay,
                  syn_to_mem, du, dv, bias, ref_steps, u_wrap, v_lim):
    """Loihi CUBA integer update (see :mod:`hardware_models.fixed_point`)."""
    n_u = u.shape[1]
    for i in range(v.shape[0]):
        tot = 0
        for k in range(n_u):
            x = np.int64(u[i, k]) * (4096 - du[i, k])
            x = (x >> 12) if x >= 0 else -((-x) >> 12)
            x += inreg[i, k]
            inreg[i, k] = 0
            if x >= u_wrap:
                x -= 2 * u_wrap
            elif x < -u_wrap:
                x += 2 * u_wrap
            u[i, k] = x
            tot += x
        nr = (n - last[i]) >= ref_steps[i]
        notref[i] = nr
        accept[i] = nr or ref_steps[i] == 0
        if nr:
            y = np.int64(v[i]) * (4096 - dv[i])
            y = (y >> 12) if y >= 0 else -((-y) >> 12)
            y += tot + bias[i]
            if y > v_lim:
                y = v_lim
            elif y < -v_lim:
                y = -v_lim
            v[i] = y
    return 0


@numba.njit(cache=True, nogil=True)
def _run(n0, n1, fixed, v, syn, inreg, last, buf, cnt, drive, w,
         mem_decay, v_inf, syn_decay, syn_to_mem, du, dv, bias, u_wrap, v_lim,
         v_reset, vth, reset_amt, ref_steps, pop_offsets, kwta_k, kwta_hold,
         core_of, core_x, core_y, core_tile, n_comp, comp_per_core,
         pre_seg_ptr, seg_core, seg_syn_ptr, syn_tgt, syn_ch, syn_d,
         pre_plastic_fanout, post_plastic_fanin,
         stdp_on, w_learn, syn_rule, syn_x, syn_y, post_ptr, post_syn, prm, tx, tx_last, ty,
         ty_last,
         ext_ptr, ext_ids, ev_ptr, ev_ids, ev_vals,
         rec_ids, rec_chan, rec_every, rec_out, rec_count,
         out_step, out_id, ctr_all):
    n_neur = v.shape[0]
    n_cores = ctr_all.shape[1]
    notref = np.empty(n_neur, dtype=np.bool_)
    accept = np.empty(n_neur, dtype=np.bool_)
    spiking = np.empty(n_neur, dtype=np.int64)
    cand = np.empty(n_neur, dtype=np.int64)
    received = np.zeros(n_neur, dtype=np.uint8)
    rlist = np.empty(n_neur, dtype=np.int64)
    rcount = np.zeros(1, dtype=np.int64)
    n_seg = seg_core.shape[0]
    msg_seg = np.empty(n_seg, dtype=np.int64)
    msg_sorted = np.empty(n_seg, dtype=np.int64)
    q_ptr = np.empty(n_cores + 1, dtype=np.int64)
    n_out = 0
    for n in range(n0, n1):
        j = n - n0
        ctr = ctr_all[j]
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            drive[ev_ids[e]] += ev_vals[e]
        if rec_ids.shape[0] > 0 and n % rec_every == 0:
            for c in range(rec_ids.shape[0]):
                i = rec_ids[c]
                rec_out[rec_count, c] = v[i] if rec_chan[c] < 0 else syn[i, rec_chan[c]]
            rec_count += 1
        if fixed:
            _update_fixed(n, v, syn, inreg, last, drive, notref, accept, mem_decay, v_inf,
                          syn_decay, syn_to_mem, du, dv, bias, ref_steps, u_wrap, v_lim)
        else:
            _update_float(n, v, syn, inreg, last, drive, notref, accept, mem_decay, v_inf,
                          syn_decay, syn_to_mem, du, dv, bias, ref_steps, u_wrap, v_lim)
        n_spk = _threshold(v, vth, v_reset, notref, pop_offsets, kwta_k, kwta_hold, spiking, cand)
        for r in range(n_spk):
            i = spiking[r]
            last[i] = n
            notref[i] = False
            if ref_steps[i] > 0:
                accept[i] = False
            out_step[n_out] = n
            out_id[n_out] = i
            n_out += 1
        _route(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], core_of, core_x, core_y,
               core_tile, pre_seg_ptr, seg_core, seg_syn_ptr, syn_tgt, syn_ch, syn_d, w, buf,
               cnt, msg_seg, msg_sorted, q_ptr, ctr, fixed, v, syn, inreg, accept, received, rlist,
               rcount)
        if pre_plastic_fanout.shape[0] > 0:
            _plastic_counts(spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1],
                            pre_plastic_fanout, post_plastic_fanin, core_of, core_of, ctr)
        if stdp_on:
            stdp_step(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], pre_seg_ptr,
                      seg_syn_ptr, w_learn, syn_rule, syn_x, syn_y, post_ptr, post_syn, prm,
                      tx, tx_last, ty, ty_last)
        if fixed:
            _deliver_and_count(n, v, inreg, accept, buf, cnt, spiking, n_spk, core_of,
                               n_comp, comp_per_core, received, rlist, rcount, ctr, True)
        else:
            _deliver_and_count(n, v, syn, accept, buf, cnt, spiking, n_spk, core_of,
                               n_comp, comp_per_core, received, rlist, rcount, ctr, False)
        for r in range(n_spk):
            i = spiking[r]
            if reset_amt[i] > 0:
                v[i] -= reset_amt[i]
            else:
                v[i] = v_reset[i]
    return n_out, rec_count


# ---------------------------------------------------------------------- simulator
@dataclass(eq=False)
class _State:
    step: int
    v: np.ndarray
    syn: np.ndarray
    inreg: np.ndarray
    last: np.ndarray
    buf: np.ndarray
    cnt: np.ndarray
    drive: np.ndarray
    counters: list = field(default_factory=list)


class EventQueueSimulator:
    """A network placed on Loihi-style cores and compiled for the event-queue backend.

    Parameters
    ----------
    network : Network
    dt_s : float
        Time step in seconds.
    mapping : Mapping, optional
        Placement; default :func:`hardware_models.mapping.place` with ``spec``.
    spec : LoihiSpec, optional
    mode : str
        ``"float"`` (the clock engine's arithmetic, float64) or ``"fixed"`` (Loihi's integer
        CUBA model, weights and constants from :func:`hardware_models.fixed_point.quantize`).
    quantized : QuantizedNetwork, optional
        Use these integer constants in fixed mode instead of quantising ``network``.
    seed : int
        Seed of the Poisson sources (drawn exactly as the clock engine draws them).

    Notes
    -----
    Plasticity: projections with ``plasticity`` set are counted (pairwise STDP synaptic
    updates: every synapse of a spiking presynaptic row and every synapse into a spiking
    neuron). Weights change only for :class:`hardware_models.plasticity.PairSTDP` rules,
    in float mode (see that module); :meth:`synapses` returns the learned weights.

    Examples
    --------
    >>> sim = EventQueueSimulator(net, dt_s=1e-3)   # doctest: +SKIP
    >>> rec = sim.run(0.1); sim.counters().totals()["syn_ops"]   # doctest: +SKIP
    """

    def __init__(self, network: Network, dt_s: float, mapping: Mapping | None = None,
                 spec: LoihiSpec | None = None, mode: str = "float",
                 quantized: QuantizedNetwork | None = None, seed: int = 0):
        if mode not in ("float", "fixed"):
            raise ValueError(f"mode must be 'float' or 'fixed', got {mode!r}")
        self.network, self.mode = network, mode
        self.spec = spec or (mapping.spec if mapping is not None else LoihiSpec())
        self.mapping = mapping if mapping is not None else place(network, self.spec)
        if self.mapping.core_of.size != network.n_neurons:
            raise ValueError("mapping does not belong to this network (neuron counts differ)")
        self.flat = flatten(network, dt_s, np.float64)
        f = self.flat
        self._pn = per_neuron_constants(f)
        if mode == "fixed":
            self.q = quantized if quantized is not None else quantize(network, dt_s, self.spec)
            chan = self.q.u_channel
            w = self.q.weights
        else:
            self.q = None
            chan = f.proj_channel
            w = f.weights
        self.routes = _routes(f, self.mapping.core_of, self.mapping.n_cores, chan)
        self._w = np.ascontiguousarray(w[self.routes.syn_orig])
        self._plastic = self._plastic_tables()
        self._stdp = build_tables(network, f, self.routes, dt_s)
        self._w0 = self._w.copy()
        self._n_comp = np.concatenate(
            [np.full(p.size, max(1, p.params.n_channels), np.int64) for p in network.populations])
        self.seed = seed
        self.drive = InputDrive(network, f, seed)
        self.reset()

    # -------------------------------------------------------------- setup helpers
    def _plastic_tables(self) -> tuple[np.ndarray, np.ndarray]:
        f, m = self.flat, self.mapping
        plastic = [p for p, pr in enumerate(self.network.projections) if pr.plasticity is not None]
        if not plastic:
            return np.zeros((0, 1), np.int64), np.zeros(0, np.int64)
        n_total = f.n_neurons + f.n_sources
        fan = np.zeros((n_total, m.n_cores), np.int64)
        fanin = np.zeros(f.n_neurons, np.int64)
        r = self.routes
        is_pl = np.zeros(f.weights.size, bool)
        for p in plastic:
            is_pl[f.proj_syn_start[p]: f.proj_syn_start[p + 1]] = True
        sel = is_pl[r.syn_orig]
        seg_of_syn = np.repeat(np.arange(r.seg_core.size), np.diff(r.seg_syn_ptr))
        pre_of_seg = np.repeat(np.arange(n_total), np.diff(r.pre_seg_ptr))
        np.add.at(fan, (pre_of_seg[seg_of_syn[sel]], r.seg_core[seg_of_syn[sel]]), 1)
        np.add.at(fanin, r.syn_tgt[sel], 1)
        return fan, fanin

    def reset(self, sources: list | None = None, seed: int | None = None,
              keep_weights: bool = True) -> None:
        """Back to the initial state; optionally drive by other sources (same names/sizes).

        Learned weights (PairSTDP) are kept unless ``keep_weights`` is False.
        """
        f = self.flat
        if hasattr(self, "_stdp"):
            self._stdp.reset()
            if not keep_weights:
                self._w[:] = self._w0
        if sources is not None:
            self.network = self.network.with_sources(sources)
        self.drive = InputDrive(self.network, f, self.seed if seed is None else seed)
        n = f.n_neurons
        if self.mode == "fixed":
            n_u = self.q.du.shape[1]
            self._st = _State(0, self.q.v_init.copy(), np.zeros((n, n_u), np.int64),
                              np.zeros((n, n_u), np.int64), np.full(n, -(2**40), np.int64),
                              np.zeros((f.max_delay + 1, n, n_u), np.int64),
                              np.zeros((f.max_delay + 1, n), np.int32), np.zeros(n))
        else:
            self._st = _State(0, f.v_init.copy(), np.zeros((n, f.n_channels)),
                              np.zeros((n, 1)), np.full(n, -(2**40), np.int64),
                              np.zeros((f.max_delay + 1, n, 1 + f.n_channels)),
                              np.zeros((f.max_delay + 1, n), np.int32), np.zeros(n))

    @property
    def dt_s(self) -> float:
        """The time step."""
        return self.flat.dt_s

    # -------------------------------------------------------------- running
    def run(self, duration_s: float, *, chunk_steps: int = 2000) -> Recording:
        """Advance by ``duration_s``; returns the monitors' recording of that interval.

        Counters of every step run so far are available from :meth:`counters`.
        """
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        f, st, m = self.flat, self._st, self.mapping
        n_steps = int(round(duration_s / f.dt_s))
        if n_steps < 1:
            raise ValueError(f"duration_s={duration_s} is shorter than one step dt={f.dt_s}")
        n_start, n_end = st.step, st.step + n_steps
        state_mons = [mo for mo in self.network.monitors if isinstance(mo, StateMonitor)]
        every = state_mons[0].every_steps if state_mons else 1
        rec_ids = (np.concatenate([mo.indices + f.population_slice(mo.target).start
                                   for mo in state_mons]).astype(np.int64)
                   if state_mons else np.zeros(0, np.int64))
        rec_chan = (np.concatenate([np.full(mo.indices.size, mo.channel()) for mo in state_mons])
                    .astype(np.int64) if state_mons else np.zeros(0, np.int64))
        n_samples = len(range(-(-n_start // every) * every, n_end, every))
        rec_out = np.zeros((n_samples, rec_ids.size),
                           dtype=np.int64 if self.mode == "fixed" else np.float64)
        rec_count = 0
        fixed = self.mode == "fixed"
        q, pn = self.q, self._pn
        zi = np.zeros((1, 1), np.int64)
        z1 = np.zeros(1, np.int64)
        consts = dict(
            du=q.du if fixed else zi, dv=q.dv if fixed else z1, bias=q.bias if fixed else z1,
            v_reset=np.zeros(f.n_neurons, np.int64) if fixed else self._pn["v_reset"],
            vth=q.vth if fixed else self._pn["v_threshold"],
            reset_amt=q.reset_amount if fixed else self._pn["reset_amount"],
        )
        u_wrap = 2 ** (self.spec.membrane_bits - 1)
        steps_out, ids_out, src_steps, src_ids = [], [], [], []
        src_mon = set(self.network.spike_monitored()) - {p.name for p in self.network.populations}
        r, (fan, fanin) = self.routes, self._plastic
        sd = self._stdp
        stdp_on = sd.active and not fixed
        w_learn = self._w if stdp_on else np.zeros(0)
        out_step = np.empty(f.n_neurons * chunk_steps + 1, np.int64)
        out_id = np.empty_like(out_step)
        t0 = time.perf_counter()
        n = n_start
        while n < n_end:
            n1 = min(n + chunk_steps, n_end)
            ext_ptr, ext_ids = self.drive.spikes(n, n1)
            ev_ptr, ev_ids, ev_vals = self.drive.current_events(n, n1)
            if src_mon:
                src_steps.append(np.repeat(np.arange(n, n1), np.diff(ext_ptr)))
                src_ids.append(ext_ids)
            ctr = np.zeros((n1 - n, m.n_cores, len(COUNTERS)), np.int64)
            n_out, rec_count = _run(
                n, n1, fixed, st.v, st.syn, st.inreg, st.last, st.buf, st.cnt, st.drive,
                self._w, pn["mem_decay"], pn["v_inf"], pn["syn_decay"], pn["syn_to_mem"],
                consts["du"], consts["dv"], consts["bias"], u_wrap, u_wrap - 1,
                consts["v_reset"], consts["vth"], consts["reset_amt"], pn["ref_steps"],
                f.group_offsets[: f.n_populations + 1], f.kwta_k, f.kwta_hold,
                m.core_of.astype(np.int64), m.core_xy[:, 0].copy(), m.core_xy[:, 1].copy(),
                m.tile_of_core, self._n_comp,
                np.bincount(m.core_of, weights=self._n_comp, minlength=m.n_cores).astype(np.int64),
                r.pre_seg_ptr, r.seg_core, r.seg_syn_ptr, r.syn_tgt, r.syn_ch, r.syn_d,
                fan, fanin, stdp_on, w_learn, sd.syn_rule, sd.syn_x, sd.syn_y, sd.post_ptr,
                sd.post_syn, sd.params, sd.x, sd.x_last, sd.y, sd.y_last, ext_ptr, ext_ids, ev_ptr, ev_ids, ev_vals,
                rec_ids, rec_chan, every, rec_out, rec_count, out_step, out_id, ctr)
            steps_out.append(out_step[:n_out].copy())
            ids_out.append(out_id[:n_out].copy())
            st.counters.append(ctr)
            n = n1
        st.step = n_end
        wall = time.perf_counter() - t0
        rec = ClockSimulator._recording(  # shared recording assembly (same monitors semantics)
            self, n_start, n_end, steps_out, ids_out, src_steps, src_ids, rec_out[:rec_count],
            state_mons, every, wall)
        rec.meta.update(engine=f"loihi_event_queue[{self.mode}]")
        return rec

    def synapses(self) -> list:
        """Each projection's synapses with the current (possibly learned) weights.

        In fixed mode the weights are the effective integers ``mantissa << (6 + exp)``.
        """
        f, r = self.flat, self.routes
        flat_w = np.empty_like(self._w)
        flat_w[r.syn_orig] = self._w
        return [pr.synapses.with_weights(
                    flat_w[f.proj_syn_start[p]: f.proj_syn_start[p + 1]].astype(np.float64))
                for p, pr in enumerate(self.network.projections)]

    def counters(self) -> LoihiCounters:
        """Counters of all steps since the last :meth:`reset`."""
        st, f = self._st, self.flat
        per_step = (np.concatenate(st.counters) if st.counters
                    else np.zeros((0, self.mapping.n_cores, len(COUNTERS)), np.int64))
        return LoihiCounters(per_step, self._per_population(per_step), f.dt_s,
                             tuple(p.name for p in self.network.populations))

    def _per_population(self, per_step: np.ndarray) -> dict:
        """Attribute per-core totals to populations by their share of each core.

        Exact when every core holds one population (the default placement); with shared
        cores a core's counts are split by compartment share (an approximation).
        """
        m = self.mapping
        tot = per_step.sum(axis=0)  # (n_cores, n_counters)
        out = {}
        comp = np.zeros((len(m.population_names), m.n_cores))
        for k, name in enumerate(m.population_names):
            lo, hi = m.population_offsets[k], m.population_offsets[k + 1]
            comp[k] = np.bincount(m.core_of[lo:hi], weights=self._n_comp[lo:hi], minlength=m.n_cores)
        share = comp / np.maximum(comp.sum(axis=0, keepdims=True), 1)
        for k, name in enumerate(m.population_names):
            out[name] = np.rint(share[k] @ tot).astype(np.int64)
        return out


def run_event_queue(network: Network, duration_s: float, dt_s: float, *,
                    mapping: Mapping | None = None, spec: LoihiSpec | None = None,
                    mode: str = "float", seed: int = 0) -> tuple[Recording, LoihiCounters, Mapping]:
    """Place and run ``network`` on the event-queue backend.

    Returns
    -------
    (Recording, LoihiCounters, Mapping)
    """
    sim = EventQueueSimulator(network, dt_s, mapping=mapping, spec=spec, mode=mode, seed=seed)
    rec = sim.run(duration_s)
    return rec, sim.counters(), sim.mapping
