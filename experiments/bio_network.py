"""Network activity of the bio-suite: the canonical networks simulated and measured alike.

CUBA and COBA (Brette et al. 2007, :mod:`sparse_neuro.experiments.brette2007`), Brunel (2000) in its
asynchronous irregular state (g = 5, nu_ext / nu_thr = 2, :mod:`sparse_neuro.experiments.brunel`)
and the Potjans & Diesmann (2014) microcircuit with Poisson background
(:mod:`sparse_neuro.experiments.microcircuit`), each on the clock engine, measured by
:func:`sparse_neuro.neuro.bio.activity.activity_statistics` after an onset transient. The quick run
shrinks Brunel and the microcircuit (sizes in :class:`NetworkConfig`); their statistics depend on
the size (Brunel's CV in particular), so the scorecard names the size it judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from sparse_neuro.experiments.brette2007 import benchmark_network
from sparse_neuro.experiments.brunel import REGIMES, brunel_network
from sparse_neuro.experiments.cuba import merged_spikes
from sparse_neuro.experiments.microcircuit import POPULATIONS, microcircuit_network
from sparse_neuro.neuro.analysis.spikes import firing_rates, isi_cv, mean_rate
from sparse_neuro.neuro.bio.activity import activity_statistics
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.record import SpikeTrains

__all__ = ["COUNT_BIN_S", "NETWORKS", "NetworkConfig", "network_activity"]

COUNT_BIN_S = 0.1
DT_S = 1e-4
#: Scorecard prefix -> label of each network judged.
NETWORKS = {
    "cuba": "CUBA",
    "coba": "COBA",
    "brunel_ai": "Brunel AI",
    "microcircuit": "microcircuit",
}
EXC_LAYERS = ("L4E", "L5E", "L6E")


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes and durations of the networks (defaults: the quick run).

    Attributes
    ----------
    cuba_neurons : int
        Neurons of CUBA and COBA (in-degree kept at the 4,000-neuron network's 80).
    duration_s : float
        Simulated time of CUBA and COBA.
    brunel_scale, microcircuit_scale : float
        In (0, 1]: fraction of the full network (12,500 and 77,169 neurons).
    brunel_duration_s, microcircuit_duration_s : float
    t_skip_s : float
        Onset transient left out of every statistic.
    """

    cuba_neurons: int = 4000
    duration_s: float = 2.0
    brunel_scale: float = 0.25
    brunel_duration_s: float = 1.2
    microcircuit_scale: float = 0.05
    microcircuit_duration_s: float = 1.2
    t_skip_s: float = 0.2

    def __post_init__(self) -> None:
        if self.cuba_neurons < 100:
            raise ValueError(f"cuba_neurons must be >= 100, got {self.cuba_neurons}")
        for name in ("brunel_scale", "microcircuit_scale"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.t_skip_s < 0:
            raise ValueError(f"t_skip_s must be >= 0, got {self.t_skip_s}")
        for name in ("duration_s", "brunel_duration_s", "microcircuit_duration_s"):
            if (
                not getattr(self, name) >= self.t_skip_s + 4 * COUNT_BIN_S - 1e-9
            ):  # four count windows
                raise ValueError(
                    f"{name} must be >= t_skip_s + {4 * COUNT_BIN_S} s = "
                    f"{self.t_skip_s + 4 * COUNT_BIN_S:g} s, got {getattr(self, name)}"
                )

    def sizes(self) -> dict[str, str]:
        """The size of each network, in words, for statistics and captions."""
        return {
            "cuba": f"{self.cuba_neurons} neurons, {self.duration_s:g} s",
            "coba": f"{self.cuba_neurons} neurons, {self.duration_s:g} s",
            "brunel_ai": f"scale {self.brunel_scale:g} ({round(12500 * self.brunel_scale)} neurons), "
            f"{self.brunel_duration_s:g} s",
            "microcircuit": f"scale {self.microcircuit_scale:g}, Poisson background, "
            f"{self.microcircuit_duration_s:g} s",
        }


def _simulate(
    cfg: NetworkConfig, seed: int
) -> dict[str, tuple[SpikeTrains, dict[str, SpikeTrains], float]]:
    """Merged spikes, per-population spikes and duration of each network."""
    p = min(0.02 * 4000 / cfg.cuba_neurons, 1.0)
    # built one at a time: the full-size microcircuit alone needs several GB
    builders = {
        "cuba": lambda: (
            benchmark_network("cuba", seed, cfg.cuba_neurons, p),
            ("exc", "inh"),
            cfg.duration_s,
        ),
        "coba": lambda: (
            benchmark_network("coba", seed, cfg.cuba_neurons, p),
            ("exc", "inh"),
            cfg.duration_s,
        ),
        "brunel_ai": lambda: (
            brunel_network(*REGIMES["ai"], scale=cfg.brunel_scale, dt_s=DT_S, seed=seed),
            ("E",),
            cfg.brunel_duration_s,
        ),
        "microcircuit": lambda: (
            microcircuit_network(cfg.microcircuit_scale, "poisson", DT_S, seed),
            POPULATIONS,
            cfg.microcircuit_duration_s,
        ),
    }
    out = {}
    for key, build in builders.items():
        net, names, duration = build()
        # the microcircuit's synapses are float32 and the engine runs on them in place only in float32
        dtype = np.float32 if key == "microcircuit" else np.float64
        rec = ClockSimulator(net, DT_S, seed=seed, dtype=dtype).run(duration)
        out[key] = (merged_spikes(rec.spikes, names), rec.spikes, duration)
        del net, rec
    return out


def network_activity(cfg: NetworkConfig, ctx) -> dict:
    """Scorecard statistics ``{prefix}_{statistic}`` of every network of :data:`NETWORKS`,
    ``microcircuit_l23e_rate_ratio``, arrays in results.h5 and the activity figure."""
    runs = _simulate(cfg, ctx.seed)
    values: dict = {}
    per_net = {}
    for key, (spikes, _, duration) in runs.items():
        stats = activity_statistics(
            spikes, cfg.t_skip_s, duration, count_bin_s=COUNT_BIN_S, seed=ctx.seed
        )
        values.update({f"{key}_{k}": v for k, v in stats.items()})
        rates = firing_rates(spikes, cfg.t_skip_s, duration)
        cv = isi_cv(spikes, 3, cfg.t_skip_s, duration)
        per_net[key] = (rates, cv)
        ctx.save_arrays(
            f"network_{key}", {"rates_hz": rates, "isi_cv": cv}, {"size": cfg.sizes()[key], **stats}
        )
    pops = runs["microcircuit"][1]
    layer_rates = {
        p: mean_rate(pops[p], cfg.t_skip_s, cfg.microcircuit_duration_s) for p in POPULATIONS
    }
    values["microcircuit_l23e_rate_ratio"] = layer_rates["L23E"] / float(
        np.mean([layer_rates[p] for p in EXC_LAYERS])
    )
    ctx.save_arrays(
        "microcircuit_layer_rates",
        {"rate_hz": np.array([layer_rates[p] for p in POPULATIONS])},
        {"populations": ",".join(POPULATIONS)},
    )
    _figure(cfg, ctx, per_net, layer_rates)
    return values


def _figure(cfg: NetworkConfig, ctx, per_net: dict, layer_rates: dict[str, float]) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    bins_r = np.linspace(-1.0, 2.5, 36)
    bins_cv = np.linspace(0, 3, 31)
    for i, (key, (rates, cv)) in enumerate(per_net.items()):
        r = rates[rates > 0]
        axes[0].hist(
            np.log10(r),
            bins_r,
            density=True,
            histtype="step",
            lw=1.3,
            color=f"C{i}",
            label=f"{NETWORKS[key]} (mean {rates.mean():.1f} Hz)",
        )
        c = cv[np.isfinite(cv)]
        axes[1].hist(
            c,
            bins_cv,
            density=True,
            histtype="step",
            lw=1.3,
            color=f"C{i}",
            label=f"{NETWORKS[key]} (median {np.median(c) if c.size else np.nan:.2f})",
        )
    axes[0].set(
        xlabel="log10 firing rate (Hz)",
        ylabel="density (neurons that fired)",
        title="Rate distributions",
    )
    axes[1].axvline(1.0, color="k", lw=0.8, ls="--")
    axes[1].set(
        xlabel="ISI CV (neurons with >= 3 spikes)",
        ylabel="density",
        title="Irregularity (Poisson: CV = 1)",
    )
    x = np.arange(len(POPULATIONS))
    axes[2].bar(
        x,
        [layer_rates[p] for p in POPULATIONS],
        color=[
            "C3" if p == "L23E" else ("0.45" if p.endswith("E") else "0.75") for p in POPULATIONS
        ],
    )
    axes[2].set_xticks(x, [p.replace("L23", "L2/3") for p in POPULATIONS], rotation=45, fontsize=8)
    axes[2].set(ylabel="mean rate (Hz)", title="Microcircuit population rates")
    for ax in axes[:2]:
        ax.legend(fontsize=6.5)
    fig.tight_layout()
    s = cfg.sizes()
    ctx.save_figure(
        fig,
        "network_activity",
        caption=(
            f"Spontaneous activity of the four networks after a {cfg.t_skip_s:g} s onset transient: CUBA and COBA "
            f"({s['cuba']}), Brunel AI (g = 5, nu_ext/nu_thr = 2; {s['brunel_ai']}), microcircuit ({s['microcircuit']}). "
            "Left: distribution of log10 rates of the neurons that fired (a log-normal rate distribution is a "
            "symmetric bump here; one spike in the analysis window, the lowest rate that can be seen, is "
            f"{1 / (cfg.duration_s - cfg.t_skip_s):.2g} Hz for CUBA and COBA). Middle: ISI coefficient of variation. Right: mean rate of each microcircuit "
            "population; L2/3E (red) is judged against the low L2/3 excitatory rate in vivo (Potjans & Diesmann 2014)."
        ),
    )
