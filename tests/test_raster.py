"""Raster figure: content of both panels, Agg only, no pyplot state."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from neuro.plotting import raster
from neuro.record import SpikeTrains


def _trains():
    rng = np.random.default_rng(0)
    exc = SpikeTrains(rng.uniform(0, 1, 400), rng.integers(0, 40, 400), 40, 1.0)
    inh = SpikeTrains(rng.uniform(0, 1, 100), rng.integers(0, 10, 100), 10, 1.0)
    return exc, inh


def test_raster_panels_hold_the_data(tmp_path):
    exc, inh = _trains()
    fig = raster({"exc": exc, "inh": inh}, bin_s=0.1, title="t")
    ax_r, ax_p = fig.axes
    offs = [c.get_offsets() for c in ax_r.collections]
    assert [o.shape[0] for o in offs] == [400, 100]
    np.testing.assert_allclose(np.sort(offs[1][:, 1]), np.sort(inh.indices + 40))  # stacked
    rate_exc = ax_p.lines[0].get_ydata()
    counts = np.histogram(exc.times_s, bins=np.linspace(0, 1, 11))[0]
    np.testing.assert_allclose(rate_exc, counts / (40 * 0.1))
    assert ax_p.get_xlabel() == "time (s)"
    fig.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert isinstance(fig.canvas, FigureCanvasAgg)
    if "matplotlib.pyplot" in sys.modules:  # never registered with pyplot
        assert not sys.modules["matplotlib.pyplot"].get_fignums()


def test_raster_window_and_max_neurons():
    exc, _ = _trains()
    fig = raster(exc, bin_s=0.05, t_start_s=0.2, t_stop_s=0.6, max_neurons=10)
    pts = fig.axes[0].collections[0].get_offsets()
    sel = (exc.times_s >= 0.2) & (exc.times_s < 0.6)
    assert pts.shape[0] == int(np.sum(sel & (exc.indices < 10)))
    assert fig.axes[1].get_xlim() == (0.2, 0.6)
    assert fig.axes[1].lines[0].get_ydata().size == 8


def test_raster_defaults_to_the_recorded_interval():
    """A continued run (t_start 0.5 s) is drawn over [0.5, 1.0), not [0, 0.5)."""
    st = SpikeTrains([0.55, 0.65, 0.75, 0.85, 0.95], [0] * 5, size=1, duration_s=0.5, t_start_s=0.5)
    fig = raster(st, bin_s=0.1)
    assert fig.axes[1].get_xlim() == (0.5, 1.0)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [10.0] * 5)


def test_raster_bad_arguments():
    exc, _ = _trains()
    with pytest.raises(ValueError, match="bin_s"):
        raster(exc, bin_s=0)
    with pytest.raises(ValueError, match="at least one"):
        raster({})
    with pytest.raises(TypeError, match="SpikeTrains"):
        raster({"x": np.zeros(3)})
