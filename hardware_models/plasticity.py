"""Pairwise STDP as the event-queue backend applies it (Loihi charges each update 120 pJ).

A projection whose ``plasticity`` is a :class:`PairSTDP` has its weights changed during the
run (float mode); any other non-None rule is *counted* (one synaptic update per synapse of a
spiking presynaptic row and per synapse into a spiking postsynaptic neuron) but its weights
are left unchanged, since this package cannot know that rule's arithmetic (rules of
:mod:`learning` run on the engines; this model costs them).

All-to-all pair rule with traces decayed analytically at events:

.. math::

    x_j \\leftarrow x_j e^{-\\Delta t/\\tau_+} + 1 \\text{ at a pre spike}, \\qquad
    y_i \\leftarrow y_i e^{-\\Delta t/\\tau_-} + 1 \\text{ at a post spike},

    \\Delta w_{ij} = -A_- \\, y_i \\text{ at a pre spike (before its } x_j \\text{ update)}, \\qquad
    \\Delta w_{ij} = +A_+ \\, x_j \\text{ at a post spike},

weights clipped to ``[w_min, w_max]``. Within a step, presynaptic spikes are processed
first, so a pre and post spike in the same step count as causal (``dt = 0`` potentiates by
``A_+``). Spikes propagate with the weights from before the step's updates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["PairSTDP"]


@dataclass(frozen=True)
class PairSTDP:
    """Pair-based STDP parameters (weights in the projection's units).

    Parameters
    ----------
    a_plus, a_minus : float
        Potentiation / depression amplitudes, >= 0.
    tau_plus_s, tau_minus_s : float
        Trace time constants in seconds, > 0 (Bi & Poo fits: 16.8 ms and 33.7 ms).
    w_min, w_max : float
        Weight bounds, ``w_min <= w_max``.
    """

    a_plus: float = 0.01
    a_minus: float = 0.012
    tau_plus_s: float = 16.8e-3
    tau_minus_s: float = 33.7e-3
    w_min: float = 0.0
    w_max: float = 1.0

    def __post_init__(self) -> None:
        for f in ("a_plus", "a_minus"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"PairSTDP.{f} must be a finite number >= 0, got {v!r}")
        for f in ("tau_plus_s", "tau_minus_s"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"PairSTDP.{f} must be a finite number > 0 s, got {v!r}")
        if not (math.isfinite(self.w_min) and math.isfinite(self.w_max) and self.w_min <= self.w_max):
            raise ValueError(f"PairSTDP needs finite w_min <= w_max, got [{self.w_min}, {self.w_max}]")


@dataclass(eq=False)
class StdpTables:
    """Routed-synapse tables and trace state of the PairSTDP projections of one network."""

    syn_rule: np.ndarray  # per routed synapse: rule index, -1 = not PairSTDP
    syn_x: np.ndarray  # pre-trace index of each routed synapse
    syn_y: np.ndarray  # post-trace index
    post_ptr: np.ndarray  # (n_neurons + 1,): PairSTDP synapses into each neuron
    post_syn: np.ndarray  # routed synapse positions
    params: np.ndarray  # (n_rules, 6): a_plus, a_minus, decay_plus/step, decay_minus/step, w_min, w_max
    x: np.ndarray
    x_last: np.ndarray
    y: np.ndarray
    y_last: np.ndarray

    @property
    def active(self) -> bool:
        """True if at least one synapse learns."""
        return bool(self.params.shape[0] > 0)

    def reset(self) -> None:
        """Zero the traces."""
        self.x[:] = 0.0
        self.y[:] = 0.0
        self.x_last[:] = -(2**40)
        self.y_last[:] = -(2**40)


def build_tables(network, flat, routes, dt_s: float) -> StdpTables:
    """Tables for the projections of ``network`` whose rule is a :class:`PairSTDP`."""
    n_syn = routes.syn_orig.size
    syn_rule_flat = np.full(flat.weights.size, -1, np.int64)
    x_idx_flat = np.zeros(flat.weights.size, np.int64)
    y_idx_flat = np.zeros(flat.weights.size, np.int64)
    params, x_n, y_n = [], 0, 0
    for p, pr in enumerate(network.projections):
        rule = pr.plasticity
        if not isinstance(rule, PairSTDP):
            continue
        lo, hi = int(flat.proj_syn_start[p]), int(flat.proj_syn_start[p + 1])
        syn = pr.synapses
        syn_rule_flat[lo:hi] = len(params)
        x_idx_flat[lo:hi] = x_n + syn.pre_indices()
        y_idx_flat[lo:hi] = y_n + syn.indices
        x_n += syn.n_pre
        y_n += syn.n_post
        params.append([rule.a_plus, rule.a_minus, math.exp(-dt_s / rule.tau_plus_s),
                       math.exp(-dt_s / rule.tau_minus_s), rule.w_min, rule.w_max])
    order = routes.syn_orig
    syn_rule = syn_rule_flat[order]
    plastic = np.flatnonzero(syn_rule >= 0)
    tgt = routes.syn_tgt[plastic]
    srt = np.argsort(tgt, kind="stable")
    post_ptr = np.zeros(flat.n_neurons + 1, np.int64)
    np.cumsum(np.bincount(tgt, minlength=flat.n_neurons), out=post_ptr[1:])
    tables = StdpTables(
        syn_rule, x_idx_flat[order], y_idx_flat[order], post_ptr, plastic[srt].astype(np.int64),
        np.array(params, dtype=np.float64).reshape(-1, 6),
        np.zeros(x_n), np.zeros(x_n, np.int64), np.zeros(y_n), np.zeros(y_n, np.int64))
    tables.reset()
    assert n_syn == syn_rule.size
    return tables


@numba.njit(cache=True, nogil=True)
def stdp_step(n, spiking, n_spk, ext_ids, e0, e1, pre_seg_ptr, seg_syn_ptr, w,
              syn_rule, syn_x, syn_y, post_ptr, post_syn, prm, x, x_last, y, y_last):
    """Apply this step's pair-STDP updates (pre spikes first, then post spikes)."""
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        for sg in range(pre_seg_ptr[g], pre_seg_ptr[g + 1]):
            for s in range(seg_syn_ptr[sg], seg_syn_ptr[sg + 1]):
                k = syn_rule[s]
                if k < 0:
                    continue
                yi = syn_y[s]
                yv = y[yi] * prm[k, 3] ** (n - y_last[yi])
                wv = w[s] - prm[k, 1] * yv
                w[s] = min(max(wv, prm[k, 4]), prm[k, 5])
                xi = syn_x[s]
                if x_last[xi] != n:
                    x[xi] = x[xi] * prm[k, 2] ** (n - x_last[xi]) + 1.0
                    x_last[xi] = n
    for r in range(n_spk):
        i = spiking[r]
        for q in range(post_ptr[i], post_ptr[i + 1]):
            s = post_syn[q]
            k = syn_rule[s]
            xi = syn_x[s]
            xv = x[xi] * prm[k, 2] ** (n - x_last[xi])
            wv = w[s] + prm[k, 0] * xv
            w[s] = min(max(wv, prm[k, 4]), prm[k, 5])
            yi = syn_y[s]
            if y_last[yi] != n:
                y[yi] = y[yi] * prm[k, 3] ** (n - y_last[yi]) + 1.0
                y_last[yi] = n
    return 0
