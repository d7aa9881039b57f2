"""Connectivity and delay builders against the distributions they promise."""

import numpy as np
import pytest
from scipy import stats

from neuro.connectivity import fixed_indegree, fixed_total_number, normal_delays_steps, normal_weights


def test_fixed_total_number_counts_marginals_and_multapses():
    n_pre, n_post, n = 50, 40, 20000
    syn = fixed_total_number(n_pre, n_post, n, weight=np.arange(n, dtype=np.float64), seed=0,
                             dtype=np.float64)
    assert syn.n_synapses == n
    pre, post = syn.pre_indices(), syn.indices
    # uniform marginals (chi-square goodness of fit)
    assert stats.chisquare(np.bincount(pre, minlength=n_pre)).pvalue > 1e-3
    assert stats.chisquare(np.bincount(post, minlength=n_post)).pvalue > 1e-3
    # pair multiplicities are Binomial(n, 1/(n_pre n_post)) ~ Poisson(10): multapses present
    mult = np.bincount(pre.astype(np.int64) * n_post + post, minlength=n_pre * n_post)
    assert mult.mean() == pytest.approx(n / (n_pre * n_post))
    assert mult.var() == pytest.approx(n / (n_pre * n_post), rel=0.1)
    # every per-synapse weight is kept exactly once
    np.testing.assert_array_equal(np.sort(syn.weights), np.arange(n))


def test_fixed_indegree_exact_and_distinct():
    syn = fixed_indegree(100, 30, 25, seed=1)
    np.testing.assert_array_equal(syn.fan_in(), 25)
    distinct = fixed_indegree(100, 30, 25, multapses=False, seed=1)
    np.testing.assert_array_equal(distinct.fan_in(), 25)
    pairs = distinct.pre_indices().astype(np.int64) * 30 + distinct.indices
    assert np.unique(pairs).size == pairs.size
    with pytest.raises(ValueError, match="multapses=True"):
        fixed_indegree(100, 30, 25, weight=np.ones(750), multapses=False)


def test_delays_truncated_normal_in_seconds():
    dt, mean, sd = 1e-4, 1.5e-3, 0.75e-3
    d = normal_delays_steps(200000, mean, sd, dt, seed=2)
    assert d.min() == 1  # NEST's minimum delay: one step
    # redraw = normal truncated at dt: mean from scipy's truncnorm (rounding adds ~0)
    ref = stats.truncnorm((dt - mean) / sd, np.inf, loc=mean, scale=sd)
    assert d.mean() * dt == pytest.approx(ref.mean(), rel=0.005)
    assert d.std() * dt == pytest.approx(ref.std(), rel=0.01)
    clipped = normal_delays_steps(200000, mean, sd, dt, mode="clip", seed=2)
    # clipped to dt, plus the draws in [dt, 1.5 dt) that round to one step
    assert np.mean(clipped == 1) == pytest.approx(stats.norm.cdf(1.5 * dt, mean, sd), abs=0.003)
    np.testing.assert_array_equal(normal_delays_steps(5, 1.5e-3, 0.0, 1e-4), 15)
    with pytest.raises(ValueError, match="dt_s"):
        normal_delays_steps(5, 1.5e-3, 0.1e-3, 0.0)


def test_normal_weights_keep_sign():
    w = normal_weights(100000, -2.0, 2.0, seed=3)
    assert np.all(w <= 0)
    ref = stats.truncnorm(-1.0, np.inf, loc=2.0, scale=2.0)
    assert -w.mean() == pytest.approx(ref.mean(), rel=0.01)
    with pytest.raises(ValueError, match="mean"):
        normal_weights(3, 0.0, 1.0)
