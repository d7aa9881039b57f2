"""Exact event-driven engine for LIF networks with delta synapses and constant bias.

Between events a neuron relaxes analytically towards ``v_inf = v_rest + bias``:

.. math:: v(t) = v_\\infty + (v(t_0) - v_\\infty) e^{-(t - t_0)/\\tau_m}

so its next threshold crossing, if ``v_inf > v_threshold``, is known in closed form:

.. math:: t^* = t_0 + \\tau_m \\ln\\frac{v_\\infty - v(t_0)}{v_\\infty - v_{th}}

The engine keeps a priority queue of spike arrivals and predicted crossings (stale
predictions are skipped by a per-neuron version number), so the cost is proportional to
the number of events (spikes times fan-out, log of the queue size), not to ``N / dt``.
Spike times are exact (to float rounding). Synaptic delays are ``delays * delay_unit_s``.

Semantics shared with the clock engine: threshold is ``v > v_threshold``; after a spike the
membrane is held (at ``v_reset``, or lowered by ``v_threshold - v_reset`` in subtract mode)
for ``t_ref``, and inputs arriving while refractory are discarded; a neuron whose initial
``v`` is above threshold spikes at ``t = 0``. Inputs arriving at the same instant are
applied one at a time in arrival order (the clock engine sums a whole step first).
"""

from __future__ import annotations

import heapq
import time

import numba
import numpy as np

from neuro.engines.plan import flatten
from neuro.inputs import PoissonSource, SpikeArraySource
from neuro.network import Network
from neuro.record import RateMonitor, Recording, SpikeMonitor, SpikeTrains, StateMonitor

__all__ = ["simulate_exact"]

_ARRIVAL, _CROSSING = 0, 1


@numba.njit(cache=True, nogil=True)
def _emit(g, t, heap, seq, gp_ptr, gp_list, group_of_pre, p_src_off, p_tgt_off, p_iptr0,
          p_syn0, indptr, indices, weights, delay_s):
    """Queue the arrivals caused by a spike of presynaptic global id ``g`` at time ``t``."""
    grp = group_of_pre[g]
    for q in range(gp_ptr[grp], gp_ptr[grp + 1]):
        p = gp_list[q]
        row = g - p_src_off[p]
        lo = p_syn0[p] + indptr[p_iptr0[p] + row]
        hi = p_syn0[p] + indptr[p_iptr0[p] + row + 1]
        for s in range(lo, hi):
            heapq.heappush(heap, (t + delay_s[s], seq, _ARRIVAL, p_tgt_off[p] + indices[s], weights[s]))
            seq += 1
    return seq


@numba.njit(cache=True, nogil=True)
def _run_exact(t_end, v, v_inf, tau, v_th, v_reset, reset_amt, t_ref, src_times, src_ids,
               gp_ptr, gp_list, group_of_pre, p_src_off, p_tgt_off, p_iptr0, p_syn0,
               indptr, indices, weights, delay_s, max_spikes):
    n = v.shape[0]
    t_last = np.zeros(n)  # time at which v was last brought up to date
    ref_until = np.full(n, -np.inf)
    version = np.zeros(n, dtype=np.int64)
    out_t = np.empty(max_spikes)
    out_i = np.empty(max_spikes, dtype=np.int64)
    n_out = 0
    n_events = 0
    heap = [(0.0, 0, 0, 0, 0.0)]
    heapq.heappop(heap)
    seq = 1
    for i in range(n):  # initial threshold crossings
        if v[i] > v_th[i]:
            heapq.heappush(heap, (0.0, seq, _CROSSING, i, float(version[i])))
            seq += 1
        elif v_inf[i] > v_th[i]:
            tc = tau[i] * np.log((v_inf[i] - v[i]) / (v_inf[i] - v_th[i]))
            heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
            seq += 1
    k_src = 0
    while True:
        t_heap = heap[0][0] if len(heap) > 0 else np.inf
        if k_src < src_times.shape[0] and src_times[k_src] <= t_heap:
            if src_times[k_src] >= t_end:
                break
            seq = _emit(src_ids[k_src], src_times[k_src], heap, seq, gp_ptr, gp_list,
                        group_of_pre, p_src_off, p_tgt_off, p_iptr0, p_syn0, indptr, indices,
                        weights, delay_s)
            k_src += 1
            n_events += 1
            continue
        if len(heap) == 0 or t_heap >= t_end:
            break
        t, _, kind, i, val = heapq.heappop(heap)
        n_events += 1
        if kind == _CROSSING:
            if int(val) != version[i]:
                continue  # superseded by a later input
            spike = True
        else:
            if t < ref_until[i]:
                continue  # refractory: input discarded
            t0 = max(t_last[i], ref_until[i])
            v[i] = v_inf[i] + (v[i] - v_inf[i]) * np.exp(-(t - t0) / tau[i])
            t_last[i] = t
            v[i] += val
            version[i] += 1
            spike = v[i] > v_th[i]
            if not spike and v_inf[i] > v_th[i]:
                tc = t + tau[i] * np.log((v_inf[i] - v[i]) / (v_inf[i] - v_th[i]))
                heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
                seq += 1
        if not spike:
            continue
        if n_out >= max_spikes:
            return out_t, out_i, n_out, n_events, False
        out_t[n_out] = t
        out_i[n_out] = i
        n_out += 1
        if kind == _CROSSING and v[i] <= v_th[i]:
            v[i] = v_th[i]  # a predicted crossing from below happens exactly at threshold
        if reset_amt[i] > 0.0:
            v[i] -= reset_amt[i]
        else:
            v[i] = v_reset[i]
        t_last[i] = t
        ref_until[i] = t + t_ref[i]
        version[i] += 1
        seq = _emit(i, t, heap, seq, gp_ptr, gp_list, group_of_pre, p_src_off, p_tgt_off,
                    p_iptr0, p_syn0, indptr, indices, weights, delay_s)
        if v[i] > v_th[i]:
            tc = ref_until[i]
            heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
            seq += 1
        elif v_inf[i] > v_th[i]:
            tc = ref_until[i] + tau[i] * np.log((v_inf[i] - v[i]) / (v_inf[i] - v_th[i]))
            heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
            seq += 1
    return out_t, out_i, n_out, n_events, True


def _source_spikes(network: Network, offsets: dict[str, int], t_end: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All source spikes before ``t_end``, sorted: exact times (Poisson in continuous time)."""
    times, ids = [], []
    for src in network.sources:
        lo = offsets[src.name]
        if isinstance(src, SpikeArraySource):
            times.append(src.times_s)
            ids.append(src.indices.astype(np.int64) + lo)
        elif isinstance(src, PoissonSource):
            counts = rng.poisson(src.rate_hz * t_end)
            times.append(rng.random(int(counts.sum())) * t_end)
            ids.append(np.repeat(np.arange(src.size, dtype=np.int64), counts) + lo)
    t = np.concatenate(times) if times else np.zeros(0)
    i = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    order = np.lexsort((i, t))
    return t[order], i[order]


def simulate_exact(
    network: Network,
    duration_s: float,
    *,
    delay_unit_s: float = 1e-4,
    seed: int = 0,
    max_spikes: int = 50_000_000,
) -> Recording:
    """Run ``network`` in continuous time; spike times are exact.

    Parameters
    ----------
    network : Network
        Populations must use delta synapses (``tau_syn_s=()``); current injections are
        not supported (use ``LIFParams.bias`` for a constant drive).
    duration_s : float
        Simulated time in seconds.
    delay_unit_s : float
        Duration of one delay step (synaptic delays are integers in SparseSynapses).
    seed : int
        Seed of the Poisson sources (drawn in continuous time, so they differ from the
        clock engine's per-step draws).
    max_spikes : int
        Safety limit on recorded spikes.

    Returns
    -------
    Recording
        With ``dt_s = nan`` and ``meta["n_events"]`` (queue events processed).
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s}")
    if not delay_unit_s > 0:
        raise ValueError(f"delay_unit_s must be > 0, got {delay_unit_s}")
    for p in network.populations:
        if p.params.n_channels:
            raise ValueError(
                f"population {p.name!r}: the exact engine supports delta synapses only "
                f"(tau_syn_s=()), got tau_syn_s={p.params.tau_syn_s}"
            )
        if p.kwta_k is not None:
            raise ValueError(f"population {p.name!r}: k-WTA needs a clock; use the clock engine")
    if network.currents:
        raise ValueError("the exact engine does not support CurrentInjection; use LIFParams.bias")
    if any(isinstance(m, StateMonitor) for m in network.monitors):
        raise ValueError("the exact engine has no clock to sample states; remove StateMonitors")
    flat = flatten(network, delay_unit_s, np.float64)
    pops = network.populations
    sizes = [p.size for p in pops]

    def per_neuron(vals: list[float]) -> np.ndarray:
        return np.repeat(np.asarray(vals, dtype=np.float64), sizes)

    offsets = {name: int(flat.group_offsets[k]) for k, name in enumerate(flat.group_names)}
    src_t, src_i = _source_spikes(network, offsets, duration_s, np.random.default_rng(seed))
    t0 = time.perf_counter()
    out_t, out_i, n_out, n_events, ok = _run_exact(
        float(duration_s), flat.v_init.copy(),
        per_neuron([p.params.v_inf for p in pops]),
        per_neuron([p.params.tau_mem_s for p in pops]),
        per_neuron([p.params.v_threshold for p in pops]),
        per_neuron([p.params.v_reset for p in pops]),
        np.repeat(flat.reset_amount, sizes).astype(np.float64),
        per_neuron([p.params.t_ref_s for p in pops]),
        src_t, src_i, flat.group_proj_ptr, flat.group_proj_list, flat.group_of_pre,
        flat.proj_src_offset, flat.proj_tgt_offset, flat.proj_indptr_start, flat.proj_syn_start,
        flat.indptr, flat.indices, flat.weights, flat.delays * delay_unit_s, int(max_spikes),
    )
    wall = time.perf_counter() - t0
    if not ok:
        raise RuntimeError(f"more than max_spikes={max_spikes} spikes; raise max_spikes")
    out_t, out_i = out_t[:n_out], out_i[:n_out]
    spikes, rates = {}, {}
    for m in network.monitors:
        lo = offsets[m.target]
        hi = lo + network.size(m.target)
        if lo >= flat.n_neurons:
            sel = (src_i >= lo) & (src_i < hi) & (src_t < duration_s)
            t_sel, i_sel = src_t[sel], src_i[sel]
        else:
            sel = (out_i >= lo) & (out_i < hi)
            t_sel, i_sel = out_t[sel], out_i[sel]
        if isinstance(m, SpikeMonitor):
            spikes[m.target] = SpikeTrains(t_sel, i_sel - lo, hi - lo, duration_s)
        elif isinstance(m, RateMonitor):
            rates[m.target] = np.array([t_sel.size / ((hi - lo) * duration_s)])
    return Recording(spikes, {}, rates, float("nan"), float(duration_s),
                     meta={"engine": "exact", "sim_wall_s": wall, "n_events": int(n_events)})
