"""Potjans & Diesmann 2014 (Cereb Cortex 24:785) cortical microcircuit, ours beside NEST.

Eight populations (L2/3, L4, L5, L6; excitatory and inhibitory), 77,169 neurons at full
scale; parameters as NEST's microcircuit example (network_params.py, sim_params.py):
iaf_psc_exp neurons (tau_m 10 ms, C_m 250 pF, E_L = V_reset = -65 mV, V_th -50 mV,
t_ref 2 ms, tau_syn 0.5 ms), connection probabilities -> fixed total numbers of synapses
with multapses, weights from a PSP of 0.15 mV (x2 for L4E -> L2/3E, x -4 for inhibitory
sources, 10% relative sd, sign kept), delays 1.5 ms (E) / 0.75 ms (I) with 50% sd
truncated at dt, initial potentials N(-58 mV, 10 mV).

Background: ``background="dc"`` (each neuron gets the mean of its K_ext Poisson inputs at
8 Hz as a constant current, :class:`sparse_neuro.neuro.model.inputs.CurrentInjection`; NEST: the
neurons' ``I_e``) or ``"poisson"`` (:class:`sparse_neuro.neuro.model.inputs.PoissonInput`: per
neuron and step a Poisson count of mean K_ext 8 Hz dt; NEST: one ``poisson_generator`` at K_ext 8 Hz
per population, which sends every target its own independent train, as NEST's example does;
both are a Poisson process of rate K_ext 8 Hz per neuron, on the step grid, with
different random numbers).

``scale`` multiplies the population sizes and the total numbers of synapses (in-degrees
unchanged, so no weight compensation is needed), as the example's ``N_scaling``.

The run builds our network (9 bytes a synapse, one copy shared with the engine), runs our
clock engine (float32, ``threads``), frees it, then runs NEST: on our synapses through
:mod:`sparse_neuro.neuro.engines.backends.nest_bridge` up to :data:`SAME_SYNAPSES_MAX` synapses
(there the two produce the same spikes, step for step: the same network, integrated exactly by
both), beyond that by NEST's own connection rules (:func:`nest_microcircuit`: same statistics; NEST
needs ~45-60 bytes a synapse, its full-scale copy would not fit beside ours). Peak memory
per phase is exact (:class:`PeakRSS`). Rates, ISI CVs and synchrony per population after
``t_skip_s``, their agreement (:func:`sparse_neuro.neuro.analysis.compare.compare_populations`), the
published layer ordering (:func:`layer_ordering`), a raster (5% of each population) and
box plots of single-neuron rates (Fig. 6 of the paper).
"""

from __future__ import annotations

import math
import resource
import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SpikeMonitor
from sparse_neuro.neuro.analysis.compare import compare_populations
from sparse_neuro.neuro.analysis.spikes import firing_rates, isi_cv, mean_rate
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.engines.backends.nest_bridge import (
    MV_PER_UNIT,
    NestModel,
    release_nest,
    to_nest,
)
from sparse_neuro.neuro.model.connectivity import (
    SynapseArena,
    fixed_total_number,
    normal_delays_steps,
    normal_weights,
)
from sparse_neuro.neuro.model.inputs import CurrentInjection, PoissonInput
from sparse_neuro.neuro.model.record import Recording, SpikeTrains
from sparse_neuro.neuro.model.validation import check_field_types

__all__ = [
    "Config",
    "run",
    "microcircuit_network",
    "synapse_counts",
    "layer_ordering",
    "PeakRSS",
    "POPULATIONS",
    "PUBLISHED_E_ORDER",
    "SMOKE",
    "QUICK",
]

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
FULL_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
#: Connection probabilities, rows = target, columns = source (POPULATIONS order).
CONN_PROBS = np.array(
    [
        [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
        [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
        [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
        [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
        [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
        [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
        [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
        [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
    ]
)
K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
BG_RATE_HZ = 8.0
PSP_MEAN_V, PSP_REL_SD, G_INH = 0.15e-3, 0.1, -4.0
DELAY_E_S, DELAY_I_S, DELAY_REL_SD = 1.5e-3, 0.75e-3, 0.5
NEURON = LIFParams(
    tau_mem_s=10e-3,
    v_rest=-65e-3,
    v_reset=-65e-3,
    v_threshold=-50e-3,
    t_ref_s=2e-3,
    tau_syn_s=(0.5e-3, 0.5e-3),
)
V0_MEAN_V, V0_SD_V = -58e-3, 10e-3

#: NEST's ``*_hpc`` synapses address at most this many nodes per thread.
HPC_MAX_NODES_PER_THREAD = 65_534


def psp_to_weight(psp: float, params: LIFParams = NEURON) -> float:
    """Synaptic current jump (membrane units) whose PSP peaks at ``psp``.

    A jump ``w`` of a current decaying with ``tau_s`` gives
    ``v(t) = w tau_s / (tau_s - tau_m) (e^{-t/tau_s} - e^{-t/tau_m})``, maximal at
    ``t* = ln(tau_s / tau_m) / (1/tau_m - 1/tau_s)``.
    """
    tm, ts = params.tau_mem_s, params.tau_syn_s[0]
    t_peak = math.log(ts / tm) / (1 / tm - 1 / ts)
    return psp / (ts / (ts - tm) * (math.exp(-t_peak / ts) - math.exp(-t_peak / tm)))


def synapse_counts(scale: float) -> np.ndarray:
    """Total synapses per (target, source): K = ln(1 - p) / ln(1 - 1/(N_pre N_post)) at full
    size, times ``scale`` (NEST example's ``num_synapses_from_conn_probs`` and N_scaling)."""
    n = np.asarray(FULL_SIZES, dtype=np.float64)
    prod = np.outer(n, n)
    k = np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)
    return np.round(k * scale).astype(np.int64)


def microcircuit_network(
    scale: float = 0.1,
    background: str = "dc",
    dt_s: float = 1e-4,
    seed: int = 0,
    *,
    connect: bool = True,
) -> Network:
    """The microcircuit at ``scale`` with DC or Poisson background.

    The synapses (int32 targets, float32 weights, uint8 delays: 9 bytes each) are built
    projection by projection into one :class:`~sparse_neuro.neuro.model.connectivity.SynapseArena`,
    so a clock engine in float32 runs on them in place (2.7 GB at full scale, not twice that).

    Parameters
    ----------
    scale : float
        In (0, 1]: population sizes and total synapse numbers times ``scale``.
    background : str
        ``"dc"`` (constant current, the mean of the Poisson input) or ``"poisson"``.
    dt_s : float
        Step; delays are drawn in seconds and rounded to steps.
    seed : int
    connect : bool
        False: the neurons, inputs and monitors only (for :func:`nest_microcircuit`, which
        connects them by NEST's own rules); the initial potentials are the same.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    if background not in ("dc", "poisson"):
        raise ValueError(f"background must be 'dc' or 'poisson', got {background!r}")
    rng = np.random.default_rng(seed)
    sizes = [max(round(n * scale), 1) for n in FULL_SIZES]
    w_e = psp_to_weight(PSP_MEAN_V)
    pops = [
        Population(name, n, NEURON, rng.normal(V0_MEAN_V, V0_SD_V, n))
        for name, n in zip(POPULATIONS, sizes)
    ]
    counts = synapse_counts(scale) if connect else np.zeros((len(POPULATIONS),) * 2, dtype=np.int64)
    arena = SynapseArena(int(counts.sum()), np.float32, np.uint8)
    projs = []
    for s, src in enumerate(POPULATIONS):
        inh = src.endswith("I")
        for t, tgt in enumerate(POPULATIONS):
            n_syn = int(counts[t, s])
            if n_syn == 0:
                continue
            mean = w_e * (G_INH if inh else (2.0 if (src, tgt) == ("L4E", "L23E") else 1.0))
            d_mean = DELAY_I_S if inh else DELAY_E_S
            w = normal_weights(n_syn, mean, abs(mean) * PSP_REL_SD, seed=rng, dtype=np.float32)
            d = normal_delays_steps(n_syn, d_mean, d_mean * DELAY_REL_SD, dt_s, seed=rng)
            syn = fixed_total_number(sizes[s], sizes[t], n_syn, w, d, seed=rng, arena=arena)
            del w, d
            projs.append(Projection(src, tgt, syn, receptor=1 if inh else 0))
    currents, drives = [], []
    for name, k in zip(POPULATIONS, K_EXT):
        if background == "dc":
            # mean of k Poisson trains at 8 Hz of jumps w_e decaying with tau_syn
            currents.append(CurrentInjection(name, k * BG_RATE_HZ * w_e * NEURON.tau_syn_s[0]))
        else:
            drives.append(PoissonInput(name, k, BG_RATE_HZ, w_e))
    return Network(
        pops,
        projs,
        currents=currents,
        drives=drives,
        monitors=[SpikeMonitor(p) for p in POPULATIONS],
    )


def nest_microcircuit(
    scale: float,
    background: str,
    dt_s: float,
    seed: int,
    threads: int,
    synapse_model: str | None = None,
) -> NestModel:
    """The microcircuit in NEST, connected by NEST's own rules (as NEST's example does).

    Same neurons, initial potentials and background as :func:`microcircuit_network` (through
    :func:`sparse_neuro.neuro.engines.backends.nest_bridge.to_nest` on its unconnected network);
    synapses drawn by NEST from the same distributions (``fixed_total_number`` with multapses and
    autapses, ``redraw``-truncated normal weights and delays, delays rounded to steps by NEST), so
    the two networks agree in statistics, not synapse for synapse. NEST then holds only its
    own copy of the synapses: the full-scale network fits beside nothing of ours.
    ``synapse_model``: default ``static_synapse_hpc`` (NEST's low-memory static synapse,
    same dynamics: 44 B per synapse measured here vs 60 for ``static_synapse``), which
    addresses at most 65,534 nodes per thread; ``static_synapse`` beyond (the full network
    on one thread).
    ``build_wall_s`` covers everything from the description to a ready kernel.
    """
    t0 = time.perf_counter()
    model = to_nest(
        microcircuit_network(scale, background, dt_s, seed, connect=False),
        dt_s,
        seed=seed,
        threads=threads,
    )
    import nest  # loaded by to_nest

    counts = synapse_counts(scale)
    if synapse_model is None:
        per_thread = math.ceil(int(nest.GetKernelStatus("network_size")) / threads)
        synapse_model = (
            "static_synapse_hpc" if per_thread < HPC_MAX_NODES_PER_THREAD else "static_synapse"
        )
    w_e = psp_to_weight(PSP_MEAN_V) * MV_PER_UNIT
    for s, src in enumerate(POPULATIONS):
        inh = src.endswith("I")
        # NEST numbers the connections of one synapse model on one virtual process with 27
        # bits (at most 134,217,726): the full network (299 M) on 1 or 2 threads needs
        # several models; one copy per source population holds at most 93 M
        src_model = f"{synapse_model}_{src}"
        nest.CopyModel(synapse_model, src_model)
        for t, tgt in enumerate(POPULATIONS):
            if counts[t, s] == 0:
                continue
            mean = w_e * (G_INH if inh else (2.0 if (src, tgt) == ("L4E", "L23E") else 1.0))
            d_mean = (DELAY_I_S if inh else DELAY_E_S) * 1e3
            bounds = {"min": -np.inf, "max": 0.0} if inh else {"min": 0.0, "max": np.inf}
            syn = {
                "synapse_model": src_model,
                "weight": nest.math.redraw(
                    nest.random.normal(mean, abs(mean) * PSP_REL_SD), **bounds
                ),
                "delay": nest.math.redraw(
                    nest.random.normal(d_mean, d_mean * DELAY_REL_SD), min=dt_s * 1e3, max=np.inf
                ),
            }
            nest.Connect(
                model.nodes[src],
                model.nodes[tgt],
                {
                    "rule": "fixed_total_number",
                    "N": int(counts[t, s]),
                    "allow_autapses": True,
                    "allow_multapses": True,
                },
                syn,
            )
    model.build_wall_s = time.perf_counter() - t0
    return model


@dataclass(frozen=True)
class Config:
    """microcircuit run parameters (defaults: the full-scale run).

    ``threads`` / ``nest_threads``: threads of our clock engine / NEST; ``precision``: our
    state and weights (``"float32"`` runs on the network's own synapse arrays, no copy).
    ``nest_synapses``: ``"same"`` (our synapses through
    :mod:`sparse_neuro.neuro.engines.backends.nest_bridge`), ``"own"`` (:func:`nest_microcircuit`:
    NEST's rules, same statistics) or ``"auto"`` (same up to :data:`SAME_SYNAPSES_MAX` synapses:
    beyond, NEST's copy (~60 B each) beside ours would not fit in this machine's memory).
    """

    scale: float = 1.0
    background: str = "dc"
    duration_s: float = 1.0
    t_skip_s: float = 0.2
    dt_s: float = 1e-4
    threads: int = 2
    nest_threads: int = 2
    precision: str = "float32"
    nest_synapses: str = "auto"
    run_ours: bool = True
    run_nest: bool = True

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if not self.duration_s > self.t_skip_s >= 0:
            raise ValueError(
                f"need duration_s > t_skip_s >= 0, got {self.duration_s}, {self.t_skip_s}"
            )
        if self.precision not in ("float32", "float64"):
            raise ValueError(f"precision must be 'float32' or 'float64', got {self.precision!r}")
        for name in ("threads", "nest_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.nest_synapses not in ("auto", "same", "own"):
            raise ValueError(
                f"nest_synapses must be 'auto', 'same' or 'own', got {self.nest_synapses!r}"
            )
        if not (self.run_ours or self.run_nest):
            raise ValueError("run_ours and run_nest are both False: nothing to run")


#: ``nest_synapses="auto"`` gives NEST our synapses up to this many (scale ~0.33).
SAME_SYNAPSES_MAX = 100_000_000

SMOKE = {"scale": 0.05, "duration_s": 0.4, "t_skip_s": 0.1, "threads": 1, "nest_threads": 1}
QUICK = {"scale": 0.1}

#: Published layer ordering (Potjans & Diesmann 2014 Fig. 6; van Albada et al. 2018 Fig. 5):
#: excitatory rates rise L2/3 < L6 < L4 < L5, and each layer's inhibitory population fires
#: faster than its excitatory one.
PUBLISHED_E_ORDER = ("L23E", "L6E", "L4E", "L5E")


def layer_ordering(rates: dict[str, float]) -> dict[str, bool]:
    """Whether ``rates`` (population -> Hz) have the published ordering (see
    :data:`PUBLISHED_E_ORDER`): ``excitatory_order`` and ``inhibitory_above_excitatory``."""
    e = [rates[p] for p in PUBLISHED_E_ORDER]
    return {
        "excitatory_order": bool(all(a < b for a, b in zip(e, e[1:]))),
        "inhibitory_above_excitatory": bool(
            all(rates[f"{layer}I"] > rates[f"{layer}E"] for layer in ("L23", "L4", "L5", "L6"))
        ),
    }


class PeakRSS:
    """Peak resident memory (MB) of this process during a ``with`` block.

    Linux keeps the peak (``VmHWM`` in ``/proc/self/status``) and resets it to the current
    size on ``echo 5 > /proc/self/clear_refs``: the block's peak is exact, not sampled.
    Elsewhere ``peak_mb`` is the process's lifetime peak (``ru_maxrss``), an upper bound.
    """

    peak_mb: float = 0.0

    def __enter__(self) -> PeakRSS:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            with open("/proc/self/status") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
        except (OSError, StopIteration):
            kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_mb = kb / 1024


def _synchrony(spikes: SpikeTrains, t0: float, t1: float, bin_s: float = 3e-3) -> float:
    """Variance over mean of the population spike count in ``bin_s`` bins (as Potjans &
    Diesmann 2014 Fig. 6: about 1 for independent Poisson neurons)."""
    keep = (spikes.times_s >= t0) & (spikes.times_s < t1)
    counts = np.bincount(
        ((spikes.times_s[keep] - t0) / bin_s).astype(np.int64), minlength=int((t1 - t0) / bin_s)
    )
    return float(counts.var() / counts.mean()) if counts.mean() > 0 else float("nan")


def _run_ours(net: Network, cfg: Config, seed: int) -> tuple[Recording, dict]:
    dtype = np.float32 if cfg.precision == "float32" else np.float64
    ClockSimulator(
        microcircuit_network(0.002, cfg.background, cfg.dt_s, seed),
        cfg.dt_s,
        dtype=dtype,
        threads=cfg.threads,
    ).run(2e-3)  # compile outside the timings
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        sim = ClockSimulator(net, cfg.dt_s, seed=seed, dtype=dtype, threads=cfg.threads)
        build = time.perf_counter() - t0
        rec = sim.run(cfg.duration_s)
        del sim  # its state (1.2 GB at full scale) is gone before NEST builds
    return rec, {
        "build_wall_s": build,
        "sim_wall_s": rec.meta["wall_s"],
        "peak_rss_mb": mem.peak_mb,
    }


def _nest_gets_our_synapses(cfg: Config) -> bool:
    n_syn = int(synapse_counts(cfg.scale).sum())
    return cfg.nest_synapses == "same" or (
        cfg.nest_synapses == "auto" and n_syn <= SAME_SYNAPSES_MAX
    )


def _run_nest(net: Network | None, cfg: Config, seed: int) -> tuple[Recording, dict]:
    """NEST on ``net``'s synapses, or (``net`` None) on its own (:func:`nest_microcircuit`)."""
    with PeakRSS() as mem:
        if net is not None:
            model = to_nest(net, cfg.dt_s, seed=seed, threads=cfg.nest_threads)
        else:
            model = nest_microcircuit(cfg.scale, cfg.background, cfg.dt_s, seed, cfg.nest_threads)
        rec = model.run(cfg.duration_s)
        release_nest()
    return rec, {
        "nest_build_wall_s": model.build_wall_s,
        "nest_sim_wall_s": rec.meta["sim_wall_s"],
        "nest_peak_rss_mb": mem.peak_mb,
        "nest_synapses": "same as ours"
        if net is not None
        else "NEST's own rules (same statistics)",
    }


def run(cfg: Config, ctx) -> dict:
    """Build ours; run ours, then NEST (on our synapses, or on its own, with ours freed); compare."""
    same = _nest_gets_our_synapses(cfg)
    summary: dict = {"n_synapses": int(synapse_counts(cfg.scale).sum())}
    net = None
    if cfg.run_ours or (cfg.run_nest and same):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            net = microcircuit_network(cfg.scale, cfg.background, cfg.dt_s, ctx.seed)
            build = time.perf_counter() - t0
        summary.update(
            {
                "n_neurons": net.n_neurons,
                "network_build_wall_s": build,
                "network_peak_rss_mb": mem.peak_mb,
                "synapse_mb": sum(pr.synapses.nbytes for pr in net.projections) / 2**20,
            }
        )
    recs: dict[str, Recording] = {}
    if cfg.run_ours:
        recs["ours"], facts = _run_ours(net, cfg, ctx.seed)
        summary.update(facts)
    if cfg.run_nest:
        if not same:
            net = None  # NEST builds its own synapses: ours (2.7 GB at full scale) are freed first
        recs["nest"], facts = _run_nest(net, cfg, ctx.seed)
        summary.update(facts)
    t0, t1 = cfg.t_skip_s, cfg.duration_s
    for sim, rec in recs.items():
        prefix = "" if sim == "ours" else "nest_"
        rates, cvs, sync = {}, {}, {}
        for name in POPULATIONS:
            sp = rec.spikes[name]
            rates[name] = mean_rate(sp, t0, t1)
            cvs[name] = float(np.nanmedian(isi_cv(sp, t_start_s=t0, t_stop_s=t1)))
            sync[name] = _synchrony(sp, t0, t1)
            ctx.save_arrays(
                f"{sim}/{name}", {"times_s": sp.times_s, "indices": sp.indices}, {"size": sp.size}
            )
        summary[f"{prefix}rate_hz"], summary[f"{prefix}isi_cv"], summary[f"{prefix}synchrony"] = (
            rates,
            cvs,
            sync,
        )
        summary[f"{prefix}layer_ordering"] = layer_ordering(rates)
    if len(recs) == 2:
        if same:  # one network, integrated exactly by both: the spikes themselves can agree
            summary["identical_spikes"] = all(
                _same_spikes(recs["ours"].spikes[p], recs["nest"].spikes[p]) for p in POPULATIONS
            )
        agree = compare_populations(
            recs["nest"].spikes, recs["ours"].spikes, t_start_s=t0, t_stop_s=t1, seed=ctx.seed
        )
        summary["rel_rate_diff_vs_nest"] = {p: agree[p]["rate_hz"].rel_diff for p in POPULATIONS}
        summary["max_rel_rate_diff_vs_nest"] = max(summary["rel_rate_diff_vs_nest"].values())
        summary["ks_distance_vs_nest"] = {
            p: {k: a.ks_distance for k, a in agree[p].items()} for p in POPULATIONS
        }
    _plot(ctx, recs, cfg)
    return summary


def _same_spikes(a: SpikeTrains, b: SpikeTrains) -> bool:
    """Whether two recordings hold the same (step, neuron) spikes, in any order."""
    if a.n_spikes != b.n_spikes:
        return False
    ka, kb = (
        np.sort(np.rint(x.times_s / 1e-7).astype(np.int64) * x.size + x.indices) for x in (a, b)
    )
    return bool(np.array_equal(ka, kb))


def _plot(ctx, recs: dict[str, Recording], cfg: Config, fraction: float = 0.05) -> None:
    """Raster of the last 100 ms (``fraction`` of each population's neurons, as the paper's
    Fig. 6A shows a subsample) and box plots of single-neuron rates (Fig. 6B)."""
    fig, axes = plt.subplots(1, len(recs), figsize=(5 * len(recs), 6), squeeze=False)
    for ax, (sim, rec) in zip(axes[0], recs.items()):
        off, ticks = 0, []
        for name in POPULATIONS:
            sp = rec.spikes[name]
            n_show = max(1, int(sp.size * fraction))
            sel = (sp.indices < n_show) & (sp.times_s >= cfg.duration_s - 0.1)
            ax.plot(
                sp.times_s[sel],
                -(sp.indices[sel] + off),
                ".",
                ms=1,
                color="C3" if name.endswith("I") else "C0",
            )
            ticks.append(-(off + n_show / 2))
            off += n_show
        ax.set(
            title=f"{sim}: {fraction:.0%} of each population shown",
            xlabel="time (s)",
            yticks=ticks,
            yticklabels=POPULATIONS,
            xlim=(cfg.duration_s - 0.1, cfg.duration_s),
        )
    ctx.save_figure(fig, "microcircuit_raster")
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(recs)
    for j, (sim, rec) in enumerate(recs.items()):
        data = [firing_rates(rec.spikes[p], cfg.t_skip_s, cfg.duration_s) for p in POPULATIONS]
        bp = ax.boxplot(
            data,
            positions=np.arange(len(POPULATIONS)) + (j - (len(recs) - 1) / 2) * width,
            widths=width * 0.9,
            showfliers=False,
            patch_artist=True,
        )
        for box in bp["boxes"]:
            box.set(facecolor=f"C{j}", alpha=0.5)
        ax.plot([], [], color=f"C{j}", lw=6, alpha=0.5, label=sim)
    ax.set(
        xticks=np.arange(len(POPULATIONS)),
        xticklabels=POPULATIONS,
        ylabel="rate (Hz)",
        title=f"single-neuron rates after {cfg.t_skip_s:g} s (scale {cfg.scale:g}, {cfg.background} background)",
    )
    ax.legend()
    ctx.save_figure(fig, "microcircuit_rates")
