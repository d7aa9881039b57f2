"""The experiments runner: list, run --smoke, --set parsing, --help, errors, demo index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from sparse_neuro.experiments.common import make_config, run_experiment
from sparse_neuro.experiments.names import DEMO, EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sparse_neuro", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_list_names_every_experiment():
    out = _cli("list")
    assert out.returncode == 0, out.stderr
    for name in EXPERIMENTS:
        assert f"{name}:" in out.stdout
    assert set(DEMO) <= set(EXPERIMENTS)


def test_cuba_smoke_writes_summary_results_and_raster(tmp_path):
    summary = run_experiment("cuba", tmp_path, seed=1, smoke=True)
    for key in ("mean_rate_hz", "median_isi_cv", "n_spikes", "sim_wall_s", "total_wall_s"):
        assert key in summary
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["n_spikes"] == summary["n_spikes"] > 0
    assert (tmp_path / "raster.png").stat().st_size > 10_000
    with h5py.File(tmp_path / "results.h5") as f:
        assert f["spikes/times_s"].shape[0] == summary["n_spikes"]
    # the same seed reproduces the run exactly
    again = run_experiment("cuba", tmp_path / "again", seed=1, smoke=True)
    assert again["n_spikes"] == summary["n_spikes"]


def test_set_overrides_are_typed_and_validated():
    import sparse_neuro.experiments.cuba as cuba

    cfg = make_config(cuba, smoke=True, overrides={"duration_s": "0.05", "n_neurons": "500"})
    assert cfg.duration_s == 0.05 and cfg.n_neurons == 500
    with pytest.raises(ValueError, match="unknown parameter 'nope'; valid keys: duration_s"):
        make_config(cuba, overrides={"nope": "1"})
    with pytest.raises(ValueError, match="cannot read it as int"):
        make_config(cuba, overrides={"n_neurons": "many"})
    with pytest.raises(ValueError, match="dt_s must be in"):
        make_config(cuba, overrides={"dt_s": "-1"})


def test_cli_help_lists_keys_and_bad_name_fails():
    out = _cli("run", "cuba", "--help")
    assert out.returncode == 0 and "duration_s = 1.0" in out.stdout
    bad = _cli("run", "nonexistent", "--out", "/tmp/x")
    assert bad.returncode == 2 and "unknown experiment 'nonexistent'" in bad.stderr


def test_demo_index_page(tmp_path, monkeypatch):
    import sparse_neuro.experiments.demo as demo

    monkeypatch.setattr(demo, "DEMO", ["cuba"])
    demo.run_demo(tmp_path, smoke=True)
    page = (tmp_path / "index.html").read_text()
    assert "cuba/raster.png" in page and "mean_rate_hz" in page
    # the tour's own provenance block, not each run's dict in the summary tables
    assert page.count('id="provenance"') == 1 and "command_line" not in page
    assert "provenance" in json.loads((tmp_path / "summary.json").read_text())
    # `sparse-neuro report DIR` of a tour writes its index again, the same page
    from sparse_neuro.experiments.__main__ import main

    (tmp_path / "index.html").unlink()
    assert main(["report", str(tmp_path), "-q"]) == 0
    assert (tmp_path / "index.html").read_text() == page
