"""Fitting 2-D Gabor functions to receptive fields, and population statistics of the fits.

The model, in pixel coordinates (``x`` = column, ``y`` = row, origin at the top-left pixel
centre), is

.. math::

    g(x, y) = A \\exp\\left(-\\frac{x'^2}{2\\sigma_x^2} - \\frac{y'^2}{2\\sigma_y^2}\\right)
              \\cos(2\\pi f x' + \\phi) + c, \\qquad
    \\begin{aligned}
    x' &= (x - x_0)\\cos\\theta + (y - y_0)\\sin\\theta \\\\
    y' &= -(x - x_0)\\sin\\theta + (y - y_0)\\cos\\theta
    \\end{aligned}

so ``theta`` is the direction of the carrier's wave vector (the bars run at ``theta + 90``
degrees), ``f`` its spatial frequency in cycles per pixel, ``sigma_x`` the envelope width
across the bars and ``sigma_y`` along them. Ringach's (2002) shape coordinates are
``nx = sigma_x f`` and ``ny = sigma_y f``.

The carrier frequency ``f`` is not the frequency a field prefers: an odd-symmetric field of
two lobes is fit equally well by ``f -> 0`` with a growing amplitude (the Gabor tends to the
derivative of a Gaussian, whose spectrum peaks at ``1 / (2 pi sigma_x)``). Whether a field is
band-pass is therefore judged by :attr:`GaborFit.peak_freq`, the frequency at which the fitted
Gabor's amplitude spectrum peaks (the spatial frequency of the grating it answers best).

Fitting: initial frequency and orientation from the peak of the zero-padded power spectrum,
position from the peak of the smoothed energy, phase and amplitude by linear least squares;
then :func:`scipy.optimize.least_squares` on all parameters from a few starts; the best
``R^2 = 1 - SS_res / SS_tot`` wins.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage, optimize

__all__ = ["GaborFit", "fit_gabor", "fit_gabors", "gabor_image", "gabor_population_stats"]


@dataclass(frozen=True)
class GaborFit:
    """Parameters of a fitted Gabor (see module docstring) and the goodness of fit.

    Attributes
    ----------
    x0, y0 : float
        Centre in pixels (column, row).
    theta : float
        Wave-vector orientation in radians, in ``[0, pi)``.
    freq : float
        Spatial frequency in cycles per pixel, >= 0.
    sigma_x, sigma_y : float
        Envelope widths (pixels) across and along the bars.
    phase : float
        Carrier phase in radians, in ``(-pi, pi]``.
    amplitude : float
        ``A`` (>= 0).
    offset : float
        ``c``.
    r2 : float
        Coefficient of determination of the fit.
    """

    x0: float
    y0: float
    theta: float
    freq: float
    sigma_x: float
    sigma_y: float
    phase: float
    amplitude: float
    offset: float
    r2: float

    @property
    def peak_freq(self) -> float:
        """Frequency (cycles/pixel, in ``[0, 0.5]``) where the fitted Gabor's amplitude spectrum peaks.

        Along the carrier axis the spectrum is
        ``cos(phase) (G(k - f) + G(k + f)) + i sin(phase) (G(k - f) - G(k + f))`` with
        ``G(k) = exp(-2 pi^2 sigma_x^2 k^2)``; 0 means a low-pass (blob or ramp) field.
        """
        k = np.linspace(0.0, 0.5, 1001)
        gm = np.exp(-2 * math.pi**2 * self.sigma_x**2 * (k - self.freq) ** 2)
        gp = np.exp(-2 * math.pi**2 * self.sigma_x**2 * (k + self.freq) ** 2)
        power = (math.cos(self.phase) * (gm + gp)) ** 2 + (math.sin(self.phase) * (gm - gp)) ** 2
        return float(k[int(np.argmax(power))])

    def as_dict(self) -> dict[str, float]:
        """The fields (and :attr:`peak_freq`) as a plain dict."""
        return {**asdict(self), "peak_freq": self.peak_freq}


def _model(p: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    x0, y0, th, f, sx, sy, a, b, c = p
    dx, dy = xx - x0, yy - y0
    xr = dx * math.cos(th) + dy * math.sin(th)
    yr = -dx * math.sin(th) + dy * math.cos(th)
    env = np.exp(-0.5 * (xr / sx) ** 2 - 0.5 * (yr / sy) ** 2)
    arg = 2 * math.pi * f * xr
    return env * (a * np.cos(arg) + b * np.sin(arg)) + c


def gabor_image(
    shape: tuple[int, int],
    x0: float,
    y0: float,
    theta: float,
    freq: float,
    sigma_x: float,
    sigma_y: float,
    phase: float = 0.0,
    amplitude: float = 1.0,
    offset: float = 0.0,
) -> np.ndarray:
    """The Gabor of the module docstring sampled on a ``shape = (rows, cols)`` pixel grid."""
    if sigma_x <= 0 or sigma_y <= 0:
        raise ValueError(f"sigma_x and sigma_y must be > 0, got {sigma_x}, {sigma_y}")
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    p = np.array(
        [
            x0,
            y0,
            theta,
            freq,
            sigma_x,
            sigma_y,
            amplitude * math.cos(phase),
            -amplitude * math.sin(phase),
            offset,
        ]
    )
    return _model(p, xx, yy)


def _jacobian(p: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Analytic derivatives of :func:`_model` with respect to the 9 parameters."""
    x0, y0, th, f, sx, sy, a, b, _ = p
    ct, st = math.cos(th), math.sin(th)
    dx, dy = (xx - x0).ravel(), (yy - y0).ravel()
    xr = dx * ct + dy * st
    yr = -dx * st + dy * ct
    env = np.exp(-0.5 * (xr / sx) ** 2 - 0.5 * (yr / sy) ** 2)
    arg = 2 * math.pi * f * xr
    C, S = np.cos(arg), np.sin(arg)
    K = a * C + b * S
    Kp = -a * S + b * C
    g_xr = env * (-xr / sx**2 * K + 2 * math.pi * f * Kp)
    g_yr = -env * yr / sy**2 * K
    J = np.empty((xr.size, 9))
    J[:, 0] = -g_xr * ct + g_yr * st
    J[:, 1] = -g_xr * st - g_yr * ct
    J[:, 2] = g_xr * yr - g_yr * xr
    J[:, 3] = env * 2 * math.pi * xr * Kp
    J[:, 4] = env * K * xr**2 / sx**3
    J[:, 5] = env * K * yr**2 / sy**3
    J[:, 6] = env * C
    J[:, 7] = env * S
    J[:, 8] = 1.0
    return J


def _linear_ab(p: np.ndarray, z: np.ndarray, xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Best amplitude terms (a, b, c) for fixed geometry, by linear least squares."""
    q = p.copy()
    cols = []
    for a, b in ((1.0, 0.0), (0.0, 1.0)):
        q[6], q[7], q[8] = a, b, 0.0
        cols.append(_model(q, xx, yy).ravel())
    cols.append(np.ones(z.size))
    coef, *_ = np.linalg.lstsq(np.stack(cols, axis=1), z.ravel(), rcond=None)
    out = p.copy()
    out[6:9] = coef
    return out


def _starts(z: np.ndarray, xx: np.ndarray, yy: np.ndarray, n_peaks: int) -> list[np.ndarray]:
    h, w = z.shape
    pad = 4 * max(h, w)
    spec = np.abs(np.fft.fft2(z - z.mean(), s=(pad, pad))) ** 2
    fy = np.fft.fftfreq(pad)[:, None] * np.ones((1, pad))
    fx = np.fft.fftfreq(pad)[None, :] * np.ones((pad, 1))
    half = (fx > 0) | ((fx == 0) & (fy >= 0))  # one of each +-f pair
    spec = np.where(half, spec, 0.0)
    order = np.argsort(spec.ravel())[::-1]
    peaks: list[tuple[float, float]] = []
    for idx in order:
        kx, ky = float(fx.ravel()[idx]), float(fy.ravel()[idx])
        if all(math.hypot(kx - px, ky - py) > 1.0 / max(h, w) for px, py in peaks):
            peaks.append((kx, ky))
        if len(peaks) == n_peaks:
            break
    energy = ndimage.gaussian_filter(z - z.mean(), 1.0) ** 2 + ndimage.gaussian_filter(
        (z - z.mean()) ** 2, 1.5
    )
    r0, c0 = np.unravel_index(int(np.argmax(energy)), z.shape)
    starts = []
    for kx, ky in peaks:
        f = math.hypot(kx, ky)
        th = math.atan2(ky, kx)
        for s in (0.35 / max(f, 0.05), 0.6 / max(f, 0.05)):
            s = min(max(s, 1.0), max(h, w))
            p = np.array([float(c0), float(r0), th, f, s, s * 1.3, 0.0, 0.0, 0.0])
            starts.append(_linear_ab(p, z, xx, yy))
    return starts


def fit_gabor(rf: np.ndarray, n_peaks: int = 1, max_nfev: int = 100) -> GaborFit:
    """Fit a 2-D Gabor to one receptive field.

    Parameters
    ----------
    rf : ndarray, shape (rows, cols)
        The receptive field (e.g. a dictionary atom reshaped to the patch).
    n_peaks : int
        Spectral peaks used as starting points (two envelope widths each), >= 1.
    max_nfev : int
        Function-evaluation budget of each local fit.

    Returns
    -------
    GaborFit

    Raises
    ------
    ValueError
        If ``rf`` is not 2-D with at least 3 pixels a side, or holds NaN/inf.
    """
    z = np.asarray(rf, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 3:
        raise ValueError(f"rf must be a 2-D array at least 3x3, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("rf must be finite (found NaN/inf)")
    if n_peaks < 1:
        raise ValueError(f"n_peaks must be >= 1, got {n_peaks}")
    h, w = z.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ss_tot = float(np.sum((z - z.mean()) ** 2))
    if ss_tot == 0:
        return GaborFit(w / 2, h / 2, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, float(z.mean()), 0.0)
    big = 2.0 * max(h, w)
    lo = np.array([-2.0, -2.0, -np.inf, 0.0, 0.4, 0.4, -np.inf, -np.inf, -np.inf])
    hi = np.array([w + 1.0, h + 1.0, np.inf, 0.5, big, big, np.inf, np.inf, np.inf])
    best_p, best_ss = None, math.inf
    for p0 in _starts(z, xx, yy, n_peaks):
        p0 = np.clip(p0, lo + 1e-9, hi - 1e-9)
        try:
            sol = optimize.least_squares(
                lambda p: (_model(p, xx, yy) - z).ravel(),
                p0,
                bounds=(lo, hi),
                jac=lambda p: _jacobian(p, xx, yy),
                max_nfev=max_nfev,
                x_scale="jac",
            )
        except (ValueError, np.linalg.LinAlgError):
            continue
        ss = float(np.sum(sol.fun**2))
        if ss < best_ss:
            best_p, best_ss = sol.x, ss
    x0, y0, th, f, sx, sy, a, b, c = best_p
    amp = math.hypot(a, b)
    phase = math.atan2(-b, a)
    # Canonical orientation in [0, pi): flipping theta by pi mirrors x' and negates the phase.
    th = math.fmod(th, 2 * math.pi)
    th += 2 * math.pi if th < 0 else 0.0
    if th >= math.pi:
        th -= math.pi
        phase = -phase
    return GaborFit(
        float(x0),
        float(y0),
        float(th),
        float(f),
        float(sx),
        float(sy),
        float(phase),
        float(amp),
        float(c),
        1.0 - best_ss / ss_tot,
    )


def fit_gabors(
    fields: np.ndarray, shape: tuple[int, int] | None = None, **kwargs
) -> list[GaborFit]:
    """Fit every receptive field of a stack.

    Parameters
    ----------
    fields : ndarray, shape (n, rows, cols) or (n_features, n_atoms)
        A stack of 2-D fields, or a dictionary with atoms in columns (then give ``shape``,
        or square patches are assumed).
    shape : (rows, cols), optional
    **kwargs
        Passed to :func:`fit_gabor`.
    """
    F = np.asarray(fields)
    if F.ndim == 2:
        if shape is None:
            side = round(math.sqrt(F.shape[0]))
            if side * side != F.shape[0]:
                raise ValueError(f"give shape= for non-square atoms of {F.shape[0]} features")
            shape = (side, side)
        F = F.T.reshape(-1, *shape)
    if F.ndim != 3:
        raise ValueError(f"fields must be (n, rows, cols) or (n_features, n_atoms), got {F.shape}")
    return [fit_gabor(f, **kwargs) for f in F]


def gabor_population_stats(
    fits: list[GaborFit],
    r2_min: float = 0.8,
    n_orientation_bins: int = 4,
    freq_bins: np.ndarray | None = None,
) -> dict:
    """Population statistics of Gabor fits, over the well-fit ones (``r2 > r2_min``).

    Returns
    -------
    dict
        ``frac_gabor`` (fraction with ``r2 > r2_min``), ``median_r2``,
        ``orientation_edges_deg`` and ``orientation_histogram`` (fraction of well-fit fields
        per bin of ``theta`` over ``[0, 180)`` degrees), ``freq_edges`` and
        ``freq_histogram`` (fractions, cycles/pixel), ``nx`` and ``ny``
        (``sigma_x f``, ``sigma_y f`` of each well-fit field), ``n_good``.
    """
    if not 0 <= r2_min < 1:
        raise ValueError(f"r2_min must be in [0, 1), got {r2_min}")
    if n_orientation_bins < 1:
        raise ValueError(f"n_orientation_bins must be >= 1, got {n_orientation_bins}")
    r2 = np.array([g.r2 for g in fits])
    good = [g for g in fits if g.r2 > r2_min]
    th = np.degrees([g.theta for g in good])
    f = np.array([g.freq for g in good])
    o_edges = np.linspace(0.0, 180.0, n_orientation_bins + 1)
    o_hist = np.histogram(th, o_edges)[0] / max(len(good), 1)
    f_edges = np.linspace(0.0, 0.5, 6) if freq_bins is None else np.asarray(freq_bins)
    f_hist = np.histogram(f, f_edges)[0] / max(len(good), 1)
    return {
        "frac_gabor": float(np.mean(r2 > r2_min)) if r2.size else 0.0,
        "median_r2": float(np.median(r2)) if r2.size else 0.0,
        "n_good": len(good),
        "orientation_edges_deg": o_edges.tolist(),
        "orientation_histogram": o_hist.tolist(),
        "freq_edges": np.asarray(f_edges).tolist(),
        "freq_histogram": f_hist.tolist(),
        "nx": [g.sigma_x * g.freq for g in good],
        "ny": [g.sigma_y * g.freq for g in good],
    }
