"""No silent coercion: one test per coercion of issue 12 item 5 (except the SparseLinear
kernel choice, which belongs to the sparse layers)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from sparse_neuro.learning.training import TrainConfig, train
from sparse_neuro.neuro import LIFParams, SparseSynapses
from sparse_neuro.neuro.model.lif import step_factors
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.validation import check_duration
from sparse_neuro.neuro.train import SpikingMLP


def test_int64_index_beyond_int32_is_refused_not_wrapped():
    big = np.array([2**32 + 1], dtype=np.int64)  # would wrap to 1 in int32
    with pytest.raises(ValueError, match="indices out of range"):
        SparseSynapses(np.array([0, 1]), big, np.array([0.5]), 0, 4)
    with pytest.raises(ValueError, match="n_post must be <= 2\\*\\*31"):
        SparseSynapses(np.array([0, 0]), np.zeros(0, np.int64), np.zeros(0), 0, 2**32 + 2)


def test_float_indices_are_refused_not_truncated():
    with pytest.raises(ValueError, match="indices must be an integer array"):
        SparseSynapses(np.array([0, 1]), np.array([1.7]), np.array([0.5]), 0, 4)
    with pytest.raises(ValueError, match="indptr must be an integer array"):
        SparseSynapses(np.array([0.0, 1.0]), np.array([1]), np.array([0.5]), 0, 4)


def test_delays_in_seconds_at_the_public_api_and_fractional_steps_refused():
    with pytest.raises(ValueError, match="whole time steps.*delay_s"):
        SparseSynapses.fixed_probability(4, 4, 1.0, delay=1e-3, seed=0)  # seconds meant
    syn = SparseSynapses.fixed_probability(4, 4, 1.0, delay_s=1e-3, dt_s=1e-4, seed=0)
    assert np.all(syn.delays == 10) and syn.dt_s == 1e-4
    assert SparseSynapses.from_dense(np.eye(3), delay_s=2e-3, dt_s=5e-4).delays.tolist() == [
        4,
        4,
        4,
    ]
    syn.check_dt(1e-4)
    with pytest.raises(ValueError, match="made for dt_s=0.0001"):
        syn.check_dt(1e-3)
    with pytest.raises(ValueError, match="half a step"):
        SparseSynapses.fixed_probability(4, 4, 1.0, delay_s=1e-5, dt_s=1e-4, seed=0)
    with pytest.raises(ValueError, match="needs dt_s"):
        SparseSynapses.fixed_probability(4, 4, 1.0, delay_s=1e-3, seed=0)
    assert syn.with_weights(syn.weights * 2).dt_s == 1e-4


def test_refractoriness_shorter_than_dt_is_an_error():
    with pytest.raises(ValueError, match="t_ref_s=5e-05 s is shorter than dt_s"):
        step_factors(LIFParams(t_ref_s=5e-5), 1e-4)
    # documented rounding: whole steps, rounded down as Brian2 does
    assert step_factors(LIFParams(t_ref_s=2.5e-4), 1e-4).ref_steps == 2
    assert step_factors(LIFParams(t_ref_s=0.0), 1e-4).ref_steps == 0


def test_nan_training_data_is_an_error(tmp_path):
    x = np.random.default_rng(0).uniform(size=(8, 4))
    x[3, 1] = np.nan
    model = SpikingMLP((4, 5, 2), n_steps=3, beta=0.9, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="x_train contains 1 NaN or inf"):
        train(model, x, np.zeros(8, dtype=int), TrainConfig(batch_size=4), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    import sparse_neuro.experiments.stdp_digits as stdp
    from sparse_neuro.experiments.common import run_experiment

    real = stdp.load_digits_split

    def nan_digits(*a, **k):
        d = real(*a, **k)
        d.x_train[0, 0] = np.inf
        return d

    mp = pytest.MonkeyPatch()
    mp.setattr(stdp, "load_digits_split", nan_digits)
    try:
        with pytest.raises(ValueError, match="training images contains 1 NaN or inf"):
            run_experiment("stdp-digits", tmp_path, smoke=True)
    finally:
        mp.undo()
    from sparse_neuro.learning.spiking_inference import spiking_lca_network

    with pytest.raises(ValueError, match="X contains"):
        spiking_lca_network(np.eye(3), np.array([[1.0, np.nan, 0.0]]), 0.1, None)


def test_huge_duration_is_refused_with_an_estimate():
    assert check_duration(1.0, 1e-4, 1000) == 10_000
    with pytest.raises(ValueError, match=r"1e\+13 steps x 100 neurons.*above the limit"):
        check_duration(1e9, 1e-4, 100)
    with pytest.raises(ValueError, match="duration_s must be a finite number"):
        check_duration(float("nan"), 1e-4, 100)
    assert check_duration(1e9, 1e-4, 100, max_neuron_steps=None, max_steps=None) == 10**13


def test_numpy_scalars_are_accepted_by_parameter_dataclasses():
    p = LIFParams(
        tau_mem_s=np.float32(0.02),
        v_threshold=np.float64(1.0),
        t_ref_s=np.int64(0),
        tau_syn_s=(np.float32(5e-3),),
    )
    assert type(p.tau_mem_s) is float and p.tau_mem_s == pytest.approx(0.02)
    assert type(p.tau_syn_s[0]) is float
    r = STDPRule(a_plus=np.float32(0.01), w_max=np.float16(2.0), tau_eligibility_s=np.float32(0.1))
    assert type(r.a_plus) is float and type(r.w_max) is float
    a = ThresholdAdaptation(theta_plus=np.float32(0.05), tau_theta_s=np.float64(np.inf))
    assert a.tau_theta_s == float("inf")
    for bad in (True, "0.02", np.array([0.02])):
        with pytest.raises(ValueError, match="tau_mem_s must be a real number"):
            LIFParams(tau_mem_s=bad)


def test_engines_refuse_out_of_reach_runs_and_delays_of_another_dt():
    """The run entry points apply check_duration and SparseSynapses.check_dt before any work."""
    from sparse_neuro.neuro import LIFParams, Network, Population, Projection
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.engines.protocol import make_simulator

    syn = SparseSynapses.fixed_probability(4, 4, 1.0, 0.1, delay_s=1e-3, dt_s=1e-4, seed=0)
    net = Network([Population("a", 4, LIFParams())], [Projection("a", "a", syn)])
    with pytest.raises(ValueError, match="made for dt_s=0.0001"):
        ClockSimulator(net, 5e-4)
    for backend in ("clock", "exact", "loihi-float"):
        sim = make_simulator(net, 1e-4, backend=backend)
        with pytest.raises(ValueError, match="neuron-steps"):
            sim.run(1e9)


def test_duration_must_be_a_whole_number_of_steps():
    assert check_duration(0.35, 1e-4, 1) == 3500  # 0.35 / 1e-4 = 3499.9999999999995
    assert check_duration(0.1 + 0.2, 1e-4, 1) == 3000
    assert check_duration(3e-4 * (1 + 1e-12), 1e-4, 1) == 3
    for bad, near in (
        (1.5e-4, "0.0001 s or 0.0002 s (1 or 2 steps)"),
        (0.35 + 1e-7, "0.35 s or 0.3501 s (3500 or 3501 steps)"),
        (5e-5, "0.0001 s (1 step)"),
    ):
        with pytest.raises(ValueError, match=f"not a whole number of steps.*use {re.escape(near)}"):
            check_duration(bad, 1e-4, 1)
    for bad in (0.0, -1e-4):
        with pytest.raises(ValueError, match="duration_s must be > 0 s"):
            check_duration(bad, 1e-4, 1)


@pytest.mark.parametrize("backend", ["clock", "exact", "loihi-float", "loihi-fixed", "brian2"])
def test_every_backend_refuses_a_fractional_duration_and_loses_no_step(backend):
    """run(1.5e-4) twice at dt 1e-4 did 2 steps while run(3e-4) did 3: now an error, and
    whole-step runs split as 1 + 2 steps end where one run of 3 steps does."""
    from sparse_neuro.neuro import LIFParams, Network, Population
    from sparse_neuro.neuro.engines.protocol import make_simulator

    net = Network([Population("a", 2, LIFParams())])
    sim = make_simulator(net, 1e-4, backend=backend)
    with pytest.raises(
        ValueError,
        match=r"duration_s=0.00015 s is 1.5 steps.*not a whole "
        r"number of steps.*0.0001 s or 0.0002 s",
    ):
        sim.run(1.5e-4)
    assert sim.t_s == 0.0  # refused before any work
    assert sim.run(1e-4).meta["n_steps"] == 1
    assert sim.run(2e-4).meta["n_steps"] == 2
    assert sim.t_s == pytest.approx(3e-4, rel=1e-12)


def test_integer_weights_keep_their_values():
    exact = SparseSynapses.from_dense(np.array([[0, 3], [2**24, 0]], dtype=np.int64))
    assert exact.weights.dtype == np.float32 and exact.weights.tolist() == [3.0, 2**24]
    w64 = np.array([0.1], dtype=np.float64)
    assert SparseSynapses(np.array([0, 1]), np.array([0]), w64, 0, 1).weights.dtype == np.float64
    with pytest.raises(ValueError, match="weights of dtype int64 cannot be held exactly"):
        SparseSynapses.from_dense(np.array([[2**24 + 1]], dtype=np.int64))
    with pytest.raises(ValueError, match="weights must be real numbers.*bool"):
        SparseSynapses.from_dense(np.eye(2, dtype=bool))


def test_integer_and_string_parameters_are_not_coerced():
    from sparse_neuro.neuro import LIFParams, Population, Projection
    from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource

    assert Population("a", 3, kwta_k=np.int64(2)).kwta_k == 2
    for bad in (2.9, 2.0, "3", True):
        with pytest.raises(ValueError, match="kwta_k must be an integer in \\[0, 3\\]"):
            Population("a", 3, LIFParams(), kwta_k=bad)
    syn = SparseSynapses.from_dense(np.ones((3, 3)))
    for bad in (0.7, 0.0, "0"):
        with pytest.raises(ValueError, match="receptor must be an integer"):
            Projection("a", "a", syn, receptor=bad)
    with pytest.raises(ValueError, match="rate_hz must be real numbers, got '10'"):
        PoissonSource("s", 2, "10")
    with pytest.raises(ValueError, match="rate_hz must be real numbers"):
        PoissonSource("s", 2, np.array([True, False]))
    src = SpikeArraySource("s", 3, [0.1, 0.2], np.array([1.0, 2.0]))  # whole floats: exact
    assert src.indices.tolist() == [1, 2]
    with pytest.raises(ValueError, match="indices must be integers in \\[0, 3\\), got 0.5"):
        SpikeArraySource("s", 3, [0.1], [0.5])


def test_nest_bridge_refuses_a_fractional_duration_before_touching_nest():
    """Checked before NEST is imported, so this holds (and is tested) without NEST too."""
    from sparse_neuro.neuro import LIFParams, Network, Population
    from sparse_neuro.neuro.engines.backends.nest_bridge import NestModel

    model = NestModel(Network([Population("a", 2, LIFParams())]), 1e-4, 1, {}, {}, {}, 0.0)
    with pytest.raises(ValueError, match=r"1.5 steps.*0.0001 s or 0.0002 s"):
        model.run(1.5e-4)
    assert model.t_s == 0.0
