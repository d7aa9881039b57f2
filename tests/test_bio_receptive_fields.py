"""Receptive-field distribution tests: Ringach (nx, ny), SF bandwidth and preferred-SF spread."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.neuro.analysis.gabor import gabor_image
from sparse_neuro.neuro.analysis.gratings import spatial_frequency_tuning
from sparse_neuro.neuro.bio.binned2d import BinnedPermutation2D, permutation_tv
from sparse_neuro.neuro.bio.receptive_fields import (
    centred_log2,
    histogram_median,
    nxny_reference,
    receptive_field_distribution_tests,
)
from sparse_neuro.neuro.bio.scorecard import BinnedKS, InRange

TESTS = [*receptive_field_distribution_tests("l0"), *receptive_field_distribution_tests("l1")]


def _spread(edges, counts, scale=1):
    """``scale`` x ``counts`` values spread evenly inside each bin (the reference itself)."""
    return np.concatenate(
        [np.linspace(a, b, int(n * scale) + 2)[1:-1] for a, b, n in zip(edges, edges[1:], counts)]
    )


def _pass_and_fail(test):
    c = test.comparison
    if isinstance(c, BinnedPermutation2D):
        # points drawn at the geometric centres of the reference bins, as many as the reference has
        xe, ye = np.asarray(c.x_edges), np.asarray(c.y_edges)
        n = np.asarray(c.counts, dtype=int)
        i, j = np.nonzero(n)
        good = np.repeat(
            np.c_[np.sqrt(xe[i] * xe[i + 1]), np.sqrt(ye[j] * ye[j + 1])], n[i, j], axis=0
        )
        # elongated many-lobed fields: all in the empty top-right corner bin
        bad = np.full((60, 2), np.sqrt(xe[-2] * xe[-1]))
        return good, bad
    if isinstance(c, InRange):
        return 0.5 * (c.low + c.high), c.high + 0.5
    assert isinstance(c, BinnedKS)
    e = np.asarray(c.edges)
    return _spread(e, c.counts), np.full(100, 0.5 * (e[0] + e[1]))


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_each_distribution_test_passes_and_fails_known_cases(test):
    good, bad = _pass_and_fail(test)
    ok = test.judge(good)
    no = test.judge(bad)
    assert ok.passed and not no.passed
    assert no.distance > ok.distance >= 0
    row = no.as_dict()
    assert row["group"] == "receptive_fields" and row["citation"]
    assert row["data_file"].startswith("neuro/bio/data/")


def test_ringach_reference_is_the_transcribed_histogram():
    ref = nxny_reference()
    assert ref.n_reference == 79
    assert ref.x_edges == pytest.approx(np.logspace(-1, 0.2, 6), abs=1e-4)
    # most macaque cells in the nx 0.3-0.9 band, none with nx above 0.91
    c = np.asarray(ref.counts)
    assert c[2:4].sum() / c.sum() > 0.6 and c[4].sum() == 0


def test_binned_permutation_distance_labels_and_p_value():
    c = BinnedPermutation2D((0.0, 1.0, 2.0), (0.0, 1.0), ((30,), (10,)), n_permutations=999)
    # grid edges: the top edge is inside, anything else off the grid goes to the extra bin 2
    assert c.labels(np.array([[0.5, 0.5], [2.0, 1.0], [2.5, 0.5], [-1.0, 0.5]])).tolist() == [
        0,
        1,
        2,
        2,
    ]
    # the reference proportions exactly: distance 0, p = 1
    d, p = c.distance_and_p(np.r_[np.tile([[0.5, 0.5]], (3, 1)), [[1.5, 0.5]]])
    assert d == pytest.approx(0.0) and p == pytest.approx(1.0)
    # all in bin 1: TV = |0.75 - 0| / 2 + |0.25 - 1| / 2 = 0.75, and a shuffle rarely gets there
    d, p = c.distance_and_p(np.tile([[1.5, 0.5]], (20, 1)))
    assert d == pytest.approx(0.75) and p < 0.01
    # off-grid points count against the model
    assert c.distance_and_p(np.array([[5.0, 5.0]] * 4))[0] == pytest.approx(1.0)
    assert c.distance_and_p(np.array([[np.nan, 0.5]])) == (math.inf, 0.0)
    # the verdict is reproducible (seeded shuffles)
    pts = np.random.default_rng(3).uniform(0, 2, (15, 2))
    assert c.distance_and_p(pts) == c.distance_and_p(pts)


def test_two_sample_permutation_tv():
    a = np.array([0, 0, 1, 1, 2])
    # one sample against itself: distance 0, every shuffle is at least as far
    assert permutation_tv(a, a.copy(), 3, 199) == (0.0, 1.0)
    # disjoint bins: distance 1; symmetric in the two samples
    b = np.full(30, 2)
    c = np.zeros(30, dtype=int)
    d, p = permutation_tv(b, c, 3, 199)
    assert d == 1.0 and p == pytest.approx(1 / 200)
    assert permutation_tv(c, b, 3, 199)[0] == 1.0
    with pytest.raises(ValueError, match="labels"):
        permutation_tv(a, np.array([3]), 3)
    with pytest.raises(ValueError, match="non-empty"):
        permutation_tv(a, np.array([], dtype=int), 3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"x_edges": (0.0, 0.0, 1.0)}, "x_edges"),
        ({"counts": ((1.0, 2.0),)}, "shape"),
        ({"counts": ((1.5,), (1.0,))}, "integers"),
        ({"alpha": 1.0}, "alpha"),
        ({"n_permutations": 10}, "n_permutations"),
    ],
)
def test_binned_permutation_rejects_bad_declarations(kwargs, match):
    args = {"x_edges": (0.0, 1.0, 2.0), "y_edges": (0.0, 1.0), "counts": ((3.0,), (1.0,)), **kwargs}
    with pytest.raises(ValueError, match=match):
        BinnedPermutation2D(**args)


def test_sf_tuning_of_a_gabor_matches_its_fourier_transform():
    # A Gabor's grating response along its wave vector is a Gaussian in f of width 1 / (2 pi sigma_x):
    # half amplitude at f0 +- sqrt(ln 2 / 2) / (pi sigma_x), 1/sqrt(2) at f0 +- sqrt(ln 2 / 4) / (pi sigma_x).
    n, sig, f0, theta = 48, 4.0, 0.2, math.pi / 6
    g = gabor_image((n, n), 23.5, 23.5, theta, f0, sig, 6.0, 0.3)
    t = spatial_frequency_tuning(
        g[None], (n, n), n_orientations=12, freqs=np.geomspace(0.02, 0.5, 400)
    )
    half = math.sqrt(math.log(2) / 2) / (math.pi * sig)
    root2 = math.sqrt(math.log(2) / 4) / (math.pi * sig)
    assert t["preferred_freq"][0] == pytest.approx(f0, rel=0.01)
    assert t["bandwidth_octaves"][0] == pytest.approx(
        math.log2((f0 + half) / (f0 - half)), rel=0.01
    )
    assert t["bandwidth_ratio_percent"][0] == pytest.approx(
        100 * (f0 - root2) / (f0 + root2), rel=0.01
    )
    # a narrower envelope is broader in frequency
    wide = spatial_frequency_tuning(
        gabor_image((n, n), 23.5, 23.5, theta, f0, 2.0, 6.0, 0.3)[None],
        (n, n),
        12,
        np.geomspace(0.02, 0.5, 400),
    )
    assert wide["bandwidth_octaves"][0] > t["bandwidth_octaves"][0]


def test_sf_bandwidth_is_nan_when_the_response_does_not_fall_inside_the_range():
    # a broad-band Gabor sampled over a third of an octave around its peak: no cut-off is seen
    g = gabor_image((16, 16), 7.5, 7.5, 0.0, 0.2, 2.0, 3.0, 0.0)
    t = spatial_frequency_tuning(g[None], (16, 16), freqs=np.geomspace(0.18, 0.23, 20))
    assert np.isnan(t["bandwidth_octaves"][0]) and np.isnan(t["bandwidth_ratio_percent"][0])
    assert t["preferred_freq"][0] == pytest.approx(0.2, rel=0.05)
    with pytest.raises(ValueError, match="freqs"):
        spatial_frequency_tuning(g[None], (16, 16), freqs=np.array([0.3, 0.2, 0.1]))
    with pytest.raises(ValueError, match="n_orientations"):
        spatial_frequency_tuning(g[None], (16, 16), n_orientations=2)


def test_centred_log2_and_histogram_median():
    assert centred_log2(np.array([1.0, 2.0, 4.0, np.nan, 0.0])) == pytest.approx([-1.0, 0.0, 1.0])
    # two equal log-spaced bins [1, 2), [2, 4): the median is their shared edge
    assert histogram_median(np.array([1.0, 2.0, 4.0]), np.array([5.0, 5.0])) == pytest.approx(2.0)


def test_bio_suite_computes_a_value_for_every_declared_test():
    from sparse_neuro.experiments.bio_suite import _sf_statistics

    fields = np.stack(
        [gabor_image((12, 12), 5.5, 5.5, t, 0.2, 2.0, 3.0, 0.0).ravel() for t in (0.0, 1.0, 2.0)],
        axis=1,
    )
    sf = spatial_frequency_tuning(fields, (12, 12))
    values = _sf_statistics("l0", np.array([[0.4, 0.6], [0.3, 0.5]]), sf)
    assert set(values) == {t.name for t in receptive_field_distribution_tests("l0")}
    # three rotated copies of one Gabor: one preferred frequency up to the grid step (0.06 octave)
    assert values["l0_preferred_sf_spread"] == pytest.approx(np.zeros(3), abs=0.1)
    assert 0.5 < values["l0_sf_bandwidth_octaves"] < 3.0
