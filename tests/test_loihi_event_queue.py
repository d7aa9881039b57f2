"""Event-queue backend: float mode equals the clock engine; counters equal hand counts."""

import numpy as np
import pytest

from sparse_neuro.hardware_models import (
    EnergyReport,
    EventQueueSimulator,
    LoihiSpec,
    place,
    run_event_queue,
)
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import simulate


def _mixed_network():
    rng = np.random.default_rng(3)
    delta = LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=2e-3)
    cuba = LIFParams(
        tau_mem_s=20e-3,
        v_rest=-49e-3,
        v_reset=-60e-3,
        v_threshold=-50e-3,
        t_ref_s=5e-3,
        tau_syn_s=(5e-3, 10e-3),
    )
    pops = [
        Population("a", 60, delta),
        Population("e", 80, cuba, v_init=rng.uniform(-60e-3, -50e-3, 80)),
        Population("w", 30, LIFParams(tau_mem_s=5e-3, reset_mode="subtract"), kwta_k=3),
    ]
    delays = rng.integers(0, 4, size=(40, 60))
    projs = [
        Projection(
            "inp",
            "a",
            SparseSynapses.from_dense(
                rng.uniform(0, 0.6, (40, 60)) * (rng.random((40, 60)) < 0.3), delay=delays
            ),
        ),
        Projection("a", "a", SparseSynapses.fixed_probability(60, 60, 0.1, -0.2, delay=1, seed=1)),
        Projection(
            "a", "e", SparseSynapses.fixed_probability(60, 80, 0.2, 4e-3, seed=2), receptor=0
        ),
        Projection(
            "e",
            "e",
            SparseSynapses.fixed_probability(80, 80, 0.1, -6e-3, delay=2, seed=3),
            receptor=1,
        ),
        Projection("inp", "w", SparseSynapses.fixed_probability(40, 30, 0.5, 0.3, seed=4)),
    ]
    return Network(
        pops,
        projs,
        sources=[PoissonSource("inp", 40, 80.0)],
        monitors=[SpikeMonitor("a"), SpikeMonitor("e"), SpikeMonitor("w"), SpikeMonitor("inp")],
    )


@pytest.mark.parametrize(
    "spec", [LoihiSpec(), LoihiSpec(max_compartments=16, cores_per_tile=2, mesh_width_tiles=3)]
)
def test_float_mode_gives_the_clock_engines_spikes(spec):
    net = _mixed_network()
    ref = simulate(net, 0.2, 1e-3, seed=7)
    rec, ctr, m = run_event_queue(net, 0.2, 1e-3, spec=spec, seed=7)
    total = 0
    for k in ("a", "e", "w", "inp"):
        np.testing.assert_array_equal(rec.spikes[k].times_s, ref.spikes[k].times_s)
        np.testing.assert_array_equal(rec.spikes[k].indices, ref.spikes[k].indices)
        total += ref.spikes[k].n_spikes
    assert ref.spikes["a"].n_spikes > 50 and ref.spikes["e"].n_spikes > 10
    assert ref.spikes["w"].n_spikes > 0
    # invariant: synaptic ops = sum over spikes of fan-out
    expected = 0
    for pr in net.projections:
        expected += int(pr.synapses.fan_out()[ref.spikes[pr.source].indices].sum())
    assert ctr.total("syn_ops") == expected
    assert ctr.total("spikes_out") == sum(ref.spikes[k].n_spikes for k in ("a", "e", "w"))
    comp = 60 + 2 * 80 + 30
    assert ctr.total("neuron_active") + ctr.total("neuron_inactive") == comp * 200
    # populations never share a core in the default placement
    assert m.n_cores == (3 if spec.max_compartments == 1024 else 4 + 10 + 2)


def test_counters_equal_hand_computed_values():
    # a (1 neuron, core 0) -> b (4 neurons on cores 1, 2, 4, 6); 2 cores per tile, 2-wide mesh:
    # tiles 0:(0,0) 1:(1,0) 2:(1,1) 3:(0,1). From core 0: core 1 same tile; core 2 one EW hop;
    # core 4 one EW + one NS hop; core 6 one NS hop.
    spec = LoihiSpec(cores_per_tile=2, mesh_width_tiles=2)
    steps = np.array([5, 20, 40])
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0)
    net = Network(
        [Population("a", 1, p), Population("b", 4, p)],
        [
            Projection("src", "a", SparseSynapses.from_dense(np.array([[2.0]]))),
            Projection("a", "b", SparseSynapses.from_dense(np.full((1, 4), 0.1))),
        ],
        sources=[SpikeArraySource("src", 1, steps * 1e-3, np.zeros(3, int))],
        monitors=[SpikeMonitor("a"), SpikeMonitor("b")],
    )
    m = place(net, spec, cores={"a": 0, "b": np.array([1, 2, 4, 6])})
    sim = EventQueueSimulator(net, 1e-3, mapping=m)
    rec = sim.run(0.06)
    np.testing.assert_allclose(rec.spikes["a"].times_s, (steps + 1) * 1e-3)
    assert rec.spikes["b"].n_spikes == 0
    c = sim.counters()
    k = len(steps)
    t = c.totals()
    assert t["syn_ops"] == k * 1 + k * 4
    assert t["input_spikes"] == k and c.per_core("input_spikes")[0] == k
    assert t["spikes_out"] == k
    assert (t["msgs_tile"], t["msgs_mesh"], t["hops_ew"], t["hops_ns"]) == (k, 3 * k, 2 * k, 2 * k)
    # active: a at the input step and at its spike step, each b neuron at a's spike step
    assert t["neuron_active"] == 2 * k + 4 * k
    assert t["neuron_inactive"] == 60 * 5 - 6 * k
    per_core_syn = c.per_core("syn_ops")
    assert per_core_syn.tolist() == [k, k, k, 0, k, 0, k]
    # per-step placement of the counts
    a_steps = np.flatnonzero(c.per_step[:, 0, 3])
    assert a_steps.tolist() == (steps + 1).tolist()
    # energy = counts x constants, time = slowest core + barrier
    rep = EnergyReport.from_counters(c, m, net)
    e = (
        t["syn_ops"] * 23.6
        + t["neuron_active"] * 81
        + t["neuron_inactive"] * 52
        + t["msgs_tile"] * 1.7
        + t["hops_ew"] * 3.0
        + t["hops_ns"] * 4.0
    )
    assert rep.total_pj == pytest.approx(e)
    n = int(steps[0] + 1)  # step where a spikes: core 0 sends + 1 active update
    busy0 = 1 * 5.3 * 0 + 8.4 + 2.1 + 2 * 0  # a active (8.4), one in-tile message (2.1)
    busy0 += 4.1 + (4.1 + 6.5) + 6.5  # hops charged to the sender
    busy = [busy0, 3.5 + 8.4, 3.5 + 8.4, 0.0, 3.5 + 8.4, 0.0, 3.5 + 8.4]
    assert rep.step_time_ns[n] == pytest.approx(max(busy) + spec.barrier_ns(m.n_tiles))
    # dense baseline: every weight (1 + 4) and every state (5 neurons) every step
    assert rep.dense["macs"] == 60 * (5 + 5)
    assert rep.dense["energy_pj"] == pytest.approx(60 * (10 * 4.6 + 5 * 640.0))


def test_stdp_updates_are_counted():
    from sparse_neuro.neuro.model.plasticity_rules import STDPRule

    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0)
    syn = SparseSynapses.from_dense(np.array([[2.0, 2.0, 0.0], [0.0, 2.0, 0.0]]))
    net = Network(
        [Population("b", 3, p)],
        [Projection("src", "b", syn, plasticity=STDPRule(w_max=5.0))],
        sources=[SpikeArraySource("src", 2, np.array([0.005, 0.015]), np.array([0, 1]))],
        monitors=[SpikeMonitor("b")],
    )
    rec, c, m = run_event_queue(net, 0.03, 1e-3)
    post = rec.spikes["b"].counts()
    # pre spikes touch their plastic fan-out, post spikes their plastic fan-in
    expected = 2 + 1 + int(post @ syn.fan_in())
    assert post.sum() == 3 and c.total("syn_updates") == expected


def test_bad_mode_and_foreign_mapping():
    net = _mixed_network()
    with pytest.raises(ValueError, match="mode must be"):
        EventQueueSimulator(net, 1e-3, mode="double")
    other = place(Network([Population("x", 3)]))
    with pytest.raises(ValueError, match="mapping"):
        EventQueueSimulator(net, 1e-3, mapping=other)


def test_stdp_weights_match_closed_form_and_clock_engine():
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.model.plasticity_rules import STDPRule

    dt = 1e-3
    rule = STDPRule(a_plus=0.01, a_minus=0.012, tau_plus_s=16.8e-3, tau_minus_s=33.7e-3)
    p = LIFParams(tau_mem_s=10e-3, v_threshold=1.0)
    pre_steps, drive_steps = [10, 30], [14, 31]  # post spikes one step after each drive spike
    net = Network(
        [Population("post", 1, p)],
        [
            Projection(
                "pre", "post", SparseSynapses.from_dense(np.array([[0.2]])), plasticity=rule
            ),
            Projection("drive", "post", SparseSynapses.from_dense(np.array([[3.0]]))),
        ],
        sources=[
            SpikeArraySource("pre", 1, np.array(pre_steps) * dt, np.zeros(2, int)),
            SpikeArraySource("drive", 1, np.array(drive_steps) * dt, np.zeros(2, int)),
        ],
        monitors=[SpikeMonitor("post")],
    )
    sim = EventQueueSimulator(net, dt)
    rec = sim.run(0.05)
    post = np.round(rec.spikes["post"].times_s / dt).astype(int).tolist()
    assert post == [15, 32]
    ep, em = np.exp(-dt / rule.tau_plus_s), np.exp(-dt / rule.tau_minus_s)
    w = 0.2  # pre at 10: no post trace yet
    w += rule.a_plus * ep**5  # post at 15, pre trace from 10
    w -= rule.a_minus * em**15  # pre at 30, post trace from 15
    w += rule.a_plus * (ep**20 + 1.0) * ep**2  # post at 32, pre trace after 10 and 30
    learned = sim.synapses()[0].weights[0]
    assert learned == pytest.approx(w, rel=1e-9)
    clock = ClockSimulator(net, dt)
    clock.run(0.05)
    assert learned == clock.synapses()[0].weights[0]
    assert sim.synapses()[1].weights[0] == 3.0  # not plastic
    assert sim.counters().total("syn_updates") == 4  # 2 pre + 2 post spikes, 1 synapse
    sim.reset(keep_weights=False)
    assert sim.synapses()[0].weights[0] == 0.2


def test_learning_network_gives_the_clock_engines_spikes_and_weights():
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation

    rng = np.random.default_rng(5)
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, t_ref_s=2e-3, tau_syn_s=(5e-3,))
    w = rng.uniform(0, 0.5, (50, 40)) * (rng.random((50, 40)) < 0.4)
    net = Network(
        [Population("a", 40, p, kwta_k=5, adaptation=ThresholdAdaptation(0.05, 50e-3))],
        [
            Projection(
                "inp",
                "a",
                SparseSynapses.from_dense(w),
                plasticity=STDPRule(w_max=0.6, mu_plus=1.0, a3_plus=0.002),
            )
        ],
        sources=[PoissonSource("inp", 50, 60.0)],
        monitors=[SpikeMonitor("a")],
    )
    clock = ClockSimulator(net, 1e-3, seed=3)
    ref = clock.run(0.3)
    spec = LoihiSpec(max_compartments=16)  # 3 cores
    sim = EventQueueSimulator(net, 1e-3, spec=spec, seed=3)
    rec = sim.run(0.3)
    assert ref.spikes["a"].n_spikes > 50
    np.testing.assert_array_equal(rec.spikes["a"].times_s, ref.spikes["a"].times_s)
    np.testing.assert_array_equal(rec.spikes["a"].indices, ref.spikes["a"].indices)
    w_ours, w_ref = sim.synapses()[0].weights, clock.synapses()[0].weights
    np.testing.assert_array_equal(w_ours, w_ref)
    assert not np.array_equal(w_ours, net.projections[0].synapses.weights)
    with pytest.raises(ValueError, match="adaptive thresholds"):
        EventQueueSimulator(net, 1e-3, mode="fixed")
    with pytest.raises(TypeError, match="STDPRule"):
        EventQueueSimulator(
            Network(
                [Population("b", 2)],
                [Projection("b", "b", SparseSynapses.from_dense(np.eye(2)), plasticity=object())],
            ),
            1e-3,
        )
