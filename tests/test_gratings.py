"""Orientation tuning of linear fields with gratings: preferred values, circular variance, OSI."""

import math

import numpy as np
import pytest

from sparse_neuro.neuro.analysis.gabor import gabor_image
from sparse_neuro.neuro.analysis.gratings import (
    circular_variance,
    grating_responses,
    orientation_tuning,
)


def test_gabor_prefers_its_own_orientation_and_frequency():
    fields = [
        gabor_image((16, 16), 7.5, 7.5, th, f, 3.0, 4.0, 0.4)
        for th, f in ((0.3, 0.15), (2.0, 0.25))
    ]
    t = orientation_tuning(
        np.stack(fields), (16, 16), n_orientations=36, freqs=np.linspace(0.05, 0.5, 46)
    )
    assert t["preferred_orientation_deg"] == pytest.approx(np.degrees([0.3, 2.0]), abs=5.0)
    assert t["preferred_freq"] == pytest.approx([0.15, 0.25], abs=0.02)
    assert np.all(t["circular_variance"] < 0.5) and np.all(t["osi"] > 0.8)


def test_isotropic_blob_is_untuned():
    yy, xx = np.mgrid[0:16, 0:16] - 7.5
    r = np.hypot(xx, yy)
    dog = np.exp(-(r**2) / 4) - 0.5 * np.exp(
        -(r**2) / 8
    )  # centre-surround: no preferred orientation
    t = orientation_tuning(dog[None], (16, 16), n_orientations=16)
    assert t["circular_variance"][0] > 0.9 and abs(t["osi"][0]) < 0.1


def test_circular_variance_limits():
    th = np.arange(8) * math.pi / 8
    one = np.zeros(8)
    one[3] = 1.0
    assert circular_variance(one, th) == pytest.approx(0.0, abs=1e-12)
    assert circular_variance(np.ones(8), th) == pytest.approx(1.0)
    assert np.isnan(circular_variance(np.zeros(8), th))
    with pytest.raises(ValueError, match=">= 0"):
        circular_variance(-one, th)


def test_grating_response_is_the_fourier_amplitude():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 8))
    # an integer number of cycles across the patch: a DFT coefficient
    r = grating_responses(w[None], (8, 8), np.array([0.0]), np.array([2 / 8]))
    assert r[0, 0, 0] == pytest.approx(abs(np.fft.fft2(w)[0, 2]))
    with pytest.raises(ValueError, match="freqs"):
        grating_responses(w[None], (8, 8), np.array([0.0]), np.array([0.6]))
    with pytest.raises(ValueError, match="fields"):
        grating_responses(w[None], (9, 9), np.array([0.0]), np.array([0.2]))
