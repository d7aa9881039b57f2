"""neuro.plotting: figures of recordings and weights (matplotlib, Agg canvas, never shown).

Every function returns a :class:`matplotlib.figure.Figure`. Other modules (receptive-field
grids, STDP windows, energy breakdowns) add their re-exports below, one line each.
"""

from neuro.plotting.raster import raster
from neuro.plotting.fields import gabor_tiling, receptive_field_grid  # noqa: F401
from neuro.plotting.energy import core_heatmap, energy_breakdown  # noqa: F401
from neuro.plotting.stdp import assignment_histogram, pairing_frequency, stdp_window  # noqa: F401
