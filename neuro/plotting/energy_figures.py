"""Energy figures: breakdown bars by category and a per-core heat map on the mesh.

Takes plain numbers (dicts and arrays), so that :mod:`sparse_neuro.neuro` does not depend on
:mod:`sparse_neuro.hardware_models` (which produces them, e.g. ``EnergyReport.by_category``,
``EnergyReport.by_core`` and ``Mapping.core_xy``).
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sparse_neuro.neuro.plotting.axes import plain_log_axis

__all__ = ["energy_breakdown", "core_heatmap"]


def energy_breakdown(
    breakdowns: Mapping[str, Mapping[str, float]],
    unit: str = "uJ",
    title: str | None = None,
    figsize: tuple[float, float] = (8.0, 4.5),
    log: bool = False,
) -> Figure:
    """Energy per configuration by category.

    Linear axis: stacked bars, one per configuration, one segment per category. With
    ``log=True`` (bars that differ by orders of magnitude) segments are not stacked, since
    stacked lengths on a log axis misrepresent the parts: the left panel shows each bar's
    total on the log axis (printed above it), the right panel each bar's composition as
    percentages of its total, stacked on a linear axis.

    Parameters
    ----------
    breakdowns : mapping of str to mapping of str to float
        ``{bar label: {category: energy}}``, e.g. ``{"loihi": report.by_category}`` or a
        Loihi bar next to a dense-baseline bar.
    unit : str
        Label of the energy axis (values are plotted as given).
    log : bool
        Totals on a logarithmic axis beside a percentage composition (see above).
    """
    if not breakdowns:
        raise ValueError("breakdowns must contain at least one bar")
    cats: list[str] = []
    for b in breakdowns.values():
        cats += [c for c in b if c not in cats]
    labels = list(breakdowns)
    x = np.arange(len(labels))
    vals = np.array([[float(breakdowns[lab].get(c, 0.0)) for lab in labels] for c in cats])
    totals = vals.sum(axis=0)
    colors = [matplotlib.colormaps["tab20"](j % 20) for j in range(len(cats))]
    fig = Figure(figsize=(figsize[0] * 1.5, figsize[1]) if log else figsize)
    FigureCanvasAgg(fig)
    if log:
        ax_t, ax = fig.subplots(1, 2)
        ax_t.bar(x, totals, color="0.45")
        ax_t.set_yscale("log")
        positive = totals[totals > 0]
        if positive.size:
            ax_t.set_ylim(positive.min() / 20, positive.max() * 5)
        for xi, tot in zip(x, totals):
            ax_t.text(xi, tot * 1.15, f"{tot:.3g}", ha="center", va="bottom", fontsize=8)
        ax_t.set_xticks(x, labels, rotation=30, ha="right")
        ax_t.set_ylabel(f"total energy ({unit}, log scale)")
        plain_log_axis(ax_t, "y")
        shares = 100 * vals / np.where(totals > 0, totals, 1.0)
        ylabel = "share of the bar's total (%)"
    else:
        ax = fig.add_subplot(1, 1, 1)
        shares = vals
        ylabel = f"energy ({unit})"
    bottom = np.zeros(len(labels))
    for j, c in enumerate(cats):
        ax.bar(x, shares[j], bottom=bottom, label=c, color=colors[j])
        bottom += shares[j]
    ax.set_xticks(x, labels, rotation=30 if log else 0, ha="right" if log else "center")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        (fig.suptitle if log else ax.set_title)(title)
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
    grid = np.full(
        (
            (xy[:, 1].max() + 1) * side if values.size else side,
            (xy[:, 0].max() + 1) * side if values.size else side,
        ),
        np.nan,
    )
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
    # colour scale from zero: a core's share of the energy is read against nothing spent
    top = float(np.nanmax(grid)) if np.any(np.isfinite(grid)) and np.nanmax(grid) > 0 else 1.0
    im = ax.imshow(
        grid, origin="lower", cmap="viridis", interpolation="nearest", vmin=0.0, vmax=top
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
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
