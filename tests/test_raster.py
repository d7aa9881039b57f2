"""Raster figure: content of both panels, Agg only, no pyplot state."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sparse_neuro.neuro.model.record import SpikeTrains
from sparse_neuro.neuro.plotting import raster


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
    rate_exc = ax_p.patches[0].get_data().values
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
    assert fig.axes[1].patches[0].get_data().values.size == 8


def test_raster_defaults_to_the_recorded_interval():
    """A continued run (t_start 0.5 s) is drawn over [0.5, 1.0), not [0, 0.5)."""
    st = SpikeTrains([0.55, 0.65, 0.75, 0.85, 0.95], [0] * 5, size=1, duration_s=0.5, t_start_s=0.5)
    fig = raster(st, bin_s=0.1)
    assert fig.axes[1].get_xlim() == (0.5, 1.0)
    np.testing.assert_allclose(fig.axes[1].patches[0].get_data().values, [10.0] * 5)


def test_raster_bad_arguments():
    exc, _ = _trains()
    with pytest.raises(ValueError, match="bin_s"):
        raster(exc, bin_s=0)
    with pytest.raises(ValueError, match="at least one"):
        raster({})
    with pytest.raises(TypeError, match="SpikeTrains"):
        raster({"x": np.zeros(3)})


def test_raster_time_axis_plain_last_bin_drawn_and_subsampling_said():
    """Reviewer rules: no offset notation on the time axis (a run continued at 1000 s), the
    last rate bin is drawn, and a subsampled raster says what it shows."""
    exc = SpikeTrains(
        1000.0 + np.array([0.01, 0.25, 0.29]), [0, 5, 1], size=20, duration_s=0.3, t_start_s=1000.0
    )
    fig = raster({"exc": exc}, bin_s=0.1, max_neurons=4, title="t")
    ax_r, ax_p = fig.axes
    fig.canvas.draw()
    assert ax_p.xaxis.get_offset_text().get_text() == ""
    assert all("e" not in t.get_text() for t in ax_p.get_xticklabels())
    stairs = ax_p.patches[0]  # one StepPatch per population, all bins incl. the last
    np.testing.assert_allclose(stairs.get_data().values, [1 / (20 * 0.1), 0, 2 / (20 * 0.1)])
    np.testing.assert_allclose(stairs.get_data().edges[-1], 1000.3)
    assert "4 of 20" in ax_r.get_yticklabels()[0].get_text()
    assert "first 4 neurons of exc" in ax_r.get_title()
    full = raster({"exc": exc}, bin_s=0.1)
    assert "first" not in full.axes[0].get_title() and full.axes[0].get_ylabel() == "neuron"


@pytest.mark.parametrize("lo, hi", [(0.02, 0.8), (3e-4, 5e4), (34.3, 34.6)])
def test_plain_log_axis_labels_are_plain_and_distinct(lo, hi):
    from matplotlib.figure import Figure

    from sparse_neuro.neuro.plotting.axes import plain_log_axis

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.loglog([lo, hi], [1, 2])
    plain_log_axis(ax, "x", percent=hi < 1)
    fig.canvas.draw()
    shown = [
        t.get_text()
        for t in ax.get_xticklabels()
        if t.get_text() and lo <= t.get_position()[0] <= hi
    ]
    assert len(shown) >= 2 and len(set(shown)) == len(shown)  # distinct: no overlaps of equals
    assert not any("e" in s or "times" in s or "^" in s for s in shown)
