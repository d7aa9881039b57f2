"""The counter-based generator: a pure function of its coordinates, uniform, independent."""

import numpy as np
import pytest

from neuro import LIFParams, Network, Population, PoissonInput
from neuro.engines.rng import poisson_count, stream_id, uniform, uniform_array


def test_uniform_is_a_pure_function_of_its_coordinates():
    a = uniform_array(3, 7, 11, 1000)
    assert np.array_equal(a, uniform_array(3, 7, 11, 1000))
    assert a[17] == uniform(3, 7, 11, 17)
    # any coordinate changes the numbers
    for other in (uniform_array(4, 7, 11, 1000), uniform_array(3, 8, 11, 1000), uniform_array(3, 7, 12, 1000)):
        assert np.mean(a == other) < 0.01


def test_uniform_moments_and_lag_correlation():
    u = uniform_array(0, 1, 5, 400_000)
    assert u.min() >= 0.0 and u.max() < 1.0
    sigma_mean = np.sqrt(1 / 12 / u.size)
    assert abs(u.mean() - 0.5) < 5 * sigma_mean
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / u.size)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(u.size)
    counts = np.histogram(u, 20, range=(0, 1))[0]
    chi2 = ((counts - u.size / 20) ** 2 / (u.size / 20)).sum()
    assert chi2 < 45  # 19 degrees of freedom: p < 1e-3 above 43.8


@pytest.mark.parametrize("lam", [0.05, 1.0, 3.5])
def test_poisson_count_mean_and_variance(lam):
    k = np.array([poisson_count(lam, x) for x in uniform_array(9, 2, 0, 100_000)])
    se = np.sqrt(lam / k.size)
    assert abs(k.mean() - lam) < 5 * se
    assert abs(k.var() - lam) < 0.05 * lam + 5 * se


def test_stream_id_validates():
    assert stream_id(1, 3) != stream_id(0, 3)
    with pytest.raises(ValueError, match="kind"):
        stream_id(16, 0)


def test_poisson_input_validation():
    pop = Population("e", 10, LIFParams())
    with pytest.raises(ValueError, match="n_inputs"):
        PoissonInput("e", 0, 10.0, 0.1)
    with pytest.raises(ValueError, match="rate_hz"):
        PoissonInput("e", 10, -1.0, 0.1)
    with pytest.raises(ValueError, match="not a population"):
        Network([pop], drives=[PoissonInput("x", 10, 10.0, 0.1)])
    net = Network([pop], drives=[PoissonInput("e", 1000, np.float32(8.0), 0.1)])
    assert net.drives[0].mean_per_step(1e-4) == pytest.approx(0.8)
