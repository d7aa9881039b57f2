"""Every bad input of issue 26's probe that ended in an unclear error, or in none, now raises
an exception naming the parameter, the value given and the valid range (or kind)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.experiments.common import UsageError
from sparse_neuro.learning.training import TrainConfig
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
)
from sparse_neuro.neuro.model import connectivity
from sparse_neuro.neuro.model.inputs import PoissonInput
from sparse_neuro.neuro.model.record import Recording
from sparse_neuro.neuro.model.validation import check_duration


def _syn(n_pre: int = 3, n_post: int = 3) -> SparseSynapses:
    return SparseSynapses.from_dense(np.ones((n_pre, n_post)))


def _clock(network: Network, dt_s: float = 1e-4):
    from sparse_neuro.neuro.engines import ClockSimulator

    return ClockSimulator(network, dt_s)


def _train_labels(labels):
    from sparse_neuro.learning.training import train
    from sparse_neuro.neuro.train import SpikingMLP

    x = np.random.default_rng(0).uniform(size=(len(labels), 4))
    model = SpikingMLP((4, 5, 10), n_steps=2, beta=0.9, seed=0)
    train(model, x, np.asarray(labels), TrainConfig(batch_size=4), progress=False)


def _evaluate_labels(labels):
    from sparse_neuro.learning.training import evaluate
    from sparse_neuro.neuro.train import SpikingMLP

    x = np.random.default_rng(0).uniform(size=(len(labels), 4))
    evaluate(SpikingMLP((4, 5, 10), n_steps=2, beta=0.9, seed=0), x, np.asarray(labels))


def _stdp_config(**kw):
    from sparse_neuro.experiments.stdp_digits import Config

    return Config(**kw)


def _surrogate_config(**kw):
    from sparse_neuro.experiments.digits_surrogate import Config

    return Config(**kw)


def _set(key: str, value: str):
    import sparse_neuro.experiments.stdp_digits as module
    from sparse_neuro.experiments.common import make_config

    return make_config(module, smoke=True, overrides={key: value})


def _run_experiment_seed(seed, tmp_path):
    from sparse_neuro.experiments.common import run_experiment

    run_experiment("stdp-digits", tmp_path, seed=seed, smoke=True)


def _state_of_unrecorded_variable():
    net = Network(
        [Population("exc", 2, LIFParams())], monitors=[StateMonitor("exc", "v", np.array([0]))]
    )
    rec = _clock(net).run(1e-3)
    return rec.states["v"]  # the key is "exc.v"


def _spikes_of_unmonitored_population():
    rec = Recording({}, {}, {}, 1e-4, 1e-3)
    return rec.spikes["exc"]


def _current_amplitude_shape():
    net = Network([Population("a", 3, LIFParams())], currents=[CurrentInjection("a", np.ones(2))])
    _clock(net)


def _set_rates_shape():
    net = Network(
        [Population("a", 3, LIFParams())],
        [Projection("s", "a", _syn(2, 3))],
        sources=[PoissonSource("s", 2, 10.0)],
    )
    _clock(net).drive.set_rates("s", np.ones(3))


def _set_rates_string():
    net = Network(
        [Population("a", 3, LIFParams())],
        [Projection("s", "a", _syn(2, 3))],
        sources=[PoissonSource("s", 2, 10.0)],
    )
    _clock(net).drive.set_rates("s", "10")


def _fractional_run():
    _clock(Network([Population("a", 2, LIFParams())])).run(1.5e-4)


CASES = [
    # (id, call, exception, substrings the message must contain)
    (
        "kwta_k-float",
        lambda: Population("a", 3, kwta_k=2.9),
        ValueError,
        ["kwta_k", "2.9", "[0, 3]"],
    ),
    (
        "kwta_k-string",
        lambda: Population("a", 3, kwta_k="3"),
        ValueError,
        ["kwta_k", "'3'", "[0, 3]"],
    ),
    ("size-bool", lambda: Population("a", True), ValueError, ["size", "True"]),
    (
        "receptor-float",
        lambda: Projection("a", "a", _syn(), receptor=0.7),
        ValueError,
        ["receptor", "0.7"],
    ),
    (
        "poisson-input-receptor",
        lambda: PoissonInput("a", 1, 5.0, 0.1, receptor=0.7),
        ValueError,
        ["receptor", "0.7"],
    ),
    (
        "spike-index-fraction",
        lambda: SpikeArraySource("s", 3, [0.1], [0.5]),
        ValueError,
        ["indices", "0.5", "[0, 3)"],
    ),
    (
        "spike-index-range",
        lambda: SpikeArraySource("s", 3, [0.1], [3]),
        ValueError,
        ["indices", "3", "[0, 3)"],
    ),
    (
        "spike-times-string",
        lambda: SpikeArraySource("s", 3, ["0.1"], [0]),
        ValueError,
        ["times_s", "'0.1'"],
    ),
    ("rate-string", lambda: PoissonSource("s", 3, "10"), ValueError, ["rate_hz", "'10'"]),
    (
        "rate-shape",
        lambda: PoissonSource("s", 3, [1.0, 2.0]),
        ValueError,
        ["rate_hz", "(2,)", "(3,)"],
    ),
    (
        "v_init-shape",
        lambda: Population("a", 3, v_init=[0.0, 0.1]),
        ValueError,
        ["v_init", "(2,)", "(3,)"],
    ),
    ("amplitude-string", lambda: CurrentInjection("a", "0.5"), ValueError, ["amplitude", "'0.5'"]),
    (
        "current-start-string",
        lambda: CurrentInjection("a", 0.5, "0.1"),
        ValueError,
        ["start_s", "'0.1'", "real number"],
    ),
    ("amplitude-shape", _current_amplitude_shape, ValueError, ["amplitude", "(2,)", "(3,)"]),
    ("set_rates-shape", _set_rates_shape, ValueError, ["rate_hz", "(3,)", "(2,)"]),
    ("set_rates-string", _set_rates_string, ValueError, ["rate_hz", "'10'"]),
    (
        "state-monitor-index",
        lambda: StateMonitor("a", "v", [0.5]),
        ValueError,
        ["indices", "0.5", ">= 0"],
    ),
    (
        "weights-int64-beyond-float32",
        lambda: SparseSynapses(np.array([0, 1]), np.array([0]), np.array([2**40 + 1]), 0, 2),
        ValueError,
        ["weights", "int64", "float64"],
    ),
    (
        "weights-string",
        lambda: SparseSynapses.from_dense(np.array([["1"]])),
        ValueError,
        ["weights", "<U1"],
    ),
    (
        "builder-weight-string",
        lambda: SparseSynapses.fixed_probability(3, 3, 0.5, "0.5"),
        ValueError,
        ["weight", "'0.5'"],
    ),
    (
        "builder-p-string",
        lambda: SparseSynapses.fixed_probability(3, 3, "0.5"),
        ValueError,
        ["p", "'0.5'"],
    ),
    (
        "builder-k-float",
        lambda: SparseSynapses.fixed_indegree(3, 3, 1.5),
        ValueError,
        ["k", "1.5", "[0, 3]"],
    ),
    (
        "builder-seed-negative",
        lambda: SparseSynapses.fixed_probability(3, 3, 0.5, seed=-1),
        ValueError,
        ["seed", "-1", "[0, inf]"],
    ),
    (
        "builder-n_pre-float",
        lambda: SparseSynapses.fixed_probability(3.5, 3, 0.5),
        ValueError,
        ["n_pre", "3.5"],
    ),
    (
        "every_steps-float",
        lambda: StateMonitor("a", "v", [0], every_steps=2.5),
        ValueError,
        ["every_steps", "2.5", "[1, inf]"],
    ),
    (
        "builder-weight-shape",
        lambda: SparseSynapses.fixed_probability(3, 4, 0.5, np.ones(3)),
        ValueError,
        ["weight", "(3,)", "(3, 4)"],
    ),
    (
        "multapses-weight-shape",
        lambda: connectivity.fixed_indegree(3, 4, 2, np.ones(7)),
        ValueError,
        ["weight", "(7,)", "(8,)"],
    ),
    (
        "multapses-delay-shape",
        lambda: connectivity.fixed_indegree(3, 4, 2, 1.0, np.ones(7, dtype=int)),
        ValueError,
        ["delay", "(7,)", "(8,)"],
    ),
    (
        "duration-fractional-steps",
        _fractional_run,
        ValueError,
        ["duration_s=0.00015", "1.5 steps", "0.0001 s or 0.0002 s"],
    ),
    (
        "duration-steps-limit",
        lambda: check_duration(1e8, 1e-4, 1),
        ValueError,
        ["duration_s=1e+08", "1e+12 steps", "1e+09"],
    ),
    (
        "duration-tiny-dt",
        lambda: check_duration(0.01, 1e-12, 10),
        ValueError,
        ["dt_s=1e-12", "1e+10 steps", "1e+09"],
    ),
    (
        "labels-beyond-outputs",
        lambda: _train_labels([0, 1, 20, 3]),
        ValueError,
        ["y_train", "20", "[0, 10)"],
    ),
    (
        "labels-fraction",
        lambda: _train_labels([0, 1, 2.5, 3]),
        ValueError,
        ["y_train", "2.5", ">= 0"],
    ),
    (
        "labels-negative",
        lambda: _train_labels([0, -1, 2, 3]),
        ValueError,
        ["y_train", "-1", ">= 0"],
    ),
    (
        "eval-labels-beyond-outputs",
        lambda: _evaluate_labels([0, 11]),
        ValueError,
        ["y labels", "11", "[0, 10)"],
    ),
    ("train-seed-negative", lambda: TrainConfig(seed=-1), ValueError, ["seed", "-1", ">= 0"]),
    ("train-epochs-float", lambda: TrainConfig(epochs=2.5), ValueError, ["epochs", "2.5"]),
    (
        "stdp-w_init_max-nan",
        lambda: _stdp_config(w_init_max=math.nan),
        ValueError,
        ["w_init_max", "nan", "finite"],
    ),
    (
        "stdp-rest_s-inf",
        lambda: _stdp_config(rest_s=math.inf),
        ValueError,
        ["rest_s", "inf", "finite"],
    ),
    (
        "stdp-present_s-fraction",
        lambda: _stdp_config(present_s=0.33333),
        ValueError,
        ["present_s", "0.33333", "whole number of steps of dt_s=0.0005 s"],
    ),
    ("stdp-kwta_k-float", lambda: _stdp_config(kwta_k=2.9), ValueError, ["kwta_k", "2.9"]),
    (
        "surrogate-hidden-float",
        lambda: _surrogate_config(hidden=64.5),
        ValueError,
        ["hidden", "64.5"],
    ),
    (
        "set-w_init_max-nan",
        lambda: _set("w_init_max", "nan"),
        UsageError,
        ["w_init_max", "'nan'", "finite"],
    ),
    ("set-rest_s-inf", lambda: _set("rest_s", "inf"), UsageError, ["rest_s", "'inf'", "finite"]),
    (
        "state-not-recorded",
        _state_of_unrecorded_variable,
        KeyError,
        ["'v'", "not recorded", "exc.v"],
    ),
    (
        "spikes-not-recorded",
        _spikes_of_unmonitored_population,
        KeyError,
        ["'exc'", "not recorded", "SpikeMonitor"],
    ),
]


@pytest.mark.parametrize("call, exc, parts", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_names_parameter_value_and_range(call, exc, parts):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"


def test_run_experiment_seed_out_of_range(tmp_path):
    with pytest.raises(ValueError, match=r"seed must be in \[0, 4294967295\], got -1"):
        _run_experiment_seed(-1, tmp_path)
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize("seed", ["-1", "1.5", "4294967296"])
def test_cli_seed_out_of_range_is_a_usage_error(seed, capsys):
    from sparse_neuro.experiments.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["run", "stdp-digits", "--seed", seed, "--smoke"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and repr(seed) in err and "[0, 4294967295]" in err


def test_raster_accepts_a_recording():
    from sparse_neuro.neuro.plotting import raster

    net = Network([Population("a", 2, LIFParams(bias=2.0))], monitors=[SpikeMonitor("a")])
    rec = _clock(net).run(2e-2)
    assert rec.spikes["a"].n_spikes > 0
    fig = raster(rec, bin_s=5e-3)
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(np.sort(offsets[:, 0]), np.sort(rec.spikes["a"].times_s))
    with pytest.raises(TypeError, match="Recording, SpikeTrains or a mapping"):
        raster(np.zeros(3))


def _experiment_configs():
    import importlib

    from sparse_neuro.experiments.names import EXPERIMENTS

    for name in sorted(EXPERIMENTS):
        module = importlib.import_module(EXPERIMENTS[name])
        if hasattr(module, "Config"):
            yield name, module


@pytest.mark.parametrize("name", [n for n, _ in _experiment_configs()])
def test_every_experiment_config_refuses_a_fraction_for_an_integer(name):
    """Every experiment's Config checks its fields' kinds (its presets still build)."""
    import dataclasses
    import typing

    module = dict(_experiment_configs())[name]
    cfg_cls = module.Config
    for preset in ({}, getattr(module, "SMOKE", {}), getattr(module, "QUICK", {})):
        cfg_cls(**preset)
    ints = [
        f.name
        for f in dataclasses.fields(cfg_cls)
        if typing.get_type_hints(cfg_cls).get(f.name) is int
    ]
    for field in ints:
        with pytest.raises(ValueError, match=field):
            cfg_cls(**{field: 2.5})
