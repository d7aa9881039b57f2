"""Multi-chip systems: chip grid, inter-chip links, and count-based placement of networks too
large to build synapse by synapse.

Chips are laid out on a 2-D grid: a board holds ``chips_per_board`` chips in rows of
``board_width_chips``; boards sit side by side (board ``b`` occupies grid columns
``b * board_width_chips ...``). A message between chips travels over the chip-to-chip
links of the grid, first east-west then north-south (dimension-order routing), one link per
chip hop; each link direction is a separate link with capacity ``link_msgs_per_us``.

:func:`place_counts` places a :class:`NetworkCounts` -- population sizes, firing rates and
the synapse count of every projection -- without materialising any synapse. Connectivity is
taken as random with the projection's pairwise probability ``p = n_synapses / (n_pre *
n_post)`` (independent pairs, as in the Potjans-Diesmann microcircuit's fixed-total-number
rule for large populations), so the expected count of *distinct* presynaptic neurons of a
core holding ``n`` target neurons is ``n_pre (1 - (1 - p)^n)`` (its input axons), and a
spike reaches the expected ``k (1 - (1 - p)^n)`` of the ``k`` cores of size ``n`` of the
target population (its messages and output axons). Per core, the model checks the limits
of :mod:`sparse_neuro.hardware_models.mapping` (compartments, synaptic memory, input and output
axons) and picks the largest ``n`` that fits; per system, the chips needed against ``max_chips``
and, given a step budget, each link's traffic against its capacity. Errors name the limit
and the excess, as for one chip.

Per-step work uses the expected counts at the populations' rates (steady state), costed
with the same per-operation energies and times as event-queue runs (``hops`` within a chip
use the mean Manhattan distance between two tiles of the chip mesh, an assumption).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sparse_neuro.hardware_models.loihi import LoihiSpec
from sparse_neuro.hardware_models.mapping import MappingError

__all__ = [
    "PopulationCount",
    "ProjectionCount",
    "NetworkCounts",
    "SystemMapping",
    "chip_xy",
    "grid_diameter",
    "place_counts",
]


# ---------------------------------------------------------------------- chip grid
def chip_xy(n_chips: int, spec: LoihiSpec) -> np.ndarray:
    """Grid (column, row) of chips ``0`` to ``n_chips - 1`` (see the module docstring)."""
    c = np.arange(int(n_chips))
    board, k = c // spec.chips_per_board, c % spec.chips_per_board
    w = spec.board_width_chips
    return np.stack([board * w + k % w, k // w], axis=1)


def grid_diameter(n_chips: int, spec: LoihiSpec) -> int:
    """Chip hops between the two farthest chips of ``n_chips`` (0 for one chip)."""
    if n_chips <= 1:
        return 0
    xy = chip_xy(n_chips, spec)
    return int((xy.max(axis=0) - xy.min(axis=0)).sum())


def link_loads(traffic: np.ndarray, spec: LoihiSpec) -> dict[str, np.ndarray]:
    """Messages on every chip-to-chip link for a chip-to-chip traffic matrix.

    Parameters
    ----------
    traffic : ndarray, shape (n_chips, n_chips)
        Messages from chip ``i`` to chip ``j`` (the diagonal stays on chip).
    spec : LoihiSpec

    Returns
    -------
    dict
        ``east``, ``west`` of shape (rows, cols - 1): the link from column ``x`` to ``x + 1``
        (east) or back (west) on each row; ``north``, ``south`` of shape (rows - 1, cols)
        likewise between rows; ``chip_hops``: total chip hops of all messages.
    """
    n = traffic.shape[0]
    xy = chip_xy(n, spec)
    cols, rows = int(xy[:, 0].max()) + 1, int(xy[:, 1].max()) + 1
    i, j = np.nonzero(traffic * (1 - np.eye(n, dtype=bool)))
    t = traffic[i, j].astype(np.float64)
    (x0, y0), (x1, y1) = xy[i].T, xy[j].T
    out = {}
    # east-west leg on the source row, then north-south leg on the target column; a
    # difference array per (row or column) turns each leg into two updates
    for name, sel, lo, hi, line, size, n_lines in (
        ("east", x1 > x0, x0, x1, y0, cols, rows),
        ("west", x1 < x0, x1, x0, y0, cols, rows),
        ("south", y1 > y0, y0, y1, x1, rows, cols),
        ("north", y1 < y0, y1, y0, x1, rows, cols),
    ):
        d = np.zeros((n_lines, size + 1))
        np.add.at(d, (line[sel], lo[sel]), t[sel])
        np.add.at(d, (line[sel], hi[sel]), -t[sel])
        load = np.cumsum(d, axis=1)[:, : size - 1]
        out[name] = load if name in ("east", "west") else load.T
    out["chip_hops"] = float((t * (np.abs(x1 - x0) + np.abs(y1 - y0))).sum())
    return out


# ---------------------------------------------------------------------- count description
@dataclass(frozen=True)
class PopulationCount:
    """A population known by its size and mean firing rate.

    Parameters
    ----------
    name : str
    size : int
        Neurons (>= 1).
    rate_hz : float
        Mean firing rate (>= 0) used for the per-step traffic.
    compartments : int
        Compartments per neuron (>= 1).
    """

    name: str
    size: int
    rate_hz: float
    compartments: int = 1

    def __post_init__(self) -> None:
        if int(self.size) < 1:
            raise ValueError(f"PopulationCount {self.name!r}: size must be >= 1, got {self.size}")
        if not np.isfinite(self.rate_hz) or self.rate_hz < 0:
            raise ValueError(
                f"PopulationCount {self.name!r}: rate_hz must be finite >= 0, got {self.rate_hz}"
            )
        if int(self.compartments) < 1:
            raise ValueError(
                f"PopulationCount {self.name!r}: compartments must be >= 1, got {self.compartments}"
            )


@dataclass(frozen=True)
class ProjectionCount:
    """A projection known by its synapse count (random pairs).

    Parameters
    ----------
    source, target : str
    n_synapses : int
        Synapses (>= 0, at most ``size(source) * size(target)``).
    delays : bool
        Whether the projection uses synaptic delays (6 more bits per synapse).
    """

    source: str
    target: str
    n_synapses: int
    delays: bool = False

    def __post_init__(self) -> None:
        if int(self.n_synapses) < 0:
            raise ValueError(
                f"ProjectionCount {self.source}->{self.target}: n_synapses must "
                f"be >= 0, got {self.n_synapses}"
            )


@dataclass(frozen=True)
class NetworkCounts:
    """Populations and projections by counts (see :func:`place_counts`)."""

    populations: tuple[PopulationCount, ...]
    projections: tuple[ProjectionCount, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names) or not names:
            raise ValueError(
                f"NetworkCounts: population names must be unique and non-empty, got {names}"
            )
        size = {p.name: p.size for p in self.populations}
        for pr in self.projections:
            for end in (pr.source, pr.target):
                if end not in size:
                    raise ValueError(
                        f"projection {pr.source}->{pr.target}: unknown population "
                        f"{end!r}; valid: {names}"
                    )
            if pr.n_synapses > size[pr.source] * size[pr.target]:
                raise ValueError(
                    f"projection {pr.source}->{pr.target}: n_synapses {pr.n_synapses} "
                    f"exceeds size(source) x size(target) = "
                    f"{size[pr.source] * size[pr.target]}"
                )

    @property
    def n_neurons(self) -> int:
        """Total neurons."""
        return int(sum(p.size for p in self.populations))

    @property
    def n_synapses(self) -> int:
        """Total synapses."""
        return int(sum(p.n_synapses for p in self.projections))

    def probability(self, pr: ProjectionCount) -> float:
        """Pairwise connection probability of a projection."""
        size = {p.name: p.size for p in self.populations}
        return pr.n_synapses / (size[pr.source] * size[pr.target])


# ---------------------------------------------------------------------- placement
@dataclass(frozen=True, eq=False)
class SystemMapping:
    """Placement of a :class:`NetworkCounts` on a multi-chip system, and its per-step costs.

    Attributes
    ----------
    spec : LoihiSpec
    counts : NetworkCounts
    per_core : dict of str to int
        Neurons per core of each population.
    cores : dict of str to int
        Cores of each population.
    binding : dict of str to str
        The limit that set each population's neurons per core.
    first_core : dict of str to int
        Global index of each population's first core (populations fill cores in order).
    n_cores, n_chips : int
    """

    spec: LoihiSpec
    counts: NetworkCounts
    per_core: dict
    cores: dict
    binding: dict
    first_core: dict
    n_cores: int
    n_chips: int

    @property
    def n_boards(self) -> int:
        """Boards holding at least one used chip."""
        return -(-self.n_chips // self.spec.chips_per_board)

    def _chip_share(self, name: str) -> np.ndarray:
        """Fraction of population ``name``'s cores on each chip."""
        a, k = self.first_core[name], self.cores[name]
        core_chip = (a + np.arange(k)) // self.spec.max_cores
        return np.bincount(core_chip, minlength=self.n_chips) / k

    def step(self, dt_s: float, spec: LoihiSpec | None = None) -> dict:
        """Expected work, traffic, time and energy of one step at the populations' rates.

        Parameters
        ----------
        dt_s : float
            Step length (seconds): spikes per step are ``size x rate x dt``.
        spec : LoihiSpec, optional
            Costs (default: the mapping's).

        Returns
        -------
        dict
            ``syn_ops``, ``spikes``, ``messages``, ``chip_hops`` per step; ``link_max_msgs``
            (busiest link); ``compute_ns`` (slowest core), ``link_ns``, ``barrier_ns``,
            ``host_ns``, ``step_ns``; ``energy_pj`` by part (``dynamic``, ``chip_links``,
            ``static``, ``host``) and ``energy_per_syn_event_uj``; ``bound_by``.
        """
        if not dt_s > 0:
            raise ValueError(f"dt_s must be > 0, got {dt_s}")
        s = spec or self.spec
        c = self.counts
        pops = {p.name: p for p in c.populations}
        spikes = {n: p.size * p.rate_hz * dt_s for n, p in pops.items()}
        syn_in = dict.fromkeys(pops, 0.0)  # synaptic ops per step into each population
        msgs_out = dict.fromkeys(pops, 0.0)  # messages per step sent by each population
        traffic = np.zeros((self.n_chips, self.n_chips))
        for pr in c.projections:
            p = c.probability(pr)
            syn_in[pr.target] += pr.n_synapses * pops[pr.source].rate_hz * dt_s
            hit = self.cores[pr.target] * (1.0 - (1.0 - p) ** self.per_core[pr.target])
            msgs_out[pr.source] += spikes[pr.source] * hit
            traffic += np.outer(
                self._chip_share(pr.source) * spikes[pr.source], self._chip_share(pr.target) * hit
            )
        loads = link_loads(traffic, s)
        link_max = max(
            (float(v.max()) for k, v in loads.items() if k != "chip_hops" and v.size), default=0.0
        )
        # mean Manhattan distance between two tiles of one chip's mesh (on-chip hops)
        w = s.mesh_width_tiles
        h = -(-s.max_cores // s.cores_per_tile) // w or 1
        hop_ew, hop_ns = (w * w - 1) / (3 * w), (h * h - 1) / (3 * h)
        busy, dyn = 0.0, 0.0
        for n, p in pops.items():
            k = self.cores[n]
            comp = p.size * p.compartments
            # a compartment is active if it spikes or receives an event: with events spread
            # at random, 1 - exp(-events per compartment) of them (Poisson)
            active = comp * (1.0 - np.exp(-(spikes[n] + syn_in[n]) / comp))
            per_core = {
                "t_syn_op_ns": syn_in[n] / k,
                "t_neuron_active_ns": active / k,
                "t_neuron_inactive_ns": (comp - active) / k,
                "t_spike_out_ns": spikes[n] / k,
                "t_msg_out_ns": msgs_out[n] / k,
                "t_msg_in_ns": msgs_out[n] / k,
                "t_hop_ew_ns": msgs_out[n] * hop_ew / k,
                "t_hop_ns_ns": msgs_out[n] * hop_ns / k,
            }
            busy = max(busy, sum(getattr(s, f) * v for f, v in per_core.items()))
            dyn += (
                syn_in[n] * s.e_syn_op_pj
                + active * s.e_neuron_active_pj
                + (comp - active) * s.e_neuron_inactive_pj
                + spikes[n] * s.e_spike_out_pj
                + msgs_out[n] * (s.e_msg_out_pj + hop_ew * s.e_hop_ew_pj + hop_ns * s.e_hop_ns_pj)
            )
        link_ns = link_max / s.link_msgs_per_us * 1e3 if s.link_msgs_per_us > 0 else 0.0
        tiles = -(-min(self.n_cores, s.max_cores) // s.cores_per_tile)
        barrier = s.barrier_ns(tiles) + grid_diameter(self.n_chips, s) * s.t_barrier_chip_ns
        host = s.t_host_step_ns
        step_ns = max(busy, link_ns) + barrier + host
        energy = {
            "dynamic": dyn,
            "chip_links": loads["chip_hops"] * s.e_chip_hop_pj,
            "static": s.p_static_mw * self.n_chips * step_ns,  # mW x ns = pJ
            "host": s.p_host_mw * self.n_chips * step_ns,
        }
        events = sum(syn_in.values())
        parts = {"compute": busy, "link": link_ns, "barrier": barrier, "host": host}
        return {
            "syn_ops": events,
            "spikes": sum(spikes.values()),
            "messages": sum(msgs_out.values()),
            "inter_chip_messages": float(traffic.sum() - np.trace(traffic)),
            "chip_hops": loads["chip_hops"],
            "link_max_msgs": link_max,
            "compute_ns": busy,
            "link_ns": link_ns,
            "barrier_ns": barrier,
            "host_ns": host,
            "step_ns": step_ns,
            "energy_pj": energy,
            "bound_by": max(parts, key=parts.get),
            "energy_per_syn_event_uj": sum(energy.values()) / events * 1e-6
            if events
            else float("inf"),
        }

    def check_links(self, dt_s: float, step_budget_ns: float) -> None:
        """Raise :class:`MappingError` if the busiest link cannot carry its step's messages
        within ``step_budget_ns`` at ``link_msgs_per_us`` (e.g. real time: ``dt``)."""
        if self.spec.link_msgs_per_us <= 0:
            return
        need = self.step(dt_s)["link_max_msgs"]
        cap = self.spec.link_msgs_per_us * step_budget_ns * 1e-3
        if need > cap:
            raise MappingError(
                f"inter-chip link traffic {need:.1f} messages per step exceeds the link capacity "
                f"link_msgs_per_us={self.spec.link_msgs_per_us} x {step_budget_ns:.0f} ns = "
                f"{cap:.1f} by {need - cap:.1f}"
            )

    def report(self) -> str:
        """Plain-text table: population, neurons per core, cores, binding limit."""
        lines = [
            f"{self.counts.n_neurons:,} neurons, {self.counts.n_synapses:,} synapses on "
            f"{self.n_cores:,} cores / {self.n_chips} chips / {self.n_boards} boards "
            f"({self.spec.name})",
            f"{'population':<12} {'size':>8} {'per core':>9} {'cores':>7} binding limit",
        ]
        for p in self.counts.populations:
            lines.append(
                f"{p.name:<12} {p.size:>8,d} {self.per_core[p.name]:>9d} "
                f"{self.cores[p.name]:>7,d} {self.binding[p.name]}"
            )
        return "\n".join(lines)


def _fit(
    n: int, counts: NetworkCounts, pop: PopulationCount, spec: LoihiSpec, dest_cores: dict
) -> dict[str, float]:
    """Usage of one core holding ``n`` neurons of ``pop`` (expected values)."""
    mem_bits, inputs, outputs = 0.0, 0.0, 0.0
    size = {p.name: p.size for p in counts.populations}
    for pr in counts.projections:
        p = counts.probability(pr)
        if pr.target == pop.name:
            dense = pr.n_synapses == size[pr.source] * pop.size
            mem_bits += n * pr.n_synapses / pop.size * spec.synapse_bits(pr.delays, dense)
            inputs += size[pr.source] * (1.0 - (1.0 - p) ** n)
        if pr.source == pop.name:
            k, m = dest_cores[pr.target]
            outputs += n * k * (1.0 - (1.0 - p) ** m)
    return {
        "compartments": n * pop.compartments,
        "synaptic_memory_bytes": np.ceil(mem_bits / 8),
        "input_axons": inputs,
        "output_axons": outputs,
    }


_LIMIT = {
    "compartments": "max_compartments",
    "synaptic_memory_bytes": "synaptic_memory_bytes",
    "input_axons": "max_input_axons",
    "output_axons": "max_output_axons",
}


def place_counts(counts: NetworkCounts, spec: LoihiSpec, check: bool = True) -> SystemMapping:
    """Place a count-described network on the chips of ``spec`` (see the module docstring).

    Each population gets the largest number of neurons per core whose expected usage fits
    every core limit; output axons depend on the targets' packing, so the packing is
    repeated until it no longer changes. Populations fill cores in order, chips fill with
    ``max_cores`` cores each.

    Parameters
    ----------
    counts : NetworkCounts
    spec : LoihiSpec
    check : bool
        Raise :class:`MappingError` if the system has too few chips (default True).

    Returns
    -------
    SystemMapping
    """
    per_core = {
        p.name: min(p.size, spec.max_compartments // p.compartments or 1)
        for p in counts.populations
    }
    binding: dict[str, str] = {}
    for _ in range(20):
        dest = {
            p.name: (-(-p.size // per_core[p.name]), per_core[p.name]) for p in counts.populations
        }
        new = {}
        for p in counts.populations:
            lo, hi = 0, p.size  # largest n in [1, size] that fits, by bisection
            while lo < hi:
                mid = (lo + hi + 1) // 2
                u = _fit(mid, counts, p, spec, dest)
                lo, hi = (
                    (mid, hi)
                    if all(u[k] <= getattr(spec, f) for k, f in _LIMIT.items())
                    else (lo, mid - 1)
                )
            if lo == 0:
                u = _fit(1, counts, p, spec, dest)
                k = max(_LIMIT, key=lambda k: u[k] / getattr(spec, _LIMIT[k]))
                raise MappingError(
                    f"population {p.name!r}: one neuron alone does not fit a core: {k} = "
                    f"{u[k]:.0f} exceeds {_LIMIT[k]}={getattr(spec, _LIMIT[k])} by "
                    f"{u[k] - getattr(spec, _LIMIT[k]):.0f}"
                )
            new[p.name] = lo
            if lo < p.size:
                u = _fit(lo + 1, counts, p, spec, dest)
                binding[p.name] = max(
                    (k for k in _LIMIT if u[k] > getattr(spec, _LIMIT[k])),
                    key=lambda k: u[k] / getattr(spec, _LIMIT[k]),
                )
            else:
                binding[p.name] = "population size"
        if new == per_core:
            break
        per_core = new
    cores = {p.name: -(-p.size // per_core[p.name]) for p in counts.populations}
    first, nxt = {}, 0
    for p in counts.populations:
        first[p.name] = nxt
        nxt += cores[p.name]
    n_chips = -(-nxt // spec.max_cores)
    if check and n_chips > spec.max_chips:
        raise MappingError(
            f"the network needs {nxt:,} cores = {n_chips} chips of max_cores={spec.max_cores}, "
            f"but the system has max_chips={spec.max_chips} (chips_per_board="
            f"{spec.chips_per_board} x max_boards={spec.max_boards}): over by "
            f"{n_chips - spec.max_chips} chips"
        )
    return SystemMapping(spec, counts, per_core, cores, binding, first, nxt, n_chips)
