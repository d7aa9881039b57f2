"""STDP in the clock engine vs closed forms and a plain-Python reference; homeostasis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.learning.homeostasis import normalize_columns, synaptic_scaling, theta_value
from sparse_neuro.learning.stdp import (
    learning_rate_schedule,
    pair_window,
    reference_weight,
    trace_value,
)
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.analysis.stdp_fit import fit_window
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation

DT = 1e-4


def one_synapse(pre_t, post_t, rule, w0=0.5):
    """Plastic synapse pre -> post; post is forced to spike one step after each ``post_t``
    by a strong non-plastic driver (the recorded post times are used as the truth)."""
    pops = [Population("post", 1, LIFParams(tau_mem_s=10e-3))]
    srcs = [
        SpikeArraySource("pre", 1, np.asarray(pre_t, float), np.zeros(len(pre_t), int)),
        SpikeArraySource("drv", 1, np.asarray(post_t, float), np.zeros(len(post_t), int)),
    ]
    projs = [
        Projection("pre", "post", SparseSynapses.from_dense(np.array([[w0]])), plasticity=rule),
        Projection("drv", "post", SparseSynapses.from_dense(np.array([[5.0]]))),
    ]
    return Network(pops, projs, srcs, monitors=[SpikeMonitor("post")])


def run_pair(pre_t, post_t, rule, w0=0.5, duration=0.3):
    sim = ClockSimulator(one_synapse(pre_t, post_t, rule, w0), DT)
    rec = sim.run(duration)
    return sim.synapses()[0].weights[0], rec.spikes["post"].times_s, sim


@pytest.mark.parametrize("d", [-0.03, -0.008, -0.0002, 0.0, 0.004, 0.025])
def test_single_pair_equals_window(d):
    rule = STDPRule()
    w, post, _ = run_pair([0.05], [0.05 + d], rule)
    assert post.size == 1
    dt_true = post[0] - 0.05
    expected = pair_window(dt_true, rule)
    assert np.sign(w - 0.5) == np.sign(expected)
    sign_amp = rule.a_plus if dt_true >= 0 else -rule.a_minus
    tau = rule.tau_plus_s if dt_true >= 0 else rule.tau_minus_s
    assert w - 0.5 == pytest.approx(sign_amp * math.exp(-abs(dt_true) / tau), rel=1e-9, abs=1e-14)


def test_all_to_all_vs_nearest():
    pre = [0.040, 0.050]
    post = [0.0599]  # spikes at 0.0600
    a2a, post_t, _ = run_pair(pre, post, STDPRule(a_minus=0.0))
    nn, _, _ = run_pair(pre, post, STDPRule(a_minus=0.0, pairing="nearest"))
    t = post_t[0]
    tp = STDPRule().tau_plus_s
    assert a2a - 0.5 == pytest.approx(
        0.01 * (math.exp(-(t - 0.04) / tp) + math.exp(-(t - 0.05) / tp)), rel=1e-9
    )
    assert nn - 0.5 == pytest.approx(0.01 * math.exp(-(t - 0.05) / tp), rel=1e-9)


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_traces_equal_closed_form(pairing):
    rng = np.random.default_rng(1)
    pre = np.sort(rng.choice(np.arange(10, 2000), 40, replace=False)) * DT
    post = np.sort(rng.choice(np.arange(10, 2000), 25, replace=False)) * DT
    rule = STDPRule(pairing=pairing, a3_plus=1e-3, a3_minus=1e-3)
    sim = ClockSimulator(one_synapse(pre, post, rule), DT)
    rec = sim.run(0.25)
    post_t = rec.spikes["post"].times_s
    n = sim.state.step
    t_now = n * DT
    st = sim.state
    # stored traces are as of their last update; decay them to now and compare
    got_x1 = st.pre_trace[0, 0] * math.exp(-(n - st.pre_last[0]) * DT / rule.tau_plus_s)
    got_x2 = st.pre_trace[0, 1] * math.exp(-(n - st.pre_last[0]) * DT / rule.tau_x_s)
    got_y1 = st.post_trace[0, 0] * math.exp(-(n - st.post_last[0]) * DT / rule.tau_minus_s)
    got_y2 = st.post_trace[0, 1] * math.exp(-(n - st.post_last[0]) * DT / rule.tau_y_s)
    pre_steps = np.round(pre / DT) * DT
    assert got_x1 == pytest.approx(
        trace_value(pre_steps, t_now, rule.tau_plus_s, pairing), rel=1e-9
    )
    assert got_x2 == pytest.approx(trace_value(pre_steps, t_now, rule.tau_x_s, pairing), rel=1e-9)
    assert got_y1 == pytest.approx(trace_value(post_t, t_now, rule.tau_minus_s, pairing), rel=1e-9)
    assert got_y2 == pytest.approx(trace_value(post_t, t_now, rule.tau_y_s, pairing), rel=1e-9)
    # and the weight follows the event-by-event reference (triplet terms included)
    w_ref = reference_weight(pre_steps, post_t, rule, 0.5)
    assert sim.synapses()[0].weights[0] == pytest.approx(w_ref, rel=1e-9)


@pytest.mark.parametrize("mu", [0.0, 1.0, 0.5])
def test_bounds_hold_under_any_input(mu):
    rng = np.random.default_rng(2)
    n_pre, n_post = 30, 8
    w0 = rng.uniform(0, 1, (n_pre, n_post)) * (rng.random((n_pre, n_post)) < 0.5)
    rule = STDPRule(
        a_plus=0.3, a_minus=0.35, w_min=0.0, w_max=1.0, mu_plus=mu, mu_minus=mu, a3_plus=0.2
    )
    net = Network(
        [Population("post", n_post, LIFParams(tau_mem_s=5e-3))],
        [Projection("pre", "post", SparseSynapses.from_dense(w0), plasticity=rule)],
        [PoissonSource("pre", n_pre, rate_hz=200.0)],
        monitors=[SpikeMonitor("post")],
    )
    sim = ClockSimulator(net, 1e-3, seed=3)
    rec = sim.run(1.0)
    w = sim.synapses()[0].weights
    assert rec.spikes["post"].n_spikes > 50
    assert w.min() >= 0.0 and w.max() <= 1.0
    assert not np.allclose(w, SparseSynapses.from_dense(w0).weights)  # it did learn
    # fixed sparsity pattern
    assert np.array_equal(sim.synapses()[0].indices, SparseSynapses.from_dense(w0).indices)


def test_weight_dependence_multiplicative():
    rule = STDPRule(mu_plus=1.0, mu_minus=1.0, w_min=0.0, w_max=2.0)
    w, post, _ = run_pair([0.05], [0.055], rule, w0=0.5)
    d = post[0] - 0.05
    assert w - 0.5 == pytest.approx(0.01 * math.exp(-d / rule.tau_plus_s) * (2.0 - 0.5), rel=1e-9)
    w, post, _ = run_pair([0.05], [0.04], rule, w0=0.5)
    d = 0.05 - post[0]
    assert w - 0.5 == pytest.approx(-0.0105 * math.exp(-d / rule.tau_minus_s) * 0.5, rel=1e-9)


def test_reward_modulated():
    rule = STDPRule(tau_eligibility_s=0.2)
    w, post, sim = run_pair([0.05], [0.055], rule, duration=0.1)
    assert w == 0.5  # only the eligibility changed
    d = post[0] - 0.05
    e_then = 0.01 * math.exp(-d / rule.tau_plus_s)
    sim.deliver_reward(2.0)
    t_since = (sim.state.step - round(post[0] / DT)) * DT
    expected = 0.5 + 2.0 * e_then * math.exp(-t_since / 0.2)
    assert sim.synapses()[0].weights[0] == pytest.approx(expected, rel=1e-9)
    sim.deliver_reward(-1e6)  # bounds still hold
    assert sim.synapses()[0].weights[0] == 0.0


def test_learning_rate_zero_freezes_weights_but_not_traces():
    rule = STDPRule()
    sim = ClockSimulator(one_synapse([0.01, 0.03], [0.02], rule), DT)
    sim.set_learning_rate(0.0)
    sim.run(0.05)
    assert sim.synapses()[0].weights[0] == 0.5
    assert sim.state.pre_trace[0, 0] > 0
    with pytest.raises(ValueError, match="learning rate"):
        sim.set_learning_rate(-1.0)


def test_threshold_adaptation_closed_form_and_state_roundtrip():
    ad = ThresholdAdaptation(theta_plus=0.2, tau_theta_s=0.05)
    pop = Population("p", 2, LIFParams(tau_mem_s=10e-3, bias=2.0), adaptation=ad)
    net = Network([pop], monitors=[SpikeMonitor("p")])
    sim = ClockSimulator(net, DT)
    rec = sim.run(0.2)
    spikes = rec.spikes["p"].times_s[rec.spikes["p"].indices == 0]
    assert spikes.size > 3
    isi = np.diff(spikes)
    assert isi[-1] > isi[0]  # adaptation slows firing
    th = sim.theta("p")[0]
    # after the last step (n = 1999): decayed in steps 0..1999, each increment after its decay
    assert th == pytest.approx(theta_value(spikes, 0.2 - DT, ad), rel=1e-9)
    # checkpoint / resume reproduces the continuation exactly
    d = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in sim.state_dict().items()}
    a = sim.run(0.1).spikes["p"].times_s
    sim2 = ClockSimulator(net, DT)
    sim2.load_state_dict(d)
    b = sim2.run(0.1).spikes["p"].times_s
    assert np.array_equal(a, b)


def test_homeostasis_functions():
    w = np.array([1.0, 2.0, 3.0, 4.0])
    idx = np.array([0, 1, 0, 1])
    normalize_columns(w, idx, 2, 1.0)
    assert np.allclose(np.bincount(idx, w), [1.0, 1.0])
    w2 = np.ones(4)
    synaptic_scaling(w2, idx, 2, np.array([10.0, 0.0]), target_hz=5.0, gain=0.5)
    assert np.allclose(w2, [0.5, 1.5, 0.5, 1.5])
    with pytest.raises(ValueError, match="total"):
        normalize_columns(w, idx, 2, -1.0)
    w3 = np.array([3.0, 1.0, 4.0, 0.0])
    normalize_columns(w3, idx, 2, 2.0, order=2)
    assert np.allclose(np.sqrt(np.bincount(idx, w3 * w3)), [2.0, 2.0])
    assert np.allclose(w3, [1.2, 2.0, 1.6, 0.0])  # direction kept: (3, 4)/5 * 2 and (1, 0) * 2
    with pytest.raises(ValueError, match="order"):
        normalize_columns(w3, idx, 2, 1.0, order=3)


def test_fit_window_and_schedule():
    rule = STDPRule()
    dts = np.linspace(-0.1, 0.1, 41)
    fit = fit_window(dts, pair_window(dts, rule))
    assert fit["tau_plus_s"] == pytest.approx(rule.tau_plus_s, rel=1e-6)
    assert fit["tau_minus_s"] == pytest.approx(rule.tau_minus_s, rel=1e-6)
    assert learning_rate_schedule(1.0, 1.0, "linear", 0.1) == pytest.approx(0.1)
    assert learning_rate_schedule(1.0, 0.5, "exponential", 0.01) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="kind"):
        learning_rate_schedule(1.0, 0.5, "cosine")


def test_rule_validation():
    with pytest.raises(ValueError, match="tau_plus_s"):
        STDPRule(tau_plus_s=0.0)
    with pytest.raises(ValueError, match="w_max"):
        STDPRule(w_min=1.0, w_max=0.5)
    with pytest.raises(ValueError, match="pairing"):
        STDPRule(pairing="closest")
    syn = SparseSynapses.from_dense(np.array([[0.5]]), delay=2)
    net = Network(
        [Population("b", 1)],
        [Projection("a", "b", syn, plasticity=STDPRule())],
        [PoissonSource("a", 1, 10.0)],
    )
    with pytest.raises(ValueError, match="plastic synapses with delays"):
        ClockSimulator(net, 1e-3)
