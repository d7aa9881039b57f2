"""Spiking LCA: the Olshausen-Field sparse code computed by integrate-and-fire neurons.

A dictionary is learned as in ``olshausen-field``; held-out whitened patches are then coded
by the spiking LCA on the clock engine (:mod:`sparse_neuro.learning.spiking_inference`: LIF neurons
with delta synapses, drive ``D^T x`` as current injection, inhibition ``-(D^T D - I)`` as sparse
synapses, coefficient = spike rate) and by the non-spiking soft-threshold LCA at the same
threshold. Reports how well the codes agree, and the receptive fields of the spiking
neurons (least-squares generative fields from their spike-count codes) fitted by Gabors.
With ``learn_updates > 0`` (default 800) a second dictionary is learned from random atoms with the spiking
network (threshold ``learn_lam``, coarser counting: ``learn_*`` fields) doing the inference and the local rule ``dD_j ~ (x - D a) a_j`` (residual at each
input times the neuron's rate), and its atoms are fitted too.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from sparse_neuro.experiments import olshausen_field
from sparse_neuro.learning.dictionary import (
    DictionaryConfig,
    learn_dictionary,
    relative_reconstruction_error,
)
from sparse_neuro.learning.sparse_inference import lca
from sparse_neuro.learning.spiking_inference import (
    SpikingLCAParams,
    lateral_synapses,
    spiking_lca_codes,
)
from sparse_neuro.neuro.analysis.gabor import fit_gabors, gabor_population_stats
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.plotting.fields import gabor_tiling, receptive_field_grid

__all__ = ["QUICK", "SMOKE", "Config", "run"]


@dataclass(frozen=True)
class Config:
    """Parameters of the spiking-lca run.

    ``dictionary_h5``: an ``olshausen-field`` results.h5 whose dictionary (``dictionary/D``)
    is used instead of learning one (then ``patch_size`` must match and ``n_atoms`` is read
    from the file). The dictionary-learning fields mirror ``olshausen-field``; ``lam`` is the spiking
    threshold (= the L1 weight of the equivalent problem); ``n_code_patches`` held-out
    patches are coded by both networks.
    """

    dictionary_h5: str = ""
    patch_size: int = 12
    n_atoms: int = 144
    n_updates: int = 1000
    dict_lam: float = 1.0
    lam: float = 1.0
    n_code_patches: int = 1024
    tau_s: float = 20e-3
    spike_height: float = 0.2
    dt_s: float = 1e-4
    settle_s: float = 0.1
    measure_s: float = 0.3
    prune_tol: float = 0.02
    batch_size: int = 64
    learn_updates: int = 800
    learn_batch_size: int = 64
    learn_lr: float = 0.4
    learn_max_atom_step: float = 0.3
    learn_lam: float = 0.5
    learn_spike_height: float = 0.4
    learn_settle_s: float = 0.05
    learn_measure_s: float = 0.1

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        self.base_config()
        self.spiking_params()
        if self.learn_updates:
            dataclasses.replace(
                self.spiking_params(),
                spike_height=self.learn_spike_height,
                settle_s=self.learn_settle_s,
                measure_s=self.learn_measure_s,
            )
            if not self.learn_lam > 0:
                raise ValueError(f"learn_lam must be > 0, got {self.learn_lam}")
        # Least-squares fields need several patches per pixel: measured with 144 atoms,
        # 512 patches gave 25% Gabor fits, 1,024 gave 88%.
        if self.n_code_patches < 4 * self.n_atoms:
            raise ValueError(
                f"n_code_patches must be >= 4 * n_atoms = {4 * self.n_atoms} to estimate receptive "
                f"fields (>= 7 * n_atoms for clean ones), got {self.n_code_patches}"
            )
        if self.learn_updates < 0:
            raise ValueError(f"learn_updates must be >= 0, got {self.learn_updates}")
        if not self.lam > 0:
            raise ValueError(f"lam must be > 0, got {self.lam}")

    def base_config(self) -> olshausen_field.Config:
        """The olshausen-field configuration of the non-spiking dictionary."""
        return olshausen_field.Config(
            patch_size=self.patch_size,
            n_atoms=self.n_atoms,
            n_updates=self.n_updates,
            lam=self.dict_lam,
            n_test_patches=self.n_code_patches,
        )

    def spiking_params(self) -> SpikingLCAParams:
        """The spiking-network parameters."""
        return SpikingLCAParams(
            tau_s=self.tau_s,
            spike_height=self.spike_height,
            dt_s=self.dt_s,
            settle_s=self.settle_s,
            measure_s=self.measure_s,
            prune_tol=self.prune_tol,
            batch_size=self.batch_size,
        )


SMOKE = {
    "patch_size": 6,
    "n_atoms": 16,
    "n_updates": 40,
    "n_code_patches": 64,
    "batch_size": 32,
    "settle_s": 0.05,
    "measure_s": 0.1,
    "learn_updates": 3,
    "learn_batch_size": 16,
}
QUICK = {"n_updates": 600, "learn_updates": 0}


def run(cfg: Config, ctx) -> dict:
    """Learn the dictionary, code held-out patches with both LCAs, fit the spiking RFs."""
    base = cfg.base_config()
    if ctx.smoke:
        base = dataclasses.replace(
            base, n_train_patches=5000, batch_size=100, images=olshausen_field.SMOKE["images"]
        )
    if cfg.dictionary_h5:
        from sparse_neuro.neuro.storage.hdf5 import read_arrays

        D = np.asarray(read_arrays(cfg.dictionary_h5, "dictionary")["D"], dtype=np.float64)
        if D.shape[0] != cfg.patch_size**2:
            raise ValueError(
                f"dictionary_h5: atoms have {D.shape[0]} pixels, patch_size={cfg.patch_size} "
                f"needs {cfg.patch_size**2}"
            )
        base = dataclasses.replace(base, n_atoms=D.shape[1], n_updates=1, batch_size=1)
    res, X_train, Xt = olshausen_field.train_dictionary(
        base, ctx.seed, progress=lambda it: ctx.progress(it, desc="dictionary")
    )
    train_s = res.train_seconds
    if not cfg.dictionary_h5:
        D = res.dictionary.astype(np.float64)
    else:
        train_s = None  # dictionary loaded from dictionary_h5
    sp = cfg.spiking_params()
    t0 = time.perf_counter()
    A_spk = spiking_lca_codes(
        D, Xt, cfg.lam, sp, progress=lambda it: ctx.progress(it, desc="spiking LCA")
    )
    spk_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    A_ref = lca(D, Xt, cfg.lam, threshold="soft", max_iter=3000, tol=1e-7).codes
    ref_s = time.perf_counter() - t0
    corr = float(np.corrcoef(A_spk.ravel(), A_ref.ravel())[0, 1])
    # Receptive fields of the spiking neurons: the linear map from their codes to the input.
    fields = np.linalg.lstsq(A_spk, Xt, rcond=None)[0].T
    shape = (cfg.patch_size, cfg.patch_size)
    fits = fit_gabors(fields, shape)
    stats = gabor_population_stats(fits)
    ctx.save_arrays(
        "spiking_lca", {"D": D, "codes_spiking": A_spk, "codes_lca": A_ref, "fields": fields}
    )
    ctx.save_figure(
        receptive_field_grid(
            fields,
            shape,
            title=(f"spiking LCA receptive fields: {100 * stats['frac_gabor']:.0f}% Gabor R^2>0.8"),
        ),
        "receptive_fields_spiking",
    )
    ctx.save_figure(
        gabor_tiling(fits, shape, title="spiking LCA fields: Gabor tiling"), "gabor_tiling_spiking"
    )
    summary = {
        "frac_gabor_r2_gt_0_8": stats["frac_gabor"],
        "median_gabor_r2": stats["median_r2"],
        "code_correlation_vs_lca": corr,
        "code_relative_difference_vs_lca": float(
            np.linalg.norm(A_spk - A_ref) / np.linalg.norm(A_ref)
        ),
        "frac_nonzero_coefficients": float(np.count_nonzero(A_spk) / A_spk.size),
        "frac_nonzero_coefficients_lca": float(np.count_nonzero(A_ref) / A_ref.size),
        "relative_reconstruction_error": relative_reconstruction_error(D, Xt, A_spk),
        "relative_reconstruction_error_lca": relative_reconstruction_error(D, Xt, A_ref),
        "orientation_histogram": stats["orientation_histogram"],
        "train_seconds": train_s,
        "spiking_inference_seconds": spk_s,
        "lca_inference_seconds": ref_s,
        "n_neurons_per_patch": 2 * D.shape[1],
        "n_lateral_synapses_per_patch": int(lateral_synapses(D, sp).n_synapses),
    }
    if cfg.learn_updates > 0:
        lsp = dataclasses.replace(
            sp,
            spike_height=cfg.learn_spike_height,
            settle_s=cfg.learn_settle_s,
            measure_s=cfg.learn_measure_s,
            batch_size=cfg.learn_batch_size,
        )
        lcfg = DictionaryConfig(
            n_atoms=D.shape[1],
            lam=cfg.learn_lam,
            n_updates=cfg.learn_updates,
            batch_size=cfg.learn_batch_size,
            lr=cfg.learn_lr,
            max_atom_step=cfg.learn_max_atom_step,
            lr_decay_updates=max(cfg.learn_updates / 2, 1.0),
            inference="lca_soft",
            dtype="float64",
        )
        lres = learn_dictionary(
            X_train,
            lcfg,
            seed=ctx.seed + 1,
            progress=lambda it: ctx.progress(it, desc="spiking learning"),
            infer_fn=lambda Dc, Xb: spiking_lca_codes(Dc, Xb, cfg.learn_lam, lsp),
        )
        lfits = fit_gabors(lres.dictionary, shape)
        lstats = gabor_population_stats(lfits)
        ctx.save_arrays("spiking_learned", {"D": lres.dictionary, "objective": lres.objective})
        ctx.save_figure(
            receptive_field_grid(
                lres.dictionary,
                shape,
                title=(
                    f"learned with spiking LCA: {100 * lstats['frac_gabor']:.0f}% Gabor R^2>0.8"
                ),
            ),
            "receptive_fields_spiking_learned",
        )
        summary.update(
            {
                "learned_frac_gabor_r2_gt_0_8": lstats["frac_gabor"],
                "learned_median_gabor_r2": lstats["median_r2"],
                "learned_orientation_histogram": lstats["orientation_histogram"],
                "learned_train_seconds": lres.train_seconds,
                "learned_frac_nonzero_coefficients": float(lres.frac_nonzero[-10:].mean()),
            }
        )
    return summary
