"""The delay ring buffer of the clocked backends (clock engine, Loihi model), written once.

State fields (:class:`sparse_neuro.neuro.engines.state.State`): ``buffer[slot, target, channel]``
holds the input that arrives in the steps ``n`` with ``n % n_slots == slot`` (``n_slots = max
delay + 1``); ``queued[slot, target]`` marks a target that has input in a slot, and
``queue_ids[slot, t_lo:]`` lists them for the partition whose targets start at ``t_lo``
(``queue_len[slot, part, 0]`` of them), so that delivery costs what was sent, not the
network size (as Brian2's ``SpikeQueue``: ``queue[(offset + delay) % n]``).

The helpers are inlined into the stages that call them (numba ``inline="always"``), so a
stage pays no call per synapse.
"""

from __future__ import annotations

from sparse_neuro.neuro.engines.primitives import accepts_delta
from sparse_neuro.neuro.jit import njit

__all__ = ["ring_deliver", "ring_push", "ring_slot"]


@njit(nogil=True, inline="always")
def ring_slot(n_mod, d, n_slots):
    """Slot of input sent in step ``n`` with delay ``d`` (``1 <= d < n_slots``), given
    ``n_mod = n % n_slots``: ``(n + d) % n_slots`` without a division per synapse."""
    slot = n_mod + d
    if slot >= n_slots:
        slot -= n_slots
    return slot


@njit(nogil=True, inline="always")
def ring_push(buf, queued, q_ids, q_len, slot, t, ch, w, part, t_lo):
    """Add ``w`` to channel ``ch`` of target ``t`` in ``slot``, queueing ``t`` there for
    partition ``part`` (whose targets start at ``t_lo``) on its first input."""
    if not queued[slot, t]:
        queued[slot, t] = True
        q_ids[slot, t_lo + q_len[slot, part, 0]] = t
        q_len[slot, part, 0] += 1
    buf[slot, t, ch] += w


@njit(nogil=True, inline="always")
def ring_deliver(n, part, t_lo, st, target, ref_n, delta, received):
    """Deliver the slot of step ``n`` to the targets partition ``part`` queued in it, and
    empty it.

    With ``delta``, channel 0 adds to ``st.v`` (discarded while the target is refractory)
    and channel ``1 + k`` to ``target[k]``; without, channel ``k`` adds to ``target[k]``
    (the Loihi fixed-point model's input registers). A non-empty ``received`` marks every
    target delivered to. A network without delays has one slot and nothing queued.
    """
    buf, queued, q_ids, q_len = st.buffer, st.queued, st.queue_ids, st.queue_len
    n_slots = buf.shape[0]
    if n_slots == 1:
        return 0
    v, last = st.v, st.last_spike
    slot = n % n_slots
    mark = received.shape[0] > 0
    off = 1 if delta else 0
    for q in range(q_len[slot, part, 0]):
        i = q_ids[slot, t_lo + q]
        queued[slot, i] = False
        if mark:
            received[i] = 1
        if delta:
            x = buf[slot, i, 0]
            if accepts_delta(n, i, last, ref_n):
                v[i] += x
            buf[slot, i, 0] = 0
        for k in range(buf.shape[2] - off):
            target[k, i] += buf[slot, i, off + k]
            buf[slot, i, off + k] = 0
    q_len[slot, part, 0] = 0
    return 0
