"""How a total synapse budget is split over layers: uniform or Erdos-Renyi(-Kernel).

Evci et al. 2020 (RigL) start every sparse method from an Erdos-Renyi-Kernel (ERK) layout:
layer ``l`` with ``n_in`` inputs and ``n_out`` outputs (a fully connected layer has kernel
size 1, so ERK and Erdos-Renyi coincide) gets density ``eps * (n_in + n_out) / (n_in n_out)``,
with ``eps`` chosen so that the layers together hold ``density * (all positions)`` synapses.
Large layers end up sparser than small ones; a layer whose density would exceed 1 is made
dense and ``eps`` is solved again over the others (the loop of RigL's ``sparse_utils``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sparse_neuro.learning.sparsity.rewire import set_density
from sparse_neuro.neuro.train import SparseLinear

__all__ = ["LAYOUTS", "layer_counts", "apply_layout"]

LAYOUTS = ("uniform", "erk")


def layer_counts(
    shapes: Sequence[tuple[int, int]], density: float, layout: str = "erk"
) -> list[int]:
    """Synapses per layer for a total of ``round(density * sum(n_in n_out))``.

    Parameters
    ----------
    shapes : sequence of (n_in, n_out)
    density : float in (0, 1]
        Overall fraction of positions that hold a synapse.
    layout : {"uniform", "erk"}
        ``uniform``: every layer at ``density``; ``erk``: Erdos-Renyi-Kernel (module doc).

    Returns
    -------
    list of int
        Counts, each in ``[1, n_in n_out]``, summing exactly to the total (largest
        remainders get the rounding).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")
    if not shapes or any(int(a) != a or int(b) != b or a < 1 or b < 1 for a, b in shapes):
        raise ValueError(
            f"shapes must be a non-empty list of (n_in, n_out) with sizes >= 1, got {shapes}"
        )
    size = np.array([a * b for a, b in shapes], dtype=float)
    total = int(round(density * size.sum()))
    if layout == "uniform":
        score = np.ones(len(shapes))
    else:
        score = np.array([(a + b) / (a * b) for a, b in shapes])
    dense = np.zeros(len(shapes), dtype=bool)
    dens = np.ones(len(shapes))
    while not dense.all():
        eps = (total - size[dense].sum()) / (score[~dense] * size[~dense]).sum()
        dens = np.where(dense, 1.0, eps * score)
        if dens.max() <= 1.0 + 1e-12:
            break
        # saturate the layers with the largest score (RigL makes those dense, then re-solves)
        dense |= np.isclose(score, score[~dense].max()) & ~dense
    exact = dens * size
    counts = np.floor(exact).astype(int)
    for j in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[j] += 1
    return np.clip(counts, 1, size.astype(int)).tolist()


def apply_layout(
    layers: Sequence[SparseLinear], density: float, layout: str = "erk", *, seed: int = 0
) -> list[float]:
    """Give every layer a fresh random pattern of :func:`layer_counts` synapses.

    Weights are redrawn as :func:`set_density` does (uniform in ``+-1/sqrt(fan_in)`` with the
    layer's expected fan-in). Returns the per-layer densities.
    """
    shapes = [(layer.in_features, layer.out_features) for layer in layers]
    densities = []
    for i, (layer, n, (a, b)) in enumerate(
        zip(layers, layer_counts(shapes, density, layout), shapes)
    ):
        densities.append(n / (a * b))
        set_density(layer, densities[-1], seed=np.random.default_rng([seed, i]))
    return densities
