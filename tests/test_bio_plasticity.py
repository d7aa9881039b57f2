"""Bi & Poo (1998) data points and the explained-variance comparison of the STDP window."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.neuro.analysis.stdp_fit import fit_window
from sparse_neuro.neuro.bio.bi_poo import (
    ExplainedVariance,
    best_window_r2,
    bi_poo_points,
    bi_poo_window_test,
    exponential_window,
    r_squared,
)


def test_bi_poo_points_show_the_stdp_window():
    dt, dw = bi_poo_points()
    assert dt.size == dw.size == 45
    near = np.abs(dt) < 20e-3
    # potentiation when pre leads post, depression when post leads pre
    assert np.median(dw[near & (dt > 0)]) > 0.3
    assert np.median(dw[near & (dt < 0)]) < -0.1  # two outliers near 0 ms lift the mean
    assert 0 < best_window_r2(dt, dw) < 1


def test_explained_variance_distance():
    c = ExplainedVariance((0.0, 1.0, 2.0), 0.5)
    assert c.compare(np.array([0.0, 1.0, 2.0])) == (True, 0.0)
    passed, d = c.compare(np.full(3, 1.0))  # the mean explains nothing
    assert not passed and d == pytest.approx(1.0)
    assert c.compare(np.array([0.0, np.nan, 2.0])) == (False, math.inf)
    with pytest.raises(ValueError, match="shape"):
        c.compare(np.zeros(2))
    with pytest.raises(ValueError, match="min_r2"):
        ExplainedVariance((0.0, 1.0, 2.0), 1.5)
    assert r_squared(np.array([1.0, 3.0]), np.array([1.0, 3.0])) == 1.0


def test_bi_poo_test_accepts_the_fitted_window_and_rejects_wrong_ones():
    dt, dw = bi_poo_points()
    test = bi_poo_window_test("w", "window")
    fit = fit_window(dt, dw)
    good = exponential_window(
        dt, fit["a_plus"], fit["tau_plus_s"], fit["a_minus"], fit["tau_minus_s"]
    )
    assert test.judge(good).passed
    assert not test.judge(-good).passed  # anti-Hebbian window
    # the right shape at a fifth of the amplitude explains too little of the data
    assert not test.judge(0.2 * good).passed
