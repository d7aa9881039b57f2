"""Double sparsity: synaptic operations and energy against weight density and activation
density, on the Loihi-style event-queue model.

Claim checked (REFERENCE.md): with 20% of activations and 20% of weights non-zero, only
~4% of the dense multiplications remain (25x fewer). Event-driven hardware performs one
synaptic op per (spike, existing synapse), so the op count is
``activation density x weight density x dense ops`` in expectation.

Network: a population ``pre`` of ``n`` LIF neurons with a strong bias (every neuron crosses
threshold in every step) and k-WTA (``k = round(a n)`` winners per step: activation density
``a``); Poisson noise (probability ``noise_p`` per step, random weights, one to one) makes
the winners change from step to step; ``pre`` projects to
``post`` (``n`` neurons) with connection probability ``w`` (weight density) and weak
weights. Counted: the synaptic ops of ``pre -> post`` (attributed to ``post``), compared with
the ``n x n`` multiplications per step of a dense layer; energy of the whole Loihi-model run
vs the dense baseline (every weight multiplied and read every step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sparse_neuro.hardware_models import (
    COUNTERS,
    DenseSpec,
    EnergyReport,
    EventQueueSimulator,
    place,
    preset,
)
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
)
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.axes import plain_log_axis

__all__ = ["Config", "run", "SMOKE", "QUICK", "sparsity_network"]

DT = 1e-3


@dataclass(frozen=True)
class Config:
    """Grid of densities and network size."""

    n: int = 1000
    n_steps: int = 50
    weight_densities: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0)
    activation_densities: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 0.8)
    noise_p: float = 0.5

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if int(self.n) < 10:
            raise ValueError(f"n must be an integer >= 10, got {self.n}")
        if int(self.n_steps) < 1:
            raise ValueError(f"n_steps must be >= 1, got {self.n_steps}")
        for name in ("weight_densities", "activation_densities"):
            vals = getattr(self, name)
            if not vals or any(not 0 < v <= 1 for v in vals):
                raise ValueError(
                    f"{name} must be a non-empty tuple of values in (0, 1], got {vals}"
                )
        if not 0 <= self.noise_p <= 1:
            raise ValueError(f"noise_p must be in [0, 1], got {self.noise_p}")


SMOKE = {
    "n": 200,
    "n_steps": 10,
    "weight_densities": (0.2, 1.0),
    "activation_densities": (0.2, 0.8),
}
QUICK = {"n": 500, "n_steps": 30}


def sparsity_network(
    n: int, weight_density: float, activation_density: float, noise_p: float, seed: int
) -> Network:
    """Noise -> ``pre`` (biased, k-WTA, k = round(a n)) -> ``post`` (connection probability w)."""
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0)
    # bias 10 with tau 1 ms: from reset (0) v reaches 6.3 > threshold in one step
    p_pre = LIFParams(tau_mem_s=1e-3, v_threshold=1.0, bias=10.0)
    k = int(round(activation_density * n))
    rng = np.random.default_rng(seed)
    w_in = SparseSynapses.from_dense(np.eye(n)).with_weights(rng.uniform(0, 0.5, n))
    return Network(
        [
            Population("pre", n, p_pre, v_init=rng.uniform(0, 1, n), kwta_k=k),
            Population("post", n, p),
        ],
        [
            Projection("inp", "pre", w_in),
            Projection(
                "pre",
                "post",
                SparseSynapses.fixed_probability(n, n, weight_density, 0.01, seed=rng),
            ),
        ],
        sources=[PoissonSource("inp", n, noise_p / DT)],
    )


def run(cfg: Config, ctx) -> dict:
    """Sweep the grid; plot ops and energy fractions; check the 20% x 20% claim."""
    spec = preset()
    W, A = cfg.weight_densities, cfg.activation_densities
    ops = np.zeros((len(W), len(A)))
    act = np.zeros((len(W), len(A)))
    wdens = np.zeros((len(W), len(A)))
    e_loihi = np.zeros((len(W), len(A)))
    e_dense = np.zeros((len(W), len(A)))
    e_total = np.zeros((len(W), len(A)))
    dense_ops = cfg.n * cfg.n * cfg.n_steps
    j_syn = COUNTERS.index("syn_ops")
    grid = [(i, j) for i in range(len(W)) for j in range(len(A))]
    for i, j in ctx.progress(grid, desc="densities"):
        net = sparsity_network(cfg.n, W[i], A[j], cfg.noise_p, ctx.seed + 17 * i + j)
        m = place(net, spec)
        sim = EventQueueSimulator(net, DT, mapping=m, seed=ctx.seed)
        rec = sim.run(cfg.n_steps * DT)
        c = sim.counters()
        n_pre_spikes = int(
            c.per_step[:, m.population_cores("pre"), COUNTERS.index("spikes_out")].sum()
        )
        act[i, j] = n_pre_spikes / (cfg.n * cfg.n_steps)
        wdens[i, j] = net.projections[1].synapses.density
        ops[i, j] = c.per_population["post"][j_syn]
        # the pre -> post layer: its synaptic ops vs its dense MACs (same n x n layer)
        e_loihi[i, j] = ops[i, j] * spec.e_syn_op_pj
        e_dense[i, j] = dense_ops * DenseSpec().e_mac_pj
        e_total[i, j] = EnergyReport.from_counters(c, m, net, 1, spec).total_pj
        del rec
    frac = ops / dense_ops
    ctx.save_arrays(
        "double_sparsity",
        {
            "weight_density": np.asarray(W),
            "activation_density_target": np.asarray(A),
            "activation_density": act,
            "weight_density_measured": wdens,
            "syn_ops": ops,
            "ops_fraction": frac,
            "syn_op_energy_pj": e_loihi,
            "dense_mac_energy_pj": e_dense,
            "loihi_total_energy_pj": e_total,
        },
        {"n": cfg.n, "n_steps": cfg.n_steps, "dense_ops": dense_ops},
    )

    fig = Figure(figsize=(12, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for i, w in enumerate(W):
        ax1.loglog(act[i], frac[i], "o-", label=f"weights {w:.0%}")
        ax1.loglog(act[i], act[i] * wdens[i], "k:", lw=0.8)
    ax1.set_xlabel("activation density (measured)")
    ax1.set_ylabel("synaptic ops / dense multiplications")
    plain_log_axis(ax1, "x", percent=True)
    plain_log_axis(ax1, "y", percent=True)
    ax1.legend(fontsize=7)
    ax1.set_title("ops fraction (dotted: a x w)")
    im = ax2.imshow(np.log10(frac), origin="lower", cmap="viridis")
    ax2.set_xticks(range(len(A)), [f"{a:.0%}" for a in A])
    ax2.set_yticks(range(len(W)), [f"{w:.0%}" for w in W])
    ax2.set_xlabel("activation density (k-WTA target)")
    ax2.set_ylabel("weight density")
    for i in range(len(W)):
        for j in range(len(A)):
            ax2.text(j, i, f"{frac[i, j]:.3f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=ax2, label="log10 ops fraction")
    for i, w in enumerate(W):
        ax3.loglog(act[i], e_loihi[i] / cfg.n_steps * 1e-6, "o-", label=f"Loihi syn ops, w={w:.0%}")
        ax3.loglog(
            act[i],
            e_total[i] / cfg.n_steps * 1e-6,
            "x:",
            color=ax3.lines[-1].get_color(),
            label=f"Loihi total, w={w:.0%}",
        )
    ax3.axhline(e_dense[0, 0] / cfg.n_steps * 1e-6, color="k", ls="--", label="dense MACs")
    ax3.set_xlabel("activation density (measured)")
    ax3.set_ylabel("energy per step (uJ)")
    plain_log_axis(ax3, "x", percent=True)
    plain_log_axis(ax3, "y")
    ax3.set_title(f"synaptic energy ({spec.e_syn_op_pj} pJ/op vs 4.6 pJ/MAC)")
    ax3.legend(fontsize=6)
    fig.tight_layout()
    ctx.save_figure(fig, "double_sparsity")

    out = {
        "n": cfg.n,
        "dense_ops_per_step": cfg.n * cfg.n,
        "ops_fraction_grid": frac.round(5).tolist(),
        "activation_density_grid": act.round(4).tolist(),
        "weight_density_grid": wdens.round(4).tolist(),
        "max_rel_error_vs_product": float(np.max(np.abs(frac / (act * wdens) - 1))),
    }
    if 0.2 in W and 0.2 in A:
        i, j = W.index(0.2), A.index(0.2)
        out.update(
            {
                "ops_fraction_at_20_20": float(frac[i, j]),
                "reduction_factor_at_20_20": float(1 / frac[i, j]),
                "activation_density_at_20_20": float(act[i, j]),
                "weight_density_at_20_20": float(wdens[i, j]),
                "claim_4_percent_holds": bool(abs(frac[i, j] / 0.04 - 1) < 0.1),
                "energy_ratio_dense_mac_over_loihi_ops_at_20_20": float(
                    e_dense[i, j] / e_loihi[i, j]
                ),
            }
        )
    return out
