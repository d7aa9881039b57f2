"""Experiments say which data and split they used (``summary.json``'s ``data.split``)."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct

import numpy as np

from sparse_neuro.encoders import datasets
from sparse_neuro.encoders.download import RemoteFile
from sparse_neuro.experiments.common import run_experiment


def _idx_gz(arr: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape
    )
    return gzip.compress(head + arr.astype(np.uint8).tobytes(), mtime=0)


def test_mnist_surrogate_on_the_full_split_says_so(tmp_path, monkeypatch):
    # a tiny "full" MNIST already in the data home, with its checksums in the table; the
    # only mirror is a closed loopback port, so a request would fail the run
    home = tmp_path / "home"
    (home / "mnist").mkdir(parents=True)
    rng = np.random.default_rng(2)
    table = {}
    for prefix, n in (("train", 12), ("t10k", 6)):
        for kind, arr in (
            ("images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28))),
            ("labels-idx1-ubyte", np.arange(n) % 10),
        ):
            body = _idx_gz(arr)
            name = f"{prefix}-{kind}.gz"
            (home / "mnist" / name).write_bytes(body)
            table[name.removesuffix(".gz")] = RemoteFile(name, hashlib.sha256(body).hexdigest())
    monkeypatch.setattr(datasets, "MNIST_FILES", table)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setenv("SPARSE_NEURO_DATA", str(home))
    over = {
        "split": "full",
        "sparse_density": "0",
        "kwta_fraction": "0",
        "spike_input": "false",
        "engine_samples": "0",
    }
    s = run_experiment("mnist-surrogate", tmp_path / "run", smoke=True, overrides=over)
    assert s["data"] == {"split": "mnist: 12 train / 6 test"}
    assert s["n_train"] == 12 and s["n_test"] == 6
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["data"] == s["data"]


def test_digits_surrogate_says_its_split(tmp_path):
    over = {"sparse_density": "0", "kwta_fraction": "0", "spike_input": "false"}
    over["engine_samples"] = "0"
    s = run_experiment("digits-surrogate", tmp_path, smoke=True, overrides=over)
    assert s["data"] == {"split": "sklearn-digits: 1347 train / 450 test (stratified)"}
