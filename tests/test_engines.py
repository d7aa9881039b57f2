"""Clock and exact event engines: analytic solutions, invariants and agreement."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.neuro import (
    CurrentInjection,
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
    StateMonitor,
    firing_period,
    free_trajectory,
)
from sparse_neuro.neuro.engines import ClockSimulator, simulate, simulate_exact


def _single(params: LIFParams, v0: float | None = None, monitors=None) -> Network:
    return Network(
        [Population("a", 1, params, v0)],
        monitors=monitors or [SpikeMonitor("a"), StateMonitor("a", "v", [0])],
    )


def test_subthreshold_trajectory_matches_closed_form():
    p = LIFParams(tau_mem_s=15e-3, v_rest=-0.07, v_reset=-0.07, v_threshold=-0.05, bias=0.015)
    rec = simulate(_single(p, v0=-0.065), 0.1, 1e-4)
    tr = rec.states["a.v"]
    expected = free_trajectory(tr.times_s, -0.065, p)
    rel = np.abs(tr.values[:, 0] - expected) / np.abs(expected)
    assert rel.max() < 1e-6
    assert rec.spikes["a"].n_spikes == 0


@pytest.mark.parametrize("t_ref", [0.0, 3e-3])
def test_firing_period_exact_engine_matches_closed_form(t_ref):
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=t_ref, bias=1.3)
    rec = simulate_exact(_single(p, monitors=[SpikeMonitor("a")]), 0.3)
    isi = np.diff(rec.spikes["a"].times_s)
    period = firing_period(p)
    assert isi.size > 5
    assert np.max(np.abs(isi - period) / period) < 1e-6
    # the first spike from v(0) = v_rest comes after tau ln(v_inf/(v_inf - v_th))
    first = p.tau_mem_s * np.log(1.3 / 0.3)
    assert abs(rec.spikes["a"].times_s[0] - first) / first < 1e-6


@pytest.mark.parametrize("t_ref", [0.0, 2e-3])
def test_firing_period_clock_engine_within_one_step(t_ref):
    dt = 1e-5
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=t_ref, bias=1.3)
    rec = simulate(_single(p), 0.3, dt)
    isi = np.diff(rec.spikes["a"].times_s)
    assert np.all(np.abs(isi - firing_period(p)) <= dt + 1e-12)


def test_exponential_synapse_psp_matches_closed_form():
    """One input spike: v(t) = w tau_s/(tau_s - tau_m) (e^{-s/tau_s} - e^{-s/tau_m}), s = t - t_on."""
    tau_m, tau_s, w, t0, dt = 20e-3, 5e-3, 0.3, 10e-3, 1e-4
    p = LIFParams(tau_mem_s=tau_m, v_threshold=1.0, tau_syn_s=(tau_s,))
    net = Network(
        [Population("a", 1, p)],
        [Projection("inp", "a", SparseSynapses.from_dense(np.array([[w]])))],
        [SpikeArraySource("inp", 1, [t0], [0])],
        monitors=[StateMonitor("a", "v", [0]), StateMonitor("a", "I0", [0])],
    )
    rec = simulate(net, 0.08, dt)
    t = rec.states["a.v"].times_s
    # delivered after the update of step t0/dt (Brian2's schedule), so it acts from t0 + dt
    t_on = t0 + dt
    after = t > t_on - dt / 2
    s = t[after] - t_on
    v_expected = w * tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    np.testing.assert_allclose(
        rec.states["a.v"].values[after, 0], v_expected, rtol=1e-9, atol=1e-15
    )
    np.testing.assert_allclose(
        rec.states["a.I0"].values[after, 0], w * np.exp(-s / tau_s), rtol=1e-9
    )
    assert np.all(rec.states["a.v"].values[~after, 0] == 0.0)


def test_current_injection_window():
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0)
    net = Network(
        [Population("a", 2, p)],
        currents=[CurrentInjection("a", [0.5, 0.2], 0.01, 0.03)],
        monitors=[StateMonitor("a", "v", [0, 1])],
    )
    rec = simulate(net, 0.05, 1e-4)
    tr = rec.states["a.v"]
    on = (tr.times_s > 0.01 + 1e-9) & (tr.times_s <= 0.03 + 1e-9)
    expected = 0.5 * (1 - np.exp(-(tr.times_s[on] - 0.01) / 10e-3))
    np.testing.assert_allclose(tr.values[on, 0], expected, rtol=1e-9)
    np.testing.assert_allclose(tr.values[on, 1], expected * 0.4, rtol=1e-9)
    assert np.all(tr.values[tr.times_s <= 0.01, 0] == 0)
    assert np.all(np.diff(tr.values[tr.times_s > 0.0301, 0]) < 0)  # decays after the stop


def _feedforward(rng: np.random.Generator, t_ref: float, extra_delay: int = 0) -> Network:
    """Input -> hidden -> output with delays; every arrival at a non-refractory neuron fires it
    (weights 1.5x threshold, no inhibition), so clock and exact engines take the same decisions."""
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, t_ref_s=t_ref)
    n_in, n_h, n_o = 10, 30, 20
    steps = rng.choice(2000, size=60, replace=False)
    src = SpikeArraySource("inp", n_in, steps * 1e-4, rng.integers(0, n_in, 60))
    w1 = SparseSynapses.fixed_probability(n_in, n_h, 0.2, 1.5, seed=rng, dtype=np.float64)
    w2 = SparseSynapses.fixed_probability(n_h, n_o, 0.1, 1.5, seed=rng, dtype=np.float64)
    w1 = SparseSynapses(
        w1.indptr, w1.indices, w1.weights, rng.integers(0, 20, w1.n_synapses) + extra_delay, n_h
    )
    w2 = SparseSynapses(
        w2.indptr, w2.indices, w2.weights, rng.integers(0, 20, w2.n_synapses) + extra_delay, n_o
    )
    return Network(
        [Population("h", n_h, p), Population("o", n_o, p)],
        [Projection("inp", "h", w1), Projection("h", "o", w2)],
        [src],
        monitors=[SpikeMonitor("h"), SpikeMonitor("o")],
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clock_and_exact_engines_agree(seed):
    """Brian2's schedule applies an arriving input after that step's threshold, so every
    input-driven spike of the clock engine comes one step after the continuous-time one.
    Lengthening every delay by one step removes that lag, and the refractory window seen by
    inputs then spans R + 1 steps (R = t_ref / dt; the exact engine gets (R + 1/2) dt so that
    no float tie sits on the boundary): identical spikes and times."""
    dt, r = 1e-4, 20
    clock = simulate(_feedforward(np.random.default_rng(seed), r * dt), 0.25, dt)
    exact = simulate_exact(
        _feedforward(np.random.default_rng(seed), (r + 0.5) * dt, extra_delay=1),
        0.25,
        delay_unit_s=dt,
    )
    plain = simulate_exact(
        _feedforward(np.random.default_rng(seed), (r + 0.5) * dt), 0.25, delay_unit_s=dt
    )

    def canonical(s, shift=0.0):
        order = np.lexsort((s.indices, np.round((s.times_s + shift) / dt)))
        return s.indices[order], s.times_s[order]

    for pop, hops in (("h", 1), ("o", 2)):
        c, e, q = clock.spikes[pop], exact.spikes[pop], plain.spikes[pop]
        assert c.n_spikes > 10
        ci, ct = canonical(c)
        ei, et = canonical(e)
        np.testing.assert_array_equal(ci, ei)
        np.testing.assert_allclose(ct, et, atol=1e-9)
        # without the shift: same neurons, times later by one step per hop
        qi, qt = canonical(q, shift=hops * dt)
        np.testing.assert_array_equal(ci, qi)
        np.testing.assert_allclose(ct - qt, hops * dt, atol=1e-9)


def test_refractory_inputs_discarded_both_engines():
    dt = 1e-4
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, t_ref_s=1e-3)  # 10 steps
    # inputs at steps 0, 5 (refractory: discarded), 30 (accepted); each alone fires the neuron
    src = SpikeArraySource("inp", 1, np.array([0, 5, 30]) * dt, [0, 0, 0])
    net = Network(
        [Population("a", 1, p)],
        [Projection("inp", "a", SparseSynapses.from_dense(np.array([[1.5]])))],
        [src],
        monitors=[SpikeMonitor("a")],
    )
    np.testing.assert_allclose(simulate(net, 0.01, dt).spikes["a"].times_s, [1 * dt, 31 * dt])
    np.testing.assert_allclose(simulate_exact(net, 0.01).spikes["a"].times_s, [0.0, 30 * dt])


def test_subtract_reset_keeps_overshoot():
    p = LIFParams(tau_mem_s=1e9, v_threshold=1.0, v_reset=0.0, reset_mode="subtract")
    src = SpikeArraySource("inp", 1, [0.0], [0])
    net = Network(
        [Population("a", 1, p)],
        [Projection("inp", "a", SparseSynapses.from_dense(np.array([[1.7]])))],
        [src],
        monitors=[SpikeMonitor("a"), StateMonitor("a", "v", [0])],
    )
    rec = simulate(net, 5e-4, 1e-4)
    assert rec.spikes["a"].n_spikes == 1
    assert abs(rec.states["a.v"].values[-1, 0] - 0.7) < 1e-6


def test_kwta_at_most_k_winners_largest_v_lowest_index():
    k = 3
    p = LIFParams(tau_mem_s=1e9, v_threshold=1.0)
    w = np.array([[1.1, 1.5, 1.5, 1.2, 1.05, 1.5, 0.5]])  # ties at 1.5 -> indices 1, 2, 5
    net = Network(
        [Population("a", 7, p, kwta_k=k)],
        [Projection("inp", "a", SparseSynapses.from_dense(w))],
        [SpikeArraySource("inp", 1, [0.0], [0])],
        monitors=[SpikeMonitor("a")],
    )
    rec = simulate(net, 5e-4, 1e-4)
    assert sorted(rec.spikes["a"].indices.tolist()) == [1, 2, 5]
    # Poisson-driven population: never more than k spikes in one step
    net2 = Network(
        [Population("b", 50, LIFParams(tau_mem_s=10e-3, v_threshold=1.0), kwta_k=k)],
        [Projection("inp", "b", SparseSynapses.fixed_probability(40, 50, 0.5, 0.6, seed=0))],
        [PoissonSource("inp", 40, 200.0)],
        monitors=[SpikeMonitor("b")],
    )
    s = simulate(net2, 0.2, 1e-4).spikes["b"]
    counts = np.bincount(np.round(s.times_s / 1e-4).astype(int))
    assert s.n_spikes > 100 and counts.max() <= k


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 301])
def test_kwta_sort_is_numpys_stable_argsort(n):
    """The loop's allocation-free sort gives numpy's stable (mergesort) order, ties
    included (keys drawn from a few values)."""
    from sparse_neuro.neuro.engines.primitives import stable_argsort

    rng = np.random.default_rng(n)
    key = rng.integers(0, 5, n).astype(np.float64) * rng.choice([1.0, -0.5])
    order, tmp = np.full(n + 3, -1, np.int64), np.empty(n + 3, np.int64)
    stable_argsort(key, n, order, tmp)
    np.testing.assert_array_equal(order[:n], np.argsort(key, kind="mergesort"))
    assert (order[n:] == -1).all()  # nothing written past n


def test_seed_determinism_and_resume_equivalence():
    net = Network(
        [
            Population(
                "a",
                80,
                LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=2e-3, tau_syn_s=(5e-3,)),
            )
        ],
        [
            Projection(
                "inp", "a", SparseSynapses.fixed_probability(40, 80, 0.2, 0.5, delay=3, seed=1)
            ),
            Projection(
                "a", "a", SparseSynapses.fixed_probability(80, 80, 0.1, -0.2, delay=7, seed=2)
            ),
        ],
        [PoissonSource("inp", 40, 80.0)],
        monitors=[SpikeMonitor("a")],
    )
    r1 = simulate(net, 0.2, 1e-4, seed=5)
    r2 = simulate(net, 0.2, 1e-4, seed=5)
    r3 = simulate(net, 0.2, 1e-4, seed=6)
    np.testing.assert_array_equal(r1.spikes["a"].times_s, r2.spikes["a"].times_s)
    assert r1.spikes["a"].n_spikes != r3.spikes["a"].n_spikes or not np.array_equal(
        r1.spikes["a"].times_s, r3.spikes["a"].times_s
    )
    # running in two halves (with tiny chunks) gives the same spikes as one run
    sim = ClockSimulator(net, 1e-4, seed=5, chunk_steps=137)
    a = sim.run(0.1)
    sim.chunk_steps = 1000
    b = sim.run(0.1)
    joined = np.concatenate([a.spikes["a"].times_s, b.spikes["a"].times_s])
    np.testing.assert_allclose(joined, r1.spikes["a"].times_s, atol=1e-12)


def test_float32_close_to_float64():
    net = Network(
        [Population("a", 100, LIFParams(tau_mem_s=10e-3, v_threshold=1.0, tau_syn_s=(5e-3,)))],
        [Projection("inp", "a", SparseSynapses.fixed_probability(50, 100, 0.2, 0.3, seed=1))],
        [PoissonSource("inp", 50, 50.0)],
        monitors=[SpikeMonitor("a")],
    )
    c64 = simulate(net, 0.5, 1e-4, dtype=np.float64).spikes["a"].counts()
    c32 = simulate(net, 0.5, 1e-4, dtype=np.float32).spikes["a"].counts()
    assert c64.sum() > 100
    assert np.abs(c64 - c32).sum() <= 0.02 * c64.sum()


def test_poisson_source_rate():
    net = Network(
        [Population("a", 1, LIFParams())],
        sources=[PoissonSource("inp", 200, 40.0)],
        monitors=[SpikeMonitor("inp")],
    )
    s = simulate(net, 2.0, 1e-4, seed=3).spikes["inp"]
    expected = 200 * 2.0 * 40.0
    assert abs(s.n_spikes - expected) < 4 * np.sqrt(expected)
    e = simulate_exact(net, 2.0, seed=3).spikes["inp"]
    assert abs(e.n_spikes - expected) < 4 * np.sqrt(expected)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="rate_hz \\* dt"):
        simulate(
            Network(
                [Population("a", 1, LIFParams())],
                sources=[PoissonSource("s", 1, 2e4)],
                monitors=[SpikeMonitor("s")],
            ),
            0.01,
            1e-4,
        )
    with pytest.raises(ValueError, match="delta synapses"):
        simulate_exact(Network([Population("a", 1, LIFParams(tau_syn_s=(5e-3,)))]), 0.01)
    with pytest.raises(ValueError, match="dt_s"):
        simulate(Network([Population("a", 1, LIFParams())]), 0.01, 0.0)
    with pytest.raises(ValueError, match="duration_s"):
        simulate(Network([Population("a", 1, LIFParams())]), -1.0, 1e-4)
