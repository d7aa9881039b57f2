"""Conductance-based (COBA) synapses: parameters and one integration step, engine-independent.

The membrane with exponential conductances (Brian2's COBA example, NEST ``iaf_cond_exp``),
conductances in units of the leak conductance:

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

:func:`coba_step` is the stage a clock engine plugs in for populations with
:class:`ConductanceParams` (the clock engine, neuro/engines/*, does not run it yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuro.lif import LIFParams

__all__ = ["ConductanceParams", "coba_step"]


@dataclass(frozen=True)
class ConductanceParams:
    """Reversal potentials and time constants of exponential conductance channels.

    Parameters
    ----------
    e_rev : tuple of float
        Reversal potential of each channel (same units as the membrane potential).
    tau_syn_s : tuple of float
        Decay time constant of each channel in seconds, > 0; same length as ``e_rev``.

    Examples
    --------
    >>> ConductanceParams(e_rev=(0.0, -80e-3), tau_syn_s=(5e-3, 10e-3)).n_channels
    2
    """

    e_rev: tuple[float, ...]
    tau_syn_s: tuple[float, ...]

    def __post_init__(self) -> None:
        e = tuple(float(x) for x in self.e_rev)
        t = tuple(float(x) for x in self.tau_syn_s)
        if len(e) != len(t) or not e:
            raise ValueError(f"e_rev and tau_syn_s need the same length >= 1, got {len(e)} and {len(t)}")
        for i, x in enumerate(e):
            if not math.isfinite(x):
                raise ValueError(f"e_rev[{i}] must be finite, got {x}")
        for i, x in enumerate(t):
            if not (math.isfinite(x) and x > 0):
                raise ValueError(f"tau_syn_s[{i}] must be finite and > 0 s, got {x}")
        object.__setattr__(self, "e_rev", e)
        object.__setattr__(self, "tau_syn_s", t)

    @property
    def n_channels(self) -> int:
        """Number of conductance channels."""
        return len(self.e_rev)


def coba_step(v: np.ndarray, g: np.ndarray, params: LIFParams, cond: ConductanceParams,
              dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Advance membrane potentials and conductances by one step (no threshold, no reset).

    Parameters
    ----------
    v : ndarray, shape (n,)
        Membrane potentials at the start of the step.
    g : ndarray, shape (n_channels, n)
        Conductances (leak units) at the start of the step, inputs of this step included.
    params : LIFParams
        Membrane parameters (``tau_mem_s``, ``v_rest``, ``bias``; ``tau_syn_s`` unused).
    cond : ConductanceParams
    dt_s : float
        Step in seconds, > 0.

    Returns
    -------
    v_new, g_new : ndarray
        New arrays at the end of the step.
    """
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be finite and > 0 s, got {dt_s}")
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != cond.n_channels or g.shape[1:] != np.shape(v):
        raise ValueError(f"g must have shape ({cond.n_channels}, {np.size(v)}), got {g.shape}")
    tau = np.asarray(cond.tau_syn_s)[:, None]
    decay = np.exp(-dt_s / tau)
    g_mean = g * (tau * (1.0 - decay) / dt_s)  # exact mean of g over the step
    total = 1.0 + g_mean.sum(axis=0)
    v_inf = (params.v_inf + (g_mean * np.asarray(cond.e_rev)[:, None]).sum(axis=0)) / total
    v_new = v_inf + (np.asarray(v, dtype=np.float64) - v_inf) * np.exp(-dt_s * total / params.tau_mem_s)
    return v_new, g * decay
