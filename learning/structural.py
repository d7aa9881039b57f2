"""Structural plasticity for STDP networks on the clock engine: synapses removed and created
while the network runs.

Between simulation chunks a plastic projection is rewired at a fixed synapse count, per
postsynaptic neuron (so each neuron's fan-in, and with it the meaning of a per-neuron weight
normalisation, stays the same): the ``fraction`` of its synapses with the smallest weights
are removed (SET's magnitude pruning; Deep R removes synapses whose weight crosses zero, which
for STDP's non-negative, hard-bounded weights means the weakest) and as many are created at
positions without a kept synapse, either at random (SET, Deep R) or where pre- and
postsynaptic activity coincided (``growth="activity"``: sampled in proportion to a co-activity
score such as ``sum over images of input_rate x spike_count``, a Hebbian growth rule).

:func:`rebuild_simulator` then compiles the new pattern into a new
:class:`~sparse_neuro.neuro.engines.ClockSimulator` through the public simulator API
(``synapses()``, ``state_dict()``/``load_state_dict()``) and carries every state array over:
membrane potentials, adaptive thresholds, STDP traces, delay buffers, input drive and learning
rates; kept synapses keep their weights (and eligibility), new ones start at the given weight. The
engine's kernels are not touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.synapses import SparseSynapses

__all__ = ["GROWTH_RULES", "StructuralPlasticity", "prune_and_grow", "rebuild_simulator"]

#: Where :func:`prune_and_grow` creates synapses.
GROWTH_RULES = ("random", "activity")


@dataclass(frozen=True)
class StructuralPlasticity:
    """One rewiring step of a projection.

    Parameters
    ----------
    fraction : float in [0, 1)
        Fraction of each postsynaptic neuron's synapses replaced (rounded per neuron).
    growth : {"random", "activity"}
        New synapses at random empty positions, or sampled in proportion to a co-activity
        score (plus ``activity_floor`` times its mean, so that silent inputs can still be
        reached).
    init_weight : float >= 0
        Weight of a new synapse.
    activity_floor : float >= 0
        See ``growth``.
    """

    fraction: float = 0.1
    growth: str = "random"
    init_weight: float = 0.0
    activity_floor: float = 0.01

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {self.fraction}")
        if self.growth not in GROWTH_RULES:
            raise ValueError(f"growth must be one of {GROWTH_RULES}, got {self.growth!r}")
        if not (np.isfinite(self.init_weight) and self.init_weight >= 0):
            raise ValueError(f"init_weight must be a finite number >= 0, got {self.init_weight}")
        if not (np.isfinite(self.activity_floor) and self.activity_floor >= 0):
            raise ValueError(
                f"activity_floor must be a finite number >= 0, got {self.activity_floor}"
            )


def prune_and_grow(
    syn: SparseSynapses,
    rule: StructuralPlasticity,
    rng: np.random.Generator,
    coactivity: np.ndarray | None = None,
) -> tuple[SparseSynapses, np.ndarray]:
    """One rewiring step (see the module docstring): per postsynaptic neuron, remove the
    ``round(rule.fraction * fan_in)`` smallest-weight synapses (ties by position) and create
    as many at positions without a kept synapse.

    Parameters
    ----------
    syn : SparseSynapses
    rule : StructuralPlasticity
    rng : numpy Generator
        Draws the new positions (the result is deterministic for a given state).
    coactivity : ndarray (n_pre, n_post), optional
        Non-negative co-activity score; required for ``growth="activity"``.

    Returns
    -------
    new, source
        As :meth:`sparse_neuro.neuro.model.synapses.SparseSynapses.rewired`.
    """
    n_pre, n_post = syn.shape
    if rule.growth == "activity":
        if coactivity is None or np.shape(coactivity) != (n_pre, n_post):
            raise ValueError(
                f"growth='activity' needs coactivity of shape {(n_pre, n_post)}, "
                f"got {None if coactivity is None else np.shape(coactivity)}"
            )
        if not np.all(np.isfinite(coactivity)) or np.any(np.asarray(coactivity) < 0):
            raise ValueError("coactivity must be finite and >= 0")
    pre = syn.pre_indices()
    keep = np.ones(syn.n_synapses, dtype=bool)
    grow = []
    # one postsynaptic neuron at a time: its synapses sorted by weight (stable: ties by position)
    by_post = np.argsort(syn.indices, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(syn.indices, minlength=n_post))])
    for j in range(n_post):
        mine = by_post[starts[j] : starts[j + 1]]
        n = int(round(rule.fraction * mine.size))
        if n == 0:
            continue
        drop = mine[np.argsort(syn.weights[mine], kind="stable")[:n]]
        keep[drop] = False
        free = np.ones(n_pre, dtype=bool)
        free[pre[mine[keep[mine]]]] = False
        cand = np.flatnonzero(free)
        if rule.growth == "random":
            chosen = rng.choice(cand, size=n, replace=False)
        else:
            score = np.asarray(coactivity[cand, j], dtype=np.float64)
            score = score + rule.activity_floor * (score.mean() if score.mean() > 0 else 1.0)
            chosen = rng.choice(cand, size=n, replace=False, p=score / score.sum())
        grow.append(chosen.astype(np.int64) * n_post + j)
    positions = np.concatenate(grow) if grow else np.zeros(0, dtype=np.int64)
    return syn.rewired(keep, positions, rule.init_weight)


def rebuild_simulator(
    sim: ClockSimulator, projection: int | str, synapses: SparseSynapses, source: np.ndarray
) -> ClockSimulator:
    """A new simulator whose ``projection`` has the pattern ``synapses``, with ``sim``'s state.

    Parameters
    ----------
    sim : ClockSimulator
        The running simulator (left unchanged).
    projection : int or str
        Index or name of the rewired projection.
    synapses : SparseSynapses
        Its new synapses (with their weights), same shape.
    source : int64 ndarray
        Old synapse index of each new synapse, -1 for a created one (from
        :meth:`~sparse_neuro.neuro.model.synapses.SparseSynapses.rewired`); carries per-synapse
        eligibility over.

    Returns
    -------
    ClockSimulator
        Same dt, dtype, seed, threads and chunking; step, membrane potentials, thresholds,
        traces, delay buffers, input drive and learning rates as ``sim``; the other
        projections keep their current weights. Its :meth:`~ClockSimulator.reset` returns to
        ``t = 0`` with the current weights.
    """
    names = [pr.name for pr in sim.network.projections]
    p = (
        names.index(projection)
        if isinstance(projection, str) and projection in names
        else projection
    )
    if not isinstance(p, (int, np.integer)) or not 0 <= p < len(names):
        raise ValueError(
            f"projection must be a projection index in [0, {len(names)}) or one of {names}, "
            f"got {projection!r}"
        )
    old = sim.network.projections[p].synapses
    if synapses.shape != old.shape:
        raise ValueError(
            f"synapses must have the projection's shape {old.shape}, got {synapses.shape}"
        )
    source = np.asarray(source, dtype=np.int64)
    if source.shape != (synapses.n_synapses,) or source.max(initial=-1) >= old.n_synapses:
        raise ValueError(
            f"source must hold one old index (< {old.n_synapses}) or -1 per new synapse "
            f"({synapses.n_synapses}), got shape {source.shape}"
        )
    current = sim.synapses()
    current[p] = synapses
    projs = tuple(replace(pr, synapses=s) for pr, s in zip(sim.network.projections, current))
    net = Network(
        sim.network.populations,
        projs,
        sim.network.sources,
        sim.network.currents,
        sim.network.monitors,
        sim.network.drives,
    )
    new = ClockSimulator(
        net,
        sim.dt_s,
        seed=sim.drive.seed,
        dtype=sim.plan.dtype,
        chunk_steps=sim.chunk_steps,
        threads=sim.threads,
    )
    state = sim.state_dict()
    fresh = new.state_dict()
    state["weights"] = fresh["weights"]
    if np.size(state["eligibility"]):
        state["eligibility"], state["elig_last"] = (
            _carry(state[k], fresh[k], _starts(sim.network), _starts(net), p, source)
            for k in ("eligibility", "elig_last")
        )
    new.load_state_dict(state)
    return new


def _starts(net: Network) -> np.ndarray:
    """Offset of each projection's synapses in the engine's concatenated per-synapse arrays."""
    return np.concatenate([[0], np.cumsum([pr.synapses.n_synapses for pr in net.projections])])


def _carry(
    old: np.ndarray,
    fresh: np.ndarray,
    old_start: np.ndarray,
    new_start: np.ndarray,
    p: int,
    source: np.ndarray,
) -> np.ndarray:
    """A per-synapse array of the new simulator: unchanged projections copied, projection
    ``p``'s kept synapses from their source, created ones from ``fresh``."""
    out = fresh.copy()
    for q in range(len(old_start) - 1):
        o = old[old_start[q] : old_start[q + 1]]
        seg = out[new_start[q] : new_start[q + 1]]
        if q != p:
            seg[:] = o
        else:
            seg[source >= 0] = o[source[source >= 0]]
    return out
