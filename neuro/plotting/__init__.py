"""sparse_neuro.neuro.plotting: figures of recordings and weights (matplotlib, Agg canvas, never
shown).

Every function returns a :class:`matplotlib.figure.Figure`: spike rasters with population
rates, receptive-field grids and Gabor tiling, STDP windows and label assignments, energy
breakdowns and per-core heat maps.
"""

from sparse_neuro.neuro.plotting.energy_figures import core_heatmap, energy_breakdown
from sparse_neuro.neuro.plotting.fields import gabor_tiling, receptive_field_grid
from sparse_neuro.neuro.plotting.raster import raster
from sparse_neuro.neuro.plotting.stdp_figures import (
    assignment_histogram,
    pairing_frequency,
    stdp_window,
)

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
