"""Sparse-coding dictionary learning: ours vs scikit-learn's MiniBatchDictionaryLearning.

Same whitened natural-image patches (scikit-image's ten bundled photographs, Olshausen-Field
filter, 12x12), same number of atoms (144), same number of minibatch steps of the same size
(1,000 x 256 by default), one process. Runs alternate (ours, sklearn, ours, sklearn, ...) so
machine load hits both alike; the wall-time ratio is taken per pair.

- ours: :func:`sparse_neuro.learning.dictionary.learn_dictionary` with the ``olshausen-field``
  defaults (hard-threshold LCA inference, threshold 1.0, unit-norm gradient updates).
- sklearn: ``MiniBatchDictionaryLearning(alpha, batch_size=256, fit_algorithm="lars")``
  (its default solver; ``--fit-algorithm cd`` for coordinate descent) for the same number
  of steps (no early stopping).

Sparsity is matched at evaluation: on held-out patches our codes are the hard-LCA codes;
sklearn's are ``lasso_lars`` codes with ``transform_alpha`` bisected so that the fraction
of non-zero coefficients equals ours. Reported for both: wall time, non-zero fraction,
relative reconstruction error, fraction of atoms fit by a Gabor with R^2 > 0.8.

Run::

    OMP_NUM_THREADS=2 python benchmarks/sparse_coding_vs_sklearn.py            # 2 pairs
    python benchmarks/sparse_coding_vs_sklearn.py --repeats 1 --updates 300    # quicker
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from sparse_neuro.encoders.natural_images import load_images, sample_patches, whiten_images
from sparse_neuro.learning.dictionary import (
    DictionaryConfig,
    infer,
    learn_dictionary,
    relative_reconstruction_error,
)
from sparse_neuro.neuro.analysis.gabor import fit_gabors, gabor_population_stats


def sklearn_codes(V: np.ndarray, X: np.ndarray, target_nz: float) -> tuple[np.ndarray, float]:
    """lasso_lars codes of X under sklearn atoms V (rows), alpha bisected to a non-zero fraction."""
    from sklearn.decomposition import sparse_encode

    lo, hi = 1e-3, 10.0
    for _ in range(18):
        mid = np.sqrt(lo * hi)
        A = sparse_encode(X, V, algorithm="lasso_lars", alpha=mid)
        nz = np.count_nonzero(A) / A.size
        if nz > target_nz:
            lo = mid
        else:
            hi = mid
        if abs(nz - target_nz) < 0.002:
            break
    return A, float(mid)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--atoms", type=int, default=144)
    ap.add_argument("--patch", type=int, default=12)
    ap.add_argument("--lam", type=float, default=1.0, help="our hard-LCA threshold")
    ap.add_argument("--alpha", type=float, default=1.0, help="sklearn training L1 weight")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument(
        "--fit-algorithm",
        default="lars",
        choices=("lars", "cd"),
        help="sklearn's inner lasso solver during fitting (its default: lars)",
    )
    args = ap.parse_args()
    from sklearn.decomposition import MiniBatchDictionaryLearning

    epochs = 5
    n_train = args.updates * args.batch // epochs
    imgs = whiten_images(load_images())
    X = sample_patches(imgs, args.patch, n_train, seed=0)
    Xt = sample_patches(imgs, args.patch, args.n_test, seed=1)
    cfg = DictionaryConfig(
        n_atoms=args.atoms,
        lam=args.lam,
        n_updates=args.updates,
        batch_size=args.batch,
        inference="lca_hard",
    )
    rows = []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        ours = learn_dictionary(X, cfg, seed=r)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = MiniBatchDictionaryLearning(
                n_components=args.atoms,
                alpha=args.alpha,
                batch_size=args.batch,
                max_iter=epochs,
                fit_algorithm=args.fit_algorithm,
                tol=0.0,
                max_no_improvement=None,
                random_state=r,
            ).fit(X)
        t_sk = time.perf_counter() - t0
        D = ours.dictionary.astype(np.float64)
        A = infer(D, Xt, DictionaryConfig(**{**cfg.__dict__, "max_iter": 400, "dtype": "float64"}))
        nz = np.count_nonzero(A) / A.size
        V = sk.components_
        A_sk, alpha_eval = sklearn_codes(V, Xt, nz)
        g_ours = gabor_population_stats(fit_gabors(D, (args.patch, args.patch)))
        g_sk = gabor_population_stats(fit_gabors(V.T, (args.patch, args.patch)))
        row = {
            "t_ours": t_ours,
            "t_sklearn": t_sk,
            "ratio": t_sk / t_ours,
            "nz_ours": nz,
            "nz_sklearn": np.count_nonzero(A_sk) / A_sk.size,
            "err_ours": relative_reconstruction_error(D, Xt, A),
            "err_sklearn": relative_reconstruction_error(V.T, Xt, A_sk),
            "gabor_ours": g_ours["frac_gabor"],
            "gabor_sklearn": g_sk["frac_gabor"],
            "alpha_eval": alpha_eval,
        }
        rows.append(row)
        print(f"pair {r}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    med = {k: float(np.median([row[k] for row in rows])) for k in rows[0]}
    print(
        f"\n{args.atoms} atoms, {args.patch}x{args.patch} patches, {args.updates} steps of {args.batch}, "
        f"{args.repeats} interleaved pairs (medians):"
    )
    print("| method | wall s | non-zero | rel. recon. error | Gabor R^2>0.8 |")
    print("|---|---|---|---|---|")
    print(
        f"| ours (hard LCA, lam={args.lam}) | {med['t_ours']:.1f} | {med['nz_ours']:.3f} | "
        f"{med['err_ours']:.3f} | {med['gabor_ours']:.3f} |"
    )
    print(
        f"| sklearn MiniBatchDictionaryLearning ({args.fit_algorithm}, alpha={args.alpha}, lasso_lars codes) | "
        f"{med['t_sklearn']:.1f} | {med['nz_sklearn']:.3f} | {med['err_sklearn']:.3f} | "
        f"{med['gabor_sklearn']:.3f} |"
    )
    print(f"wall-time ratio sklearn/ours (median over pairs): {med['ratio']:.2f}x")


if __name__ == "__main__":
    main()
