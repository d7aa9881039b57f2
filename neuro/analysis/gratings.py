"""Orientation tuning of linear receptive fields measured with sinusoidal gratings.

A linear field ``w`` shown a drifting grating of orientation ``theta`` and spatial frequency
``f`` answers with a sinusoid whose amplitude (the F1 response of a simple cell) is the
length of the projection of ``w`` on the grating's quadrature pair,

.. math:: r(\\theta, f) = \\sqrt{\\langle w, \\cos(2\\pi f\\,u_\\theta\\cdot x)\\rangle^2
                              + \\langle w, \\sin(2\\pi f\\,u_\\theta\\cdot x)\\rangle^2}.

The orientation tuning curve is taken at the preferred frequency, and summarised as in
Ringach, Shapley & Hawken (2002) by the circular variance
``CV = 1 - |sum_k r_k exp(2 i theta_k)| / sum_k r_k`` (0: responds to one orientation only,
1: untuned) and the orientation selectivity index ``(r_pref - r_orth) / (r_pref + r_orth)``.

Spatial-frequency tuning is the response against frequency at the preferred orientation,
summarised as in De Valois, Albrecht & Thorell (1982) by the full bandwidth at half amplitude
in octaves, ``log2(f_high / f_low)``, and as Schiller, Finlay & Volman (1976) are read by
Marques et al. (2021), ``100 f_low / f_high`` at ``1/sqrt(2)`` of the peak.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "circular_variance",
    "grating_responses",
    "orientation_tuning",
    "spatial_frequency_tuning",
]


def grating_responses(
    fields: np.ndarray, shape: tuple[int, int], orientations_rad: np.ndarray, freqs: np.ndarray
) -> np.ndarray:
    """F1 response amplitude of every field to every (orientation, frequency) grating.

    Parameters
    ----------
    fields : ndarray, shape (rows * cols, n) or (n, rows, cols)
        Receptive fields (a dictionary with atoms in columns, or a stack).
    shape : (rows, cols)
    orientations_rad : ndarray
        Wave-vector directions in radians.
    freqs : ndarray
        Spatial frequencies in cycles/pixel, each in ``(0, 0.5]``.

    Returns
    -------
    ndarray, shape (n, n_orientations, n_freqs)

    Raises
    ------
    ValueError
        Fields that do not match ``shape``, or frequencies outside ``(0, 0.5]``.
    """
    F = np.asarray(fields, dtype=np.float64)
    n_pix = shape[0] * shape[1]
    if not ((F.ndim == 3 and F.shape[1:] == tuple(shape)) or (F.ndim == 2 and F.shape[0] == n_pix)):
        raise ValueError(
            f"fields must be ({n_pix}, n) or (n, {shape[0]}, {shape[1]}), got {F.shape}"
        )
    W = F.reshape(F.shape[0], n_pix) if F.ndim == 3 else F.T
    th = np.asarray(orientations_rad, dtype=np.float64)
    fr = np.asarray(freqs, dtype=np.float64)
    if fr.size == 0 or np.any(fr <= 0) or np.any(fr > 0.5):
        raise ValueError(f"freqs must be non-empty and in (0, 0.5] cycles/pixel, got {fr}")
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    # phase of every pixel for every grating: (n_ori, n_freq, n_pix)
    proj = np.cos(th)[:, None] * xx.ravel()[None, :] + np.sin(th)[:, None] * yy.ravel()[None, :]
    phase = 2 * math.pi * fr[None, :, None] * proj[:, None, :]
    c = np.einsum("np,ofp->nof", W, np.cos(phase))
    s = np.einsum("np,ofp->nof", W, np.sin(phase))
    return np.hypot(c, s)


def circular_variance(responses: np.ndarray, orientations_rad: np.ndarray) -> np.ndarray:
    """``1 - |sum r exp(2 i theta)| / sum r`` along the last axis (NaN where all responses are 0)."""
    r = np.asarray(responses, dtype=np.float64)
    if np.any(r < 0):
        raise ValueError("responses must be >= 0 (response amplitudes or rates)")
    z = np.abs(np.sum(r * np.exp(2j * np.asarray(orientations_rad)), axis=-1))
    total = r.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1.0 - z / total, np.nan)


def _responses_and_peak(
    fields: np.ndarray, shape: tuple[int, int], n_orientations: int, freqs: np.ndarray
):
    """Orientations, all grating responses, and each field's preferred (orientation, frequency) indices."""
    th = np.arange(n_orientations) * math.pi / n_orientations
    R = grating_responses(fields, shape, th, freqs)
    i_ori, i_f = np.unravel_index(R.reshape(R.shape[0], -1).argmax(axis=1), R.shape[1:])
    return th, R, i_ori, i_f


def orientation_tuning(
    fields: np.ndarray,
    shape: tuple[int, int],
    n_orientations: int = 16,
    freqs: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Orientation tuning of each field at its preferred spatial frequency.

    Parameters
    ----------
    fields, shape
        As in :func:`grating_responses`.
    n_orientations : int
        Orientations evenly spaced over [0, 180) degrees, >= 4 and even (so the orthogonal
        orientation is sampled).
    freqs : ndarray, optional
        Candidate frequencies (default: 24 log-spaced from 0.02 to 0.5 cycles/pixel).

    Returns
    -------
    dict
        ``preferred_freq`` (cycles/pixel), ``preferred_orientation_deg``,
        ``circular_variance``, ``osi`` and ``tuning`` (n, n_orientations) at the preferred
        frequency, ``orientations_deg``.
    """
    if not (isinstance(n_orientations, int) and n_orientations >= 4 and n_orientations % 2 == 0):
        raise ValueError(f"n_orientations must be an even integer >= 4, got {n_orientations!r}")
    fr = np.geomspace(0.02, 0.5, 24) if freqs is None else np.asarray(freqs, dtype=np.float64)
    th, R, i_ori, i_f = _responses_and_peak(fields, shape, n_orientations, fr)
    tuning = R[np.arange(R.shape[0]), :, i_f]
    r_pref = tuning[np.arange(R.shape[0]), i_ori]
    r_orth = tuning[np.arange(R.shape[0]), (i_ori + n_orientations // 2) % n_orientations]
    with np.errstate(invalid="ignore", divide="ignore"):
        osi = (r_pref - r_orth) / (r_pref + r_orth)
    return {
        "preferred_freq": fr[i_f],
        "preferred_orientation_deg": np.degrees(th[i_ori]),
        "circular_variance": circular_variance(tuning, th),
        "osi": osi,
        "tuning": tuning,
        "orientations_deg": np.degrees(th),
    }


def _cut_offs(freqs: np.ndarray, curve: np.ndarray, k: int, level: float) -> tuple[float, float]:
    """Frequencies below and above the peak ``curve[k]`` where the curve falls to ``level`` of
    it, interpolated linearly in log frequency; NaN on a side where it never does."""
    target = level * curve[k]
    lf = np.log(freqs)
    below = np.flatnonzero(curve[:k] < target)
    above = np.flatnonzero(curve[k + 1 :] < target) + k + 1
    lo = hi = math.nan
    if below.size:
        i = below[-1]
        lo = math.exp(np.interp(target, [curve[i], curve[i + 1]], [lf[i], lf[i + 1]]))
    if above.size:
        i = above[0]
        # np.interp needs increasing x: the curve falls from i - 1 to i
        hi = math.exp(np.interp(target, [curve[i], curve[i - 1]], [lf[i], lf[i - 1]]))
    return lo, hi


def spatial_frequency_tuning(
    fields: np.ndarray,
    shape: tuple[int, int],
    n_orientations: int = 16,
    freqs: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Spatial-frequency tuning of each field at its preferred orientation.

    ``fields``, ``shape`` and ``n_orientations`` (any integer >= 4 here) are as in
    :func:`orientation_tuning`; ``freqs`` are increasing frequencies in cycles/pixel (default:
    97 log-spaced from 0.01 to 0.5, a grid fine enough for the interpolated cut-offs).

    Returns
    -------
    dict
        ``preferred_freq`` (cycles/pixel), ``bandwidth_octaves`` (full width at half
        amplitude, ``log2(f_high / f_low)``; NaN where the response does not fall to half inside
        the sampled range, e.g. beyond the Nyquist frequency), ``bandwidth_ratio_percent``
        (``100 f_low / f_high`` at ``1/sqrt(2)`` of the peak; NaN likewise), ``tuning``
        (n, n_freqs) at the preferred orientation and ``freqs``.
    """
    if not (isinstance(n_orientations, int) and n_orientations >= 4):
        raise ValueError(f"n_orientations must be an integer >= 4, got {n_orientations!r}")
    fr = np.geomspace(0.01, 0.5, 97) if freqs is None else np.asarray(freqs, dtype=np.float64)
    if fr.ndim != 1 or fr.size < 3 or np.any(np.diff(fr) <= 0):
        raise ValueError(f"freqs must be >= 3 strictly increasing values, got {fr}")
    _, R, i_ori, i_f = _responses_and_peak(fields, shape, n_orientations, fr)
    tuning = R[np.arange(R.shape[0]), i_ori, :]
    octaves = np.full(R.shape[0], np.nan)
    ratio = np.full(R.shape[0], np.nan)
    for n, (curve, k) in enumerate(zip(tuning, i_f)):
        if curve[k] <= 0:
            continue
        lo, hi = _cut_offs(fr, curve, int(k), 0.5)
        octaves[n] = math.log2(hi / lo)
        lo, hi = _cut_offs(fr, curve, int(k), 1 / math.sqrt(2))
        ratio[n] = 100 * lo / hi
    return {
        "preferred_freq": fr[i_f],
        "bandwidth_octaves": octaves,
        "bandwidth_ratio_percent": ratio,
        "tuning": tuning,
        "freqs": fr,
    }
