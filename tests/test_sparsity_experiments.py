"""sparsity-sweep and noise-robustness: smoke runs write the documented summary keys."""

import json

import numpy as np

from sparse_neuro.experiments.common import run_experiment


def test_sparsity_sweep_smoke_summary_keys_and_figure(tmp_path):
    s = run_experiment(
        "sparsity-sweep",
        tmp_path,
        smoke=True,
        overrides={"methods": "fixed_random,rigl,synflow", "kwta_methods": "rigl"},
    )
    assert set(s["accuracy"]) == {"fixed_random", "rigl", "synflow"}
    assert set(s["energy_uj"]["rigl"]) == {"0.2"}
    assert 0 <= s["accuracy"]["rigl"]["0.2"] <= 1 and 0 <= s["dense_accuracy"] <= 1
    # 20% of the synapses cost fewer synaptic operations than the dense network
    assert 0 < s["syn_ops_per_inference"]["rigl"]["0.2"] < s["dense_syn_ops_per_inference"]
    assert s["energy_uj"]["rigl"]["0.2"] < s["dense_energy_uj"]
    assert "rigl" in s["kwta_accuracy"]
    assert (tmp_path / "sparsity_sweep.png").stat().st_size > 10_000
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["accuracy"] == s["accuracy"]
    assert np.isfinite(on_disk["sensitivity"]["layer 0 (64-32)"]["0.1"])
    assert on_disk["data"] == {"split": "sklearn-digits: 1347 train / 450 test (stratified)"}
    import torch

    (dense,) = (tmp_path / "checkpoints").glob("*-dense.pt")  # the stored dense weights
    assert "numpy" in json.loads(torch.load(dense, weights_only=True)["provenance"])["dependencies"]


def test_replace_with_noise_replaces_the_stated_fraction():
    from sparse_neuro.experiments.noise_robustness import replace_with_noise

    x = np.full((50, 100), 2.0, dtype=np.float32)  # outside [0, 1]: replaced pixels are visible
    y = replace_with_noise(x, 0.3, seed=0)
    assert np.all((y == 2.0).sum(1) == 70) and np.all((y[y != 2.0] >= 0) & (y[y != 2.0] < 1))
    assert np.array_equal(replace_with_noise(x, 0.0, 1), x)


def test_noise_robustness_smoke_summary_keys(tmp_path):
    s = run_experiment("noise-robustness", tmp_path, smoke=True)
    assert s["noise_levels"] == [0.0, 0.5]
    assert set(s["accuracy"]) == {"dense", "sparse", "sparse_kwta"}
    assert all(len(v) == 2 and all(0 <= a <= 1 for a in v) for v in s["accuracy"].values())
    assert all(len(v) == 2 for v in s["accuracy_per_seed"]["dense"])  # 2 seeds
    assert (tmp_path / "noise_robustness.png").stat().st_size > 10_000
    assert s["data"]["split"].startswith("mnist-test-10k: ") and s["data"]["test_used"] == 200


def test_sweep_grid_budget_selects_and_orders_points():
    from sparse_neuro.experiments.sparsity_sweep import Config, _grid

    cfg = Config(
        methods=("rigl", "snip", "set"),
        densities=(0.1, 0.02, 0.5),
        full_methods=("rigl",),
        reduced_densities=(0.1,),
        kwta_methods=("rigl",),
        kwta_densities=(0.02,),
    )
    assert _grid(cfg) == [
        ("rigl", 0.1, False),
        ("snip", 0.1, False),
        ("set", 0.1, False),
        ("rigl", 0.02, False),
        ("rigl", 0.5, False),
        ("rigl", 0.02, True),
    ]
    every = _grid(Config(methods=("rigl", "snip"), densities=(0.1, 0.5), kwta_methods=()))
    assert len(every) == 4  # no full_methods: every method at every density


def test_noise_point_identity_depends_only_on_the_network_own_parameters():
    from dataclasses import replace

    from sparse_neuro.experiments.noise_robustness import Config, _identity

    a = Config(epochs=2)
    ids = lambda c: [_identity(c, n, 0) for n in ("dense", "sparse", "sparse_kwta")]  # noqa: E731
    k, w, e = replace(a, kwta_fraction=0.2), replace(a, weight_density=0.5), replace(a, epochs=3)
    assert ids(k)[:2] == ids(a)[:2] and ids(k)[2] != ids(a)[2]
    assert ids(w)[0] == ids(a)[0] and ids(w)[1] != ids(a)[1] and ids(w)[2] != ids(a)[2]
    assert all(x != y for x, y in zip(ids(e), ids(a)))
    assert ids(replace(a, seeds=5)) == ids(a)
