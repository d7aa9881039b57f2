"""The bio scorecard: comparisons, declared tests, the statistics behind them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.experiments.bio_network import NETWORKS
from sparse_neuro.experiments.bio_suite import code_statistics, shape_statistics
from sparse_neuro.neuro.analysis.gabor import gabor_image
from sparse_neuro.neuro.bio.bi_poo import ExplainedVariance
from sparse_neuro.neuro.bio.catalogue import (
    microcircuit_layer_test,
    network_tests,
    plasticity_tests,
    range_test,
    receptive_field_tests,
)
from sparse_neuro.neuro.bio.scorecard import (
    GROUPS,
    BinnedKS,
    BioTest,
    InRange,
    ReducedChiSquare,
    Reference,
    RelativeTo,
)

ALL_TESTS = [
    *receptive_field_tests("l0"),
    *receptive_field_tests("l1"),
    *(t for net in NETWORKS for t in network_tests(net)),
    microcircuit_layer_test(),
    *plasticity_tests(),
]


def _pass_and_fail(test: BioTest):
    """A value the reference must accept and one it must reject, derived from the reference data."""
    c = test.comparison
    if isinstance(c, InRange):
        return 0.5 * (c.low + c.high), c.high + 0.1 * (c.high - c.low) + 1e-3
    if isinstance(c, RelativeTo):
        return c.target * (1 + 0.5 * c.rtol), c.target * (1 + 2 * c.rtol)
    if isinstance(c, BinnedKS):
        # the reference histogram itself (counts spread evenly inside each bin) vs all in the first bin
        e = np.asarray(c.edges)
        good = np.concatenate(
            [np.linspace(a, b, int(n) + 2)[1:-1] for a, b, n in zip(e, e[1:], c.counts)]
        )
        return good, np.full(100, 0.5 * (e[0] + e[1]))
    if isinstance(c, ExplainedVariance):
        # the data themselves (R^2 = 1) vs the data mirrored (R^2 < 0)
        return np.asarray(c.y), -np.asarray(c.y)
    y, s = np.asarray(c.y), np.asarray(c.sem)
    return y + 0.5 * s, y + 3.0 * s


def test_scorecard_has_at_least_12_tests_over_three_groups():
    assert len(ALL_TESTS) >= 12
    assert {t.group for t in ALL_TESTS} == set(GROUPS)
    assert len({t.name for t in ALL_TESTS}) == len(ALL_TESTS)


@pytest.mark.parametrize("test", ALL_TESTS, ids=lambda t: t.name)
def test_each_comparison_passes_and_fails_known_cases(test):
    good, bad = _pass_and_fail(test)
    ok = test.judge(good)
    assert ok.passed and ok.distance <= test.comparison.compare(bad)[1]
    no = test.judge(bad)
    assert not no.passed and no.distance > 0
    row = no.as_dict()
    for key in ("name", "group", "statistic", "model_value", "reference", "citation", "passed"):
        assert key in row
    assert row["citation"] and row["data_file"].startswith("neuro/bio/data/")


def test_in_range_distance_and_nan():
    c = InRange(1.0, 2.0)
    assert c.compare(1.5) == (True, 0.0)
    assert c.compare(2.5) == (False, 0.5)
    assert c.compare(0.25) == (False, 0.75)
    assert c.compare(math.nan) == (False, math.inf)


def test_binned_ks_distance_and_critical_value():
    c = BinnedKS((0.0, 0.5, 1.0), (50.0, 50.0))
    # all model values below 0.5: CDF gap 0.5 at the middle edge
    assert c.compare(np.full(10, 0.25)) == (False, pytest.approx(0.5))
    passed, d = c.compare(np.r_[np.full(5, 0.25), np.full(5, 0.75)])
    assert passed and d == pytest.approx(0.0)
    # two-sample KS critical value, alpha 0.05: 1.358 sqrt((n + m) / (n m))
    assert c.critical(100) == pytest.approx(1.3581 * np.sqrt(2 / 100), rel=1e-3)
    assert c.compare(np.array([np.nan])) == (False, math.inf)
    with pytest.raises(ValueError, match="edges"):
        BinnedKS((0.0, 0.0, 1.0), (1.0, 1.0))


def test_reduced_chi_square_is_the_mean_squared_z():
    c = ReducedChiSquare((0.0, 1.0), (0.5, 0.5), max_chi2=2.0)
    passed, chi2 = c.compare(np.array([0.5, 0.0]))  # z = 1 and -2
    assert chi2 == pytest.approx(2.5) and not passed
    with pytest.raises(ValueError, match="shape"):
        c.compare(np.zeros(3))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: InRange(2.0, 1.0), "low <= high"),
        (lambda: RelativeTo(0.0, 0.1), "target"),
        (lambda: RelativeTo(1.0, 1.5), "rtol"),
        (lambda: ReducedChiSquare((1.0,), (0.0,)), "sem"),
        (lambda: Reference("x", "no_such_file.csv", "s"), "data_file"),
        (lambda: range_test("no_such_key", "x", "plasticity", "s"), "no_such_key"),
        (
            lambda: BioTest(
                "x", "cells", "s", "1", Reference("c", "reference_ranges.csv", "s"), InRange(0, 1)
            ),
            "group",
        ),
    ],
)
def test_bad_declarations_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_shape_statistics_on_known_gabors():
    # band-pass Gabors with nx = sigma_x f = 0.3 and a low-frequency blob
    n = 12
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    fields = [
        gabor_image((n, n), x0=5.5, y0=5.5, theta=t, freq=0.15, sigma_x=2.0, sigma_y=3.0, phase=0.3)
        for t in (0.0, 0.8, 1.6)
    ]
    fields.append(np.exp(-((xx - 5.5) ** 2 + (yy - 5.5) ** 2) / 8.0))  # blob: not band-pass
    D = np.stack([f.ravel() / np.linalg.norm(f) for f in fields], axis=1)
    stats, nxny = shape_statistics(D, n)
    assert stats["frac_gabor_bandpass"] == pytest.approx(0.75)
    assert nxny[:, 0] == pytest.approx(np.full(3, 0.3), rel=0.05)
    assert stats["frac_nx_below_0_5"] == 1.0


def test_code_statistics_on_a_known_code():
    D = np.eye(4)
    A = np.zeros((8, 4))
    A[np.arange(8), np.arange(8) % 4] = 1.0  # one unit active per patch
    s = code_statistics(D, A @ D.T, A)
    assert s["fraction_active"] == pytest.approx(0.25)
    assert s["reconstruction_error"] == pytest.approx(0.0, abs=1e-12)
    # each unit answers 2 of 8 patches equally: (1 - 1/4) / (1 - 1/8)
    assert s["lifetime_sparseness"] == pytest.approx(0.75 / 0.875)


def test_reference_tables_that_are_damaged_raise_format_error(tmp_path, monkeypatch):
    from sparse_neuro.neuro.bio import scorecard
    from sparse_neuro.neuro.storage.integrity import FormatError

    monkeypatch.setattr(scorecard, "DATA_DIR", tmp_path)
    (tmp_path / "ok.csv").write_text("# source: test\na,b\n1,2\n3,4\n")
    assert scorecard.read_table("ok.csv") == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    for name, text in [
        ("short.csv", "a,b\n1,2\n3\n"),
        ("long.csv", "a,b\n1,2,5\n"),
        ("empty.csv", "# only a comment\n"),
        ("header.csv", "a,b\n"),
    ]:
        (tmp_path / name).write_text(text)
        with pytest.raises(FormatError, match=name):
            scorecard.read_table(name)


def test_every_shipped_reference_table_reads():
    from sparse_neuro.neuro.bio import scorecard

    names = sorted(p.name for p in scorecard.DATA_DIR.glob("*.csv"))
    assert names
    for name in names:
        assert scorecard.read_table(name)
