"""Spike statistics against analytic values and direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.neuro.analysis import (
    activation_sparsity,
    fano_factor,
    firing_rates,
    isi_cv,
    lifetime_sparseness,
    mean_rate,
    population_sparseness,
)
from sparse_neuro.neuro.model.record import SpikeTrains


def _renewal(rng, n, duration, isi_sampler) -> SpikeTrains:
    times, idx = [], []
    for i in range(n):
        t = np.cumsum(isi_sampler(rng, 4000))
        t = t[t < duration]
        times.append(t)
        idx.append(np.full(t.size, i))
    return SpikeTrains(np.concatenate(times), np.concatenate(idx), n, duration)


def test_rates_of_known_trains():
    st = SpikeTrains(np.array([0.1, 0.2, 0.3, 0.5, 0.9]), np.array([0, 0, 2, 0, 2]), 4, 1.0)
    np.testing.assert_allclose(firing_rates(st), [3.0, 0.0, 2.0, 0.0])
    np.testing.assert_allclose(firing_rates(st, 0.25, 0.75), [2.0, 0.0, 2.0, 0.0])
    assert mean_rate(st) == pytest.approx(5 / 4)


def test_isi_cv_regular_poisson_and_gamma():
    rng = np.random.default_rng(0)
    regular = SpikeTrains(np.tile(np.arange(1, 50) * 0.02, 3), np.repeat([0, 1, 2], 49), 4, 1.0)
    cv = isi_cv(regular)
    np.testing.assert_allclose(cv[:3], 0.0, atol=1e-9)
    assert np.isnan(cv[3])  # silent neuron
    poisson = _renewal(rng, 20, 100.0, lambda r, k: r.exponential(0.05, k))
    assert np.nanmedian(isi_cv(poisson)) == pytest.approx(1.0, abs=0.05)
    gamma4 = _renewal(rng, 20, 100.0, lambda r, k: r.gamma(4.0, 0.0125, k))
    assert np.nanmedian(isi_cv(gamma4)) == pytest.approx(0.5, abs=0.03)  # 1 / sqrt(4)


def test_isi_cv_matches_direct_computation():
    rng = np.random.default_rng(1)
    st = _renewal(rng, 7, 2.0, lambda r, k: r.exponential(0.1, k))
    cv = isi_cv(st, min_spikes=3)
    for i, t in enumerate(st.trains()):
        if t.size >= 3:
            d = np.diff(t)
            assert cv[i] == pytest.approx(d.std() / d.mean(), rel=1e-9)
        else:
            assert np.isnan(cv[i])
    with pytest.raises(ValueError, match="min_spikes"):
        isi_cv(st, min_spikes=1)


def test_fano_factor_poisson_regular_and_direct():
    rng = np.random.default_rng(2)
    poisson = _renewal(rng, 30, 100.0, lambda r, k: r.exponential(0.05, k))
    ff = fano_factor(poisson, 0.5)
    assert np.median(ff) == pytest.approx(1.0, abs=0.1)
    # direct computation for one neuron
    t = poisson.trains()[3]
    counts = np.bincount((t / 0.5).astype(int), minlength=200)
    assert ff[3] == pytest.approx(counts.var() / counts.mean(), rel=1e-12)
    assert fano_factor(poisson, 0.5, pooled=True) == pytest.approx(1.0, abs=0.25)
    regular = SpikeTrains(np.arange(100) * 0.01 + 0.005, np.zeros(100, int), 2, 1.0)
    np.testing.assert_allclose(fano_factor(regular, 0.1)[0], 0.0, atol=1e-12)
    assert np.isnan(fano_factor(regular, 0.1)[1])
    with pytest.raises(ValueError, match="bin_s"):
        fano_factor(regular, 0.8)


def test_sparseness_values():
    assert population_sparseness(np.array([0.0, 0.0, 5.0, 0.0])) == pytest.approx(1.0)
    assert population_sparseness(np.full(6, 3.0)) == pytest.approx(0.0)
    assert population_sparseness(np.array([1.0, 0, 0, 1])) == pytest.approx(2 / 3)
    s = population_sparseness(np.array([[1.0, 0, 0, 1], [0, 0, 0, 0]]))
    assert s[0] == pytest.approx(2 / 3) and np.isnan(s[1])
    life = lifetime_sparseness(np.array([[1.0, 2.0], [0.0, 2.0], [0.0, 2.0]]))
    np.testing.assert_allclose(life, [1.0, 0.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        population_sparseness(np.array([1.0, -1.0]))


def test_activation_sparsity():
    a = np.zeros((10, 2, 5))
    a[0, 0, :3] = 1.0
    assert activation_sparsity(a) == pytest.approx(1 - 3 / 100)
    assert activation_sparsity(np.array([0.05, 0.5]), threshold=0.1) == 0.5
    with pytest.raises(ValueError, match="threshold"):
        activation_sparsity(a, threshold=-1)
