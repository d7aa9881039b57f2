"""Conductance-based (COBA) synapses: the integration step, engine-independent, and its kernel.

A population whose :class:`~sparse_neuro.neuro.model.lif.LIFParams` give reversal potentials
``e_rev`` has exponential *conductance* channels (Brian2's COBA example, NEST ``iaf_cond_exp``), in
units of the leak conductance:

.. math::

    \\tau_m \\frac{dv}{dt} = (v_{rest} + b - v) + \\sum_k g_k (E_k - v), \\qquad
    \\tau_k \\frac{dg_k}{dt} = -g_k

and an arriving spike does ``g_k += w``. The conductances decay exactly. For ``v`` the
step uses each conductance's exact mean over the step,
``ḡ_k = g_k τ_k (1 - e^{-dt/τ_k}) / dt``, and then integrates the (now linear, constant
coefficient) membrane equation exactly: ``v`` relaxes towards
``v_∞ = (v_rest + b + Σ ḡ_k E_k) / (1 + Σ ḡ_k)`` with time constant
``τ_m / (1 + Σ ḡ_k)``. The only approximation is replacing ``g(t)`` by its mean inside a
step; tests/test_coba.py measures the error against a tight-tolerance ODE solution and its
second-order decrease with ``dt``.

:func:`coba_step` is the NumPy reference of one step; :func:`coba_update` is the same
arithmetic as the clock engine's per-population kernel (neuro/engines/backends/clock.py).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sparse_neuro.neuro.jit import njit
from sparse_neuro.neuro.model.lif import LIFParams

__all__ = ["CobaFactors", "coba_factors", "coba_step", "coba_update"]


class CobaFactors(NamedTuple):
    """Constants of one COBA step of length ``dt`` (see module docstring).

    Attributes
    ----------
    g_mean : ndarray, shape (n_channels,)
        ``τ_k (1 - e^{-dt/τ_k}) / dt``: mean over the step of a unit conductance at its start.
    g_decay : ndarray, shape (n_channels,)
        ``e^{-dt/τ_k}``.
    dt_over_tau : float
        ``dt / τ_m``.
    """

    g_mean: np.ndarray
    g_decay: np.ndarray
    dt_over_tau: float


def coba_factors(params: LIFParams, dt_s: float) -> CobaFactors:
    """The :class:`CobaFactors` of a conductance-based population for a step ``dt_s``.

    Raises
    ------
    ValueError
        If ``params`` has no conductance channels or ``dt_s`` is not finite and > 0.
    """
    if not params.conductance_based:
        raise ValueError("params must be conductance-based (LIFParams.e_rev given)")
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be finite and > 0 s, got {dt_s}")
    tau = np.asarray(params.tau_syn_s)
    decay = np.exp(-dt_s / tau)
    return CobaFactors(tau * (1.0 - decay) / dt_s, decay, dt_s / params.tau_mem_s)


def coba_step(
    v: np.ndarray, g: np.ndarray, params: LIFParams, dt_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Advance membrane potentials and conductances by one step (no threshold, no reset).

    Parameters
    ----------
    v : ndarray, shape (n,)
        Membrane potentials at the start of the step.
    g : ndarray, shape (n_channels, n)
        Conductances (leak units) at the start of the step, inputs of this step included.
    params : LIFParams
        Conductance-based membrane parameters (``e_rev`` given).
    dt_s : float
        Step in seconds, > 0.

    Returns
    -------
    v_new, g_new : ndarray
        New arrays at the end of the step.
    """
    f = coba_factors(params, dt_s)
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != params.n_channels or g.shape[1:] != np.shape(v):
        raise ValueError(f"g must have shape ({params.n_channels}, {np.size(v)}), got {g.shape}")
    g_mean = g * f.g_mean[:, None]  # exact mean of g over the step
    total = 1.0 + g_mean.sum(axis=0)
    v_inf = (params.v_inf + (g_mean * np.asarray(params.e_rev)[:, None]).sum(axis=0)) / total
    v_new = v_inf + (np.asarray(v, dtype=np.float64) - v_inf) * np.exp(-f.dt_over_tau * total)
    return v_new, g * f.g_decay[:, None]


@njit(nogil=True)
def coba_update(n, v, g0, g1, last, drive, coef, rs):
    """One COBA step of one population's neurons (two channels), on slices, in place.

    ``coef`` holds the population's step constants ``(vi, e0, e1, m0, m1, d0, d1, k)``:
    ``vi = v_rest + bias`` (``drive`` adds current injection); ``e*``: reversal
    potentials; ``m*``, ``d*``: :class:`CobaFactors` ``g_mean`` and ``g_decay``; ``k``:
    ``dt / tau_m``. ``rs``: refractory steps (a refractory neuron keeps ``v``, its
    conductances decay). A one-channel population passes ``m1 = 0``. Loops from 0 over
    slices for the same reason as :func:`sparse_neuro.neuro.engines.primitives.lif_update`.
    """
    vi, e0, e1, m0, m1, d0, d1, k = coef
    for i in range(v.shape[0]):
        ge = g0[i] * m0
        gi = g1[i] * m1
        total = 1.0 + ge + gi
        target = (vi + drive[i] + ge * e0 + gi * e1) / total
        x = target + (v[i] - target) * np.exp(-k * total)
        g0[i] *= d0
        g1[i] *= d1
        v[i] = x if (n - last[i]) >= rs else v[i]
