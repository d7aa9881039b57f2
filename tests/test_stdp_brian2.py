"""Same rule, same spikes: STDP on the clock engine vs the same network in Brian2."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.inputs import SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation

pytest.importorskip("brian2")
from sparse_neuro.neuro.engines.backends.brian2_bridge import to_brian2  # noqa: E402

DT = 1e-4


def small_network(
    rule: STDPRule, adaptation: ThresholdAdaptation | None, channels: tuple
) -> Network:
    rng = np.random.default_rng(4)
    n_in, n_out, T = 20, 6, 0.5
    n_spk = 300
    times = np.sort(rng.choice(np.arange(1, int(T / DT)), n_spk, replace=False)) * DT
    ids = rng.integers(0, n_in, n_spk)
    w0 = rng.uniform(0.1, 0.6, (n_in, n_out)) * (rng.random((n_in, n_out)) < 0.7)
    params = LIFParams(tau_mem_s=15e-3, v_threshold=1.0, t_ref_s=2e-3, tau_syn_s=channels)
    scale = 1.0 if not channels else 8.0
    return Network(
        [Population("out", n_out, params, adaptation=adaptation)],
        [Projection("inp", "out", SparseSynapses.from_dense(w0 * scale), plasticity=rule)],
        [SpikeArraySource("inp", n_in, times, ids)],
        monitors=[SpikeMonitor("out")],
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["pair_additive", "triplet_nearest_adaptive", "multiplicative_current"]
)
def test_clock_engine_matches_brian2(case):
    if case == "pair_additive":
        rule, ad, ch = STDPRule(a_plus=0.05, a_minus=0.055, w_max=0.8), None, ()
    elif case == "triplet_nearest_adaptive":
        rule = STDPRule(
            a_plus=0.01, a_minus=0.02, a3_plus=0.05, a3_minus=0.01, pairing="nearest", w_max=0.8
        )
        ad, ch = ThresholdAdaptation(theta_plus=0.1, tau_theta_s=0.05), ()
    else:
        rule = STDPRule(a_plus=0.05, a_minus=0.05, mu_plus=1.0, mu_minus=1.0, w_max=8.0)
        ad, ch = None, (3e-3,)
    net = small_network(rule, ad, ch)
    sim = ClockSimulator(net, DT)
    rec = sim.run(0.5)
    model = to_brian2(net, DT, target="numpy")
    rec_b = model.run(0.5)
    a, b = rec.spikes["out"], rec_b.spikes["out"]
    assert a.n_spikes > 20
    assert np.array_equal(np.round(a.times_s / DT), np.round(b.times_s / DT))
    order_a = np.lexsort((a.indices, np.round(a.times_s / DT)))
    order_b = np.lexsort((b.indices, np.round(b.times_s / DT)))
    assert np.array_equal(a.indices[order_a], b.indices[order_b])
    syn = net.projections[0].synapses
    s = model.synapses[0]
    w_b = np.zeros(syn.shape)
    w_b[np.asarray(s.i[:]), np.asarray(s.j[:])] = np.asarray(s.w[:])
    w_ours = sim.synapses()[0].to_dense()
    assert not np.allclose(w_ours, syn.to_dense())  # learning happened
    np.testing.assert_allclose(w_ours, w_b, rtol=1e-9, atol=1e-12)
