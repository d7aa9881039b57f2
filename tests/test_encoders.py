"""Spike codes: statistics against their definitions, determinism, error handling."""

import numpy as np
import pytest
import torch

from sparse_neuro.encoders import (
    delta_code,
    first_spike_steps,
    latency_code,
    poisson_code,
    population_code,
    rate_code,
    to_events,
)


def test_rate_code_rates_match_probabilities():
    x = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    T, n = 400, 200
    s = rate_code(np.tile(x, (n, 1)), T, gain=0.5, seed=1)
    assert s.shape == (T, n, 5) and s.dtype == np.float32
    rate = s.mean(axis=(0, 1))
    p = 0.5 * x
    # binomial standard error over T*n trials: 6 sigma bound
    se = np.sqrt(p * (1 - p) / (T * n)) + 1e-12
    assert np.all(np.abs(rate - p) <= 6 * se)
    assert rate[0] == 0.0


def test_rate_code_deterministic_and_torch_roundtrip():
    x = np.random.default_rng(0).random((3, 8))
    a, b = rate_code(x, 10, seed=5), rate_code(x, 10, seed=5)
    assert np.array_equal(a, b) and not np.array_equal(a, rate_code(x, 10, seed=6))
    t = rate_code(torch.from_numpy(x), 10, seed=5)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    assert np.array_equal(t.numpy(), a)


def test_poisson_code_uses_rate_times_dt():
    s = poisson_code(np.ones((2000,)), 100, dt_s=1e-3, max_rate_hz=50.0, seed=0)
    assert s.mean() == pytest.approx(0.05, abs=6 * np.sqrt(0.05 * 0.95 / 200_000))
    with pytest.raises(ValueError, match="max_rate_hz"):
        poisson_code(np.ones(3), 10, dt_s=1e-3, max_rate_hz=2000.0)


@pytest.mark.parametrize("bad", [np.array([0.2, 1.2]), np.array([-0.1, 0.5])])
def test_rate_codes_reject_values_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rate_code(bad, 5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        latency_code(bad, 5)


@pytest.mark.parametrize("steps", [0, -3, 2.5])
def test_encoders_reject_bad_durations(steps):
    with pytest.raises(ValueError, match="n_steps"):
        rate_code(np.ones(3) * 0.5, steps)
    with pytest.raises(ValueError, match="n_steps"):
        latency_code(np.ones(3) * 0.5, steps)


def test_latency_linear_first_spike_times_and_single_spike():
    x = np.array([1.0, 0.75, 0.5, 0.0, 0.005])
    s = latency_code(x, 9, mode="linear", threshold=0.01)
    assert s.sum(0).tolist() == [1, 1, 1, 0, 0]  # exactly one spike, none below threshold
    assert np.argmax(s, 0)[:3].tolist() == [0, 2, 4]  # round((1 - x) * 8)


def test_latency_log_matches_rc_charging_time():
    x = np.array([1.0, 0.5, 0.3])
    tau, thr = 10.0, 0.2
    t = first_spike_steps(x, 100, mode="log", threshold=thr, tau_steps=tau)
    expect = np.rint(tau * np.log(x / (x - thr)))
    assert t.tolist() == expect.astype(int).tolist()
    assert np.all(np.diff(t) > 0)  # stronger input fires earlier
    s = latency_code(x, 100, mode="log", threshold=thr, tau_steps=tau)
    assert np.argmax(s, 0).tolist() == t.tolist()
    with pytest.raises(ValueError, match="mode"):
        latency_code(x, 10, mode="exp")


def test_delta_code_counts_threshold_crossings():
    t = np.linspace(0, 2 * np.pi, 2001)
    sig = np.sin(t)
    s = delta_code(sig, 0.1)
    assert s.shape == (2001, 2)
    # rising 0 -> 1, falling 1 -> -1, rising -1 -> ~0: with a fine sampling each crossing
    # of a 0.1 level is one spike
    assert s[:, 0].sum() == 10 + 9 and s[:, 1].sum() == 20
    on_only = delta_code(sig, 0.1, off_channel=False)
    assert np.array_equal(on_only, s[:, 0])
    with pytest.raises(ValueError, match="threshold"):
        delta_code(sig, 0.0)


def test_delta_code_multichannel_shape():
    sig = np.cumsum(np.random.default_rng(0).normal(size=(50, 3, 4)), axis=0)
    s = delta_code(sig, 0.5)
    assert s.shape == (50, 3, 4, 2)
    assert not np.any(s[..., 0] * s[..., 1])  # never ON and OFF in the same step


def test_population_code_tuning_curves():
    T = 4000
    s = population_code(np.array([0.5]), T, 5, sigma=0.25, max_prob=0.8, seed=3)
    assert s.shape == (T, 1, 5)
    centres = np.linspace(0, 1, 5)
    p = 0.8 * np.exp(-((0.5 - centres) ** 2) / (2 * 0.25**2))
    np.testing.assert_allclose(s.mean(0)[0], p, atol=6 * np.sqrt(0.25 / T))
    assert np.argmax(s.mean(0)[0]) == 2
    with pytest.raises(ValueError, match=r"\[low, high\]"):
        population_code(np.array([1.5]), 5, 5)
    with pytest.raises(ValueError, match="n_neurons"):
        population_code(np.array([0.5]), 5, 1)


def test_to_events_roundtrip_and_shape_errors():
    s = rate_code(np.full(6, 0.3), 20, seed=0)
    times, idx = to_events(s, 1e-3)
    back = np.zeros_like(s)
    back[np.rint(times / 1e-3).astype(int), idx] = 1
    assert np.array_equal(back, s)
    assert np.all(np.diff(times) >= 0)
    with pytest.raises(ValueError, match=r"\[T, N\]"):
        to_events(np.zeros((3, 2, 2)), 1e-3)
