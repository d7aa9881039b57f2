"""Datasets: sklearn digits and MNIST from IDX files (shipped test set or downloaded).

MNIST is read from the official IDX files (gzipped or raw). Two places hold them:

* the shipped test set (10,000 images): ``$NEURO_DATA_DIR/mnist``, else
  ``../shared/data/mnist`` next to the repository; ``split="t10k"`` trains on its first
  8,000 images and tests on the last 2,000;
* the full set (60,000 train + 10,000 test): ``load_mnist(download=True)`` fetches the four
  files into ``data_home() / "mnist"`` (:mod:`sparse_neuro.encoders.download`) and verifies
  their SHA-256; ``split="full"`` reads them from there offline afterwards.

Every :class:`Split` says in ``description`` which data it holds, for the experiments'
``summary.json``.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sparse_neuro.encoders.download import RemoteFile, data_home, ensure_files
from sparse_neuro.neuro.storage.integrity import (
    FormatError,  # one error type for every malformed file
)
from sparse_neuro.neuro.storage.safe_read import MAX_RATIO, open_binary

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "FormatError",
    "Split",
    "load_digits_split",
    "load_mnist",
    "read_idx",
    "default_data_dir",
]


@dataclass(frozen=True)
class Split:
    """Train/test arrays: images flattened to ``[n, features]`` float32 in [0, 1].

    ``description`` names the data and the split, e.g. ``"mnist-60k train / 10k test"``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str = ""

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)


def default_data_dir() -> Path:
    """``$NEURO_DATA_DIR`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("NEURO_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_digits_split(test_size: float = 0.25, random_state: int = 0) -> Split:
    """sklearn's 8x8 digits (1,797 images), stratified split, pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not (0.0 < test_size < 1.0):
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return Split(
        xtr, ytr, xte, yte, f"sklearn-digits: {len(ytr)} train / {len(yte)} test (stratified)"
    )


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of the shape its header declares.

    The file is opened with :func:`sparse_neuro.neuro.storage.safe_read.open_binary` (a regular
    file, not a symlink or FIFO); the declared size is checked before the data is read (for a
    gzipped file: at most :data:`sparse_neuro.neuro.storage.safe_read.MAX_RATIO` times its
    compressed size), and a gzip stream is decompressed only up to that size.

    Raises
    ------
    FormatError
        Wrong magic number, unknown type code, a declared size the file cannot hold, or a
        file shorter/longer than its header says.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"IDX file not found: {path}")
    with open_binary(path, "IDX file") as fh:
        size = os.fstat(fh.fileno()).st_size
        gz = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        stream = gzip.GzipFile(fileobj=fh, mode="rb") if gz else fh
        try:
            return _read_idx_stream(path, stream, MAX_RATIO * size if gz else size)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path}: corrupt or truncated gzip stream ({exc})") from None


def _read_idx_stream(path: Path, stream: BinaryIO, max_bytes: int) -> np.ndarray:
    """Header, size check against ``max_bytes``, then exactly the declared data bytes."""
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise FormatError(
            f"{path}: bad magic number {head.hex() if head else '(empty)'}; an IDX file starts "
            "with two zero bytes, a type code and the number of dimensions"
        )
    code, ndim = head[2], head[3]
    if code not in _IDX_TYPES:
        raise FormatError(
            f"{path}: unknown IDX type code 0x{code:02x}; "
            f"valid: {sorted(hex(c) for c in _IDX_TYPES)}"
        )
    dims = stream.read(4 * ndim)
    if ndim == 0 or len(dims) < 4 * ndim:
        raise FormatError(f"{path}: truncated header (ndim={ndim}, {4 + len(dims)} bytes)")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[code])
    need = math.prod(shape) * dtype.itemsize
    if need > max_bytes:
        raise FormatError(
            f"{path}: header declares shape {shape} ({need} data bytes), more "
            f"than the file can hold ({max_bytes} bytes at most): truncated or "
            "damaged"
        )
    raw = stream.read(need + 1)
    if len(raw) != need:
        raise FormatError(
            f"{path}: header declares shape {shape} ({need} data bytes) but the file has "
            f"{'only ' + str(len(raw)) if len(raw) < need else 'more'} "
            f"({'truncated' if len(raw) < need else 'trailing data'})"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


#: Where the four MNIST files are fetched from, tried in order (the mirrors torchvision and
#: TensorFlow use first: the original site is often unreachable).
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

#: The four standard MNIST files: name, SHA-256 and size. The t10k hashes were computed from
#: the shipped files (whose MD5s are the published ones); the train hashes are the values
#: that torchvision's, TensorFlow Datasets' and other loaders' lists agree on.
MNIST_FILES: dict[str, RemoteFile] = {
    f.name.removesuffix(".gz"): f
    for f in (
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9_912_422,
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28_881,
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1_648_877,
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4_542,
        ),
    )
}

_SPLITS = ("full", "t10k", "train")


def _find(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in {directory} (set NEURO_DATA_DIR or "
        "SPARSE_NEURO_DATA, pass directory=, or load_mnist(download=True) to fetch it)"
    )


def _stems(split: str) -> list[str]:
    prefixes = ("train", "t10k") if split == "full" else (split,)
    return [f"{p}-{kind}" for p in prefixes for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]


def _has_all(directory: Path, stems: list[str]) -> bool:
    return all((directory / (s + ".gz")).is_file() or (directory / s).is_file() for s in stems)


def _read_pair(directory: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[n, 784]`` float32 in [0, 1] and labels ``[n]`` int64 of one file pair."""
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3:
        raise FormatError(f"image file must be 3-D (n, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise FormatError(f"label file must be 1-D, got shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise FormatError(
            f"image/label count mismatch: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    n = images.shape[0]
    return images.reshape(n, -1).astype(np.float32) / 255.0, labels.astype(np.int64)


def load_mnist(
    directory: str | Path | None = None,
    split: str | None = None,
    n_train: int | None = None,
    *,
    download: bool = False,
) -> Split:
    """MNIST images from IDX files: the standard split, or one file set split by position.

    Parameters
    ----------
    directory : path, optional
        Holds ``{prefix}-images-idx3-ubyte[.gz]`` and ``{prefix}-labels-idx1-ubyte[.gz]``.
        Default: with ``download`` or ``split="full"``, ``data_home() / "mnist"``; else
        ``default_data_dir() / "mnist"`` (the shipped test set), or ``data_home() / "mnist"``
        when only that one holds the files.
    split : {"full", "t10k", "train"}, optional
        ``"full"``: the 60,000 training images train, the 10,000 test images test.
        ``"t10k"`` / ``"train"``: that file set alone, split by position at ``n_train``.
        Default: ``"full"`` with ``download=True``, else ``"t10k"`` (the shipped test set).
    n_train : int, optional
        For ``"t10k"`` / ``"train"``: the first ``n_train`` images train, the rest test
        (default 8,000). Not used by ``"full"`` (must be None).
    download : bool
        Fetch the files the split needs into ``directory`` when missing or damaged, and
        verify their SHA-256 (:data:`MNIST_FILES`, :data:`MNIST_MIRRORS`). Default False:
        nothing is fetched.

    Raises
    ------
    sparse_neuro.encoders.download.DownloadError
        ``download=True`` and a file could not be had; the message names each file, its
        URLs and checksum, and the directory to put it in.
    FileNotFoundError
        A file is missing and ``download`` is False.
    FormatError
        A file is not a valid IDX file, or images and labels disagree.
    """
    if split is None:
        split = "full" if download else "t10k"
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if split == "full" and n_train is not None:
        raise ValueError(f"n_train must be None for split='full' (60k/10k), got {n_train}")
    stems = _stems(split)
    if directory is not None:
        d = Path(directory)
    elif download or split == "full":
        d = data_home() / "mnist"
    else:
        d = default_data_dir() / "mnist"
        if not _has_all(d, stems) and _has_all(data_home() / "mnist", stems):
            d = data_home() / "mnist"
    if download:
        ensure_files([MNIST_FILES[s] for s in stems], d, MNIST_MIRRORS)
    if not d.is_dir():
        raise FileNotFoundError(
            f"MNIST directory not found: {d} (set NEURO_DATA_DIR or SPARSE_NEURO_DATA, pass "
            "directory=, or load_mnist(download=True) to fetch the files)"
        )
    if split == "full":
        x_tr, y_tr = _read_pair(d, "train")
        x_te, y_te = _read_pair(d, "t10k")
        return Split(x_tr, y_tr, x_te, y_te, f"mnist: {len(y_tr)} train / {len(y_te)} test")
    x, y = _read_pair(d, split)
    n = len(y)
    n_train = 8000 if n_train is None else n_train
    if not (0 < n_train < n):
        raise ValueError(f"n_train must be in [1, {n - 1}], got {n_train}")
    name = {"t10k": "mnist-test", "train": "mnist-train"}[split]
    return Split(
        x[:n_train],
        y[:n_train],
        x[n_train:],
        y[n_train:],
        f"{name}-{n // 1000}k: {n_train} train / {n - n_train} test",
    )
