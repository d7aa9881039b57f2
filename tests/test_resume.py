"""Exact, safe resume of the experiments that checkpoint: digits-surrogate and stdp-digits.

A run is interrupted in the middle of its second epoch (deterministically: the training
step raises after N steps, as a kill would stop it), rerun into the same directory, and
must end with weights identical to an uninterrupted run; another seed or setting refuses.
"""

from __future__ import annotations

import numpy as np
import pytest

import sparse_neuro.experiments.stdp_digits as stdp
import sparse_neuro.experiments.surrogate_common as sc
from sparse_neuro.experiments.common import run_experiment
from sparse_neuro.neuro.storage.checkpoint import CheckpointMismatch
from sparse_neuro.neuro.storage.hdf5 import read_arrays


class _Killed(Exception):
    """Stands for the process being killed."""


_STDP = {
    "n_train": "30",
    "n_test": "10",
    "epochs": "2",
    "checkpoint_every": "10",
    "kmeans": "false",
}
_SURR = {
    "epochs": "2",
    "sparse_density": "0",
    "kwta_fraction": "0",
    "spike_input": "false",
    "engine_samples": "0",
}


def _kill_stdp_after(monkeypatch, n: int) -> None:
    real = stdp.Trainer.present
    calls = {"n": 0}

    def present(self, x, learn, *a, **k):
        if learn:
            calls["n"] += 1
            if calls["n"] > n:
                raise _Killed
        return real(self, x, learn, *a, **k)

    monkeypatch.setattr(stdp.Trainer, "present", present)


def test_stdp_digits_resume_is_exact_and_refuses_other_runs(tmp_path, monkeypatch):
    ref = run_experiment("stdp-digits", tmp_path / "ref", smoke=True, overrides=_STDP)
    assert not ref["resumed_from_checkpoint"]
    with monkeypatch.context() as m:
        _kill_stdp_after(m, 30 + 17)  # second epoch, 7 images after its checkpoint at 10
        with pytest.raises(_Killed):
            run_experiment("stdp-digits", tmp_path / "run", smoke=True, overrides=_STDP)
    again = run_experiment("stdp-digits", tmp_path / "run", smoke=True, overrides=_STDP)
    assert again["resumed_from_checkpoint"]
    a = read_arrays(tmp_path / "ref" / "results.h5", "weights")
    b = read_arrays(tmp_path / "run" / "results.h5", "weights")
    np.testing.assert_array_equal(a["w_in"], b["w_in"])
    np.testing.assert_array_equal(a["theta"], b["theta"])
    with pytest.raises(CheckpointMismatch, match="another run"):
        run_experiment("stdp-digits", tmp_path / "run", smoke=True, seed=1, overrides=_STDP)
    with pytest.raises(CheckpointMismatch, match="resume=fresh"):
        run_experiment(
            "stdp-digits", tmp_path / "run", smoke=True, overrides={**_STDP, "present_s": "0.2"}
        )
    fresh = run_experiment(
        "stdp-digits", tmp_path / "run", smoke=True, seed=1, overrides={**_STDP, "resume": "fresh"}
    )
    assert not fresh["resumed_from_checkpoint"]


def test_digits_surrogate_resume_is_exact_and_refuses_other_runs(tmp_path, monkeypatch):
    run_experiment("digits-surrogate", tmp_path / "ref", smoke=True, overrides=_SURR)
    real = sc.train

    def killed_train(*a, **k):
        real(*a, **k, stop_after_batches=22 + 21)  # 22 batches per epoch; checkpoint at 20
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(sc, "train", killed_train)
        with pytest.raises(_Killed):
            run_experiment("digits-surrogate", tmp_path / "run", smoke=True, overrides=_SURR)
    run_experiment("digits-surrogate", tmp_path / "run", smoke=True, overrides=_SURR)
    a = read_arrays(tmp_path / "ref" / "results.h5", "main/weights")
    b = read_arrays(tmp_path / "run" / "results.h5", "main/weights")
    assert a.keys() == b.keys() and a
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # the saved history too: the resumed epoch's loss covers its batches before the kill
    ha = read_arrays(tmp_path / "ref" / "results.h5", "main/history")
    hb = read_arrays(tmp_path / "run" / "results.h5", "main/history")
    for k in ("loss", "test_accuracy"):  # not epoch_seconds: wall time
        np.testing.assert_array_equal(ha[k], hb[k])
    with pytest.raises(CheckpointMismatch):
        run_experiment("digits-surrogate", tmp_path / "run", smoke=True, seed=3, overrides=_SURR)
    with pytest.raises(CheckpointMismatch):
        run_experiment(
            "digits-surrogate", tmp_path / "run", smoke=True, overrides={**_SURR, "beta": "0.9"}
        )
    run_experiment(
        "digits-surrogate", tmp_path / "run", smoke=True, overrides={**_SURR, "resume": "fresh"}
    )
