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

In ``mode="float"`` the neuron update is the clock engine's own update stage
(:func:`neuro.engines.clock.update_stage`) and the external drives its drive stage
(:func:`neuro.engines.kernels.apply_drives`); step order, refractoriness, k-WTA and input
spikes are those of the clock engine (same :func:`neuro.engines.flatten` plan and
:class:`neuro.engines.InputDrive`), so spikes are identical. The cost is proportional to
events plus one pass over the neurons per step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from hardware_models._event_kernels import _run
from hardware_models._plan import per_neuron_constants
from hardware_models.fixed_point import ACT_SHIFT, QuantizedNetwork, quantize, quantize_weights
from hardware_models.fixed_point_stdp import N_F, build_fixed_stdp, check_fixed_rules
from hardware_models.loihi import LoihiSpec
from hardware_models.mapping import Mapping, place
from neuro.engines import InputDrive, assemble_recording, check_supported, flatten
from neuro.engines.clock import neurons_record
from neuro.engines.plan import DriveTable, drive_table
from neuro.engines.recording import state_columns
from neuro.network import Network
from neuro.validation import check_duration
from neuro.record import Recording

__all__ = ["COUNTERS", "LoihiCounters", "EventQueueSimulator", "run_event_queue"]

#: Per-core, per-step counters (columns of the kernel's counter array).
COUNTERS = (
    "syn_ops", "neuron_active", "neuron_inactive", "spikes_out", "msgs_tile", "msgs_mesh",
    "hops_ew", "hops_ns", "input_spikes", "syn_updates",
)


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
    seg_fast: np.ndarray  # channel if all synapses of the segment have delay 0 and it, else -1
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
    ch = channel_of_proj[proj][order].astype(np.int64)
    d = flat.delays[order].astype(np.int64)
    if n_syn:
        uniform = ((np.maximum.reduceat(d, starts) == 0)
                   & (np.minimum.reduceat(ch, starts) == np.maximum.reduceat(ch, starts)))
        seg_fast = np.where(uniform, ch[starts], -1).astype(np.int64)
    else:
        seg_fast = np.zeros(0, np.int64)
    return _Routes(
        pre_seg_ptr,
        core[order][starts].astype(np.int64),
        np.r_[starts, n_syn].astype(np.int64),
        seg_fast,
        tgt[order].astype(np.int64),
        ch,
        d,
        order.astype(np.int64),
    )


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
    q_ids: np.ndarray
    q_len: np.ndarray
    drive: np.ndarray
    theta: np.ndarray
    plastic: dict = field(default_factory=dict)
    counters: list = field(default_factory=list)

    #: The array fields (checkpointed by ``EventQueueSimulator.state_dict``).
    ARRAYS = ("v", "syn", "inreg", "last", "buf", "cnt", "q_ids", "q_len", "drive", "theta")


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
        Seed of the Poisson sources and drives (drawn exactly as the clock engine draws them).
    chunk_steps : int
        Steps per block of source spikes and counters (>= 1); spikes do not depend on it.

    Notes
    -----
    Plasticity: projections with a :class:`neuro.plasticity.STDPRule` learn as in the clock
    engine (its kernel, :func:`neuro.engines.plasticity.plastic_events`, run on the same
    flat weights, so float-mode weights and spikes stay identical); every synapse of a
    spiking presynaptic row and every synapse into a spiking neuron counts as one synaptic
    update. In fixed mode the integer weights learn by Loihi-precision pair STDP
    (:mod:`hardware_models.fixed_point_stdp`: 7-bit traces, weight mantissas, rounding
    ``spec.learning_rounding``, random numbers from ``seed``).
    Adaptive thresholds (``Population.adaptation``) run in float mode only.
    :meth:`synapses` returns the current weights.

    Examples
    --------
    >>> sim = EventQueueSimulator(net, dt_s=1e-3)   # doctest: +SKIP
    >>> rec = sim.run(0.1); sim.counters().totals()["syn_ops"]   # doctest: +SKIP
    """

    def __init__(self, network: Network, dt_s: float, *, mapping: Mapping | None = None,
                 spec: LoihiSpec | None = None, mode: str = "float",
                 quantized: QuantizedNetwork | None = None, seed: int = 0,
                 chunk_steps: int = 2000):
        if mode not in ("float", "fixed"):
            raise ValueError(f"mode must be 'float' or 'fixed', got {mode!r}")
        check_supported(network, f"loihi-{mode}")
        if isinstance(chunk_steps, bool) or int(chunk_steps) != chunk_steps or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be an integer >= 1, got {chunk_steps!r}")
        self.chunk_steps = int(chunk_steps)
        self.network, self.mode = network, mode
        self.spec = spec or (mapping.spec if mapping is not None else LoihiSpec())
        self.mapping = mapping if mapping is not None else place(network, self.spec)
        if self.mapping.core_of.size != network.n_neurons:
            raise ValueError("mapping does not belong to this network (neuron counts differ)")
        self.flat = flatten(network, dt_s, np.float64)
        f = self.flat
        self._pn = per_neuron_constants(f)
        self._nr = neurons_record(f)
        if mode == "fixed":
            self.q = quantized if quantized is not None else quantize(network, dt_s, self.spec)
            chan = self.q.u_channel
            w = self.q.weights
            if not 1 <= self.spec.decay_bits <= 16:
                raise ValueError(f"LoihiSpec.decay_bits must be in [1, 16] in fixed mode, "
                                 f"got {self.spec.decay_bits}")
        else:
            self.q = None
            chan = f.proj_channel
            w = f.weights
        _check_rules(network, mode)
        self.routes = _routes(f, self.mapping.core_of, self.mapping.n_cores, chan)
        self._learns = f.plastic.n_plastic > 0
        self._fx = (build_fixed_stdp(network, f.plastic, self.q.weight_gain, self.q.weight_exp,
                                     self.spec.weight_bits, self.spec.trace_bits,
                                     self.spec.learning_rounding).table
                    if mode == "fixed" and self._learns else np.zeros((0, N_F), np.int64))
        # learning: weights stay in the plan's flat order (shared with the STDP kernel) and
        # are read through the routing permutation; otherwise stored in routed order
        self._w0 = np.ascontiguousarray(w if self._learns else w[self.routes.syn_orig])
        self._w = self._w0.copy()
        self._plastic = self._plastic_tables()
        pn = self._pn
        sizes = np.diff(f.group_offsets[: f.n_populations + 1])
        pn["theta_plus"] = np.repeat(f.theta_plus.astype(np.float64), sizes)
        self._n_comp = np.concatenate(
            [np.full(p.size, max(1, p.params.n_channels), np.int64) for p in network.populations])
        # runs of consecutive neurons on the same core (counting active compartments per run)
        co = self.mapping.core_of
        starts = np.flatnonzero(np.r_[True, co[1:] != co[:-1]])
        run_ptr = np.r_[starts, co.size].astype(np.int64)
        self._runs = (run_ptr, co[starts].astype(np.int64),
                      np.add.reduceat(self._n_comp, starts).astype(np.int64))
        self.seed = seed
        self.drives = self._drive_table()
        self._hits = np.zeros(f.n_neurons if network.drives else 0, np.int64)
        self.reset()

    # -------------------------------------------------------------- setup helpers
    def _drive_table(self) -> DriveTable:
        """The clock engine's drive table; in fixed mode with integer weights into the
        input registers (channel ``1 + u``), quantised as a projection's weights are."""
        table = drive_table(self.network, self.flat.dt_s)
        if self.mode == "float":
            return table
        f, q = self.flat, self.q
        w_int = np.zeros(table.weight.size, np.int64)
        for d, drv in enumerate(self.network.drives):
            k = [p.name for p in self.network.populations].index(drv.target)
            ch = int(table.channel[d])
            gain = f.mem_decay[k] if ch == 0 else f.syn_to_mem[k, ch - 1]
            mant, e = quantize_weights(np.array([q.scale[k] * gain * drv.weight]),
                                       self.spec.weight_bits)
            w_int[d] = int(mant[0]) << (ACT_SHIFT + e)
        return table._replace(weight=w_int, channel=np.maximum(table.channel, 1))

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

        Learned weights (STDP) are kept unless ``keep_weights`` is False; traces restart.
        """
        f = self.flat
        if not keep_weights:
            self._w[:] = self._w0
        pl = f.plastic
        never = -(2**40)
        n_elig = f.weights.size if (pl.any_reward and self._learns) else 0
        plastic = dict(pre_tr=np.zeros((pl.n_pre, 2)), pre_last=np.full(pl.n_pre, never),
                       post_tr=np.zeros((pl.n_post, 2)), post_last=np.full(pl.n_post, never),
                       elig=np.zeros(n_elig), elig_last=np.full(n_elig, never),
                       lr=pl.learning_rate.copy())
        theta = f.theta_init.astype(np.float64).copy()
        if sources is not None:
            self.network = self.network.with_sources(sources)
        if seed is not None:
            self.seed = seed
        self.drive = InputDrive(self.network, f.dt_s, self.seed)
        n = f.n_neurons
        if self.mode == "fixed":
            n_u = self.q.du.shape[1]
            self._st = _State(0, self.q.v_init.copy(), np.zeros((n_u, n), np.int64),
                              np.zeros((n_u, n), np.int64), np.full(n, -(2**40), np.int64),
                              np.zeros((f.max_delay + 1, n, n_u), np.int64),
                              np.zeros((f.max_delay + 1, n), np.int32),
                              np.zeros((f.max_delay + 1, n), np.int64),
                              np.zeros(f.max_delay + 1, np.int64), np.zeros(n), theta, plastic)
        else:
            self._st = _State(0, f.v_init.copy(), np.zeros((max(2, f.n_channels), n)),
                              np.zeros((1, n)), np.full(n, -(2**40), np.int64),
                              np.zeros((f.max_delay + 1, n, 1 + f.n_channels)),
                              np.zeros((f.max_delay + 1, n), np.int32),
                              np.zeros((f.max_delay + 1, n), np.int64),
                              np.zeros(f.max_delay + 1, np.int64), np.zeros(n), theta, plastic)

    @property
    def dt_s(self) -> float:
        """The time step."""
        return self.flat.dt_s

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self._st.step * self.flat.dt_s

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume: state arrays, weights, input drive state, counters."""
        st = self._st
        d: dict[str, object] = {k: getattr(st, k).copy() for k in _State.ARRAYS}
        d.update(step=st.step, weights=self._w.copy(), inputs=self.drive.state_dict(),
                 plastic={k: a.copy() for k, a in st.plastic.items()},
                 counters=[c.copy() for c in st.counters])
        return d

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of a simulator of the same network, dt and mode."""
        st = self._st
        for key, cur in [(k, getattr(st, k)) for k in _State.ARRAYS] + [("weights", self._w)] + [
                (f"plastic.{k}", a) for k, a in st.plastic.items()]:
            val = np.asarray(d["plastic"][key[8:]] if key.startswith("plastic.") else d[key])
            if val.shape != cur.shape:
                raise ValueError(f"state {key!r}: shape {val.shape}, expected {cur.shape}")
            cur[...] = val
        st.step = int(d["step"])
        st.counters = [np.array(c) for c in d["counters"]]
        self.drive.load_state_dict(d["inputs"])

    # -------------------------------------------------------------- running
    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s``; returns the monitors' recording of that interval.

        Counters of every step run so far are available from :meth:`counters`
        (``n_steps x n_cores x 10`` int64: mind the memory of very long runs).
        """
        if not duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {duration_s}")
        check_duration(duration_s, self.flat.dt_s, self.flat.n_neurons)  # refuse out-of-reach runs
        f, st, m = self.flat, self._st, self.mapping
        n_steps = int(round(duration_s / f.dt_s))
        if n_steps < 1:
            raise ValueError(f"duration_s={duration_s} is shorter than one step dt={f.dt_s}")
        n_start, n_end = st.step, st.step + n_steps
        cols = state_columns(self.network, f, n_start, n_end)
        state_mons, every, rec_ids, rec_chan = cols.monitors, cols.every, cols.ids, cols.channels
        rec_out = np.zeros((cols.n_samples, rec_ids.size),
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
        pl, ps = f.plastic, st.plastic
        learn = self._learns
        # the float STDP kernel's weights (float64) and the fixed-point stage's (int64)
        w_learn = self._w if learn and not fixed else np.zeros(0)
        w_fix = self._w if learn and fixed else np.zeros(0, np.int64)
        adapt = np.zeros_like(f.adapt) if fixed else f.adapt
        out_step = np.empty(f.n_neurons * self.chunk_steps + 1, np.int64)
        out_id = np.empty_like(out_step)
        t0 = time.perf_counter()
        bar = tqdm(total=n_steps, desc="loihi event queue", unit="step", disable=not progress)
        n = n_start
        while n < n_end:
            # the drive may return fewer steps than asked (bounded memory): run those
            ext_ptr, ext_ids = self.drive.spikes(n, min(n + self.chunk_steps, n_end))
            n1 = n + ext_ptr.size - 1
            ev_ptr, ev_ids, ev_vals = self.drive.current_events(n, n1)
            if src_mon:
                src_steps.append(np.repeat(np.arange(n, n1), np.diff(ext_ptr)))
                src_ids.append(ext_ids)
            ctr = np.zeros((n1 - n, m.n_cores, len(COUNTERS)), np.int64)
            n_out, rec_count = _run(
                n, n1, fixed, st.v, st.syn, st.inreg, st.last, st.buf, st.cnt, st.q_ids, st.q_len,
                st.drive,
                self._w, self._nr,
                consts["du"], consts["dv"], consts["bias"],
                q.drive_gain if fixed else np.zeros(1), self.spec.decay_bits, u_wrap, u_wrap - 1,
                consts["v_reset"], consts["vth"], consts["reset_amt"], pn["ref_steps"],
                f.group_offsets[: f.n_populations + 1], f.kwta_k, f.kwta_hold,
                m.core_of.astype(np.int64), m.core_xy[:, 0].copy(), m.core_xy[:, 1].copy(),
                m.tile_of_core, self._n_comp, *self._runs,
                r.pre_seg_ptr, r.seg_core, r.seg_syn_ptr, r.seg_fast, r.syn_tgt, r.syn_ch, r.syn_d,
                r.syn_orig, learn, fan, fanin,
                adapt, st.theta, pn["theta_plus"],
                learn, w_learn, pl.ints, pl.par, pl.tau_steps, pl.decay, pl.csc_ptr, pl.csc_syn,
                pl.csc_pre, f.proj_syn_start, f.proj_indptr_start, f.indptr, f.indices,
                ps["pre_tr"], ps["pre_last"], ps["post_tr"], ps["post_last"], ps["elig"],
                ps["elig_last"], ps["lr"], self._fx, w_fix,
                ext_ptr, ext_ids, ev_ptr, ev_ids, ev_vals, self.seed, self.drives, self._hits,
                rec_ids, rec_chan, every, rec_out, rec_count, out_step, out_id, ctr)
            steps_out.append(out_step[:n_out].copy())
            ids_out.append(out_id[:n_out].copy())
            st.counters.append(ctr)
            bar.update(n1 - n)
            n = n1
        bar.close()
        st.step = n_end
        wall = time.perf_counter() - t0
        states = rec_out[:rec_count]
        if fixed:
            states = self._float_states(states, rec_ids, rec_chan)
        return assemble_recording(
            self.network, self.flat, n_start, n_end, steps_out, ids_out, src_steps, src_ids,
            states, state_mons, every, wall, engine=f"loihi-{self.mode}")

    def _float_states(self, states: np.ndarray, ids: np.ndarray, chans: np.ndarray) -> np.ndarray:
        """Fixed-point samples in the network's float units (every backend records floats):
        ``v = v_int / s + v_reset``, ``I_k = u_k / (s * syn_to_mem_k)`` with ``s`` the
        population's integer scale (:func:`hardware_models.fixed_point.quantize`)."""
        s = self.q.scale[np.searchsorted(self.flat.group_offsets, ids, side="right") - 1]
        gain = np.where(chans < 0, 1.0, self._pn["syn_to_mem"][ids, np.maximum(chans, 0)])
        offset = np.where(chans < 0, self._pn["v_reset"][ids], 0.0)
        return states / (s * gain) + offset

    def synapses(self) -> list:
        """Each projection's synapses with the current (possibly learned) weights.

        In fixed mode the weights are the effective integers ``mantissa << (6 + exp)``.
        """
        f, r = self.flat, self.routes
        if self._learns:
            flat_w = self._w
        else:
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
        for k in range(len(m.population_names)):
            lo, hi = m.population_offsets[k], m.population_offsets[k + 1]
            comp[k] = np.bincount(m.core_of[lo:hi], weights=self._n_comp[lo:hi], minlength=m.n_cores)
        share = comp / np.maximum(comp.sum(axis=0, keepdims=True), 1)
        for k, name in enumerate(m.population_names):
            out[name] = np.rint(share[k] @ tot).astype(np.int64)
        return out


def _check_rules(network: Network, mode: str) -> None:
    """Plasticity and adaptation the backend can run (the clock engine's, see Notes)."""
    from neuro.plasticity import STDPRule

    for pr in network.projections:
        if pr.plasticity is not None and not isinstance(pr.plasticity, STDPRule):
            raise TypeError(f"projection {pr.name}: plasticity must be a neuro.plasticity.STDPRule, "
                            f"got {type(pr.plasticity).__name__}")
        if pr.plasticity is not None and pr.synapses.max_delay > 0:
            raise ValueError(f"projection {pr.name}: plastic projections must have zero delays "
                             f"(got max delay {pr.synapses.max_delay} steps)")
    if mode == "fixed":
        check_fixed_rules(network)
        adapted = [p.name for p in network.populations if p.adaptation is not None]
        if adapted:
            raise ValueError(f"adaptive thresholds (populations {adapted}) are not modelled in "
                             "mode='fixed'; use mode='float'")


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
