"""Receptive-field grids and Gabor tiling plots (sparse coding, STDP-learned weights).

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["gabor_tiling", "receptive_field_grid"]


def receptive_field_grid(
    fields: np.ndarray,
    shape: tuple[int, int] | None = None,
    ncols: int | None = None,
    title: str | None = None,
    tile_inches: float = 0.45,
) -> Figure:
    """Grid of receptive fields, each tile scaled symmetrically around zero (grey = 0).

    Parameters
    ----------
    fields : ndarray, shape (n, rows, cols) or (n_features, n_atoms)
        A stack of 2-D fields, or a dictionary with atoms in columns.
    shape : (rows, cols), optional
        Field shape for the dictionary layout (square assumed if omitted).
    ncols : int, optional
        Tiles per row (default: about ``sqrt(n)``).
    title : str, optional
    tile_inches : float
        Size of a tile in inches.
    """
    F = np.asarray(fields, dtype=np.float64)
    if F.ndim == 2:
        if shape is None:
            side = round(math.sqrt(F.shape[0]))
            if side * side != F.shape[0]:
                raise ValueError(f"give shape= for non-square fields of {F.shape[0]} features")
            shape = (side, side)
        F = F.T.reshape(-1, *shape)
    if F.ndim != 3 or F.shape[0] < 1:
        raise ValueError(f"fields must be (n, rows, cols) or (n_features, n_atoms), got {F.shape}")
    n, h, w = F.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    pad = 1
    canvas = np.zeros((nrows * (h + pad) + pad, ncols * (w + pad) + pad))
    for k in range(n):
        r, c = divmod(k, ncols)
        m = np.abs(F[k]).max()
        tile = F[k] / m if m > 0 else F[k]
        canvas[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + c * (w + pad) : pad + c * (w + pad) + w,
        ] = tile
    fig = Figure(
        figsize=(
            max(2.0, ncols * tile_inches),
            max(2.0, nrows * tile_inches + (0.4 if title else 0)),
        )
    )
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0.01, 0.01, 0.98, 0.9 if title else 0.98])
    ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def gabor_tiling(
    fits: list, shape: tuple[int, int], r2_min: float = 0.8, title: str | None = None
) -> Figure:
    """Tiling of the well-fit Gabors: position/orientation, orientation and frequency
    histograms, and the ``(nx, ny) = (sigma_x f, sigma_y f)`` shape plot.

    Parameters
    ----------
    fits : list of :class:`sparse_neuro.neuro.analysis.gabor.GaborFit`
    shape : (rows, cols)
        Patch shape (for the position panel).
    r2_min : float
        Fits with ``r2 > r2_min`` are shown.
    title : str, optional
    """
    good = [g for g in fits if g.r2 > r2_min]
    fig = Figure(figsize=(13, 3.4))
    FigureCanvasAgg(fig)
    axs = fig.subplots(1, 4)
    ax = axs[0]
    for g in good:
        # bars run perpendicular to the wave vector; segment length ~ envelope along bars
        L = min(g.sigma_y, max(shape))
        dx, dy = -math.sin(g.theta) * L, math.cos(g.theta) * L
        ax.plot(
            [g.x0 - dx, g.x0 + dx], [g.y0 - dy, g.y0 + dy], "-", lw=1.0, color="tab:blue", alpha=0.7
        )
    ax.set_xlim(-0.5, shape[1] - 0.5)
    ax.set_ylim(shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_title("position and bar orientation")
    th = np.degrees([g.theta for g in good]) if good else np.zeros(0)
    axs[1].hist(th, bins=np.linspace(0, 180, 13), color="tab:blue")
    axs[1].set_xlabel("wave-vector orientation (deg)")
    axs[1].set_title(f"orientation (n={len(good)})")
    fr = [
        g.peak_freq for g in good
    ]  # the carrier f of odd fields can tend to 0 (see GaborFit.peak_freq)
    axs[2].hist(fr, bins=np.linspace(0, 0.5, 11), color="tab:green")
    axs[2].set_xlabel("peak spatial frequency (cycles/pixel)")
    axs[2].set_title("frequency")
    nx = [g.sigma_x * g.freq for g in good]
    ny = [g.sigma_y * g.freq for g in good]
    axs[3].plot(nx, ny, ".", color="tab:red")
    axs[3].plot([0, 1.5], [0, 1.5], ":", color="grey")
    axs[3].set_xlim(0, 1.5)
    axs[3].set_ylim(0, 1.5)
    axs[3].set_xlabel("nx = sigma_x f")
    axs[3].set_ylabel("ny = sigma_y f")
    axs[3].set_title("shape (cf. Ringach 2002)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
