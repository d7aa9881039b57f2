"""Run a :class:`sparse_neuro.neuro.model.network.Network` in NEST 3.10: same neurons, synapses and
initial state.

NEST is the reference simulator of the canonical network benchmarks (Brette et al. 2007,
Brunel 2000, Potjans & Diesmann 2014); this bridge builds the *same* network there, as
:mod:`sparse_neuro.neuro.engines.backends.brian2_bridge` does for Brian2. It is an optional
dependency (``pip install -e ".[reference]"``); importing this module does not import NEST.

Unit mapping. Our potentials (volts, or dimensionless membrane units treated as volts) are
passed to NEST in mV (``x 1000``). Our synaptic currents and biases are in membrane units
(the steady-state shift of ``v`` they cause); NEST's are in pA with
``C_m dV/dt = -g_L (V - E_L) + I``. Choosing ``C_m = tau_m`` (pF per ms) makes
``g_L = 1 nS``, so a current of ``x`` mV of steady-state shift is exactly ``x`` pA:
weights, ``bias`` (``I_e``) and :class:`~sparse_neuro.neuro.model.inputs.CurrentInjection`
(``dc_generator``) keep their numbers after the ``x 1000``.

Neuron models (all integrated exactly on the grid, as our clock engine):
delta synapses -> ``iaf_psc_delta`` (inputs during the refractory period discarded, as
ours); one or two exponential channels whose weights are routed by sign (channel 0
excitatory >= 0, channel 1 inhibitory <= 0) -> ``iaf_psc_exp``; otherwise
``iaf_psc_exp_multisynapse`` with receptor ``k + 1`` for channel ``k``.

Conductance-based populations (``LIFParams.e_rev``, :mod:`sparse_neuro.neuro.engines.coba`) ->
``iaf_cond_exp`` (at most two channels: channel 0 excitatory, channel 1 inhibitory, selected in NEST
by the weight's sign, so our weights, which must be >= 0, are passed negated into channel 1).
With ``C_m = tau_m`` and ``g_L = 1 nS`` our leak-relative conductances are nS. NEST
integrates ``iaf_cond_exp`` with GSL's adaptive RKF45 (ours: step-mean conductance, exact
membrane step), so trajectories agree to the integration error, spikes statistically.

Timing. A spike emitted in step ``n`` with our delay ``d >= 1`` (in steps) reaches an
exponential-synapse target's membrane in the same step as NEST's with a delay of ``d``
resolution steps, and a delta-synapse target's as NEST's with ``d + 1`` steps (checked spike
for spike in tests/test_nest_bridge.py). NEST's minimum delay is one step, so our ``d = 0``
into exponential synapses becomes one step (one step later than ours and Brian2's). NEST
thresholds with ``V >= V_th`` (ours ``v > v_th``), irrelevant for
continuous potentials. The refractory
period is passed as ``(ref_steps - 1) * dt`` (see :func:`_neuron_params`), so both release
the membrane in the same step.

Inputs. A :class:`~sparse_neuro.neuro.model.inputs.SpikeArraySource` channel is a
``spike_generator`` whose spike of our step ``n`` is stamped ``(n + 1) dt``, as a neuron's spike of
step ``n`` is, and which sends it to every target (NEST refuses a spike at time 0, so there is none
to shift). :class:`~sparse_neuro.neuro.model.inputs.PoissonSource` channels are ``parrot_neuron``s
each fed by its own ``poisson_generator`` (a generator alone would send independent trains to every
target; the parrot repeats one train to all its targets, as our source does).
:class:`~sparse_neuro.neuro.model.inputs.PoissonInput` is one ``poisson_generator`` at
``n_inputs * rate_hz`` connected to every target neuron: NEST draws an independent train per target,
which is exactly the drive's definition (a Poisson count per neuron and step). Random streams differ
from ours: agreement is statistical.

Recording. Spike and rate monitors (rates from the recorded spikes of each step); times are
absolute, as on every backend. :class:`NestSimulator` is the backend of the
:class:`~sparse_neuro.neuro.engines.protocol.Simulator` protocol
(``simulate(net, ..., backend="nest", threads=4)``); what it does not run
(``reset_mode="subtract"``, k-WTA, threshold adaptation, plasticity, state monitors, checkpoints:
NEST cannot save its kernel's state) is refused by name before any work
(:class:`~sparse_neuro.neuro.engines.capabilities.UnsupportedFeatureError`).

Several processes (MPI). NEST distributes the neurons over its MPI processes; the bridge
builds the whole network on every rank (NEST keeps the local nodes), and each rank's
recording holds the spikes of the neurons that rank hosts (``meta["nest_rank"]``,
``meta["nest_processes"]``; rates are those spikes over the whole population, so the ranks'
rates add up): gather them to get every spike. Not run here (the ``reference`` extra's NEST
wheel is built without MPI).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparse_neuro.neuro.engines.capabilities import UnsupportedFeatureError, check_supported
from sparse_neuro.neuro.engines.drive import time_to_step
from sparse_neuro.neuro.engines.registry import register_backend
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.inputs import SpikeArraySource
from sparse_neuro.neuro.model.lif import step_factors
from sparse_neuro.neuro.model.network import Network, Population
from sparse_neuro.neuro.model.record import RateMonitor, Recording, SpikeTrains, run_meta
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model.validation import check_duration

__all__ = [
    "NestModel",
    "NestSimulator",
    "to_nest",
    "run_nest",
    "release_nest",
    "nest_available",
    "MV_PER_UNIT",
]

#: Our potentials (volts) are NEST's millivolts divided by this.
MV_PER_UNIT = 1e3


def _avoid_openmp_clash() -> None:
    """Keep numba off OpenMP in a process that may load NEST.

    NEST's wheel bundles its own libgomp; numba's ``"omp"`` threading layer (its default
    here) loads a second OpenMP runtime, and the two in one process segfault in
    ``nest.ResetKernel`` once the clock engine's parallel stages have run. numba's own
    ``"workqueue"`` layer runs the same kernels. Takes effect only before numba first
    launches its threads, hence at import of this module; an explicit
    ``NUMBA_THREADING_LAYER`` is respected.
    """
    if "NUMBA_THREADING_LAYER" not in os.environ:
        import numba

        numba.config.THREADING_LAYER = "workqueue"


_avoid_openmp_clash()


def nest_available() -> bool:
    """True when ``import nest`` works (the optional ``reference`` extra is installed)."""
    try:
        _import_nest()
    except ImportError:
        return False
    return True


def _import_nest() -> Any:
    # NEST prints a multi-line banner on import; keep logs readable.
    os.environ.setdefault("PYNEST_QUIET", "1")
    with contextlib.redirect_stdout(io.StringIO()):
        import nest
    nest.verbosity = nest.VerbosityLevel.ERROR
    return nest


def _model_for(network: Network, pop: Population) -> str:
    """The NEST neuron model that integrates ``pop`` exactly like our clock engine."""
    n_ch = pop.params.n_channels
    if pop.params.conductance_based:
        return "iaf_cond_exp"
    if n_ch == 0:
        return "iaf_psc_delta"
    if n_ch <= 2:
        signs_ok = True
        for pr in network.projections:
            if pr.target != pop.name or pr.synapses.n_synapses == 0:
                continue
            w = pr.synapses.weights
            signs_ok &= bool(np.all(w >= 0)) if pr.receptor == 0 else bool(np.all(w <= 0))
        for d in network.drives:
            if d.target == pop.name:
                signs_ok &= d.weight >= 0 if d.receptor == 0 else d.weight <= 0
        if signs_ok:
            return "iaf_psc_exp"
    return "iaf_psc_exp_multisynapse"


def _neuron_params(model: str, pop: Population, dt_s: float) -> dict[str, Any]:
    p = pop.params
    tau_ms = p.tau_mem_s * 1e3
    out: dict[str, Any] = {
        "tau_m": tau_ms,
        "C_m": tau_ms,  # g_L = 1 nS: 1 pA of current = 1 mV of steady-state shift
        "E_L": p.v_rest * MV_PER_UNIT,
        "V_reset": p.v_reset * MV_PER_UNIT,
        "V_th": p.v_threshold * MV_PER_UNIT,
        # NEST clamps V for all of the t_ref / dt steps after the spike step; ours (and
        # Brian2) integrate again from step n + ref_steps, one step earlier
        "t_ref": max(step_factors(p, dt_s).ref_steps - 1, 0) * dt_s * 1e3,
        "I_e": p.bias * MV_PER_UNIT,
    }
    taus = [t * 1e3 for t in p.tau_syn_s]
    if model == "iaf_cond_exp":  # C_m = tau_m above makes g_L = 1 nS: leak units are nS
        e_rev = [e * MV_PER_UNIT for e in p.e_rev]
        del out["tau_m"]  # iaf_cond_exp takes tau_m as C_m / g_L
        out.update(g_L=1.0, E_ex=e_rev[0], E_in=e_rev[-1], tau_syn_ex=taus[0], tau_syn_in=taus[-1])
    elif model == "iaf_psc_exp":
        out["tau_syn_ex"] = taus[0]
        out["tau_syn_in"] = taus[-1]
    elif model == "iaf_psc_exp_multisynapse":
        out["tau_syn"] = taus
    return out


def _nest_weights(weights: np.ndarray | float, model: str, receptor: int) -> np.ndarray:
    """NEST weights of ours into a ``model`` target's channel ``receptor``: membrane units ->
    pA (x 1000), or for ``iaf_cond_exp`` leak units -> nS (x g_L = 1 nS), negative for the
    inhibitory conductance (channel 1), which NEST selects by the weight's sign."""
    w = np.asarray(weights, dtype=np.float64)
    if model == "iaf_cond_exp":
        return -w if receptor == 1 else w
    return w * MV_PER_UNIT


def _nest_delay_steps(delays: np.ndarray, model: str) -> np.ndarray:
    """NEST delays (in steps) that deliver at the step our ``delays`` do (module docstring)."""
    if model == "iaf_psc_delta":
        # iaf_psc_delta adds an arriving input to V before its threshold test, one step
        # earlier than the exponential models, which add it to the current after V's update
        return delays.astype(np.float64) + 1.0
    return np.maximum(delays, 1).astype(np.float64)  # NEST's minimum delay: one step


def _check_supported(network: Network) -> None:
    """The declared features (registered below), then what the NEST models add: a
    conductance population's channels are selected by the weight's sign."""
    check_supported(network, "nest")
    for pop in network.populations:
        if pop.params.conductance_based:  # iaf_cond_exp routes channels by weight sign
            feeds = [
                (pr.name, pr.synapses.weights)
                for pr in network.projections
                if pr.target == pop.name
            ]
            feeds += [
                (f"PoissonInput into {d.target!r}", np.asarray([d.weight]))
                for d in network.drives
                if d.target == pop.name
            ]
            for where, w in feeds:
                if w.size and float(np.min(w)) < 0:
                    raise ValueError(
                        f"{where}: conductance weights must be >= 0 "
                        f"(iaf_cond_exp), got min {float(np.min(w))}"
                    )


def _spike_generators(nest: Any, src: SpikeArraySource, dt_s: float) -> Any:
    """One ``spike_generator`` per channel of ``src``: the spike of our step ``n`` stamped
    ``(n + 1) dt`` (a neuron's spike of step ``n`` is), sent as it is to every target."""
    step = time_to_step(src.times_s, dt_s)
    gens = nest.Create("spike_generator", src.size)
    for k in range(src.size):
        mine = np.unique(step[src.indices == k])
        if mine.size != np.count_nonzero(src.indices == k):
            raise ValueError(
                f"SpikeArraySource {src.name!r}: channel {k} spikes more than "
                f"once in one step of {dt_s} s"
            )
        # on NEST's grid: whole steps of the resolution, in ms
        gens[k].set(spike_times=np.round((mine + 1) * dt_s * 1e3, 9).tolist())
    return gens


@dataclass(eq=False)
class NestModel:
    """A network built in the (global) NEST kernel, ready to :meth:`run`.

    NEST keeps one kernel per process: building another model resets it, after which this
    one can no longer run.

    Attributes
    ----------
    network : Network
    dt_s : float
        NEST resolution.
    threads : int
        ``local_num_threads``.
    nodes : dict of str to NodeCollection
        Neurons per population, parrots per source.
    recorders : dict of str to NodeCollection
        ``spike_recorder`` per spike- or rate-monitored population/source.
    models : dict of str to str
        NEST neuron model per population.
    build_wall_s : float
        Wall time of :func:`to_nest` (node creation and connection).
    rate_monitored : frozenset of str
        Populations with a rate monitor.
    """

    network: Network
    dt_s: float
    threads: int
    nodes: dict[str, Any]
    recorders: dict[str, Any]
    models: dict[str, str]
    build_wall_s: float
    rate_monitored: frozenset[str] = frozenset()
    wall_s: float = 0.0
    t_s: float = 0.0

    def run(self, duration_s: float) -> Recording:
        """Simulate ``duration_s`` more seconds and return what was recorded in that time.

        Returns
        -------
        Recording
            ``spikes`` per spike-monitored population or source and ``rates`` per
            rate-monitored population, on our step grid (NEST's stamp ``(n + 1) dt`` is our
            step ``n``), absolute times; ``meta`` holds
            :data:`sparse_neuro.neuro.model.record.META_KEYS`, ``threads``, ``sim_wall_s``,
            ``build_wall_s``, ``nest_models``, ``nest_rank`` and ``nest_processes`` (under MPI a
            rank records the neurons it hosts).
        """
        # whole steps only, as every backend (one helper for all), before touching NEST
        n_steps = check_duration(duration_s, self.dt_s, self.network.n_neurons)
        nest = _import_nest()
        if _KERNEL["model"] is not self:
            raise RuntimeError("the NEST kernel was reset by another to_nest(): rebuild this model")
        t0 = time.perf_counter()
        nest.Simulate(n_steps * self.dt_s * 1e3)
        wall = time.perf_counter() - t0
        self.wall_s += wall
        start_step = int(round(self.t_s / self.dt_s))
        t_start = start_step * self.dt_s
        spike_mon = set(self.network.spike_monitored())
        spikes, rates = {}, {}
        for name, rec in self.recorders.items():
            ev = rec.get("events")
            first = self.nodes[name].tolist()[0]
            # stamp (n + 1) dt in ms -> our step n
            step = np.rint(np.asarray(ev["times"]) / (self.dt_s * 1e3)).astype(np.int64) - 1
            keep = step >= start_step
            size = self.network.size(name)
            if name in spike_mon:
                spikes[name] = SpikeTrains(
                    step[keep] * self.dt_s,
                    np.asarray(ev["senders"])[keep] - first,
                    size,
                    n_steps * self.dt_s,
                    t_start_s=t_start,
                )
            if name in self.rate_monitored:
                rates[name] = np.bincount(step[keep] - start_step, minlength=n_steps) / (
                    size * self.dt_s
                )
            rec.set(n_events=0)
        self.t_s += n_steps * self.dt_s
        meta = run_meta(
            "nest",
            wall,
            t_start,
            n_steps,
            threads=self.threads,
            sim_wall_s=wall,
            build_wall_s=self.build_wall_s,
            nest_models=dict(self.models),
            nest_rank=int(nest.Rank()),
            nest_processes=int(nest.NumProcesses()),
        )
        return Recording(spikes, {}, rates, self.dt_s, n_steps * self.dt_s, meta)


_KERNEL: dict[str, Any] = {"model": None}


def to_nest(network: Network, dt_s: float, *, seed: int = 0, threads: int = 1) -> NestModel:
    """Reset the NEST kernel and build ``network`` in it.

    Parameters
    ----------
    network : Network
    dt_s : float
        Resolution in seconds, > 0 (NEST works on a 0.1 us tic grid).
    seed : int
        NEST's ``rng_seed`` (Poisson generators), in [1, 2**31 - 1] after ``+ 1``.
    threads : int
        ``local_num_threads``, >= 1.

    Returns
    -------
    NestModel
    """
    for pr in network.projections:
        pr.synapses.check_dt(dt_s)  # delays made for another step would mean other times
    if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a finite number > 0 s, got {dt_s!r}")
    if int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if int(seed) != seed or not 0 <= seed < 2**31 - 2:
        raise ValueError(f"seed must be an integer in [0, 2**31 - 2), got {seed!r}")
    _check_supported(network)
    nest = _import_nest()
    t0 = time.perf_counter()
    nest.ResetKernel()
    nest.SetKernelStatus(
        {
            "resolution": dt_s * 1e3,
            "local_num_threads": int(threads),
            "rng_seed": int(seed) + 1,
            "print_time": False,
        }
    )
    nodes: dict[str, Any] = {}
    models: dict[str, str] = {}
    for pop in network.populations:
        model = _model_for(network, pop)
        nc = nest.Create(model, pop.size, params=_neuron_params(model, pop, dt_s))
        nc.set(V_m=(pop.v_init * MV_PER_UNIT).tolist())
        nodes[pop.name], models[pop.name] = nc, model
    for src in network.sources:
        if isinstance(src, SpikeArraySource):
            nodes[src.name] = _spike_generators(nest, src, dt_s)
            continue
        parrots = nest.Create("parrot_neuron", src.size)
        gens = nest.Create("poisson_generator", src.size)
        gens.set(rate=src.rate_hz.tolist())
        nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": dt_s * 1e3})
        nodes[src.name] = parrots
    for pr in network.projections:
        syn = pr.synapses
        if syn.n_synapses == 0:
            continue
        pre = nodes[pr.source]
        post = nodes[pr.target]
        pre_ids = np.asarray(pre.tolist())[syn.pre_indices()]
        post_ids = np.asarray(post.tolist())[syn.indices]
        steps = _nest_delay_steps(syn.delays, models[pr.target])
        spec = {
            "synapse_model": "static_synapse",
            "weight": _nest_weights(syn.weights, models[pr.target], pr.receptor),
            "delay": steps * dt_s * 1e3,
        }
        if models[pr.target] == "iaf_psc_exp_multisynapse":
            spec["receptor_type"] = pr.receptor + 1
        nest.Connect(pre_ids, post_ids, "one_to_one", syn_spec=spec)
    for d in network.drives:
        gen = nest.Create("poisson_generator", params={"rate": d.n_inputs * d.rate_hz})
        spec = {
            "weight": float(_nest_weights(d.weight, models[d.target], d.receptor)),
            "delay": float(_nest_delay_steps(np.zeros(1), models[d.target])[0]) * dt_s * 1e3,
        }
        if models[d.target] == "iaf_psc_exp_multisynapse":
            spec["receptor_type"] = d.receptor + 1
        nest.Connect(gen, nodes[d.target], "all_to_all", syn_spec=spec)
    for c in network.currents:
        tgt = nodes[c.target]
        amp = np.broadcast_to(c.amplitude * MV_PER_UNIT, (len(tgt),))
        if c.start_s < dt_s / 2 and math.isinf(c.stop_s):
            # on for the whole run: the neurons' own I_e acts from step 0 as ours does (a
            # generator, one step late, would start a different trajectory)
            tgt.set(I_e=(np.asarray(tgt.get("I_e"), dtype=np.float64) + amp).tolist())
            continue
        # the generator's current reaches the membrane one step after its active window
        # opens; open it one step early so the drive starts in the step ours does
        start = max(c.start_s - dt_s, 0.0) * 1e3
        stop = {} if math.isinf(c.stop_s) else {"stop": (c.stop_s - dt_s) * 1e3}
        gens = nest.Create("dc_generator", len(tgt), params={"start": start, **stop})
        gens.set(amplitude=amp.tolist())
        nest.Connect(gens, tgt, "one_to_one", syn_spec={"delay": dt_s * 1e3})
    recorders = {}
    rated = frozenset(m.target for m in network.monitors if isinstance(m, RateMonitor))
    for name in dict.fromkeys([*network.spike_monitored(), *sorted(rated)]):
        rec = nest.Create("spike_recorder")
        nest.Connect(nodes[name], rec)
        recorders[name] = rec
    model = NestModel(
        network,
        float(dt_s),
        int(threads),
        nodes,
        recorders,
        models,
        time.perf_counter() - t0,
        rated,
    )
    _KERNEL["model"] = model
    return model


def run_nest(
    network: Network, duration_s: float, dt_s: float, *, seed: int = 0, threads: int = 1
) -> Recording:
    """Build ``network`` in NEST and simulate it for ``duration_s`` seconds (one call)."""
    return to_nest(network, dt_s, seed=seed, threads=threads).run(duration_s)


def release_nest() -> None:
    """Reset the NEST kernel, freeing the memory of the model built last (which can then no
    longer run): a full-scale model holds gigabytes until the next :func:`to_nest`."""
    if _KERNEL["model"] is not None:
        _import_nest().ResetKernel()
        _KERNEL["model"] = None


class NestSimulator:
    """A network run by NEST behind the :class:`~sparse_neuro.neuro.engines.protocol.Simulator`
    protocol.

    NEST keeps one kernel per process: building another NEST simulator (or
    :func:`to_nest`) resets it, after which this one must be :meth:`reset` to run again.

    Parameters
    ----------
    network : Network
        Checked against the declared features first (see the module docstring).
    dt_s : float
        NEST's resolution, > 0.
    seed : int
        NEST's random seed (Poisson sources and drives), in [0, 2**31 - 2).
    threads : int
        NEST's ``local_num_threads`` per process, >= 1. Spikes depend on it (NEST draws a
        random stream per thread), as on no other backend.

    Examples
    --------
    >>> sim = NestSimulator(net, 1e-4, seed=1, threads=2)     # doctest: +SKIP
    >>> rec = sim.run(0.5)                                    # doctest: +SKIP
    """

    def __init__(self, network: Network, dt_s: float, *, seed: int = 0, threads: int = 1):
        self.model = to_nest(network, dt_s, seed=seed, threads=threads)
        self.network, self.seed, self.threads = network, int(seed), int(threads)

    @property
    def dt_s(self) -> float:
        """The time step (NEST's resolution), in seconds."""
        return self.model.dt_s

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self.model.t_s

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` (see :meth:`NestModel.run`); ``progress`` turns on
        NEST's own progress print."""
        # whole steps only, before touching NEST (NestModel.run checks again: it is public too)
        check_duration(duration_s, self.dt_s, self.network.n_neurons)
        _import_nest().SetKernelStatus({"print_time": bool(progress)})
        return self.model.run(duration_s)

    def reset(self, *, keep_weights: bool = False) -> None:
        """The network rebuilt in a fresh kernel at ``t = 0`` with the same seed. Weights are
        static in NEST (no plasticity is exported), so ``keep_weights`` changes nothing."""
        self.model = to_nest(self.network, self.dt_s, seed=self.seed, threads=self.threads)

    def state_dict(self) -> dict[str, object]:
        """Refused: NEST cannot save its kernel's state (spikes in flight, random streams).

        Raises
        ------
        UnsupportedFeatureError
        """
        raise UnsupportedFeatureError("nest", {Feature.CHECKPOINTS: ["a call of state_dict()"]})

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Refused, as :meth:`state_dict`."""
        raise UnsupportedFeatureError(
            "nest", {Feature.CHECKPOINTS: ["a call of load_state_dict()"]}
        )

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses (static in NEST: the network's)."""
        return [pr.synapses for pr in self.network.projections]

    def counters(self) -> None:
        """No hardware counters on this backend."""
        return None


#: What the bridge exports (module docstring); plastic, adaptive, k-WTA and subtract-reset
#: neurons have no NEST model here, state monitors are not exported, and NEST cannot save
#: its kernel's state.
NEST_FEATURES: frozenset[Feature] = frozenset(
    {
        Feature.EXP_CHANNELS,
        Feature.CONDUCTANCE,
        Feature.DELAYS,
        Feature.CURRENT_INJECTION,
        Feature.POISSON_INPUT,
        Feature.POISSON_SOURCES,
        Feature.SPIKE_ARRAY_SOURCES,
    }
)

register_backend(
    "nest",
    NestSimulator,
    NEST_FEATURES,
    "the NEST bridge runs static synapses, no k-WTA, adaptation or subtract "
    "reset, and cannot checkpoint",
)
