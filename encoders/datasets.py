"""Datasets available offline: sklearn digits and MNIST from IDX files.

MNIST is read from the official IDX files (gzipped or raw). The default directory is the
environment variable ``NEURO_DATA_DIR`` (its ``mnist`` subdirectory), else
``../shared/data/mnist`` next to the repository. Only the MNIST *test* set is available
here; experiments use its first 8,000 images for training and the last 2,000 for testing.
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

from sparse_neuro.neuro.storage.integrity import (
    FormatError,  # one error type for every malformed file
)
from sparse_neuro.neuro.storage.safe_read import MAX_RATIO, open_binary

__all__ = [
    "FormatError",
    "Split",
    "load_digits_split",
    "load_mnist",
    "read_idx",
    "default_data_dir",
]


@dataclass(frozen=True)
class Split:
    """Train/test arrays: images flattened to ``[n, features]`` float32 in [0, 1]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

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
    return Split(xtr, ytr, xte, yte)


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


def _find(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in {directory} (set NEURO_DATA_DIR or pass directory=)"
    )


def load_mnist(
    directory: str | Path | None = None,
    split: str = "t10k",
    n_train: int = 8000,
) -> Split:
    """MNIST images from IDX files, split into train/test by position.

    Parameters
    ----------
    directory : path, optional
        Holds ``{split}-images-idx3-ubyte[.gz]`` and ``{split}-labels-idx1-ubyte[.gz]``;
        default ``default_data_dir() / "mnist"``.
    split : {"t10k", "train"}
        File prefix. Only the test set ("t10k") is available here.
    n_train : int
        The first ``n_train`` images are the training set, the rest the test set
        (8,000 / 2,000 for the 10,000 test images).
    """
    if split not in ("t10k", "train"):
        raise ValueError(f"split must be 't10k' or 'train', got {split!r}")
    d = Path(directory) if directory is not None else default_data_dir() / "mnist"
    if not d.is_dir():
        raise FileNotFoundError(
            f"MNIST directory not found: {d} (set NEURO_DATA_DIR or pass directory=)"
        )
    images = read_idx(_find(d, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_find(d, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3:
        raise FormatError(f"image file must be 3-D (n, rows, cols), got shape {images.shape}")
    if labels.ndim != 1:
        raise FormatError(f"label file must be 1-D, got shape {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise FormatError(
            f"image/label count mismatch: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    n = images.shape[0]
    if not (0 < n_train < n):
        raise ValueError(f"n_train must be in [1, {n - 1}], got {n_train}")
    x = images.reshape(n, -1).astype(np.float32) / 255.0
    y = labels.astype(np.int64)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:])
