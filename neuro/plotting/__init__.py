"""neuro.plotting: figures of recordings and weights (matplotlib, Agg canvas, never shown).

Every function returns a :class:`matplotlib.figure.Figure`. Other modules (receptive-field
grids, STDP windows, energy breakdowns) add their re-exports below, one line each.
"""

from neuro.plotting.raster import raster
