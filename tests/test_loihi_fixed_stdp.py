"""Fixed-point STDP: the compiled stage equals a plain-Python integer reference bit for bit,
agrees with the float rule within a stated bound, and runs in the event-queue backend."""

import math

import numpy as np
import pytest

from sparse_neuro.hardware_models import EventQueueSimulator, LoihiSpec, quantize
from sparse_neuro.hardware_models.fixed_point_stdp import (
    ACC_FRAC_BITS,
    F_MM,
    F_MP,
    F_SHIFT,
    F_TMAX,
    F_XDEC,
    F_YDEC,
    FixedLearn,
    _rand_bits,
    build_fixed_stdp,
    fixed_plastic_events,
    rand_bits_py,
    scale_factor,
    stdp_reference,
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
from sparse_neuro.neuro.engines.learn import plastic_events
from sparse_neuro.neuro.engines.state import initial_state
from sparse_neuro.neuro.model.plasticity_rules import STDPRule

DT = 1e-3


def _net(rule: STDPRule, n_pre: int = 14, n_post: int = 10, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 0.8, (n_pre, n_post)) * (rng.random((n_pre, n_post)) < 0.4)
    return Network(
        [Population("post", n_post, LIFParams())],
        [Projection("pre", "post", SparseSynapses.from_dense(w), plasticity=rule)],
        sources=[SpikeArraySource("pre", n_pre, np.array([0.0]), np.array([0]))],
    )


def _trains(n_steps: int, n_pre: int, n_post: int, rate: float, seed: int):
    rng = np.random.default_rng(seed)
    pre = [np.flatnonzero(rng.random(n_pre) < rate).tolist() for _ in range(n_steps)]
    post = [np.flatnonzero(rng.random(n_post) < rate).tolist() for _ in range(n_steps)]
    return pre, post


def _run_stage(q, fx, pre, post, seed):
    """Drive the compiled stage step by step (post ids are neurons, pre ids sources)."""
    plan = q.plan
    pl, rt = plan.plastic, plan.routing
    w = q.weights.copy()
    never = -(2**40)
    x, xl = np.zeros(pl.n_pre, np.int64), np.full(pl.n_pre, never, np.int64)
    y, yl = np.zeros(pl.n_post, np.int64), np.full(pl.n_post, never, np.int64)
    src0 = plan.n_neurons  # global id of the first source channel
    for n, (a, b) in enumerate(zip(pre, post)):
        spiking = np.asarray(b, np.int64)
        ext = np.asarray(a, np.int64) + src0
        fixed_plastic_events(
            n,
            spiking,
            spiking.size,
            ext,
            0,
            ext.size,
            FixedLearn(pl, fx, rt, w, x, xl, y, yl, seed),
        )
    return w, x, y


def test_random_numbers_equal_in_both_implementations():
    for args in [(0, 0, 0, 0, 12), (7, 123456, 99, 3, 7), (2**40, 5, 2**33, 1, 12)]:
        assert int(_rand_bits(*args)) == rand_bits_py(*args)
    draws = [rand_bits_py(3, n, 5, 0, 12) for n in range(4000)]
    assert 0 <= min(draws) and max(draws) < 4096 and abs(np.mean(draws) / 4096 - 0.5) < 0.02


@pytest.mark.parametrize("rounding", ["stochastic", "nearest"])
@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
@pytest.mark.parametrize("weight_bits, trace_bits", [(8, 7), (5, 4)])
def test_compiled_stage_equals_integer_reference(rounding, pairing, weight_bits, trace_bits):
    rule = STDPRule(a_plus=0.03, a_minus=0.035, w_min=0.0, w_max=1.0, pairing=pairing)
    net = _net(rule)
    spec = LoihiSpec(learning_rounding=rounding, weight_bits=weight_bits, trace_bits=trace_bits)
    q = quantize(net, DT, spec)
    fx = build_fixed_stdp(
        net, q.plan.plastic, q.weight_gain, q.weight_exp, weight_bits, trace_bits, rounding
    ).table
    # the precisions are honoured: mantissas and bounds in range, traces capped
    assert fx[0, F_TMAX] == 2**trace_bits - 1
    assert fx[0, 8] <= 2 ** (weight_bits - 1) - 1 and np.abs(q.mantissa).max() <= 2 ** (
        weight_bits - 1
    )
    pre, post = _trains(400, 14, 10, 0.08, seed=1)
    w, x, y = _run_stage(q, fx, pre, post, seed=11)
    syn = net.projections[0].synapses
    ref = stdp_reference(
        pre,
        post,
        syn.indptr.tolist(),
        syn.indices.tolist(),
        q.mantissa.tolist(),
        fx[0].tolist(),
        seed=11,
    )
    mant = w >> fx[0, F_SHIFT]
    np.testing.assert_array_equal(mant, ref)
    assert np.any(mant != q.mantissa)  # learning happened
    assert mant.min() >= fx[0, 7] and mant.max() <= fx[0, 8]
    assert x.max() <= fx[0, F_TMAX] and y.max() <= fx[0, F_TMAX]
    # a different seed changes stochastic rounding only
    w2 = _run_stage(q, fx, pre, post, seed=12)[0]
    assert np.array_equal(w2, w) == (rounding == "nearest")


def _float_run(q, pre, post):
    plan = q.plan
    st = initial_state(plan)
    for n, (a, b) in enumerate(zip(pre, post)):
        spiking = np.asarray(b, np.int64)
        ext = np.asarray(a, np.int64) + plan.n_neurons
        plastic_events(n, spiking, spiking.size, ext, 0, ext.size, plan.plastic, plan.routing, st)
    return st.weights


def test_fixed_weights_agree_with_float_rule_within_the_quantisation_bound():
    """Nearest rounding, nearest pairing: per synapse,
    ``|G w_float - m_fixed| <= 1 + N (1/2 + (|c_q - c| T + c E + 1) / 2^7)``, with ``N`` the
    synapse's updates, ``c`` / ``c_q`` the exact / quantised accumulator change per trace
    LSB, ``T = 2^7 - 1`` the largest trace, and ``E = (1/2 + T 2^-13) / (1 - d)`` the largest
    trace error (half an LSB of rounding plus the 12-bit decay factor's error per step,
    decaying geometrically; nearest pairing resets it at every spike); the leading 1 covers
    the initial weights' and the bounds' rounding (half an LSB each)."""
    rule = STDPRule(
        a_plus=0.03,
        a_minus=0.035,
        tau_plus_s=5e-3,
        tau_minus_s=6e-3,
        w_min=0.0,
        w_max=1.0,
        pairing="nearest",
    )
    net = _net(rule, seed=3)
    q = quantize(net, DT, LoihiSpec(learning_rounding="nearest"))
    plan = build_fixed_stdp(net, q.plan.plastic, q.weight_gain, q.weight_exp, 8, 7, "nearest")
    fx = plan.table
    pre, post = _trains(600, 14, 10, 0.06, seed=4)
    w_fix = _run_stage(q, fx, pre, post, seed=0)[0] >> fx[0, F_SHIFT]
    w_flt = _float_run(q, pre, post)
    g = q.weight_gain[0]
    syn = net.projections[0].synapses
    pre_of = syn.pre_indices()
    n_upd = np.array(
        [sum(i in a for a in pre) + sum(j in b for b in post) for i, j in zip(pre_of, syn.indices)]
    )
    tmax = int(fx[0, F_TMAX])
    bound = np.full(syn.n_synapses, 1.0)
    for k, (_mc, _dcol, c) in enumerate(
        [(F_MP, F_XDEC, plan.coefficient[0, 0]), (F_MM, F_YDEC, plan.coefficient[0, 1])]
    ):
        d = math.exp(-DT / (rule.tau_plus_s if k == 0 else rule.tau_minus_s))
        err_tr = (0.5 + tmax * 2.0**-13) / (1 - d)
        per = (
            0.5
            + (abs(plan.scale(0, "plus" if k == 0 else "minus") - c) * tmax + c * err_tr + 1)
            / 2**ACC_FRAC_BITS
        )
        bound += n_upd * per
    diff = np.abs(g * w_flt - w_fix)
    assert np.all(diff <= bound)
    moved = np.abs(g * (w_flt - net.projections[0].synapses.weights))
    assert moved.mean() > 3 * diff.mean()  # the bound is not vacuous: learning >> error


def test_scale_factor_and_rejected_rules():
    for c in [1e-3, 0.7, 1.0, 7.49, 15.0, 15.6, 123.0, 3e4]:
        m, e = scale_factor(c)
        assert 8 <= m <= 15 and abs(m * 2.0**e - c) <= c / 15
    assert scale_factor(0.0) == (0, 0)
    with pytest.raises(ValueError, match="saturate"):
        scale_factor(2.0**22)
    for bad in [dict(a3_plus=0.01), dict(mu_minus=1.0), dict(tau_eligibility_s=0.1)]:
        net = _net(STDPRule(**bad))
        with pytest.raises(ValueError, match="mode='fixed'|'loihi-fixed' does not support"):
            EventQueueSimulator(net, DT, mode="fixed")
    with pytest.raises(ValueError, match="trace_bits"):
        LoihiSpec(trace_bits=1)
    with pytest.raises(ValueError, match="learning_rounding"):
        LoihiSpec(learning_rounding="up")


def test_event_queue_fixed_mode_learns():
    rule = STDPRule(a_plus=0.02, a_minus=0.021, w_min=0.0, w_max=1.0)
    rng = np.random.default_rng(2)
    w = rng.uniform(0.1, 0.6, (40, 20)) * (rng.random((40, 20)) < 0.5)
    net = Network(
        [Population("a", 20, LIFParams(tau_mem_s=10e-3, tau_syn_s=(5e-3,)))],
        [Projection("inp", "a", SparseSynapses.from_dense(w), plasticity=rule, receptor=0)],
        sources=[PoissonSource("inp", 40, 80.0)],
        monitors=[SpikeMonitor("a")],
    )
    runs = []
    for rounding in ["stochastic", "stochastic", "nearest"]:
        sim = EventQueueSimulator(
            net, DT, mode="fixed", seed=1, spec=LoihiSpec(learning_rounding=rounding)
        )
        w0 = sim.synapses()[0].weights.copy()
        rec = sim.run(0.2)
        runs.append(sim.synapses()[0].weights)
        assert rec.spikes["a"].n_spikes > 20
    shift = 6 + int(sim.q.weight_exp[0])
    assert np.all(runs[0] % 2**shift == 0)  # still mantissa << (6 + exp)
    assert not np.array_equal(runs[0], w0)
    np.testing.assert_array_equal(runs[0], runs[1])  # deterministic for a seed
    assert not np.array_equal(runs[0], runs[2])
    assert sim.counters().total("syn_updates") > 0
    sim.reset(keep_weights=False)
    np.testing.assert_array_equal(sim.synapses()[0].weights, w0)
    # split runs, other chunking and a checkpoint resume give the same learned weights
    split = EventQueueSimulator(
        net, DT, mode="fixed", seed=1, chunk_steps=7, spec=LoihiSpec(learning_rounding="nearest")
    )
    split.run(0.08)
    state = split.state_dict()
    split.run(0.12)
    np.testing.assert_array_equal(split.synapses()[0].weights, runs[2])
    resumed = EventQueueSimulator(
        net, DT, mode="fixed", seed=1, spec=LoihiSpec(learning_rounding="nearest")
    )
    resumed.load_state_dict(state)
    resumed.run(0.12)
    np.testing.assert_array_equal(resumed.synapses()[0].weights, runs[2])
