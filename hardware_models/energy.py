"""Energy and latency from operation counters, and a dense CPU/GPU-style baseline.

Every dynamic energy is ``count x per-operation energy`` with the constant taken from a
:class:`~sparse_neuro.hardware_models.loihi.LoihiSpec` (or :class:`DenseSpec` for the baseline); the
static and host terms are power times the elapsed time of
:mod:`sparse_neuro.hardware_models.timing`:

.. math::

    E = \\sum_{\\text{categories } c} N_c \\, e_c
        + (P_{static} + P_{host}) \\, n_{chips} \\sum_{steps} T_{step}

Categories: ``syn_ops`` (synaptic spike ops), ``syn_updates`` (STDP), ``neuron_active``,
``neuron_inactive`` (compartment updates), ``spike_out`` (spikes generated),
``msg_out`` (messages sent, one per destination core), ``spike_tile`` (messages within a
tile), ``hop_ew``, ``hop_ns`` (mesh hops), ``input`` (off-chip spikes, per destination
core). A spike message between tiles is charged its hops (Manhattan distance, east-west and
north-south separately); a message to a core of the sender's own tile (including the
sender's core) is charged ``e_spike_tile_pj``. Routing energy belongs to the sending core,
synaptic ops to the receiving core.

Static power is drawn by every powered chip for the whole elapsed time (``p_static_mw``);
``p_host_mw`` is the host side while the network runs, charged per chip because the
embedded x86 cores that inject spikes and run the per-step management are on every chip. Both are 0
in the presets that reproduce a per-operation table (``davies2018``, ``sana_fe``,
``kerasspiking``) and set in ``loihi_measured``. Blouw et al. 2019's 0.27 mJ per inference
is a *dynamic* figure (running minus idle power, over the inference rate: their Table 1),
so it compares with :attr:`EnergyReport.dynamic_energy_per_inference_uj` plus the host
term, not with the static term.

Dense baseline: a CPU/GPU executing the same network densely at batch size 1 multiplies
every weight every step (``n_pre * n_post`` MACs per projection and step) plus a few MACs
per neuron state update, and reads every weight from memory once per step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from sparse_neuro.hardware_models.event_queue import COUNTERS, LoihiCounters
from sparse_neuro.hardware_models.loihi import LoihiSpec
from sparse_neuro.hardware_models.mapping import Mapping
from sparse_neuro.hardware_models.multichip import grid_diameter
from sparse_neuro.hardware_models.timing import StepTimes, step_times
from sparse_neuro.neuro.model.network import Network

__all__ = [
    "CATEGORIES",
    "DenseSpec",
    "DENSE_PRESETS",
    "EnergyReport",
    "dense_ops_per_step",
    "energy_vector",
]

#: energy category -> ((counter names), LoihiSpec energy field)
CATEGORIES = {
    "syn_ops": (("syn_ops",), "e_syn_op_pj"),
    "syn_updates": (("syn_updates",), "e_syn_update_pj"),
    "neuron_active": (("neuron_active",), "e_neuron_active_pj"),
    "neuron_inactive": (("neuron_inactive",), "e_neuron_inactive_pj"),
    "spike_out": (("spikes_out",), "e_spike_out_pj"),
    "msg_out": (("msgs_tile", "msgs_mesh"), "e_msg_out_pj"),
    "spike_tile": (("msgs_tile",), "e_spike_tile_pj"),
    "hop_ew": (("hops_ew",), "e_hop_ew_pj"),
    "hop_ns": (("hops_ns",), "e_hop_ns_pj"),
    "input": (("input_spikes",), "e_input_spike_pj"),
}


def energy_vector(spec: LoihiSpec) -> np.ndarray:
    """Energy (pJ) per unit of every counter of :data:`COUNTERS` under ``spec``."""
    e = np.zeros(len(COUNTERS))
    for ctrs, field in CATEGORIES.values():
        for c in ctrs:
            e[COUNTERS.index(c)] += getattr(spec, field)
    return e


@dataclass(frozen=True)
class DenseSpec:
    """Per-operation energies of dense execution (Horowitz, ISSCC 2014, 45 nm).

    Parameters
    ----------
    name, source : str
    e_mac_pj : float
        32-bit float multiply-accumulate (4.6 pJ).
    e_mem_pj : float
        One 32-bit weight read (640 pJ for DRAM; 0 for the compute-only bound).
    mem_reads_per_weight : float
        Weight reads per weight and step (1: weights streamed every step, batch 1).
    macs_per_neuron_channel : float
        MACs per neuron and state variable per step (decay and add: 1 per variable).
    """

    name: str = "horowitz_dram"
    source: str = (
        "Horowitz ISSCC 2014 (45 nm): 4.6 pJ per 32-bit float MAC, 640 pJ per 32-bit DRAM read"
    )
    e_mac_pj: float = 4.6
    e_mem_pj: float = 640.0
    mem_reads_per_weight: float = 1.0
    macs_per_neuron_channel: float = 1.0

    def __post_init__(self) -> None:
        for f in ("e_mac_pj", "e_mem_pj", "mem_reads_per_weight", "macs_per_neuron_channel"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"DenseSpec.{f} must be a finite number >= 0, got {v!r}")


DENSE_PRESETS = {
    "horowitz_dram": DenseSpec(),
    "horowitz_compute_only": DenseSpec(
        name="horowitz_compute_only",
        source="Horowitz ISSCC 2014: 4.6 pJ per 32-bit float MAC; memory traffic not charged",
        e_mem_pj=0.0,
    ),
}


def dense_ops_per_step(network: Network) -> dict[str, int]:
    """MACs and weight reads of one dense step: every possible synapse, every neuron state."""
    macs_syn = sum(network.size(p.source) * network.size(p.target) for p in network.projections)
    state = sum(p.size * (1 + p.params.n_channels) for p in network.populations)
    return {
        "weight_macs": int(macs_syn),
        "weight_reads": int(macs_syn),
        "state_updates": int(state),
    }


@dataclass(frozen=True, eq=False)
class EnergyReport:
    """Energy and time of a run on the Loihi-style model, with a dense baseline.

    Build with :meth:`from_counters`. Energies in pJ unless the name says otherwise.

    Attributes
    ----------
    spec : LoihiSpec
    counts : dict of str to int
        Totals of every counter of the run.
    by_category : dict of str to float
        Dynamic energy per category (pJ).
    by_core : ndarray, shape (n_cores,)
        Dynamic energy per core (pJ); routing energy belongs to the sending core.
    by_population : dict of str to float
    times : StepTimes
        Parts of every step's duration (:mod:`sparse_neuro.hardware_models.timing`).
    n_inferences : int
    dense : dict
        Dense baseline: MACs, reads and energy (pJ) of the whole run.
    core_xy : ndarray (n_cores, 2)
    n_tiles, n_chips : int
        Tiles and chips in use.
    """

    spec: LoihiSpec
    dense_spec: DenseSpec
    counts: dict
    by_category: dict
    by_core: np.ndarray
    by_population: dict
    times: StepTimes
    n_inferences: int
    dense: dict
    core_xy: np.ndarray
    n_tiles: int
    n_chips: int

    @classmethod
    def from_counters(
        cls,
        counters: LoihiCounters,
        mapping: Mapping,
        network: Network,
        n_inferences: int = 1,
        spec: LoihiSpec | None = None,
        dense_spec: DenseSpec | None = None,
    ) -> EnergyReport:
        """Cost the counters of a run of ``network`` placed by ``mapping``.

        Parameters
        ----------
        counters : LoihiCounters
        mapping : Mapping
        network : Network
            For the dense baseline (every weight of every projection, every step).
        n_inferences : int
            How many inferences the run contains (figures per inference divide by it).
        spec : LoihiSpec, optional
            Costs to apply (default: the mapping's spec); may differ from the spec used to
            place the network, e.g. to compare presets on the same counts.
        dense_spec : DenseSpec, optional

        Notes
        -----
        Cores ``c`` are on chip ``c // spec.max_cores``; the counters do not say which
        chip receives each message, so inter-chip link traffic is not costed here (see
        :mod:`sparse_neuro.hardware_models.multichip` for multi-chip estimates).
        """
        if int(n_inferences) < 1:
            raise ValueError(f"n_inferences must be >= 1, got {n_inferences}")
        spec = spec or mapping.spec
        dense_spec = dense_spec or DenseSpec()
        ps = counters.per_step  # (T, C, K)
        e_vec = energy_vector(spec)
        tot = ps.sum(axis=(0, 1)).astype(np.float64)
        by_cat = {
            cat: float(sum(tot[COUNTERS.index(c)] for c in ctrs) * getattr(spec, ef))
            for cat, (ctrs, ef) in CATEGORIES.items()
        }
        by_core = ps.sum(axis=0) @ e_vec if ps.size else np.zeros(mapping.n_cores)
        by_pop = {k: float(v @ e_vec) for k, v in counters.per_population.items()}
        n_chips = max(1, -(-mapping.n_cores // spec.max_cores))
        tiles_per_chip = -(-spec.max_cores // spec.cores_per_tile)
        times = step_times(
            ps,
            spec,
            max(1, min(mapping.n_tiles, tiles_per_chip)),
            chip_diameter=grid_diameter(n_chips, spec),
        )
        ops = dense_ops_per_step(network)
        T = counters.n_steps
        macs = T * (ops["weight_macs"] + dense_spec.macs_per_neuron_channel * ops["state_updates"])
        reads = T * ops["weight_reads"] * dense_spec.mem_reads_per_weight
        dense = {
            "macs": float(macs),
            "weight_reads": float(reads),
            "energy_pj": float(macs * dense_spec.e_mac_pj + reads * dense_spec.e_mem_pj),
            "compute_energy_pj": float(macs * dense_spec.e_mac_pj),
        }
        return cls(
            spec,
            dense_spec,
            {k: int(tot[j]) for j, k in enumerate(COUNTERS)},
            by_cat,
            np.asarray(by_core, dtype=np.float64),
            by_pop,
            times,
            int(n_inferences),
            dense,
            mapping.core_xy.copy(),
            mapping.n_tiles,
            n_chips,
        )

    # ------------------------------------------------------------------ figures
    @property
    def step_time_ns(self) -> np.ndarray:
        """Duration of every step (ns)."""
        return self.times.total_ns

    @property
    def total_pj(self) -> float:
        """Dynamic energy of the cores over the run (pJ): the sum of the categories."""
        return float(sum(self.by_category.values()))

    @property
    def static_pj(self) -> float:
        """Static energy: ``p_static_mw`` per chip times the elapsed time (pJ)."""
        return self.spec.p_static_mw * self.n_chips * self.times.elapsed_s * 1e9

    @property
    def host_pj(self) -> float:
        """Host-side energy: ``p_host_mw`` per chip times the elapsed time (pJ)."""
        return self.spec.p_host_mw * self.n_chips * self.times.elapsed_s * 1e9

    @property
    def system_pj(self) -> float:
        """Everything: dynamic + static + host (pJ)."""
        return self.total_pj + self.static_pj + self.host_pj

    @property
    def energy_per_inference_uj(self) -> float:
        """Energy per inference in microjoules (dynamic + static + host)."""
        return self.system_pj / self.n_inferences * 1e-6

    @property
    def dynamic_energy_per_inference_uj(self) -> float:
        """Dynamic core energy plus host energy per inference, without static energy (the
        quantity of Blouw et al. 2019's "dynamic" figures, running minus idle power)."""
        return (self.total_pj + self.host_pj) / self.n_inferences * 1e-6

    @property
    def latency_per_inference_us(self) -> float:
        """Time per inference (sum of step times) in microseconds."""
        return float(self.step_time_ns.sum()) / self.n_inferences * 1e-3

    @property
    def dense_energy_per_inference_uj(self) -> float:
        """Dense baseline energy per inference (microjoules)."""
        return self.dense["energy_pj"] / self.n_inferences * 1e-6

    @property
    def energy_ratio(self) -> float:
        """Dense baseline energy over Loihi-model energy (dynamic + static + host)."""
        return self.dense["energy_pj"] / self.system_pj if self.system_pj > 0 else math.inf

    def summary(self) -> dict:
        """Flat JSON-serialisable figures (per inference where the name says so)."""
        n = self.n_inferences
        return {
            "energy_per_inference_uj": self.energy_per_inference_uj,
            "dynamic_energy_per_inference_uj": self.dynamic_energy_per_inference_uj,
            "static_energy_per_inference_uj": self.static_pj / n * 1e-6,
            "host_energy_per_inference_uj": self.host_pj / n * 1e-6,
            "steps_bound_by": self.times.bound(),
            "chips_used": self.n_chips,
            "latency_per_inference_us": self.latency_per_inference_us,
            "synaptic_ops_per_inference": self.counts["syn_ops"] / n,
            "neuron_updates_per_inference": (
                self.counts["neuron_active"] + self.counts["neuron_inactive"]
            )
            / n,
            "spike_messages_per_inference": (self.counts["msgs_tile"] + self.counts["msgs_mesh"])
            / n,
            "cores_used": int(self.by_core.size),
            "dense_baseline_energy_uj": self.dense_energy_per_inference_uj,
            "dense_compute_only_energy_uj": self.dense["compute_energy_pj"] / n * 1e-6,
            "dense_macs_per_inference": self.dense["macs"] / n,
            "energy_ratio_dense_over_loihi": self.energy_ratio,
            "energy_ratio_dense_compute_only_over_loihi": self.dense["compute_energy_pj"]
            / self.total_pj
            if self.total_pj > 0
            else math.inf,
            "energy_by_category_uj": {k: v / n * 1e-6 for k, v in self.by_category.items()},
            "loihi_spec": self.spec.name,
            "dense_spec": self.dense_spec.name,
        }

    def table(self) -> str:
        """Plain-text breakdown: category, count, per-op energy, energy, share."""
        lines = [f"{'category':<16} {'count':>14} {'pJ/op':>8} {'energy uJ':>12} {'share':>7}"]
        tot = self.system_pj or 1.0
        for cat, (ctrs, ef) in CATEGORIES.items():
            e = self.by_category[cat]
            n = sum(self.counts[c] for c in ctrs)
            lines.append(
                f"{cat:<16} {n:>14,d} {getattr(self.spec, ef):>8.1f} "
                f"{e * 1e-6:>12.4f} {e / tot:>7.1%}"
            )
        for cat, e in (("static", self.static_pj), ("host", self.host_pj)):
            lines.append(f"{cat:<16} {'':>14} {'':>8} {e * 1e-6:>12.4f} {e / tot:>7.1%}")
        lines.append(
            f"{'total':<16} {'':>14} {'':>8} {self.system_pj * 1e-6:>12.4f}  ({self.spec.source})"
        )
        return "\n".join(lines)

    def save(self, save_arrays, group: str = "energy") -> None:
        """Write arrays through ``save_arrays(group, {name: array})`` (e.g. a run context's)."""
        cats = list(self.by_category)
        save_arrays(
            group,
            {
                "category_names": np.array(cats, dtype="S"),
                "category_energy_pj": np.array([self.by_category[c] for c in cats]),
                "core_energy_pj": self.by_core,
                "core_xy": self.core_xy,
                "step_time_ns": self.step_time_ns,
                "step_compute_ns": self.times.compute_ns,
                "step_barrier_ns": self.times.barrier_ns,
                "step_host_ns": self.times.host_ns,
                "static_host_pj": np.array([self.static_pj, self.host_pj]),
                "population_names": np.array(list(self.by_population), dtype="S"),
                "population_energy_pj": np.array(list(self.by_population.values())),
                "counter_names": np.array(list(self.counts), dtype="S"),
                "counter_totals": np.array(list(self.counts.values()), dtype=np.int64),
                "spec_json": np.array([str(asdict(self.spec))], dtype="S"),
            },
        )
