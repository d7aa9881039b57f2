"""The typed plan: a Network and a time step turned into a few numba records, built once.

Every backend that steps a network on a clock (the clock engine, the Loihi event-queue
model) starts from the same :class:`Plan`, so they agree on global neuron ids, per-neuron
constants and where each projection's synapses live. Compiled stages receive the records,
never long lists of arrays:

- :class:`Neurons`: per-population constants (and the per-neuron refractory steps);
- :class:`Routing`: the synapses, one CSR block per projection, concatenated;
- :class:`sparse_neuro.neuro.engines.learn.PlasticPlan`: the STDP rules of the plastic projections;
- :class:`DriveTable`: the external Poisson drives.

:class:`Model` bundles them (with the thread partitions) as the one argument a stage gets.

Global presynaptic ids: neurons of all populations first (in network order), then the
channels of all sources. A projection's synapse ``s`` is global synapse ``syn_start[p] + s``,
so learned weights map back by slicing. Array dtypes are chosen here and only here: the
builders of the other modules take them from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sparse_neuro.neuro.engines.coba import coba_factors
from sparse_neuro.neuro.engines.layout import CDF_TERMS, MIN_SYN_ROWS, partitions
from sparse_neuro.neuro.engines.learn import PlasticPlan, build_plastic_plan
from sparse_neuro.neuro.engines.rng import poisson_cdf, stream_id
from sparse_neuro.neuro.model.connectivity import concatenate_views
from sparse_neuro.neuro.model.lif import step_factors
from sparse_neuro.neuro.model.network import Network

__all__ = ["DriveTable", "Model", "Neurons", "Plan", "Routing", "drive_table", "build_plan"]


class Neurons(NamedTuple):
    """Neuron constants, per population unless said otherwise (a numba record).

    Attributes
    ----------
    pop_offsets : ndarray of int64 (n_populations + 1,)
        Global ids ``[pop_offsets[k], pop_offsets[k + 1])`` of population ``k``.
    mem_decay, v_inf : ndarray
        ``exp(-dt / tau_mem)`` and the resting potential the membrane relaxes to.
    v_reset, v_threshold : ndarray
    reset_amount : ndarray
        ``> 0``: reset by subtracting it; ``0``: reset to ``v_reset``.
    ref_steps : ndarray of int64
        Refractory period in steps.
    ref_n : ndarray of int64 (n_neurons,)
        ``ref_steps`` of each neuron (read when delta input reaches a neuron).
    syn_decay, syn_to_mem : ndarray (n_populations, max(MIN_SYN_ROWS, n_channels))
        Exact one-step factors of the exponential channels; padding columns are zero.
    kwta_k : ndarray of int64
        ``k`` of k-winners-take-all, ``-1`` without.
    kwta_hold : ndarray of bool
        k-WTA losers keep ``v`` (else they go to ``v_reset``).
    adapt : ndarray of bool
        The population has an adaptive threshold.
    theta_plus, theta_decay : ndarray
        Threshold increment per spike and its one-step decay.
    coba : ndarray of bool
        The population's channels are conductances (:mod:`sparse_neuro.neuro.engines.coba`; its
        ``syn_to_mem`` row is zero, ``syn_decay`` applies).
    e_rev, g_mean : ndarray (n_populations, max(MIN_SYN_ROWS, n_channels))
        Reversal potentials and :class:`sparse_neuro.neuro.engines.coba.CobaFactors` ``g_mean`` of
        conductance channels; zero elsewhere.
    dt_over_tau : ndarray
        ``dt / tau_mem``.
    injected : ndarray of bool
        A current injection targets the population (only then does its update read the
        state's ``drive``: a tenth of the update's memory traffic otherwise).
    """

    pop_offsets: np.ndarray
    mem_decay: np.ndarray
    v_inf: np.ndarray
    v_reset: np.ndarray
    v_threshold: np.ndarray
    reset_amount: np.ndarray
    ref_steps: np.ndarray
    ref_n: np.ndarray
    syn_decay: np.ndarray
    syn_to_mem: np.ndarray
    kwta_k: np.ndarray
    kwta_hold: np.ndarray
    adapt: np.ndarray
    theta_plus: np.ndarray
    theta_decay: np.ndarray
    coba: np.ndarray
    e_rev: np.ndarray
    g_mean: np.ndarray
    dt_over_tau: np.ndarray
    injected: np.ndarray


class Routing(NamedTuple):
    """Where each presynaptic id's synapses are (a numba record).

    Attributes
    ----------
    group_of_pre : ndarray (n_neurons + n_sources,)
        Group (population, then source) of each presynaptic global id.
    gp_ptr, gp_list : ndarray of int64
        Projections leaving each group (CSR over groups).
    p_src_off, p_tgt_off : ndarray of int64 (n_projections,)
        Global id of the first neuron of each projection's source / target.
    p_chan : ndarray of int64
        Input channel of each projection: 0 delta (into ``v``), ``1 + k`` into ``I_k``.
    p_iptr0 : ndarray of int64
        Where each projection's row pointers start in ``indptr``.
    p_syn0 : ndarray of int64 (n_projections + 1,)
        Synapse offsets of the projections.
    indptr, indices, delays : ndarray
        Concatenated local row pointers, local target indices and delays (steps).
    """

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
    cdf : ndarray of float64 (n_drives, CDF_TERMS)
        The drive's Poisson CDF table (:func:`sparse_neuro.neuro.engines.rng.poisson_cdf`) ...
    n_cdf, cdf_tail : ndarray of int64
        ... its length and tail count; ``n_cdf`` is -1 where ``lam`` needs more than
        ``CDF_TERMS`` terms (those drives draw with
        :func:`sparse_neuro.neuro.engines.rng.poisson_count`; the counts are the same).
    """

    lo: np.ndarray
    hi: np.ndarray
    lam: np.ndarray
    weight: np.ndarray
    channel: np.ndarray
    stream: np.ndarray
    cdf: np.ndarray
    n_cdf: np.ndarray
    cdf_tail: np.ndarray


class Model(NamedTuple):
    """What a compiled stage reads about the network (constant during a run).

    Attributes
    ----------
    neurons : Neurons
    routing : Routing
    plastic : PlasticPlan
    drives : DriveTable
    bounds : ndarray of int64
        Thread partitions: partition ``k`` holds neurons ``[bounds[k], bounds[k + 1])``.
    """

    neurons: Neurons
    routing: Routing
    plastic: PlasticPlan
    drives: DriveTable
    bounds: np.ndarray


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
            raise ValueError(
                f"PoissonInput into {drv.target!r}: n_inputs * rate_hz * dt must be "
                f"<= 700 inputs per step, got {lam:g}"
            )
        rows.append(
            (
                offsets[k],
                offsets[k + 1],
                lam,
                drv.weight,
                0 if delta else 1 + drv.receptor,
                stream_id(1, d),
            )
        )
    cols = list(zip(*rows)) if rows else [()] * 6
    types = (np.int64, np.int64, np.float64, np.float64, np.int64, np.int64)
    lo, hi, lam, weight, channel, stream = (np.array(c, dtype=t) for c, t in zip(cols, types))
    cdf = np.zeros((lam.size, CDF_TERMS))
    found = np.array([poisson_cdf(x, row) for x, row in zip(lam, cdf)], np.int64).reshape(-1, 2)
    n_cdf, tail = found[:, 0].copy(), found[:, 1].copy()
    return DriveTable(lo, hi, lam, weight, channel, stream, cdf, n_cdf, tail)


@dataclass(frozen=True, eq=False)
class Plan:
    """A network compiled for a clock of step ``dt_s`` (see module docstring).

    Attributes
    ----------
    dt_s : float
    dtype : numpy float type
        Precision of states, weights and per-population float constants.
    n_neurons, n_sources, n_channels : int
        Neurons, source channels, exponential channels (max over populations).
    group_names : tuple of str
        Populations then sources.
    group_offsets : ndarray of int64 (n_groups + 1,)
        In global presynaptic ids.
    max_delay : int
        Largest synaptic delay in steps (the ring buffer has ``max_delay + 1`` slots).
    model : Model
        The records the compiled stages read.
    weights : ndarray
        Initial concatenated weights (the state holds the current ones).
    v_init, theta_init : ndarray (n_neurons,)
        Initial membrane potentials and adaptive thresholds.
    """

    dt_s: float
    dtype: type
    n_neurons: int
    n_sources: int
    n_channels: int
    group_names: tuple[str, ...]
    group_offsets: np.ndarray
    max_delay: int
    model: Model
    weights: np.ndarray
    v_init: np.ndarray
    theta_init: np.ndarray

    @property
    def neurons(self) -> Neurons:
        """The neuron record."""
        return self.model.neurons

    @property
    def routing(self) -> Routing:
        """The synapse record."""
        return self.model.routing

    @property
    def plastic(self) -> PlasticPlan:
        """The plasticity record."""
        return self.model.plastic

    @property
    def n_populations(self) -> int:
        """Number of populations."""
        return int(self.neurons.pop_offsets.size - 1)

    @property
    def n_projections(self) -> int:
        """Number of projections."""
        return int(self.routing.p_src_off.size)

    def per_neuron(self, values: np.ndarray) -> np.ndarray:
        """A per-population array (first axis) repeated for every neuron of the population."""
        return np.ascontiguousarray(np.repeat(values, np.diff(self.neurons.pop_offsets), axis=0))

    def population_slice(self, name: str) -> slice:
        """Global neuron ids of a population or source."""
        g = self.group_names.index(name)
        return slice(int(self.group_offsets[g]), int(self.group_offsets[g + 1]))

    def projection_slice(self, p: int) -> slice:
        """Projection ``p``'s synapses in the concatenated arrays."""
        return slice(int(self.routing.p_syn0[p]), int(self.routing.p_syn0[p + 1]))


def _neurons(network: Network, dt_s: float, dtype: type, offsets: np.ndarray) -> Neurons:
    """The :class:`Neurons` record of the network's populations."""
    pops = network.populations
    factors = [step_factors(p.params, dt_s) for p in pops]
    n_rows = max(MIN_SYN_ROWS, *(p.params.n_channels for p in pops)) if pops else MIN_SYN_ROWS
    syn_decay = np.zeros((len(pops), n_rows))
    syn_to_mem = np.zeros((len(pops), n_rows))
    e_rev = np.zeros((len(pops), n_rows))
    g_mean = np.zeros((len(pops), n_rows))
    for j, (p, f) in enumerate(zip(pops, factors)):
        syn_decay[j, : p.params.n_channels] = f.syn_decay
        if p.params.conductance_based:
            e_rev[j, : p.params.n_channels] = p.params.e_rev
            g_mean[j, : p.params.n_channels] = coba_factors(p.params, dt_s).g_mean
        else:
            syn_to_mem[j, : p.params.n_channels] = f.syn_to_mem

    def per_pop(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).astype(dtype)

    ref_steps = np.array([f.ref_steps for f in factors], dtype=np.int64)
    adapt = [p.adaptation for p in pops]
    return Neurons(
        pop_offsets=offsets[: len(pops) + 1].copy(),
        mem_decay=per_pop([f.mem_decay for f in factors]),
        v_inf=per_pop([p.params.v_inf for p in pops]),
        v_reset=per_pop([p.params.v_reset for p in pops]),
        v_threshold=per_pop([p.params.v_threshold for p in pops]),
        reset_amount=per_pop(
            [
                (p.params.v_threshold - p.params.v_reset)
                if p.params.reset_mode == "subtract"
                else 0.0
                for p in pops
            ]
        ),
        ref_steps=ref_steps,
        ref_n=np.repeat(ref_steps, [p.size for p in pops]),
        syn_decay=syn_decay.astype(dtype),
        syn_to_mem=syn_to_mem.astype(dtype),
        kwta_k=np.array([-1 if p.kwta_k is None else p.kwta_k for p in pops], dtype=np.int64),
        kwta_hold=np.array([p.kwta_losers == "hold" for p in pops], dtype=np.bool_),
        adapt=np.array([a is not None for a in adapt], dtype=np.bool_),
        theta_plus=per_pop([0.0 if a is None else a.theta_plus for a in adapt]),
        theta_decay=per_pop([1.0 if a is None else a.decay_per_step(dt_s) for a in adapt]),
        coba=np.array([p.params.conductance_based for p in pops], dtype=np.bool_),
        e_rev=e_rev.astype(dtype),
        g_mean=g_mean.astype(dtype),
        dt_over_tau=per_pop([dt_s / p.params.tau_mem_s for p in pops]),
        injected=np.array(
            [p.name in {c.target for c in network.currents} for p in pops], dtype=np.bool_
        ),
    )


def _routing(network: Network, names: list[str], offsets: np.ndarray) -> Routing:
    """The :class:`Routing` record of the network's projections."""
    projs = network.projections
    syn_start = np.zeros(len(projs) + 1, dtype=np.int64)
    np.cumsum([pr.synapses.n_synapses for pr in projs], out=syn_start[1:])
    indptr_start = np.zeros(len(projs), dtype=np.int64)
    if projs:
        indptr_start[1:] = np.cumsum([pr.synapses.indptr.size for pr in projs])[:-1]
    src_of = np.array([names.index(pr.source) for pr in projs], dtype=np.int64)
    gp_ptr = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum(np.bincount(src_of, minlength=len(names)), out=gp_ptr[1:])

    def cat(arrays: list[np.ndarray], dt: type) -> np.ndarray:
        # projections of one SynapseArena are used in place (shared with the network)
        return concatenate_views(arrays, dt)

    return Routing(
        group_of_pre=np.repeat(np.arange(len(names), dtype=np.int32), np.diff(offsets)),
        gp_ptr=gp_ptr,
        gp_list=np.argsort(src_of, kind="stable").astype(np.int64),
        p_src_off=np.array([offsets[names.index(pr.source)] for pr in projs], dtype=np.int64),
        p_tgt_off=np.array([offsets[names.index(pr.target)] for pr in projs], dtype=np.int64),
        p_chan=np.array(
            [
                0 if network.population(pr.target).params.n_channels == 0 else 1 + pr.receptor
                for pr in projs
            ],
            dtype=np.int64,
        ),
        p_iptr0=indptr_start,
        p_syn0=syn_start,
        indptr=cat([pr.synapses.indptr for pr in projs], np.int64),
        indices=cat([pr.synapses.indices for pr in projs], np.int32),
        delays=cat(
            [pr.synapses.delays for pr in projs],  # 1 byte a synapse (uint8) when it fits
            np.result_type(np.uint8, *(pr.synapses.delays.dtype for pr in projs)),
        ),
    )


def build_plan(network: Network, dt_s: float, dtype: type = np.float64) -> Plan:
    """The :class:`Plan` of ``network`` for a clock of step ``dt_s``, states in ``dtype``."""
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    for pr in network.projections:
        pr.synapses.check_dt(dt_s)  # delays in steps of another dt would silently mean other times
    pops = network.populations
    groups = [*pops, *network.sources]
    names = [g.name for g in groups]
    offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([g.size for g in groups], out=offsets[1:])
    n_neurons = int(offsets[len(pops)])
    routing = _routing(network, names, offsets)
    weights = concatenate_views([pr.synapses.weights for pr in network.projections], dtype)
    theta_init = (
        np.concatenate(
            [
                np.full(p.size, 0.0 if p.adaptation is None else p.adaptation.theta_init)
                for p in pops
            ]
        )
        if pops
        else np.zeros(0)
    )
    model = Model(
        neurons=_neurons(network, dt_s, dtype, offsets),
        routing=routing,
        plastic=build_plastic_plan(network, dt_s, offsets, names, routing.p_syn0),
        drives=drive_table(network, dt_s),
        bounds=partitions(n_neurons, routing, offsets),
    )
    return Plan(
        dt_s=float(dt_s),
        dtype=dtype,
        n_neurons=n_neurons,
        n_sources=int(offsets[-1]) - n_neurons,
        n_channels=max((p.params.n_channels for p in pops), default=0),
        group_names=tuple(names),
        group_offsets=offsets,
        max_delay=int(routing.delays.max()) if routing.delays.size else 0,
        model=model,
        weights=weights,
        v_init=np.concatenate([p.v_init for p in pops]).astype(dtype),
        theta_init=theta_init.astype(dtype),
    )
