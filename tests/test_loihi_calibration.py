"""loihi-calibration: the host-term fit recovers known parameters; the smoke run's table."""

import h5py
import numpy as np
import pytest

from sparse_neuro.experiments.common import run_experiment
from sparse_neuro.experiments.loihi_calibration import (
    PUBLISHED_PER_EVENT,
    WORKLOADS,
    Workload,
    fit_host_terms,
    scaled_kws_network,
)


def test_fit_host_terms_recovers_known_parameters():
    t_step_us, t_msg_us, p_mw = 150.0, 2.5, 80.0
    chip = {
        "a": {"time_us": 200.0, "steps": 10, "input_msgs": 800.0, "energy_uj": 5.0},
        "b": {"time_us": 150.0, "steps": 10, "input_msgs": 3200.0, "energy_uj": 6.0},
        "c": {"time_us": 180.0, "steps": 20, "input_msgs": 100.0, "energy_uj": 9.0},
    }
    measured = {}
    for n, c in chip.items():
        time = c["time_us"] + c["steps"] * t_step_us + c["input_msgs"] * t_msg_us
        measured[n] = Workload(n, 0, 0, 1, c["energy_uj"] + p_mw * 1e-3 * time, 0.0, time, "fit")
    got = fit_host_terms(chip, measured)
    assert got["t_host_step_ns"] == pytest.approx(t_step_us * 1e3)
    assert got["t_input_msg_ns"] == pytest.approx(t_msg_us * 1e3)
    assert got["p_host_mw"] == pytest.approx(p_mw)


def test_scaled_network_topology():
    kws = scaled_kws_network(0, 0, 0)
    assert [p.size for p in kws.populations] == [256, 256, 29]
    big = scaled_kws_network(0, 2, 3)
    assert big.n_neurons == 256 * (2 + 2 * 3) + 29
    l1 = next(p for p in big.projections if p.target == "l1" and p.source == "c0_2")
    assert l1.synapses.n_synapses == 256 * 256


def test_calibration_smoke(tmp_path):
    s = run_experiment("loihi-calibration", tmp_path, smoke=True)
    rows = s["calibration"]
    assert [r["name"] for r in rows] == [w.name for w in WORKLOADS if w.n_copies <= 1]
    for r in rows:
        for k in (
            "name",
            "source",
            "measured_energy_uj",
            "model_energy_uj",
            "measured_time_us",
            "model_time_us",
        ):
            assert k in r
        assert r["model_energy_uj"] > 0 and r["model_time_us"] > 0
        # the model's total adds the static power over the modelled time
        assert r["model_total_energy_uj"] - r["model_energy_uj"] == pytest.approx(
            29.5e-3 * r["model_time_us"]
        )
    # the preset's host terms are the fit (same seed and sizes as the full run's fit)
    for k, v in s["host_terms_fitted"].items():
        assert s["host_terms_preset"][k] == pytest.approx(v, rel=0.02)
    mc = s["microcircuit"]
    assert mc["neurons"] == 77169 and not mc["fits_published_limits"]
    assert mc["chips"] * 128 >= mc["cores"] > (mc["chips"] - 1) * 128
    assert (tmp_path / "measured_vs_model.png").is_file()
    assert (tmp_path / "microcircuit_platforms.png").is_file()
    assert [p["energy_per_synaptic_event_uj"] for p in mc["published_per_event"]] == [
        e for _, _, _, e in PUBLISHED_PER_EVENT
    ]
    with h5py.File(tmp_path / "results.h5") as f:
        assert np.asarray(f["calibration/model_time_us"]).size == len(rows)
