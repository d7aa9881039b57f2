"""Layout constants of the clocked engines and how the neurons are cut for the threads.

The neurons are cut into fixed partitions (contiguous id ranges) that depend on the network
only, never on the thread count: each partition updates its neurons and sums the inputs of
its targets in the same order on 1 or many threads, so spikes are identical for any thread
count, and checkpoints move between thread counts.
"""

from __future__ import annotations

import numpy as np

from neuro.engines.plan import FlatNetwork

__all__ = ["PARALLEL_MIN_NEURONS", "N_PARTITIONS", "partitions"]

#: Networks smaller than this run as one partition (a parallel region per step costs more
#: than it saves on a few thousand neurons).
PARALLEL_MIN_NEURONS = 10_000

#: Partitions of a large network: several per core for load balance on up to 16 cores.
N_PARTITIONS = 16


def _rows_sorted(flat: FlatNetwork) -> bool:
    """Whether every synapse row lists its targets in ascending order (a partition finds
    its part of a row by bisection)."""
    for p in range(flat.n_projections):
        lo, hi = int(flat.proj_syn_start[p]), int(flat.proj_syn_start[p + 1])
        cols = flat.indices[lo:hi].astype(np.int64)
        if cols.size < 2:
            continue
        step_down = np.flatnonzero(np.diff(cols) < 0) + 1  # positions where a run restarts
        start = int(flat.proj_indptr_start[p])
        row_starts = flat.indptr[start: start + _n_rows(flat, p) + 1]
        if not np.all(np.isin(step_down, row_starts)):
            return False
    return True


def _n_rows(flat: FlatNetwork, p: int) -> int:
    """Rows (presynaptic ids) of projection ``p``."""
    g = int(np.searchsorted(flat.group_offsets, flat.proj_src_offset[p], side="right")) - 1
    return int(flat.group_offsets[g + 1] - flat.group_offsets[g])


def partitions(flat: FlatNetwork) -> np.ndarray:
    """Partition bounds ``b`` (int64, ``b[0] = 0``, ``b[-1] = n_neurons``): partition ``k``
    holds the neurons ``[b[k], b[k + 1])``.

    One partition for small networks or rows that are not sorted; otherwise
    :data:`N_PARTITIONS` equal ranges.
    """
    n = flat.n_neurons
    k = N_PARTITIONS if n >= PARALLEL_MIN_NEURONS and _rows_sorted(flat) else 1
    return np.linspace(0, n, k + 1).astype(np.int64)
