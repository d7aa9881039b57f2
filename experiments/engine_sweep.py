"""Engine sweep: exact event-driven vs clock engine wall time across firing rates.

A network of delta-synapse LIF neurons (sparse recurrent excitation) is driven by Poisson
inputs whose rate is swept. The clock engine's cost is dominated by N / dt neuron updates;
the exact engine's by the number of events (spikes times fan-out). The sweep shows the
firing rate below which the exact engine is faster.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from sparse_neuro.neuro import (
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator, simulate_exact
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.axes import plain_log_axis

__all__ = ["Config", "run", "sweep_network", "SMOKE", "QUICK"]


@dataclass(frozen=True)
class Config:
    """Sweep parameters."""

    n_neurons: int = 2000
    n_inputs: int = 200
    input_rates_hz: tuple[float, ...] = (1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 7.0, 10.0)
    duration_s: float = 1.0
    dt_s: float = 1e-4

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if self.n_neurons < 1 or self.n_inputs < 1:
            raise ValueError("n_neurons and n_inputs must be >= 1")
        if not self.input_rates_hz or min(self.input_rates_hz) <= 0:
            raise ValueError(f"input_rates_hz must be positive, got {self.input_rates_hz}")
        if not self.duration_s > 0 or not self.dt_s > 0:
            raise ValueError("duration_s and dt_s must be > 0")


SMOKE = {"n_neurons": 200, "n_inputs": 50, "input_rates_hz": (2.0, 50.0), "duration_s": 0.2}
QUICK = {"input_rates_hz": (2.0, 3.0, 4.0, 5.0, 7.0), "duration_s": 0.5}


def sweep_network(n: int, n_in: int, rate_hz: float, seed: int) -> Network:
    """Poisson inputs (10% connectivity) onto LIF neurons with 2% recurrent excitation."""
    rng = np.random.default_rng(seed)
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, v_reset=0.0, t_ref_s=2e-3)
    w_in = SparseSynapses.fixed_probability(n_in, n, 0.1, 0.25, delay=1, seed=rng, dtype=np.float64)
    w_rec = SparseSynapses.fixed_probability(
        n, n, 0.02, 0.02, delay=10, seed=rng, allow_self=False, dtype=np.float64
    )
    return Network(
        [Population("lif", n, p)],
        [Projection("inp", "lif", w_in), Projection("lif", "lif", w_rec)],
        [PoissonSource("inp", n_in, rate_hz)],
        monitors=[SpikeMonitor("lif")],
    )


def run(cfg: Config, ctx) -> dict:
    """Time both engines at each input rate; plot wall time against the output rate."""
    warm = sweep_network(50, 10, 10.0, ctx.seed)  # compile both engines outside the timing
    ClockSimulator(warm, cfg.dt_s).run(0.01)
    simulate_exact(warm, 0.01, delay_unit_s=cfg.dt_s)
    rows = []
    for r in ctx.progress(cfg.input_rates_hz, desc="rates"):
        net = sweep_network(cfg.n_neurons, cfg.n_inputs, r, ctx.seed)
        clock = ClockSimulator(net, cfg.dt_s, seed=ctx.seed).run(cfg.duration_s)
        exact = simulate_exact(net, cfg.duration_s, delay_unit_s=cfg.dt_s, seed=ctx.seed)
        rows.append(
            (
                r,
                clock.spikes["lif"].n_spikes / (cfg.n_neurons * cfg.duration_s),
                exact.spikes["lif"].n_spikes / (cfg.n_neurons * cfg.duration_s),
                clock.meta["wall_s"],
                exact.meta["wall_s"],
                exact.meta["n_events"],
            )
        )
    a = np.array(rows)
    ctx.save_arrays(
        "sweep",
        {
            "input_rate_hz": a[:, 0],
            "clock_rate_hz": a[:, 1],
            "exact_rate_hz": a[:, 2],
            "clock_wall_s": a[:, 3],
            "exact_wall_s": a[:, 4],
            "exact_events": a[:, 5],
        },
    )
    fig, ax = plt.subplots(figsize=(6, 4))
    # a silent network (rate 0) has no place on a log axis: drawn points are the rates > 0
    on_c, on_e = a[:, 1] > 0, a[:, 2] > 0
    ax.loglog(a[on_c, 1], a[on_c, 3], "o-", label=f"clock engine (dt = {cfg.dt_s * 1e3:g} ms)")
    ax.loglog(a[on_e, 2], a[on_e, 4], "s-", label="exact event-driven engine")
    silent = int(np.sum(~on_c) + np.sum(~on_e))
    ax.set_xlabel(
        "mean firing rate (Hz)" + (f"; {silent} silent run(s) not drawn" if silent else "")
    )
    ax.set_ylabel(f"wall time per {cfg.duration_s:g} s simulated (s)")
    plain_log_axis(ax, "x")
    plain_log_axis(ax, "y")
    ax.set_title(f"{cfg.n_neurons} LIF neurons, delta synapses")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    ctx.save_figure(fig, "engine_sweep")
    faster = a[:, 4] < a[:, 3]
    # highest output rate at which the exact engine still wins (0 if it never does)
    crossover = float(a[faster, 2].max()) if faster.any() else 0.0
    return {
        "input_rates_hz": a[:, 0].tolist(),
        "firing_rates_hz": [round(float(x), 3) for x in a[:, 2]],
        "clock_wall_s": [round(float(x), 4) for x in a[:, 3]],
        "exact_wall_s": [round(float(x), 4) for x in a[:, 4]],
        "exact_faster_up_to_rate_hz": crossover,
        "speedup_exact_at_lowest_rate": float(a[0, 3] / a[0, 4]),
    }
