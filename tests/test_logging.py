"""Logging instead of bars when stderr is not a terminal: training epochs and sweep points
as one-line log records; ``-q`` keeps only warnings."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What a tqdm bar leaves in a log: carriage returns, block characters, its rate unit.
BAR_MARKS = ("\r", "█", "it/s", "s/it", "|##")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "sparse_neuro", *args],
        capture_output=True,  # stderr is a pipe, not a terminal
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


@pytest.mark.slow  # about 40 s: a fresh process imports torch and compiles the engine
def test_training_logs_epochs_without_bars_on_the_command_line(tmp_path):
    r = _cli("run", "digits-surrogate", "--smoke", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    epochs = [
        line for line in r.stderr.splitlines() if "sparse_neuro.learning.training: epoch" in line
    ]
    assert epochs, r.stderr[-3000:]
    assert all("loss" in line and "accuracy" in line and " s" in line for line in epochs)
    assert not [m for m in BAR_MARKS if m in r.stderr], r.stderr[-3000:]


def test_quiet_silences_info(tmp_path):
    r = _cli("run", "stdp-window", "--smoke", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert r.returncode == 0 and "INFO sparse_neuro.experiments: stdp-window finished" in r.stderr
    q = _cli("run", "stdp-window", "--smoke", "-q", "--out", str(tmp_path / "q"), cwd=tmp_path)
    assert q.returncode == 0, q.stderr[-3000:]
    assert q.stderr == ""


def test_train_defaults_to_no_bar_off_a_terminal(capsys, caplog):
    """``train(progress=None)``, the default: a bar only on a terminal (pytest's captured
    stderr is not one), one INFO record per epoch."""
    import torch

    from sparse_neuro.encoders import load_digits_split
    from sparse_neuro.learning.training import TrainConfig, train
    from sparse_neuro.neuro.train import SpikingMLP

    d = load_digits_split()
    torch.manual_seed(0)
    with caplog.at_level(logging.INFO, logger="sparse_neuro.learning.training"):
        train(
            SpikingMLP((64, 16, 10), n_steps=4, seed=0),
            d.x_train[:100],
            d.y_train[:100],
            TrainConfig(epochs=2, batch_size=50),
            eval_data=(d.x_test[:50], d.y_test[:50]),
        )
    err = capsys.readouterr().err
    assert not [m for m in BAR_MARKS if m in err], err
    msgs = [r.getMessage() for r in caplog.records if r.name == "sparse_neuro.learning.training"]
    assert [m.split(":")[0] for m in msgs] == ["epoch 1/2", "epoch 2/2"]
    assert all("test accuracy" in m for m in msgs)


def test_sweep_progress_line():
    from sparse_neuro.experiments.sweep import progress_line

    assert progress_line("cuba", 3, 1, 10, 90.0) == (
        "sweep cuba: 3 of 10 points done (1 failed), 7 left, about 3.5 min left"
    )
    assert progress_line("cuba", 4, 0, 4, 20.0).endswith("0 left, all done in 20 s")
    assert "about 2.0 h left" in progress_line("x", 1, 0, 3, 3600.0)


def test_a_sweep_logs_points_done_failed_and_left(tmp_path, caplog):
    from sparse_neuro.experiments.sweep import run_sweep

    with caplog.at_level(logging.INFO, logger="sparse_neuro.experiments.sweep"):
        r = run_sweep("stdp-window", tmp_path, {"n_pairs": ["4"]}, [0, 1], smoke=True, workers=1)
    assert r["finished"] == 2
    msgs = [r.getMessage() for r in caplog.records]
    done = [m for m in msgs if "points done" in m]
    assert done[0].startswith("sweep stdp-window: 1 of 2 points done (0 failed), 1 left, about")
    assert done[-1].startswith("sweep stdp-window: 2 of 2 points done (0 failed), 0 left, all done")
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return
    assert any(m.startswith("Dask dashboard: http://127.0.0.1:") for m in msgs), msgs
