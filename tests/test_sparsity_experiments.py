"""sparsity-sweep and noise-robustness: smoke runs write the documented summary keys."""

import json

import numpy as np

from experiments.common import run_experiment


def test_sparsity_sweep_smoke_summary_keys_and_figure(tmp_path):
    s = run_experiment("sparsity-sweep", tmp_path, smoke=True,
                       overrides={"methods": "fixed_random,rigl,synflow", "kwta_methods": "rigl"})
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
