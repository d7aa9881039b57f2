"""Natural images for sparse coding: loading, Olshausen-Field whitening, random patches.

The default image set is bundled with scikit-image (works offline). A user's own images can
be a directory of image files, a single image file, or a stack in a ``.npy``, ``.mat`` or
``.h5``/``.hdf5`` file (for example Olshausen's ``IMAGES.mat``, shape ``(512, 512, 10)``).

Whitening follows Olshausen & Field (1996/1997): each image's spectrum is multiplied by

.. math:: R(f) = f \\, e^{-(f / f_0)^4}

which flattens the ~1/f amplitude spectrum of natural images (the ``f`` factor) and removes
the highest frequencies where noise and the pixel lattice dominate (the ``exp`` factor).
Each whitened image is then scaled to unit variance.

Examples
--------
>>> imgs = whiten_images(load_images())            # ten skimage images, grey, whitened
>>> X = sample_patches(imgs, patch_size=12, n_patches=1000, seed=0)
>>> X.shape
(1000, 144)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sparse_neuro.neuro.storage.safe_read import (
    check_mat,
    load_npy,
    open_binary,
    open_h5,
    open_regular,
)

__all__ = [
    "DEFAULT_IMAGES",
    "load_images",
    "sample_patches",
    "to_grey",
    "whiten_image",
    "whiten_images",
    "whitening_filter",
]

#: scikit-image's bundled photographs that load without a network connection.
DEFAULT_IMAGES: tuple[str, ...] = (
    "camera",
    "astronaut",
    "grass",
    "gravel",
    "brick",
    "moon",
    "coffee",
    "chelsea",
    "rocket",
    "hubble_deep_field",
)

_FILE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".pgm", ".ppm")
_STACK_SUFFIXES = (".npy", ".mat", ".h5", ".hdf5")


def to_grey(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Grey-level float64 image in [0, 1] scale from a grey, RGB or RGBA array.

    Integer images are divided by their dtype's maximum; float and bool images are
    kept on their own scale. RGB(A) uses the ITU-R 601 luma weights (alpha is dropped).

    Raises
    ------
    ValueError
        If the array is not 2-D or 3-D with 3/4 channels, or holds NaN/inf.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3]
        scale = float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0
        a = a.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / scale
    elif a.ndim == 2:
        scale = float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0
        a = a.astype(np.float64) / scale
    else:
        raise ValueError(
            f"{name}: expected a 2-D grey image or an (H, W, 3|4) colour image, got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f"{name}: pixels must be finite; found {int(np.sum(~np.isfinite(a)))} NaN/inf"
        )
    return a


def _load_stack(path: Path, key: str | None, image_axis: int | None) -> list[np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = load_npy(path, "image stack")
        axis = 0 if image_axis is None else image_axis
    elif suffix == ".mat":
        import scipy.io

        with open_binary(path, "MATLAB file") as fh:
            check_mat(fh, path)  # declared sizes before loadmat inflates them
            data = {k: v for k, v in scipy.io.loadmat(fh).items() if not k.startswith("__")}
        arr = _pick(data, key, path)
        axis = -1 if image_axis is None else image_axis  # MATLAB stacks images last
    else:
        import h5py

        with open_h5(path, "image stack") as f:
            data = {k: f[k] for k in f if isinstance(f[k], h5py.Dataset)}
            arr = np.asarray(_pick(data, key, path)[()])
        axis = 0 if image_axis is None else image_axis
    arr = np.asarray(arr)
    if arr.ndim == 2:
        return [arr]
    if arr.ndim != 3:
        raise ValueError(f"{path}: expected a 2-D image or a 3-D stack, got shape {arr.shape}")
    return [np.take(arr, i, axis=axis) for i in range(arr.shape[axis])]


def _pick(data: dict, key: str | None, path: Path):
    if key is not None:
        if key not in data:
            raise ValueError(f"{path}: no variable/dataset {key!r}; available: {sorted(data)}")
        return data[key]
    if len(data) != 1:
        raise ValueError(f"{path}: holds {sorted(data)}; pass key= to choose one")
    return next(iter(data.values()))


def load_images(
    source: str | Path | Sequence[str] | Sequence[np.ndarray] | None = None,
    key: str | None = None,
    image_axis: int | None = None,
) -> list[np.ndarray]:
    """Load natural images as a list of grey float64 arrays.

    Parameters
    ----------
    source : None, path, sequence of names, or sequence of arrays
        ``None``: scikit-image's bundled :data:`DEFAULT_IMAGES`. A sequence of strings:
        names of ``skimage.data`` images. A path: a directory of image files (sorted by
        name), a single image file, or a ``.npy`` / ``.mat`` / ``.h5`` stack. A sequence of
        arrays: used as given (converted to grey).
    key : str, optional
        Variable (``.mat``) or dataset (``.h5``) name; needed when the file holds several.
    image_axis : int, optional
        Axis of a 3-D stack that indexes images; default 0 for ``.npy``/``.h5`` and -1
        (MATLAB's convention) for ``.mat``.

    Returns
    -------
    list of ndarray
        Grey images, float64, intensities scaled to [0, 1] for integer inputs.

    Raises
    ------
    ValueError
        Unknown image name, missing/empty path, unreadable stack or non-finite pixels.
    """
    if source is None:
        source = DEFAULT_IMAGES
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise ValueError(f"source: path {str(path)!r} does not exist")
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix.lower() in _FILE_SUFFIXES + _STACK_SUFFIXES
            )
            if not files:
                raise ValueError(
                    f"source: directory {str(path)!r} holds no image files {_FILE_SUFFIXES}"
                )
        else:
            files = [path]
        raw: list[tuple[str, np.ndarray]] = []
        for f in files:
            if f.suffix.lower() in _STACK_SUFFIXES:
                raw += [
                    (f"{f.name}[{i}]", a) for i, a in enumerate(_load_stack(f, key, image_axis))
                ]
            else:
                import skimage.io

                os.close(open_regular(f, "image file"))  # no symlink, FIFO or device
                raw.append((f.name, skimage.io.imread(f)))
    else:
        items = list(source)
        if not items:
            raise ValueError("source: empty sequence of images")
        raw = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                import skimage.data

                loader = getattr(skimage.data, item, None)
                if loader is None or not callable(loader):
                    raise ValueError(
                        f"source: {item!r} is not a skimage.data image; e.g. {DEFAULT_IMAGES}"
                    )
                raw.append((item, loader()))
            else:
                raw.append((f"image {i}", np.asarray(item)))
    return [to_grey(a, name) for name, a in raw]


def whitening_filter(
    shape: tuple[int, int], f0_cycles_per_pixel: float = 200.0 / 512.0
) -> np.ndarray:
    """Olshausen-Field filter ``R(f) = f exp(-(f/f0)^4)`` on the FFT grid of ``shape``.

    Frequencies are in cycles per pixel (Nyquist = 0.5); the paper's ``f0 = 200``
    cycles/picture on 512-pixel images is ``200/512 = 0.39`` cycles/pixel, the default.
    """
    if not (math.isfinite(f0_cycles_per_pixel) and f0_cycles_per_pixel > 0):
        raise ValueError(f"f0_cycles_per_pixel must be > 0, got {f0_cycles_per_pixel}")
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    f = np.sqrt(fx**2 + fy**2)
    return f * np.exp(-((f / f0_cycles_per_pixel) ** 4))


def whiten_image(image: np.ndarray, f0_cycles_per_pixel: float = 200.0 / 512.0) -> np.ndarray:
    """Whiten one grey image with :func:`whitening_filter` and scale it to unit variance.

    Raises
    ------
    ValueError
        Non-finite pixels, a non-2-D image, or a constant image (zero variance after
        filtering).
    """
    a = to_grey(image) if np.asarray(image).ndim != 2 else np.asarray(image, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("image: pixels must be finite (found NaN/inf)")
    a = a - a.mean()
    out = np.real(np.fft.ifft2(np.fft.fft2(a) * whitening_filter(a.shape, f0_cycles_per_pixel)))
    sd = out.std()
    if not sd > 0:
        raise ValueError("image: constant image, nothing left after whitening")
    return out / sd


def whiten_images(
    images: Sequence[np.ndarray], f0_cycles_per_pixel: float = 200.0 / 512.0
) -> list[np.ndarray]:
    """:func:`whiten_image` applied to each image."""
    return [whiten_image(im, f0_cycles_per_pixel) for im in images]


def sample_patches(
    images: Sequence[np.ndarray],
    patch_size: int,
    n_patches: int,
    seed: int | np.random.Generator = 0,
    border: int = 4,
    remove_mean: bool = False,
) -> np.ndarray:
    """Random square patches, flattened row-major, drawn uniformly over images and positions.

    Parameters
    ----------
    images : sequence of 2-D arrays
        Usually the output of :func:`whiten_images`.
    patch_size : int
        Side of a patch in pixels, >= 2.
    n_patches : int
        Number of patches, >= 1.
    seed : int or numpy.random.Generator
    border : int
        Pixels skipped at each image edge (the FFT filter wraps around there), >= 0.
    remove_mean : bool
        Subtract each patch's mean (whitening already removes most of the DC).

    Returns
    -------
    ndarray, shape (n_patches, patch_size**2)

    Raises
    ------
    ValueError
        If ``patch_size`` is not an integer >= 2, an image is smaller than
        ``patch_size + 2 * border`` in either direction, or pixels are not finite.
    """
    if not isinstance(patch_size, (int, np.integer)) or patch_size < 2:
        raise ValueError(f"patch_size must be an integer >= 2, got {patch_size!r}")
    if not isinstance(n_patches, (int, np.integer)) or n_patches < 1:
        raise ValueError(f"n_patches must be an integer >= 1, got {n_patches!r}")
    if not isinstance(border, (int, np.integer)) or border < 0:
        raise ValueError(f"border must be an integer >= 0, got {border!r}")
    imgs = [np.asarray(im, dtype=np.float64) for im in images]
    if not imgs:
        raise ValueError("images: need at least one image")
    need = patch_size + 2 * border
    for i, im in enumerate(imgs):
        if im.ndim != 2:
            raise ValueError(f"images[{i}]: expected a 2-D grey image, got shape {im.shape}")
        if min(im.shape) < need:
            raise ValueError(
                f"images[{i}] has shape {im.shape}, smaller than patch_size + 2*border = {need}; "
                f"valid patch_size range for it: [2, {min(im.shape) - 2 * border}]"
            )
        if not np.all(np.isfinite(im)):
            raise ValueError(f"images[{i}]: pixels must be finite (found NaN/inf)")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    which = rng.integers(0, len(imgs), n_patches)
    out = np.empty((n_patches, patch_size * patch_size))
    for i, im in enumerate(imgs):
        sel = np.flatnonzero(which == i)
        if not sel.size:
            continue
        r = rng.integers(border, im.shape[0] - border - patch_size + 1, sel.size)
        c = rng.integers(border, im.shape[1] - border - patch_size + 1, sel.size)
        win = np.lib.stride_tricks.sliding_window_view(im, (patch_size, patch_size))
        out[sel] = win[r, c].reshape(sel.size, -1)
    if remove_mean:
        out -= out.mean(axis=1, keepdims=True)
    return out
