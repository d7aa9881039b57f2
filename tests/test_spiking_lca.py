"""Spiking LCA on the clock engine: analytic single-neuron rates, agreement with the LCA."""

import numpy as np
import pytest

from sparse_neuro.learning.sparse_inference import lca
from sparse_neuro.learning.spiking_inference import (
    SpikingLCAParams,
    lateral_synapses,
    spiking_lca_codes,
    spiking_lca_network,
)

P = SpikingLCAParams(
    tau_s=20e-3, spike_height=0.2, dt_s=1e-4, settle_s=0.05, measure_s=0.3, batch_size=8
)


def test_uncoupled_neurons_fire_at_the_analytic_lif_rate():
    # D = I: no competition; each neuron is an LIF with bias b, threshold lam + Delta/2 and
    # reset by subtraction of Delta, so a = Delta / ln((b - lam + Delta/2) / (b - lam - Delta/2)).
    D = np.eye(4)
    lam, d = 0.5, P.spike_height
    X = np.array([[2.0, -1.5, 0.3, 1.0]])
    a = spiking_lca_codes(D, X, lam, P)[0]
    u = np.abs(X[0]) - lam
    on = u > d / 2
    want = np.zeros(4)
    want[on] = d / np.log((u[on] + d / 2) / (u[on] - d / 2)) * np.sign(X[0, on])
    # one spike of counting error is tau * Delta / measure_s
    np.testing.assert_allclose(a, want, atol=P.tau_s * d / P.measure_s + 1e-12)
    assert a[2] == 0.0  # below threshold: silent
    # and it approximates the soft threshold
    np.testing.assert_allclose(a, np.sign(X[0]) * np.maximum(np.abs(X[0]) - lam, 0), atol=0.03)


def test_codes_match_nonspiking_lca_on_random_problem():
    rng = np.random.default_rng(0)
    D = rng.normal(size=(16, 24))
    D /= np.linalg.norm(D, axis=0)
    X = rng.normal(size=(8, 16)) * 1.5
    ref = lca(D, X, 0.8, max_iter=5000, tol=1e-9).codes
    a = spiking_lca_codes(D, X, 0.8, P)
    corr = np.corrcoef(a.ravel(), ref.ravel())[0, 1]
    assert corr > 0.97
    assert np.linalg.norm(a - ref) / np.linalg.norm(ref) < 0.25
    big = np.abs(ref) > 0.2
    np.testing.assert_array_equal(np.sign(a[big]), np.sign(ref[big]))


def test_lateral_weights_are_scaled_gram_matrix():
    rng = np.random.default_rng(1)
    D = rng.normal(size=(6, 5))
    D /= np.linalg.norm(D, axis=0)
    W = lateral_synapses(D, P).to_dense()
    G = D.T @ D
    Gp = np.block([[G, -G], [-G, G]])
    np.fill_diagonal(Gp, 0.0)
    Gp[np.abs(Gp) < P.prune_tol] = 0.0
    np.testing.assert_allclose(W, -P.spike_height * Gp)
    net = spiking_lca_network(D, rng.normal(size=(3, 6)), 0.5, P)
    assert net.size("lca") == 3 * 10 and net.n_synapses == 3 * np.count_nonzero(Gp)


def test_bad_input():
    D = np.eye(3)
    with pytest.raises(ValueError, match="lam"):
        spiking_lca_codes(D, np.ones((1, 3)), 0.0, P)
    with pytest.raises(ValueError, match="finite"):
        spiking_lca_codes(D, np.array([[1.0, np.nan, 0.0]]), 0.5, P)
    with pytest.raises(ValueError, match="once per step"):
        spiking_lca_codes(D, np.array([[1e3, 0.0, 0.0]]), 0.5, P)
    with pytest.raises(ValueError, match="spike_height"):
        SpikingLCAParams(spike_height=0.0)
    with pytest.raises(ValueError, match="dt_s"):
        SpikingLCAParams(dt_s=1e-2, tau_s=20e-3)


def test_spiking_lca_smoke_run(tmp_path):
    from sparse_neuro.experiments.common import run_experiment

    s = run_experiment("spiking-lca", tmp_path, seed=0, smoke=True)
    assert s["code_correlation_vs_lca"] > 0.95
    assert 0 <= s["frac_gabor_r2_gt_0_8"] <= 1
    assert (tmp_path / "receptive_fields_spiking.png").exists()
    assert 0 <= s["learned_frac_gabor_r2_gt_0_8"] <= 1  # the spiking learning path ran


def test_saturating_network_warns():
    # Drive near the one-spike-per-step limit (b - lam = 59.9 of a maximum 80): rates saturate.
    D = np.ones((4, 1)) / 2.0
    p = SpikingLCAParams(
        tau_s=20e-3, spike_height=2.0, dt_s=1e-3 / 2, settle_s=0.01, measure_s=0.02
    )
    with pytest.warns(RuntimeWarning, match="saturates"):
        spiking_lca_codes(D, np.full((1, 4), 30.0), 0.1, p)
