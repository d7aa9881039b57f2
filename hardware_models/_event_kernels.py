"""Compiled kernels of the event-queue backend (see :mod:`hardware_models.event_queue`).

Counter columns (``ctr[core, j]``) follow ``hardware_models.event_queue.COUNTERS``:
0 syn_ops, 1 neuron_active, 2 neuron_inactive, 3 spikes_out, 4 msgs_tile, 5 msgs_mesh,
6 hops_ew, 7 hops_ns, 8 input_spikes, 9 syn_updates.
"""

from __future__ import annotations

import numba
import numpy as np

from neuro.engines.clock import update_stage
from neuro.engines.kernels import apply_drives, kwta_winners
from neuro.engines.plasticity import plastic_events
from hardware_models.fixed_point_stdp import fixed_plastic_events


@numba.njit(cache=True, nogil=True)
def _candidates(v, th, notref, cand, lo):
    """Indices (offset by ``lo``) of the slice's neurons above ``th`` and not refractory."""
    n_c = 0
    for i in range(v.shape[0]):
        if v[i] > th and notref[i]:
            cand[n_c] = lo + i
            n_c += 1
    return n_c


@numba.njit(cache=True, nogil=True)
def _threshold(v, vth, v_reset, notref, pop_offsets, kwta_k, kwta_hold, adapt, theta,
               spiking, cand):
    """The clock engine's threshold with adaptive thresholds (decayed by the update stage)
    and k-WTA; returns the number of spikes."""
    n_spk = 0
    for pop in range(pop_offsets.shape[0] - 1):
        n_c = 0
        lo, hi = pop_offsets[pop], pop_offsets[pop + 1]
        if adapt[pop]:
            for i in range(lo, hi):
                if v[i] > vth[i] + theta[i] and notref[i]:
                    cand[n_c] = i
                    n_c += 1
        elif hi > lo:
            n_c = _candidates(v[lo:hi], vth[lo], notref[lo:hi], cand, lo)
        n_spk = kwta_winners(v, theta, adapt[pop], cand, n_c, kwta_k[pop], kwta_hold[pop],
                             v_reset[lo], spiking, n_spk)
    return n_spk


@numba.njit(cache=True, nogil=True)
def _route(n, spiking, n_spk, ext_ids, e0, e1, core_of, core_x, core_y, core_tile,
           pre_seg_ptr, seg_core, seg_syn_ptr, seg_fast, syn_tgt, syn_ch, syn_d, syn_w,
           indirect, syn_orig, buf, cnt, q_ids, q_len, msg_seg, msg_sorted, q_ptr, ctr, fixed, v,
           syn, inreg, accept, received):
    """Send this step's spikes as messages, queue them per core, process the queues.

    Zero-delay events act at once (float: on ``v`` / ``I`` exactly as the clock engine,
    in the same order per target; fixed: into the input registers), delayed ones go to
    the ring buffer."""
    n_slots = buf.shape[0]
    n_cores = ctr.shape[0]
    n_msg = 0
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        src = core_of[g] if r < n_spk else -1
        if src >= 0:
            ctr[src, 3] += 1
        for sg in range(pre_seg_ptr[g], pre_seg_ptr[g + 1]):
            msg_seg[n_msg] = sg
            n_msg += 1
            dst = seg_core[sg]
            if src < 0:
                ctr[dst, 8] += 1
            elif core_tile[src] == core_tile[dst]:
                ctr[src, 4] += 1
            else:
                ctr[src, 5] += 1
                ctr[src, 6] += abs(core_x[src] - core_x[dst])
                ctr[src, 7] += abs(core_y[src] - core_y[dst])
    # per-core queues: stable counting sort by destination core
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
    start = 0
    for c in range(n_cores):
        stop = q_ptr[c]
        for m in range(start, stop):
            sg = msg_sorted[m]
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
                        if accept[t]:
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
                wt = syn_w[syn_orig[s]] if indirect else syn_w[s]
                if d == 0:
                    received[t] = 1
                    ch = syn_ch[s]
                    if fixed:
                        inreg[ch, t] += wt
                    elif ch == 0:
                        if accept[t]:
                            v[t] += wt
                    else:
                        syn[ch - 1, t] += wt
                else:
                    slot = (n + d) % n_slots
                    if cnt[slot, t] == 0:  # first input of this target in that slot
                        q_ids[slot, q_len[slot]] = t
                        q_len[slot] += 1
                    buf[slot, t, syn_ch[s]] += wt
                    cnt[slot, t] += 1
        start = stop
    return 0


@numba.njit(cache=True, nogil=True)
def _plastic_counts(spiking, n_spk, ext_ids, e0, e1, pre_plastic_fanout, post_plastic_fanin,
                    core_of_tgt_pre, core_of, ctr):
    """Count STDP synaptic updates: plastic fan-out of spiking rows (at the cores holding
    those synapses) and plastic fan-in of spiking neurons (at their core)."""
    for r in range(n_spk + (e1 - e0)):
        g = spiking[r] if r < n_spk else ext_ids[e0 + r - n_spk]
        for c in range(pre_plastic_fanout.shape[1]):
            ctr[c, 9] += pre_plastic_fanout[g, c]
        if r < n_spk:
            ctr[core_of[g], 9] += post_plastic_fanin[g]
    return 0


@numba.njit(cache=True, nogil=True)
def _deliver_and_count(n, v, syn_or_in, accept, buf, cnt, q_ids, q_len, spiking, n_spk,
                       run_ptr, run_core, run_comp, n_comp, received, ctr, fixed):
    """Deliver slot ``n`` (float: into v / I; fixed: into the input registers) for the
    targets queued in it, then count active/inactive compartment updates (one pass over
    the neurons, like the update itself)."""
    n_slots = buf.shape[0]
    slot = n % n_slots
    n_ch = syn_or_in.shape[0]
    for r in range(n_spk):
        received[spiking[r]] = 1
    deliver = n_slots > 1
    for q in range(q_len[slot] if deliver else 0):
        i = q_ids[slot, q]
        received[i] = 1
        cnt[slot, i] = 0
        if fixed:
            for k in range(n_ch):
                y = buf[slot, i, k]
                if y != 0:
                    syn_or_in[k, i] += y
                    buf[slot, i, k] = 0
        else:
            x = buf[slot, i, 0]
            if x != 0:
                if accept[i]:
                    v[i] += x
                buf[slot, i, 0] = 0
            for k in range(buf.shape[2] - 1):
                y = buf[slot, i, 1 + k]
                if y != 0:
                    syn_or_in[k, i] += y
                    buf[slot, i, 1 + k] = 0
    if deliver:
        q_len[slot] = 0
    for r in range(run_core.shape[0]):  # runs of consecutive neurons on one core
        lo, hi = run_ptr[r], run_ptr[r + 1]
        act = _active(received[lo:hi], n_comp[lo:hi])
        ctr[run_core[r], 1] += act
        ctr[run_core[r], 2] += run_comp[r] - act
    return 0


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def _active(received, n_comp):
    """Compartments of the slice that received input or spiked; clears the marks."""
    act = 0
    for i in range(received.shape[0]):
        act += received[i] * n_comp[i]
        received[i] = 0
    return act


@numba.njit(cache=True, nogil=True)
def _refractory_flags(n, last, notref, accept, ref_steps):
    """Per-neuron flags the queue kernels read: not refractory, and accepts delta input
    (the clock engine's rule)."""
    for i in range(last.shape[0]):
        nr = (n - last[i]) >= ref_steps[i]
        notref[i] = nr
        accept[i] = nr or ref_steps[i] == 0
    return 0


@numba.njit(cache=True, nogil=True)
def _update_fixed(n, v, u, inreg, last, notref, accept, du, dv, bias, ref_steps, u_wrap, v_lim,
                  drive, drive_gain, decay_bits):
    """Loihi CUBA integer update (see :mod:`hardware_models.fixed_point`); ``u`` and the
    input registers are ``(n_channels, n_neurons)``; decays are ``decay_bits``-bit
    fractions (``LoihiSpec.decay_bits``)."""
    n_u = u.shape[0]
    unity = np.int64(1) << decay_bits
    for i in range(v.shape[0]):
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
        nr = (n - last[i]) >= ref_steps[i]
        notref[i] = nr
        accept[i] = nr or ref_steps[i] == 0
        if nr:
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
    return 0


@numba.njit(cache=True, nogil=True)
def _run(n0, n1, fixed, v, syn, inreg, last, buf, cnt, q_ids, q_len, drive, w, nr, du, dv, bias, drive_gain, decay_bits, u_wrap,
         v_lim,
         v_reset, vth, reset_amt, ref_steps, pop_offsets, kwta_k, kwta_hold,
         core_of, core_x, core_y, core_tile, n_comp, run_ptr, run_core, run_comp,
         pre_seg_ptr, seg_core, seg_syn_ptr, seg_fast, syn_tgt, syn_ch, syn_d,
         syn_orig, indirect, pre_plastic_fanout, post_plastic_fanin,
         adapt, theta, theta_plus,
         stdp_on, w_learn, pl_ints, pl_par, pl_tau, pl_decay, csc_ptr, csc_syn, csc_pre, p_syn0, p_iptr0,
         flat_indptr, flat_indices, pre_tr, pre_last, post_tr, post_last, elig, elig_last, lr,
         fx, w_fix, ext_ptr, ext_ids, ev_ptr, ev_ids, ev_vals, seed, drives, hits,
         rec_ids, rec_chan, rec_every, rec_out, rec_count,
         out_step, out_id, ctr_all):
    n_neur = v.shape[0]
    n_cores = ctr_all.shape[1]
    notref = np.empty(n_neur, dtype=np.bool_)
    accept = np.empty(n_neur, dtype=np.bool_)
    extra = np.zeros(n_neur)
    spiking = np.empty(n_neur, dtype=np.int64)
    cand = np.empty(n_neur, dtype=np.int64)
    received = np.zeros(n_neur, dtype=np.int64)
    n_seg = seg_core.shape[0]
    msg_seg = np.empty(n_seg, dtype=np.int64)
    msg_sorted = np.empty(n_seg, dtype=np.int64)
    q_ptr = np.empty(n_cores + 1, dtype=np.int64)
    n_out = 0
    for n in range(n0, n1):
        j = n - n0
        ctr = ctr_all[j]
        for e in range(ev_ptr[j], ev_ptr[j + 1]):
            drive[ev_ids[e]] += ev_vals[e]
        if rec_ids.shape[0] > 0 and n % rec_every == 0:
            for c in range(rec_ids.shape[0]):
                i = rec_ids[c]
                rec_out[rec_count, c] = v[i] if rec_chan[c] < 0 else syn[rec_chan[c], i]
            rec_count += 1
        if fixed:
            _update_fixed(n, v, syn, inreg, last, notref, accept, du, dv, bias, ref_steps,
                          u_wrap, v_lim, drive, drive_gain, decay_bits)
        else:
            # the clock engine's update stage itself: float mode equals it by construction
            update_stage(n, 0, n_neur, nr, v, syn, last, drive, theta, extra)
            _refractory_flags(n, last, notref, accept, ref_steps)
        n_spk = _threshold(v, vth, v_reset, notref, pop_offsets, kwta_k, kwta_hold, adapt,
                           theta, spiking, cand)
        for r in range(n_spk):
            i = spiking[r]
            last[i] = n
            notref[i] = False
            if ref_steps[i] > 0:
                accept[i] = False
            out_step[n_out] = n
            out_id[n_out] = i
            n_out += 1
        _route(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], core_of, core_x, core_y,
               core_tile, pre_seg_ptr, seg_core, seg_syn_ptr, seg_fast, syn_tgt, syn_ch, syn_d,
               w, indirect, syn_orig, buf, cnt, q_ids, q_len, msg_seg, msg_sorted, q_ptr, ctr,
               fixed, v, syn, inreg, accept, received)
        if drives.lo.shape[0] > 0:
            # the clock engine's drive stage, at the same point of the step (so float mode
            # adds in the same order); fixed mode gets integer weights into the input
            # registers. Each drive input is an off-chip input spike and one synaptic op.
            apply_drives(n, seed, drives, v, inreg if fixed else syn, last, ref_steps, hits,
                         0, n_neur)
            _count_drive_inputs(hits, core_of, received, ctr)
        if pre_plastic_fanout.shape[0] > 0:
            _plastic_counts(spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1],
                            pre_plastic_fanout, post_plastic_fanin, core_of, core_of, ctr)
        if fixed:
            _deliver_and_count(n, v, inreg, accept, buf, cnt, q_ids, q_len, spiking, n_spk,
                               run_ptr, run_core, run_comp, n_comp, received, ctr, True)
        else:
            _deliver_and_count(n, v, syn, accept, buf, cnt, q_ids, q_len, spiking, n_spk,
                               run_ptr, run_core, run_comp, n_comp, received, ctr, False)
        if stdp_on and fixed:  # Loihi-precision STDP on the flat-order integer weights
            fixed_plastic_events(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], pl_ints,
                                 fx, csc_ptr, csc_syn, csc_pre, p_syn0, p_iptr0, flat_indptr,
                                 flat_indices, w_fix, pre_tr[:, 0], pre_last, post_tr[:, 0],
                                 post_last, seed)
        elif stdp_on:  # the clock engine's STDP kernel, on the flat-order weights
            plastic_events(n, spiking, n_spk, ext_ids, ext_ptr[j], ext_ptr[j + 1], pl_ints,
                           pl_par, pl_tau, pl_decay, csc_ptr, csc_syn, csc_pre, p_syn0,
                           p_iptr0, flat_indptr, flat_indices, w_learn, pre_tr, pre_last, post_tr,
                           post_last, elig, elig_last, lr)
        for r in range(n_spk):
            i = spiking[r]
            if reset_amt[i] > 0:
                v[i] -= reset_amt[i]
            else:
                v[i] = v_reset[i]
            theta[i] += theta_plus[i]
    return n_out, rec_count


