"""Energy figures: breakdown bars by category and a per-core heat map on the mesh.

Takes plain numbers (dicts and arrays), so that :mod:`neuro` does not depend on
:mod:`hardware_models` (which produces them, e.g. ``EnergyReport.by_category``,
``EnergyReport.by_core`` and ``Mapping.core_xy``).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["energy_breakdown", "core_heatmap"]


def energy_breakdown(
    breakdowns: Mapping[str, Mapping[str, float]],
    unit: str = "uJ",
    title: str | None = None,
    figsize: tuple[float, float] = (8.0, 4.5),
    log: bool = False,
) -> Figure:
    """Stacked bars: one bar per configuration, one segment per energy category.

    Parameters
    ----------
    breakdowns : mapping of str to mapping of str to float
        ``{bar label: {category: energy}}``, e.g. ``{"loihi": report.by_category}`` or a
        Loihi bar next to a dense-baseline bar.
    unit : str
        Label of the energy axis (values are plotted as given).
    log : bool
        Logarithmic energy axis (for bars that differ by orders of magnitude); each bar's
        total is then printed above it.
    """
    if not breakdowns:
        raise ValueError("breakdowns must contain at least one bar")
    cats: list[str] = []
    for b in breakdowns.values():
        cats += [c for c in b if c not in cats]
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    labels = list(breakdowns)
    x = np.arange(len(labels))
    bottom = np.zeros(len(labels))
    cmap = matplotlib.colormaps["tab20"]
    for j, c in enumerate(cats):
        vals = np.array([float(breakdowns[lab].get(c, 0.0)) for lab in labels])
        color = cmap(j % 20)
        ax.bar(x, vals, bottom=bottom, label=c, color=color)
        bottom += vals
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=max(bottom[bottom > 0].min() / 20, 1e-12) if np.any(bottom > 0) else None)
        for xi, tot in zip(x, bottom):
            ax.text(xi, tot * 1.15, f"{tot:.3g}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylabel(f"energy ({unit})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def core_heatmap(
    values: np.ndarray,
    core_xy: np.ndarray,
    cores_per_tile: int = 4,
    label: str = "energy (uJ)",
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 4.5),
) -> Figure:
    """Per-core values on the 2-D mesh: each tile is a 2x2 block of its cores.

    Parameters
    ----------
    values : ndarray, shape (n_cores,)
    core_xy : ndarray, shape (n_cores, 2)
        Mesh (column, row) of each core's tile.
    cores_per_tile : int
        Cores per tile, drawn as a ``ceil(sqrt)`` square block per tile.
    """
    values = np.asarray(values, dtype=np.float64)
    xy = np.asarray(core_xy)
    if xy.shape != (values.size, 2):
        raise ValueError(f"core_xy must have shape ({values.size}, 2), got {xy.shape}")
    side = int(np.ceil(np.sqrt(cores_per_tile)))
    grid = np.full(((xy[:, 1].max() + 1) * side if values.size else side,
                    (xy[:, 0].max() + 1) * side if values.size else side), np.nan)
    slot = np.zeros(values.size, dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    for c in range(values.size):
        key = (int(xy[c, 0]), int(xy[c, 1]))
        slot[c] = seen.get(key, 0)
        seen[key] = slot[c] + 1
        r = key[1] * side + slot[c] // side
        col = key[0] * side + slot[c] % side
        grid[r, col] = values[c]
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(grid, origin="lower", cmap="viridis", interpolation="nearest")
    if values.size <= 64:
        for c in range(values.size):
            r = xy[c, 1] * side + slot[c] // side
            col = xy[c, 0] * side + slot[c] % side
            ax.text(col, r, str(c), ha="center", va="center", fontsize=7, color="w")
    for k in range(1, grid.shape[0] // side):
        ax.axhline(k * side - 0.5, color="w", lw=1.5)
    for k in range(1, grid.shape[1] // side):
        ax.axvline(k * side - 0.5, color="w", lw=1.5)
    ax.set_xlabel("mesh column (east-west), cores")
    ax.set_ylabel("mesh row (north-south), cores")
    fig.colorbar(im, ax=ax, label=label)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
