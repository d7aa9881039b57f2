"""Loihi-style chip description: per-operation energies and times, core limits, presets.

Every energy and time the hardware model uses comes from one :class:`LoihiSpec`, and every
figure of a :class:`hardware_models.energy.EnergyReport` is a counter times one of its
fields, so each number traces back to a constant and the source recorded in ``source``.

Presets (:func:`preset`):

``"davies2018"`` (default)
    Davies et al. 2018, IEEE Micro 38(1), Table 2 (pre-silicon, 0.75 V): 23.6 pJ per
    synaptic spike op (the *minimum*), 120 pJ per pairwise-STDP synaptic update, 81 / 52 pJ
    per active / inactive neuron update, 1.7 pJ per spike within a tile, 3.0 / 4.0 pJ per
    east-west / north-south tile hop; times 3.5, 6.1, 8.4, 5.3, 2.1, 4.1, 6.5 ns; barrier
    113-465 ns for 1-32 tiles.
``"sana_fe"``
    As ``davies2018`` but with the calibrated SANA-FE simulator's values (arch/loihi.yaml):
    35.5 pJ per dense synaptic op and 4.2 pJ per north-south hop.
``"kerasspiking"``
    KerasSpiking's ``loihi`` preset, a common shortcut: (23.6 + 3.5) = 27.1 pJ per synaptic
    op and 81 pJ for every neuron update (active or not); routing is not charged. (Adding
    the 3.5 ns time to the 23.6 pJ energy is what that preset does; it is reproduced, not
    endorsed.)

A spec can be written to / read from JSON (:meth:`LoihiSpec.to_json`, :func:`load_spec`) and
any field overridden with :meth:`LoihiSpec.replace`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from dataclasses import replace as _dc_replace
from pathlib import Path

__all__ = ["LoihiSpec", "preset", "PRESETS", "load_spec"]

_ENERGY_FIELDS = (
    "e_syn_op_pj", "e_syn_update_pj", "e_neuron_active_pj", "e_neuron_inactive_pj",
    "e_spike_tile_pj", "e_hop_ew_pj", "e_hop_ns_pj", "e_input_spike_pj",
)
_TIME_FIELDS = (
    "t_syn_op_ns", "t_syn_update_ns", "t_neuron_active_ns", "t_neuron_inactive_ns",
    "t_spike_tile_ns", "t_hop_ew_ns", "t_hop_ns_ns", "t_barrier_min_ns", "t_barrier_max_ns",
)
_INT_FIELDS = (
    "max_compartments", "synaptic_memory_bytes", "max_input_axons", "max_output_axons",
    "cores_per_tile", "max_cores", "mesh_width_tiles", "max_delay_steps", "weight_bits",
    "synapse_overhead_bits", "decay_bits", "membrane_bits", "barrier_tiles_max",
)


@dataclass(frozen=True)
class LoihiSpec:
    """Per-operation costs and resource limits of a Loihi-style chip.

    Energies in picojoules, times in nanoseconds, memory in bytes.

    Parameters
    ----------
    name, source : str
        Preset name and the publication (table) its numbers come from.
    e_syn_op_pj, t_syn_op_ns : float
        One synaptic spike operation (a spike arriving at one synapse: weight read and
        accumulation into the target's input).
    e_syn_update_pj, t_syn_update_ns : float
        One synaptic learning update (pairwise STDP) of one synapse.
    e_neuron_active_pj, t_neuron_active_ns : float
        Update of a neuron (compartment) that received input or spiked this step.
    e_neuron_inactive_pj, t_neuron_inactive_ns : float
        Update of a neuron with no input and no spike this step.
    e_spike_tile_pj, t_spike_tile_ns : float
        One spike message delivered to a core in the same tile as the sender.
    e_hop_ew_pj, t_hop_ew_ns, e_hop_ns_pj, t_hop_ns_ns : float
        One east-west / north-south router hop of a spike message between tiles.
    e_input_spike_pj : float
        A spike injected from off-chip (host I/O); 0 by default: I/O is *not* modelled.
    t_barrier_min_ns, t_barrier_max_ns : float
        Mesh barrier synchronisation time for 1 tile and for ``barrier_tiles_max`` tiles;
        interpolated linearly in the number of tiles used (see :meth:`barrier_ns`).
    barrier_tiles_max : int
        Number of tiles of ``t_barrier_max_ns`` (32 in Davies et al.).
    max_compartments : int
        Compartments (neurons) per core (1,024).
    synaptic_memory_bytes : int
        Synaptic memory per core (128 KB = 131,072 bytes).
    max_input_axons, max_output_axons : int
        Input axon lists / output axons per core (4,096 each).
    cores_per_tile, max_cores, mesh_width_tiles : int
        4 cores per tile, 128 cores per chip, tiles laid out ``mesh_width_tiles`` wide.
    max_delay_steps : int
        Longest synaptic delay (62 steps).
    weight_bits : int
        Precision of stored weights, 1-9 bits (8 by default).
    synapse_overhead_bits : int
        Bits stored per synapse besides the weight (target compartment index in the sparse
        encoding, 10 bits for 1,024 compartments; delays add 6 bits when a projection uses
        them). An assumption of this model, not a published figure.
    decay_bits, membrane_bits : int
        Precision of current/voltage decay constants (12) and of the membrane (24).
    """

    name: str = "davies2018"
    source: str = "Davies et al. 2018, IEEE Micro 38(1), Table 2 (pre-silicon, 0.75 V)"
    e_syn_op_pj: float = 23.6
    e_syn_update_pj: float = 120.0
    e_neuron_active_pj: float = 81.0
    e_neuron_inactive_pj: float = 52.0
    e_spike_tile_pj: float = 1.7
    e_hop_ew_pj: float = 3.0
    e_hop_ns_pj: float = 4.0
    e_input_spike_pj: float = 0.0
    t_syn_op_ns: float = 3.5
    t_syn_update_ns: float = 6.1
    t_neuron_active_ns: float = 8.4
    t_neuron_inactive_ns: float = 5.3
    t_spike_tile_ns: float = 2.1
    t_hop_ew_ns: float = 4.1
    t_hop_ns_ns: float = 6.5
    t_barrier_min_ns: float = 113.0
    t_barrier_max_ns: float = 465.0
    barrier_tiles_max: int = 32
    max_compartments: int = 1024
    synaptic_memory_bytes: int = 128 * 1024
    max_input_axons: int = 4096
    max_output_axons: int = 4096
    cores_per_tile: int = 4
    max_cores: int = 128
    mesh_width_tiles: int = 8
    max_delay_steps: int = 62
    weight_bits: int = 8
    synapse_overhead_bits: int = 10
    decay_bits: int = 12
    membrane_bits: int = 24

    def __post_init__(self) -> None:
        for f in ("name", "source"):
            if not isinstance(getattr(self, f), str):
                raise TypeError(f"LoihiSpec.{f} must be a string, got {getattr(self, f)!r}")
        for f in _ENERGY_FIELDS + _TIME_FIELDS:
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"LoihiSpec.{f} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, f, float(v))
        for f in _INT_FIELDS:
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if f in (
                    "synapse_overhead_bits", "max_delay_steps") else 1):
                raise ValueError(f"LoihiSpec.{f} must be a positive integer, got {v!r}")
        if not 1 <= self.weight_bits <= 9:
            raise ValueError(f"LoihiSpec.weight_bits must be in [1, 9], got {self.weight_bits}")
        if not 1 <= self.decay_bits <= 16:
            raise ValueError(f"LoihiSpec.decay_bits must be in [1, 16], got {self.decay_bits}")
        if not 8 <= self.membrane_bits <= 32:
            raise ValueError(f"LoihiSpec.membrane_bits must be in [8, 32], got {self.membrane_bits}")
        if self.t_barrier_max_ns < self.t_barrier_min_ns:
            raise ValueError(
                f"LoihiSpec.t_barrier_max_ns ({self.t_barrier_max_ns}) must be >= "
                f"t_barrier_min_ns ({self.t_barrier_min_ns})"
            )

    # ------------------------------------------------------------------ derived
    def barrier_ns(self, n_tiles: int) -> float:
        """Barrier time for ``n_tiles`` tiles: linear between the 1-tile and max-tile figures.

        Beyond ``barrier_tiles_max`` the line is extrapolated (an assumption).
        """
        if n_tiles < 1:
            raise ValueError(f"n_tiles must be >= 1, got {n_tiles}")
        if self.barrier_tiles_max == 1:
            return self.t_barrier_max_ns
        frac = (n_tiles - 1) / (self.barrier_tiles_max - 1)
        return self.t_barrier_min_ns + frac * (self.t_barrier_max_ns - self.t_barrier_min_ns)

    def synapse_bits(self, uses_delays: bool) -> int:
        """Bits of synaptic memory one synapse takes (weight + index overhead + delay)."""
        return self.weight_bits + self.synapse_overhead_bits + (6 if uses_delays else 0)

    def replace(self, **changes: object) -> LoihiSpec:
        """Copy with some fields overridden (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown LoihiSpec fields {sorted(unknown)}; valid: "
                             f"{[f.name for f in fields(self)]}")
        return _dc_replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain dict of all fields (JSON-serialisable)."""
        return asdict(self)

    def to_json(self, path: str | Path) -> None:
        """Write the spec to a JSON file (atomically)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_dict(), fh, indent=2)
        os.replace(tmp, path)


PRESETS: dict[str, LoihiSpec] = {
    "davies2018": LoihiSpec(),
    "sana_fe": LoihiSpec(
        name="sana_fe",
        source="SANA-FE calibrated Loihi model (arch/loihi.yaml): 35.5 pJ per dense synaptic "
        "op, 4.2 pJ per north-south hop; other figures Davies et al. 2018 Table 2",
        e_syn_op_pj=35.5,
        e_hop_ns_pj=4.2,
    ),
    "kerasspiking": LoihiSpec(
        name="kerasspiking",
        source="KerasSpiking 'loihi' preset: (23.6 + 3.5) pJ per synaptic op, 81 pJ per "
        "neuron update; routing not charged",
        e_syn_op_pj=27.1,
        e_neuron_inactive_pj=81.0,
        e_spike_tile_pj=0.0,
        e_hop_ew_pj=0.0,
        e_hop_ns_pj=0.0,
    ),
}


def preset(name: str = "davies2018") -> LoihiSpec:
    """A named preset (see module docstring); valid names: ``PRESETS`` keys."""
    if name not in PRESETS:
        raise ValueError(f"unknown Loihi preset {name!r}; valid: {sorted(PRESETS)}")
    return PRESETS[name]


def load_spec(path: str | Path) -> LoihiSpec:
    """Read a spec from a JSON file of field values.

    Fields not given keep the ``davies2018`` defaults; a ``"base"`` key names another
    preset to start from. Unknown keys are an error.
    """
    with open(path) as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of LoihiSpec fields")
    base = preset(data.pop("base", "davies2018"))
    return base.replace(**data)
