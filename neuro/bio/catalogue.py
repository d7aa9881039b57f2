"""The scorecard's tests, declared from the reference files in ``neuro/bio/data``.

Each function returns :class:`~sparse_neuro.neuro.bio.scorecard.BioTest` objects; the test name is
the key of the model statistic the bio-suite computes for it. Receptive-field tests are
declared once per code (e.g. ``l0`` and ``l1``) so codes are compared side by side; network
tests once per network (CUBA, COBA, Brunel, the microcircuit: a prefix each, so a network added
later needs only its prefix); the pair and triplet rules against the Bi & Poo (1998) data points
come from :mod:`sparse_neuro.neuro.bio.bi_poo`.
"""

from __future__ import annotations

import itertools

from sparse_neuro.neuro.bio.bi_poo import BI_POO_PAIRINGS, BI_POO_PERIOD_S, bi_poo_window_test
from sparse_neuro.neuro.bio.scorecard import (
    BinnedKS,
    BioTest,
    InRange,
    ReducedChiSquare,
    Reference,
    RelativeTo,
    read_table,
)

__all__ = [
    "CV_FILE",
    "microcircuit_layer_test",
    "network_tests",
    "orientation_cv_test",
    "FITTED_RULES",
    "fitted_plasticity_tests",
    "plasticity_tests",
    "range_test",
    "rule_plasticity_tests",
    "receptive_field_tests",
]

RANGES_FILE = "reference_ranges.csv"
NETWORK_RANGES_FILE = "network_ranges.csv"
SJOSTROM_FILE = "sjostrom2001_pfister2006.csv"
BI_POO_FILE = "bi_poo_1998_window.csv"
CV_FILE = "ringach2002_circular_variance.csv"


def orientation_cv_test(name: str, statistic: str) -> BioTest:
    """Circular variances of orientation tuning against the Ringach et al. (2002) histogram."""
    rows = read_table(CV_FILE)
    edges = (*(float(r["bin_low"]) for r in rows), float(rows[-1]["bin_high"]))
    counts = tuple(float(r["n_cells"]) for r in rows)
    ref = Reference(
        "Ringach, Shapley & Hawken (2002) J Neurosci 22:5639",
        CV_FILE,
        f"circular variance of {sum(counts):g} macaque V1 cells, spread over [0, 1] "
        f"(median bin {_median_bin(edges, counts)})",
    )
    return BioTest(name, "receptive_fields", statistic, "1", ref, BinnedKS(edges, counts))


def _median_bin(edges: tuple[float, ...], counts: tuple[float, ...]) -> str:
    half = sum(counts) / 2
    i = next(k for k, c in enumerate(itertools.accumulate(counts)) if c >= half)
    return f"{edges[i]:.2f}-{edges[i + 1]:.2f}"


def range_test(key: str, name: str, group: str, statistic: str, file: str = RANGES_FILE) -> BioTest:
    """A test whose reference is the row ``key`` of ``file`` (a ranges table: key, low, high,
    unit, citation, note)."""
    rows = {r["key"]: r for r in read_table(file)}
    if key not in rows:
        raise ValueError(f"key {key!r} not in {file}; valid: {', '.join(sorted(rows))}")
    r = rows[key]
    unit = r["unit"]
    return BioTest(
        name,
        group,
        statistic,
        unit,
        Reference(r["citation"], file, r["note"]),
        InRange(float(r["low"]), float(r["high"]), unit),
    )


def receptive_field_tests(code: str) -> list[BioTest]:
    """Tests of a learned dictionary ``code`` (e.g. ``"l0"``, ``"l1"``)."""
    g = "receptive_fields"
    return [
        range_test(
            "frac_gabor",
            f"{code}_frac_gabor_bandpass",
            g,
            f"{code.upper()} code: fraction of fields fit by a band-pass Gabor (R^2 > 0.8, spectral peak >= 0.05 cyc/px)",
        ),
        range_test(
            "median_nx",
            f"{code}_median_nx",
            g,
            f"{code.upper()} code: median nx = sigma_x f of the band-pass Gabor fits (Ringach 2002 shape)",
        ),
        range_test(
            "frac_nx_below_0_5",
            f"{code}_frac_nx_below_0_5",
            g,
            f"{code.upper()} code: fraction of band-pass Gabor fits with nx < 0.5",
        ),
        range_test(
            "lifetime_sparseness",
            f"{code}_lifetime_sparseness",
            g,
            f"{code.upper()} code: median lifetime sparseness of |coefficients| over natural patches",
        ),
        range_test(
            "fraction_active",
            f"{code}_fraction_active",
            g,
            f"{code.upper()} code: mean fraction of units with a non-zero coefficient per patch",
        ),
        orientation_cv_test(
            f"{code}_orientation_circular_variance",
            f"{code.upper()} code: circular variance of each basis function's orientation tuning "
            "(F1 amplitude of the linear field to drifting gratings at its preferred spatial "
            "frequency; no spike threshold)",
        ),
    ]


def network_tests(net: str, label: str | None = None) -> list[BioTest]:
    """Tests of the spiking activity of network ``net`` (e.g. ``"cuba"``), named ``label`` in
    the statistics (default: ``net`` in capitals)."""
    g = "network_activity"
    label = label or net.upper()
    return [
        range_test(
            "mean_rate_hz", f"{net}_mean_rate_hz", g, f"{label}: population-mean firing rate"
        ),
        range_test(
            "log_rate_skewness",
            f"{net}_log_rate_skewness",
            g,
            f"{label}: skewness of log10 rates of active neurons (0 for log-normal)",
        ),
        range_test("isi_cv", f"{net}_isi_cv", g, f"{label}: median ISI coefficient of variation"),
        range_test(
            "fano_factor",
            f"{net}_fano_factor",
            g,
            f"{label}: mean Fano factor of 100 ms counts (unbiased variance)",
        ),
        range_test(
            "pairwise_correlation",
            f"{net}_pairwise_correlation",
            g,
            f"{label}: mean pairwise Pearson correlation of 100 ms counts",
        ),
    ]


def microcircuit_layer_test() -> BioTest:
    """The microcircuit's L2/3 excitatory rate relative to the other layers' excitatory rates."""
    return range_test(
        "l23e_rate_ratio",
        "microcircuit_l23e_rate_ratio",
        "network_activity",
        "microcircuit: L2/3E rate over the mean of the L4E, L5E and L6E rates",
        NETWORK_RANGES_FILE,
    )


BI_POO_CITE = "Bi & Poo (1998) J Neurosci 18:10464; fit of Bi & Poo (2001) Annu Rev Neurosci 24:139"
SJOSTROM_CITE = "Sjostrom, Turrigiano & Nelson (2001) Neuron 32:1149, as in Pfister & Gerstner (2006) J Neurosci 26:9673"
#: The fitted presets of :class:`~sparse_neuro.neuro.model.plasticity_rules.STDPRule` scored
#: beside the legacy rules: prefix -> label.
FITTED_RULES = {
    "bi_poo_1998": "STDPRule.bi_poo_1998() (pair rule fitted to Bi & Poo 1998)",
    "visual_cortex_2006": (
        "STDPRule.visual_cortex_2006() (minimal triplet rule fitted to Sjostrom et al. 2001)"
    ),
}


def _window_tau_tests(prefix: str, label: str) -> list[BioTest]:
    """``{prefix}_tau_plus_ms`` / ``_tau_minus_ms`` against Bi & Poo's fitted time constants."""
    bp = {r["parameter"]: r for r in read_table(BI_POO_FILE)}
    return [
        BioTest(
            f"{prefix}_{p}_ms",
            "plasticity",
            f"{label}: fitted {p.replace('_', ' ')} of the pairing window",
            "ms",
            Reference(
                BI_POO_CITE, BI_POO_FILE, f"{p.replace('_', ' ')} = {float(bp[p]['value']):g} ms"
            ),
            RelativeTo(float(bp[p]["value"]), float(bp[p]["rtol"]), "ms"),
        )
        for p in ("tau_plus", "tau_minus")
    ]


def _sjostrom_tests(prefix: str, label: str) -> list[BioTest]:
    """``{prefix}_sjostrom_pre_post`` / ``_post_pre``: reduced chi^2 against the Sjostrom table."""
    rows = read_table(SJOSTROM_FILE)
    freqs = ", ".join(f"{float(r['frequency_hz']):g}" for r in rows)
    tests = []
    for side, col in (("pre_post", "dw_pre_post"), ("post_pre", "dw_post_pre")):
        sem = "sem_" + col[3:]
        y = tuple(float(r[col]) for r in rows)
        s = tuple(float(r[sem]) for r in rows)
        dt = "+10" if side == "pre_post" else "-10"
        tests.append(
            BioTest(
                f"{prefix}_sjostrom_{side}",
                "plasticity",
                f"{label}: relative weight change after 60 pairings at {dt} ms vs frequency ({freqs} Hz)",
                "1",
                Reference(
                    SJOSTROM_CITE, SJOSTROM_FILE, f"{dt} ms: " + ", ".join(f"{v:+.2f}" for v in y)
                ),
                ReducedChiSquare(y, s, 2.0),
            )
        )
    return tests


def _bi_poo_points_test(prefix: str, label: str) -> BioTest:
    return bi_poo_window_test(
        f"{prefix}_bi_poo_window",
        f"{label}: relative weight change after "
        f"{BI_POO_PAIRINGS} pairings at {1 / BI_POO_PERIOD_S:g} Hz at the data's intervals",
    )


def plasticity_tests() -> list[BioTest]:
    """Pair and triplet rules vs the Bi & Poo (1998) data points; the stdp-digits rule's window
    vs Bi & Poo's fitted time constants; triplet and pair rule vs Sjostrom et al. (2001)."""
    return [
        _bi_poo_points_test(
            "pair", "pair rule (Bi & Poo time constants, Song et al. 2000 amplitudes)"
        ),
        _bi_poo_points_test("triplet", "triplet rule (Pfister & Gerstner 2006 visual-cortex fit)"),
        # the rule the STDP digits network learns with (a model choice judged against the data); its
        # amplitudes are learning rates, so only its time constants are compared
        *_window_tau_tests(
            "stdp_digits", "the stdp-digits network's rule (its default parameters)"
        ),
        *_sjostrom_tests("triplet", "triplet rule"),
        *_sjostrom_tests("pair", "pair rule"),
    ]


def rule_plasticity_tests(prefix: str, label: str) -> list[BioTest]:
    """Five rows for one rule: the Bi & Poo points, both Sjostrom protocols and the window's
    time constants (measured as for the stdp-digits rule)."""
    return [
        _bi_poo_points_test(prefix, label),
        *_sjostrom_tests(prefix, label),
        *_window_tau_tests(prefix, label),
    ]


def fitted_plasticity_tests() -> list[BioTest]:
    """:func:`rule_plasticity_tests` of each fitted preset (:data:`FITTED_RULES`), scored beside
    (never instead of) the legacy :func:`plasticity_tests`."""
    return [
        t for prefix, label in FITTED_RULES.items() for t in rule_plasticity_tests(prefix, label)
    ]
