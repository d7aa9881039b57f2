"""bio-suite: the biological-plausibility scorecard of learned codes, network activity and plasticity.

Three groups of declared tests (:mod:`sparse_neuro.neuro.bio.catalogue`), each against cited data
stored in ``neuro/bio/data``:

- receptive_fields: dictionaries learned on whitened natural images with a hard-threshold (L0)
  and an L1 (FISTA) code; Gabor fits (band-pass fraction, Ringach nx), orientation tuning with
  gratings (circular variance against Ringach et al. 2002), lifetime sparseness and the
  fraction of active units per patch; the L0 code at several thresholds for the sparseness
  figure;
- network_activity: CUBA, COBA, Brunel AI and the microcircuit (rates, log-rate symmetry, ISI CV,
  Fano factor, pairwise correlations; the microcircuit's low L2/3E rate),
  :mod:`sparse_neuro.experiments.bio_network`;
- plasticity: the pair and triplet rules vs the Bi & Poo (1998) data points, the window of the
  stdp-digits network's rule vs Bi & Poo's time constants, both rules vs the Sjostrom et al. (2001)
  frequency dependence, :mod:`sparse_neuro.experiments.bio_plasticity`.

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

from sparse_neuro.experiments import olshausen_field
from sparse_neuro.experiments.bio_network import NETWORKS, NetworkConfig, network_activity
from sparse_neuro.experiments.bio_plasticity import fitted_plasticity, plasticity
from sparse_neuro.experiments.common import write_json_atomic
from sparse_neuro.learning.dictionary import infer, relative_reconstruction_error
from sparse_neuro.neuro.analysis import lifetime_sparseness
from sparse_neuro.neuro.analysis.gabor import fit_gabors
from sparse_neuro.neuro.analysis.gratings import orientation_tuning, spatial_frequency_tuning
from sparse_neuro.neuro.bio.binned2d import permutation_tv
from sparse_neuro.neuro.bio.catalogue import (
    CV_FILE,
    fitted_plasticity_tests,
    microcircuit_layer_test,
    network_tests,
    plasticity_tests,
    receptive_field_tests,
)
from sparse_neuro.neuro.bio.receptive_fields import (
    NXNY_FILE,
    SF_BANDWIDTH_FILE,
    SF_OCTAVES_FILE,
    centred_log2,
    histogram_median,
    nxny_reference,
    peak_sf_reference,
    receptive_field_distribution_tests,
)
from sparse_neuro.neuro.bio.scorecard import read_table
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.fields import receptive_field_grid

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
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if not (isinstance(self.patch_size, int) and self.patch_size >= 6):
            raise ValueError(f"patch_size must be an integer >= 6, got {self.patch_size!r}")
        if self.n_atoms < 4 or self.n_updates < 1 or self.n_test_patches < 10:
            raise ValueError(
                "need n_atoms >= 4, n_updates >= 1 and n_test_patches >= 10, got "
                f"{self.n_atoms}, {self.n_updates}, {self.n_test_patches}"
            )
        if not self.sparsity_levels or any(not t > 0 for t in self.sparsity_levels):
            raise ValueError(
                f"sparsity_levels must be non-empty and > 0, got {self.sparsity_levels}"
            )
        if self.n_pairs < 1:
            raise ValueError(f"n_pairs must be >= 1, got {self.n_pairs}")
        self.network()  # validates the network sizes

    def network(self) -> NetworkConfig:
        """Sizes and durations of the networks of the network-activity group."""
        return NetworkConfig(
            self.cuba_neurons,
            self.cuba_duration_s,
            self.brunel_scale,
            self.brunel_duration_s,
            self.microcircuit_scale,
            self.microcircuit_duration_s,
        )


FULL = {
    "patch_size": 12,
    "n_atoms": 144,
    "n_train_patches": 100_000,
    "n_test_patches": 2000,
    "n_updates": 1000,
    "cuba_duration_s": 10.0,
    "brunel_scale": 1.0,
    "brunel_duration_s": 3.0,
    "microcircuit_scale": 1.0,
    "microcircuit_duration_s": 3.0,
}
SMOKE = {
    "n_atoms": 16,
    "n_updates": 20,
    "n_train_patches": 2000,
    "n_test_patches": 100,
    "sparsity_levels": (1.0,),
    "n_pairs": 10,
    "cuba_neurons": 1000,
    "cuba_duration_s": 0.6,
    "brunel_scale": 0.05,
    "brunel_duration_s": 0.6,
    "microcircuit_scale": 0.01,
    "microcircuit_duration_s": 0.6,
}
QUICK: dict = {}


# ---------------------------------------------------------------------- receptive fields
def _learn(cfg: Config, inference: str, lam: float, seed: int, ctx):
    of = olshausen_field.Config(
        images="",
        patch_size=cfg.patch_size,
        n_atoms=cfg.n_atoms,
        n_train_patches=cfg.n_train_patches,
        n_test_patches=cfg.n_test_patches,
        inference=inference,
        lam=lam,
        n_updates=cfg.n_updates,
    )
    res, _, Xt = olshausen_field.train_dictionary(
        of, seed, progress=lambda it: ctx.progress(it, desc=f"{inference} lam={lam:g}")
    )
    D = res.dictionary.astype(np.float64)
    A = infer(
        D, Xt, dataclasses.replace(of.dictionary_config(), max_iter=400, tol=1e-4, dtype="float64")
    )
    return D, Xt, A


def code_statistics(D: np.ndarray, Xt: np.ndarray, A: np.ndarray) -> dict:
    """Sparseness statistics of codes ``A`` (patches x atoms) of test patches ``Xt`` (patches x pixels)."""
    resp = np.abs(A)  # response magnitude, as a rectified rate
    active = resp.sum(axis=0) > 0
    return {
        "lifetime_sparseness": float(np.nanmedian(lifetime_sparseness(resp[:, active])))
        if active.any()
        else float("nan"),
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
    sfs = {}
    code_stats: dict = {}
    for code, inference, lam in (("l0", "lca_hard", cfg.l0_threshold), ("l1", "fista", cfg.l1_lam)):
        D, Xt, A = _learn(cfg, inference, lam, ctx.seed, ctx)
        shape, nxny[code] = shape_statistics(D, cfg.patch_size)
        stats = {**shape, **code_statistics(D, Xt, A)}
        values.update({f"{code}_{k}": v for k, v in stats.items()})
        tuning = orientation_tuning(D, (cfg.patch_size, cfg.patch_size))
        cvs[code] = tuning["circular_variance"]
        values[f"{code}_orientation_circular_variance"] = cvs[code]
        sfs[code] = spatial_frequency_tuning(D, (cfg.patch_size, cfg.patch_size))
        values.update(_sf_statistics(code, nxny[code], sfs[code]))
        code_stats[code] = stats
        ctx.save_arrays(
            f"rf_{code}",
            {
                "D": D,
                "nxny": nxny[code],
                "circular_variance": cvs[code],
                "preferred_freq": tuning["preferred_freq"],
                "sf_bandwidth_octaves": sfs[code]["bandwidth_octaves"],
                "sf_bandwidth_ratio_percent": sfs[code]["bandwidth_ratio_percent"],
            },
            {"inference": inference, "lam": lam},
        )
        n = cfg.n_atoms
        ctx.save_figure(
            receptive_field_grid(
                D,
                (cfg.patch_size, cfg.patch_size),
                title=(
                    f"{code.upper()} code ({inference}, lam={lam:g}): {n} bases, "
                    f"{100 * shape['frac_gabor_bandpass']:.0f}% band-pass Gabor fits"
                ),
            ),
            f"fields_{code}",
            caption=(
                f"Basis functions of the {code.upper()} dictionary ({cfg.patch_size}x{cfg.patch_size} px). "
                f"{100 * shape['frac_gabor_bandpass']:.1f}% of all {n} fit a Gabor with R^2 > {R2_MIN} and "
                f"a spectral peak at >= {olshausen_field.MIN_PEAK_FREQ} cycles/pixel."
            ),
        )
    _ringach_figure(nxny, ctx)
    _orientation_figure(cvs, ctx)
    _sf_figure(sfs, ctx)
    _sparseness_levels(cfg, ctx, values, {cfg.l0_threshold: code_stats["l0"]}, code_stats["l1"])
    return values


def _sf_statistics(code: str, nxny: np.ndarray, sf: dict) -> dict:
    """Model values of the shape and spatial-frequency tests of ``code`` (keyed by test name)."""
    octaves = sf["bandwidth_octaves"]
    ratio = sf["bandwidth_ratio_percent"]
    return {
        f"{code}_ringach_nxny": nxny,
        # unresolved bandwidths (NaN) are left out: the scorecard row stays strict JSON
        f"{code}_sf_bandwidth_ratio": ratio[np.isfinite(ratio)],
        f"{code}_sf_bandwidth_octaves": float(np.nanmedian(octaves))
        if np.isfinite(octaves).any()
        else float("nan"),
        f"{code}_preferred_sf_spread": centred_log2(sf["preferred_freq"]),
    }


def _ringach_figure(nxny: dict[str, np.ndarray], ctx) -> None:
    ref = nxny_reference()
    xe, ye = np.asarray(ref.x_edges), np.asarray(ref.y_edges)
    counts = np.asarray(ref.counts)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    mesh = ax.pcolormesh(xe, ye, counts.T, cmap="Greys", vmin=0, vmax=counts.max() * 1.6, zorder=0)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            if counts[i, j]:
                ax.text(
                    np.sqrt(xe[i] * xe[i + 1]),
                    np.sqrt(ye[j] * ye[j + 1]),
                    f"{counts[i, j]:g}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="0.25",
                    zorder=1,
                )
    for (code, pts), mk, c in zip(nxny.items(), ("o", "^"), ("C0", "C3")):
        d, p = ref.distance_and_p(pts)
        off = int(np.sum(ref.labels(pts) == counts.size))
        ax.scatter(
            np.clip(pts[:, 0], 0.05, 3),
            np.clip(pts[:, 1], 0.05, 3),
            s=16,
            marker=mk,
            color=c,
            alpha=0.8,
            zorder=2,
            label=f"{code.upper()} code: {len(pts)} fits ({off} off the grid), TV distance {d:.2f}, p = {p:.2g}",
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlim=(0.05, 3),
        ylim=(0.05, 3),
        xlabel="nx = sigma_x f (cycles, across the bars)",
        ylabel="ny = sigma_y f (cycles, along the bars)",
        title="Gabor shape (nx, ny) vs macaque V1 simple cells",
    )
    fig.colorbar(mesh, ax=ax, shrink=0.8, label=f"macaque cells per bin (n = {ref.n_reference})")
    ax.legend(fontsize=6.5, loc="lower right")  # the corner macaque cells and fits leave empty
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "ringach_nxny",
        caption=(
            "Shape of the band-pass Gabor fits of the L0 and L1 codes (points; values outside [0.05, 3] drawn at "
            "the border) over the joint (nx, ny) histogram of macaque V1 simple cells of Ringach (2002) (grey "
            f"bins with cell counts; binned transcription of Dapello et al. 2020, neuro/bio/data/{NXNY_FILE}). "
            "Distance: total variation between the bin frequencies (points off the grid count as an extra bin); "
            "p: permutation test of the pooled bin labels (2000 shuffles; the smallest p it can give is 1/2001). Points near the origin are odd-symmetric "
            "two-lobe fields, whose carrier frequency the fit does not determine."
        ),
    )


def _sf_figure(sfs: dict[str, dict], ctx) -> None:
    bw = read_table(SF_BANDWIDTH_FILE)
    bw_edges = np.array([float(r["bin_low"]) for r in bw] + [float(bw[-1]["bin_high"])])
    bw_counts = np.array([float(r["n_simple"]) for r in bw])
    octs = {r["key"]: r for r in read_table(SF_OCTAVES_FILE)}["median_sf_bandwidth_octaves"]
    pe, pc = peak_sf_reference()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    axes[0].stairs(
        bw_counts / bw_counts.sum(),
        bw_edges,
        color="k",
        lw=1.5,
        label=f"Schiller 1976 simple cells (n={bw_counts.sum():g})",
    )
    oct_edges = np.linspace(0, 4, 17)
    axes[1].axvspan(
        float(octs["low"]),
        float(octs["high"]),
        color="0.88",
        label="De Valois 1982 range (secondhand)",
    )
    pk_edges = np.log2(pe / histogram_median(pe, pc))
    axes[2].stairs(
        pc / pc.sum(),
        pk_edges,
        color="k",
        lw=1.5,
        label=f"De Valois 1982 simple cells (n={pc.sum():g})",
    )
    for (code, sf), c in zip(sfs.items(), ("C0", "C3")):
        r = sf["bandwidth_ratio_percent"]
        r = r[np.isfinite(r)]
        axes[0].stairs(
            np.histogram(r, bw_edges)[0] / max(r.size, 1),
            bw_edges,
            color=c,
            lw=1.2,
            label=f"{code.upper()} code (n={r.size} of {len(sf['bandwidth_ratio_percent'])})",
        )
        o = sf["bandwidth_octaves"]
        o = o[np.isfinite(o)]
        axes[1].stairs(
            np.histogram(np.clip(o, 0, 4), oct_edges)[0] / max(o.size, 1),
            oct_edges,
            color=c,
            lw=1.2,
            label=f"{code.upper()} (n={o.size}, median {np.median(o) if o.size else np.nan:.2f})",
        )
        lp = centred_log2(sf["preferred_freq"])
        axes[2].stairs(
            np.histogram(np.clip(lp, pk_edges[0], pk_edges[-1]), pk_edges)[0] / max(lp.size, 1),
            pk_edges,
            color=c,
            lw=1.2,
            label=f"{code.upper()} code (n={lp.size})",
        )
    axes[0].set(
        xlabel="SF bandwidth: 100 f_low / f_high at 1/sqrt(2) of peak (%)",
        ylabel="fraction of cells / fields",
        title="Bandwidth (ratio)",
    )
    axes[1].set(
        xlabel="SF bandwidth at half amplitude (octaves)",
        ylabel="fraction of fields",
        title="Bandwidth (octaves)",
    )
    axes[2].set(
        xlabel="preferred SF, octaves from the median",
        ylabel="fraction of cells / fields",
        title="Preferred SF spread",
    )
    for ax in axes:
        ax.set_ylim(0, 1.45 * ax.get_ylim()[1])  # headroom: the legend sits above the bars
        ax.legend(fontsize=6.5, loc="upper left")
    fig.suptitle("Spatial-frequency tuning with gratings vs macaque V1", fontsize=10)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "sf_tuning",
        caption=(
            "Spatial-frequency tuning of every basis function, measured with drifting gratings at its preferred "
            "orientation (F1 amplitude of the linear field, 97 frequencies from 0.01 to 0.5 cycles/pixel). Left: "
            "100 f_low/f_high at 1/sqrt(2) of the peak against Schiller, Finlay & Volman (1976) simple cells; middle: "
            "full bandwidth at half amplitude against the 0.8-1.8 octave range quoted for De Valois, Albrecht & "
            "Thorell (1982) (values above 4 octaves drawn in the last bin); right: preferred SF in octaves from each population's median against De Valois et al. "
            "(absolute frequencies are not comparable: patches have no visual angle). Fields whose response does not "
            "fall to the criterion inside the sampled range (e.g. above the Nyquist frequency) are left out (n says "
            "how many remain)."
        ),
    )


def _orientation_figure(cvs: dict[str, np.ndarray], ctx) -> None:
    rows = read_table(CV_FILE)
    edges = np.array([float(r["bin_low"]) for r in rows] + [float(rows[-1]["bin_high"])])
    ref = np.array([float(r["n_cells"]) for r in rows])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.stairs(ref / ref.sum(), edges, color="k", lw=1.5, label=f"macaque V1 (n={ref.sum():g})")
    for code, cv in cvs.items():
        cv = cv[np.isfinite(cv)]
        ax.stairs(
            np.histogram(cv, edges)[0] / max(cv.size, 1),
            edges,
            lw=1.2,
            label=f"{code.upper()} code (n={cv.size}, median {np.median(cv):.2f})",
        )
    ax.set(
        xlabel="circular variance of orientation tuning",
        ylabel="fraction of cells / basis functions",
        xlim=(0, 1),
        ylim=(0, None),
        title="Orientation selectivity vs Ringach et al. (2002)",
    )
    ax.legend(fontsize=7)
    ctx.save_figure(
        fig,
        "orientation_cv",
        caption=(
            "Distribution of the circular variance of orientation tuning (drifting gratings at each basis "
            "function's preferred spatial frequency; 0 = one orientation only, 1 = untuned) for the L0 and L1 "
            "codes, against the histogram of Ringach, Shapley & Hawken (2002) (neuro/bio/data/"
            f"{CV_FILE})."
        ),
    )


def _sparseness_levels(cfg: Config, ctx, values: dict, known: dict[float, dict], l1: dict) -> None:
    """L0 codes learned at each of ``cfg.sparsity_levels`` (``known``: already learned ones) and the
    L1 code against the V1 sparseness bands, in one figure; filled markers lie inside the band."""
    ref = {r["key"]: r for r in read_table("reference_ranges.csv")}
    rows = []
    for thr in cfg.sparsity_levels:
        if thr not in known:  # the L0 code's own threshold is not learned twice
            known[thr] = code_statistics(*_learn(cfg, "lca_hard", thr, ctx.seed, ctx))
        rows.append(known[thr])
    thr = np.asarray(cfg.sparsity_levels)
    ls = np.array([r["lifetime_sparseness"] for r in rows])
    fa = np.array([r["fraction_active"] for r in rows])
    ctx.save_arrays(
        "sparseness_levels", {"threshold": thr, "lifetime_sparseness": ls, "fraction_active": fa}
    )
    values["sparseness_levels"] = {
        "threshold": thr.tolist(),
        "lifetime_sparseness": ls.tolist(),
        "fraction_active": fa.tolist(),
    }
    band = {
        k: (float(ref[k]["low"]), float(ref[k]["high"]))
        for k in ("lifetime_sparseness", "fraction_active")
    }
    cite = {k: ref[k]["citation"].split(")")[0] + ")" for k in band}

    def inside(key: str, v: np.ndarray) -> np.ndarray:
        return (v >= band[key][0]) & (v <= band[key][1])

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, y, key, lbl in (
        (axes[0], ls, "lifetime_sparseness", "median lifetime sparseness"),
        (axes[1], fa, "fraction_active", "fraction of units active per patch"),
    ):
        ax.axhspan(*band[key], color="0.88", label=f"V1 range, {cite[key]}")
        ax.plot(thr, y, "-", color="C0", zorder=1)
        ok = inside(key, y)
        ax.scatter(thr[ok], y[ok], s=40, color="C0", zorder=2, label="L0 code, inside the V1 range")
        ax.scatter(
            thr[~ok],
            y[~ok],
            s=40,
            facecolors="white",
            edgecolors="C0",
            zorder=2,
            label="L0 code, outside",
        )
        ax.axhline(
            l1[key], color="C3", ls="--", lw=1, label=f"L1 code (lam={cfg.l1_lam:g}): {l1[key]:.3g}"
        )
        ax.set(
            xscale="log",
            xlabel=f"hard threshold (whitened units; scorecard: {cfg.l0_threshold:g})",
            ylabel=lbl,
        )
        ax.set_xticks(thr, [f"{t:g}" for t in thr])
        ax.minorticks_off()
        ax.legend(fontsize=6.5, loc="best")
    ax = axes[2]
    ax.add_patch(
        plt.Rectangle(
            (band["fraction_active"][0], band["lifetime_sparseness"][0]),
            np.diff(band["fraction_active"])[0],
            np.diff(band["lifetime_sparseness"])[0],
            color="0.88",
            label="V1 ranges (both)",
        )
    )
    ax.plot(fa, ls, "o-", color="C0", label="L0 code at each threshold")
    for t, x, y in zip(thr, fa, ls):
        ax.annotate(f"{t:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.plot(l1["fraction_active"], l1["lifetime_sparseness"], "^", color="C3", label="L1 code")
    ax.set(
        xlabel="fraction of units active per patch",
        ylabel="median lifetime sparseness",
        xlim=(0, max(0.3, 1.1 * max(fa.max(), l1["fraction_active"]))),
        ylim=(0.3, 1.0),
        title="Both statistics together",
    )
    ax.legend(fontsize=6.5, loc="lower right")
    fig.suptitle(f"Sparseness of codes learned at {thr.size} sparsity levels vs V1", fontsize=10)
    fig.tight_layout()
    ctx.save_figure(
        fig,
        "sparseness_levels",
        caption=(
            "Median lifetime sparseness (Vinje & Gallant 2000 definition, over test patches) and mean fraction of "
            f"units active per patch of L0 codes learned at hard thresholds {', '.join(f'{t:g}' for t in thr)} "
            f"(filled: inside the V1 band, open: outside; the scorecard judges threshold {cfg.l0_threshold:g}) and of "
            f"the L1 code (dashed, lam = {cfg.l1_lam:g}); shaded: the V1 reference bands of reference_ranges.csv. "
            "Right: the two statistics together; a code matching V1 on both lies in the shaded box."
        ),
    )


# ---------------------------------------------------------------------- the run
def _summarise_nxny_rows(scorecard: list[dict], values: dict) -> dict:
    """Replace the (nx, ny) point lists of the Ringach rows by a readable summary with the
    permutation p-value (the points stay in results.h5); return the summary keys."""
    ref = nxny_reference()
    out = {}
    for row in scorecard:
        if not row["name"].endswith("_ringach_nxny"):
            continue
        pts = np.asarray(values[row["name"]]).reshape(-1, 2)
        d, p = ref.distance_and_p(pts)
        # the same test without the fits off the grid (mostly odd two-lobe fields near the origin,
        # whose nx, ny the fit does not determine): separates the two ways a code can differ
        on = pts[ref.labels(pts) < np.asarray(ref.counts).size]
        d_on, p_on = ref.distance_and_p(on)
        code = row["name"].split("_")[0]
        row["model_value"] = {
            "fits": int(len(pts)),
            "median nx": float(np.median(pts[:, 0])) if len(pts) else float("nan"),
            "median ny": float(np.median(pts[:, 1])) if len(pts) else float("nan"),
            "TV distance": d,
            "permutation p": p,
        }
        out.update(
            {
                f"{code}_ringach_tv_distance": d,
                f"{code}_ringach_p": p,
                f"{code}_ringach_n_off_grid": int(len(pts) - len(on)),
                f"{code}_ringach_on_grid_tv_distance": d_on,
                f"{code}_ringach_on_grid_p": p_on,
            }
        )
    # the claim under test: is the hard-threshold (L0) code's shape distribution different from L1's?
    a, b = (
        ref.labels(np.asarray(values[f"{c}_ringach_nxny"]).reshape(-1, 2)) for c in ("l0", "l1")
    )
    if a.size and b.size:
        d, p = permutation_tv(a, b, np.asarray(ref.counts).size + 1, ref.n_permutations, ref.seed)
        out.update({"ringach_l0_vs_l1_tv_distance": d, "ringach_l0_vs_l1_p": p})
    return out


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
    tests = [
        *receptive_field_tests("l0"),
        *receptive_field_tests("l1"),
        *receptive_field_distribution_tests("l0"),
        *receptive_field_distribution_tests("l1"),
        *(
            t
            for net, label in NETWORKS.items()
            for t in network_tests(net, f"{label} ({sizes[net]})")
        ),
        microcircuit_layer_test(),
        *plasticity_tests(),
    ]
    scorecard = [t.judge(values[t.name]).as_dict() for t in tests]
    ringach = _summarise_nxny_rows(scorecard, values)
    # --- fitted plasticity presets (issue 30): rows beside the 49, counted apart from them ---
    values.update(fitted_plasticity(cfg.n_pairs, ctx))
    fitted = [t.judge(values[t.name]).as_dict() for t in fitted_plasticity_tests()]
    write_json_atomic(ctx.out_dir / "scorecard.json", scorecard + fitted)
    fitted_counts = {
        "n_tests_all": len(scorecard) + len(fitted),
        "n_passed_all": sum(r["passed"] for r in scorecard + fitted),
        "passed_fitted_plasticity": sum(r["passed"] for r in fitted),
        "n_fitted_plasticity": len(fitted),
    }
    # --- end of the fitted presets ---
    n_pass = sum(r["passed"] for r in scorecard)
    summary = {
        "n_tests": len(scorecard),
        "n_passed": n_pass,
        **fitted_counts,
        **{
            f"passed_{g}": sum(r["passed"] for r in scorecard if r["group"] == g)
            for g in ("receptive_fields", "network_activity", "plasticity")
        },
        "l0_frac_gabor_bandpass": values["l0_frac_gabor_bandpass"],
        "l1_frac_gabor_bandpass": values["l1_frac_gabor_bandpass"],
        "l0_median_nx": values["l0_median_nx"],
        "l1_median_nx": values["l1_median_nx"],
        **ringach,
        "l0_sf_bandwidth_octaves": values["l0_sf_bandwidth_octaves"],
        "l1_sf_bandwidth_octaves": values["l1_sf_bandwidth_octaves"],
        "l0_reconstruction_error": values["l0_reconstruction_error"],
        "l1_reconstruction_error": values["l1_reconstruction_error"],
        **{
            f"{net}_{k}": values[f"{net}_{k}"]
            for net in NETWORKS
            for k in ("mean_rate_hz", "isi_cv")
        },
        "microcircuit_l23e_rate_ratio": values["microcircuit_l23e_rate_ratio"],
        **{
            f"{r['name']}_r2": 1.0 - r["distance"]
            for r in scorecard + fitted
            if r["name"].endswith("_bi_poo_window")
        },
    }
    return summary
