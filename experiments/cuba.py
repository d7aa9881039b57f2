"""CUBA: the Vogels-Abbott current-based network of Brian2's examples (4,000 LIF neurons).

3,200 excitatory and 800 inhibitory neurons, connection probability 0.02, exponential
synaptic currents (5 ms excitatory, 10 ms inhibitory), exact integration at dt = 0.1 ms;
parameters from REFERENCE.md. Records every spike; reports rates, ISI CV and wall times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.analysis import isi_cv
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.record import SpikeTrains
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting import raster

__all__ = ["Config", "cuba_network", "run", "SMOKE", "QUICK"]

CUBA_PARAMS = LIFParams(
    tau_mem_s=20e-3,
    v_rest=-49e-3,
    v_reset=-60e-3,
    v_threshold=-50e-3,
    t_ref_s=5e-3,
    tau_syn_s=(5e-3, 10e-3),
)
W_EXC_V = 1.62e-3  # (60 * 0.27 / 10) mV, as in Brian2's CUBA example
W_INH_V = -9e-3  # (-20 * 4.5 / 10) mV


def cuba_network(
    seed: int = 0, n_neurons: int = 4000, p_connect: float = 0.02, dtype: type = np.float64
) -> Network:
    """Build the CUBA network: populations ``exc`` (80%) and ``inh`` (20%).

    Initial potentials are uniform in ``[v_reset, v_threshold]``; every pair is connected
    independently with probability ``p_connect`` (self-connections included, as in Brian2's
    ``connect(p=0.02)``).
    """
    if n_neurons < 5:
        raise ValueError(f"n_neurons must be >= 5, got {n_neurons}")
    rng = np.random.default_rng(seed)
    n_exc = int(round(0.8 * n_neurons))
    n_inh = n_neurons - n_exc
    p = CUBA_PARAMS
    v0 = p.v_reset + rng.random(n_neurons) * (p.v_threshold - p.v_reset)
    pops = [Population("exc", n_exc, p, v0[:n_exc]), Population("inh", n_inh, p, v0[n_exc:])]
    projs = []
    for src, n_src, w, receptor in (("exc", n_exc, W_EXC_V, 0), ("inh", n_inh, W_INH_V, 1)):
        for tgt, n_tgt in (("exc", n_exc), ("inh", n_inh)):
            syn = SparseSynapses.fixed_probability(
                n_src, n_tgt, p_connect, w, seed=rng, dtype=dtype
            )
            projs.append(Projection(src, tgt, syn, receptor=receptor))
    return Network(pops, projs, monitors=[SpikeMonitor("exc"), SpikeMonitor("inh")])


def merged_spikes(
    rec_spikes: dict[str, SpikeTrains], names: tuple[str, ...] = ("exc", "inh")
) -> SpikeTrains:
    """One SpikeTrains over the concatenated populations (``exc`` ids first)."""
    times, ids, off = [], [], 0
    for n in names:
        s = rec_spikes[n]
        times.append(s.times_s)
        ids.append(s.indices.astype(np.int64) + off)
        off += s.size
    return SpikeTrains(
        np.concatenate(times), np.concatenate(ids), off, rec_spikes[names[0]].duration_s
    )


@dataclass(frozen=True)
class Config:
    """CUBA run parameters."""

    duration_s: float = 1.0
    dt_s: float = 1e-4
    n_neurons: int = 4000
    p_connect: float = 0.02

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s}")
        if not 0 < self.dt_s <= 1e-3:
            raise ValueError(f"dt_s must be in (0, 1e-3] s, got {self.dt_s}")
        if not 0 < self.p_connect <= 1:
            raise ValueError(f"p_connect must be in (0, 1], got {self.p_connect}")


SMOKE = {"duration_s": 0.1, "n_neurons": 1000, "p_connect": 0.08}
QUICK = {"duration_s": 1.0}


def run(cfg: Config, ctx) -> dict:
    """Build, compile and run CUBA; write the raster, spikes and summary figures."""
    t0 = time.perf_counter()
    net = cuba_network(ctx.seed, cfg.n_neurons, cfg.p_connect)
    sim = ClockSimulator(net, cfg.dt_s, seed=ctx.seed)
    build_s = time.perf_counter() - t0
    rec = sim.run(cfg.duration_s, progress=ctx.show_progress)
    total_s = time.perf_counter() - t0
    spikes = merged_spikes(rec.spikes)
    cv = isi_cv(spikes)
    mean_rate = spikes.n_spikes / (spikes.size * cfg.duration_s)
    ctx.save_arrays(
        "spikes",
        {"times_s": spikes.times_s, "indices": spikes.indices},
        {"n_neurons": spikes.size, "duration_s": cfg.duration_s},
    )
    fig = raster(rec.spikes, max_neurons=400, title=f"CUBA, {cfg.n_neurons} neurons")
    ctx.save_figure(fig, "raster")
    return {
        "mean_rate_hz": float(mean_rate),
        "median_isi_cv": float(np.nanmedian(cv)),
        "n_spikes": int(spikes.n_spikes),
        "n_synapses": int(net.n_synapses),
        "build_wall_s": build_s,
        "sim_wall_s": float(rec.meta["wall_s"]),
        "total_wall_s": total_s,
    }
