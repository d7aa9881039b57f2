"""Files that cannot run code, lie or leak: registry, checksums, fuzzing, kills, clean failure."""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.model.inputs import PoissonSource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import Recording, SpikeTrains, StateTrace
from sparse_neuro.neuro.storage.atomic import WriteError, atomic_open, temp_files_of
from sparse_neuro.neuro.storage.hdf5 import (
    load_network,
    load_recording,
    save_network,
    save_recording,
)
from sparse_neuro.neuro.storage.integrity import FormatError

ROOT = Path(__file__).resolve().parents[1]


def _net(n_pre: int = 12, n_post: int = 6, p: float = 0.5, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    syn = SparseSynapses.fixed_probability(n_pre, n_post, p, 0.1, seed=seed)
    syn = syn.with_weights(rng.uniform(0, 1, syn.n_synapses).astype(syn.weights.dtype))
    pop = Population(
        "exc",
        n_post,
        LIFParams(tau_mem_s=0.02, t_ref_s=2e-3),
        kwta_k=2,
        adaptation=ThresholdAdaptation(theta_plus=0.05, tau_theta_s=1.0),
    )
    return Network(
        [pop],
        [Projection("inp", "exc", syn, plasticity=STDPRule(a_plus=0.02))],
        [PoissonSource("inp", n_pre, rng.uniform(5, 50, n_pre))],
        monitors=[SpikeMonitor("exc")],
    )


def _recording() -> Recording:
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 0.1, 40))
    st = SpikeTrains(t, rng.integers(0, 5, 40), 5, 0.1)
    tr = StateTrace(np.arange(5) * 0.01, np.array([0, 3]), rng.normal(size=(5, 2)))
    return Recording(
        {"exc": st}, {"exc.v": tr}, {"exc": rng.uniform(0, 10, 100)}, 1e-3, 0.1, {"engine": "clock"}
    )


def _digest(path: Path) -> str:
    with h5py.File(path, "r") as f:
        return str(f.attrs["checksum"])


@contextlib.contextmanager
def _deadline(seconds: int):
    """Fail (rather than hang) if the block takes longer than ``seconds``."""

    def boom(signum, frame):
        raise TimeoutError(f"a load took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------------- security
def test_class_path_payload_is_refused_and_runs_nothing(tmp_path):
    path = tmp_path / "net.h5"
    save_network(path, _net())
    marker = tmp_path / "marker"
    payload = f'{{"class": "sparse_neuro.neuro.storage.hdf5:os.system", "fields": {{"command": "touch {marker}"}}}}'
    for attr in ("projections/0:plasticity", "populations/exc:adaptation.json"):
        bad = tmp_path / "bad.h5"
        shutil.copy(path, bad)
        obj, name = attr.split(":")
        with h5py.File(bad, "a") as f:
            f[obj].attrs[name] = payload
            from sparse_neuro.neuro.storage.integrity import (
                stamp_integrity,  # a forger can recompute the checksum
            )

            stamp_integrity(f)
        with pytest.raises(
            FormatError, match="unknown parameter class 'sparse_neuro.neuro.storage.hdf5:os.system'"
        ):
            load_network(bad)
        assert not marker.exists()


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_checkpoint_payload_is_refused_and_runs_nothing(tmp_path):
    from sparse_neuro.learning.training import load_checkpoint

    marker = tmp_path / "marker"
    ck = tmp_path / "ck.pt"
    torch.save({"model": _Payload(marker)}, ck)
    with pytest.raises(FormatError, match="not a safe training checkpoint"):
        load_checkpoint(ck)
    npz = tmp_path / "ck.npz"
    with open(npz, "wb") as fh:
        np.savez(fh, step=np.array(_Payload(marker), dtype=object))
    from sparse_neuro.experiments.stdp_digits import Config, Trainer, diehl_cook_network

    cfg = Config(n_neurons=4, kwta_k=1)
    tr = Trainer(diehl_cook_network(16, cfg), cfg, seed=0)
    with pytest.raises(FormatError, match="holds Python objects") as err:  # from the header
        tr.load(npz)
    assert str(npz) in str(err.value)
    with open(tmp_path / "raw.pkl", "wb") as fh:
        pickle.dump(_Payload(marker), fh)
    with pytest.raises(FormatError):
        load_checkpoint(tmp_path / "raw.pkl")
    assert not marker.exists()


# ----------------------------------------------------------------------------- fuzzing
def _variants(src: Path, work: Path, rng: np.random.Generator):
    """Yield paths of damaged copies of ``src`` (each overwriting the previous one)."""
    data = src.read_bytes()
    out = work / "v.h5"
    for n in sorted(rng.integers(0, len(data), 15)):
        out.write_bytes(data[:n])
        yield f"truncated to {n}", out
    for _ in range(80):
        b = bytearray(data)
        k = int(rng.integers(len(b)))
        b[k] ^= int(rng.integers(1, 256))
        out.write_bytes(bytes(b))
        yield f"byte {k} flipped", out
    with h5py.File(src, "r") as f:
        objs = []
        f.visititems(lambda name, obj: objs.append((name, isinstance(obj, h5py.Dataset))))
        attrs = [(n, a) for n in ["/", *[o for o, _ in objs]] for a in f[n].attrs]
    for name, _ in objs:
        shutil.copy(src, out)
        with h5py.File(out, "a") as f:
            del f[name]
        yield f"deleted {name}", out
    for name, a in attrs:
        shutil.copy(src, out)
        with h5py.File(out, "a") as f:
            del f[name].attrs[a]
        yield f"deleted attribute {name}.{a}", out
    for name, is_ds in objs:
        if not is_ds:
            continue
        for change in ("int8", "float32", "append"):
            shutil.copy(src, out)
            with h5py.File(out, "a") as f:
                d = f[name][()]
                del f[name]
                if change == "append":
                    f[name] = np.concatenate([np.atleast_1d(d), np.atleast_1d(d)[:1]])
                else:
                    f[name] = np.asarray(d).astype(change) if np.asarray(d).dtype.kind != "O" else d
            yield f"{name} {change}", out
    out.write_bytes(rng.bytes(2000))
    yield "random bytes", out
    out.write_bytes(b"")
    yield "empty file", out
    out.write_text("neuro-network\n")
    yield "text file", out
    out.unlink()
    os.mkfifo(out)
    yield "FIFO", out
    out.unlink()


@pytest.mark.parametrize("kind", ["network", "recording"])
def test_fuzzed_files_load_identically_or_raise_format_error(tmp_path, kind):
    save, load = (
        (save_network, load_network) if kind == "network" else (save_recording, load_recording)
    )
    src = tmp_path / "orig.h5"
    save(src, _net() if kind == "network" else _recording())
    want = _digest(src)
    outcomes = {"identical": 0, "FormatError": 0}
    for what, path in _variants(src, tmp_path, np.random.default_rng(12)):
        with _deadline(5):
            try:
                obj = load(path)
            except FormatError:
                outcomes["FormatError"] += 1
                continue
        again = tmp_path / "again.h5"
        save(again, obj)
        assert _digest(again) == want, f"{what}: loaded different content"
        outcomes["identical"] += 1
    print(kind, outcomes)
    assert sum(outcomes.values()) > 130 and outcomes["FormatError"] > 70, outcomes


def test_old_schema_and_non_regular_paths(tmp_path):
    path = tmp_path / "net.h5"
    save_network(path, _net())
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 1
    with pytest.raises(FormatError, match="schema version 1 has no checksum"):
        load_network(path)
    with pytest.raises(FormatError, match="not a regular file"):
        load_network(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_recording(tmp_path / "missing.h5")


@pytest.mark.parametrize(
    "change",
    ["negative size", "index beyond size", "negative time", "nan duration", "string rates"],
)
def test_recording_values_are_validated_even_with_a_valid_checksum(tmp_path, change):
    from sparse_neuro.neuro.storage.integrity import stamp_integrity

    path = tmp_path / "r.h5"
    save_recording(path, _recording())
    with h5py.File(path, "a") as f:
        g = f["spikes/exc"]
        if change == "negative size":
            g.attrs["size"] = -5
        elif change == "index beyond size":
            idx = g["indices"][()]
            idx[0] = 5
            g["indices"][...] = idx
        elif change == "negative time":
            t = g["times_s"][()]
            t[0] = -1.0
            g["times_s"][...] = t
        elif change == "nan duration":
            f.attrs["duration_s"] = np.nan
        else:
            del f["rates/exc"]
            f["rates/exc"] = np.array(["a", "b"], dtype=h5py.string_dtype())
        stamp_integrity(f)
    with pytest.raises(FormatError):
        load_recording(path)


# ----------------------------------------------------------------------------- kills
_SAVER = """
import sys, time, numpy as np
sys.path.insert(0, sys.argv[3])
from tests.test_file_safety import _net
from sparse_neuro.neuro.storage.hdf5 import save_network
net = _net(2000, 2000, float(sys.argv[2]), seed=1)
print("ready", flush=True)
for _ in range(10):  # ~0.15 s per save: a kill at a random moment mostly lands mid-write
    save_network(sys.argv[1], net)
print("done", flush=True)
"""


def _kill_trials(tmp_path: Path, n: int, p: float) -> dict[str, int]:
    path = tmp_path / "big.h5"
    save_network(path, _net(50, 50, 0.5, seed=0))
    old = _digest(path)
    rng = np.random.default_rng(5)
    seen = {"old": 0, "new": 0, "killed_mid_write": 0}
    new = None
    for trial in range(n):
        sig = (signal.SIGKILL, signal.SIGTERM)[trial % 2]
        proc = subprocess.Popen(
            [sys.executable, "-c", _SAVER, str(path), str(p), str(ROOT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.0, 1.0)))
        proc.send_signal(sig)
        proc.wait(timeout=60)
        d = _digest(path)
        load_network(path)
        if d == old:
            seen["old"] += 1
        else:
            new = d if new is None else new
            assert d == new
            seen["new"] += 1
        seen["killed_mid_write"] += bool(temp_files_of(path))
        if sig == signal.SIGTERM and proc.returncode == -signal.SIGTERM:
            assert temp_files_of(path) == [], "SIGTERM left a temporary file"
        save_network(path, _net(50, 50, 0.5, seed=0))  # the next save sweeps leftovers
        assert temp_files_of(path) == []
    return seen


def test_killed_save_leaves_old_or_new_file_and_no_temporaries(tmp_path):
    seen = _kill_trials(tmp_path, 2, 0.6)  # 2.4 M synapses; one SIGKILL, one SIGTERM
    assert seen["old"] + seen["new"] == 2


@pytest.mark.slow
def test_killed_save_many_trials(tmp_path):
    seen = _kill_trials(tmp_path, 6, 0.6)
    assert seen["old"] + seen["new"] == 6 and seen["killed_mid_write"] > 0, seen


# ----------------------------------------------------------------------------- clean failure
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_full_disk_or_read_only_gives_one_line_error_and_leaves_nothing(
    tmp_path, monkeypatch, code
):
    import sparse_neuro.neuro.storage.atomic

    def fail(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(sparse_neuro.neuro.storage.atomic.os, "replace", fail)
    with pytest.raises(WriteError) as ei:
        save_network(tmp_path / "n.h5", _net())
    assert "\n" not in str(ei.value) and "n.h5" in str(ei.value)
    with pytest.raises(WriteError):
        with atomic_open(tmp_path / "s.json") as fh:
            fh.write("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sigterm_during_write_removes_the_temporary_file(tmp_path):
    script = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
        "from sparse_neuro.neuro.storage.atomic import atomic_open\n"
        f"with atomic_open({str(tmp_path / 'x.txt')!r}) as fh:\n"
        "    fh.write('partial'); fh.flush(); print('writing', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    assert len(temp_files_of(tmp_path / "x.txt")) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == -signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_cli_full_disk_is_one_line_and_leaves_no_temporary(tmp_path, monkeypatch, capsys):
    import sparse_neuro.neuro.storage.atomic
    from sparse_neuro.experiments.__main__ import main

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sparse_neuro.neuro.storage.atomic.os, "replace", full)
    assert main(["run", "stdp-window", "--smoke", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disk full" in err[0], err
    assert not list(tmp_path.rglob(f"*{sparse_neuro.neuro.storage.atomic.TMP_SUFFIX}"))
