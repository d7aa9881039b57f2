"""Declared biological-plausibility tests: a statistic, a cited reference and a comparison.

A :class:`BioTest` names the model statistic it judges, the publication and data file the
reference comes from, and a comparison (:class:`InRange`, :class:`RelativeTo`,
:class:`ReducedChiSquare`, :class:`BinnedKS`) that turns a model value into a verdict and a
distance. Users add
their own tests by declaring more :class:`BioTest` objects; nothing else needs to change.

SciUnit / NetworkUnit were not used: their capability/model wrappers add a layer our
statistics do not need, and a self-contained module keeps the pinned environment untouched.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from sparse_neuro.neuro.storage.integrity import FormatError

__all__ = [
    "DATA_DIR",
    "GROUPS",
    "BinnedKS",
    "BioTest",
    "Comparison",
    "InRange",
    "Reference",
    "ReducedChiSquare",
    "RelativeTo",
    "Result",
    "read_table",
]

DATA_DIR = Path(__file__).with_name("data")
#: Valid test groups.
GROUPS = ("receptive_fields", "network_activity", "plasticity")


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of ``DATA_DIR/name`` (CSV with ``#`` comment lines) as dicts of strings;
    :class:`~sparse_neuro.neuro.storage.integrity.FormatError` if the file has no rows or a row does
    not have its header's fields."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"reference data file {name!r} not found in {DATA_DIR}")
    with path.open(newline="") as f:
        reader = csv.DictReader(line for line in f if not line.startswith("#"))
        rows = list(reader)
    if not reader.fieldnames or not rows:
        raise FormatError(f"reference data file {name!r} has no header or no data rows")
    for k, row in enumerate(rows, 1):
        # DictReader files surplus fields under the key None and fills missing ones with None
        if None in row or any(v is None for v in row.values()):
            raise FormatError(
                f"reference data file {name!r}: data row {k} does not have the "
                f"{len(reader.fieldnames)} fields of its header"
            )
    return rows


@dataclass(frozen=True)
class Reference:
    """Where a reference value comes from.

    Attributes
    ----------
    citation : str
        Publication, e.g. ``"Bi & Poo (1998) J Neurosci 18:10464"``.
    data_file : str
        File under :data:`DATA_DIR` holding the numbers used.
    summary : str
        The reference in words and numbers, for the report.
    """

    citation: str
    data_file: str
    summary: str

    def __post_init__(self) -> None:
        if not self.citation.strip():
            raise ValueError("citation must not be empty")
        if not (DATA_DIR / self.data_file).is_file():
            raise ValueError(f"data_file {self.data_file!r} does not exist in {DATA_DIR}")


class Comparison(Protocol):
    """Turns a model value into ``(passed, distance)``; distance 0 is a perfect match."""

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]: ...

    def describe(self) -> str: ...


def _verdict(distance: float, max_distance: float) -> tuple[bool, float]:
    """``(distance <= max_distance, distance)``; a non-finite model value fails at distance inf."""
    if not math.isfinite(distance):
        return False, math.inf
    return distance <= max_distance, distance


@dataclass(frozen=True)
class InRange:
    """Pass when ``low <= value <= high``; distance is how far outside the band the value is."""

    low: float
    high: float
    unit: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"need finite low <= high, got low={self.low}, high={self.high}")

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        return _verdict(max(self.low - float(value), float(value) - self.high, 0.0), 0.0)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit and self.unit != "1" else ""
        return f"in [{self.low:g}, {self.high:g}]{unit}"


@dataclass(frozen=True)
class RelativeTo:
    """Pass when ``|value / target - 1| <= rtol``; distance is the relative error."""

    target: float
    rtol: float
    unit: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target) and self.target != 0):
            raise ValueError(f"target must be finite and non-zero, got {self.target}")
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol must be in (0, 1), got {self.rtol}")

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        return _verdict(abs(float(value) / self.target - 1.0), self.rtol)

    def describe(self) -> str:
        return f"{self.target:g} {self.unit} within {100 * self.rtol:g}%".replace("  ", " ")


@dataclass(frozen=True)
class ReducedChiSquare:
    """Data points with standard errors: pass when ``mean(((model - y) / sem)^2) <= max_chi2``.

    The distance is the reduced chi-square itself.
    """

    y: tuple[float, ...]
    sem: tuple[float, ...]
    max_chi2: float = 2.0

    def __post_init__(self) -> None:
        if len(self.y) != len(self.sem) or not self.y:
            raise ValueError(
                f"y and sem must have the same non-zero length, got {len(self.y)} and {len(self.sem)}"
            )
        if any(not s > 0 for s in self.sem):
            raise ValueError(f"every sem must be > 0, got {self.sem}")
        if not self.max_chi2 > 0:
            raise ValueError(f"max_chi2 must be > 0, got {self.max_chi2}")

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        v = np.asarray(value, dtype=np.float64)
        if v.shape != (len(self.y),):
            raise ValueError(f"model value must have shape ({len(self.y)},), got {v.shape}")
        chi2 = float(np.mean(((v - np.asarray(self.y)) / np.asarray(self.sem)) ** 2))
        return bool(chi2 <= self.max_chi2), chi2

    def describe(self) -> str:
        return f"{len(self.y)} data points, reduced chi^2 <= {self.max_chi2:g}"


@dataclass(frozen=True)
class BinnedKS:
    """A model sample against a published histogram: Kolmogorov-Smirnov distance at the bin edges.

    The distance is the largest gap between the reference's cumulative distribution and the
    model sample's empirical one, evaluated at the bin edges (all a histogram allows). The
    test passes when it is within the two-sample KS critical value at level ``alpha`` for the
    reference's and the model's sample sizes, ``sqrt(-ln(alpha / 2) / 2) sqrt((n + m) / (n m))``.
    """

    edges: tuple[float, ...]
    counts: tuple[float, ...]
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.counts) + 1 or not self.counts:
            raise ValueError(
                f"need len(edges) == len(counts) + 1 >= 2, got {len(self.edges)} and {len(self.counts)}"
            )
        if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
            raise ValueError(f"edges must increase strictly, got {self.edges}")
        if any(c < 0 for c in self.counts) or sum(self.counts) <= 0:
            raise ValueError(f"counts must be >= 0 with a positive total, got {self.counts}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")

    def critical(self, m: int) -> float:
        """The KS critical distance for a model sample of ``m`` values."""
        n = sum(self.counts)
        return math.sqrt(-math.log(self.alpha / 2) / 2) * math.sqrt((n + m) / (n * m))

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        v = np.asarray(value, dtype=np.float64).ravel()
        v = np.sort(v[np.isfinite(v)])
        if v.size == 0:
            return False, math.inf
        c = np.asarray(self.counts, dtype=np.float64)
        ref = np.concatenate([[0.0], np.cumsum(c)]) / c.sum()
        model = np.searchsorted(v, np.asarray(self.edges), side="right") / v.size
        return _verdict(float(np.max(np.abs(ref - model))), self.critical(v.size))

    def describe(self) -> str:
        return (
            f"KS distance to the {sum(self.counts):g}-cell histogram within the critical value "
            f"at alpha = {self.alpha:g}"
        )


@dataclass(frozen=True)
class Result:
    """A judged test."""

    test: BioTest
    model_value: float | list[float]
    passed: bool
    distance: float

    def as_dict(self) -> dict:
        """The scorecard row: name, group, statistic, model_value, reference, citation, passed, ..."""
        t = self.test
        return {
            "name": t.name,
            "group": t.group,
            "statistic": t.statistic,
            "unit": t.unit,
            "model_value": self.model_value,
            "reference": f"{t.reference.summary}; pass if {t.comparison.describe()}",
            "citation": t.reference.citation,
            "data_file": f"neuro/bio/data/{t.reference.data_file}",
            "distance": self.distance,
            "passed": self.passed,
        }


@dataclass(frozen=True)
class BioTest:
    """One scorecard test.

    Attributes
    ----------
    name : str
        Unique identifier, also the key of the model statistic it judges.
    group : str
        One of :data:`GROUPS`.
    statistic : str
        What is measured, in words.
    unit : str
        Unit of the statistic (``"1"`` for dimensionless).
    reference : Reference
    comparison : Comparison
    """

    name: str
    group: str
    statistic: str
    unit: str
    reference: Reference
    comparison: InRange | RelativeTo | ReducedChiSquare | BinnedKS

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")
        if not self.name.isidentifier():
            raise ValueError(f"name must be an identifier, got {self.name!r}")

    def judge(self, model_value: float | np.ndarray) -> Result:
        """Compare ``model_value`` with the reference."""
        passed, dist = self.comparison.compare(model_value)
        v = np.asarray(model_value, dtype=np.float64)
        value = float(v) if v.ndim == 0 else v.tolist()
        return Result(self, value, bool(passed), float(dist))
