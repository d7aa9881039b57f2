"""Dataset loaders: sklearn digits split, MNIST IDX files and their error cases."""

import gzip
import struct

import numpy as np
import pytest

from sparse_neuro.encoders.datasets import default_data_dir, load_digits_split, load_mnist, read_idx
from sparse_neuro.neuro.storage.integrity import FormatError


def _write_idx(path, arr, gz=False, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + b"".join(
        struct.pack(">I", d) for d in arr.shape
    )
    data = header + arr.astype(">u1" if code == 0x08 else arr.dtype).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def _fake_mnist(tmp_path, n_img=10, n_lab=10, gz=True):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(n_img, 28, 28)).astype(np.uint8)
    labs = rng.integers(0, 10, size=n_lab).astype(np.uint8)
    sfx = ".gz" if gz else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", imgs, gz)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", labs, gz)
    return imgs, labs


def test_digits_split_is_stratified_and_scaled():
    s = load_digits_split()
    assert s.x_train.shape == (1347, 64) and s.x_test.shape == (450, 64)
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    train_frac = np.bincount(s.y_train) / len(s.y_train)
    test_frac = np.bincount(s.y_test) / len(s.y_test)
    assert np.abs(train_frac - test_frac).max() < 0.01


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reader_roundtrip(tmp_path, gz):
    imgs, labs = _fake_mnist(tmp_path, gz=gz)
    s = load_mnist(tmp_path, n_train=7)
    assert s.x_train.shape == (7, 784) and s.x_test.shape == (3, 784)
    np.testing.assert_allclose(s.x_train[0], imgs[0].ravel() / 255.0, rtol=1e-6)
    assert s.y_test.tolist() == labs[7:].tolist()


def test_mnist_wrong_magic(tmp_path):
    _fake_mnist(tmp_path, gz=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    raw = bytearray(p.read_bytes())
    raw[0] = 0x12
    p.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="magic"):
        load_mnist(tmp_path)


def test_mnist_truncated_file(tmp_path):
    _fake_mnist(tmp_path, gz=False)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(FormatError, match="truncated"):
        load_mnist(tmp_path)


def test_mnist_truncated_gzip(tmp_path):
    _fake_mnist(tmp_path, gz=True)
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-50])
    with pytest.raises(FormatError, match="truncated"):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path):
    _fake_mnist(tmp_path, n_img=10, n_lab=9)
    with pytest.raises(FormatError, match="mismatch"):
        load_mnist(tmp_path)


def test_mnist_missing_directory_and_bad_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="NEURO_DATA_DIR"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="validation")


def test_default_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURO_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("NEURO_DATA_DIR")
    assert default_data_dir().parts[-2:] == ("shared", "data")


def test_real_mnist_test_set_if_present():
    d = default_data_dir() / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST test set not available")
    s = load_mnist(d)
    assert s.x_train.shape == (8000, 784) and s.x_test.shape == (2000, 784)
    assert s.y_train[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(np.concatenate([s.y_train, s.y_test])).tolist()[:2] == [980, 1135]


def test_read_idx_rejects_unknown_type(tmp_path):
    p = tmp_path / "x.idx"
    p.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(FormatError, match="type code"):
        read_idx(p)
