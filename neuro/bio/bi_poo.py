"""The pair-STDP window judged against the individual Bi & Poo (1998) data points.

Bi & Poo paired pre- and postsynaptic spikes 60 times at 1 Hz and measured the relative
change of the EPSC amplitude; :data:`BI_POO_POINTS_FILE` holds the 45 pairs of their Fig. 7.
A rule is judged by the fraction of the variance of those points its predicted change
explains (:class:`ExplainedVariance`); the bar is half of what the best window of the
classic form (two exponentials, fitted to the points themselves) explains, since the
cell-to-cell scatter leaves much of the variance unexplained by any window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.neuro.analysis.stdp_fit import fit_window
from sparse_neuro.neuro.bio.scorecard import BioTest, Reference, read_table

__all__ = [
    "BI_POO_CITATION",
    "BI_POO_PAIRINGS",
    "BI_POO_PERIOD_S",
    "BI_POO_POINTS_FILE",
    "ExplainedVariance",
    "bi_poo_points",
    "bi_poo_window_test",
    "best_window_r2",
    "exponential_window",
]

BI_POO_POINTS_FILE = "bi_poo_1998_points.csv"
BI_POO_CITATION = "Bi & Poo (1998) J Neurosci 18:10464, Fig. 7 (digitised by D. Spicher)"
#: The protocol of the data: 60 pairings at 1 Hz.
BI_POO_PAIRINGS = 60
BI_POO_PERIOD_S = 1.0
#: Fraction of the best two-exponential window's R^2 a rule must reach.
R2_FRACTION = 0.5


def bi_poo_points() -> tuple[np.ndarray, np.ndarray]:
    """The data: ``(t_post - t_pre in s, relative weight change)`` of the 45 cell pairs."""
    rows = read_table(BI_POO_POINTS_FILE)
    dt = np.array([float(r["dt_ms"]) for r in rows]) * 1e-3
    dw = np.array([float(r["dw_percent"]) for r in rows]) / 100.0
    return dt, dw


def exponential_window(
    dt_s: np.ndarray, a_plus: float, tau_plus_s: float, a_minus: float, tau_minus_s: float
) -> np.ndarray:
    """``a_plus exp(-dt / tau_plus)`` for ``dt > 0``, ``-a_minus exp(dt / tau_minus)`` otherwise."""
    dt = np.asarray(dt_s, dtype=np.float64)
    return np.where(
        dt > 0,
        a_plus * np.exp(-np.abs(dt) / tau_plus_s),
        -a_minus * np.exp(-np.abs(dt) / tau_minus_s),
    )


def r_squared(y: np.ndarray, model: np.ndarray) -> float:
    """Coefficient of determination ``1 - sum((y - model)^2) / sum((y - mean(y))^2)``."""
    y = np.asarray(y, dtype=np.float64)
    return float(1.0 - np.sum((y - model) ** 2) / np.sum((y - y.mean()) ** 2))


def best_window_r2(dt_s: np.ndarray, dw: np.ndarray) -> float:
    """R^2 of the two-exponential window fitted to the points by least squares (each side apart)."""
    fit = fit_window(dt_s, dw)
    return r_squared(
        dw,
        exponential_window(
            dt_s, fit["a_plus"], fit["tau_plus_s"], fit["a_minus"], fit["tau_minus_s"]
        ),
    )


@dataclass(frozen=True)
class ExplainedVariance:
    """Data points without error bars: pass when the model explains at least ``min_r2`` of
    their variance. The distance is ``1 - R^2`` (0 for a perfect match, > 1 for a model
    worse than the data's mean)."""

    y: tuple[float, ...]
    min_r2: float

    def __post_init__(self) -> None:
        if len(self.y) < 3 or np.ptp(self.y) == 0:
            raise ValueError(
                f"y must hold at least 3 points that are not all equal, got {len(self.y)} points"
            )
        if not 0 < self.min_r2 < 1:
            raise ValueError(f"min_r2 must be in (0, 1), got {self.min_r2}")

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        v = np.asarray(value, dtype=np.float64)
        if v.shape != (len(self.y),):
            raise ValueError(f"model value must have shape ({len(self.y)},), got {v.shape}")
        if not np.all(np.isfinite(v)):
            return False, math.inf
        distance = 1.0 - r_squared(np.asarray(self.y), v)
        return distance <= 1.0 - self.min_r2, distance

    def describe(self) -> str:
        return f"{len(self.y)} data points, R^2 >= {self.min_r2:.2f}"


def bi_poo_window_test(name: str, statistic: str) -> BioTest:
    """A rule's relative weight change after 60 pairings at 1 Hz at the 45 intervals of the data."""
    dt, dw = bi_poo_points()
    best = best_window_r2(dt, dw)
    ref = Reference(
        BI_POO_CITATION,
        BI_POO_POINTS_FILE,
        f"{dt.size} cell pairs, change {100 * dw.min():+.0f}% to {100 * dw.max():+.0f}% over "
        f"{1e3 * dt.min():.0f}..{1e3 * dt.max():.0f} ms; the best two-exponential window explains "
        f"R^2 = {best:.2f}",
    )
    return BioTest(
        name,
        "plasticity",
        statistic,
        "1",
        ref,
        ExplainedVariance(tuple(dw.tolist()), R2_FRACTION * best),
    )
