"""Gabor fitting of receptive fields and population statistics."""

import math

import numpy as np
import pytest

from sparse_neuro.neuro.analysis.gabor import (
    fit_gabor,
    fit_gabors,
    gabor_image,
    gabor_population_stats,
)


def _angle_err(a, b):
    """Distance between two orientations modulo pi, in degrees."""
    return math.degrees(abs((a - b + math.pi / 2) % math.pi - math.pi / 2))


def test_recovers_parameters_of_noisy_gabors():
    # Tolerances (noise sd 5% of the peak amplitude, 12x12 grid): position 0.3 px,
    # orientation 5 deg, frequency 10%, envelope widths 20%, R^2 > 0.85.
    rng = np.random.default_rng(0)
    for _ in range(12):
        p = {
            "x0": rng.uniform(4, 7),
            "y0": rng.uniform(4, 7),
            "theta": rng.uniform(0, math.pi),
            "freq": rng.uniform(0.12, 0.3),
            "sigma_x": rng.uniform(1.5, 2.5),
            "sigma_y": rng.uniform(1.5, 3.5),
            "phase": rng.uniform(-math.pi, math.pi),
        }
        img = gabor_image((12, 12), **p) + 0.05 * rng.normal(size=(12, 12))
        g = fit_gabor(img)
        assert g.r2 > 0.85
        assert abs(g.x0 - p["x0"]) < 0.3 and abs(g.y0 - p["y0"]) < 0.3
        assert _angle_err(g.theta, p["theta"]) < 5.0
        assert abs(g.freq - p["freq"]) < 0.1 * p["freq"]
        assert abs(g.sigma_x - p["sigma_x"]) < 0.2 * p["sigma_x"]
        assert abs(g.sigma_y - p["sigma_y"]) < 0.2 * p["sigma_y"]
        assert 0 <= g.theta < math.pi


def test_noiseless_fit_is_exact_and_reconstructs():
    p = {
        "x0": 5.5,
        "y0": 6.2,
        "theta": 0.6,
        "freq": 0.2,
        "sigma_x": 2.0,
        "sigma_y": 3.0,
        "phase": 1.0,
        "amplitude": 2.0,
    }
    img = gabor_image((12, 12), **p)
    g = fit_gabor(img)
    assert g.r2 > 0.9999
    rec = gabor_image(
        (12, 12), g.x0, g.y0, g.theta, g.freq, g.sigma_x, g.sigma_y, g.phase, g.amplitude, g.offset
    )
    np.testing.assert_allclose(rec, img, atol=1e-4)


def test_noise_patches_fit_poorly():
    rng = np.random.default_rng(1)
    r2 = [fit_gabor(rng.normal(size=(12, 12))).r2 for _ in range(10)]
    assert max(r2) < 0.4


def test_population_stats_from_dictionary_layout():
    # Atoms in columns (n_features, n_atoms), four orientations.
    thetas = [0.1, 0.9, 1.7, 2.5]
    D = np.stack([gabor_image((10, 10), 5, 5, t, 0.25, 2.0, 2.0).ravel() for t in thetas], axis=1)
    fits = fit_gabors(D)
    s = gabor_population_stats(fits, n_orientation_bins=4)
    assert s["frac_gabor"] == 1.0 and s["n_good"] == 4
    np.testing.assert_allclose(s["orientation_histogram"], [0.25] * 4)
    np.testing.assert_allclose(s["nx"], 0.5, rtol=1e-3)
    np.testing.assert_allclose(s["freq_histogram"], [0, 0, 1, 0, 0])  # 0.25 falls in [0.2, 0.3)


def test_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        fit_gabor(np.zeros(10))
    bad = np.zeros((8, 8))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fit_gabor(bad)
    with pytest.raises(ValueError, match="shape"):
        fit_gabors(np.zeros((10, 3)))
    assert fit_gabor(np.ones((6, 6))).r2 == 0.0


def test_peak_freq_is_the_spectral_peak_not_the_carrier():
    from sparse_neuro.neuro.analysis.gabor import GaborFit

    # even Gabor with many cycles under the envelope: the spectrum peaks at the carrier
    even = GaborFit(6, 6, 0.0, 0.2, 4.0, 4.0, 0.0, 1.0, 0.0, 1.0)
    assert abs(even.peak_freq - 0.2) < 0.005
    # odd field with f -> 0 (derivative of a Gaussian): peak at 1 / (2 pi sigma_x), analytically
    odd = GaborFit(6, 6, 0.0, 1e-4, 2.0, 3.0, math.pi / 2, 1e3, 0.0, 1.0)
    assert abs(odd.peak_freq - 1 / (2 * math.pi * 2.0)) < 0.002
    # even blob with f -> 0: low-pass, peak at 0
    assert GaborFit(6, 6, 0.0, 1e-4, 2.0, 3.0, 0.0, 1.0, 0.0, 1.0).peak_freq == 0.0
    assert "peak_freq" in even.as_dict()


def test_fitted_edge_field_is_band_pass_by_its_peak():
    # x exp(-x^2 / 2 s^2): two lobes, no carrier; the fit may pick any small f, the peak is fixed
    yy, xx = np.mgrid[0:12, 0:12].astype(float)
    s = 1.8
    rf = (xx - 5.5) * np.exp(-((xx - 5.5) ** 2) / (2 * s**2) - ((yy - 5.5) ** 2) / (2 * 3.0**2))
    g = fit_gabor(rf)
    assert g.r2 > 0.99
    assert abs(g.peak_freq - 1 / (2 * math.pi * s)) < 0.1 / (2 * math.pi * s)
