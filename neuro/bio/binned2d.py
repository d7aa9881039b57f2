"""A model sample of points against a published 2-D histogram: distance and permutation test.

The reference is a joint histogram (e.g. Ringach 2002's (nx, ny) of macaque simple cells, as
counts on a grid), so all it allows is a comparison of the two samples' bin frequencies. The
distance is the total-variation distance between the reference's and the model's bin
proportions, with one extra bin for model points outside the reference grid (the reference has
none there, so every such point adds to the distance). Whether the distance is larger than two
samples of these sizes from one distribution would show is a permutation test: the pooled
bin labels are shuffled between the two groups, and the p-value is the fraction of shuffles with
a distance at least as large (+1 smoothing, so it is never 0). The test passes when p >= alpha:
the model cannot be told from the macaque data at this sample size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BinnedPermutation2D", "permutation_tv"]


def permutation_tv(
    a: np.ndarray, b: np.ndarray, n_bins: int, n_permutations: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Two samples of bin labels: total-variation distance of their bin frequencies and its
    permutation p-value, ``(1 + #{shuffles with a distance >= the observed one}) / (1 + n_permutations)``.

    Parameters
    ----------
    a, b : ndarray of int
        Bin labels in ``[0, n_bins)``; both non-empty.
    n_bins : int
    n_permutations : int
        Shuffles of the pooled labels between groups of the two sizes.
    seed : int
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.size == 0 or b.size == 0:
        raise ValueError(f"both samples must be non-empty, got sizes {a.size} and {b.size}")
    if min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n_bins:
        raise ValueError(f"labels must be in [0, {n_bins})")
    pooled = np.concatenate([a, b])

    def tv(lab: np.ndarray) -> np.ndarray:
        # lab: (k, n + m) label arrays -> TV distance between each row's two groups
        x = np.stack([np.bincount(r[: a.size], minlength=n_bins) for r in lab]) / a.size
        y = np.stack([np.bincount(r[a.size :], minlength=n_bins) for r in lab]) / b.size
        return 0.5 * np.abs(x - y).sum(axis=1)

    observed = float(tv(pooled[None])[0])
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(pooled) for _ in range(n_permutations)])
    exceed = int(np.sum(tv(shuffled) >= observed - 1e-12))
    return observed, (exceed + 1) / (n_permutations + 1)


@dataclass(frozen=True)
class BinnedPermutation2D:
    """Points ``(x, y)`` against a reference joint histogram.

    Attributes
    ----------
    x_edges, y_edges : tuple of float
        Strictly increasing bin edges.
    counts : tuple of tuple of float
        ``counts[i][j]``: reference cells with x in bin ``i`` and y in bin ``j`` (integers >= 0).
    alpha : float
        Level of the permutation test, in (0, 1).
    n_permutations : int
        Shuffles (>= 99); the p-value resolution is ``1 / (n_permutations + 1)``.
    seed : int
        Seed of the shuffles, so a verdict is reproducible.
    """

    x_edges: tuple[float, ...]
    y_edges: tuple[float, ...]
    counts: tuple[tuple[float, ...], ...]
    alpha: float = 0.05
    n_permutations: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        for name, e in (("x_edges", self.x_edges), ("y_edges", self.y_edges)):
            if len(e) < 2 or any(b <= a for a, b in zip(e, e[1:])):
                raise ValueError(f"{name} must have >= 2 strictly increasing values, got {e}")
        c = np.asarray(self.counts, dtype=np.float64)
        if c.shape != (len(self.x_edges) - 1, len(self.y_edges) - 1):
            raise ValueError(
                f"counts must have shape ({len(self.x_edges) - 1}, {len(self.y_edges) - 1}), "
                f"got {c.shape}"
            )
        if np.any(c < 0) or np.any(c != np.round(c)) or c.sum() <= 0:
            raise ValueError("counts must be integers >= 0 with a positive total")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.n_permutations < 99:
            raise ValueError(f"n_permutations must be >= 99, got {self.n_permutations}")

    @property
    def n_reference(self) -> int:
        """Number of reference cells."""
        return int(np.sum(self.counts))

    def labels(self, points: np.ndarray) -> np.ndarray:
        """Flat bin index of each point; ``n_bins`` (the extra bin) for points off the grid."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        nx, ny = len(self.x_edges) - 1, len(self.y_edges) - 1
        i = np.searchsorted(self.x_edges, p[:, 0], side="right") - 1
        j = np.searchsorted(self.y_edges, p[:, 1], side="right") - 1
        # the top edges are inside the grid, as in np.histogram
        i[p[:, 0] == self.x_edges[-1]] = nx - 1
        j[p[:, 1] == self.y_edges[-1]] = ny - 1
        inside = (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
        return np.where(inside, i * ny + j, nx * ny)

    def _reference_labels(self) -> np.ndarray:
        c = np.asarray(self.counts, dtype=np.int64).ravel()
        return np.repeat(np.arange(c.size), c)

    def distance_and_p(self, points: np.ndarray) -> tuple[float, float]:
        """Total-variation distance to the reference and its permutation p-value.

        Non-finite points are dropped; with none left both are ``(inf, 0)``.
        """
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        p = p[np.all(np.isfinite(p), axis=1)]
        if p.shape[0] == 0:
            return math.inf, 0.0
        n_bins = (len(self.x_edges) - 1) * (len(self.y_edges) - 1) + 1
        return permutation_tv(
            self._reference_labels(), self.labels(p), n_bins, self.n_permutations, self.seed
        )

    def compare(self, value: float | np.ndarray) -> tuple[bool, float]:
        """``(p >= alpha, distance)`` for points ``value`` of shape ``(m, 2)``."""
        d, p = self.distance_and_p(np.asarray(value))
        return bool(p >= self.alpha), d

    def describe(self) -> str:
        return (
            f"total-variation distance to the {self.n_reference}-cell joint histogram not significant "
            f"(permutation p >= {self.alpha:g}, {self.n_permutations} shuffles)"
        )
