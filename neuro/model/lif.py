"""Leaky integrate-and-fire neurons: parameters, exact fixed-dt integration, closed forms.

The membrane obeys

.. math::

    \\tau_m \\frac{dv}{dt} = (v_{rest} + b - v) + \\sum_k I_k, \\qquad
    \\tau_k \\frac{dI_k}{dt} = -I_k

where ``b`` is the constant bias (in membrane units: the steady-state shift it causes) and
``I_k`` are current-based synaptic channels (e.g. excitatory, inhibitory), each jumping by
the synaptic weight at a spike arrival. With no channels (``tau_syn_s=()``) synapses are
*delta* synapses: an arriving spike makes ``v`` jump by the weight.

Over one step of length ``dt`` the linear system is integrated exactly:

.. math::

    v(t+dt) = v_\\infty + (v - v_\\infty) e^{-dt/\\tau_m}
              + \\sum_k I_k \\frac{\\tau_k}{\\tau_k - \\tau_m}(e^{-dt/\\tau_k} - e^{-dt/\\tau_m})

with ``v_inf = v_rest + b``; the channel term becomes ``I_k (dt/tau_m) e^{-dt/tau_m}`` when
``tau_k == tau_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.neuro.model.validation import real

__all__ = ["LIFParams", "StepFactors", "step_factors", "free_trajectory", "firing_period"]


def _positive(name: str, value: float) -> float:
    v = real(name, value)
    if not v > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class LIFParams:
    """Parameters of a population of LIF neurons (SI units).

    Parameters
    ----------
    tau_mem_s : float
        Membrane time constant in seconds, > 0.
    v_rest : float
        Resting (leak reversal) potential, in volts or dimensionless membrane units.
    v_reset : float
        Potential after a spike; must be below ``v_threshold``.
    v_threshold : float
        A neuron spikes when ``v > v_threshold``.
    t_ref_s : float
        Absolute refractory period in seconds, >= 0: the membrane is held at ``v_reset``
        and delta-synapse inputs are discarded.
    bias : float
        Constant input expressed as the steady-state shift of ``v`` it causes
        (``R I_bias``), in membrane units.
    tau_syn_s : tuple of float
        Time constants of the exponential synaptic current channels, one per receptor
        type (e.g. ``(5e-3, 10e-3)`` for excitatory and inhibitory); ``()`` means delta
        synapses.
    reset_mode : str
        ``"value"``: after a spike ``v = v_reset`` (Brian2's usual reset);
        ``"subtract"``: ``v -= v_threshold - v_reset`` (reset by subtraction, as
        snntorch's default), which keeps the overshoot.
    e_rev : tuple of float
        ``()`` (default): the channels are currents, as above. Otherwise the channels are
        *conductances* (:mod:`sparse_neuro.neuro.engines.coba`) with these reversal potentials, one
        per channel of ``tau_syn_s`` (1 or 2 channels, e.g. excitatory and inhibitory); the channel
        term of the membrane equation becomes ``g_k (E_k - v)``, with ``g_k`` in units of
        the leak conductance (``g_L = C_m / tau_m``), and a weight ``w`` does ``g_k += w``.

    Examples
    --------
    >>> cuba = LIFParams(tau_mem_s=20e-3, v_rest=-49e-3, v_reset=-60e-3,
    ...                  v_threshold=-50e-3, t_ref_s=5e-3, tau_syn_s=(5e-3, 10e-3))
    >>> cuba.n_channels
    2
    """

    tau_mem_s: float = 20e-3
    v_rest: float = 0.0
    v_reset: float = 0.0
    v_threshold: float = 1.0
    t_ref_s: float = 0.0
    bias: float = 0.0
    tau_syn_s: tuple[float, ...] = ()
    reset_mode: str = "value"
    e_rev: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.reset_mode not in ("value", "subtract"):
            raise ValueError(f"reset_mode must be 'value' or 'subtract', got {self.reset_mode!r}")
        # numpy scalars (np.float32(0.02)) are accepted and stored as Python floats
        object.__setattr__(self, "tau_mem_s", _positive("tau_mem_s", self.tau_mem_s))
        for name in ("v_rest", "v_reset", "v_threshold", "bias", "t_ref_s"):
            object.__setattr__(self, name, real(name, getattr(self, name)))
        if self.t_ref_s < 0:
            raise ValueError(f"t_ref_s must be >= 0 s, got {self.t_ref_s}")
        if not self.v_threshold > self.v_reset:
            raise ValueError(
                f"v_threshold must be > v_reset (valid range: ({self.v_reset}, inf)), "
                f"got v_threshold={self.v_threshold}"
            )
        taus = tuple(_positive(f"tau_syn_s[{i}]", t) for i, t in enumerate(self.tau_syn_s))
        object.__setattr__(self, "tau_syn_s", taus)
        e_rev = tuple(real(f"e_rev[{i}]", e) for i, e in enumerate(self.e_rev))
        if e_rev and len(e_rev) != len(taus):
            raise ValueError(
                f"e_rev needs one reversal potential per channel of tau_syn_s "
                f"({len(taus)}), got {len(e_rev)}"
            )
        if len(e_rev) > 2:
            raise ValueError(
                f"conductance synapses support 1 or 2 channels (as NEST's "
                f"iaf_cond_exp), got {len(e_rev)}"
            )
        object.__setattr__(self, "e_rev", e_rev)

    @property
    def n_channels(self) -> int:
        """Number of exponential synaptic channels (0: delta synapses)."""
        return len(self.tau_syn_s)

    @property
    def conductance_based(self) -> bool:
        """True when the channels are conductances (``e_rev`` given)."""
        return bool(self.e_rev)

    @property
    def v_inf(self) -> float:
        """Steady-state potential with no synaptic input."""
        return self.v_rest + self.bias


@dataclass(frozen=True)
class StepFactors:
    """Precomputed constants of the exact update for one ``dt`` (see module docstring).

    Attributes
    ----------
    dt_s : float
        The step.
    mem_decay : float
        ``exp(-dt / tau_mem)``.
    syn_decay : ndarray, shape (n_channels,)
        ``exp(-dt / tau_k)`` per channel.
    syn_to_mem : ndarray, shape (n_channels,)
        Contribution of a unit channel current at the start of the step to ``v`` at its end.
    ref_steps : int
        Refractory period in whole steps, rounded down as Brian2 does
        (``int((t_ref + 1e-3 dt) / dt)``); a non-zero ``t_ref`` shorter than ``dt`` is an error.
    """

    dt_s: float
    mem_decay: float
    syn_decay: np.ndarray
    syn_to_mem: np.ndarray
    ref_steps: int


def step_factors(params: LIFParams, dt_s: float) -> StepFactors:
    """Constants of the exact fixed-``dt`` integration of ``params``.

    Parameters
    ----------
    params : LIFParams
    dt_s : float
        Time step in seconds, > 0.
    """
    _positive("dt_s", dt_s)
    tm = params.tau_mem_s
    am = math.exp(-dt_s / tm)
    decay = np.array([math.exp(-dt_s / ts) for ts in params.tau_syn_s])
    coupling = np.empty(len(params.tau_syn_s))
    for k, ts in enumerate(params.tau_syn_s):
        if math.isclose(ts, tm, rel_tol=1e-12):
            coupling[k] = dt_s / tm * am
        else:
            coupling[k] = ts / (ts - tm) * (decay[k] - am)
    # Brian2's timestep(): int((t + 1e-3 dt) / dt), i.e. round down with a tolerance.
    ref_steps = int((params.t_ref_s + 1e-3 * dt_s) / dt_s)
    if params.t_ref_s > 0 and ref_steps == 0:
        raise ValueError(
            f"t_ref_s={params.t_ref_s:g} s is shorter than dt_s={dt_s:g} s and would be lost; "
            f"use t_ref_s=0 or >= dt_s (valid range: 0 or [{dt_s:g}, inf) s)"
        )
    return StepFactors(dt_s, am, decay, coupling, ref_steps)


def free_trajectory(t_s: np.ndarray, v0: float, params: LIFParams) -> np.ndarray:
    """Closed-form subthreshold ``v(t)`` from ``v(0) = v0`` with no synaptic input.

    .. math:: v(t) = v_\\infty + (v_0 - v_\\infty) e^{-t/\\tau_m}
    """
    t = np.asarray(t_s, dtype=np.float64)
    return params.v_inf + (v0 - params.v_inf) * np.exp(-t / params.tau_mem_s)


def firing_period(params: LIFParams) -> float:
    """Closed-form interspike interval under the constant bias (``inf`` if it never fires).

    .. math:: T = t_{ref} + \\tau_m \\ln\\frac{v_\\infty - v_{reset}}{v_\\infty - v_{th}}
    """
    vi = params.v_inf
    if vi <= params.v_threshold:
        return math.inf
    return params.t_ref_s + params.tau_mem_s * math.log(
        (vi - params.v_reset) / (vi - params.v_threshold)
    )
