"""bio-suite: the biological-plausibility scorecard of learned codes, network activity and plasticity.

Three groups of declared tests (:mod:`neuro.bio.catalogue`), each against cited data stored in
``neuro/bio/data``:

- receptive_fields: dictionaries learned on whitened natural images with a hard-threshold (L0)
  and an L1 (FISTA) code; Gabor fits (band-pass fraction, Ringach nx), orientation tuning with
  gratings (circular variance against Ringach et al. 2002), lifetime sparseness and the
  fraction of active units per patch; the L0 code at several thresholds for the sparseness
  figure;
- network_activity: CUBA, COBA, Brunel AI and the microcircuit (rates, log-rate symmetry, ISI CV,
  Fano factor, pairwise correlations; the microcircuit's low L2/3E rate), :mod:`experiments.bio_network`;
- plasticity: the pair and triplet rules vs the Bi & Poo (1998) data points, the window of the
  stdp-digits network's rule vs Bi & Poo's time constants, both rules vs the Sjostrom et al. (2001)
  frequency dependence, :mod:`experiments.bio_plasticity`.

Writes ``scorecard.json`` (one row per test), ``results.h5``, figures (PNG + SVG) and
``report.html``. Quick by default (a few minutes on 2 cores); ``--set full=true`` runs the
full-size dictionaries, longer network simulations and the full-size Brunel network and
microcircuit (77,169 neurons: several GB and a long run).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from experiments import olshausen_field
from experiments.bio_network import NETWORKS, NetworkConfig, network_activity
from experiments.bio_plasticity import plasticity
from experiments.common import write_json_atomic
from learning.dictionary import infer, relative_reconstruction_error
from neuro.analysis import lifetime_sparseness
from neuro.analysis.gabor import fit_gabors
from neuro.analysis.gratings import orientation_tuning
from neuro.bio.catalogue import (
    CV_FILE,
    microcircuit_layer_test,
    network_tests,
    plasticity_tests,
    receptive_field_tests,
)
from neuro.bio.scorecard import read_table
from neuro.plotting.fields import receptive_field_grid

__all__ = ["Config", "FULL", "QUICK", "SMOKE", "run"]

#: Gabor fits count as band-pass Gabors with R^2 above this and a spectral peak at or above
#: olshausen_field.MIN_PEAK_FREQ.
R2_MIN = 0.8


@dataclass(frozen=True)
class Config:
    """bio-suite parameters (defaults: the quick run; ``full=True`` applies :data:`FULL`)."""

    full: bool = False
    patch_size: int = 8
    n_atoms: int = 64
    n_train_patches: int = 20_000
    n_test_patches: int = 1000
    n_updates: int = 300
    l0_threshold: float = 1.0
    l1_lam: float = 0.4
    sparsity_levels: tuple[float, ...] = (0.5, 1.0, 2.0)
    cuba_neurons: int = 4000
    cuba_duration_s: float = 2.0
    brunel_scale: float = 0.25
    brunel_duration_s: float = 1.2
    microcircuit_scale: float = 0.05
    microcircuit_duration_s: float = 1.2
    n_pairs: int = 60

    def __post_init__(self) -> None:
        if not (isinstance(self.patch_size, int) and self.patch_size >= 6):
            raise ValueError(f"patch_size must be an integer >= 6, got {self.patch_size!r}")
        if self.n_atoms < 4 or self.n_updates < 1 or self.n_test_patches < 10:
            raise ValueError("need n_atoms >= 4, n_updates >= 1 and n_test_patches >= 10, got "
                             f"{self.n_atoms}, {self.n_updates}, {self.n_test_patches}")
        if not self.sparsity_levels or any(not t > 0 for t in self.sparsity_levels):
            raise ValueError(f"sparsity_levels must be non-empty and > 0, got {self.sparsity_levels}")
        if self.n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {self.n_pairs}")
        self.network()  # validates the network sizes

    def network(self) -> NetworkConfig:
        """Sizes and durations of the networks of the network-activity group."""
        return NetworkConfig(self.cuba_neurons, self.cuba_duration_s, self.brunel_scale, self.brunel_duration_s,
                             self.microcircuit_scale, self.microcircuit_duration_s)


FULL = {"patch_size": 12, "n_atoms": 144, "n_train_patches": 100_000, "n_test_patches": 2000,
        "n_updates": 1000, "cuba_duration_s": 10.0, "brunel_scale": 1.0, "brunel_duration_s": 3.0,
        "microcircuit_scale": 1.0, "microcircuit_duration_s": 3.0}
SMOKE = {"n_atoms": 16, "n_updates": 20, "n_train_patches": 2000, "n_test_patches": 100,
         "sparsity_levels": (1.0,), "n_pairs": 10, "cuba_neurons": 1000, "cuba_duration_s": 0.6,
         "brunel_scale": 0.05, "brunel_duration_s": 0.6, "microcircuit_scale": 0.01, "microcircuit_duration_s": 0.6}
QUICK: dict = {}


# ---------------------------------------------------------------------- receptive fields
def _learn(cfg: Config, inference: str, lam: float, seed: int, ctx):
    of = olshausen_field.Config(images="", patch_size=cfg.patch_size, n_atoms=cfg.n_atoms,
                                n_train_patches=cfg.n_train_patches, n_test_patches=cfg.n_test_patches,
                                inference=inference, lam=lam, n_updates=cfg.n_updates)
    res, _, Xt = olshausen_field.train_dictionary(
        of, seed, progress=lambda it: ctx.progress(it, desc=f"{inference} lam={lam:g}"))
    D = res.dictionary.astype(np.float64)
    A = infer(D, Xt, dataclasses.replace(of.dictionary_config(), max_iter=400, tol=1e-4, dtype="float64"))
    return D, Xt, A


def code_statistics(D: np.ndarray, Xt: np.ndarray, A: np.ndarray) -> dict:
    """Sparseness statistics of codes ``A`` (patches x atoms) of test patches ``Xt`` (patches x pixels)."""
    resp = np.abs(A)  # response magnitude, as a rectified rate
    active = resp.sum(axis=0) > 0
    return {
        "lifetime_sparseness": float(np.nanmedian(lifetime_sparseness(resp[:, active]))) if active.any() else float("nan"),
        "fraction_active": float(np.mean(resp > 0)),
        "reconstruction_error": relative_reconstruction_error(D, Xt, A),
    }


def shape_statistics(D: np.ndarray, patch_size: int) -> tuple[dict, np.ndarray]:
    """Gabor-fit statistics; returns them and the (nx, ny) of the band-pass Gabor fits."""
    fits = fit_gabors(D, (patch_size, patch_size))
    good = [g for g in fits if olshausen_field.is_bandpass(g, R2_MIN)]
    nxny = np.array([[g.sigma_x * g.freq, g.sigma_y * g.freq] for g in good]).reshape(-1, 2)
    return {
        "frac_gabor_bandpass": len(good) / len(fits),
        "median_nx": float(np.median(nxny[:, 0])) if len(good) else float("nan"),
        "frac_nx_below_0_5": float(np.mean(nxny[:, 0] < 0.5)) if len(good) else float("nan"),
    }, nxny


def receptive_fields(cfg: Config, ctx) -> dict:
    """Statistics keyed by test name for the L0 and L1 codes, sparseness levels, figures."""
    values: dict = {}
    nxny = {}
    cvs = {}
    l0_stats: dict = {}
    for code, inference, lam in (("l0", "lca_hard", cfg.l0_threshold), ("l1", "fista", cfg.l1_lam)):
        D, Xt, A = _learn(cfg, inference, lam, ctx.seed, ctx)
        shape, nxny[code] = shape_statistics(D, cfg.patch_size)
        stats = {**shape, **code_statistics(D, Xt, A)}
        values.update({f"{code}_{k}": v for k, v in stats.items()})
        tuning = orientation_tuning(D, (cfg.patch_size, cfg.patch_size))
        cvs[code] = tuning["circular_variance"]
        values[f"{code}_orientation_circular_variance"] = cvs[code]
        if code == "l0":
            l0_stats = stats
        ctx.save_arrays(f"rf_{code}", {"D": D, "nxny": nxny[code], "circular_variance": cvs[code],
                                        "preferred_freq": tuning["preferred_freq"]},
                        {"inference": inference, "lam": lam})
        n = cfg.n_atoms
        ctx.save_figure(receptive_field_grid(D, (cfg.patch_size, cfg.patch_size), title=(
            f"{code.upper()} code ({inference}, lam={lam:g}): {n} bases, "
            f"{100 * shape['frac_gabor_bandpass']:.0f}% band-pass Gabor fits")), f"fields_{code}", caption=(
            f"Basis functions of the {code.upper()} dictionary ({cfg.patch_size}x{cfg.patch_size} px). "
            f"{100 * shape['frac_gabor_bandpass']:.1f}% of all {n} fit a Gabor with R^2 > {R2_MIN} and "
            f"a spectral peak at >= {olshausen_field.MIN_PEAK_FREQ} cycles/pixel."))
    _ringach_figure(nxny, ctx)
    _orientation_figure(cvs, ctx)
    _sparseness_levels(cfg, ctx, values, {cfg.l0_threshold: l0_stats})
    return values


def _ringach_figure(nxny: dict[str, np.ndarray], ctx) -> None:
    ref = {r["key"]: r for r in read_table("reference_ranges.csv")}["median_nx"]
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    ax.axvspan(0, float(ref["high"]), color="0.88", label=f"macaque V1: most cells nx < {float(ref['high']):g}")
    for (code, pts), mk in zip(nxny.items(), ("o", "^")):
        ax.scatter(pts[:, 0], pts[:, 1], s=14, marker=mk, alpha=0.7,
                   label=f"{code.upper()} code (n={len(pts)}, median nx={np.median(pts[:, 0]) if len(pts) else np.nan:.2f})")
    ax.set(xlabel="nx = sigma_x f (cycles)", ylabel="ny = sigma_y f (cycles)", xlim=(0, 1.5), ylim=(0, 1.5),
           title="Shape of the band-pass Gabor fits vs Ringach (2002)")
    ax.legend(fontsize=7, loc="upper right")
    ctx.save_figure(fig, "ringach_nxny", caption=(
        "Gabor shape (nx, ny) of the band-pass fits of the L0 and L1 codes. Shaded: the region holding "
        "most macaque simple cells per Ringach (2002) (summary statement; the per-cell table is not stored "
        "in the repository). Points near the origin are odd-symmetric two-lobe fields, which the fit "
        "describes equally well with a carrier frequency tending to 0: their nx and ny are not determined."))


def _orientation_figure(cvs: dict[str, np.ndarray], ctx) -> None:
    rows = read_table(CV_FILE)
    edges = np.array([float(r["bin_low"]) for r in rows] + [float(rows[-1]["bin_high"])])
    ref = np.array([float(r["n_cells"]) for r in rows])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.stairs(ref / ref.sum(), edges, color="k", lw=1.5, label=f"macaque V1 (n={ref.sum():g})")
    for code, cv in cvs.items():
        cv = cv[np.isfinite(cv)]
        ax.stairs(np.histogram(cv, edges)[0] / max(cv.size, 1), edges, lw=1.2,
                  label=f"{code.upper()} code (n={cv.size}, median {np.median(cv):.2f})")
    ax.set(xlabel="circular variance of orientation tuning", ylabel="fraction of cells / basis functions",
           xlim=(0, 1), ylim=(0, None), title="Orientation selectivity vs Ringach et al. (2002)")
    ax.legend(fontsize=7)
    ctx.save_figure(fig, "orientation_cv", caption=(
        "Distribution of the circular variance of orientation tuning (drifting gratings at each basis "
        "function's preferred spatial frequency; 0 = one orientation only, 1 = untuned) for the L0 and L1 "
        "codes, against the histogram of Ringach, Shapley & Hawken (2002) (neuro/bio/data/"
        f"{CV_FILE})."))


def _sparseness_levels(cfg: Config, ctx, values: dict, known: dict[float, dict]) -> None:
    ref = {r["key"]: r for r in read_table("reference_ranges.csv")}
    rows = []
    for thr in cfg.sparsity_levels:
        if thr not in known:  # the L0 code's own threshold is not learned twice
            known[thr] = code_statistics(*_learn(cfg, "lca_hard", thr, ctx.seed, ctx))
        rows.append(known[thr])
    thr = np.asarray(cfg.sparsity_levels)
    ls = np.array([r["lifetime_sparseness"] for r in rows])
    fa = np.array([r["fraction_active"] for r in rows])
    ctx.save_arrays("sparseness_levels", {"threshold": thr, "lifetime_sparseness": ls, "fraction_active": fa})
    values["sparseness_levels"] = {"threshold": thr.tolist(), "lifetime_sparseness": ls.tolist(),
                                   "fraction_active": fa.tolist()}
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.3))
    for ax, y, key, lbl in ((axes[0], ls, "lifetime_sparseness", "median lifetime sparseness"),
                            (axes[1], fa, "fraction_active", "fraction of units active per patch")):
        ax.axhspan(float(ref[key]["low"]), float(ref[key]["high"]), color="0.88",
                   label="V1 range, " + ref[key]["citation"].split(")")[0] + ")")
        ax.plot(thr, y, "o-", label="L0 code")
        ax.set(xlabel="hard threshold (whitened units)", ylabel=lbl)
        ax.legend(fontsize=7)
    fig.suptitle(f"Sparseness of L0 codes learned at {thr.size} thresholds vs V1", fontsize=10)
    fig.tight_layout()
    ctx.save_figure(fig, "sparseness_levels", caption=(
        "Median lifetime sparseness (Vinje & Gallant 2000 definition, over test patches) and mean fraction of "
        f"units active per patch of L0 codes learned at thresholds {', '.join(f'{t:g}' for t in thr)}; "
        "shaded: the V1 reference bands of reference_ranges.csv."))


# ---------------------------------------------------------------------- the run
def run(cfg: Config, ctx) -> dict:
    """Compute every statistic, judge the tests, write scorecard.json and the figures (the runner
    writes report.html with the scorecard)."""
    if cfg.full:
        cfg = dataclasses.replace(cfg, **FULL, full=False)
    values = {}
    values.update(receptive_fields(cfg, ctx))
    values.update(network_activity(cfg.network(), ctx))
    values.update(plasticity(cfg.n_pairs, ctx))
    sizes = cfg.network().sizes()
    tests = [*receptive_field_tests("l0"), *receptive_field_tests("l1"),
             *(t for net, label in NETWORKS.items() for t in network_tests(net, f"{label} ({sizes[net]})")),
             microcircuit_layer_test(), *plasticity_tests()]
    scorecard = [t.judge(values[t.name]).as_dict() for t in tests]
    write_json_atomic(ctx.out_dir / "scorecard.json", scorecard)
    n_pass = sum(r["passed"] for r in scorecard)
    summary = {
        "n_tests": len(scorecard),
        "n_passed": n_pass,
        **{f"passed_{g}": sum(r["passed"] for r in scorecard if r["group"] == g)
           for g in ("receptive_fields", "network_activity", "plasticity")},
        "l0_frac_gabor_bandpass": values["l0_frac_gabor_bandpass"],
        "l1_frac_gabor_bandpass": values["l1_frac_gabor_bandpass"],
        "l0_median_nx": values["l0_median_nx"],
        "l1_median_nx": values["l1_median_nx"],
        "l0_reconstruction_error": values["l0_reconstruction_error"],
        "l1_reconstruction_error": values["l1_reconstruction_error"],
        **{f"{net}_{k}": values[f"{net}_{k}"] for net in NETWORKS for k in ("mean_rate_hz", "isi_cv")},
        "microcircuit_l23e_rate_ratio": values["microcircuit_l23e_rate_ratio"],
        **{f"{r['name']}_r2": 1.0 - r["distance"] for r in scorecard if r["name"].endswith("_bi_poo_window")},
    }
    return summary
