"""MNIST download against a local HTTP server (loopback only; no test reaches the internet).

The server serves tiny valid IDX ``.gz`` fixtures, honours ``Range`` (or, when told,
ignores it), can close a response after N bytes, and records every request, so each test
sees exactly what was fetched.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import re
import socket
import struct
import threading

import numpy as np
import pytest

from sparse_neuro.encoders import datasets
from sparse_neuro.encoders.datasets import MNIST_FILES, load_mnist
from sparse_neuro.encoders.download import DownloadError, RemoteFile, data_home, sha256_of


def _idx_gz(arr: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape
    )
    # mtime=0: the same bytes (and checksum) on every run
    return gzip.compress(head + arr.astype(np.uint8).tobytes(), mtime=0)


def _fixtures() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    out = {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        out[f"{prefix}-images-idx3-ubyte.gz"] = _idx_gz(rng.integers(0, 256, (n, 28, 28)))
        out[f"{prefix}-labels-idx1-ubyte.gz"] = _idx_gz(rng.integers(0, 10, n))
    return out


class _Server:
    """A threaded loopback HTTP server over an in-memory file table."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (file name, Range header)
        self.cut_after: dict[str, int] = {}  # name -> bytes sent before closing (once)
        self.ignore_range = False
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                rng = self.headers.get("Range")
                outer.requests.append((name, rng))
                if name not in outer.files:
                    self.send_error(404)
                    return
                body, start = outer.files[name], 0
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and not outer.ignore_range:
                    start = int(m.group(1))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = outer.cut_after.pop(name, None)
                self.wfile.write(body[start:] if cut is None else body[start : start + cut])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def names(self) -> list[str]:
        return sorted(n for n, _ in self.requests)


@pytest.fixture
def server(monkeypatch):
    files = _fixtures()
    srv = _Server(files)
    srv.thread.start()
    table = {
        n.removesuffix(".gz"): RemoteFile(n, hashlib.sha256(b).hexdigest(), len(b))
        for n, b in files.items()
    }
    monkeypatch.setattr(datasets, "MNIST_FILES", table)
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (srv.url,))
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _check(split, files) -> None:
    assert split.x_train.shape == (6, 784) and split.x_test.shape == (4, 784)
    assert split.description == "mnist: 6 train / 4 test"
    lab = gzip.decompress(files["t10k-labels-idx1-ubyte.gz"])[8:]
    np.testing.assert_array_equal(split.y_test, np.frombuffer(lab, np.uint8))


def test_first_call_downloads_and_verifies_second_uses_cache(server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SPARSE_NEURO_DATA", str(tmp_path / "home"))
    with caplog.at_level(logging.INFO, logger="sparse_neuro.encoders.download"):
        _check(load_mnist(download=True), server.files)
    # not a terminal: log lines (progress and the verified file), no bar
    assert sum("downloaded and verified" in r.message for r in caplog.records) == 4
    assert any(r.message.startswith("train-images-idx3-ubyte.gz: ") for r in caplog.records)
    assert server.names() == sorted(server.files)
    d = tmp_path / "home" / "mnist"
    for name, body in server.files.items():
        assert (d / name).read_bytes() == body
    assert not list(d.glob("*.part"))
    server.requests.clear()
    _check(load_mnist(download=True), server.files)
    _check(load_mnist(split="full"), server.files)  # offline afterwards
    assert server.requests == []


def test_corrupted_file_is_detected_and_fetched_again(server, tmp_path):
    load_mnist(tmp_path, download=True)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-3] + b"xyz")
    server.requests.clear()
    _check(load_mnist(tmp_path, download=True), server.files)
    assert server.requests == [("train-images-idx3-ubyte.gz", None)]
    assert bad.read_bytes() == server.files[bad.name]


def test_interrupted_download_resumes_with_range(server, tmp_path):
    name = "train-images-idx3-ubyte.gz"
    server.cut_after[name] = 100
    with pytest.raises(DownloadError, match=name):
        load_mnist(tmp_path, download=True)
    part = tmp_path / (name + ".part")
    assert part.read_bytes() == server.files[name][:100]
    assert not (tmp_path / name).exists()
    server.requests.clear()
    _check(load_mnist(tmp_path, download=True), server.files)
    assert server.requests == [(name, "bytes=100-")]
    assert not part.exists() and (tmp_path / name).read_bytes() == server.files[name]


def test_server_ignoring_range_gets_a_full_download(server, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    (tmp_path / (name + ".part")).write_bytes(server.files[name][:10])
    server.ignore_range = True
    _check(load_mnist(tmp_path, download=True), server.files)
    assert (name, "bytes=10-") in server.requests
    assert (tmp_path / name).read_bytes() == server.files[name]


def test_stale_part_with_wrong_bytes_is_restarted(server, tmp_path):
    name = "t10k-labels-idx1-ubyte.gz"
    (tmp_path / (name + ".part")).write_bytes(b"\0" * 10)
    _check(load_mnist(tmp_path, download=True), server.files)
    assert [r for r in server.requests if r[0] == name] == [(name, "bytes=10-"), (name, None)]


def test_bad_mirror_falls_through_to_the_next(server, tmp_path, monkeypatch):
    other = _Server({n: b"not mnist" for n in server.files})
    other.thread.start()
    try:
        monkeypatch.setattr(datasets, "MNIST_MIRRORS", (other.url, server.url))
        _check(load_mnist(tmp_path, download=True), server.files)
        assert len(other.requests) == 4 and len(server.requests) == 4
    finally:
        other.httpd.shutdown()
        other.httpd.server_close()


def test_oversized_answer_is_cut_off_and_discarded(server, tmp_path, monkeypatch):
    name = "t10k-labels-idx1-ubyte.gz"
    good = datasets.MNIST_FILES[name.removesuffix(".gz")]
    server.files[name] = server.files[name] + b"\0" * 100_000
    with pytest.raises(DownloadError, match=f"more than the expected {good.size} bytes"):
        load_mnist(tmp_path, download=True)
    assert not (tmp_path / name).exists()
    assert (tmp_path / (name + ".part")).stat().st_size == 0


def test_no_server_names_files_urls_checksums_and_directory(server, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (f"http://127.0.0.1:{port}/mnist/",))
    with pytest.raises(DownloadError) as err:
        load_mnist(tmp_path / "home", download=True)
    msg = str(err.value)
    assert f"Put them into {tmp_path / 'home'}" in msg
    for f in datasets.MNIST_FILES.values():
        assert f.name in msg and f.sha256 in msg
        assert f"http://127.0.0.1:{port}/mnist/{f.name}" in msg
    assert "refused" in msg.lower()


def test_default_does_not_download(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_NEURO_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_mnist(split="full")
    with pytest.raises(ValueError, match="n_train must be None"):
        load_mnist(tmp_path, split="full", n_train=5)
    assert server.requests == []


def test_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARSE_NEURO_DATA", str(tmp_path / "d"))
    assert data_home() == tmp_path / "d"
    monkeypatch.delenv("SPARSE_NEURO_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        import platformdirs  # noqa: F401
    except ImportError:
        assert data_home() == tmp_path / "cache" / "sparse-neuro" / "data"
    else:
        assert data_home().parts[-2:] == ("sparse-neuro", "data") or "sparse-neuro" in str(
            data_home()
        )


def test_remote_file_validation():
    with pytest.raises(ValueError, match="sha256"):
        RemoteFile("a.gz", "abc")
    with pytest.raises(ValueError, match="name"):
        RemoteFile("../a.gz", "0" * 64)


def test_checksum_table_matches_the_shipped_test_set():
    d = datasets.default_data_dir() / "mnist"
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        path = d / (stem + ".gz")
        if not path.is_file():
            pytest.skip(f"shipped MNIST test set not at {d}")
        assert sha256_of(path) == MNIST_FILES[stem].sha256
        assert path.stat().st_size == MNIST_FILES[stem].size
    assert load_mnist(d).description == "mnist-test-10k: 8000 train / 2000 test"
