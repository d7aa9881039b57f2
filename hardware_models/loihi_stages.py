"""Stages of the event-queue backend for the shared step loop
(:mod:`sparse_neuro.neuro.engines.loop`).

The Loihi-style model runs the clock engine's loop and replaces two stages only:

- ``inputs`` (:func:`loihi_inputs`): spikes become per-core messages, queued per destination
  core and processed there, with every operation counted;
- ``update`` in fixed-point mode (:func:`update_fixed`): Loihi's integer CUBA update with
  decays of ``LoihiSpec.decay_bits`` bits. Float mode runs the clock engine's own update.

Counter columns (``ctr[core, j]``) follow ``sparse_neuro.hardware_models.event_queue.COUNTERS``:
0 syn_ops, 1 neuron_active, 2 neuron_inactive, 3 spikes_out, 4 msgs_tile, 5 msgs_mesh,
6 hops_ew, 7 hops_ns, 8 input_spikes, 9 syn_updates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sparse_neuro.hardware_models.fixed_point_stdp import FixedLearn, fixed_plastic_events
from sparse_neuro.neuro.engines.backends.clock import update_serial
from sparse_neuro.neuro.engines.learn import PlasticPlan
from sparse_neuro.neuro.engines.loop import register_stages
from sparse_neuro.neuro.engines.primitives import (
    accepts_delta,
    apply_drives,
    crossings,
    step_kernel,
)
from sparse_neuro.neuro.engines.ring import ring_deliver, ring_push, ring_slot
from sparse_neuro.neuro.jit import njit

__all__ = [
    "Chip",
    "FixedPoint",
    "LoihiFixedStages",
    "LoihiStages",
    "Segments",
    "loihi_inputs",
    "loihi_inputs_fixed",
    "update_fixed",
]


class Chip(NamedTuple):
    """Where the neurons are and what a step costs there (numba record).

    Attributes
    ----------
    core_of : ndarray of int64 (n_neurons,)
    core_x, core_y, core_tile : ndarray of int64 (n_cores,)
        Mesh position and tile of each core.
    n_comp : ndarray of int64 (n_neurons,)
        Compartments of each neuron (``max(1, n_channels)``).
    run_ptr, run_core, run_comp : ndarray of int64
        Runs of consecutive neurons on one core with one compartment count: bounds, core,
        compartments (the per-step count of active compartments is then a count of marks).
    plastic_fanout : ndarray of int64 (n_neurons + n_sources, n_cores) or (0, 1)
        Plastic synapses of each presynaptic id on each core (empty without plasticity).
    plastic_fanin : ndarray of int64 (n_neurons,)
        Plastic synapses into each neuron.
    """

    core_of: np.ndarray
    core_x: np.ndarray
    core_y: np.ndarray
    core_tile: np.ndarray
    n_comp: np.ndarray
    run_ptr: np.ndarray
    run_core: np.ndarray
    run_comp: np.ndarray
    plastic_fanout: np.ndarray
    plastic_fanin: np.ndarray


class Segments(NamedTuple):
    """Synapses regrouped by (presynaptic id, destination core): one segment = one message.

    Attributes
    ----------
    pre_seg_ptr : ndarray of int64 (n_neurons + n_sources + 1,)
    seg_core : ndarray of int64 (n_seg,)
    seg_syn_ptr : ndarray of int64 (n_seg + 1,)
    seg_fast : ndarray of int64 (n_seg,)
        The channel if all synapses of the segment have delay 0 and that channel, else -1.
    syn_tgt, syn_ch, syn_d : ndarray of int64
        Global target id, buffer channel and delay of each routed synapse.
    syn_orig : ndarray of int64
        Index of each routed synapse in the plan's (flat) synapse order.
    """

    pre_seg_ptr: np.ndarray
    seg_core: np.ndarray
    seg_syn_ptr: np.ndarray
    seg_fast: np.ndarray
    syn_tgt: np.ndarray
    syn_ch: np.ndarray
    syn_d: np.ndarray
    syn_orig: np.ndarray


class FixedPoint(NamedTuple):
    """Integer neuron constants of the fixed-point mode, per neuron (see
    :class:`sparse_neuro.hardware_models.fixed_point.QuantizedNetwork`); empty in float mode.
    ``learn`` is the plan's plastic projections and ``fx`` their integer learning constants
    (:attr:`sparse_neuro.hardware_models.fixed_point_stdp.FixedSTDPPlan.table`, no rows: no
    learning); the step loop's own (float) STDP is off in fixed mode."""

    du: np.ndarray
    dv: np.ndarray
    bias: np.ndarray
    drive_gain: np.ndarray
    decay_bits: int
    u_wrap: int
    v_lim: int
    learn: PlasticPlan
    fx: np.ndarray


class LoihiStages(NamedTuple):
    """The event-queue model's record for its stages (``bk`` of the step loop).

    Attributes
    ----------
    chip : Chip
    segments : Segments
    fixed_point : FixedPoint
    fixed : bool
        Fixed-point mode: inputs go to the input registers ``inreg``.
    indirect : bool
        Weights are in the plan's synapse order (the STDP kernel updates them) and read
        through ``segments.syn_orig``; otherwise they are stored in routed order.
    inreg : ndarray (n_u, n_neurons)
        Fixed mode: input registers, added to ``u`` by the next update.
    hits : ndarray of int64 (n_neurons,)
        Scratch: drive inputs of the step.
    received : ndarray of uint8 (n_neurons,)
        Scratch: neurons that received input or spiked (bytes: the mark is written per
        synaptic op and summed over every neuron each step).
    msg_seg, msg_sorted, q_ptr : ndarray of int64
        Scratch of the per-core message queues.
    counters : ndarray of int64 (n_steps, n_cores, 10)
        Counters of the steps of the current call (``counters[n - n0]``).
    """

    chip: Chip
    segments: Segments
    fixed_point: FixedPoint
    fixed: bool
    indirect: bool
    inreg: np.ndarray
    hits: np.ndarray
    received: np.ndarray
    msg_seg: np.ndarray
    msg_sorted: np.ndarray
    q_ptr: np.ndarray
    counters: np.ndarray


class LoihiFixedStages(LoihiStages):
    """:class:`LoihiStages` of the fixed-point mode (its update stage is :func:`update_fixed`)."""

    __slots__ = ()


@step_kernel
def _send(n_spk, spiking, ext_ids, e0, e1, bk, ctr):
    """Turn the step's spikes into messages (one per destination core of each sender), count
    the routing, and queue them per core (a stable counting sort, so each core sees them in
    global spike order). Returns the message count; ``bk.msg_sorted`` holds the queues."""
    ch, sg_ = bk.chip, bk.segments
    core_of, seg_core = ch.core_of, sg_.seg_core
    msg_seg, msg_sorted, q_ptr = bk.msg_seg, bk.msg_sorted, bk.q_ptr
    n_cores = ctr.shape[0]
    n_msg = 0
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        src = core_of[g] if r < n_spk else -1
        if src >= 0:
            ctr[src, 3] += 1
        for sg in range(sg_.pre_seg_ptr[g], sg_.pre_seg_ptr[g + 1]):
            msg_seg[n_msg] = sg
            n_msg += 1
            dst = seg_core[sg]
            if src < 0:
                ctr[dst, 8] += 1
            elif ch.core_tile[src] == ch.core_tile[dst]:
                ctr[src, 4] += 1
            else:
                ctr[src, 5] += 1
                ctr[src, 6] += abs(ch.core_x[src] - ch.core_x[dst])
                ctr[src, 7] += abs(ch.core_y[src] - ch.core_y[dst])
    for c in range(n_cores + 1):
        q_ptr[c] = 0
    for m in range(n_msg):
        q_ptr[seg_core[msg_seg[m]] + 1] += 1
    for c in range(n_cores):
        q_ptr[c + 1] += q_ptr[c]
    for m in range(n_msg):
        c = seg_core[msg_seg[m]]
        msg_sorted[q_ptr[c]] = msg_seg[m]
        q_ptr[c] += 1
    return n_msg


@step_kernel
def _process(n, st, bk, ctr, ref_n):
    """Each core processes its message queue (from :func:`_send`): one synaptic op per
    synapse. Zero-delay events act at once (float: on ``v`` / ``I`` exactly as the clock
    engine, in the same order per target; fixed: into the input registers), delayed ones go
    to the ring buffer."""
    sg_ = bk.segments
    seg_syn_ptr, seg_fast, syn_tgt, syn_ch, syn_d = (
        sg_.seg_syn_ptr,
        sg_.seg_fast,
        sg_.syn_tgt,
        sg_.syn_ch,
        sg_.syn_d,
    )
    v, syn, last, syn_w = st.v, st.syn, st.last_spike, st.weights
    buf, queued, q_ids, q_len = st.buffer, st.queued, st.queue_ids, st.queue_len
    inreg, received, fixed, indirect = bk.inreg, bk.received, bk.fixed, bk.indirect
    n_slots = buf.shape[0]
    n_mod = n % n_slots  # delays are < n_slots
    start = 0
    for c in range(ctr.shape[0]):
        stop = bk.q_ptr[c]
        for m in range(start, stop):
            sg = bk.msg_sorted[m]
            lo, hi = seg_syn_ptr[sg], seg_syn_ptr[sg + 1]
            ctr[c, 0] += hi - lo
            fch = seg_fast[sg]
            if fch >= 0 and not indirect:
                # fast path: every synapse of the message has delay 0 and one channel
                if fixed:
                    for s in range(lo, hi):
                        t = syn_tgt[s]
                        inreg[fch, t] += syn_w[s]
                        received[t] = 1
                elif fch == 0:
                    for s in range(lo, hi):
                        t = syn_tgt[s]
                        if accepts_delta(n, t, last, ref_n):
                            v[t] += syn_w[s]
                        received[t] = 1
                else:
                    for s in range(lo, hi):
                        t = syn_tgt[s]
                        syn[fch - 1, t] += syn_w[s]
                        received[t] = 1
                continue
            for s in range(lo, hi):
                t = syn_tgt[s]
                d = syn_d[s]
                wt = syn_w[sg_.syn_orig[s]] if indirect else syn_w[s]
                if d == 0:
                    received[t] = 1
                    ch = syn_ch[s]
                    if fixed:
                        inreg[ch, t] += wt
                    elif ch == 0:
                        if accepts_delta(n, t, last, ref_n):
                            v[t] += wt
                    else:
                        syn[ch - 1, t] += wt
                else:  # one partition: the queue of partition 0, from target 0 on
                    ring_push(
                        buf,
                        queued,
                        q_ids,
                        q_len,
                        ring_slot(n_mod, d, n_slots),
                        t,
                        syn_ch[s],
                        wt,
                        0,
                        0,
                    )
        start = stop
    return 0


@step_kernel
def _plastic_counts(spiking, n_spk, ext_ids, e0, e1, chip, ctr):
    """Count STDP synaptic updates: plastic fan-out of spiking rows (at the cores holding
    those synapses) and plastic fan-in of spiking neurons (at their core)."""
    fan = chip.plastic_fanout
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        for c in range(fan.shape[1]):
            ctr[c, 9] += fan[g, c]
        if r < n_spk:
            ctr[chip.core_of[g], 9] += chip.plastic_fanin[g]
    return 0


@step_kernel
def _count_drive_inputs(hits, core_of, received, ctr):
    """Count the step's external drive inputs (input spikes and synaptic ops at the target's
    core), mark their targets active, and clear ``hits``."""
    for i in range(hits.shape[0]):
        k = hits[i]
        if k > 0:
            c = core_of[i]
            ctr[c, 8] += k
            ctr[c, 0] += k
            received[i] = 1
            hits[i] = 0
    return 0


@step_kernel
def _active(received):
    """Neurons of the slice that received input or spiked; clears the marks."""
    act = 0
    for i in range(received.shape[0]):
        act += received[i]
        received[i] = 0
    return act


@step_kernel
def _deliver_and_count(n, spiking, n_spk, st, bk, ctr, ref_n):
    """Deliver slot ``n`` (float: into ``v`` / ``I``; fixed: into the input registers) for
    the targets queued in it, then count active/inactive compartment updates (one pass over
    the neurons, like the update itself)."""
    received = bk.received
    for r in range(n_spk):
        received[spiking[r]] = 1
    # fixed: the buffer channels are the input registers; float: channel 0 into v (unless
    # refractory), 1 + k into I_k
    ring_deliver(n, 0, 0, st, bk.inreg if bk.fixed else st.syn, ref_n, not bk.fixed, received)
    ch = bk.chip
    for r in range(ch.run_core.shape[0]):  # runs of consecutive neurons on one core
        lo, hi = ch.run_ptr[r], ch.run_ptr[r + 1]
        act = ch.n_comp[lo] * _active(received[lo:hi])
        ctr[ch.run_core[r], 1] += act
        ctr[ch.run_core[r], 2] += ch.run_comp[r] - act
    return 0


@step_kernel
def loihi_inputs(n, j, spiking, n_spk, model, st, bk, io):
    """Stage 3 of the event-queue model: send, queue and process the step's messages, add
    the external drives (each input an off-chip input spike and a synaptic op), count the
    STDP updates, deliver the ring-buffer slot; in the clock engine's order, so float mode
    adds every input in the same order as the clock engine."""
    ctr = bk.counters[j]
    ref_n = model.neurons.ref_n
    e0 = io.ext_ptr[j]
    e1 = io.ext_ptr[j + 1]
    _send(n_spk, spiking, io.ext_ids, e0, e1, bk, ctr)
    _process(n, st, bk, ctr, ref_n)
    if model.drives.lo.shape[0] > 0:
        apply_drives(
            n,
            io.seed,
            model.drives,
            st.v,
            bk.inreg if bk.fixed else st.syn,
            st.last_spike,
            ref_n,
            bk.hits,
            0,
            st.v.shape[0],
        )
        _count_drive_inputs(bk.hits, bk.chip.core_of, bk.received, ctr)
    if bk.chip.plastic_fanout.shape[0] > 0:
        _plastic_counts(spiking, n_spk, io.ext_ids, e0, e1, bk.chip, ctr)
    _deliver_and_count(n, spiking, n_spk, st, bk, ctr, ref_n)
    return 0


@step_kernel
def update_fixed(n, model, st, bk, sc):
    """Stage 1 in fixed-point mode: Loihi's integer CUBA update (see
    :mod:`sparse_neuro.hardware_models.fixed_point`), then the threshold scan, population by
    population (the model runs one partition: candidates from ``sc.cand[0]`` on). ``u`` (``st.syn``)
    and the input registers are ``(n_u, n_neurons)``; decays are ``decay_bits``-bit
    fractions (``LoihiSpec.decay_bits``)."""
    fp = bk.fixed_point
    du, dv, bias, drive_gain, decay_bits = fp.du, fp.dv, fp.bias, fp.drive_gain, fp.decay_bits
    u_wrap, v_lim = fp.u_wrap, fp.v_lim
    v, u, inreg, last, drive = st.v, st.syn, bk.inreg, st.last_spike, st.drive
    nr = model.neurons
    n_u = u.shape[0]
    unity = np.int64(1) << decay_bits
    n_c = 0
    for pop in range(nr.pop_offsets.shape[0] - 1):
        lo = nr.pop_offsets[pop]
        hi = nr.pop_offsets[pop + 1]
        rs = nr.ref_steps[pop]
        for i in range(lo, hi):
            tot = 0
            for k in range(n_u):
                x = np.int64(u[k, i]) * (unity - du[i, k])
                x = (x >> decay_bits) if x >= 0 else -((-x) >> decay_bits)
                x += inreg[k, i]
                inreg[k, i] = 0
                if x >= u_wrap:
                    x -= 2 * u_wrap
                elif x < -u_wrap:
                    x += 2 * u_wrap
                u[k, i] = x
                tot += x
            if (n - last[i]) >= rs:
                y = np.int64(v[i]) * (unity - dv[i])
                y = (y >> decay_bits) if y >= 0 else -((-y) >> decay_bits)
                y += tot + bias[i]
                if drive[i] != 0.0:  # current injection: the bias register, reprogrammed
                    y += np.int64(np.rint(drive[i] * drive_gain[i]))
                if y > v_lim:
                    y = v_lim
                elif y < -v_lim:
                    y = -v_lim
                v[i] = y
        n_c += crossings(
            n,
            v[lo:hi],
            last[lo:hi],
            st.theta[lo:hi],
            False,
            nr.v_threshold[pop],
            rs,
            lo,
            sc.cand[n_c:],
        )
    sc.n_cand[0] = n_c
    return 0


register_stages(LoihiStages, update_serial, loihi_inputs)  # float: the clock engine's update


@njit(nogil=True)
def loihi_inputs_fixed(n, j, spiking, n_spk, model, st, bk, io):
    """Stage 3 in fixed-point mode: :func:`loihi_inputs`, then Loihi-precision STDP
    (:func:`sparse_neuro.hardware_models.fixed_point_stdp.fixed_plastic_events`) at the point of the
    step where the loop runs the float rule; integer traces live in the float rule's trace
    storage (column 0), so checkpoints keep them."""
    loihi_inputs(n, j, spiking, n_spk, model, st, bk, io)
    fp = bk.fixed_point
    if fp.fx.shape[0] > 0:
        learn = FixedLearn(
            fp.learn,
            fp.fx,
            model.routing,
            st.weights,
            st.pre_trace[:, 0],
            st.pre_last,
            st.post_trace[:, 0],
            st.post_last,
            io.seed,
        )
        fixed_plastic_events(n, spiking, n_spk, io.ext_ids, io.ext_ptr[j], io.ext_ptr[j + 1], learn)
    return 0


register_stages(LoihiFixedStages, update_fixed, loihi_inputs_fixed)
