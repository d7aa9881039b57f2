"""Provenance on every result (summary.json, results.h5, report.html, checkpoints, sweep
points) and checkpoints that name the module whose change refuses a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sparse_neuro.experiments.__main__ import main
from sparse_neuro.neuro.storage import provenance as prov_mod
from sparse_neuro.neuro.storage.checkpoint import (
    PROVENANCE_ENTRY,
    read_state_dict,
    write_state_dict,
)
from sparse_neuro.neuro.storage.provenance import git_state, provenance

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "sparse_neuro",
    "git",
    "python",
    "platform",
    "dependencies",
    "cpu",
    "threads",
    "date",
    "command_line",
}


def _check_block(p: dict) -> None:
    import sparse_neuro

    assert set(p) == KEYS
    assert p["sparse_neuro"] == sparse_neuro.__version__
    assert p["dependencies"]["numpy"] == np.__version__
    assert {"numba", "llvmlite", "torch", "brian2", "nest-simulator", "scipy", "h5py"} <= set(
        p["dependencies"]
    )
    assert p["cpu"]["logical_cpus"] == os.cpu_count() and isinstance(p["cpu"]["flags"], list)
    assert p["date"].endswith("+00:00")
    assert isinstance(p["command_line"], list)


def test_provenance_block_and_git_state(tmp_path, monkeypatch):
    p = provenance()
    _check_block(p)
    json.dumps(p)  # serialisable as it is
    if (ROOT / ".git").exists():  # a checkout (a worktree has a .git file)
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert p["git"]["commit"] == head and isinstance(p["git"]["dirty"], bool)
    # not a checkout, and a folder inside some other repository: no commit claimed
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
    assert git_state(ROOT / "neuro") == {"commit": None, "dirty": None}
    # no git at all
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_state(ROOT) == {"commit": None, "dirty": None}


def test_provenance_does_not_import_nest():
    code = (
        "import sys; from sparse_neuro.neuro.storage.provenance import provenance; provenance(); "
        "print(sorted(m for m in ('nest', 'torch', 'brian2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_run_outputs_carry_provenance_and_report_regenerates(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "cuba", "--smoke", "-q", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    _check_block(summary["provenance"])
    with h5py.File(out / "results.h5", "r") as f:
        _check_block(json.loads(f.attrs["provenance"]))
    page = (out / "report.html").read_text()
    assert 'id="provenance"' in page and summary["provenance"]["date"] in page
    assert f"sparse-neuro</td><td>{summary['provenance']['sparse_neuro']}" in page
    capsys.readouterr()
    # `sparse-neuro report DIR` writes the page again from the run's files
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    again = (out / "report.html").read_text()
    assert again == page  # the run's provenance, not that of the process rendering it
    assert main(["report", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "no summary.json" in err and len(err.strip().splitlines()) == 1


def test_a_sweep_point_records_provenance(tmp_path):
    from sparse_neuro.experiments.sweep import _run_point

    res = _run_point("stdp-window", str(tmp_path / "p"), 0, True, {})
    assert res["status"] == "finished", res
    _check_block(json.loads((tmp_path / "p" / "summary.json").read_text())["provenance"])


def test_state_dict_checkpoint_records_provenance(tmp_path):
    path = tmp_path / "s.npz"
    write_state_dict(path, {"v": np.arange(3.0), "step": 4})
    with np.load(path) as z:
        _check_block(json.loads(str(z[PROVENANCE_ENTRY])))
    d = read_state_dict(path)
    assert set(d) == {"v", "step"} and d["step"] == 4


def test_training_checkpoint_names_the_changed_module(tmp_path, monkeypatch):
    """The resume of a real training run is refused with the module that changed (the
    sources are "edited" by changing one module's recorded hash)."""
    import torch

    from sparse_neuro.encoders import load_digits_split
    from sparse_neuro.learning.training import TrainConfig, train
    from sparse_neuro.neuro.storage import checkpoint
    from sparse_neuro.neuro.storage.checkpoint import CheckpointMismatch
    from sparse_neuro.neuro.train import SpikingMLP

    d = load_digits_split()
    x, y = d.x_train[:100], d.y_train[:100]
    ck = tmp_path / "ck.pt"
    cfg = TrainConfig(epochs=2, batch_size=50)
    torch.manual_seed(0)
    model = SpikingMLP((64, 16, 10), n_steps=4, seed=0)
    train(model, x, y, cfg, checkpoint_path=ck, progress=False, stop_after_batches=3)
    state = torch.load(ck, weights_only=True)
    _check_block(json.loads(state["provenance"]))
    hashes = dict(checkpoint.source_hashes())
    name = "sparse_neuro/neuro/engines/primitives.py"
    hashes[name] = "0" * 16
    monkeypatch.setattr(checkpoint, "source_hashes", lambda: hashes)
    monkeypatch.setattr(checkpoint, "code_version", lambda: "0.2.0+src.edited")
    with pytest.raises(CheckpointMismatch, match=f"{name} changed since the checkpoint"):
        train(model, x, y, cfg, checkpoint_path=ck, progress=False)


PROBE = r"""
import json, sys
import numpy as np
from sparse_neuro.neuro.storage.checkpoint import (check_identity, run_identity, seal_arrays,
                                                   verify_arrays)
path = sys.argv[2]
identity = run_identity({"n": 1}, seed=0)
if sys.argv[1] == "save":
    np.savez(path, **seal_arrays({"w": np.ones(3), **identity}))
else:
    with np.load(path) as z:
        stored = {k: str(v) for k, v in verify_arrays(dict(z), path).items() if k != "w"}
    try:
        check_identity(stored, identity, path)
        print("resumed")
    except ValueError as e:
        print(e)
"""


def _probe(lib: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(lib)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=lib,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_resume_after_an_edit_of_a_kernel_names_the_module(tmp_path):
    """A copy of the library saves a checkpoint; one of its kernels' sources is edited; a new
    process refuses to resume and says which module changed."""
    from sparse_neuro._layout import assemble

    lib = assemble(ROOT, tmp_path / "lib", copy=True)
    ck = str(tmp_path / "ck.npz")
    _probe(lib, "save", ck)
    assert _probe(lib, "resume", ck) == "resumed"
    path = "sparse_neuro/neuro/engines/primitives.py"
    with open(lib / path, "a") as f:
        f.write("\n# an edit\n")
    msg = _probe(lib, "resume", ck)
    assert f"{path} changed since the checkpoint was written" in msg, msg
    assert "refusing to resume" in msg and "resume=fresh" in msg


def test_provenance_is_computed_once_per_process():
    assert prov_mod._static() is prov_mod._static()
