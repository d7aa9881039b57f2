"""Axis formatting shared by the figures: plain numbers a reader can take in at a glance.

Matplotlib's defaults write long time axes with an offset (``+1.2e1`` in a corner) and log
axes with ``2x10^-1`` labels on minor ticks that overlap; both are what a reviewer flags.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, ScalarFormatter

__all__ = ["plain_axis", "plain_log_axis"]


def plain_axis(ax: Axes, which: str = "x") -> None:
    """Linear axis ``which`` (``"x"`` or ``"y"``) without offset or scientific notation."""
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    (ax.xaxis if which == "x" else ax.yaxis).set_major_formatter(fmt)


def plain_log_axis(ax: Axes, which: str = "x", percent: bool = False) -> None:
    """Log axis ``which`` labelled at 1, 2 and 5 times powers of ten (a few evenly spaced
    ticks if the range spans less than a factor 3), as plain numbers (``percent``: as
    percentages of 1), minor ticks unlabelled, so labels never overlap. Call it after
    plotting (it reads the axis range)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    axis.set_minor_formatter(NullFormatter())
    if lo > 0 and hi / lo < 3:  # too narrow for 1-2-5 ticks: a few evenly spaced ones
        axis.set_major_locator(MaxNLocator(nbins=4))
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))

    def label(v: float, _pos: object) -> str:
        x = 100 * v if percent else v
        text = f"{x:,.0f}" if x >= 1000 else f"{x:.4g}"  # 20,000 rather than 2e+04
        return text + "%" if percent else text

    axis.set_major_formatter(FuncFormatter(label))
