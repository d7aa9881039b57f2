"""Spike raster with a population-rate panel.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas directly, never
through ``pyplot``: no global figure registry, no GUI backend, nothing shown. Save with
``fig.savefig(path)`` or ``RunContext.save_figure``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sparse_neuro.neuro.model.record import Recording, SpikeTrains
from sparse_neuro.neuro.plotting.axes import plain_axis

__all__ = ["raster"]

_COLORS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def raster(
    spikes: Recording | SpikeTrains | Mapping[str, SpikeTrains],
    bin_s: float = 5e-3,
    t_start_s: float | None = None,
    t_stop_s: float | None = None,
    max_neurons: int | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (8.0, 5.0),
    marker_size: float = 2.0,
) -> Figure:
    """Spike raster (top) and population rate (bottom) of one or more populations.

    Populations are stacked vertically in the raster, each in its own colour; the rate
    panel shows each population's rate in spikes per neuron per second, in bins of
    ``bin_s`` seconds.

    Parameters
    ----------
    spikes : Recording, SpikeTrains or mapping of name to SpikeTrains
        E.g. ``recording`` (its spike monitors), ``recording.spikes`` or
        ``recording.spikes["exc"]``.
    bin_s : float
        Width of the population-rate bins in seconds, > 0.
    t_start_s, t_stop_s : float
        Time range to show (absolute); defaults to the recorded intervals
        (earliest ``t_start_s`` to latest ``t_stop_s`` of the trains).
    max_neurons : int, optional
        Show only the first ``max_neurons`` neurons of each population in the raster
        (the rate panel always uses all of them); the population labels then say how many
        of how many are shown.
    title : str, optional
    figsize : (float, float)
        Inches.
    marker_size : float
        Raster dot size in points.

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: ``fig.axes[0]`` the raster, ``fig.axes[1]`` the rate.

    Examples
    --------
    >>> from sparse_neuro.neuro.model.record import SpikeTrains
    >>> st = SpikeTrains(np.array([0.01, 0.02]), np.array([0, 1]), size=2, duration_s=0.05)
    >>> fig = raster({"exc": st}, bin_s=0.01)
    >>> len(fig.axes)
    2
    """
    if isinstance(spikes, Recording):  # raster(rec) as well as raster(rec.spikes)
        spikes = spikes.spikes
    if not isinstance(spikes, (SpikeTrains, Mapping)):
        raise TypeError(
            f"spikes must be a Recording, SpikeTrains or a mapping of name to "
            f"SpikeTrains, got {type(spikes).__name__}"
        )
    groups = {"": spikes} if isinstance(spikes, SpikeTrains) else dict(spikes)
    if not groups:
        raise ValueError("spikes must contain at least one population")
    for name, st in groups.items():
        if not isinstance(st, SpikeTrains):
            raise TypeError(f"spikes[{name!r}] must be SpikeTrains, got {type(st).__name__}")
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin_s must be finite and > 0 s, got {bin_s}")
    if t_start_s is None:
        t_start_s = min(st.t_start_s for st in groups.values())
    t1 = max(st.t_stop_s for st in groups.values()) if t_stop_s is None else float(t_stop_s)
    if not (t_start_s >= 0 and t1 > t_start_s):
        raise ValueError(f"need 0 <= t_start_s < t_stop_s, got {t_start_s} and {t1}")
    if max_neurons is not None and max_neurons < 1:
        raise ValueError(f"max_neurons must be >= 1, got {max_neurons}")

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax_r, ax_p = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    n_bins = max(1, int(math.ceil((t1 - t_start_s) / bin_s - 1e-9)))
    edges = t_start_s + bin_s * np.arange(n_bins + 1)
    offset = 0
    ticks, labels = [], []
    subsampled = []
    for k, (name, st) in enumerate(groups.items()):
        color = _COLORS[k % len(_COLORS)]
        shown = st.size if max_neurons is None else min(st.size, int(max_neurons))
        keep = (st.times_s >= t_start_s) & (st.times_s < t1)
        t, i = st.times_s[keep], st.indices[keep]
        vis = i < shown
        ax_r.scatter(
            t[vis],
            i[vis] + offset,
            s=marker_size,
            c=color,
            marker="|" if shown <= 50 else ".",
            linewidths=0.8,
            rasterized=t.size > 20000,
        )
        counts, _ = np.histogram(t, bins=edges)
        widths = np.minimum(edges[1:], t1) - edges[:-1]
        rate = counts / (st.size * widths)
        # stairs draws every bin, the last one included (step(where="post") drops it)
        ax_p.stairs(rate, edges, color=color, label=name or None, linewidth=1.2)
        ticks.append(offset + shown / 2)
        if shown < st.size:
            subsampled.append(name or "neurons")
            labels.append(f"{name}\n{shown:,} of {st.size:,}".strip())
        else:
            labels.append(name)
        offset += shown
    ax_r.set_ylim(-0.5, offset - 0.5)
    ax_r.set_ylabel("neuron" if not subsampled else "neuron (subsampled: first of each)")
    if len(groups) > 1 or subsampled:
        ax_r.set_yticks(ticks, labels)
    else:
        ax_r.yaxis.set_major_locator(MaxNLocator(integer=True))  # neuron ids are integers
    if len(groups) > 1:
        ax_p.legend(fontsize="small", loc="upper right")
    plain_axis(ax_p, "x")
    ax_p.set_xlim(t_start_s, t1)
    ax_p.set_xlabel("time (s)")
    ax_p.set_ylabel("rate (Hz)")
    if subsampled:
        note = f"raster: first {int(max_neurons):,} neurons of {', '.join(subsampled)}; rates: all"
        title = f"{title}\n{note}" if title else note
    if title:
        ax_r.set_title(title)
    return fig
