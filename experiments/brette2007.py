"""Brette et al. 2007 (J Comput Neurosci 23:349) benchmarks in our engines, NEST and Brian2.

``cuba`` (benchmark 2): the 4,000-neuron Vogels-Abbott current-based network of
experiments/cuba.py (exponential currents, 5 / 10 ms) on the clock engine.
``cuba_exact`` (benchmark 4): the same neurons and connectivity with voltage-jump
(delta) synapses of 0.25 mV and -2.25 mV, on the exact event-driven engine; NEST
(``iaf_psc_delta``) and Brian2 run it on the dt grid. As in Brian2's CUBA example the
leak reversal ``v_rest = -49 mV`` lies above threshold, which keeps the network active
without external input.
``coba`` (benchmark 1): the same connectivity and initial potentials with exponential
conductances (Brian2's COBA example: leak 10 nS, ``E_e = 0``, ``E_i = -80 mV``, 5 / 10 ms,
6 nS and 67 nS, i.e. 0.6 and 6.7 leak units; ``v_rest = -60 mV``) on the clock engine
(:mod:`sparse_neuro.neuro.engines.coba`), NEST ``iaf_cond_exp`` and Brian2 (exponential Euler, our
scheme). With the leak reversal below threshold the network needs a start: Brian2's example draws
random initial conductances; here every neuron gets a current of uniform random amplitude in
``[0, 20) mV`` for the first 50 ms (a :class:`~sparse_neuro.neuro.model.inputs.CurrentInjection`,
which all three simulators run), after which the activity sustains itself; ``--set start=K`` draws
another start of the same network (the spread of a 1-s rate between trajectories).

Each benchmark's *same* network (same synapses, same initial potentials) runs in each
simulator in this process; per population, the rate / ISI CV / correlation distributions
are compared with :func:`sparse_neuro.neuro.analysis.compare.compare_populations`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np

from sparse_neuro.experiments import cuba
from sparse_neuro.experiments.cuba import CUBA_PARAMS, cuba_network, merged_spikes
from sparse_neuro.neuro.analysis import fano_factor, isi_cv
from sparse_neuro.neuro.analysis.compare import compare_populations
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.engines.backends.brian2_bridge import run_brian2
from sparse_neuro.neuro.engines.backends.exact import simulate_exact
from sparse_neuro.neuro.engines.backends.nest_bridge import run_nest
from sparse_neuro.neuro.model.inputs import CurrentInjection
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.validation import check_field_types

__all__ = ["Config", "run", "benchmark_network", "BENCHMARKS", "SMOKE", "QUICK"]

#: Benchmarks this experiment runs.
BENCHMARKS = ("coba", "cuba", "cuba_exact")
JUMP_EXC_V, JUMP_INH_V = 0.25e-3, -2.25e-3  # Brette et al. 2007, benchmark 4
COBA_PARAMS = replace(CUBA_PARAMS, v_rest=-60e-3, e_rev=(0.0, -80e-3))
G_EXC, G_INH = 0.6, 6.7  # 6 nS and 67 nS over the 10 nS leak
KICK_V, KICK_S = 20e-3, 0.05  # start of the COBA network: random currents for 50 ms


def benchmark_network(
    name: str, seed: int, n_neurons: int, p_connect: float, start: int = 0
) -> Network:
    """The network of benchmark ``name`` (one of :data:`BENCHMARKS`); ``start`` (>= 0) draws
    another random starting current of the COBA network, the synapses staying the same."""
    net = cuba_network(seed, n_neurons, p_connect, dtype=np.float64)
    if name == "cuba":
        return net
    if name not in BENCHMARKS:
        raise ValueError(f"benchmark must be one of {BENCHMARKS}, got {name!r}")
    params, (w_exc, w_inh), currents = (
        replace(CUBA_PARAMS, tau_syn_s=()),
        (JUMP_EXC_V, JUMP_INH_V),
        (),
    )
    if name == "coba":
        params, (w_exc, w_inh) = COBA_PARAMS, (G_EXC, G_INH)
        if int(start) != start or start < 0:
            raise ValueError(f"start must be an integer >= 0, got {start!r}")
        rng = np.random.default_rng([seed, 1, start])  # the synapses' stream stays as in cuba
        currents = tuple(
            CurrentInjection(p.name, KICK_V * rng.random(p.size), 0.0, KICK_S)
            for p in net.populations
        )
    pops = [replace(p, params=params) for p in net.populations]
    projs = [
        replace(
            pr,
            receptor=pr.receptor if params.n_channels else 0,
            synapses=pr.synapses.with_weights(
                np.full(pr.synapses.n_synapses, w_exc if pr.source == "exc" else w_inh)
            ),
        )
        for pr in net.projections
    ]
    return replace(net, populations=tuple(pops), projections=tuple(projs), currents=currents)


@dataclass(frozen=True)
class Config(cuba.Config):
    """brette2007 run parameters (network and duration as in experiments/cuba.py)."""

    benchmarks: tuple[str, ...] = BENCHMARKS
    start: int = 0  # random start of the COBA network (benchmark_network)
    brian2_target: str = "numpy"
    nest_threads: int = 1
    fano_bin_s: float = 0.05

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        super().__post_init__()
        if not self.duration_s >= 4 * self.fano_bin_s:
            raise ValueError(
                f"duration_s must be >= 4 fano_bin_s = {4 * self.fano_bin_s} s, got {self.duration_s}"
            )
        bad = [b for b in self.benchmarks if b not in BENCHMARKS]
        if bad or not self.benchmarks:
            raise ValueError(
                f"benchmarks must be a non-empty subset of {BENCHMARKS}, got {self.benchmarks}"
            )
        if isinstance(self.start, bool) or int(self.start) != self.start or self.start < 0:
            raise ValueError(f"start must be an integer >= 0, got {self.start!r}")
        if self.brian2_target not in ("numpy", "cython"):
            raise ValueError(
                f"brian2_target must be 'numpy' or 'cython', got {self.brian2_target!r}"
            )


SMOKE = {"duration_s": 0.2, "n_neurons": 1000, "p_connect": 0.08}
QUICK = {"duration_s": 1.0}


def _run_ours(name: str, net: Network, cfg: Config, seed: int):
    if name == "cuba_exact":
        return simulate_exact(net, cfg.duration_s, delay_unit_s=cfg.dt_s, seed=seed)
    return ClockSimulator(net, cfg.dt_s, seed=seed).run(cfg.duration_s)


def run(cfg: Config, ctx) -> dict:
    """Run every benchmark in ours, NEST and Brian2; compare their statistics."""
    summary: dict = {}
    for name in cfg.benchmarks:
        net = benchmark_network(name, ctx.seed, cfg.n_neurons, cfg.p_connect, cfg.start)
        recs, walls = {}, {}
        for sim, fn in (
            ("ours", lambda net=net, name=name: _run_ours(name, net, cfg, ctx.seed)),
            (
                "nest",
                lambda net=net: run_nest(
                    net, cfg.duration_s, cfg.dt_s, seed=ctx.seed, threads=cfg.nest_threads
                ),
            ),
            (
                "brian2",
                lambda net=net: run_brian2(
                    net, cfg.duration_s, cfg.dt_s, target=cfg.brian2_target, seed=ctx.seed
                ),
            ),
        ):
            t0 = time.perf_counter()
            recs[sim] = fn()
            walls[sim] = time.perf_counter() - t0
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
        for ax, (sim, rec) in zip(axes, recs.items()):
            spikes = merged_spikes(rec.spikes)
            cv = isi_cv(spikes)
            key = name if sim == "ours" else f"{name}_{sim}"
            summary[f"{key}_rate_hz"] = spikes.n_spikes / (spikes.size * cfg.duration_s)
            summary[f"{key}_isi_cv"] = float(np.nanmedian(cv))
            summary[f"{key}_fano"] = float(np.nanmean(fano_factor(spikes, cfg.fano_bin_s)))
            summary[f"{key}_wall_s"] = walls[sim]
            ctx.save_arrays(
                f"{name}/{sim}",
                {"times_s": spikes.times_s, "indices": spikes.indices},
                {"n_neurons": spikes.size, "duration_s": cfg.duration_s},
            )
            keep = spikes.indices < 400
            ax.plot(spikes.times_s[keep], spikes.indices[keep], ",k")
            ax.set(
                title=f"{name}: {sim}, {summary[f'{key}_rate_hz']:.2f} Hz, "
                f"CV {summary[f'{key}_isi_cv']:.2f}",
                xlabel="time (s)",
            )
        axes[0].set_ylabel("neuron")
        ctx.save_figure(fig, f"raster_{name}")
        for sim in ("nest", "brian2"):
            agree = compare_populations(recs["ours"].spikes, recs[sim].spikes, t_start_s=0.1)
            for pop, stats in agree.items():
                for stat, a in stats.items():
                    summary[f"{name}_vs_{sim}_{pop}_{stat}_ks"] = a.ks_distance
                    summary[f"{name}_vs_{sim}_{pop}_{stat}_cohen_d"] = a.effect_size
    return summary
