"""Per-neuron view of the shared flat plan (:func:`neuro.engines.flatten`).

The plan stores neuron constants per population; the hardware model's kernels index them
per neuron (a core may hold neurons of several populations), with at least two channel
columns as the clock engine pads them.
"""

from __future__ import annotations

import numpy as np

from neuro.engines.plan import FlatNetwork

NEURON_CONSTANTS = ("mem_decay", "v_inf", "v_reset", "v_threshold", "reset_amount", "ref_steps",
                    "syn_decay", "syn_to_mem")


def per_neuron_constants(flat: FlatNetwork) -> dict[str, np.ndarray]:
    """The plan's per-population neuron constants repeated per neuron (same values)."""
    out = {k: flat.per_neuron(k) for k in NEURON_CONSTANTS}
    # at least two channel columns (zero coupling and decay), as the clock engine pads
    pad = max(flat.n_channels, 2) - flat.n_channels
    for k in ("syn_decay", "syn_to_mem"):
        out[k] = np.ascontiguousarray(np.pad(out[k], ((0, 0), (0, pad))))
    return out
