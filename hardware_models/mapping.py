"""Placement of a network on Loihi-style cores, tiles and a 2-D mesh, with resource checks.

Neurons of each population are packed onto cores (``LoihiSpec.cores_per_tile`` cores per
tile, tiles on a 2-D mesh ``mesh_width_tiles`` wide). Per core the model checks:

- compartments: one per neuron, or one per synaptic current channel for neurons with
  several channels (Loihi's compartment holds one current ``u``; a neuron with excitatory
  and inhibitory currents of different time constants needs a two-compartment neuron:
  an assumption of this model, stated here);
- synaptic memory: the fan-in synapses of the core's neurons times
  ``LoihiSpec.synapse_bits`` (weight bits + index overhead + 6 delay bits if used; no
  index for a dense projection, every pair connected, in Loihi's dense encoding),
  rounded up to bytes, at most ``synaptic_memory_bytes``;
- input axons: distinct presynaptic neurons (or input channels) with a synapse onto the
  core, at most ``max_input_axons``;
- output axons: for each neuron on the core, the number of distinct destination cores of
  its synapses, summed, at most ``max_output_axons``.

Sources (inputs from off-chip) use input axons but no compartments or output axons.

Cores are numbered over the whole system: core ``c`` is on chip ``c // max_cores``; the
placement may use up to ``max_cores x max_chips`` cores. The mesh coordinates continue
across chips (chips stacked north-south), so a message between chips is counted as mesh
hops; chip-to-chip links, their energy and capacity are modelled by :mod:`.multichip`
(chip grid, link loads, count-based placement of networks too large to build).

The default placement visits populations in breadth-first order from the sources along
the projections and fills cores in that order, tiles following a serpentine path over the
mesh, so that connected populations land on nearby cores. A user placement gives the core
of every neuron.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sparse_neuro.hardware_models.loihi import LoihiSpec
from sparse_neuro.neuro.model.network import Network

__all__ = ["Mapping", "MappingError", "place", "LIMITS"]

LIMITS = ("compartments", "synaptic_memory_bytes", "input_axons", "output_axons")
_LIMIT_FIELD = {
    "compartments": "max_compartments",
    "synaptic_memory_bytes": "synaptic_memory_bytes",
    "input_axons": "max_input_axons",
    "output_axons": "max_output_axons",
}


class MappingError(ValueError):
    """The network does not fit: names the core (or neuron), the limit and the excess."""


@dataclass(frozen=True, eq=False)
class Mapping:
    """Where every neuron lives and how much of each core it uses.

    Attributes
    ----------
    spec : LoihiSpec
    population_names : tuple of str
    population_offsets : ndarray of int64
        Global neuron ids (network order) of population ``k`` are
        ``population_offsets[k]:population_offsets[k + 1]``.
    core_of : ndarray of int32, shape (n_neurons,)
        Core of every neuron.
    core_xy : ndarray of int64, shape (n_cores, 2)
        Mesh (column, row) of each core's tile; columns run east-west.
    tile_of_core : ndarray of int64
    usage : dict of str to ndarray
        Per-core ``compartments``, ``synaptic_memory_bytes``, ``input_axons``,
        ``output_axons``.
    """

    spec: LoihiSpec
    population_names: tuple[str, ...]
    population_offsets: np.ndarray
    core_of: np.ndarray
    core_xy: np.ndarray
    tile_of_core: np.ndarray
    usage: dict

    @property
    def n_cores(self) -> int:
        """Number of cores used."""
        return int(self.core_xy.shape[0])

    @property
    def n_tiles(self) -> int:
        """Number of distinct tiles used."""
        return int(np.unique(self.tile_of_core).size)

    def hops(self, src_core: np.ndarray, dst_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """East-west and north-south hops between cores (Manhattan distance on the mesh)."""
        a, b = self.core_xy[src_core], self.core_xy[dst_core]
        d = np.abs(a - b)
        return d[..., 0], d[..., 1]

    def mean_synapse_hops(self, network: Network) -> float:
        """Mean mesh hops (east-west + north-south) between the cores of the two ends of
        every synapse between neurons (sources are off-chip and excluded)."""
        pre, post, _ = _synapse_table(network, self.spec)
        on = pre < self.core_of.size
        if not on.any():
            return 0.0
        ew, ns = self.hops(self.core_of[pre[on]], self.core_of[post[on]])
        return float(np.mean(ew + ns))

    def population_cores(self, name: str) -> np.ndarray:
        """Sorted distinct cores holding population ``name``."""
        k = self.population_names.index(name)
        lo, hi = self.population_offsets[k], self.population_offsets[k + 1]
        return np.unique(self.core_of[lo:hi])

    def report(self) -> str:
        """Plain-text table of per-core usage against the limits."""
        s = self.spec
        lines = [
            f"Mapping on {self.n_cores} cores / {self.n_tiles} tiles ({s.name}); limits: "
            f"{s.max_compartments} compartments, {s.synaptic_memory_bytes} B synaptic memory, "
            f"{s.max_input_axons} input axons, {s.max_output_axons} output axons",
            f"{'core':>5} {'tile':>5} {'x,y':>7} {'populations':<24} {'compart':>8} "
            f"{'syn_mem_B':>10} {'in_axons':>9} {'out_axons':>9}",
        ]
        for c in range(self.n_cores):
            pops = [
                n
                for k, n in enumerate(self.population_names)
                if np.any(
                    self.core_of[self.population_offsets[k] : self.population_offsets[k + 1]] == c
                )
            ]
            u = {k: int(v[c]) for k, v in self.usage.items()}
            x, y = self.core_xy[c]
            lines.append(
                f"{c:>5} {int(self.tile_of_core[c]):>5} {f'{x},{y}':>7} {','.join(pops)[:24]:<24} "
                f"{u['compartments']:>8} {u['synaptic_memory_bytes']:>10} "
                f"{u['input_axons']:>9} {u['output_axons']:>9}"
            )
        return "\n".join(lines)

    def check(self) -> None:
        """Raise :class:`MappingError` for the first core over a limit (largest excess)."""
        s = self.spec
        if self.n_cores > s.max_cores * s.max_chips:
            raise MappingError(
                f"the placement uses {self.n_cores} cores but the system has max_cores="
                f"{s.max_cores} (over by {self.n_cores - s.max_cores * s.max_chips}) per chip x "
                f"{s.max_chips} chips (chips_per_board={s.chips_per_board} x max_boards="
                f"{s.max_boards}); use a multi-chip preset (nahuku32, pohoiki_springs) or raise "
                "LoihiSpec.max_boards"
            )
        for lim in LIMITS:
            limit = getattr(self.spec, _LIMIT_FIELD[lim])
            over = self.usage[lim] - limit
            if np.any(over > 0):
                c = int(np.argmax(over))
                raise MappingError(
                    f"core {c} ({self._describe_core(c)}): {lim} = {int(self.usage[lim][c])} "
                    f"exceeds the limit {_LIMIT_FIELD[lim]}={limit} by {int(over[c])}"
                )

    def _describe_core(self, c: int) -> str:
        parts = []
        for k, n in enumerate(self.population_names):
            ids = np.flatnonzero(
                self.core_of[self.population_offsets[k] : self.population_offsets[k + 1]] == c
            )
            if ids.size:
                parts.append(f"population {n!r} neurons {ids[0]}-{ids[-1]} ({ids.size})")
        return ", ".join(parts) or "empty"


# ---------------------------------------------------------------------- network facts
def _compartments_per_neuron(network: Network) -> np.ndarray:
    return np.concatenate(
        [np.full(p.size, max(1, p.params.n_channels), dtype=np.int64) for p in network.populations]
    )


def _offsets(network: Network) -> tuple[dict[str, int], np.ndarray]:
    groups = [*network.populations, *network.sources]
    off = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([g.size for g in groups], out=off[1:])
    return {g.name: int(off[i]) for i, g in enumerate(groups)}, off


def _synapse_table(network: Network, spec: LoihiSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(global pre id, global post neuron id, bits) of every synapse of every projection."""
    start, _ = _offsets(network)
    pre, post, bits = [], [], []
    for pr in network.projections:
        syn = pr.synapses
        pre.append(start[pr.source] + syn.pre_indices().astype(np.int64))
        post.append(start[pr.target] + syn.indices.astype(np.int64))
        dense = syn.n_synapses == network.size(pr.source) * network.size(pr.target)
        bits.append(
            np.full(syn.n_synapses, spec.synapse_bits(syn.max_delay > 0, dense), dtype=np.int64)
        )
    if not pre:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    return np.concatenate(pre), np.concatenate(post), np.concatenate(bits)


def _usage(network: Network, spec: LoihiSpec, core_of: np.ndarray, n_cores: int) -> dict:
    pre, post, bits = _synapse_table(network, spec)
    n_neurons = network.n_neurons
    comp = np.bincount(core_of, weights=_compartments_per_neuron(network), minlength=n_cores)
    dst = core_of[post].astype(np.int64)
    mem_bits = np.bincount(dst, weights=bits, minlength=n_cores)
    pairs = np.unique(pre * n_cores + dst) if pre.size else np.zeros(0, dtype=np.int64)
    p_pre, p_core = pairs // n_cores, pairs % n_cores
    in_ax = np.bincount(p_core, minlength=n_cores)
    on_chip = p_pre < n_neurons
    out_ax = np.bincount(core_of[p_pre[on_chip]], minlength=n_cores)
    return {
        "compartments": comp.astype(np.int64),
        "synaptic_memory_bytes": np.ceil(mem_bits / 8).astype(np.int64),
        "input_axons": in_ax.astype(np.int64),
        "output_axons": out_ax.astype(np.int64),
    }


def _mesh_coords(n_cores: int, spec: LoihiSpec) -> tuple[np.ndarray, np.ndarray]:
    tile = np.arange(n_cores, dtype=np.int64) // spec.cores_per_tile
    w = spec.mesh_width_tiles
    row = tile // w
    col = np.where(row % 2 == 0, tile % w, w - 1 - tile % w)  # serpentine: neighbours adjacent
    return tile, np.stack([col, row], axis=1)


def _bfs_order(network: Network) -> list[int]:
    names = [p.name for p in network.populations]
    adj: dict[str, list[str]] = {n: [] for n in [*names, *(s.name for s in network.sources)]}
    for pr in network.projections:
        adj[pr.source].append(pr.target)
    seen: list[str] = []
    queue = deque(s.name for s in network.sources)
    roots = deque(names)
    while queue or roots:
        if not queue:
            r = roots.popleft()
            if r in seen:
                continue
            seen.append(r)
            queue.append(r)
        n = queue.popleft()
        for m in adj[n]:
            if m not in seen:
                seen.append(m)
                queue.append(m)
    return [names.index(n) for n in seen if n in names]


def _pack_population(
    lo: int,
    hi: int,
    comp: np.ndarray,
    mem_bits: np.ndarray,
    in_ptr: np.ndarray,
    in_pre: np.ndarray,
    spec: LoihiSpec,
    name: str,
    max_per_core: int,
) -> list[tuple[int, int]]:
    """Greedy split of neurons lo..hi-1 into consecutive runs that fit one core each."""
    ccum = np.concatenate([[0], np.cumsum(comp[lo:hi])])
    mcum = np.concatenate([[0], np.cumsum(mem_bits[lo:hi])])
    mem_limit_bits = spec.synaptic_memory_bytes * 8

    def n_inputs(a: int, b: int) -> int:
        return int(np.unique(in_pre[in_ptr[lo + a] : in_ptr[lo + b]]).size)

    runs = []
    a, n = 0, hi - lo
    while a < n:
        b_c = int(np.searchsorted(ccum, ccum[a] + spec.max_compartments, side="right")) - 1
        b_m = int(np.searchsorted(mcum, mcum[a] + mem_limit_bits, side="right")) - 1
        b = min(b_c, b_m, a + max_per_core, n)
        if b <= a:
            need_c, need_m = int(comp[lo + a]), int(np.ceil(mem_bits[lo + a] / 8))
            which = (
                f"compartments {need_c} > max_compartments={spec.max_compartments}"
                if need_c > spec.max_compartments
                else f"synaptic memory {need_m} B exceeds synaptic_memory_bytes="
                f"{spec.synaptic_memory_bytes} by {need_m - spec.synaptic_memory_bytes} B"
            )
            raise MappingError(f"population {name!r} neuron {a} alone does not fit a core: {which}")
        if n_inputs(a, b) > spec.max_input_axons:
            ok, bad = a, b  # largest b with <= max inputs, by bisection
            while bad - ok > 1:
                mid = (ok + bad) // 2
                ok, bad = (mid, bad) if n_inputs(a, mid) <= spec.max_input_axons else (ok, mid)
            if ok == a:
                k = n_inputs(a, a + 1)
                raise MappingError(
                    f"population {name!r} neuron {a} alone does not fit a core: {k} input axons "
                    f"exceed max_input_axons={spec.max_input_axons} by {k - spec.max_input_axons}"
                )
            b = ok
        runs.append((a, b))
        a = b
    return runs


def place(
    network: Network,
    spec: LoihiSpec | None = None,
    cores: dict[str, np.ndarray | int] | None = None,
    check: bool = True,
) -> Mapping:
    """Place ``network`` on cores.

    Parameters
    ----------
    network : Network
    spec : LoihiSpec, optional
        Chip description (default preset ``davies2018``).
    cores : dict, optional
        User placement: for every population, the core of each neuron (int array of the
        population's size) or one int for the whole population. Cores are numbered from 0;
        core ``c`` is on tile ``c // cores_per_tile``. Without it, the default placement.
    check : bool
        Raise :class:`MappingError` if a core is over a limit or a synaptic delay is longer
        than ``max_delay_steps`` (default True).

    Returns
    -------
    Mapping
    """
    spec = spec or LoihiSpec()
    start, off = _offsets(network)
    n_neurons = network.n_neurons
    names = tuple(p.name for p in network.populations)
    pop_off = off[: len(names) + 1].copy()
    if cores is not None:
        core_of = _user_cores(network, cores)
    else:
        core_of = _default_cores(network, spec, pop_off)
    n_cores = int(core_of.max()) + 1 if n_neurons else 0
    tile, xy = _mesh_coords(n_cores, spec)
    m = Mapping(spec, names, pop_off, core_of, xy, tile, _usage(network, spec, core_of, n_cores))
    if check:
        m.check()
        for pr in network.projections:
            d = pr.synapses.max_delay
            if d > spec.max_delay_steps:
                raise MappingError(
                    f"projection {pr.name}: delay {d} steps exceeds max_delay_steps="
                    f"{spec.max_delay_steps} by {d - spec.max_delay_steps}"
                )
    return m


def _user_cores(network: Network, cores: dict) -> np.ndarray:
    missing = [p.name for p in network.populations if p.name not in cores]
    unknown = sorted(set(cores) - {p.name for p in network.populations})
    if missing or unknown:
        raise ValueError(
            f"cores must give every population's placement; missing {missing}, unknown {unknown}"
        )
    out = []
    for p in network.populations:
        c = np.asarray(cores[p.name])
        c = np.broadcast_to(c, (p.size,)) if c.ndim == 0 else c
        if c.shape != (p.size,) or not np.issubdtype(c.dtype, np.integer) or np.any(c < 0):
            raise ValueError(
                f"cores[{p.name!r}] must be one int >= 0 or {p.size} ints >= 0, "
                f"got shape {c.shape} dtype {c.dtype}"
            )
        out.append(c.astype(np.int32))
    return np.concatenate(out)


def _default_cores(network: Network, spec: LoihiSpec, pop_off: np.ndarray) -> np.ndarray:
    pre, post, bits = _synapse_table(network, spec)
    n_neurons = network.n_neurons
    comp = _compartments_per_neuron(network)
    mem_bits = np.bincount(post, weights=bits, minlength=n_neurons)
    order = np.argsort(post, kind="stable")
    in_pre = pre[order]
    in_ptr = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(post, minlength=n_neurons), out=in_ptr[1:])
    max_per = {p.name: p.size for p in network.populations}
    pops = network.populations
    for _ in range(12):  # shrink populations whose cores run out of output axons
        core_of = np.zeros(n_neurons, dtype=np.int32)
        nxt = 0
        for k in _bfs_order(network):
            lo, hi = int(pop_off[k]), int(pop_off[k + 1])
            for a, b in _pack_population(
                lo, hi, comp, mem_bits, in_ptr, in_pre, spec, pops[k].name, max_per[pops[k].name]
            ):
                core_of[lo + a : lo + b] = nxt
                nxt += 1
        usage = _usage(network, spec, core_of, nxt)
        over = usage["output_axons"] > spec.max_output_axons
        if not over.any():
            return core_of
        for c in np.flatnonzero(over):
            k = int(np.searchsorted(pop_off, np.flatnonzero(core_of == c)[0], side="right")) - 1
            n_here = int(np.sum(core_of == c))
            ratio = spec.max_output_axons / usage["output_axons"][c]
            new = max(1, int(n_here * ratio))
            if n_here == 1:
                raise MappingError(
                    f"population {pops[k].name!r}: one neuron needs {usage['output_axons'][c]} "
                    f"output axons, exceeding max_output_axons={spec.max_output_axons} by "
                    f"{usage['output_axons'][c] - spec.max_output_axons}"
                )
            max_per[pops[k].name] = min(max_per[pops[k].name], new)
    return core_of
