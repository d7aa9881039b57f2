"""Brunel 2000 (J Comput Neurosci 8:183) sparse E-I network: the four regimes of Fig. 8.

10,000 excitatory + 2,500 inhibitory LIF neurons with delta (voltage-jump) synapses:
tau_m 20 ms, threshold 20 mV, reset 10 mV, refractory 2 ms; every neuron receives
C_E = 1,000 excitatory inputs of J = 0.1 mV and C_I = 250 inhibitory inputs of -g J
(fixed in-degree, multapses allowed, as NEST's brunel_delta example), delay D = 1.5 ms,
and an external Poisson drive of C_E trains at nu_ext = nu_ratio * nu_thr,
nu_thr = theta / (J C_E tau_m) (:class:`sparse_neuro.neuro.model.inputs.PoissonInput`).

Regimes (Fig. 8): A ``sr`` synchronous regular (g = 3, nu_ratio = 2), B ``si_fast``
synchronous irregular with a fast global oscillation (g = 6, 4), C ``ai`` asynchronous
irregular, stationary global activity (g = 5, 2), D ``si_slow`` synchronous irregular
with a slow global oscillation (g = 4.5, 0.9). ``--set g=.. --set nu_ratio=..`` runs any other
point of the phase diagram (reported as regime ``custom``).

Statistics of the first ``n_analyzed`` excitatory neurons after ``t_skip_s``: mean rate,
median ISI CV, mean Fano factor, the peak of the population-rate spectrum and a synchrony
index (variance over mean of the population spike count in 1 ms bins: about 1 for
independent neurons, >> 1 for synchronous activity); :func:`classify` names the regime.
The NEST run uses :mod:`sparse_neuro.neuro.engines.backends.nest_bridge` on the same synapses and
initial potentials; ours runs the external drive as
:class:`sparse_neuro.neuro.model.inputs.PoissonInput` on the clock engine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy import signal

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SpikeMonitor
from sparse_neuro.neuro.analysis import fano_factor, isi_cv
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.engines.backends.nest_bridge import run_nest
from sparse_neuro.neuro.model.connectivity import fixed_indegree
from sparse_neuro.neuro.model.inputs import PoissonInput
from sparse_neuro.neuro.model.record import SpikeTrains
from sparse_neuro.neuro.model.validation import check_field_types

__all__ = ["Config", "run", "brunel_network", "classify", "REGIMES", "SMOKE", "QUICK"]

#: Fig. 8 of Brunel 2000: regime -> (g, nu_ext / nu_thr).
REGIMES: dict[str, tuple[float, float]] = {
    "sr": (3.0, 2.0),
    "si_fast": (6.0, 4.0),
    "ai": (5.0, 2.0),
    "si_slow": (4.5, 0.9),
}
THETA_V, V_RESET_V, TAU_M_S, T_REF_S, J_V, DELAY_S = 20e-3, 10e-3, 20e-3, 2e-3, 0.1e-3, 1.5e-3


def brunel_network(
    g: float, nu_ratio: float, *, scale: float = 1.0, dt_s: float = 1e-4, seed: int = 0
) -> Network:
    """The Brunel network at ``scale`` (sizes and in-degrees times ``scale``, J / scale).

    Parameters
    ----------
    g : float
        Relative inhibitory strength, > 0.
    nu_ratio : float
        External rate over threshold rate, > 0.
    scale : float
        In (0, 1]: N and C scale together, J by ``1 / scale`` (same mean input).
    dt_s : float
        Step, to express the 1.5 ms delay in steps.
    seed : int
    """
    if not (0 < scale <= 1):
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    if not (g > 0 and nu_ratio > 0):
        raise ValueError(f"g and nu_ratio must be > 0, got g={g}, nu_ratio={nu_ratio}")
    n_e, n_i = round(10000 * scale), round(2500 * scale)
    c_e, c_i = max(round(1000 * scale), 1), max(round(250 * scale), 1)
    j = J_V / scale
    nu_thr = THETA_V / (j * c_e * TAU_M_S)
    rng = np.random.default_rng(seed)
    p = LIFParams(
        tau_mem_s=TAU_M_S, v_rest=0.0, v_reset=V_RESET_V, v_threshold=THETA_V, t_ref_s=T_REF_S
    )
    v0 = rng.uniform(0.0, THETA_V, n_e + n_i)
    delay = round(DELAY_S / dt_s)
    projs = [
        Projection(src, tgt, fixed_indegree(n_src, n_tgt, k, w, delay, seed=rng))
        for src, n_src, k, w in (("E", n_e, c_e, j), ("I", n_i, c_i, -g * j))
        for tgt, n_tgt in (("E", n_e), ("I", n_i))
    ]
    drives = [PoissonInput(t, c_e, nu_ratio * nu_thr, j) for t in ("E", "I")]
    return Network(
        [Population("E", n_e, p, v0[:n_e]), Population("I", n_i, p, v0[n_e:])],
        projs,
        drives=drives,
        monitors=[SpikeMonitor("E")],
    )


def population_statistics(
    spikes: SpikeTrains, t_skip_s: float, n_analyzed: int
) -> dict[str, float]:
    """Rate, ISI CV, Fano factor, spectrum peak and synchrony of the first ``n_analyzed`` neurons."""
    n = min(n_analyzed, spikes.size)
    keep = (spikes.indices < n) & (spikes.times_s >= t_skip_s)
    sub = SpikeTrains(
        spikes.times_s[keep] - t_skip_s, spikes.indices[keep], n, spikes.duration_s - t_skip_s
    )
    bin_s = 1e-3
    counts = np.bincount(
        (sub.times_s / bin_s).astype(np.int64), minlength=int(sub.duration_s / bin_s)
    )
    counts = counts[: int(sub.duration_s / bin_s)].astype(np.float64)
    f, pxx = signal.welch(counts - counts.mean(), fs=1 / bin_s, nperseg=min(256, counts.size))
    band = f >= 5.0  # below 5 Hz: the slow drift of a finite run, not an oscillation
    mean_count = counts.mean()
    return {
        "rate_hz": sub.n_spikes / (n * sub.duration_s),
        "isi_cv": float(np.nanmedian(isi_cv(sub))),
        "fano": float(np.nanmean(fano_factor(sub, 0.05))) if sub.duration_s >= 0.1 else math.nan,
        "peak_hz": float(f[band][np.argmax(pxx[band])]),
        "synchrony": float(counts.var() / mean_count) if mean_count > 0 else math.nan,
    }


def classify(stats: dict[str, float]) -> str:
    """Name the regime from the statistics: ``ai`` if asynchronous (synchrony < 15), else
    ``sr`` if regular (median ISI CV < 0.25), else ``si_fast`` / ``si_slow`` by the
    spectral peak (above / below 80 Hz).

    The synchrony bound was set from NEST's full-size runs of the four Fig. 8 points
    (1,000 neurons, 1 ms bins: A 189, B 50, C 10.4, D 22; independent Poisson neurons: 1):
    a finite network with 1.5 ms delays keeps weak fast fluctuations in its AI state.
    """
    if not stats["synchrony"] >= 15.0:
        return "ai"
    if stats["isi_cv"] < 0.25:
        return "sr"
    return "si_fast" if stats["peak_hz"] >= 80.0 else "si_slow"


@dataclass(frozen=True)
class Config:
    """brunel run parameters. ``regime="all"`` runs the four of Fig. 8; ``g`` and
    ``nu_ratio`` (both set) run one custom point instead."""

    regime: str = "all"
    g: float | None = None
    nu_ratio: float | None = None
    scale: float = 1.0
    duration_s: float = 1.2
    t_skip_s: float = 0.2
    dt_s: float = 1e-4
    n_analyzed: int = 1000
    nest_threads: int = 1
    simulators: tuple[str, ...] = ("ours", "nest")

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if self.regime not in ("all", *REGIMES):
            raise ValueError(
                f"regime must be 'all' or one of {sorted(REGIMES)}, got {self.regime!r}"
            )
        if (self.g is None) != (self.nu_ratio is None):
            raise ValueError("set both g and nu_ratio (a point of the phase diagram), or neither")
        if not self.simulators or set(self.simulators) - {"ours", "nest"}:
            raise ValueError(
                f"simulators must be a non-empty subset of ('ours', 'nest'), got {self.simulators}"
            )
        if not self.duration_s > self.t_skip_s + 0.1:
            raise ValueError(
                f"duration_s must exceed t_skip_s + 0.1 s = {self.t_skip_s + 0.1}, got {self.duration_s}"
            )

    def points(self) -> dict[str, tuple[float, float]]:
        """Regime name -> (g, nu_ratio) of the points to run."""
        if self.g is not None:
            return {"custom": (float(self.g), float(self.nu_ratio))}
        return dict(REGIMES) if self.regime == "all" else {self.regime: REGIMES[self.regime]}


SMOKE = {"regime": "ai", "scale": 0.1, "duration_s": 0.4, "t_skip_s": 0.1, "n_analyzed": 500}
QUICK = {"duration_s": 0.7}


def _plot(ctx, name: str, recs: dict, cfg: Config) -> None:
    """Raster of the first 50 excitatory neurons and the population rate (all neurons, 1 ms
    bins, as the synchrony index) over the last 200 ms, one column per simulator, shared
    axes so that ours and NEST's read on one scale."""
    fig, axes = plt.subplots(
        2,
        len(recs),
        figsize=(5.5 * len(recs), 5),
        squeeze=False,
        sharex=True,
        sharey="row",
        gridspec_kw={"height_ratios": [2, 1]},
    )
    t0, t1 = cfg.duration_s - 0.2, cfg.duration_s  # last 200 ms, as Fig. 8
    bin_s = 1e-3
    edges = np.arange(int(round((t1 - t0) / bin_s)) + 1) * bin_s + t0
    for k, (sim, sp) in enumerate(recs.items()):
        shown = min(50, sp.size)
        sel = (sp.indices < shown) & (sp.times_s >= t0)
        axes[0, k].plot(sp.times_s[sel] * 1e3, sp.indices[sel], "|k", ms=3)
        axes[0, k].set_title(f"{name}: {'NEST' if sim == 'nest' else sim}")
        counts, _ = np.histogram(sp.times_s, bins=edges)
        axes[1, k].stairs(counts / sp.size / bin_s, edges * 1e3, color="tab:blue")
        axes[1, k].set_xlabel("time (ms)")
        axes[0, k].set_xlim(t0 * 1e3, t1 * 1e3)
    axes[0, 0].set_ylabel(f"neuron (first {shown} of {sp.size:,})")
    axes[1, 0].set_ylabel("population rate (Hz, 1 ms bins)")
    ctx.save_figure(fig, f"brunel_{name}")


def run(cfg: Config, ctx) -> dict:
    """Run each point on the simulators of ``cfg.simulators``; classify each."""
    summary: dict = {}
    for name, (g, nu) in cfg.points().items():
        t0 = time.perf_counter()
        net = brunel_network(g, nu, scale=cfg.scale, dt_s=cfg.dt_s, seed=ctx.seed)
        summary[f"{name}_build_net_wall_s"] = time.perf_counter() - t0
        runs = {}
        if "ours" in cfg.simulators:
            runs["ours"] = lambda net=net: ClockSimulator(net, cfg.dt_s, seed=ctx.seed).run(
                cfg.duration_s
            )
        if "nest" in cfg.simulators:
            runs["nest"] = lambda net=net: run_nest(
                net, cfg.duration_s, cfg.dt_s, seed=ctx.seed, threads=cfg.nest_threads
            )
        recs = {}
        for sim, fn in runs.items():
            t0 = time.perf_counter()
            rec = fn()
            key = name if sim == "ours" else f"{name}_{sim}"
            summary[f"{key}_wall_s"] = time.perf_counter() - t0
            recs[sim] = rec.spikes["E"]
            stats = population_statistics(recs[sim], cfg.t_skip_s, cfg.n_analyzed)
            for stat, value in stats.items():
                summary[f"{key}_{stat}"] = value
            summary[f"{key}_class"] = classify(stats)
            ctx.save_arrays(
                f"{name}/{sim}",
                {"times_s": rec.spikes["E"].times_s, "indices": rec.spikes["E"].indices},
                {"g": g, "nu_ratio": nu, "duration_s": cfg.duration_s},
            )
        _plot(ctx, name, recs, cfg)
    return summary
