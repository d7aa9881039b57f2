"""stdp-window: the STDP pairing protocol on single synapses, and the triplet rule's
pairing-frequency dependence.

Bi & Poo (1998) protocol: for each interval ``t_post - t_pre`` from ``-max_interval_ms``
to ``+max_interval_ms``, ``n_pairs`` pre/post pairs at ``pair_rate_hz`` on one synapse.
All intervals run at once, as independent synapses (one-to-one) of one network on the
clock engine; the postsynaptic neuron is made to spike by a strong non-plastic driver
(its spike times are taken from the recording, so the intervals are the true ones). The
change per pair is fitted with ``A+ exp(-dt/tau+)`` / ``-A- exp(dt/tau-)``; the fitted
time constants must match the configured ones.

Triplet rule (Pfister & Gerstner 2006, all-to-all visual-cortex fit): ``n_pairs`` pairs at
+10 ms and at -10 ms for each pairing frequency (Sjostrom et al. 2001 protocol): at low
frequency pre-before-post hardly potentiates and post-before-pre depresses; at high
frequency both potentiate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.learning.stdp import pair_window
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.analysis.stdp_fit import fit_window
from sparse_neuro.neuro.engines import make_simulator
from sparse_neuro.neuro.model.inputs import SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.stdp_figures import pairing_frequency, stdp_window

__all__ = ["Config", "run", "SMOKE", "QUICK", "TRIPLET_VISUAL_CORTEX", "pairing_protocol"]

W0 = 1.0
# post neurons: high threshold so that the plastic input alone never fires them
POST = LIFParams(tau_mem_s=10e-3, v_threshold=10.0)
DRIVE_W = 50.0
#: Pfister & Gerstner (2006) triplet rule, all-to-all, fit to the visual-cortex data (no bounds).
TRIPLET_VISUAL_CORTEX = STDPRule(
    tau_plus_s=16.8e-3,
    tau_minus_s=33.7e-3,
    tau_x_s=101e-3,
    tau_y_s=125e-3,
    a_plus=5e-10,
    a_minus=7e-3,
    a3_plus=6.2e-3,
    a3_minus=2.3e-4,
    w_min=-100.0,
    w_max=100.0,
)


@dataclass(frozen=True)
class Config:
    """Pairing protocol parameters (defaults: Bi & Poo window, Pfister & Gerstner triplet)."""

    dt_s: float = 1e-4
    n_pairs: int = 60
    pair_rate_hz: float = 1.0
    max_interval_ms: float = 100.0
    interval_step_ms: float = 5.0
    tau_plus_s: float = 16.8e-3
    tau_minus_s: float = 33.7e-3
    a_plus: float = 0.01
    a_minus: float = 0.0105
    triplet: bool = True
    frequencies_hz: tuple[float, ...] = (0.1, 10.0, 20.0, 40.0, 50.0)
    triplet_interval_ms: float = 10.0

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if not 0 < self.dt_s <= 1e-3:
            raise ValueError(f"dt_s must be in (0, 1e-3] s, got {self.dt_s}")
        if self.n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {self.n_pairs}")
        if not 0 < self.pair_rate_hz <= 5.0:
            raise ValueError(
                f"pair_rate_hz must be in (0, 5] Hz (pairs must not overlap), got {self.pair_rate_hz}"
            )
        if not 0 < self.max_interval_ms <= 150:
            raise ValueError(f"max_interval_ms must be in (0, 150], got {self.max_interval_ms}")
        if not 0 < self.interval_step_ms <= self.max_interval_ms / 3:
            raise ValueError(
                f"interval_step_ms must be in (0, max_interval_ms/3 = {self.max_interval_ms / 3:g}], "
                f"got {self.interval_step_ms}"
            )
        if any(not 0 < f <= 100 for f in self.frequencies_hz):
            raise ValueError(f"frequencies_hz must lie in (0, 100] Hz, got {self.frequencies_hz}")


SMOKE = {"n_pairs": 10, "interval_step_ms": 20.0, "frequencies_hz": (0.5, 50.0), "dt_s": 2e-4}
QUICK: dict = {}


def pairing_protocol(
    intervals_s: np.ndarray,
    rule: STDPRule,
    n_pairs: int,
    period_s: np.ndarray | float,
    dt_s: float,
    t0_s: float = 0.2,
    backend: str = "clock",
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``n_pairs`` pre/post pairs per interval, one synapse per interval, on ``backend``
    (a registered engine that runs STDP: ``"clock"``, ``"loihi-float"``, ...).

    Parameters
    ----------
    intervals_s : ndarray
        ``t_post - t_pre`` of each synapse (s).
    period_s : float or ndarray
        Time between pairs (per synapse).

    Returns
    -------
    dw : ndarray
        Total weight change of each synapse.
    true_intervals : ndarray
        Mean measured ``t_post - t_pre`` of each synapse (the post spike follows its
        driver input by one step).
    """
    d = np.asarray(intervals_s, dtype=np.float64)
    n = d.size
    period = np.broadcast_to(np.asarray(period_s, dtype=np.float64), (n,))
    k = np.arange(n_pairs)
    pre_t = t0_s + period[:, None] * k[None, :] + np.maximum(-d, 0)[:, None]
    post_t = pre_t + d[:, None] - dt_s  # the driver's input makes post fire one step later
    ids = np.repeat(np.arange(n), n_pairs)
    net = Network(
        [Population("post", n, POST)],
        [
            Projection("pre", "post", SparseSynapses.from_dense(np.eye(n) * W0), plasticity=rule),
            Projection("drv", "post", SparseSynapses.from_dense(np.eye(n) * DRIVE_W)),
        ],
        [
            SpikeArraySource("pre", n, pre_t.ravel(), ids),
            SpikeArraySource("drv", n, post_t.ravel(), ids),
        ],
        monitors=[SpikeMonitor("post")],
    )
    sim = make_simulator(net, dt_s, backend)
    # whole steps (run() refuses a fraction of a step): the last spike plus 0.3 s, rounded up
    duration = math.ceil((pre_t.max() + abs(d).max() + 0.3) / dt_s - 1e-6) * dt_s
    rec = sim.run(duration)
    sp = rec.spikes["post"]
    counts = sp.counts()
    if not np.all(counts == n_pairs):
        raise RuntimeError(
            f"post neurons fired {counts.min()}..{counts.max()} times, expected {n_pairs}"
        )
    post_times = np.stack([np.sort(sp.times_s[sp.indices == i]) for i in range(n)])
    true = (post_times - np.round(pre_t / dt_s) * dt_s).mean(axis=1)
    return sim.synapses()[0].weights - W0, true


def run(cfg: Config, ctx) -> dict:
    """Window fit (and triplet frequency dependence); returns the summary."""
    rule = STDPRule(
        tau_plus_s=cfg.tau_plus_s,
        tau_minus_s=cfg.tau_minus_s,
        a_plus=cfg.a_plus,
        a_minus=cfg.a_minus,
        w_min=-100.0,
        w_max=100.0,
    )
    step = cfg.interval_step_ms
    ms = np.arange(-cfg.max_interval_ms, cfg.max_interval_ms + step / 2, step)
    ms = ms[np.abs(ms) > 1e-9]  # dt = 0 is a definition, not a measurement
    dw, true_dt = pairing_protocol(ms * 1e-3, rule, cfg.n_pairs, 1.0 / cfg.pair_rate_hz, cfg.dt_s)
    per_pair = dw / cfg.n_pairs
    fit = fit_window(true_dt, per_pair)
    ctx.save_figure(
        stdp_window(true_dt, per_pair, fit, title="Pair STDP, pairing protocol"), "stdp_window"
    )
    ctx.save_arrays(
        "window",
        {"interval_s": true_dt, "dw_per_pair": per_pair, "closed_form": pair_window(true_dt, rule)},
    )
    summary = {
        "tau_plus_ms_fit": fit["tau_plus_s"] * 1e3,
        "tau_minus_ms_fit": fit["tau_minus_s"] * 1e3,
        "tau_plus_ms_configured": cfg.tau_plus_s * 1e3,
        "tau_minus_ms_configured": cfg.tau_minus_s * 1e3,
        "tau_plus_rel_error": abs(fit["tau_plus_s"] / cfg.tau_plus_s - 1),
        "tau_minus_rel_error": abs(fit["tau_minus_s"] / cfg.tau_minus_s - 1),
        "a_plus_fit": fit["a_plus"],
        "a_minus_fit": fit["a_minus"],
        "max_abs_dev_from_closed_form": float(np.abs(per_pair - pair_window(true_dt, rule)).max()),
        "n_intervals": int(ms.size),
    }
    if cfg.triplet:
        trip = TRIPLET_VISUAL_CORTEX
        f = np.asarray(cfg.frequencies_hz, dtype=np.float64)
        d = cfg.triplet_interval_ms * 1e-3
        intervals = np.concatenate([np.full(f.size, d), np.full(f.size, -d)])
        periods = np.concatenate([1.0 / f, 1.0 / f])
        dw_t, _ = pairing_protocol(intervals, trip, cfg.n_pairs, periods, cfg.dt_s)
        plus, minus = dw_t[: f.size], dw_t[f.size :]
        lbl = f"{cfg.triplet_interval_ms:g} ms"
        ctx.save_figure(
            pairing_frequency(f, {f"pre-post +{lbl}": plus, f"post-pre -{lbl}": minus}),
            "triplet_frequency",
        )
        ctx.save_arrays("triplet", {"frequency_hz": f, "dw_plus": plus, "dw_minus": minus})
        summary["triplet_frequencies_hz"] = f.tolist()
        summary["triplet_dw_pre_post"] = plus.tolist()
        summary["triplet_dw_post_pre"] = minus.tolist()
    return summary
