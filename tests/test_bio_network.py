"""Network-activity statistics of the bio scorecard on spike trains with known statistics."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.experiments.bio_network import NetworkConfig
from sparse_neuro.neuro.bio.activity import activity_statistics, pairwise_count_correlation
from sparse_neuro.neuro.model.record import SpikeTrains

T = 20.0


def _poisson(
    rates: np.ndarray, duration: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n = rng.poisson(rates * duration)
    ids = np.repeat(np.arange(rates.size), n)
    return rng.uniform(0.0, duration, ids.size), ids


def test_independent_poisson_neurons_with_log_normal_rates():
    rng = np.random.default_rng(1)
    rates = 10 ** rng.normal(0.7, 0.3, 400)  # log-normal around 5 Hz
    t, i = _poisson(rates, T, rng)
    s = activity_statistics(SpikeTrains(t, i, rates.size, T), 0.0, T, seed=0)
    assert s["mean_rate_hz"] == pytest.approx(rates.mean(), rel=0.05)
    assert abs(s["log_rate_skewness"]) < 0.3
    assert s["log_rate_sd"] == pytest.approx(0.3, rel=0.15)
    assert s["isi_cv"] == pytest.approx(1.0, abs=0.05)
    assert s["fano_factor"] == pytest.approx(1.0, abs=0.1)
    assert abs(s["pairwise_correlation"]) < 0.01
    assert s["frac_active"] == 1.0


def test_regular_trains_have_cv_and_fano_near_zero():
    n, rate = 50, 10.0
    phase = np.linspace(0, 1 / rate, n, endpoint=False)
    t = (phase[:, None] + np.arange(int(T * rate))[None, :] / rate).ravel()
    i = np.repeat(np.arange(n), int(T * rate))
    s = activity_statistics(SpikeTrains(t, i, n, T), 0.0, T)
    assert s["isi_cv"] < 1e-6
    assert s["fano_factor"] < 0.05  # Poisson: 1; a few spikes on window edges round either way
    assert s["mean_rate_hz"] == pytest.approx(rate)


def test_shared_input_gives_its_share_as_count_correlation():
    # each neuron: its own Poisson train at (1 - c) r plus one train at c r common to all;
    # the count correlation of any pair is then c
    rng = np.random.default_rng(2)
    n, r, c = 100, 20.0, 0.2
    t, i = _poisson(np.full(n, (1 - c) * r), T, rng)
    common = rng.uniform(0.0, T, rng.poisson(c * r * T))
    t = np.concatenate([t, np.tile(common, n)])
    i = np.concatenate([i, np.repeat(np.arange(n), common.size)])
    rho = pairwise_count_correlation(SpikeTrains(t, i, n, T), 0.1, 0.0, T, n, 0)
    assert rho == pytest.approx(c, abs=0.03)


def test_bad_arguments_are_named():
    s = SpikeTrains(np.array([0.1, 0.2]), np.array([0, 1]), 2, 1.0)
    with pytest.raises(ValueError, match="bin_s"):
        pairwise_count_correlation(s, 0.5, 0.0, 1.0, 2, 0)
    with pytest.raises(ValueError, match="n_neurons"):
        pairwise_count_correlation(s, 0.1, 0.0, 1.0, 1, 0)
    with pytest.raises(ValueError, match="brunel_scale"):
        NetworkConfig(brunel_scale=0.0)
    with pytest.raises(ValueError, match="duration_s"):
        NetworkConfig(duration_s=0.3)


@pytest.mark.slow
def test_network_activity_measures_every_network(tmp_path):
    import h5py

    from sparse_neuro.experiments.bio_network import NETWORKS, network_activity
    from sparse_neuro.experiments.common import RunContext

    cfg = NetworkConfig(
        cuba_neurons=500,
        duration_s=0.6,
        brunel_scale=0.05,
        brunel_duration_s=0.6,
        microcircuit_scale=0.01,
        microcircuit_duration_s=0.6,
    )
    values = network_activity(cfg, RunContext("bio-suite", tmp_path, seed=0))
    for net in NETWORKS:
        assert values[f"{net}_mean_rate_hz"] > 0
        assert 0 < values[f"{net}_frac_active"] <= 1
    with h5py.File(tmp_path / "results.h5") as f:
        rates = dict(
            zip(
                f["microcircuit_layer_rates"].attrs["populations"].split(","),
                f["microcircuit_layer_rates/rate_hz"][()],
            )
        )
        # the saved per-neuron rates average to the reported mean rate
        assert f["network_cuba/rates_hz"][()].mean() == pytest.approx(values["cuba_mean_rate_hz"])
    ratio = rates["L23E"] / np.mean([rates[p] for p in ("L4E", "L5E", "L6E")])
    assert values["microcircuit_l23e_rate_ratio"] == pytest.approx(ratio)
    assert (tmp_path / "network_activity.png").is_file()


def test_fano_factor_of_poisson_neurons_is_one_over_few_windows():
    # 10 windows of 0.1 s: the count variance divided by n would give (n - 1) / n = 0.9
    rng = np.random.default_rng(3)
    t, i = _poisson(np.full(3000, 30.0), 1.0, rng)
    s = activity_statistics(SpikeTrains(t, i, 3000, 1.0), 0.0, 1.0)
    assert s["fano_factor"] == pytest.approx(1.0, abs=0.02)
