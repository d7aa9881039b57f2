"""Plasticity of the bio-suite: STDP rules run through the published pairing protocols.

- Bi & Poo (1998): 60 pairings at 1 Hz at each of the 45 spike timings of their Fig. 7, for the
  pair rule (Bi & Poo time constants 16.8 / 33.7 ms, Song, Miller & Abbott 2000 amplitudes
  1% / 1.05% per pair) and the triplet rule (Pfister & Gerstner 2006 visual-cortex fit); the
  window of the stdp-digits network's rule (time constants fitted from a sweep of intervals);
- Sjostrom et al. (2001): 60 pairings at +10 / -10 ms at 0.1 to 50 Hz for both rules.

Every protocol runs on the clock engine
(:func:`sparse_neuro.experiments.stdp_window.pairing_protocol`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sparse_neuro.experiments import stdp_digits
from sparse_neuro.experiments.stdp_window import TRIPLET_VISUAL_CORTEX, pairing_protocol
from sparse_neuro.neuro.analysis.stdp_fit import fit_window
from sparse_neuro.neuro.bio.bi_poo import BI_POO_PAIRINGS, BI_POO_PERIOD_S, bi_poo_points
from sparse_neuro.neuro.bio.scorecard import read_table
from sparse_neuro.neuro.model.plasticity_rules import STDPRule

__all__ = ["PAIR_RULE", "plasticity"]

DT_S = 1e-4
#: Pair rule: Bi & Poo (2001) time constants, Song, Miller & Abbott (2000) amplitudes (A- = 1.05 A+).
PAIR_RULE = STDPRule(
    tau_plus_s=16.8e-3, tau_minus_s=33.7e-3, a_plus=0.01, a_minus=0.0105, w_min=-100.0, w_max=100.0
)  # wide bounds: the protocol measures the rule, not clipping


def plasticity(n_pairs: int, ctx) -> dict:
    """Scorecard statistics of the plasticity group, arrays and the two figures.

    Parameters
    ----------
    n_pairs : int
        Pairings per interval of the stdp-digits window sweep (the data protocols always
        use their published 60).
    ctx : RunContext
    """
    rules = {"pair": PAIR_RULE, "triplet": TRIPLET_VISUAL_CORTEX}
    values: dict = {}
    dt_data, dw_data = bi_poo_points()
    bi_poo = {}
    for name, rule in rules.items():
        dw, _ = pairing_protocol(dt_data, rule, BI_POO_PAIRINGS, BI_POO_PERIOD_S, DT_S)
        bi_poo[name] = dw
        values[f"{name}_bi_poo_window"] = dw
    digits = stdp_digits.Config()
    digits_rule = STDPRule(
        tau_plus_s=digits.tau_pre_s,
        tau_minus_s=digits.tau_post_s,
        a_plus=digits.a_plus,
        a_minus=digits.a_minus,
        w_min=-100.0,
        w_max=100.0,
    )  # wide bounds: no clipping
    ms = np.concatenate([np.arange(-100.0, 0.0, 5.0), np.arange(5.0, 100.1, 5.0)])
    dw, sweep_dt = pairing_protocol(ms * 1e-3, digits_rule, n_pairs, 1.0, DT_S)
    fit = fit_window(sweep_dt, dw / n_pairs)
    values["stdp_digits_tau_plus_ms"] = fit["tau_plus_s"] * 1e3
    values["stdp_digits_tau_minus_ms"] = fit["tau_minus_s"] * 1e3

    rows = read_table("sjostrom2001_pfister2006.csv")
    f = np.array([float(r["frequency_hz"]) for r in rows])
    intervals = np.concatenate([np.full(f.size, 10e-3), np.full(f.size, -10e-3)])
    periods = np.concatenate([1.0 / f, 1.0 / f])
    sjostrom = {}
    for name, rule in rules.items():
        d, _ = pairing_protocol(intervals, rule, 60, periods, DT_S)
        sjostrom[name] = d
        values[f"{name}_sjostrom_pre_post"] = d[: f.size]
        values[f"{name}_sjostrom_post_pre"] = d[f.size :]
    ctx.save_arrays(
        "plasticity",
        {
            "bi_poo_dt_s": dt_data,
            "bi_poo_dw": dw_data,
            "pair_bi_poo_dw": bi_poo["pair"],
            "triplet_bi_poo_dw": bi_poo["triplet"],
            "digits_interval_s": sweep_dt,
            "digits_dw_per_pair": dw / n_pairs,
            "frequency_hz": f,
            "triplet_sjostrom_dw": sjostrom["triplet"],
            "pair_sjostrom_dw": sjostrom["pair"],
        },
    )
    _bi_poo_figure(dt_data, dw_data, rules, ctx)
    _sjostrom_figure(f, rows, sjostrom, ctx)
    return values


def _bi_poo_figure(dt: np.ndarray, dw: np.ndarray, rules: dict[str, STDPRule], ctx) -> None:
    # the rules' curves on a fine grid of timings, same protocol
    grid = np.concatenate([np.arange(-100.0, 0.0, 2.5), np.arange(2.5, 100.1, 2.5)]) * 1e-3
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(
        1e3 * dt, 100 * dw, s=14, color="k", label=f"Bi & Poo 1998 ({dt.size} cell pairs)", zorder=3
    )
    for (name, rule), style in zip(rules.items(), ("-", "--")):
        d, true_dt = pairing_protocol(grid, rule, BI_POO_PAIRINGS, BI_POO_PERIOD_S, DT_S)
        ax.plot(1e3 * true_dt, 100 * d, style, label=f"{name} rule")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(0, color="k", lw=0.6)
    ax.set(
        xlabel="spike timing t_post - t_pre (ms)",
        ylabel="change of synaptic strength (%)",
        title="STDP window vs Bi & Poo (1998)",
    )
    ax.legend(fontsize=7)
    ctx.save_figure(
        fig,
        "bi_poo_window",
        caption=(
            f"Relative change of synaptic strength after {BI_POO_PAIRINGS} pre/post pairings at "
            f"{1 / BI_POO_PERIOD_S:g} Hz against the spike timing: the 45 cell pairs of Bi & Poo (1998) Fig. 7 "
            "(digitised by D. Spicher) and the pair and triplet rules simulated on the clock engine with the "
            "same protocol."
        ),
    )


def _sjostrom_figure(f: np.ndarray, rows: list[dict], model: dict[str, np.ndarray], ctx) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for col, sem, dt, c in (
        ("dw_pre_post", "sem_pre_post", "+10 ms", "C3"),
        ("dw_post_pre", "sem_post_pre", "-10 ms", "C0"),
    ):
        ax.errorbar(
            f,
            [float(r[col]) for r in rows],
            [float(r[sem]) for r in rows],
            fmt="o",
            color=c,
            capsize=3,
            label=f"Sjostrom 2001, {dt}",
        )
        i = slice(0, f.size) if dt.startswith("+") else slice(f.size, None)
        ax.plot(f, model["triplet"][i], "-", color=c, label=f"triplet rule, {dt}")
        ax.plot(f, model["pair"][i], ":", color=c, label=f"pair rule, {dt}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(
        xlabel="pairing frequency (Hz)",
        ylabel="relative weight change after 60 pairings",
        title="Frequency dependence of STDP",
    )
    ax.legend(fontsize=6, ncol=2)
    ctx.save_figure(
        fig,
        "sjostrom_frequency",
        caption=(
            "Weight change after 60 pre/post pairings at +10 ms and -10 ms against pairing frequency: "
            "Sjostrom et al. (2001) data (mean +- SEM, as in Pfister & Gerstner 2006) and the triplet and pair "
            "rules simulated on the clock engine."
        ),
    )
