"""The counter-based generator: a pure function of its coordinates, uniform, independent."""

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, PoissonInput, Population
from sparse_neuro.neuro.engines.rng import (
    poisson_cdf,
    poisson_count,
    poisson_from_cdf,
    stream_id,
    uniform,
    uniform_array,
)


def test_uniform_is_a_pure_function_of_its_coordinates():
    a = uniform_array(3, 7, 11, 1000)
    assert np.array_equal(a, uniform_array(3, 7, 11, 1000))
    assert a[17] == uniform(3, 7, 11, 17)
    # any coordinate changes the numbers
    for other in (
        uniform_array(4, 7, 11, 1000),
        uniform_array(3, 8, 11, 1000),
        uniform_array(3, 7, 12, 1000),
    ):
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


@pytest.mark.parametrize("lam", [1e-6, 0.05, 1.0, 2.0, 3.5, 12.0, 19.0])
def test_poisson_cdf_table_gives_poisson_counts(lam):
    """Searching the drive's CDF table gives exactly poisson_count's count for every u,
    including u next to the table's values (ties) and u close to 1."""
    table = np.zeros(64)
    n, tail = poisson_cdf(lam, table)
    assert 0 < n <= 64 and n <= tail and (np.diff(table[:n]) >= 0).all()
    u = np.concatenate(
        [
            uniform_array(3, 1, 0, 20_000),
            table[:n],
            np.nextafter(table[:n], 0),
            np.nextafter(table[:n], 1),
            [0.0, 1 - 2**-53],
        ]
    )
    u = u[u < 1.0]  # uniform() is below 1
    got = np.array([poisson_from_cdf(x, table, n, tail) for x in u])
    np.testing.assert_array_equal(got, [poisson_count(lam, x) for x in u])


def test_poisson_cdf_table_too_short_or_underflowing():
    assert poisson_cdf(40.0, np.zeros(64)) == (-1, -1)  # more terms: draw without a table
    assert poisson_cdf(800.0, np.zeros(64)) == (0, 0)  # exp(-lam) underflows: always 0 ...
    assert poisson_count(800.0, 0.5) == 0  # ... as poisson_count


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
