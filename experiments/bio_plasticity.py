"""Plasticity of the bio-suite: STDP rules run through the published pairing protocols.

- Bi & Poo (1998): 60 pairings at 1 Hz at each of the 45 spike timings of their Fig. 7, for the
  pair rule (Bi & Poo time constants 16.8 / 33.7 ms, Song, Miller & Abbott 2000 amplitudes
  1% / 1.05% per pair) and the triplet rule (Pfister & Gerstner 2006 visual-cortex fit); the
  window of the stdp-digits network's rule (time constants fitted from a sweep of intervals);
- Sjostrom et al. (2001): 60 pairings at +10 / -10 ms at 0.1 to 50 Hz for both rules;
- beside them (:func:`fitted_plasticity`), the same five measurements for each fitted preset,
  ``STDPRule.bi_poo_1998()`` and ``STDPRule.visual_cortex_2006()``.

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

__all__ = ["PAIR_RULE", "fitted_plasticity", "plasticity"]

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
    taus, sweep_dt, dw = _window_time_constants(digits_rule, n_pairs)
    values.update({f"stdp_digits_{k}": v for k, v in taus.items()})
    f, rows, sjostrom = _sjostrom(rules, values)
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
    # the triplet curves first, as drawn since the figure was added
    _sjostrom_figure(f, rows, {"triplet": sjostrom["triplet"], "pair": sjostrom["pair"]}, ctx)
    return values


def _window_time_constants(rule: STDPRule, n_pairs: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Time constants (ms) of ``fit_window`` on a -100..100 ms sweep (5 ms steps, ``n_pairs``
    pairings at 1 Hz, clock engine); also the measured intervals and total changes."""
    ms = np.concatenate([np.arange(-100.0, 0.0, 5.0), np.arange(5.0, 100.1, 5.0)])
    dw, sweep_dt = pairing_protocol(ms * 1e-3, rule, n_pairs, 1.0, DT_S)
    fit = fit_window(sweep_dt, dw / n_pairs)
    return (
        {"tau_plus_ms": fit["tau_plus_s"] * 1e3, "tau_minus_ms": fit["tau_minus_s"] * 1e3},
        sweep_dt,
        dw,
    )


def _sjostrom(rules: dict[str, STDPRule], values: dict) -> tuple[np.ndarray, list, dict]:
    """Sjostrom's protocols for each rule; fills ``values[{name}_sjostrom_pre_post/post_pre]``."""
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
    return f, rows, sjostrom


def fitted_rules() -> dict[str, STDPRule]:
    """The fitted presets as run by the protocols (bounds wide enough not to clip)."""
    return {
        "bi_poo_1998": STDPRule.bi_poo_1998(w_min=-100.0, w_max=100.0),
        "visual_cortex_2006": STDPRule.visual_cortex_2006(w_min=-100.0, w_max=100.0),
    }


def fitted_plasticity(n_pairs: int, ctx) -> dict:
    """Statistics of :func:`sparse_neuro.neuro.bio.catalogue.fitted_plasticity_tests`: each
    fitted preset through the Bi & Poo and Sjostrom protocols and the window sweep of
    :func:`plasticity` (``n_pairs`` pairings per interval), on the clock engine; saves the
    arrays and the two figures with the presets beside the data."""
    rules = fitted_rules()
    dt_data, dw_data = bi_poo_points()
    values: dict = {}
    arrays: dict = {}
    for name, rule in rules.items():
        dw, _ = pairing_protocol(dt_data, rule, BI_POO_PAIRINGS, BI_POO_PERIOD_S, DT_S)
        values[f"{name}_bi_poo_window"] = arrays[f"{name}_bi_poo_dw"] = dw
        taus, _, _ = _window_time_constants(rule, n_pairs)
        values.update({f"{name}_{k}": v for k, v in taus.items()})
    f, rows, sjostrom = _sjostrom(rules, values)
    arrays.update({f"{name}_sjostrom_dw": d for name, d in sjostrom.items()})
    ctx.save_arrays("fitted_plasticity", arrays)
    _bi_poo_figure(dt_data, dw_data, rules, ctx, "fitted_bi_poo_window")
    _sjostrom_figure(f, rows, sjostrom, ctx, "fitted_sjostrom_frequency")
    return values


def _bi_poo_figure(
    dt: np.ndarray, dw: np.ndarray, rules: dict[str, STDPRule], ctx, name: str = "bi_poo_window"
) -> None:
    # the rules' curves on a fine grid of timings, same protocol
    grid = np.concatenate([np.arange(-100.0, 0.0, 2.5), np.arange(2.5, 100.1, 2.5)]) * 1e-3
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.scatter(
        1e3 * dt, 100 * dw, s=14, color="k", label=f"Bi & Poo 1998 ({dt.size} cell pairs)", zorder=3
    )
    for (label, rule), style in zip(rules.items(), ("-", "--")):
        d, true_dt = pairing_protocol(grid, rule, BI_POO_PAIRINGS, BI_POO_PERIOD_S, DT_S)
        ax.plot(1e3 * true_dt, 100 * d, style, label=f"{label} rule")
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
        name,
        caption=(
            f"Relative change of synaptic strength after {BI_POO_PAIRINGS} pre/post pairings at "
            f"{1 / BI_POO_PERIOD_S:g} Hz against the spike timing: the 45 cell pairs of Bi & Poo (1998) Fig. 7 "
            "(digitised by D. Spicher) and the rules named in the legend simulated on the clock engine with the "
            "same protocol."
        ),
    )


def _sjostrom_figure(
    f: np.ndarray,
    rows: list[dict],
    model: dict[str, np.ndarray],
    ctx,
    name: str = "sjostrom_frequency",
) -> None:
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
        for (rule_name, d), style in zip(model.items(), ("-", ":")):
            ax.plot(f, d[i], style, color=c, label=f"{rule_name} rule, {dt}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set(
        xlabel="pairing frequency (Hz)",
        ylabel="relative weight change after 60 pairings",
        title="Frequency dependence of STDP",
    )
    ax.legend(fontsize=6, ncol=2)
    ctx.save_figure(
        fig,
        name,
        caption=(
            "Weight change after 60 pre/post pairings at +10 ms and -10 ms against pairing frequency: "
            "Sjostrom et al. (2001) data (mean +- SEM, as in Pfister & Gerstner 2006) and the rules named in "
            "the legend simulated on the clock engine."
        ),
    )
