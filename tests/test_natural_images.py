"""Natural-image loading, Olshausen-Field whitening and patch sampling."""

import numpy as np
import pytest

from sparse_neuro.encoders.natural_images import (
    DEFAULT_IMAGES,
    load_images,
    sample_patches,
    to_grey,
    whiten_image,
    whitening_filter,
)


def test_default_images_load_offline_grey():
    imgs = load_images(DEFAULT_IMAGES[:3])
    assert len(imgs) == 3
    assert all(im.ndim == 2 and im.dtype == np.float64 for im in imgs)
    assert all(0.0 <= im.min() and im.max() <= 1.0 for im in imgs)


def test_rgb_to_grey_uses_luma_weights():
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 1] = 255
    np.testing.assert_allclose(to_grey(rgb), 0.587)


def test_filter_shape_matches_formula():
    R = whitening_filter((64, 64), f0_cycles_per_pixel=0.2)
    assert R[0, 0] == 0.0  # no DC
    f = 10 / 64
    np.testing.assert_allclose(R[0, 10], f * np.exp(-((f / 0.2) ** 4)))
    assert np.argmax(R[0, :32]) == round(0.2 * (1 / 4) ** 0.25 * 64)  # peak at f0 / 4^(1/4)


def test_whitening_flattens_power_spectrum_and_normalises():
    # A 1/f amplitude spectrum image: after whitening the radial spectrum below f0/2 is flat.
    rng = np.random.default_rng(0)
    n = 128
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    img = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(n, n))) / f))
    w = whiten_image(img, f0_cycles_per_pixel=0.4)
    assert abs(w.std() - 1.0) < 1e-12 and abs(w.mean()) < 1e-9
    P = np.abs(np.fft.fft2(w)) ** 2
    lo = P[(f > 0.03) & (f < 0.07)].mean()
    hi = P[(f > 0.13) & (f < 0.17)].mean()
    assert 0.7 < hi / lo < 1.4


def test_patches_shape_seed_and_content():
    img = np.arange(40 * 50, dtype=float).reshape(40, 50)
    a = sample_patches([img], 8, 20, seed=3, border=0)
    b = sample_patches([img], 8, 20, seed=3, border=0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (20, 64)
    # each patch is a contiguous window: rows step by 50, columns by 1
    p = a.reshape(20, 8, 8)
    np.testing.assert_array_equal(np.diff(p, axis=2), 1.0)
    np.testing.assert_array_equal(np.diff(p, axis=1), 50.0)


def test_stack_files(tmp_path):
    stack = np.random.default_rng(0).random((3, 20, 24))
    np.save(tmp_path / "s.npy", stack)
    imgs = load_images(tmp_path / "s.npy")
    assert len(imgs) == 3 and imgs[0].shape == (20, 24)
    import scipy.io

    scipy.io.savemat(tmp_path / "IMAGES.mat", {"IMAGES": np.moveaxis(stack, 0, -1)})
    m = load_images(tmp_path / "IMAGES.mat")
    np.testing.assert_allclose(m[1], stack[1])
    import h5py

    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["images"] = stack
        f["other"] = stack
    with pytest.raises(ValueError, match="key"):
        load_images(tmp_path / "s.h5")
    np.testing.assert_allclose(load_images(tmp_path / "s.h5", key="images")[2], stack[2])


def test_directory_of_images(tmp_path):
    import skimage.io

    img = (np.random.default_rng(1).random((30, 30)) * 255).astype(np.uint8)
    skimage.io.imsave(tmp_path / "a.png", img, check_contrast=False)
    out = load_images(tmp_path)
    np.testing.assert_allclose(out[0], img / 255.0)


def test_bad_input_errors(tmp_path):
    with pytest.raises(ValueError, match="smaller than patch_size"):
        sample_patches([np.zeros((10, 10))], 12, 5, border=0)
    with pytest.raises(ValueError, match="patch_size"):
        sample_patches([np.zeros((100, 100))], 1, 5)
    bad = np.ones((30, 30))
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="finite"):
        sample_patches([bad], 8, 5)
    with pytest.raises(ValueError, match="finite"):
        load_images([bad])
    with pytest.raises(ValueError, match="finite"):
        whiten_image(bad)
    with pytest.raises(ValueError, match="not a skimage.data image"):
        load_images(["no_such_image"])
    with pytest.raises(ValueError, match="does not exist"):
        load_images(tmp_path / "missing")
    with pytest.raises(ValueError, match="constant"):
        whiten_image(np.ones((16, 16)))
