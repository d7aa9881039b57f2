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
import math
import time

import numpy as np

from sparse_neuro.neuro.engines.capabilities import check_supported
from sparse_neuro.neuro.engines.drive import time_to_step
from sparse_neuro.neuro.engines.plan import build_plan
from sparse_neuro.neuro.engines.registry import register_backend
from sparse_neuro.neuro.engines.rng import stream_id, uniform
from sparse_neuro.neuro.engines.state_check import check_keys, check_step
from sparse_neuro.neuro.jit import njit
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    run_meta,
)
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model.validation import check_duration

__all__ = ["ExactSimulator", "simulate_exact"]

_ARRIVAL, _CROSSING = 0, 1


@njit(nogil=True)
def _emit(g, t, heap, seq, routes):
    """Queue the arrivals caused by a spike of presynaptic global id ``g`` at time ``t``.

    ``routes``: (group_proj_ptr, group_proj_list, group_of_pre, proj_src_offset,
    proj_tgt_offset, proj_indptr_start, proj_syn_start, indptr, indices, weights, delay_s).
    """
    gp_ptr, gp_list, group_of_pre, p_src_off, p_tgt_off, p_iptr0, p_syn0 = routes[:7]
    indptr, indices, weights, delay_s = routes[7:]
    grp = group_of_pre[g]
    for q in range(gp_ptr[grp], gp_ptr[grp + 1]):
        p = gp_list[q]
        row = g - p_src_off[p]
        lo = p_syn0[p] + indptr[p_iptr0[p] + row]
        hi = p_syn0[p] + indptr[p_iptr0[p] + row + 1]
        for s in range(lo, hi):
            heapq.heappush(
                heap, (t + delay_s[s], seq, _ARRIVAL, p_tgt_off[p] + indices[s], weights[s])
            )
            seq += 1
    return seq


@njit(nogil=True)
def _run_exact(t_end, v, neurons, routes, inputs, max_spikes):
    """Events before ``t_end``. ``neurons``: per-neuron (v_inf, tau, v_threshold, v_reset,
    reset_amount, t_ref); ``routes``: see :func:`_emit`; ``inputs``: time-sorted source spikes
    (times, global ids) and drive arrivals (times, neuron ids, weights)."""
    v_inf, tau, v_th, v_reset, reset_amt, t_ref = neurons
    src_times, src_ids, drv_t, drv_i, drv_w = inputs
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
    k_drv = 0
    while True:
        if k_drv < drv_t.shape[0] and (len(heap) == 0 or drv_t[k_drv] <= heap[0][0]):
            # drive arrivals join the queue only when due, so it stays small
            heapq.heappush(heap, (drv_t[k_drv], seq, _ARRIVAL, drv_i[k_drv], drv_w[k_drv]))
            seq += 1
            k_drv += 1
            continue
        t_heap = heap[0][0] if len(heap) > 0 else np.inf
        if k_src < src_times.shape[0] and src_times[k_src] <= t_heap:
            if src_times[k_src] >= t_end:
                break
            seq = _emit(src_ids[k_src], src_times[k_src], heap, seq, routes)
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
        seq = _emit(i, t, heap, seq, routes)
        if v[i] > v_th[i]:
            tc = ref_until[i]
            heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
            seq += 1
        elif v_inf[i] > v_th[i]:
            tc = ref_until[i] + tau[i] * np.log((v_inf[i] - v[i]) / (v_inf[i] - v_th[i]))
            heapq.heappush(heap, (tc, seq, _CROSSING, i, float(version[i])))
            seq += 1
    return out_t, out_i, n_out, n_events, True


@njit(nogil=True)
def _poisson_times(seed, stream, rate, t_end, gid0, count_only, out_t, out_i):
    """Continuous-time Poisson spikes before ``t_end`` of channels with rates ``rate``:
    exponential gaps ``-ln(1 - u_k) / r`` with ``u_k = uniform(seed, stream, k, j)``, so the
    spikes before any ``t`` do not depend on ``t_end``. Returns the number of spikes (and
    writes them into ``out_t``/``out_i`` unless ``count_only``)."""
    n = 0
    for j in range(rate.shape[0]):
        if rate[j] <= 0.0:
            continue
        t, k = 0.0, 0
        while True:
            t -= np.log1p(-uniform(seed, stream, k, j)) / rate[j]
            k += 1
            if t >= t_end:
                break
            if not count_only:
                out_t[n] = t
                out_i[n] = gid0 + j
            n += 1
    return n


def _source_spikes(network: Network, t_end: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All source spikes before ``t_end``, sorted: exact times (Poisson in continuous time)."""
    times, ids = [np.zeros(0)], [np.zeros(0, np.int64)]
    for g, src in enumerate(network.sources):
        lo = network.id_range(src.name).start
        if isinstance(src, SpikeArraySource):
            keep = src.times_s < t_end
            times.append(src.times_s[keep])
            ids.append(src.indices[keep].astype(np.int64) + lo)
        elif isinstance(src, PoissonSource):
            args = (seed, stream_id(0, g), src.rate_hz, t_end, lo)
            n = _poisson_times(*args, True, np.zeros(0), np.zeros(0, np.int64))
            t, i = np.empty(n), np.empty(n, np.int64)
            _poisson_times(*args, False, t, i)
            times.append(t)
            ids.append(i)
    t, i = np.concatenate(times), np.concatenate(ids)
    order = np.lexsort((i, t))
    return t[order], i[order]


def _drive_arrivals(network: Network, t_end: float, seed: int) -> tuple[np.ndarray, ...]:
    """Arrivals of the PoissonInput drives before ``t_end``, sorted: each neuron of a drive's
    target receives ``weight`` at the events of a Poisson process of rate ``n_inputs * rate``
    (the superposition of its ``n_inputs`` trains), from stream ``stream_id(1, d)``."""
    times, ids, w = [np.zeros(0)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for d, drv in enumerate(network.drives):
        r = network.id_range(drv.target)
        args = (
            seed,
            stream_id(1, d),
            np.full(r.stop - r.start, drv.n_inputs * drv.rate_hz),
            t_end,
            r.start,
        )
        n = _poisson_times(*args, True, np.zeros(0), np.zeros(0, np.int64))
        t, i = np.empty(n), np.empty(n, np.int64)
        _poisson_times(*args, False, t, i)
        times.append(t)
        ids.append(i)
        w.append(np.full(n, drv.weight))
    t, i, w_all = np.concatenate(times), np.concatenate(ids), np.concatenate(w)
    order = np.lexsort((i, t))
    return t[order], i[order], w_all[order]


class ExactSimulator:
    """The exact event-driven engine behind the
    :class:`~sparse_neuro.neuro.engines.protocol.Simulator` protocol.

    Parameters
    ----------
    network : Network
        Delta synapses, constant drive (``LIFParams.bias``), Poisson and spike-array sources,
        PoissonInput drives (continuous-time arrivals); no plasticity, k-WTA, adaptation,
        current injection or state monitors
        (:func:`~sparse_neuro.neuro.engines.capabilities.check_supported`).
    dt_s : float
        Unit of the integer synaptic delays (``delays * dt_s``) and bin of the recorded
        per-step rates, > 0. Spike times are exact, not on this grid.
    seed : int
        Seed of the Poisson sources (continuous-time draws from the counter RNG).
    max_spikes : int
        Safety limit on the spikes of one run.

    Notes
    -----
    The state of the event queue is not kept between calls: :meth:`run` simulates from
    ``t = 0`` to the new end and returns the new interval. Since the engine is deterministic
    (and source spikes before ``t`` do not depend on the end of the run), ``run(0.3)`` and
    three ``run(0.1)`` give the same spikes; the cost of a continued run grows with its end.
    """

    def __init__(
        self, network: Network, dt_s: float, *, seed: int = 0, max_spikes: int = 50_000_000
    ):
        check_supported(network, "exact")
        if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a finite number > 0, got {dt_s!r}")
        if isinstance(seed, bool) or int(seed) != seed or not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
        if int(max_spikes) < 1:
            raise ValueError(f"max_spikes must be >= 1, got {max_spikes!r}")
        self.network, self.dt_s, self.seed = network, float(dt_s), int(seed)
        self.max_spikes = int(max_spikes)
        self._plan = build_plan(network, self.dt_s, np.float64)
        self._step = 0

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self._step * self.dt_s

    def reset(self, *, keep_weights: bool = False) -> None:
        """Back to ``t = 0`` (same seed, so the same spikes again). The weights never change
        on this engine (no plasticity), so ``keep_weights`` changes nothing."""
        self._step = 0

    def state_dict(self) -> dict[str, object]:
        """The simulated time, in steps (everything else is recomputed)."""
        return {"step": self._step}

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict`: ``step`` an integer in ``[0, MAX_STEP]``
        (:mod:`sparse_neuro.neuro.engines.state_check`), else a ValueError and the state is kept."""
        d = check_keys(d, {"step"}, "state dict")
        self._step = check_step("step", d["step"])

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses (the exact engine does not learn)."""
        return [pr.synapses for pr in self.network.projections]

    def counters(self) -> None:
        """No hardware counters on this backend."""
        return None

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` (a whole number of ``dt_s``) and return that interval.

        Returns
        -------
        Recording
            Exact spike times; rates per ``dt_s`` bin; ``meta["n_events"]`` (queue events
            processed from ``t = 0``).
        """
        # whole steps only, and refuse out-of-reach runs (one helper for every backend)
        n_steps = check_duration(duration_s, self.dt_s, self.network.n_neurons)
        # every call simulates from t = 0: the cost is that of the whole run up to its end
        check_duration((self._step + n_steps) * self.dt_s, self.dt_s, self.network.n_neurons)
        n0, n1 = self._step, self._step + n_steps
        t0, t1 = n0 * self.dt_s, n1 * self.dt_s
        plan, net = self._plan, self.network
        sizes = [p.size for p in net.populations]

        def per_neuron(vals: list[float]) -> np.ndarray:
            return np.repeat(np.asarray(vals, dtype=np.float64), sizes)

        src_t, src_i = _source_spikes(net, t1, self.seed)
        neurons = (
            per_neuron([p.params.v_inf for p in net.populations]),
            per_neuron([p.params.tau_mem_s for p in net.populations]),
            per_neuron([p.params.v_threshold for p in net.populations]),
            per_neuron([p.params.v_reset for p in net.populations]),
            np.repeat(plan.neurons.reset_amount, sizes).astype(np.float64),
            per_neuron([p.params.t_ref_s for p in net.populations]),
        )
        rt = plan.routing
        routes = (
            rt.gp_ptr,
            rt.gp_list,
            rt.group_of_pre,
            rt.p_src_off,
            rt.p_tgt_off,
            rt.p_iptr0,
            rt.p_syn0,
            rt.indptr,
            rt.indices,
            plan.weights,
            rt.delays * self.dt_s,
        )
        inputs = (src_t, src_i, *_drive_arrivals(net, t1, self.seed))
        wall0 = time.perf_counter()
        out_t, out_i, n_out, n_events, ok = _run_exact(
            t1, plan.v_init.copy(), neurons, routes, inputs, self.max_spikes
        )
        wall = time.perf_counter() - wall0
        if not ok:
            raise RuntimeError(f"more than max_spikes={self.max_spikes} spikes; raise max_spikes")
        self._step = n1
        out_t, out_i = out_t[:n_out], out_i[:n_out]
        spikes, rates = {}, {}
        for m in net.monitors:
            r = net.id_range(m.target)
            t_all, i_all = (src_t, src_i) if r.start >= net.n_neurons else (out_t, out_i)
            # a spike belongs to the step Brian2 and the clocked backends bin its time into,
            # the same whichever run it falls in
            step = time_to_step(t_all, self.dt_s)
            sel = (i_all >= r.start) & (i_all < r.stop) & (step >= n0) & (step < n1)
            t_sel, i_sel = t_all[sel], i_all[sel] - r.start
            n = r.stop - r.start
            if isinstance(m, SpikeMonitor):
                spikes[m.target] = SpikeTrains(t_sel, i_sel, n, t1 - t0, t_start_s=t0)
            elif isinstance(m, RateMonitor):
                rates[m.target] = np.bincount(step[sel] - n0, minlength=n_steps) / (n * self.dt_s)
        return Recording(
            spikes,
            {},
            rates,
            self.dt_s,
            t1 - t0,
            meta=run_meta("exact", wall, t0, n_steps, n_events=int(n_events)),
        )


def simulate_exact(
    network: Network,
    duration_s: float,
    *,
    delay_unit_s: float = 1e-4,
    seed: int = 0,
    max_spikes: int = 50_000_000,
) -> Recording:
    """Run ``network`` in continuous time from ``t = 0``; spike times are exact.

    ``ExactSimulator(network, delay_unit_s, seed=seed, max_spikes=max_spikes).run(duration_s)``;
    ``delay_unit_s`` is the duration of one delay step and the bin of the recorded rates.
    """
    return ExactSimulator(network, delay_unit_s, seed=seed, max_spikes=max_spikes).run(duration_s)


register_backend(
    "exact",
    ExactSimulator,
    {
        Feature.DELAYS,
        Feature.POISSON_SOURCES,
        Feature.SPIKE_ARRAY_SOURCES,
        Feature.POISSON_INPUT,
        Feature.SUBTRACT_RESET,
        Feature.CHECKPOINTS,
    },
    "the exact engine runs delta synapses with a constant drive between events",
)
