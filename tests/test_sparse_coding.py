"""Sparse inference (ISTA, FISTA, LCA) and dictionary learning."""

import numpy as np
import pytest

from sparse_neuro.learning.dictionary import (
    DictionaryConfig,
    learn_dictionary,
    relative_reconstruction_error,
)
from sparse_neuro.learning.sparse_inference import fista, ista, l1_objective, lca, soft_threshold


def _problem(seed, n_feat=30, n_atoms=60, n=8):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(n_feat, n_atoms))
    D /= np.linalg.norm(D, axis=0)
    return D, rng.normal(size=(n, n_feat))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fista_and_lca_reach_same_objective(seed):
    D, X = _problem(seed)
    lam = 0.3
    f = fista(D, X.astype(np.float64), lam, max_iter=5000, tol=1e-10)
    l = lca(D, X, lam, threshold="soft", dt_over_tau=0.05, max_iter=20000, tol=1e-10)
    ef, el = l1_objective(D, X, f.codes, lam), l1_objective(D, X, l.codes, lam)
    np.testing.assert_allclose(el, ef, rtol=1e-6)
    # the KKT conditions of the L1 problem hold at the FISTA solution
    g = (X - f.codes @ D.T) @ D
    act = f.codes != 0
    np.testing.assert_allclose(g[act], lam * np.sign(f.codes[act]), atol=1e-6)
    assert np.all(np.abs(g[~act]) <= lam + 1e-6)


def test_recovers_k_sparse_signal():
    rng = np.random.default_rng(5)
    D = rng.normal(size=(64, 128))
    D /= np.linalg.norm(D, axis=0)
    a = np.zeros((4, 128))
    for i in range(4):
        idx = rng.choice(128, 5, replace=False)
        a[i, idx] = rng.choice([-1, 1], 5) * rng.uniform(1.0, 2.0, 5)
    X = a @ D.T
    for res in (
        fista(D, X, 0.01, max_iter=3000, tol=1e-9),
        lca(D, X, 0.01, max_iter=20000, tol=1e-9, dt_over_tau=0.1),
    ):
        np.testing.assert_array_equal(np.abs(res.codes) > 0.1, a != 0)
        np.testing.assert_allclose(res.codes[a != 0], a[a != 0], atol=0.05)


def test_hard_threshold_lca_recovers_support_without_shrinkage():
    rng = np.random.default_rng(6)
    D = rng.normal(size=(64, 128))
    D /= np.linalg.norm(D, axis=0)
    a = np.zeros((1, 128))
    a[0, [3, 40, 99]] = [2.0, -1.5, 1.8]
    res = lca(D, a @ D.T, 0.5, threshold="hard", max_iter=5000, tol=1e-10)
    np.testing.assert_allclose(res.codes, a, atol=1e-3)


def test_ista_objective_decreases_monotonically():
    D, X = _problem(3)
    res = ista(D, X, 0.2, max_iter=300, tol=0.0, trace=True)
    tr = res.objective_trace
    assert tr.size == 300
    assert np.all(np.diff(tr) <= 1e-12 * np.abs(tr[:-1]))
    assert tr[-1] < 0.5 * tr[0]


def test_nonnegative_lca_gives_nonnegative_kkt_solution():
    D, X = _problem(4)
    l = lca(D, X, 0.2, nonnegative=True, max_iter=20000, tol=1e-10, dt_over_tau=0.05)
    assert np.all(l.codes >= 0)
    g = (X - l.codes @ D.T) @ D
    act = l.codes > 0
    np.testing.assert_allclose(g[act], 0.2, atol=1e-5)
    assert np.all(g[~act] <= 0.2 + 1e-5)


def test_soft_threshold():
    np.testing.assert_allclose(
        soft_threshold(np.array([-2.0, -0.5, 0.0, 0.3, 1.5]), 0.5), [-1.5, 0.0, 0.0, 0.0, 1.0]
    )


def test_dictionary_learning_recovers_planted_dictionary():
    # Signals made of 3 of 20 atoms: the learned atoms match the planted ones.
    rng = np.random.default_rng(0)
    D_true = rng.normal(size=(16, 20))
    D_true /= np.linalg.norm(D_true, axis=0)
    A = np.zeros((4000, 20))
    for i in range(4000):
        A[i, rng.choice(20, 3, replace=False)] = rng.laplace(size=3) * 2
    X = A @ D_true.T
    cfg = DictionaryConfig(
        n_atoms=20, lam=0.1, n_updates=600, batch_size=100, lr=0.5, dtype="float64"
    )
    res = learn_dictionary(X, cfg, seed=1)
    D = res.dictionary
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-9)
    best = np.abs(D_true.T @ D).max(axis=1)
    assert np.mean(best > 0.95) >= 0.9
    ideal = l1_objective(D_true, X[:500], fista(D_true, X[:500], 0.1).codes, 0.1).mean()
    assert res.objective[-50:].mean() < 1.1 * ideal < 0.5 * res.objective[0]
    A_fit = fista(D, X[:200], 0.1).codes
    assert relative_reconstruction_error(D, X[:200], A_fit) < 0.1


def test_gain_adaptation_equalises_coefficient_variance():
    rng = np.random.default_rng(2)
    X = rng.laplace(size=(3000, 16)) * np.linspace(0.5, 2.0, 16)
    cfg = DictionaryConfig(
        n_atoms=16,
        lam=0.1,
        n_updates=400,
        batch_size=100,
        lr=0.2,
        update="gain",
        var_goal=0.5,
        gain_alpha=0.05,
        var_eta=0.05,
    )
    D = learn_dictionary(X, cfg, seed=0).dictionary
    A = fista(D, X[:1000], 0.1).codes
    v = (A**2).mean(axis=0)
    assert v.max() / v.min() < 2.0
    norms = np.linalg.norm(D, axis=0)
    assert norms.max() / norms.min() > 1.5  # gains, not unit norms, did the equalising


def test_bad_input():
    D, X = _problem(0)
    for lam in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="lam"):
            fista(D, X, lam)
        with pytest.raises(ValueError, match="lam"):
            lca(D, X, lam)
    with pytest.raises(ValueError, match="lam"):
        DictionaryConfig(lam=0.0)
    Xb = X.copy()
    Xb[0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        ista(D, Xb, 0.1)
    with pytest.raises(ValueError, match="finite"):
        learn_dictionary(Xb, DictionaryConfig(n_atoms=5, batch_size=2))
    with pytest.raises(ValueError, match="shape"):
        fista(D, X[:, :5], 0.1)
    with pytest.raises(ValueError, match="threshold"):
        lca(D, X, 0.1, threshold="medium")
    with pytest.raises(ValueError, match="inference"):
        DictionaryConfig(inference="omp")


def test_olshausen_field_smoke_run(tmp_path):
    from sparse_neuro.experiments.common import run_experiment

    s = run_experiment("olshausen-field", tmp_path, seed=0, smoke=True)
    for key in (
        "frac_gabor_r2_gt_0_8",
        "median_gabor_r2",
        "frac_nonzero_coefficients",
        "relative_reconstruction_error",
        "orientation_histogram",
        "train_seconds",
    ):
        assert key in s
    assert 0 < s["frac_nonzero_coefficients"] < 0.5
    assert 0 < s["relative_reconstruction_error"] < 1
    assert abs(sum(s["orientation_histogram"]) - 1) < 1e-9 or s["frac_gabor_r2_gt_0_8"] == 0
    assert (tmp_path / "receptive_fields.png").exists() and (tmp_path / "results.h5").exists()


def test_max_atom_step_bounds_each_update():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 16)) * 3
    D0 = rng.normal(size=(16, 8))
    D0 /= np.linalg.norm(D0, axis=0)
    cfg = DictionaryConfig(
        n_atoms=8, lam=0.1, n_updates=1, batch_size=50, lr=5.0, max_atom_step=1e-3, dtype="float64"
    )
    D = learn_dictionary(X, cfg, seed=0, D0=D0).dictionary
    assert np.linalg.norm(D - D0, axis=0).max() <= 1e-3 + 1e-12
    free = learn_dictionary(
        X, DictionaryConfig(**{**cfg.__dict__, "max_atom_step": np.inf}), seed=0, D0=D0
    )
    assert np.linalg.norm(free.dictionary - D0, axis=0).max() > 0.1
