"""Olshausen & Field sparse coding of natural images: V1-like receptive fields, measured.

Whitened natural images (scikit-image's bundled photographs by default, R(f) = f exp(-(f/f0)^4)),
random patches, a dictionary learned by alternating sparse inference and gradient steps,
then every basis function fitted by a 2-D Gabor. A basis function counts as a band-pass
Gabor when the fit has R^2 > 0.8 and the fitted Gabor's amplitude spectrum peaks at 0.05
cycles/pixel or more (``GaborFit.peak_freq``; the carrier frequency of an odd-symmetric fit can
slide towards 0 without changing the fit, so it cannot tell band-pass from blob). Reports the
fraction of band-pass Gabors (``frac_gabor_bandpass``), the
sparseness and reconstruction error of the codes on held-out patches, the orientation tiling
and the training time. Default: 12x12 patches, 144 bases (the 1997 paper's size), inference
by the hard-threshold LCA (unbiased amplitudes, so sparse codes still reconstruct well);
``--set inference=fista`` gives the L1 (soft-threshold) version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sparse_neuro.encoders.natural_images import load_images, sample_patches, whiten_images
from sparse_neuro.learning.dictionary import (
    DictionaryConfig,
    infer,
    learn_dictionary,
    relative_reconstruction_error,
)
from sparse_neuro.neuro.analysis.gabor import GaborFit, fit_gabors, gabor_population_stats
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.fields import gabor_tiling, receptive_field_grid

__all__ = ["MIN_PEAK_FREQ", "QUICK", "SMOKE", "Config", "is_bandpass", "run", "train_dictionary"]

#: A well-fit Gabor is band-pass when its amplitude spectrum peaks at or above this (cycles/pixel).
MIN_PEAK_FREQ = 0.05


def is_bandpass(fit: GaborFit, r2_min: float = 0.8) -> bool:
    """``fit.r2 > r2_min`` and its spectrum peaks at ``>= MIN_PEAK_FREQ`` (not a blob or ramp)."""
    return fit.r2 > r2_min and fit.peak_freq >= MIN_PEAK_FREQ


@dataclass(frozen=True)
class Config:
    """Parameters of the olshausen-field run (defaults: the full ~1-minute run).

    ``images`` is empty for scikit-image's bundled set, a comma-separated list of
    ``skimage.data`` names (``camera,grass``), or a directory / image file /
    ``.npy``/``.mat``/``.h5`` stack. ``lam`` is the L1 weight (FISTA/ISTA/soft LCA) or the
    threshold (hard LCA) for unit-variance whitened images.
    """

    images: str = ""
    patch_size: int = 12
    n_atoms: int = 144
    f0_cycles_per_pixel: float = 200.0 / 512.0
    n_train_patches: int = 100_000
    n_test_patches: int = 2000
    inference: str = "lca_hard"
    lam: float = 1.0
    n_updates: int = 1000
    batch_size: int = 256
    lr: float = 1.0
    max_iter: int = 100
    update: str = "norm"
    r2_min: float = 0.8

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if not (isinstance(self.patch_size, int) and self.patch_size >= 4):
            raise ValueError(f"patch_size must be an integer >= 4, got {self.patch_size!r}")
        for name in ("n_train_patches", "n_test_patches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.r2_min < 1:
            raise ValueError(f"r2_min must be in [0, 1), got {self.r2_min}")
        self.dictionary_config()  # validates the learning parameters

    def dictionary_config(self) -> DictionaryConfig:
        """The learning parameters as a :class:`DictionaryConfig`."""
        return DictionaryConfig(
            n_atoms=self.n_atoms,
            lam=self.lam,
            n_updates=self.n_updates,
            batch_size=self.batch_size,
            lr=self.lr,
            inference=self.inference,
            max_iter=self.max_iter,
            update=self.update,
        )


SMOKE = {
    "images": "camera,grass,brick",
    "n_updates": 30,
    "n_train_patches": 5000,
    "n_test_patches": 200,
    "n_atoms": 16,
    "patch_size": 6,
    "batch_size": 100,
}
QUICK = {"n_updates": 600}


def train_dictionary(cfg: Config, seed: int, progress=None):
    """Load and whiten the images, sample patches and learn the dictionary.

    Returns ``(result, train_patches, test_patches)``.
    """
    src = cfg.images or None
    if src and not Path(src).exists() and all(n.strip().isidentifier() for n in src.split(",")):
        src = [n.strip() for n in src.split(",")]
    imgs = whiten_images(load_images(src), cfg.f0_cycles_per_pixel)
    rng = np.random.default_rng(seed)
    X = sample_patches(imgs, cfg.patch_size, cfg.n_train_patches, seed=rng)
    Xt = sample_patches(imgs, cfg.patch_size, cfg.n_test_patches, seed=rng)
    res = learn_dictionary(X, cfg.dictionary_config(), seed=rng, progress=progress)
    return res, X, Xt


def run(cfg: Config, ctx) -> dict:
    """Learn the dictionary, fit Gabors, write figures and arrays, return the summary."""
    res, _, Xt = train_dictionary(
        cfg, ctx.seed, progress=lambda it: ctx.progress(it, desc="learning")
    )
    D = res.dictionary.astype(np.float64)
    dcfg = cfg.dictionary_config()
    A = infer(
        D,
        Xt,
        DictionaryConfig(
            **{**dcfg.__dict__, "max_iter": 4 * cfg.max_iter, "tol": 1e-4, "dtype": "float64"}
        ),
    )
    t0 = time.perf_counter()
    shape = (cfg.patch_size, cfg.patch_size)
    fits = fit_gabors(D, shape)
    fit_s = time.perf_counter() - t0
    stats = gabor_population_stats(fits, r2_min=cfg.r2_min)
    bandpass = [g for g in fits if is_bandpass(g, cfg.r2_min)]
    n_bp = len(bandpass)
    ctx.save_arrays(
        "dictionary",
        {"D": D, "objective": res.objective, "frac_nonzero": res.frac_nonzero},
        {"patch_size": cfg.patch_size, "lam": cfg.lam, "inference": cfg.inference},
    )
    ctx.save_arrays(
        "gabor",
        {
            k: np.array([g.as_dict()[k] for g in fits])
            for k in (
                "x0",
                "y0",
                "theta",
                "freq",
                "peak_freq",
                "sigma_x",
                "sigma_y",
                "phase",
                "amplitude",
                "r2",
            )
        },
    )
    order = np.argsort([-g.r2 for g in fits], kind="stable")
    what = f"band-pass Gabor fits (R^2 > {cfg.r2_min:g}, peak SF >= {MIN_PEAK_FREQ:g} cyc/px)"
    ctx.save_figure(
        receptive_field_grid(
            D,
            shape,
            title=(
                f"{cfg.n_atoms} bases, {cfg.patch_size}x{cfg.patch_size} px: {n_bp} ({100 * n_bp / len(fits):.0f}%) "
                f"are {what}"
            ),
        ),
        "receptive_fields",
    )
    ctx.save_figure(
        receptive_field_grid(
            D[:, order], shape, title=f"all {cfg.n_atoms} bases sorted by Gabor R^2"
        ),
        "receptive_fields_sorted",
    )
    ctx.save_figure(
        gabor_tiling(bandpass, shape, cfg.r2_min, title=f"Gabor tiling of the {n_bp} {what}"),
        "gabor_tiling",
    )
    return {
        "frac_gabor_r2_gt_0_8": stats["frac_gabor"]
        if cfg.r2_min == 0.8
        else float(np.mean([g.r2 > 0.8 for g in fits])),
        "median_gabor_r2": stats["median_r2"],
        # well-fit Gabors whose spectrum peaks at >= MIN_PEAK_FREQ: band-pass, not blobs or ramps
        "frac_gabor_bandpass": n_bp / len(fits),
        # the same with the carrier frequency instead of the peak (lower: odd fields drift to f -> 0)
        "frac_gabor_carrier_freq_ge_0_05": float(
            np.mean([g.r2 > cfg.r2_min and g.freq >= MIN_PEAK_FREQ for g in fits])
        ),
        "frac_nonzero_coefficients": float(np.count_nonzero(A) / A.size),
        "relative_reconstruction_error": relative_reconstruction_error(D, Xt, A),
        "orientation_histogram": stats["orientation_histogram"],
        "orientation_edges_deg": stats["orientation_edges_deg"],
        "freq_histogram": stats["freq_histogram"],
        "median_nx": float(np.median(stats["nx"])) if stats["nx"] else float("nan"),
        "median_ny": float(np.median(stats["ny"])) if stats["ny"] else float("nan"),
        "train_seconds": res.train_seconds,
        "train_cpu_seconds": res.train_cpu_seconds,
        "gabor_fit_seconds": fit_s,
        "final_train_objective": float(res.objective[-20:].mean()),
    }
