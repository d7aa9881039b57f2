"""Smoke runs of the loihi-energy and double-sparsity experiments (summary keys, invariants)."""

import json

import h5py
import pytest

from sparse_neuro.experiments.common import run_experiment

KEYS = (
    "energy_per_inference_uj",
    "synaptic_ops_per_inference",
    "neuron_updates_per_inference",
    "cores_used",
    "dense_baseline_energy_uj",
    "energy_ratio_dense_over_loihi",
    "latency_per_inference_us",
)


def test_double_sparsity_smoke(tmp_path):
    s = run_experiment("double-sparsity", tmp_path, smoke=True)
    # 20% active x 20% connected: ~4% of the dense multiplications
    assert s["ops_fraction_at_20_20"] == pytest.approx(0.04, rel=0.1)
    assert s["max_rel_error_vs_product"] < 0.05
    assert (tmp_path / "double_sparsity.png").is_file()
    with h5py.File(tmp_path / "results.h5") as f:
        assert f["double_sparsity/ops_fraction"].shape == (2, 2)


@pytest.mark.slow
def test_loihi_energy_smoke(tmp_path):
    s = run_experiment("loihi-energy", tmp_path, smoke=True)
    for k in KEYS:
        assert k in s and s[k] > 0
    assert s["energy_ratio_dense_over_loihi"] > 1
    assert s["neuron_updates_per_inference"] == (128 + 10) * 27  # every compartment, every step
    assert s["fixed_spike_count_correlation"] > 0.9
    assert s["kws_blouw_measured_loihi_uj"] == 270
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cores_used"] == s["cores_used"]
    for fig in ("digits_breakdown", "digits_core_heatmap", "kws_breakdown", "cuba_core_heatmap"):
        assert (tmp_path / f"{fig}.png").is_file()
    with h5py.File(tmp_path / "results.h5") as f:
        assert "digits/energy_float/core_energy_pj" in f and "cuba/energy/step_time_ns" in f
