"""Spiking LCA: sparse inference by integrate-and-fire neurons on the clock engine.

The locally competitive algorithm (Rozell et al. 2008; spiking form after Shapero et al.
2014 and Tang, Lin & Davies 2017) maps directly onto LIF neurons with delta synapses:

.. math::

    \\tau \\dot v_i = b_i - v_i - \\sum_{j \\ne i} G_{ij} \\, \\tau \\Delta \\, s_j(t), \\qquad
    b = D^T x

The feedforward drive ``b_i`` is a :class:`sparse_neuro.neuro.model.inputs.CurrentInjection`; the
competition ``-(G - I)`` (``G = D^T D``) is a
:class:`sparse_neuro.neuro.model.synapses.SparseSynapses` projection of the population onto itself
with weight ``-Delta G_ij`` (entries with ``|G_ij| < prune_tol`` dropped); a spike resets ``v`` by
subtraction of ``Delta``, with ``v_threshold = lam + Delta/2``. Averaged over time, a firing neuron
keeps ``<v> ~ lam`` and its rate ``r_i`` satisfies

.. math:: a_i = \\tau \\Delta r_i = b_i - \\lambda - \\sum_{j \\ne i} G_{ij} a_j

the fixed point of the non-negative soft-threshold LCA. Signed codes use two neurons per
atom (dictionary ``[D, -D]``), ``a = a^+ - a^-``. Many patches are coded in one engine run:
the network holds one independent copy of the population per patch (block-diagonal synapses).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sparse_neuro.neuro.engines import simulate
from sparse_neuro.neuro.model.inputs import CurrentInjection
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.record import SpikeMonitor
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model.validation import check_finite_data

__all__ = ["SpikingLCAParams", "lateral_synapses", "spiking_lca_codes", "spiking_lca_network"]


@dataclass(frozen=True)
class SpikingLCAParams:
    """Parameters of the spiking LCA.

    Parameters
    ----------
    tau_s : float
        Membrane (LCA) time constant in seconds, > 0.
    spike_height : float
        ``Delta``: the membrane drop per spike and the unit of the lateral weights; a
        coefficient ``a`` costs ``a * measure_s / (tau_s * Delta)`` spikes, > 0.
    dt_s : float
        Engine time step in seconds, > 0 (a neuron fires at most once per step, so
        ``a <= tau_s * Delta / dt_s``).
    settle_s : float
        Time allowed to converge before spikes are counted, >= 0.
    measure_s : float
        Counting window in seconds, > 0.
    prune_tol : float
        Lateral connections with ``|G_ij| < prune_tol`` are left out, >= 0.
    batch_size : int
        Patches coded together in one engine run, >= 1.
    """

    tau_s: float = 20e-3
    spike_height: float = 0.2
    dt_s: float = 1e-4
    settle_s: float = 0.1
    measure_s: float = 0.3
    prune_tol: float = 0.02
    batch_size: int = 32

    def __post_init__(self) -> None:
        for name in ("tau_s", "spike_height", "dt_s", "measure_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        for name in ("settle_s", "prune_tol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.dt_s > self.tau_s / 5:
            raise ValueError(f"dt_s must be <= tau_s / 5 = {self.tau_s / 5:g} s, got {self.dt_s}")


def lateral_synapses(D: np.ndarray, params: SpikingLCAParams, copies: int = 1) -> SparseSynapses:
    """Inhibition ``W[j, i] = -Delta G'_{ij}`` among the ``2 n_atoms`` neurons (``D' = [D, -D]``),
    block-diagonal over ``copies`` independent copies; ``|G| < prune_tol`` pruned."""
    Dp = np.concatenate([D, -D], axis=1)
    G = Dp.T @ Dp
    np.fill_diagonal(G, 0.0)
    G[np.abs(G) < params.prune_tol] = 0.0
    W = sp.csr_array(-params.spike_height * G)
    if copies > 1:
        W = sp.csr_array(sp.block_diag([W] * copies, format="csr"))
    return SparseSynapses.from_scipy(W)


def spiking_lca_network(
    D: np.ndarray,
    X: np.ndarray,
    lam: float,
    params: SpikingLCAParams,
    W: SparseSynapses | None = None,
) -> Network:
    """The network coding the rows of ``X`` (one population copy per row), population ``lca``.

    Neuron ``p * 2 n_atoms + i`` is atom ``i``'s positive channel for patch ``p``, neuron
    ``p * 2 n_atoms + n_atoms + i`` its negative channel.
    """
    check_finite_data("D", D)
    check_finite_data("X", X)
    n_atoms = D.shape[1]
    B = X @ D
    drive = np.concatenate([B, -B], axis=1).ravel()
    delta = params.spike_height
    lif = LIFParams(
        tau_mem_s=params.tau_s,
        v_rest=0.0,
        v_reset=lam - delta / 2,
        v_threshold=lam + delta / 2,
        reset_mode="subtract",
        tau_syn_s=(),
    )
    n = X.shape[0] * 2 * n_atoms
    if W is None:
        W = lateral_synapses(D, params, X.shape[0])
    return Network(
        populations=[Population("lca", n, lif, v_init=0.0)],
        projections=[Projection("lca", "lca", W)],
        currents=[CurrentInjection("lca", drive)],
        monitors=[SpikeMonitor("lca")],
    )


def spiking_lca_codes(
    D: np.ndarray,
    X: np.ndarray,
    lam: float,
    params: SpikingLCAParams = SpikingLCAParams(),
    progress=None,
) -> np.ndarray:
    """Signed sparse codes of the rows of ``X`` from spike counts of the spiking LCA.

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
        Dictionary, atoms in columns (unit norm for the L1 correspondence).
    X : ndarray, shape (n_samples, n_features)
    lam : float
        Threshold ``lambda`` (the L1 weight of the equivalent problem), > 0.
    params : SpikingLCAParams
    progress : callable, optional
        Wraps the loop over batches (e.g. tqdm).

    Returns
    -------
    ndarray, shape (n_samples, n_atoms)
        ``a = tau * Delta * (count+ - count-) / measure_s``.

    Raises
    ------
    ValueError
        Bad shapes, non-finite input, ``lam <= 0``, or a drive so strong that a neuron
        would need more than one spike per step even without competition.
    """
    D = np.asarray(D, dtype=np.float64)
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if D.ndim != 2 or X.ndim != 2 or X.shape[1] != D.shape[0]:
        raise ValueError(
            f"need D (n_features, n_atoms) and X (n_samples, n_features); got {D.shape}, {X.shape}"
        )
    if not (isinstance(lam, (int, float, np.floating)) and math.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be a finite number > 0, got {lam!r}")
    if not (np.all(np.isfinite(D)) and np.all(np.isfinite(X))):
        raise ValueError("D and X must be finite (found NaN/inf)")
    a_max = params.tau_s * params.spike_height / params.dt_s
    b_max = float(np.abs(X @ D).max(initial=0.0))
    if b_max - lam > a_max:
        raise ValueError(
            f"drive |D^T x| up to {b_max:.3g} needs rates near 1/dt_s: raise spike_height or "
            f"tau_s, or lower dt_s (an unopposed neuron must fire less than once per step: |D^T x| - lam <= tau_s*spike_height/dt_s = {a_max:.3g})"
        )
    k = D.shape[1]
    out = np.zeros((X.shape[0], k))
    starts = range(0, X.shape[0], params.batch_size)
    if progress is not None:
        starts = progress(starts)
    W_full = None
    t0 = params.settle_s
    dur = params.settle_s + params.measure_s
    for s in starts:
        Xb = X[s : s + params.batch_size]
        nb = Xb.shape[0]
        if W_full is None or nb != params.batch_size:
            W = lateral_synapses(D, params, nb)
            if nb == params.batch_size:
                W_full = W
        else:
            W = W_full
        rec = simulate(spiking_lca_network(D, Xb, lam, params, W), dur, params.dt_s)
        spk = rec.spikes["lca"]
        keep = spk.times_s >= t0 - 1e-12
        counts = np.bincount(spk.indices[keep], minlength=nb * 2 * k).reshape(nb, 2, k)
        out[s : s + nb] = (counts[:, 0] - counts[:, 1]) * (
            params.tau_s * params.spike_height / params.measure_s
        )
        if counts.max(initial=0) > 0.5 * params.measure_s / params.dt_s:
            warnings.warn(
                "spiking LCA: a neuron fired in more than half of the steps; its rate saturates and "
                "the code is unreliable (dictionary too coherent, i.e. large eigenvalues of D^T D, "
                "or drive too strong): lower spike_height or dt_s",
                RuntimeWarning,
                stacklevel=2,
            )
    return out
