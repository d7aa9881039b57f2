"""Layout constants of the clocked engines and how the neurons are cut for the threads.

The neurons are cut into fixed partitions (contiguous id ranges) that depend on the network
only, never on the thread count: each partition updates its neurons and sums the inputs of
its targets in the same order on 1 or many threads, so spikes are identical for any thread
count, and checkpoints move between thread counts.
"""

from __future__ import annotations

import os

import numpy as np

# The clock engine opens two parallel regions per step. With OpenMP's default (active)
# waiting, a region costs ~4 ms on a loaded machine (measured here: a spinning worker holds
# the core the other thread needs) and ~9 us with passive waiting; numba's OpenMP pool reads
# this when it starts (on the first parallel region), so set it on import unless the user has.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = [
    "CDF_TERMS",
    "COUNTER_STRIDE",
    "MIN_SYN_ROWS",
    "NEVER",
    "N_PARTITIONS",
    "PARALLEL_MIN_NEURONS",
    "partitions",
]

#: Networks smaller than this run as one partition (a parallel region per step costs more
#: than it saves on a few thousand neurons).
PARALLEL_MIN_NEURONS = 10_000

#: Partitions of a large network: several per core for load balance on up to 16 cores.
N_PARTITIONS = 16

#: Terms of an external drive's Poisson CDF table
#: (:class:`sparse_neuro.neuro.engines.plan.DriveTable`): enough for means up to about 20 inputs per
#: step; larger means draw without a table.
CDF_TERMS = 64

#: int64 elements between per-partition counters that threads update concurrently (one
#: 64-byte cache line): counters of two partitions never share a line, so two threads do
#: not pass a line back and forth on every increment (false sharing).
COUNTER_STRIDE = 8

#: Rows of the synaptic-current state (and columns of the per-population channel factors):
#: at least two, padding rows with zero coupling, so that one fused two-channel update loop
#: serves every network.
MIN_SYN_ROWS = 2

#: ``last_spike`` / trace time stamp of "never": far enough back that every refractory
#: period and trace has run out, small enough that ``step - NEVER`` cannot overflow.
NEVER = -(2**40)


def _rows_sorted(routing, offsets: np.ndarray) -> bool:
    """Whether every synapse row lists its targets in ascending order (a partition finds
    its part of a row by bisection)."""
    for p in range(routing.p_src_off.size):
        lo, hi = int(routing.p_syn0[p]), int(routing.p_syn0[p + 1])
        cols = routing.indices[lo:hi].astype(np.int64)
        if cols.size < 2:
            continue
        step_down = np.flatnonzero(np.diff(cols) < 0) + 1  # positions where a run restarts
        g = int(np.searchsorted(offsets, routing.p_src_off[p], side="right")) - 1
        n_rows = int(offsets[g + 1] - offsets[g])
        start = int(routing.p_iptr0[p])
        if not np.all(np.isin(step_down, routing.indptr[start : start + n_rows + 1])):
            return False
    return True


def partitions(n_neurons: int, routing, offsets: np.ndarray) -> np.ndarray:
    """Partition bounds ``b`` (int64, ``b[0] = 0``, ``b[-1] = n_neurons``): partition ``k``
    holds the neurons ``[b[k], b[k + 1])``.

    One partition for small networks or rows that are not sorted; otherwise
    :data:`N_PARTITIONS` equal ranges. ``routing`` is the plan's
    :class:`sparse_neuro.neuro.engines.plan.Routing`, ``offsets`` its group offsets.
    """
    k = N_PARTITIONS if n_neurons >= PARALLEL_MIN_NEURONS and _rows_sorted(routing, offsets) else 1
    return np.linspace(0, n_neurons, k + 1).astype(np.int64)
