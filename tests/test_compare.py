"""sparse_neuro.neuro.analysis.compare on cases with known answers, and its statistics equal to
Elephant's."""

import numpy as np
import pytest
from scipy.stats import norm

from sparse_neuro.neuro.analysis import isi_cv
from sparse_neuro.neuro.analysis.compare import (
    compare_populations,
    distribution_agreement,
    pairwise_correlations,
)
from sparse_neuro.neuro.model.record import SpikeTrains


def poisson(n: int, rate_hz: float, duration_s: float, seed: int) -> SpikeTrains:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rate_hz * duration_s, n)
    idx = np.repeat(np.arange(n), counts)
    return SpikeTrains(rng.random(idx.size) * duration_s, idx, n, duration_s)


def test_identical_samples_agree_exactly():
    x = np.random.default_rng(0).normal(size=500)
    a = distribution_agreement(x, x.copy())
    assert (a.ks_distance, a.effect_size, a.rel_diff) == (0.0, 0.0, 0.0)
    assert a.ks_pvalue == pytest.approx(1.0)


@pytest.mark.parametrize("shift", [0.3, 1.0])
def test_shifted_normals_give_analytic_ks_and_cohens_d(shift):
    rng = np.random.default_rng(1)
    a = distribution_agreement(rng.normal(5.0, 1.0, 20000), rng.normal(5.0 + shift, 1.0, 20000))
    # largest CDF gap of N(0,1) and N(s,1) is at s/2: Phi(s/2) - Phi(-s/2)
    assert a.ks_distance == pytest.approx(2 * norm.cdf(shift / 2) - 1, abs=0.015)
    assert a.effect_size == pytest.approx(shift, abs=0.03)
    assert a.rel_diff == pytest.approx(shift / 5.0, rel=0.05)


def test_nonfinite_dropped_and_small_samples_rejected():
    a = distribution_agreement([1.0, 2.0, np.nan, 3.0], [1.0, 2.0, 3.0, np.inf])
    assert (a.n_a, a.n_b, a.ks_distance) == (3, 3, 0.0)
    with pytest.raises(ValueError, match=">= 2 finite"):
        distribution_agreement([1.0, np.nan], [1.0, 2.0])


def test_two_seeds_agree_and_other_rate_does_not():
    base = {"e": poisson(400, 10.0, 10.0, 0)}
    same = compare_populations(base, {"e": poisson(400, 10.0, 10.0, 1)})["e"]
    other = compare_populations(base, {"e": poisson(400, 12.0, 10.0, 2)})["e"]
    assert same["rate_hz"].ks_pvalue > 0.01 and same["rate_hz"].rel_diff < 0.03
    assert other["rate_hz"].ks_pvalue < 1e-6 and other["rate_hz"].rel_diff == pytest.approx(
        0.2, abs=0.03
    )
    # Poisson: CV near 1 and no correlation, whatever the rate
    assert same["isi_cv"].mean_a == pytest.approx(1.0, abs=0.03)
    assert abs(same["correlation"].mean_a) < 0.01


def test_synchronous_trains_are_fully_correlated():
    t = np.sort(np.random.default_rng(3).random(200)) * 2.0
    s = SpikeTrains(np.repeat(t, 5), np.tile(np.arange(5), t.size), 5, 2.0)
    np.testing.assert_allclose(pairwise_correlations(s, bin_s=5e-3), 1.0)


def test_statistics_equal_elephant():
    pytest.importorskip("elephant")
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient
    from elephant.statistics import cv, isi

    s = poisson(30, 15.0, 4.0, 4)
    trains = [
        neo.SpikeTrain(np.sort(s.times_s[s.indices == i]), t_stop=4.0, units="s") for i in range(30)
    ]
    ours = isi_cv(s)
    for i, st in enumerate(trains):
        if len(st) >= 3:
            assert ours[i] == pytest.approx(cv(isi(st)), rel=1e-12)
    ref = correlation_coefficient(BinnedSpikeTrain(trains, bin_size=5 * pq.ms))
    got = pairwise_correlations(s, bin_s=5e-3, n_neurons=30)
    np.testing.assert_allclose(got, ref[np.triu_indices(30, k=1)], atol=1e-12)
