"""InputDrive: Poisson sources drawn from the counter RNG, cost and memory following spikes."""

import tracemalloc

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, Population
from sparse_neuro.neuro.engines.drive import InputDrive
from sparse_neuro.neuro.model.inputs import CurrentInjection, PoissonSource, SpikeArraySource


def _net(n_poisson: int = 40) -> Network:
    return Network(
        [Population("a", 5, LIFParams())],
        sources=[
            PoissonSource("s", n_poisson, 100.0),
            SpikeArraySource("x", 3, [0.0, 0.0105, 0.02], [2, 0, 1]),
            PoissonSource("t", 20, np.linspace(0.0, 500.0, 20)),
        ],
        currents=[CurrentInjection("a", 0.5, 0.01, 0.02)],
    )


def _collect(drive: InputDrive, n_end: int, chunk: int, rates_at: dict | None = None):
    """(step, id) of every spike of steps [drive.step, n_end), asking in blocks of ``chunk``
    and applying ``rates_at[step] = (source, rate)`` when that step is reached."""
    steps, ids = [], []
    n = drive.step
    rates_at = rates_at or {}
    while n < n_end:
        if n in rates_at:
            drive.set_rates(*rates_at[n])
        stop = min([n + chunk, n_end] + [k for k in rates_at if k > n])
        ptr, i = drive.spikes(n, stop)
        m = ptr.size - 1
        assert 1 <= m <= stop - n
        for j in range(m):  # ascending within each step
            assert np.all(np.diff(i[ptr[j] : ptr[j + 1]]) > 0)
        steps.append(np.repeat(np.arange(n, n + m), np.diff(ptr)))
        ids.append(i)
        n += m
    return np.concatenate(steps), np.concatenate(ids)


def test_spikes_do_not_depend_on_blocks_splits_or_memory_cap():
    net, dt = _net(), 1e-3
    ref = _collect(InputDrive(net, dt, seed=3), 3000, 3000)
    assert ref[1].size > 10_000
    d = InputDrive(net, dt, seed=3)
    split = [_collect(d, n, 777) for n in (1000, 2000, 3000)]  # three calls, odd blocks
    capped = _collect(InputDrive(net, dt, seed=3, max_block_spikes=7), 3000, 3000)
    for s, i in (tuple(np.concatenate(x) for x in zip(*split)), capped):
        np.testing.assert_array_equal(s, ref[0])
        np.testing.assert_array_equal(i, ref[1])
    other = _collect(InputDrive(net, dt, seed=4), 3000, 3000)
    assert not np.array_equal(other[1], ref[1])


def test_rates_spike_arrays_and_global_ids():
    net, dt, T = _net(), 1e-3, 5.0
    steps, ids = _collect(InputDrive(net, dt, seed=0), int(T / dt), 10_000)
    lo = net.id_range("t").start
    rate_t = np.bincount(ids[ids >= lo] - lo, minlength=20) / T
    expect = np.linspace(0.0, 500.0, 20)
    # Bernoulli per step: count ~ Binomial(T/dt, r dt); 5 standard deviations
    sd = np.sqrt(T / dt * expect * dt * (1 - expect * dt)) / T
    assert np.all(np.abs(rate_t - expect) <= 5 * sd + 1e-12)
    s_range = net.id_range("s")
    in_s = (ids >= s_range.start) & (ids < s_range.stop)
    assert abs(in_s.sum() / (40 * T) - 100.0) < 5 * np.sqrt(100.0 * 0.9 / (40 * T))
    x = net.id_range("x").start
    fixed = ids >= x
    fixed &= ids < x + 3
    assert list(zip(steps[fixed], ids[fixed] - x)) == [(0, 2), (10, 0), (20, 1)]
    assert np.all(ids >= net.n_neurons)


def test_set_rates_is_deterministic_and_memoryless():
    net, dt = _net(), 1e-3
    change = {1200: ("s", 0.0), 2100: ("s", 400.0)}
    a = _collect(InputDrive(net, dt, seed=1), 3000, 3000, change)
    b = _collect(InputDrive(net, dt, seed=1), 3000, 500, change)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    s = net.id_range("s")
    in_s = (a[1] >= s.start) & (a[1] < s.stop)
    assert not np.any(in_s & (a[0] >= 1200) & (a[0] < 2100))
    late = in_s & (a[0] >= 2100)
    assert abs(late.sum() / (40 * 0.9) - 400.0) < 5 * np.sqrt(400.0 * 0.6 / (40 * 0.9))
    with pytest.raises(ValueError, match="PoissonSource"):
        InputDrive(net, dt).set_rates("x", 1.0)
    with pytest.raises(ValueError, match="rate_hz \\* dt"):
        InputDrive(net, dt).set_rates("s", 2000.0)


def test_state_dict_resumes_and_reset_repeats():
    net, dt = _net(), 1e-3
    ref = _collect(InputDrive(net, dt, seed=2), 2000, 2000)
    d = InputDrive(net, dt, seed=2)
    first = _collect(d, 1000, 1000)
    saved = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.state_dict().items()}
    d2 = InputDrive(net, dt, seed=2)
    d2.load_state_dict(saved)
    second = _collect(d2, 2000, 1000)
    np.testing.assert_array_equal(np.concatenate([first[1], second[1]]), ref[1])
    d.reset()
    again = _collect(d, 2000, 2000)
    np.testing.assert_array_equal(again[1], ref[1])
    with pytest.raises(ValueError, match="continue at step"):
        d.spikes(5, 10)


def test_current_events_and_validation():
    net, dt = _net(), 1e-3
    d = InputDrive(net, dt)
    ptr, ids, delta = d.current_events(0, 30)
    on = np.repeat(np.arange(30), np.diff(ptr))
    np.testing.assert_array_equal(np.unique(on), [10, 20])
    np.testing.assert_allclose(delta[on == 10], 0.5)
    np.testing.assert_allclose(delta[on == 20], -0.5)
    with pytest.raises(ValueError, match="dt_s"):
        InputDrive(net, 0.0)
    with pytest.raises(ValueError, match="seed"):
        InputDrive(net, dt, seed=-1)
    with pytest.raises(ValueError, match="rate_hz \\* dt"):
        InputDrive(Network([Population("a", 1)], sources=[PoissonSource("s", 1, 2e4)]), dt)
    with pytest.raises(ValueError, match="more than once"):
        InputDrive(
            Network([Population("a", 1)], sources=[SpikeArraySource("x", 1, [0.0, 1e-4], [0, 0])]),
            dt,
        )


def test_one_million_sources_memory_bounded_by_spikes():
    """1,000,000 sources at 100 Hz, dt 0.1 ms, 10,000-step blocks: ~10,000 spikes per step, a
    dense (steps x sources) draw would be 80 GB; the drive adds < 100 MB (tracemalloc sees
    every numpy buffer; the kernels allocate nothing)."""
    net = Network([Population("a", 1)], sources=[PoissonSource("s", 1_000_000, 100.0)])
    InputDrive(Network([Population("a", 1)], sources=[PoissonSource("s", 2, 1.0)]), 1e-4)  # compile
    tracemalloc.start()
    try:
        d = InputDrive(net, 1e-4, seed=0)
        n_spikes, n = 0, 0
        while n < 300:
            ptr, ids = d.spikes(n, n + 10_000)
            n += ptr.size - 1
            n_spikes += ids.size
            del ptr, ids
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100e6, f"peak {peak / 1e6:.1f} MB"
    assert abs(n_spikes / (1e6 * n * 1e-4) - 100.0) < 1.0  # ~3e6 spikes: rate within 1 %


def test_certain_and_silent_channels():
    """p = rate * dt = 1 spikes in every step; rate 0 never."""
    net = Network([Population("a", 1)], sources=[PoissonSource("s", 3, [1000.0, 0.0, 1000.0])])
    steps, ids = _collect(InputDrive(net, 1e-3, seed=0), 50, 7)
    np.testing.assert_array_equal(np.bincount(ids - 1, minlength=3), [50, 0, 50])
    np.testing.assert_array_equal(steps, np.repeat(np.arange(50), 2))
