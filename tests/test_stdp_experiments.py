"""stdp-window and stdp-digits experiments (smoke sizes) and exact training resume."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sparse_neuro.encoders.datasets import load_digits_split
from sparse_neuro.experiments.common import RunContext, run_experiment
from sparse_neuro.experiments.stdp_digits import (
    WEIGHT_L2_DEFAULT,
    Config,
    Trainer,
    assign_labels,
    classify,
    diehl_cook_network,
)


def test_stdp_window_recovers_time_constants(tmp_path):
    s = run_experiment("stdp-window", tmp_path, smoke=True)
    assert s["tau_plus_ms_fit"] == pytest.approx(16.8, rel=0.05)
    assert s["tau_minus_ms_fit"] == pytest.approx(33.7, rel=0.05)
    assert s["max_abs_dev_from_closed_form"] < 1e-9
    # triplet rule: post-before-pre depresses at low frequency, potentiates at high
    f = s["triplet_frequencies_hz"]
    assert f[0] < f[-1]
    assert s["triplet_dw_post_pre"][0] < 0 < s["triplet_dw_post_pre"][-1]
    assert (tmp_path / "stdp_window.png").exists()


def test_stdp_digits_smoke_and_checkpoint(tmp_path):
    s = run_experiment("stdp-digits", tmp_path, smoke=True)
    for key in (
        "test_accuracy",
        "n_neurons",
        "train_seconds",
        "samples_per_second",
        "kmeans_test_accuracy",
    ):
        assert key in s
    assert 0.0 <= s["test_accuracy"] <= 1.0 and s["n_neurons"] == 20
    assert not s["resumed_from_checkpoint"]
    assert (tmp_path / "checkpoints").exists() or any(tmp_path.rglob("*.npz"))
    for fig in ("receptive_fields", "assignments", "raster"):
        assert (tmp_path / f"{fig}.png").exists()
    s2 = run_experiment("stdp-digits", tmp_path, smoke=True)  # training is complete: resumes
    assert s2["resumed_from_checkpoint"]
    assert s2["test_accuracy"] == s["test_accuracy"]


def test_training_resume_is_exact(tmp_path):
    data = load_digits_split()
    x = data.x_train[:8]
    cfg = replace(Config(), n_neurons=10, present_s=0.05, rest_s=0.02)
    net = diehl_cook_network(64, cfg, seed=0)

    def fresh():
        t = Trainer(net, cfg, seed=0)
        t.learning(True)
        return t

    a = fresh()
    for img in x:
        a.present(img, learn=True)
    b = fresh()
    for img in x[:4]:
        b.present(img, learn=True)
    path = tmp_path / "ck.npz"
    b.save(path, 0, 4, np.arange(8), 0.0)
    c = fresh()
    assert c.load(path)[:2] == (0, 4)
    for img in x[4:]:
        c.present(img, learn=True)
    assert np.array_equal(a.sim.state.weights, c.sim.state.weights)
    assert np.array_equal(a.sim.theta("exc"), c.sim.theta("exc"))
    w = a.sim.synapses()[0]
    norms = np.sqrt(np.bincount(w.indices, w.weights**2, minlength=10))
    assert np.allclose(norms, WEIGHT_L2_DEFAULT)  # Euclidean-normalised columns (the default)
    assert w.weights.min() >= 0.0 and w.weights.max() <= cfg.w_max

    # the readout: learning frozen, thresholds equalised to their mean (test_theta="mean")
    theta = a.sim.theta("exc").copy()
    assert np.ptp(theta) > 0
    weights = a.sim.state.weights.copy()
    a.freeze()
    assert np.allclose(a.sim.theta("exc"), theta.mean())
    a.responses(x[:2], RunContext(name="t", out_dir=tmp_path, seed=0), "test")
    assert np.array_equal(a.sim.state.weights, weights)


def test_column_sum_normalisation_and_validation_split(tmp_path):
    net = diehl_cook_network(64, Config(weight_norm=1), seed=0)
    w = net.projections[0].synapses
    assert np.allclose(np.bincount(w.indices, w.weights, minlength=400), 0.1 * 64)
    s = run_experiment(
        "stdp-digits",
        tmp_path,
        smoke=True,
        overrides={"validation_fraction": "0.25", "kmeans": "false"},
    )
    assert (
        s["eval_split"] == "validation" and "validation_accuracy" in s and "test_accuracy" not in s
    )
    assert s["n_train_images"] == 45 and s["n_validation_images"] == 15  # 75/25 of the 60 images
    with pytest.raises(ValueError, match="test_theta"):
        Config(test_theta="zero")
    with pytest.raises(ValueError, match="validation_fraction"):
        Config(validation_fraction=1.0)


def test_label_assignment_and_vote():
    resp = np.array([[5, 0, 1], [4, 1, 0], [0, 6, 0], [1, 5, 0]])
    labels = np.array([0, 0, 1, 1])
    a = assign_labels(resp, labels, 3)
    assert a.tolist() == [0, 1, 0] or a.tolist()[:2] == [0, 1]
    assert a[2] == 0  # neuron 2 only fired for class 0
    assert classify(np.array([[0, 3, 0], [2, 0, 0]]), np.array([0, 1, -1]), 3).tolist() == [1, 0]


def test_structural_training_resumes_exactly_across_a_rewiring(tmp_path):
    """stdp-digits with structural plasticity: input count and density kept, pattern changed,
    and a run resumed from a checkpoint after a rewiring ends where an uninterrupted one does."""
    data = load_digits_split()
    x = data.x_train[:6]
    cfg = replace(
        Config(),
        n_neurons=8,
        present_s=0.05,
        rest_s=0.02,
        input_density=0.25,
        structural=True,
        rewire_fraction=0.25,
    )
    net = diehl_cook_network(64, cfg, seed=0)
    assert np.all(np.bincount(net.projections[0].synapses.indices, minlength=8) == 16)

    def train(t, imgs, rewire_after):
        for i, img in enumerate(imgs):
            t.present(img, learn=True)
            if i == rewire_after:
                t.rewire(cfg.rewire_fraction, np.random.default_rng(0))
        return t

    def fresh():
        t = Trainer(net, cfg, seed=0)
        t.learning(True)
        return t

    a = train(fresh(), x, rewire_after=2)
    syn = a.sim.network.projections[0].synapses
    assert syn.n_synapses == 8 * 16 and np.all(np.bincount(syn.indices, minlength=8) == 16)
    assert not np.array_equal(syn.indices, net.projections[0].synapses.indices)
    b = train(fresh(), x[:4], rewire_after=2)
    path = tmp_path / "ck.npz"
    b.save(path, 0, 4, np.arange(6), 0.0)
    c = fresh()
    c.load(path)
    train(c, x[4:], rewire_after=-1)
    np.testing.assert_array_equal(c.sim.network.projections[0].synapses.indices, syn.indices)
    np.testing.assert_array_equal(a.sim.state.weights, c.sim.state.weights)
    np.testing.assert_array_equal(a.coactivity, c.coactivity)
    with pytest.raises(ValueError, match="input_density"):
        Config(input_density=0.0)
    with pytest.raises(ValueError, match="growth"):
        Config(growth="hebb")


def test_reset_between_images_returns_membranes_to_rest_deterministically():
    """With strong inhibition the losers end an image far below rest; ``reset_between``
    starts every image from rest, and the training stays a function of the seed."""
    x = load_digits_split().x_train[:4]
    cfg = replace(Config(), n_neurons=10, present_s=0.05, rest_s=0.02, w_inhibition=1000.0)
    net = diehl_cook_network(64, cfg, seed=0)

    def train(c):
        t = Trainer(net, c, seed=0)
        t.learning(True)
        counts = [t.present(img, learn=True) for img in x]
        return t, np.array(counts)

    plain, _ = train(cfg)
    assert plain.sim.state.v.min() < -1.0  # inhibition outlasts the 20 ms rest
    a, ca = train(replace(cfg, reset_between=True))
    b, cb = train(replace(cfg, reset_between=True))
    assert np.all(a.sim.state.v == 0.0)
    assert np.array_equal(ca, cb) and np.array_equal(a.sim.state.weights, b.sim.state.weights)
    assert ca.sum() > 0
