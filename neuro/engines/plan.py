"""Flatten a Network into contiguous arrays that compiled kernels can run.

Every backend that steps a network on a clock (the clock engine, the Loihi event-queue
model) starts from the same :class:`FlatNetwork`, so they agree on global neuron ids,
per-neuron constants and where each projection's synapses live.

Global presynaptic ids: neurons of all populations first (in network order), then the
channels of all sources. Projections keep their own CSR blocks, concatenated; a projection's
synapse ``s`` is global synapse ``syn_start[p] + s``, so learned weights map back by slicing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from neuro.coba import coba_factors
from neuro.engines.plasticity import PlasticPlan, build_plastic_plan
from neuro.engines.rng import stream_id
from neuro.lif import step_factors
from neuro.network import Network

__all__ = ["DriveTable", "FlatNetwork", "drive_table", "flatten"]


class DriveTable(NamedTuple):
    """The network's external Poisson drives as a numba record (one row per drive).

    Attributes
    ----------
    lo, hi : ndarray of int64
        Global ids ``[lo, hi)`` of the target population.
    lam : ndarray of float64
        Mean input count per neuron and step, ``n_inputs * rate_hz * dt``.
    weight : ndarray
        Weight of one input (float64; int64 in the Loihi fixed-point model).
    channel : ndarray of int64
        Input channel as for projections: 0 delta (into ``v``), ``1 + k`` into ``I_k``.
    stream : ndarray of int64
        Random stream of the drive, ``stream_id(1, d)``.
    """

    lo: np.ndarray
    hi: np.ndarray
    lam: np.ndarray
    weight: np.ndarray
    channel: np.ndarray
    stream: np.ndarray


def drive_table(network: Network, dt_s: float) -> DriveTable:
    """The :class:`DriveTable` of ``network.drives`` for a clock of step ``dt_s``."""
    names = [p.name for p in network.populations]
    offsets = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum([p.size for p in network.populations], out=offsets[1:])
    rows = []
    for d, drv in enumerate(network.drives):
        k = names.index(drv.target)
        delta = network.populations[k].params.n_channels == 0
        lam = drv.n_inputs * drv.rate_hz * dt_s
        if lam > 700:  # poisson_count's exp(-lam) underflows beyond
            raise ValueError(f"PoissonInput into {drv.target!r}: n_inputs * rate_hz * dt must be "
                             f"<= 700 inputs per step, got {lam:g}")
        rows.append((offsets[k], offsets[k + 1], lam, drv.weight,
                     0 if delta else 1 + drv.receptor, stream_id(1, d)))
    cols = list(zip(*rows)) if rows else [()] * 6
    types = (np.int64, np.int64, np.float64, np.float64, np.int64, np.int64)
    return DriveTable(*(np.array(c, dtype=t) for c, t in zip(cols, types)))


@dataclass(frozen=True, eq=False)
class FlatNetwork:
    """Arrays describing a network for one time step ``dt_s`` (see module docstring).

    Channel 0 of every neuron is the delta channel (adds to ``v``); channel ``1 + k`` is
    the exponential synaptic current ``I_k``.
    """

    dt_s: float
    dtype: type
    n_neurons: int
    n_sources: int
    n_channels: int  # exponential channels (max over populations); buffer has 1 + this
    group_names: tuple[str, ...]  # populations then sources
    group_offsets: np.ndarray  # int64 (n_groups + 1,), in global presynaptic ids
    n_populations: int
    # per population (neurons of a population share their constants)
    mem_decay: np.ndarray
    v_inf: np.ndarray
    v_reset: np.ndarray
    v_threshold: np.ndarray
    reset_amount: np.ndarray  # > 0 for reset by subtraction, 0 for reset to value
    ref_steps: np.ndarray  # int64
    syn_decay: np.ndarray  # (n_populations, n_channels)
    syn_to_mem: np.ndarray  # (n_populations, n_channels)
    # conductance-based populations (neuro.coba); zeros elsewhere. Their channels are
    # conductances in the same rows: syn_decay applies, syn_to_mem is zero
    coba: np.ndarray  # bool (n_populations,)
    e_rev: np.ndarray  # (n_populations, n_channels) reversal potentials
    g_mean: np.ndarray  # (n_populations, n_channels) CobaFactors.g_mean
    dt_over_tau: np.ndarray  # (n_populations,) dt / tau_mem
    # per neuron
    v_init: np.ndarray
    # per population
    kwta_k: np.ndarray  # int64, -1 = no k-WTA
    kwta_hold: np.ndarray  # bool: losers keep v
    # projections (concatenated CSR blocks)
    proj_src_offset: np.ndarray  # global id of the source's first neuron
    proj_tgt_offset: np.ndarray  # global id of the target's first neuron
    proj_channel: np.ndarray  # buffer channel (0 delta, 1 + receptor otherwise)
    proj_indptr_start: np.ndarray  # where the projection's indptr starts in indptr
    proj_syn_start: np.ndarray  # (n_proj + 1,) synapse offsets
    indptr: np.ndarray  # int64, concatenated (local row pointers)
    indices: np.ndarray  # int32, local target indices
    weights: np.ndarray  # dtype
    delays: np.ndarray  # int64 steps
    group_proj_ptr: np.ndarray  # projections leaving each group: CSR over groups
    group_proj_list: np.ndarray
    group_of_pre: np.ndarray  # int32 per global presynaptic id
    max_delay: int
    # plasticity (neuro.engines.plasticity) and adaptive thresholds, per population
    plastic: PlasticPlan | None = None
    adapt: np.ndarray | None = None  # bool: population has an adaptive threshold
    theta_plus: np.ndarray | None = None  # increment per spike
    theta_decay: np.ndarray | None = None  # exp(-dt / tau_theta)
    theta_init: np.ndarray | None = None  # per neuron

    @property
    def n_projections(self) -> int:
        """Number of projections."""
        return int(self.proj_src_offset.size)

    def per_neuron(self, name: str) -> np.ndarray:
        """A per-population constant (e.g. ``"v_threshold"``, ``"syn_decay"``) repeated for
        every neuron, for kernels that index neurons of several populations at once."""
        sizes = np.diff(self.group_offsets[: self.n_populations + 1])
        return np.ascontiguousarray(np.repeat(getattr(self, name), sizes, axis=0))

    def population_slice(self, name: str) -> slice:
        """Global neuron ids of a population or source."""
        g = self.group_names.index(name)
        return slice(int(self.group_offsets[g]), int(self.group_offsets[g + 1]))

    def projection_weights(self, p: int) -> np.ndarray:
        """View of projection ``p``'s weights in the concatenated array."""
        return self.weights[self.proj_syn_start[p] : self.proj_syn_start[p + 1]]


def flatten(network: Network, dt_s: float, dtype: type = np.float64) -> FlatNetwork:
    """Flatten ``network`` for a clock of step ``dt_s`` with state in ``dtype``."""
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    for pr in network.projections:
        pr.synapses.check_dt(dt_s)  # delays in steps of another dt would silently mean other times
    pops = network.populations
    groups = [*pops, *network.sources]
    offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([g.size for g in groups], out=offsets[1:])
    n_neurons = int(offsets[len(pops)])
    n_ch = max((p.params.n_channels for p in pops), default=0)

    factors = [step_factors(p.params, dt_s) for p in pops]
    syn_decay = np.zeros((len(pops), n_ch))
    syn_to_mem = np.zeros((len(pops), n_ch))
    e_rev = np.zeros((len(pops), n_ch))
    g_mean = np.zeros((len(pops), n_ch))
    for j, (p, f) in enumerate(zip(pops, factors)):
        syn_decay[j, : p.params.n_channels] = f.syn_decay
        if p.params.conductance_based:
            e_rev[j, : p.params.n_channels] = p.params.e_rev
            g_mean[j, : p.params.n_channels] = coba_factors(p.params, dt_s).g_mean
        else:
            syn_to_mem[j, : p.params.n_channels] = f.syn_to_mem
    reset_amount = [
        (p.params.v_threshold - p.params.v_reset) if p.params.reset_mode == "subtract" else 0.0
        for p in pops
    ]

    def per_pop(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).astype(dtype)

    names = [g.name for g in groups]
    projs = network.projections
    syn_start = np.zeros(len(projs) + 1, dtype=np.int64)
    np.cumsum([pr.synapses.n_synapses for pr in projs], out=syn_start[1:])
    indptr_start = np.zeros(len(projs), dtype=np.int64)
    if projs:
        indptr_start[1:] = np.cumsum([pr.synapses.indptr.size for pr in projs])[:-1]
    src_of = np.array([names.index(pr.source) for pr in projs], dtype=np.int64)
    order = np.argsort(src_of, kind="stable")
    group_proj_ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum(np.bincount(src_of, minlength=len(groups)), out=group_proj_ptr[1:])

    def cat(arrays: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(arrays).astype(dt) if arrays else np.zeros(0, dtype=dt)

    delays = cat([pr.synapses.delays for pr in projs], np.int64)
    adapt = [p.adaptation for p in pops]
    return FlatNetwork(
        dt_s=float(dt_s),
        dtype=dtype,
        n_neurons=n_neurons,
        n_sources=int(offsets[-1]) - n_neurons,
        n_channels=n_ch,
        group_names=tuple(names),
        group_offsets=offsets,
        n_populations=len(pops),
        mem_decay=per_pop([f.mem_decay for f in factors]),
        v_inf=per_pop([p.params.v_inf for p in pops]),
        v_reset=per_pop([p.params.v_reset for p in pops]),
        v_threshold=per_pop([p.params.v_threshold for p in pops]),
        reset_amount=per_pop(reset_amount),
        ref_steps=np.array([f.ref_steps for f in factors], dtype=np.int64),
        syn_decay=syn_decay.astype(dtype),
        syn_to_mem=syn_to_mem.astype(dtype),
        coba=np.array([p.params.conductance_based for p in pops], dtype=np.bool_),
        e_rev=e_rev.astype(dtype),
        g_mean=g_mean.astype(dtype),
        dt_over_tau=per_pop([dt_s / p.params.tau_mem_s for p in pops]),
        v_init=np.concatenate([p.v_init for p in pops]).astype(dtype),
        kwta_k=np.array([-1 if p.kwta_k is None else p.kwta_k for p in pops], dtype=np.int64),
        kwta_hold=np.array([p.kwta_losers == "hold" for p in pops], dtype=np.bool_),
        proj_src_offset=np.array([offsets[names.index(pr.source)] for pr in projs], dtype=np.int64),
        proj_tgt_offset=np.array([offsets[names.index(pr.target)] for pr in projs], dtype=np.int64),
        proj_channel=np.array(
            [0 if network.population(pr.target).params.n_channels == 0 else 1 + pr.receptor
             for pr in projs],
            dtype=np.int64,
        ),
        proj_indptr_start=indptr_start,
        proj_syn_start=syn_start,
        indptr=cat([pr.synapses.indptr for pr in projs], np.int64),
        indices=cat([pr.synapses.indices for pr in projs], np.int32),
        weights=cat([pr.synapses.weights for pr in projs], dtype),
        delays=delays,
        group_proj_ptr=group_proj_ptr,
        group_proj_list=order.astype(np.int64),
        group_of_pre=np.repeat(np.arange(len(groups), dtype=np.int32), [g.size for g in groups]),
        max_delay=int(delays.max()) if delays.size else 0,
        plastic=build_plastic_plan(network, dt_s, offsets, names, syn_start),
        adapt=np.array([a is not None for a in adapt], dtype=np.bool_),
        theta_plus=per_pop([0.0 if a is None else a.theta_plus for a in adapt]),
        theta_decay=per_pop([1.0 if a is None else a.decay_per_step(dt_s) for a in adapt]),
        theta_init=np.concatenate(
            [np.full(p.size, 0.0 if a is None else a.theta_init) for p, a in zip(pops, adapt)]
        ).astype(dtype),
    )
