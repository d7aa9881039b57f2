"""Structural plasticity on the clock engine: prune-and-grow at fixed count, state kept."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.learning.structural import StructuralPlasticity, prune_and_grow, rebuild_simulator
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.inputs import PoissonSource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation

DT = 5e-4
N_IN, N_EXC = 60, 12


def stdp_net(density: float = 0.3, seed: int = 0) -> Network:
    """Poisson inputs -> plastic sparse synapses -> adaptive LIF layer with recurrent inhibition."""
    rng = np.random.default_rng(seed)
    w_in = SparseSynapses.fixed_indegree(
        N_IN, N_EXC, int(density * N_IN), seed=rng, dtype=np.float64
    )
    w_in = w_in.with_weights(rng.uniform(0.05, 0.4, w_in.n_synapses))
    inh = SparseSynapses.from_dense(-0.5 * (1 - np.eye(N_EXC)), delay=2)
    exc = Population(
        "exc",
        N_EXC,
        LIFParams(tau_mem_s=20e-3, v_rest=0.0, v_reset=0.0, v_threshold=1.0),
        adaptation=ThresholdAdaptation(theta_plus=0.05, tau_theta_s=1.0),
    )
    return Network(
        [exc],
        [
            Projection("inp", "exc", w_in, plasticity=STDPRule(a_plus=0.02, a_minus=0.01)),
            Projection("exc", "exc", inh),
        ],
        [PoissonSource("inp", N_IN, rate_hz=80.0)],
        monitors=[SpikeMonitor("exc")],
    )


def fan_in(syn: SparseSynapses) -> np.ndarray:
    return np.bincount(syn.indices, minlength=syn.n_post)


@pytest.mark.parametrize("growth", ["random", "activity"])
def test_prune_and_grow_keeps_count_and_removes_the_weakest(growth):
    syn = stdp_net().projections[0].synapses
    rule = StructuralPlasticity(fraction=0.25, growth=growth, init_weight=0.01)
    co = np.random.default_rng(5).uniform(0, 1, syn.shape) if growth == "activity" else None
    new, source = prune_and_grow(syn, rule, np.random.default_rng(1), coactivity=co)
    assert new.n_synapses == syn.n_synapses
    np.testing.assert_array_equal(fan_in(new), fan_in(syn))  # per neuron, not only in total
    k = fan_in(syn)[0]
    n_drop = int(round(0.25 * k))
    assert np.sum(source < 0) == n_drop * N_EXC
    np.testing.assert_array_equal(new.weights[source < 0], 0.01)
    np.testing.assert_array_equal(new.weights[source >= 0], syn.weights[source[source >= 0]])
    pre_old, pre_new = syn.pre_indices(), new.pre_indices()
    for j in range(N_EXC):
        w_j = syn.weights[syn.indices == j]
        kept = source[(new.indices == j) & (source >= 0)]
        # the survivors are the strongest (k - n_drop) of the neuron's synapses
        assert np.sort(syn.weights[kept]).tolist() == np.sort(w_j)[n_drop:].tolist()
        assert np.unique(pre_new[new.indices == j]).size == k  # no duplicate synapse
        np.testing.assert_array_equal(pre_old[kept], pre_new[(new.indices == j) & (source >= 0)])
    assert np.all(np.diff(new.indptr) >= 0) and new.indptr[-1] == new.n_synapses


def test_prune_and_grow_is_deterministic_with_a_seed():
    syn = stdp_net().projections[0].synapses
    rule = StructuralPlasticity(fraction=0.3)
    a, sa = prune_and_grow(syn, rule, np.random.default_rng(7))
    b, sb = prune_and_grow(syn, rule, np.random.default_rng(7))
    c, _ = prune_and_grow(syn, rule, np.random.default_rng(8))
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(sa, sb)
    assert not (np.array_equal(a.indices, c.indices) and np.array_equal(a.indptr, c.indptr))


def test_activity_growth_follows_coactivity():
    """Growth sampled by co-activity lands on the active inputs when the others score 0."""
    syn = stdp_net().projections[0].synapses
    co = np.zeros(syn.shape)
    co[:10] = 1.0  # only the first 10 inputs were co-active with the layer
    rule = StructuralPlasticity(fraction=0.2, growth="activity", activity_floor=0.0)
    new, source = prune_and_grow(syn, rule, np.random.default_rng(0), coactivity=co)
    assert np.all(new.pre_indices()[source < 0] < 10)


def test_rewired_rejects_bad_input():
    syn = stdp_net().projections[0].synapses
    keep = np.ones(syn.n_synapses, dtype=bool)
    with pytest.raises(ValueError, match="keep"):
        syn.rewired(keep[1:])
    key0 = int(syn.pre_indices()[0]) * N_EXC + int(syn.indices[0])
    with pytest.raises(ValueError, match="kept synapse"):
        syn.rewired(keep, [key0])
    with pytest.raises(ValueError, match="grow positions"):
        syn.rewired(keep, [N_IN * N_EXC])
    with pytest.raises(ValueError, match="fraction"):
        StructuralPlasticity(fraction=1.0)
    with pytest.raises(ValueError, match="coactivity"):
        prune_and_grow(syn, StructuralPlasticity(growth="activity"), np.random.default_rng(0))


def _state(sim: ClockSimulator) -> dict:
    d = sim.state_dict()
    d.pop("weights")
    return d


def test_rebuild_with_no_change_continues_the_run_exactly():
    """Rebuilding on the same pattern mid-run gives the same spikes and weights as not rebuilding."""
    ref = ClockSimulator(stdp_net(), DT, seed=3)
    ref.run(0.1)
    sim = ClockSimulator(stdp_net(), DT, seed=3)
    sim.run(0.1)
    syn = sim.synapses()[0]
    same, source = syn.rewired(np.ones(syn.n_synapses, dtype=bool))
    sim = rebuild_simulator(sim, 0, same, source)
    a, b = ref.run(0.2), sim.run(0.2)
    assert a.spikes["exc"].counts().sum() > 0
    np.testing.assert_array_equal(a.spikes["exc"].times_s, b.spikes["exc"].times_s)
    np.testing.assert_array_equal(a.spikes["exc"].indices, b.spikes["exc"].indices)
    np.testing.assert_array_equal(ref.weights_view(0), sim.weights_view(0))


def test_rebuild_after_rewiring_keeps_state_and_weights():
    sim = ClockSimulator(stdp_net(), DT, seed=0)
    sim.set_learning_rate(0.5)
    sim.run(0.2)
    before = _state(sim)
    assert np.any(before["theta"] > 0) and np.any(before["pre_trace"] > 0)
    syn = sim.synapses()[0]
    new_syn, source = prune_and_grow(
        syn, StructuralPlasticity(fraction=0.2, init_weight=0.0), np.random.default_rng(0)
    )
    new = rebuild_simulator(sim, "inp->exc", new_syn, source)
    after = _state(new)
    for key, val in before.items():
        if key == "inputs":
            for k, v in val.items():
                np.testing.assert_array_equal(after["inputs"][k], v)
        else:
            np.testing.assert_array_equal(after[key], val, err_msg=key)
    w = new.weights_view(0)
    np.testing.assert_array_equal(w[source >= 0], syn.weights[source[source >= 0]])
    np.testing.assert_array_equal(w[source < 0], 0.0)
    np.testing.assert_array_equal(new.weights_view(1), sim.weights_view(1))
    np.testing.assert_array_equal(new.synapses()[0].indices, new_syn.indices)
    assert new.t_s == sim.t_s and new.run(0.05).spikes["exc"].counts().sum() >= 0


def test_rebuild_rejects_a_pattern_of_another_shape():
    sim = ClockSimulator(stdp_net(), DT, seed=0)
    other = SparseSynapses.from_dense(np.ones((N_IN, N_EXC + 1)))
    with pytest.raises(ValueError, match="shape"):
        rebuild_simulator(sim, 0, other, np.full(other.n_synapses, -1))
    with pytest.raises(ValueError, match="projection"):
        rebuild_simulator(sim, "nope", sim.synapses()[0], np.arange(sim.synapses()[0].n_synapses))
