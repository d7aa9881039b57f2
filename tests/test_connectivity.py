"""Connectivity and delay builders against the distributions they promise."""

import numpy as np
import pytest
from scipy import stats

from sparse_neuro.neuro.model.connectivity import (
    fixed_indegree,
    fixed_total_number,
    normal_delays_steps,
    normal_weights,
)


def test_fixed_total_number_counts_marginals_and_multapses():
    n_pre, n_post, n = 50, 40, 20000
    syn = fixed_total_number(
        n_pre, n_post, n, weight=np.arange(n, dtype=np.float64), seed=0, dtype=np.float64
    )
    assert syn.n_synapses == n
    pre, post = syn.pre_indices(), syn.indices
    # uniform marginals (chi-square goodness of fit)
    assert stats.chisquare(np.bincount(pre, minlength=n_pre)).pvalue > 1e-3
    assert stats.chisquare(np.bincount(post, minlength=n_post)).pvalue > 1e-3
    # pair multiplicities are Binomial(n, 1/(n_pre n_post)) ~ Poisson(10): multapses present
    mult = np.bincount(pre.astype(np.int64) * n_post + post, minlength=n_pre * n_post)
    assert mult.mean() == pytest.approx(n / (n_pre * n_post))
    assert mult.var() == pytest.approx(n / (n_pre * n_post), rel=0.1)
    # every per-synapse weight is kept exactly once
    np.testing.assert_array_equal(np.sort(syn.weights), np.arange(n))


def test_fixed_indegree_exact_and_distinct():
    syn = fixed_indegree(100, 30, 25, seed=1)
    np.testing.assert_array_equal(syn.fan_in(), 25)
    distinct = fixed_indegree(100, 30, 25, multapses=False, seed=1)
    np.testing.assert_array_equal(distinct.fan_in(), 25)
    pairs = distinct.pre_indices().astype(np.int64) * 30 + distinct.indices
    assert np.unique(pairs).size == pairs.size
    with pytest.raises(ValueError, match="multapses=True"):
        fixed_indegree(100, 30, 25, weight=np.ones(750), multapses=False)


def test_delays_truncated_normal_in_seconds():
    dt, mean, sd = 1e-4, 1.5e-3, 0.75e-3
    d = normal_delays_steps(200000, mean, sd, dt, seed=2)
    assert d.min() == 1  # NEST's minimum delay: one step
    # redraw = normal truncated at dt: mean from scipy's truncnorm (rounding adds ~0)
    ref = stats.truncnorm((dt - mean) / sd, np.inf, loc=mean, scale=sd)
    assert d.mean() * dt == pytest.approx(ref.mean(), rel=0.005)
    assert d.std() * dt == pytest.approx(ref.std(), rel=0.01)
    clipped = normal_delays_steps(200000, mean, sd, dt, mode="clip", seed=2)
    # clipped to dt, plus the draws in [dt, 1.5 dt) that round to one step
    assert np.mean(clipped == 1) == pytest.approx(stats.norm.cdf(1.5 * dt, mean, sd), abs=0.003)
    np.testing.assert_array_equal(normal_delays_steps(5, 1.5e-3, 0.0, 1e-4), 15)
    with pytest.raises(ValueError, match="dt_s"):
        normal_delays_steps(5, 1.5e-3, 0.1e-3, 0.0)


def test_normal_weights_keep_sign():
    w = normal_weights(100000, -2.0, 2.0, seed=3)
    assert np.all(w <= 0)
    ref = stats.truncnorm(-1.0, np.inf, loc=2.0, scale=2.0)
    assert -w.mean() == pytest.approx(ref.mean(), rel=0.01)
    with pytest.raises(ValueError, match="mean"):
        normal_weights(3, 0.0, 1.0)


def test_fixed_total_number_rows_sorted_and_uniform_pairs():
    n_pre, n_post, n = 30, 20, 60000
    syn = fixed_total_number(n_pre, n_post, n, seed=4)
    pre, post = syn.pre_indices().astype(np.int64), syn.indices
    # ascending targets within every row (the clock engine bisects rows between threads)
    assert np.all((np.diff(post) >= 0) | (np.diff(pre) > 0))
    # every (pre, post) pair equally likely: chi-square over the joint counts
    joint = np.bincount(pre * n_post + post, minlength=n_pre * n_post)
    assert stats.chisquare(joint).pvalue > 1e-3
    # pre and post independent: contingency test
    assert stats.chi2_contingency(joint.reshape(n_pre, n_post)).pvalue > 1e-3


def test_arena_projections_share_memory_with_the_plan():
    from sparse_neuro.neuro import LIFParams, Network, Population, Projection
    from sparse_neuro.neuro.engines.plan import build_plan
    from sparse_neuro.neuro.model.connectivity import SynapseArena, concatenate_views

    sizes, counts = (40, 30), ((500, 300), (200, 0))
    arena = SynapseArena(sum(map(sum, counts)), np.float32)
    projs = []
    for s in range(2):
        for t in range(2):
            if counts[s][t]:
                w = normal_weights(
                    counts[s][t], 1.0 if s == 0 else -1.0, 0.1, seed=s, dtype=np.float32
                )
                d = normal_delays_steps(counts[s][t], 1e-3, 5e-4, 1e-4, seed=t)
                syn = fixed_total_number(
                    sizes[s], sizes[t], counts[s][t], w, d, seed=s + t, arena=arena
                )
                np.testing.assert_array_equal(syn.weights, w)  # kept as drawn, in the arena
                projs.append(Projection(f"p{s}", f"p{t}", syn, receptor=s))
    p = LIFParams(tau_syn_s=(5e-3, 5e-3))
    net = Network([Population("p0", 40, p), Population("p1", 30, p)], projs)
    plan = build_plan(net, 1e-4, np.float32)
    arrays = {
        "indices": plan.routing.indices,
        "weights": plan.weights,
        "delays": plan.routing.delays,
    }
    # the plan's synapse arrays are the arena's (no second copy); the same values as a copy
    for name in ("indices", "weights", "delays"):
        got = arrays[name]
        assert np.shares_memory(got, getattr(arena, name)), name
        np.testing.assert_array_equal(
            got, np.concatenate([getattr(pr.synapses, name) for pr in projs])
        )
    assert plan.routing.delays.dtype == np.uint8
    # float64 plan: a converted copy; arrays that are not consecutive views: a copy
    assert not np.shares_memory(build_plan(net, 1e-4, np.float64).weights, arena.weights)
    a, b = arena.weights[:10], arena.weights[20:30]
    joined = concatenate_views([a, b], np.float32)
    assert not np.shares_memory(joined, arena.weights)
    np.testing.assert_array_equal(joined, np.concatenate([a, b]))
    with pytest.raises(ValueError, match="arena full"):
        arena.take(1)
    with pytest.raises(ValueError, match="delay must be in"):
        fixed_total_number(3, 3, 2, 1.0, np.array([1, 300]), arena=SynapseArena(2))


def test_large_draws_are_chunked_without_changing_the_distribution(monkeypatch):
    import sparse_neuro.neuro.model.connectivity as conn

    monkeypatch.setattr(conn, "CHUNK", 1000)  # many chunks on a small draw
    syn = fixed_total_number(50, 40, 20000, seed=5)
    assert syn.n_synapses == 20000
    assert stats.chisquare(np.bincount(syn.indices, minlength=40)).pvalue > 1e-3
    assert np.all((np.diff(syn.indices) >= 0) | (np.diff(syn.pre_indices()) > 0))
    d = normal_delays_steps(20000, 1.5e-3, 0.75e-3, 1e-4, seed=6)
    assert d.dtype == np.uint8 and d.min() >= 1
    ref = stats.truncnorm((1e-4 - 1.5e-3) / 0.75e-3, np.inf, loc=1.5e-3, scale=0.75e-3)
    assert d.mean() * 1e-4 == pytest.approx(ref.mean(), rel=0.02)
    assert normal_delays_steps(3, 0.03, 0.0, 1e-4).dtype == np.uint16  # 300 steps
    w = normal_weights(20000, 2.0, 1.0, seed=7, dtype=np.float32)
    assert w.dtype == np.float32 and w.min() >= 0
