"""Time-stepped event-queue backend in the Loihi manner, with per-step, per-core counters.

Each step ``n``:

1. every core updates its neurons (float: the clock engine's exact LIF update; fixed:
   Loihi's integer CUBA update of :mod:`sparse_neuro.hardware_models.fixed_point`) and thresholds
   them (k-WTA as the clock engine);
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
(:func:`sparse_neuro.neuro.engines.backends.clock.update_stage`) and the external drives its
drive stage (:func:`sparse_neuro.neuro.engines.primitives.apply_drives`); step order,
refractoriness, k-WTA and input spikes are those of the clock engine (same
:func:`sparse_neuro.neuro.engines.plan.build_plan` plan and
:class:`sparse_neuro.neuro.engines.InputDrive`), so spikes are identical. The cost is proportional
to events plus one pass over the neurons per step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from functools import partial

import numpy as np

from sparse_neuro.hardware_models.fixed_point import (
    ACT_SHIFT,
    QuantizedNetwork,
    quantize,
    quantize_weights,
)
from sparse_neuro.hardware_models.fixed_point_stdp import N_F, build_fixed_stdp, check_fixed_rules
from sparse_neuro.hardware_models.loihi import LoihiSpec
from sparse_neuro.hardware_models.loihi_stages import (
    Chip,
    FixedPoint,
    LoihiFixedStages,
    LoihiStages,
    Segments,
)
from sparse_neuro.hardware_models.mapping import Mapping, place
from sparse_neuro.neuro.engines import InputDrive, check_supported
from sparse_neuro.neuro.engines.driver import n_run_steps, run_blocks
from sparse_neuro.neuro.engines.plan import DriveTable, Neurons, Plan, build_plan
from sparse_neuro.neuro.engines.registry import register_backend
from sparse_neuro.neuro.engines.state import initial_state
from sparse_neuro.neuro.engines.state_check import (
    check_in_range,
    check_keys,
    check_record,
    checked_state,
    commit_state,
    state_array,
    state_layout,
)
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import Recording

log = logging.getLogger(__name__)

__all__ = ["COUNTERS", "LoihiCounters", "EventQueueSimulator", "run_event_queue"]

#: Per-core, per-step counters (columns of the kernel's counter array).
COUNTERS = (
    "syn_ops",
    "neuron_active",
    "neuron_inactive",
    "spikes_out",
    "msgs_tile",
    "msgs_mesh",
    "hops_ew",
    "hops_ns",
    "input_spikes",
    "syn_updates",
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
            self.dt_s,
            self.population_names,
        )


# ---------------------------------------------------------------------- routing table
def _segments(
    plan: Plan, core_of: np.ndarray, n_cores: int, channel_of_proj: np.ndarray
) -> Segments:
    """The plan's synapses regrouped by (presynaptic id, destination core), clock order
    within a segment."""
    rt = plan.routing
    n_syn = rt.indices.size
    proj = np.repeat(np.arange(plan.n_projections), np.diff(rt.p_syn0))
    rows = np.empty(n_syn, dtype=np.int64)
    for p in range(plan.n_projections):
        lo = rt.p_iptr0[p]
        g = int(np.searchsorted(plan.group_offsets, rt.p_src_off[p], side="right"))
        ip = rt.indptr[lo : lo + (plan.group_offsets[g] - rt.p_src_off[p]) + 1]
        rows[rt.p_syn0[p] : rt.p_syn0[p + 1]] = np.repeat(np.arange(ip.size - 1), np.diff(ip))
    pre = rt.p_src_off[proj] + rows
    tgt = rt.p_tgt_off[proj] + rt.indices.astype(np.int64)
    core = core_of[tgt].astype(np.int64)
    order = np.lexsort((np.arange(n_syn), core, pre))  # clock order within (pre, core)
    key = pre[order] * n_cores + core[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if n_syn else np.zeros(0, np.int64)
    seg_pre = pre[order][starts]
    n_total = plan.n_neurons + plan.n_sources
    pre_seg_ptr = np.zeros(n_total + 1, dtype=np.int64)
    np.cumsum(np.bincount(seg_pre, minlength=n_total), out=pre_seg_ptr[1:])
    ch = channel_of_proj[proj][order].astype(np.int64)
    d = rt.delays[order].astype(np.int64)
    if n_syn:
        uniform = (np.maximum.reduceat(d, starts) == 0) & (
            np.minimum.reduceat(ch, starts) == np.maximum.reduceat(ch, starts)
        )
        seg_fast = np.where(uniform, ch[starts], -1).astype(np.int64)
    else:
        seg_fast = np.zeros(0, np.int64)
    return Segments(
        pre_seg_ptr,
        core[order][starts].astype(np.int64),
        np.r_[starts, n_syn].astype(np.int64),
        seg_fast,
        tgt[order].astype(np.int64),
        ch,
        d,
        order.astype(np.int64),
    )


def _per_population(plan: Plan, per_neuron: np.ndarray) -> np.ndarray:
    """The value of each population's first neuron (0 for an empty population) of a
    per-neuron array that is constant within populations."""
    off = plan.neurons.pop_offsets
    return np.array(
        [per_neuron[lo] if hi > lo else 0 for lo, hi in zip(off[:-1], off[1:])],
        dtype=per_neuron.dtype,
    )


# ---------------------------------------------------------------------- simulator
class EventQueueSimulator:
    """A network placed on Loihi-style cores and compiled for the event-queue backend.

    Parameters
    ----------
    network : Network
    dt_s : float
        Time step in seconds.
    mapping : Mapping, optional
        Placement; default :func:`sparse_neuro.hardware_models.mapping.place` with ``spec``.
    spec : LoihiSpec, optional
    mode : str
        ``"float"`` (the clock engine's arithmetic, float64) or ``"fixed"`` (Loihi's integer
        CUBA model, weights and constants from
        :func:`sparse_neuro.hardware_models.fixed_point.quantize`).
    quantized : QuantizedNetwork, optional
        Use these integer constants in fixed mode instead of quantising ``network``.
    seed : int
        Seed of the Poisson sources and drives (drawn exactly as the clock engine draws them).
    chunk_steps : int
        Steps per block of source spikes and counters (>= 1); spikes do not depend on it.

    Notes
    -----
    Plasticity: projections with a :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule` learn
    as in the clock engine (its kernel, :func:`sparse_neuro.neuro.engines.learn.plastic_events`, run
    on the same flat weights, so float-mode weights and spikes stay identical); every synapse of a
    spiking presynaptic row and every synapse into a spiking neuron counts as one synaptic
    update. In fixed mode the integer weights learn by Loihi-precision pair STDP
    (:mod:`sparse_neuro.hardware_models.fixed_point_stdp`: 7-bit traces, weight mantissas, rounding
    ``spec.learning_rounding``, random numbers from ``seed``).
    Adaptive thresholds (``Population.adaptation``) run in float mode only.
    :meth:`synapses` returns the current weights.

    Examples
    --------
    >>> sim = EventQueueSimulator(net, dt_s=1e-3)   # doctest: +SKIP
    >>> rec = sim.run(0.1); sim.counters().totals()["syn_ops"]   # doctest: +SKIP
    """

    def __init__(
        self,
        network: Network,
        dt_s: float,
        *,
        mapping: Mapping | None = None,
        spec: LoihiSpec | None = None,
        mode: str = "float",
        quantized: QuantizedNetwork | None = None,
        seed: int = 0,
        chunk_steps: int = 2000,
    ):
        if mode not in ("float", "fixed"):
            raise ValueError(f"mode must be 'float' or 'fixed', got {mode!r}")
        check_supported(network, f"loihi-{mode}")  # what it runs: registered below
        if isinstance(chunk_steps, bool) or int(chunk_steps) != chunk_steps or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be an integer >= 1, got {chunk_steps!r}")
        self.chunk_steps = int(chunk_steps)
        self.network, self.mode = network, mode
        self.spec = spec or (mapping.spec if mapping is not None else LoihiSpec())
        self.mapping = mapping if mapping is not None else place(network, self.spec)
        _check_mapping(self.mapping, network)
        if mode == "fixed" and not 1 <= self.spec.decay_bits <= 16:
            raise ValueError(
                f"LoihiSpec.decay_bits must be in [1, 16] in fixed mode, got {self.spec.decay_bits}"
            )
        if mode == "fixed":
            check_fixed_rules(network)  # rule parameters beyond the declared features
        plan = build_plan(network, dt_s, np.float64)
        # the cores process their queues one after the other: one partition
        plan = replace(plan, model=plan.model._replace(bounds=np.array([0, plan.n_neurons])))
        self.q = (
            (
                self._checked_quantized(quantized, network, dt_s)
                if quantized is not None
                else quantize(network, dt_s, self.spec)
            )
            if mode == "fixed"
            else None
        )
        self._learns = plan.plastic.n_plastic > 0
        self._learn_plan = plan.plastic
        if mode == "fixed":
            # integer neuron constants and drives; the integer weights learn in the fixed
            # stage (sparse_neuro.hardware_models.fixed_point_stdp), not by the loop's float rule
            plan = replace(
                plan,
                model=plan.model._replace(
                    neurons=self._fixed_neurons(plan),
                    drives=self._fixed_drives(plan),
                    plastic=plan.plastic._replace(ints=plan.plastic.ints[:0]),
                ),
            )
        self.plan = plan
        chan = self.q.u_channel if mode == "fixed" else plan.routing.p_chan
        segments = _segments(plan, self.mapping.core_of, self.mapping.n_cores, chan)
        w = self.q.weights if mode == "fixed" else plan.weights
        # learning: weights stay in the plan's order (shared with the STDP kernel) and are
        # read through the routing permutation; otherwise stored in routed order
        self._w0 = np.ascontiguousarray(w if self._learns else w[segments.syn_orig])
        self._bk = self._stages(segments)
        self.seed = seed
        log.debug(
            "loihi-%s: %d neurons and %d synapses on %d cores",
            mode,
            plan.n_neurons,
            plan.weights.size,
            self.mapping.n_cores,
        )
        self._counters: list[np.ndarray] = []
        self.state = initial_state(plan, weights=self._w0, learns=self._learns)
        self.reset()
        self._layout = state_layout(self.state)  # what run() requires of a replaced state

    # -------------------------------------------------------------- setup helpers
    def _checked_quantized(self, q: object, network: Network, dt_s: float) -> QuantizedNetwork:
        """A caller's quantisation, checked against this network's own
        (:func:`sparse_neuro.hardware_models.fixed_point.quantize`): the fixed-point stages index
        with its channels and read its arrays by neuron and synapse, without bounds checks."""
        if not isinstance(q, QuantizedNetwork):
            raise TypeError(f"quantized must be a QuantizedNetwork, got {type(q).__name__}")
        ref = quantize(network, dt_s, self.spec)
        for f in fields(QuantizedNetwork):
            a, r = getattr(q, f.name), getattr(ref, f.name)
            if f.name == "plan":
                if not (isinstance(a, Plan) and np.array_equal(a.group_offsets, r.group_offsets)):
                    raise ValueError("quantized.plan must be a plan of this network")
                continue
            if not (isinstance(a, np.ndarray) and a.shape == r.shape and a.dtype == r.dtype):
                raise ValueError(
                    f"quantized.{f.name} must be a {r.dtype} array of shape "
                    f"{r.shape} (this network's), got "
                    f"{getattr(a, 'dtype', type(a).__name__)} "
                    f"{getattr(a, 'shape', '')}"
                )
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise ValueError(f"quantized.{f.name} must be finite")
        unity = 2**self.spec.decay_bits
        for name, a, lo, hi in (
            ("u_channel", q.u_channel, 0, ref.du.shape[1] - 1),
            ("weight_exp", q.weight_exp, -ACT_SHIFT, 7),
            ("du", q.du, 0, unity),
            ("dv", q.dv, 0, unity),
        ):
            check_in_range(name, a, lo, hi, what="quantized")
        return q

    def _fixed_neurons(self, plan: Plan) -> Neurons:
        """The plan's neuron record in the fixed-point model's integer units (threshold,
        reset and k-WTA on integer ``v``; no adaptive thresholds)."""
        q, nr = self.q, plan.neurons
        return nr._replace(
            v_threshold=_per_population(plan, q.vth),
            v_reset=np.zeros(nr.v_reset.size, np.int64),
            reset_amount=_per_population(plan, q.reset_amount),
            adapt=np.zeros_like(nr.adapt),
        )

    def _fixed_drives(self, plan: Plan) -> DriveTable:
        """The drive table with integer weights into the input registers (channel ``1 + u``),
        quantised as a projection's weights are."""
        table, q, nr = plan.model.drives, self.q, plan.neurons
        w_int = np.zeros(table.weight.size, np.int64)
        for d, drv in enumerate(self.network.drives):
            k = [p.name for p in self.network.populations].index(drv.target)
            ch = int(table.channel[d])
            gain = nr.mem_decay[k] if ch == 0 else nr.syn_to_mem[k, ch - 1]
            mant, e = quantize_weights(
                np.array([q.scale[k] * gain * drv.weight]), self.spec.weight_bits
            )
            w_int[d] = int(mant[0]) << (ACT_SHIFT + e)
        return table._replace(weight=w_int, channel=np.maximum(table.channel, 1))

    def _plastic_tables(self, segments: Segments) -> tuple[np.ndarray, np.ndarray]:
        """Plastic synapses per (presynaptic id, core) and per target neuron (counted as
        synaptic updates); empty without plasticity."""
        plan, m = self.plan, self.mapping
        plastic = [p for p, pr in enumerate(self.network.projections) if pr.plasticity is not None]
        if not plastic:
            return np.zeros((0, 1), np.int64), np.zeros(0, np.int64)
        n_total = plan.n_neurons + plan.n_sources
        fan = np.zeros((n_total, m.n_cores), np.int64)
        fanin = np.zeros(plan.n_neurons, np.int64)
        is_pl = np.zeros(plan.routing.indices.size, bool)
        for p in plastic:
            is_pl[plan.projection_slice(p)] = True
        r = segments
        sel = is_pl[r.syn_orig]
        seg_of_syn = np.repeat(np.arange(r.seg_core.size), np.diff(r.seg_syn_ptr))
        pre_of_seg = np.repeat(np.arange(n_total), np.diff(r.pre_seg_ptr))
        np.add.at(fan, (pre_of_seg[seg_of_syn[sel]], r.seg_core[seg_of_syn[sel]]), 1)
        np.add.at(fanin, r.syn_tgt[sel], 1)
        return fan, fanin

    def _stages(self, segments: Segments) -> LoihiStages:
        """The record the model's stages read: placement, routes, fixed-point constants,
        scratch (``counters`` is replaced per call)."""
        m, n = self.mapping, self.plan.n_neurons
        n_comp = np.concatenate(
            [
                np.full(p.size, max(1, p.params.n_channels), np.int64)
                for p in self.network.populations
            ]
        )
        # runs of consecutive neurons on the same core with the same compartment count
        # (counting active compartments per run)
        co = m.core_of
        starts = np.flatnonzero(np.r_[True, (co[1:] != co[:-1]) | (n_comp[1:] != n_comp[:-1])])
        fan, fanin = self._plastic_tables(segments)
        chip = Chip(
            co.astype(np.int64),
            m.core_xy[:, 0].astype(np.int64),
            m.core_xy[:, 1].astype(np.int64),
            m.tile_of_core.astype(np.int64),
            n_comp,
            np.r_[starts, co.size].astype(np.int64),
            co[starts].astype(np.int64),
            np.add.reduceat(n_comp, starts).astype(np.int64),
            fan,
            fanin,
        )
        u_wrap = 2 ** (self.spec.membrane_bits - 1)
        if self.mode == "fixed":
            q = self.q
            fx = (
                build_fixed_stdp(
                    self.network,
                    self._learn_plan,
                    q.weight_gain,
                    q.weight_exp,
                    self.spec.weight_bits,
                    self.spec.trace_bits,
                    self.spec.learning_rounding,
                ).table
                if self._learns
                else np.zeros((0, N_F), np.int64)
            )
            fp = FixedPoint(
                q.du,
                q.dv,
                q.bias,
                q.drive_gain,
                self.spec.decay_bits,
                u_wrap,
                u_wrap - 1,
                self._learn_plan,
                fx,
            )
            inreg = np.zeros((q.du.shape[1], n), np.int64)
        else:
            fp = FixedPoint(
                np.zeros((0, 1), np.int64),
                np.zeros(0, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0),
                self.spec.decay_bits,
                u_wrap,
                u_wrap - 1,
                self._learn_plan,
                np.zeros((0, N_F), np.int64),
            )
            inreg = np.zeros((1, n))
        n_seg = segments.seg_core.size
        record = LoihiFixedStages if self.mode == "fixed" else LoihiStages
        return record(
            chip,
            segments,
            fp,
            self.mode == "fixed",
            self._learns,
            inreg,
            np.zeros(n if self.network.drives else 0, np.int64),
            np.zeros(n, np.uint8),
            np.empty(n_seg, np.int64),
            np.empty(n_seg, np.int64),
            np.empty(m.n_cores + 1, np.int64),
            np.zeros((0, m.n_cores, len(COUNTERS)), np.int64),
        )

    @property
    def drives(self) -> DriveTable:
        """The external drives as this model runs them (integer weights in fixed mode)."""
        return self.plan.model.drives

    def reset(
        self, sources: list | None = None, seed: int | None = None, *, keep_weights: bool = False
    ) -> None:
        """Back to the network's initial state, weights included; optionally drive by other
        sources (same names/sizes) or another seed.

        Learned weights (STDP) are kept only if ``keep_weights``; traces restart.
        """
        plan = self.plan
        weights = self.state.weights if keep_weights else self._w0
        v0 = self.q.v_init if self.mode == "fixed" else plan.v_init
        n_u = self.q.du.shape[1] if self.mode == "fixed" else None
        self.state = initial_state(
            plan, v=v0, weights=weights, syn_rows=n_u, buffer_channels=n_u, learns=self._learns
        )
        self._bk.inreg[...] = 0
        self._counters = []
        if sources is not None:
            self.network = self.network.with_sources(sources)
        if seed is not None:
            self.seed = seed
        self.drive = InputDrive(self.network, plan.dt_s, self.seed)

    @property
    def dt_s(self) -> float:
        """The time step."""
        return self.plan.dt_s

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self.state.step * self.plan.dt_s

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume: the state record's fields, the input registers, the
        input drive state and the counters."""
        d: dict[str, object] = {
            k: (x.copy() if isinstance(x, np.ndarray) else x)
            for k, x in self.state._asdict().items()
        }
        d.update(
            inreg=self._bk.inreg.copy(),
            inputs=self.drive.state_dict(),
            counters=[c.copy() for c in self._counters],
        )
        return d

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of a simulator of the same network, dt and mode."""
        d = check_keys(d, {*self.state._fields, "inreg", "inputs", "counters"}, "state dict")
        # integer traces in fixed mode (7 bits on Loihi), unbounded float traces otherwise
        tmax = 2.0**self.spec.trace_bits - 1 if self.mode == "fixed" else np.inf
        step, arrays = checked_state(d, self.state, self.plan.model.bounds, max_trace=tmax)
        inreg = state_array("inreg", d["inreg"], self._bk.inreg)
        counters = self._checked_counters(d["counters"], step)
        self.drive.load_state_dict(d["inputs"], step=step)  # checked before it changes
        self.state = commit_state(self.state, step, arrays)
        self._bk.inreg[...] = inreg
        self._counters = counters

    def _checked_counters(self, counters: object, step: int) -> list[np.ndarray]:
        """Copies of the counter blocks of a state dict: int64 arrays ``(k, n_cores,
        len(COUNTERS))`` of counts >= 0, ``step`` steps in all (one row per step run)."""
        if not isinstance(counters, (list, tuple)):
            raise ValueError(
                f"state 'counters' must be a list of arrays, got {type(counters).__name__}"
            )
        out = []
        for j, c in enumerate(counters):
            a = np.asarray(c)
            if (
                a.dtype.kind not in "iu"
                or a.ndim != 3
                or a.shape[1:] != (self.mapping.n_cores, len(COUNTERS))
            ):
                raise ValueError(
                    f"state 'counters'[{j}] must be an integer array of shape "
                    f"(k, {self.mapping.n_cores}, {len(COUNTERS)}), got "
                    f"{a.dtype} {a.shape}"
                )
            check_in_range(f"counters[{j}]", a, 0, np.iinfo(np.int64).max)
            out.append(a.astype(np.int64))
        if sum(a.shape[0] for a in out) != step:
            raise ValueError(
                f"state 'counters' cover {sum(a.shape[0] for a in out)} steps; "
                f"they must cover every step run, step = {step}"
            )
        return out

    # -------------------------------------------------------------- running
    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s``; returns the monitors' recording of that interval.

        Counters of every step run so far are available from :meth:`counters`
        (``n_steps x n_cores x 10`` int64: mind the memory of very long runs).
        """
        check_record(self.state, self._layout, self.plan.model.bounds)  # public: recheck
        n_steps = n_run_steps(duration_s, self.plan)
        n_cores = self.mapping.n_cores

        def records(n0: int, n1: int) -> Callable[[int], LoihiStages]:
            # one counter block per chunk, kept for counters(); each call of the loop
            # writes from its own first step on
            ctr = np.zeros((n1 - n0, n_cores, len(COUNTERS)), np.int64)
            self._counters.append(ctr)
            return lambda k: self._bk._replace(counters=ctr[k - n0 :])

        rec, self.state = run_blocks(
            self.network,
            self.plan,
            self.state,
            self.drive,
            n_steps,
            chunk_steps=self.chunk_steps,
            records=records,
            engine=f"loihi-{self.mode}",
            progress=progress,
            float_states=self._float_states if self.mode == "fixed" else None,
        )
        return rec

    def _float_states(self, states: np.ndarray, ids: np.ndarray, chans: np.ndarray) -> np.ndarray:
        """Fixed-point samples in the network's float units (every backend records floats):
        ``v = v_int / s + v_reset``, ``I_k = u_k / (s * syn_to_mem_k)`` with ``s`` the
        population's integer scale (:func:`sparse_neuro.hardware_models.fixed_point.quantize`)."""
        plan = self.q.plan
        pop = np.searchsorted(plan.group_offsets, ids, side="right") - 1
        s = self.q.scale[pop]
        gain = np.where(chans < 0, 1.0, plan.neurons.syn_to_mem[pop, np.maximum(chans, 0)])
        offset = np.where(chans < 0, plan.neurons.v_reset[pop], 0.0)
        return states / (s * gain) + offset

    def synapses(self) -> list:
        """Each projection's synapses with the current (possibly learned) weights.

        In fixed mode the weights are the effective integers ``mantissa << (6 + exp)``.
        """
        w = self.state.weights
        if self._learns:
            flat_w = w
        else:
            flat_w = np.empty_like(w)
            flat_w[self._bk.segments.syn_orig] = w
        return [
            pr.synapses.with_weights(flat_w[self.plan.projection_slice(p)].astype(np.float64))
            for p, pr in enumerate(self.network.projections)
        ]

    def counters(self) -> LoihiCounters:
        """Counters of all steps since the last :meth:`reset`."""
        f = self.plan
        per_step = (
            np.concatenate(self._counters)
            if self._counters
            else np.zeros((0, self.mapping.n_cores, len(COUNTERS)), np.int64)
        )
        return LoihiCounters(
            per_step,
            self._per_population(per_step),
            f.dt_s,
            tuple(p.name for p in self.network.populations),
        )

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
            comp[k] = np.bincount(
                m.core_of[lo:hi], weights=self._bk.chip.n_comp[lo:hi], minlength=m.n_cores
            )
        share = comp / np.maximum(comp.sum(axis=0, keepdims=True), 1)
        for k, name in enumerate(m.population_names):
            out[name] = np.rint(share[k] @ tot).astype(np.int64)
        return out


def _check_mapping(m: object, network: Network) -> None:
    """A placement the stages can index with (they copy its arrays once, here): every
    neuron on a core in ``[0, n_cores)``, one mesh position and tile per core, the network's
    populations (a caller may pass any :class:`Mapping`)."""
    if not isinstance(m, Mapping):
        raise TypeError(
            f"mapping must be a sparse_neuro.hardware_models.mapping.Mapping, got {type(m).__name__}"
        )
    offsets = np.concatenate([[0], np.cumsum([p.size for p in network.populations])])
    core_of, xy, tile = (np.asarray(a) for a in (m.core_of, m.core_xy, m.tile_of_core))
    if core_of.shape != (network.n_neurons,) or core_of.dtype.kind not in "iu":
        raise ValueError(
            f"mapping does not belong to this network: core_of must be integers of "
            f"shape ({network.n_neurons},), got {core_of.dtype} {core_of.shape}"
        )
    if (
        xy.ndim != 2
        or xy.shape[1] != 2
        or xy.dtype.kind not in "iu"
        or tile.shape != (xy.shape[0],)
        or tile.dtype.kind not in "iu"
    ):
        raise ValueError(
            f"mapping core_xy must be integers of shape (n_cores, 2) and "
            f"tile_of_core of shape (n_cores,), got {xy.shape} and {tile.shape}"
        )
    check_in_range("core_of", core_of, 0, xy.shape[0] - 1, what="mapping")
    if not np.array_equal(np.asarray(m.population_offsets), offsets):
        raise ValueError(
            f"mapping does not belong to this network: population_offsets "
            f"{np.asarray(m.population_offsets).tolist()}, expected "
            f"{offsets.tolist()}"
        )


def run_event_queue(
    network: Network,
    duration_s: float,
    dt_s: float,
    *,
    mapping: Mapping | None = None,
    spec: LoihiSpec | None = None,
    mode: str = "float",
    seed: int = 0,
) -> tuple[Recording, LoihiCounters, Mapping]:
    """Place and run ``network`` on the event-queue backend.

    Returns
    -------
    (Recording, LoihiCounters, Mapping)
    """
    sim = EventQueueSimulator(network, dt_s, mapping=mapping, spec=spec, mode=mode, seed=seed)
    rec = sim.run(duration_s)
    return rec, sim.counters(), sim.mapping


#: What the Loihi model runs: the clock engine's features but conductance synapses (its
#: neurons are current-based) and reward-modulated STDP (no reward input); in fixed-point
#: mode STDP is the pair rule with additive updates (sparse_neuro.hardware_models.fixed_point_stdp)
#: and thresholds do not adapt. Plastic synapses with delays are run by no backend.
LOIHI_FLOAT_FEATURES: frozenset[Feature] = frozenset(Feature) - {
    Feature.PLASTIC_DELAYS,
    Feature.CONDUCTANCE,
    Feature.REWARD_STDP,
}
LOIHI_FIXED_FEATURES: frozenset[Feature] = LOIHI_FLOAT_FEATURES - {Feature.ADAPTATION}

register_backend(
    "loihi-float",
    partial(EventQueueSimulator, mode="float"),
    LOIHI_FLOAT_FEATURES,
    "the Loihi model has current-based neurons and no reward input",
)
register_backend(
    "loihi-fixed",
    partial(EventQueueSimulator, mode="fixed"),
    LOIHI_FIXED_FEATURES,
    "fixed-point mode has current-based neurons, learns by pair additive STDP "
    "only and has no adaptation",
)
