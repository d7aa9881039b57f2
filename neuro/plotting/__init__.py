"""neuro.plotting: figures of recordings and weights (matplotlib, Agg canvas, never shown).

Every function returns a :class:`matplotlib.figure.Figure`: spike rasters with population
rates, receptive-field grids and Gabor tiling, STDP windows and label assignments, energy
breakdowns and per-core heat maps.
"""

from neuro.plotting.energy import core_heatmap, energy_breakdown
from neuro.plotting.fields import gabor_tiling, receptive_field_grid
from neuro.plotting.raster import raster
from neuro.plotting.stdp import assignment_histogram, pairing_frequency, stdp_window

__all__ = [
    "assignment_histogram",
    "core_heatmap",
    "energy_breakdown",
    "gabor_tiling",
    "pairing_frequency",
    "raster",
    "receptive_field_grid",
    "stdp_window",
]
