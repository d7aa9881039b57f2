"""The state record: everything that evolves during a run, as one numba record.

Every clocked backend keeps its state in a :class:`State` (the Loihi fixed-point model with
integer ``v``, ``syn``, ``buffer`` and ``weights``), so the shared step loop and its stages
read one record, checkpoints are its fields, and a new state variable is one field here
plus its initial value in :func:`initial_state`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sparse_neuro.neuro.engines.layout import COUNTER_STRIDE, MIN_SYN_ROWS, NEVER
from sparse_neuro.neuro.engines.plan import Plan

__all__ = ["State", "initial_state"]


class State(NamedTuple):
    """Everything that evolves during a run (explicit, checkpointable).

    Attributes
    ----------
    step : int
        Index of the next step to run (the simulator replaces the record's step after a
        run; compiled stages get it as the loop's step counter instead).
    v : ndarray (n_neurons,)
    syn : ndarray (max(MIN_SYN_ROWS, n_channels), n_neurons)
        Exponential synaptic currents, channel-major (each channel a contiguous stream);
        rows beyond the network's channels stay zero.
    last_spike : ndarray of int64 (n_neurons,)
        Step of each neuron's last spike (:data:`sparse_neuro.neuro.engines.layout.NEVER` if none).
    buffer : ndarray (max_delay + 1, n_neurons, buffer channels)
        Delay ring buffer of inputs not yet delivered.
    queued, queue_ids, queue_len : ndarray
        Per slot: which targets hold input (flags), their ids (partition ``p``'s from
        ``bounds[p]`` on), and how many per partition (``queue_len[slot, p, 0]``; the last
        axis pads each counter to its own cache line, :data:`layout.COUNTER_STRIDE`).
    drive : ndarray (n_neurons,)
        Current injection currently applied (added to ``v_inf``).
    weights : ndarray
        Synaptic weights (they change under plasticity).
    theta : ndarray (n_neurons,)
        Adaptive threshold of each neuron (0 where the population has none).
    theta_plus : ndarray (n_populations,)
        Current threshold increment per spike (set to 0 to freeze adaptation).
    pre_trace, post_trace : ndarray (n_slots, 2)
        STDP traces (fast, slow) of the presynaptic / postsynaptic neurons of the plastic
        projections, as of the step in ``pre_last`` / ``post_last``.
    eligibility, elig_last : ndarray
        Per-synapse eligibility (reward-modulated rules; empty otherwise) and its step.
    learning_rate : ndarray (n_plastic,)
        Current learning rate of each plastic projection.
    """

    step: int
    v: np.ndarray
    syn: np.ndarray
    last_spike: np.ndarray
    buffer: np.ndarray
    queued: np.ndarray
    queue_ids: np.ndarray
    queue_len: np.ndarray
    drive: np.ndarray
    weights: np.ndarray
    theta: np.ndarray
    theta_plus: np.ndarray
    pre_trace: np.ndarray
    pre_last: np.ndarray
    post_trace: np.ndarray
    post_last: np.ndarray
    eligibility: np.ndarray
    elig_last: np.ndarray
    learning_rate: np.ndarray


def initial_state(
    plan: Plan,
    *,
    v: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    syn_rows: int | None = None,
    buffer_channels: int | None = None,
    learns: bool = True,
) -> State:
    """The state at ``t = 0``: no currents, nothing in flight, traces empty.

    Parameters
    ----------
    plan : Plan
    v, weights : ndarray, optional
        Initial potentials and weights (default the plan's, in ``plan.dtype``); their dtype
        is the state's (the Loihi fixed-point model passes integers).
    syn_rows : int, optional
        Rows of ``syn`` (default ``max(MIN_SYN_ROWS, n_channels)``).
    buffer_channels : int, optional
        Channels of the ring buffer (default ``1 + n_channels``: delta, then each ``I_k``).
    learns : bool
        Whether the plastic projections learn here (else no eligibility traces are kept).
    """
    n, c = plan.n_neurons, plan.n_channels
    v = plan.v_init if v is None else v
    weights = plan.weights if weights is None else weights
    rows = max(MIN_SYN_ROWS, c) if syn_rows is None else syn_rows
    chans = 1 + c if buffer_channels is None else buffer_channels
    slots = plan.max_delay + 1
    pl = plan.plastic
    n_elig = weights.size if (pl.any_reward and learns) else 0
    return State(
        step=0,
        v=v.copy(),
        syn=np.zeros((rows, n), dtype=v.dtype),
        last_spike=np.full(n, NEVER, dtype=np.int64),
        buffer=np.zeros((slots, n, chans), dtype=v.dtype),
        queued=np.zeros((slots, n), dtype=np.bool_),
        queue_ids=np.zeros((slots, n), dtype=np.int64),
        queue_len=np.zeros((slots, plan.model.bounds.size - 1, COUNTER_STRIDE), dtype=np.int64),
        drive=np.zeros(n, dtype=plan.dtype),
        weights=weights.copy(),
        theta=plan.theta_init.copy(),
        theta_plus=plan.neurons.theta_plus.copy(),
        pre_trace=np.zeros((pl.n_pre, 2)),
        pre_last=np.full(pl.n_pre, NEVER, dtype=np.int64),
        post_trace=np.zeros((pl.n_post, 2)),
        post_last=np.full(pl.n_post, NEVER, dtype=np.int64),
        eligibility=np.zeros(n_elig),
        elig_last=np.full(n_elig, NEVER, dtype=np.int64),
        learning_rate=pl.learning_rate.copy(),
    )
