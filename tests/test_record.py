"""SpikeTrains start times: continued runs give correct rates and analysis windows."""

import numpy as np
import pytest

from sparse_neuro.neuro.analysis import fano_factor, firing_rates, isi_cv, mean_rate
from sparse_neuro.neuro.model.record import Recording, SpikeTrains, run_meta


def test_continued_run_rates_use_the_start_time():
    """Regression: a run continued from 0.5 s used to give [0, 0, 0, 0, 50] Hz."""
    st = SpikeTrains([0.55, 0.65, 0.75, 0.85, 0.95], [0] * 5, size=1, duration_s=0.5, t_start_s=0.5)
    centres, rate = st.rate_hz(0.1)
    np.testing.assert_allclose(rate, [10.0] * 5)
    np.testing.assert_allclose(centres, [0.55, 0.65, 0.75, 0.85, 0.95])
    assert st.t_stop_s == pytest.approx(1.0)


def test_analysis_windows_default_to_the_recorded_interval():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(2.0, 3.0, 400))
    idx = rng.integers(0, 4, 400)
    st = SpikeTrains(times, idx, size=4, duration_s=1.0, t_start_s=2.0)
    np.testing.assert_allclose(firing_rates(st), np.bincount(idx, minlength=4) / 1.0)
    assert mean_rate(st) == pytest.approx(100.0)
    np.testing.assert_allclose(
        firing_rates(st, 2.0, 2.5), np.bincount(idx[times < 2.5], minlength=4) / 0.5
    )
    assert np.all(np.isfinite(isi_cv(st)))
    fano = fano_factor(st, 0.1)
    assert fano.shape == (4,) and np.all(np.isfinite(fano))
    # the same trains from t = 0 give the same statistics, shifted
    st0 = SpikeTrains(times - 2.0, idx, size=4, duration_s=1.0)
    np.testing.assert_allclose(fano_factor(st0, 0.1), fano)
    np.testing.assert_allclose(st0.rate_hz(0.25)[1], st.rate_hz(0.25)[1])


def test_spike_trains_validate_times():
    with pytest.raises(ValueError, match="t_start_s"):
        SpikeTrains([], [], size=1, duration_s=1.0, t_start_s=-1.0)
    with pytest.raises(ValueError, match="duration_s"):
        SpikeTrains([], [], size=1, duration_s=float("nan"))


def test_recording_start_time_comes_from_meta():
    rec = Recording({}, {}, {}, 1e-3, 0.2, run_meta("clock", 0.1, 0.4, 200))
    assert rec.t_start_s == pytest.approx(0.4)
    assert rec.meta == {"engine": "clock", "wall_s": 0.1, "t_start_s": 0.4, "n_steps": 200}
