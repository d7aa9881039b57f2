"""Duration of each algorithmic time step on a Loihi-style system.

Loihi runs every algorithmic step as a bulk-synchronous phase (Davies et al. 2018, IEEE
Micro 38(1)): each core updates its compartments, sends the spikes of the neurons that
fired and integrates the spikes it receives, then all cores (of all chips) meet at a
barrier before the next step starts. The model here:

.. math::

    T_{step} = \\max\\big(\\max_{c} B_c,\\; \\max_{l} M_l / r_{link}\\big)
               + T_{barrier}(n_{tiles}, d_{chips}) + T_{host}

- ``B_c``, the busy time of core ``c``: its operation counts of the step times their times
  (:data:`BUSY_TERMS`: synaptic ops and updates, active and inactive compartment updates,
  spikes generated, messages sent with their hops, input messages received). Cores work in
  parallel, so the slowest core sets the pace. Messages received from other on-chip cores
  are charged ``t_msg_in_ns`` at the *sender* (the counters do not say which core receives
  them); input (off-chip) messages at the receiver.
- ``M_l``, the messages crossing chip-to-chip link ``l`` in the step, over the link's
  capacity ``r_link = link_msgs_per_us`` (0 = unlimited): a step whose inter-chip traffic
  takes longer than every core's work is *link-bound*.
- ``T_barrier``: the mesh barrier for the tiles used on one chip
  (:meth:`LoihiSpec.barrier_ns`) plus ``t_barrier_chip_ns`` per chip hop of the chip
  grid's diameter ``d_chips`` (the barrier token crosses the grid and back).
- ``T_host = t_host_step_ns + t_input_msg_ns x (input messages)``: the host's per-step
  work (embedded x86 cores, spike injection), which Loihi does not overlap with the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparse_neuro.hardware_models.event_queue import COUNTERS
from sparse_neuro.hardware_models.loihi import LoihiSpec

__all__ = ["BUSY_TERMS", "StepTimes", "busy_ns", "step_times"]

#: (counter, LoihiSpec time field) pairs whose products make a core's busy time.
BUSY_TERMS = (
    ("syn_ops", "t_syn_op_ns"),
    ("syn_updates", "t_syn_update_ns"),
    ("neuron_active", "t_neuron_active_ns"),
    ("neuron_inactive", "t_neuron_inactive_ns"),
    ("spikes_out", "t_spike_out_ns"),
    ("msgs_tile", "t_spike_tile_ns"),
    ("msgs_tile", "t_msg_out_ns"),
    ("msgs_mesh", "t_msg_out_ns"),
    ("msgs_tile", "t_msg_in_ns"),
    ("msgs_mesh", "t_msg_in_ns"),
    ("hops_ew", "t_hop_ew_ns"),
    ("hops_ns", "t_hop_ns_ns"),
    ("input_spikes", "t_msg_in_ns"),
)


def _time_vector(spec: LoihiSpec) -> np.ndarray:
    t = np.zeros(len(COUNTERS))
    for ctr, field in BUSY_TERMS:
        t[COUNTERS.index(ctr)] += getattr(spec, field)
    return t


def busy_ns(per_step: np.ndarray, spec: LoihiSpec) -> np.ndarray:
    """Busy time (ns) of every core in every step.

    Parameters
    ----------
    per_step : ndarray of int, shape (n_steps, n_cores, len(COUNTERS))
        Counters as :attr:`sparse_neuro.hardware_models.event_queue.LoihiCounters.per_step`.
    spec : LoihiSpec

    Returns
    -------
    ndarray of float64, shape (n_steps, n_cores)
    """
    per_step = np.asarray(per_step)
    if per_step.ndim != 3 or per_step.shape[2] != len(COUNTERS):
        raise ValueError(
            f"per_step must have shape (n_steps, n_cores, {len(COUNTERS)}), got {per_step.shape}"
        )
    return per_step.astype(np.float64) @ _time_vector(spec)


@dataclass(frozen=True, eq=False)
class StepTimes:
    """The parts of every step's duration (ns), see the module docstring.

    Attributes
    ----------
    compute_ns, link_ns, barrier_ns, host_ns : ndarray, shape (n_steps,)
        Slowest core's busy time; busiest link's transfer time; barrier; host work.
    """

    compute_ns: np.ndarray
    link_ns: np.ndarray
    barrier_ns: np.ndarray
    host_ns: np.ndarray

    @property
    def total_ns(self) -> np.ndarray:
        """Duration of each step."""
        return np.maximum(self.compute_ns, self.link_ns) + self.barrier_ns + self.host_ns

    @property
    def elapsed_s(self) -> float:
        """Duration of all steps (seconds)."""
        return float(self.total_ns.sum()) * 1e-9

    def bound(self) -> dict[str, int]:
        """How many steps each part dominates (``compute``, ``link``, ``barrier``, ``host``)."""
        parts = np.stack([self.compute_ns, self.link_ns, self.barrier_ns, self.host_ns])
        winner = np.argmax(parts, axis=0) if parts.shape[1] else np.zeros(0, int)
        return {
            k: int(np.sum(winner == i))
            for i, k in enumerate(("compute", "link", "barrier", "host"))
        }


def step_times(
    per_step: np.ndarray,
    spec: LoihiSpec,
    n_tiles: int,
    *,
    chip_diameter: int = 0,
    link_msgs: np.ndarray | None = None,
) -> StepTimes:
    """Duration of every step from its per-core counters.

    Parameters
    ----------
    per_step : ndarray, shape (n_steps, n_cores, len(COUNTERS))
    spec : LoihiSpec
    n_tiles : int
        Tiles in use on the fullest chip (sets the mesh barrier).
    chip_diameter : int
        Chip hops across the grid of chips in use (0 for one chip).
    link_msgs : ndarray, shape (n_steps, n_links), optional
        Messages crossing each chip-to-chip link in each step.

    Returns
    -------
    StepTimes
    """
    if int(n_tiles) < 1:
        raise ValueError(f"n_tiles must be >= 1, got {n_tiles}")
    if int(chip_diameter) < 0:
        raise ValueError(f"chip_diameter must be >= 0, got {chip_diameter}")
    busy = busy_ns(per_step, spec)
    n_steps = busy.shape[0]
    compute = busy.max(axis=1) if busy.shape[1] else np.zeros(n_steps)
    link = np.zeros(n_steps)
    if link_msgs is not None:
        link_msgs = np.asarray(link_msgs, dtype=np.float64)
        if link_msgs.ndim != 2 or link_msgs.shape[0] != n_steps:
            raise ValueError(
                f"link_msgs must have shape ({n_steps}, n_links), got {link_msgs.shape}"
            )
        if spec.link_msgs_per_us > 0 and link_msgs.shape[1]:
            link = link_msgs.max(axis=1) / spec.link_msgs_per_us * 1e3
    barrier = np.full(
        n_steps, spec.barrier_ns(int(n_tiles)) + chip_diameter * spec.t_barrier_chip_ns
    )
    inputs = np.asarray(per_step)[:, :, COUNTERS.index("input_spikes")].sum(axis=1)
    host = spec.t_host_step_ns + spec.t_input_msg_ns * inputs.astype(np.float64)
    return StepTimes(compute, link, barrier, host)
