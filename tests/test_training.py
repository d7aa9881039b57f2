"""BPTT trainer: learning, evaluation statistics, checkpoint/resume exactness."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sparse_neuro.encoders import load_digits_split
from sparse_neuro.learning.training import TrainConfig, count_ce_loss, evaluate, rate_input, train
from sparse_neuro.neuro.train import SpikingMLP


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread avoids OpenMP spinning on the shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def digits():
    return load_digits_split()


def _model(seed=0):
    return SpikingMLP((64, 32, 10), n_steps=10, beta=0.9, seed=seed)


def test_training_learns_and_reports_statistics(digits):
    m = _model()
    before = evaluate(m, digits.x_test, digits.y_test)["accuracy"]
    res = train(
        m,
        digits.x_train,
        digits.y_train,
        TrainConfig(epochs=3, batch_size=64, lr=5e-3),
        loss_fn=count_ce_loss,
        eval_data=(digits.x_test, digits.y_test),
        progress=False,
    )
    ev = evaluate(m, digits.x_test, digits.y_test)
    assert ev["accuracy"] > 0.8 > before + 0.3
    assert len(res.loss) == 3 and res.loss[-1] < res.loss[0]
    assert res.test_accuracy[-1] == pytest.approx(ev["accuracy"])
    # statistics are consistent with the raster: recount by hand
    with torch.no_grad():
        out = m(torch.as_tensor(digits.x_test))
    assert ev["spikes_per_sample"][0] == pytest.approx(
        float(out.hidden[0].sum()) / len(digits.x_test)
    )
    frac = float((out.spikes == 0).float().mean())
    assert ev["activation_sparsity"][1] == pytest.approx(frac)


def test_config_validation():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1.0)


def test_interrupted_run_resumes_to_identical_weights(digits, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=100, lr=3e-3, seed=4, checkpoint_every=3)
    x, y = digits.x_train[:700], digits.y_train[:700]
    enc = rate_input(10)  # per-batch seeded encoding must also resume exactly
    ref = _model(1)
    train(ref, x, y, cfg, encode=enc, progress=False)
    ck = tmp_path / "ck.pt"
    m = _model(1)
    train(m, x, y, cfg, encode=enc, checkpoint_path=ck, progress=False, stop_after_batches=5)
    m2 = _model(99)  # a fresh process: weights come from the checkpoint only
    res = train(m2, x, y, cfg, encode=enc, checkpoint_path=ck, progress=False)
    assert res.resumed_from == (0, 3)
    for a, b in zip(ref.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_with_other_config_is_refused(digits, tmp_path):
    ck = tmp_path / "ck.pt"
    train(
        _model(),
        digits.x_train[:200],
        digits.y_train[:200],
        TrainConfig(epochs=1, batch_size=100),
        checkpoint_path=ck,
        progress=False,
    )
    with pytest.raises(ValueError, match="TrainConfig"):
        train(
            _model(),
            digits.x_train[:200],
            digits.y_train[:200],
            TrainConfig(epochs=2, batch_size=50),
            checkpoint_path=ck,
            progress=False,
        )


_SCRIPT = """
import sys, torch
torch.set_num_threads(1)
from sparse_neuro.encoders import load_digits_split
from sparse_neuro.learning.training import TrainConfig, train
from sparse_neuro.neuro.train import SpikingMLP

d = load_digits_split()
m = SpikingMLP((64, 64, 10), n_steps=10, beta=0.9, seed=1)
train(m, d.x_train, d.y_train, TrainConfig(epochs=3, batch_size=32, lr=2e-3, seed=2, checkpoint_every=1),
      checkpoint_path=sys.argv[1], progress=False)
torch.save(m.state_dict(), sys.argv[2])
"""


@pytest.mark.slow
def test_killed_process_resumes_to_identical_weights(digits, tmp_path):
    ck, final = tmp_path / "ck.pt", tmp_path / "final.pt"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(ck), str(final)], env=env)
    deadline = time.time() + 60
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if final.exists() or not ck.exists():
        pytest.skip("the run was not interrupted mid-way (machine too fast/slow)")
    state = torch.load(ck, weights_only=True)
    assert (state["epoch"], state["batch"]) < (3, 0)
    cfg = TrainConfig(epochs=3, batch_size=32, lr=2e-3, seed=2, checkpoint_every=1)
    resumed = SpikingMLP((64, 64, 10), n_steps=10, beta=0.9, seed=7)
    train(resumed, digits.x_train, digits.y_train, cfg, checkpoint_path=ck, progress=False)
    ref = SpikingMLP((64, 64, 10), n_steps=10, beta=0.9, seed=1)
    train(ref, digits.x_train, digits.y_train, cfg, progress=False)
    for a, b in zip(ref.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


class _Killed(Exception):
    """Stands for the process being killed in the middle of an epoch."""


@pytest.mark.parametrize("kill_at", [5, 12])  # in the first epoch; in the second
def test_loss_history_after_a_mid_epoch_resume_is_exact(digits, tmp_path, kill_at):
    """The resumed epoch's loss and accuracy cover all its batches, as an uninterrupted
    run's do (they used to cover only the batches after the resume)."""
    cfg = TrainConfig(epochs=2, batch_size=100, lr=3e-3, seed=4, checkpoint_every=3)
    x, y = digits.x_train[:700], digits.y_train[:700]
    ev = (digits.x_test[:100], digits.y_test[:100])
    ref = train(_model(1), x, y, cfg, eval_data=ev, loss_fn=count_ce_loss, progress=False)
    calls = {"n": 0}

    def dying_loss(out, target):  # a callback of every batch: raising kills the run there
        calls["n"] += 1
        if calls["n"] > kill_at:
            raise _Killed
        return count_ce_loss(out, target)

    ck = tmp_path / "ck.pt"
    with pytest.raises(_Killed):
        train(
            _model(1),
            x,
            y,
            cfg,
            eval_data=ev,
            loss_fn=dying_loss,
            checkpoint_path=ck,
            progress=False,
        )
    res = train(
        _model(99),
        x,
        y,
        cfg,
        eval_data=ev,
        loss_fn=count_ce_loss,
        checkpoint_path=ck,
        progress=False,
    )
    assert res.resumed_from == ((0, 3) if kill_at == 5 else (1, 3))  # mid-epoch checkpoints
    assert res.loss == ref.loss and len(res.loss) == 2
    assert res.train_accuracy == ref.train_accuracy
    assert res.test_accuracy == ref.test_accuracy
