"""Potjans & Diesmann 2014 (Cereb Cortex 24:785) cortical microcircuit, ours beside NEST.

Eight populations (L2/3, L4, L5, L6; excitatory and inhibitory), 77,169 neurons at full
scale; parameters as NEST's microcircuit example (network_params.py, sim_params.py):
iaf_psc_exp neurons (tau_m 10 ms, C_m 250 pF, E_L = V_reset = -65 mV, V_th -50 mV,
t_ref 2 ms, tau_syn 0.5 ms), connection probabilities -> fixed total numbers of synapses
with multapses, weights from a PSP of 0.15 mV (x2 for L4E -> L2/3E, x -4 for inhibitory
sources, 10% relative sd, sign kept), delays 1.5 ms (E) / 0.75 ms (I) with 50% sd
truncated at dt, initial potentials N(-58 mV, 10 mV).

Background: the **DC variant** (each neuron gets the mean of its K_ext Poisson inputs at
8 Hz as a constant current, :class:`neuro.inputs.CurrentInjection`), which our clock
engine runs with either background. The Poisson-background variant
(``background="poisson"``) uses :class:`neuro.inputs.PoissonInput` (run on our side when
the clock engine integrates ``Network.drives``, probed at run time).

``scale`` multiplies the population sizes and the total numbers of synapses (in-degrees
unchanged, so no weight compensation is needed), as the example's ``N_scaling``.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from experiments.brunel import clock_engine_runs_drives
from neuro import LIFParams, Network, Population, Projection, SpikeMonitor
from neuro.analysis import isi_cv
from neuro.connectivity import SynapseArena, fixed_total_number, normal_delays_steps, normal_weights
from neuro.engines import ClockSimulator
from neuro.inputs import CurrentInjection, PoissonInput
from neuro.nest_bridge import run_nest
from neuro.record import SpikeTrains

__all__ = ["Config", "run", "microcircuit_network", "POPULATIONS", "SMOKE", "QUICK"]

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
FULL_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
#: Connection probabilities, rows = target, columns = source (POPULATIONS order).
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
])
K_EXT = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
BG_RATE_HZ = 8.0
PSP_MEAN_V, PSP_REL_SD, G_INH = 0.15e-3, 0.1, -4.0
DELAY_E_S, DELAY_I_S, DELAY_REL_SD = 1.5e-3, 0.75e-3, 0.5
NEURON = LIFParams(tau_mem_s=10e-3, v_rest=-65e-3, v_reset=-65e-3, v_threshold=-50e-3,
                   t_ref_s=2e-3, tau_syn_s=(0.5e-3, 0.5e-3))
V0_MEAN_V, V0_SD_V = -58e-3, 10e-3


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


def microcircuit_network(scale: float = 0.1, background: str = "dc", dt_s: float = 1e-4,
                         seed: int = 0) -> Network:
    """The microcircuit at ``scale`` with DC or Poisson background.

    The synapses (int32 targets, float32 weights, uint8 delays: 9 bytes each) are built
    projection by projection into one :class:`~neuro.connectivity.SynapseArena`, so a clock
    engine in float32 runs on them in place (2.7 GB at full scale, not twice that).

    Parameters
    ----------
    scale : float
        In (0, 1]: population sizes and total synapse numbers times ``scale``.
    background : str
        ``"dc"`` (constant current, the mean of the Poisson input) or ``"poisson"``.
    dt_s : float
        Step; delays are drawn in seconds and rounded to steps.
    seed : int
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    if background not in ("dc", "poisson"):
        raise ValueError(f"background must be 'dc' or 'poisson', got {background!r}")
    rng = np.random.default_rng(seed)
    sizes = [max(round(n * scale), 1) for n in FULL_SIZES]
    w_e = psp_to_weight(PSP_MEAN_V)
    pops = [Population(name, n, NEURON, rng.normal(V0_MEAN_V, V0_SD_V, n))
            for name, n in zip(POPULATIONS, sizes)]
    counts = synapse_counts(scale)
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
    return Network(pops, projs, currents=currents, drives=drives,
                   monitors=[SpikeMonitor(p) for p in POPULATIONS])


@dataclass(frozen=True)
class Config:
    """microcircuit run parameters."""

    scale: float = 0.1
    background: str = "dc"
    duration_s: float = 1.0
    t_skip_s: float = 0.2
    dt_s: float = 1e-4
    nest_threads: int = 1
    run_ours: bool = True

    def __post_init__(self) -> None:
        if not self.duration_s > self.t_skip_s:
            raise ValueError(f"duration_s must be > t_skip_s={self.t_skip_s}, got {self.duration_s}")


SMOKE = {"scale": 0.02, "duration_s": 0.3, "t_skip_s": 0.1}
QUICK = {"scale": 0.1}


def _stats(spikes: SpikeTrains, t0: float) -> tuple[float, float]:
    keep = spikes.times_s >= t0
    sub = SpikeTrains(spikes.times_s[keep] - t0, spikes.indices[keep], spikes.size, spikes.duration_s - t0)
    return sub.n_spikes / (sub.size * sub.duration_s), float(np.nanmedian(isi_cv(sub)))


def run(cfg: Config, ctx) -> dict:
    """Build once; run ours (DC background) and NEST; per-population rates and CVs."""
    tracemalloc.start()
    t0 = time.perf_counter()
    net = microcircuit_network(cfg.scale, cfg.background, cfg.dt_s, ctx.seed)
    summary: dict = {"n_neurons": net.n_neurons, "n_synapses": net.n_synapses,
                     "build_net_wall_s": time.perf_counter() - t0}
    runs = {"nest": lambda: run_nest(net, cfg.duration_s, cfg.dt_s, seed=ctx.seed, threads=cfg.nest_threads)}
    if cfg.run_ours and (cfg.background == "dc" or clock_engine_runs_drives()):
        runs["ours"] = lambda: ClockSimulator(net, cfg.dt_s, seed=ctx.seed).run(cfg.duration_s)
    summary["ours_status"] = "ran" if "ours" in runs else (
        "not run: Poisson background needs Network.drives in the clock engine" if cfg.run_ours else "disabled")
    rates: dict[str, dict[str, float]] = {}
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(5 * (len(runs) + 1), 4))
    for k, (sim, fn) in enumerate(runs.items()):
        t0 = time.perf_counter()
        rec = fn()
        prefix = "" if sim == "ours" else f"{sim}_"
        summary[f"{prefix}sim_wall_s"] = float(rec.meta.get("sim_wall_s", time.perf_counter() - t0))
        summary[f"{prefix}run_wall_s"] = time.perf_counter() - t0
        if sim == "nest":
            summary["nest_build_wall_s"] = rec.meta["build_wall_s"]
        rates[sim], cvs, off = {}, {}, 0
        for name in POPULATIONS:
            sp = rec.spikes[name]
            rates[sim][name], cvs[name] = _stats(sp, cfg.t_skip_s)
            ctx.save_arrays(f"{sim}/{name}", {"times_s": sp.times_s, "indices": sp.indices}, {"size": sp.size})
            sel = (sp.indices < max(1, sp.size // 20)) & (sp.times_s >= cfg.duration_s - 0.1)
            axes[k].plot(sp.times_s[sel], -(sp.indices[sel] + off), ",", color="C3" if name.endswith("I") else "C0")
            off += max(1, sp.size // 20)
        axes[k].set(title=f"{sim} (5% of neurons)", xlabel="time (s)", yticks=[])
        summary[f"{prefix}rate_hz"] = rates[sim]
        summary[f"{prefix}isi_cv"] = cvs
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    summary["python_peak_traced_mb"] = peak / 2**20
    x = np.arange(len(POPULATIONS))
    for j, sim in enumerate(rates):
        axes[-1].bar(x + 0.4 * j, [rates[sim][p] for p in POPULATIONS], 0.4, label=sim)
    axes[-1].set(xticks=x + 0.2, xticklabels=POPULATIONS, ylabel="rate (Hz)")
    axes[-1].legend()
    ctx.save_figure(fig, "microcircuit")
    if "ours" in rates:
        summary["max_rel_rate_diff_vs_nest"] = max(
            abs(rates["ours"][p] - rates["nest"][p]) / max(rates["nest"][p], 1e-9) for p in POPULATIONS)
    return summary
