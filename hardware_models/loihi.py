"""Loihi-style chip description: per-operation energies and times, core limits, presets.

Every energy and time the hardware model uses comes from one :class:`LoihiSpec`, and every
figure of a :class:`sparse_neuro.hardware_models.energy.EnergyReport` is a counter times one of its
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
``"loihi_measured"``
    The predictive preset: every per-operation energy and time of SANA-FE's calibrated
    ``arch/loihi.yaml`` (github SLAM-Lab/SANA-FE: 51.2 pJ / 6.0 ns per neuron access plus
    21.6 pJ / 3.7 ns per update, 69.3 pJ / 30 ns per spike generated, 111 pJ / 5.1 ns per
    message sent, 16 ns per message received, 35.5 pJ / 3.8 ns per dense synaptic op,
    3.0 / 4.2 pJ per east-west / north-south hop, barrier 0.6 / 1.0 / 1.4 / 1.8 us for
    1 / 2 / 4 / 29 tiles), the chip's static power measured by Blouw et al. 2019 (idle
    supply power of the Loihi chip, VDD + VDDM rails, 29.5 mW: their idle logs in
    abr/power_benchmarks ``logs/idle/loihi_*.csv`` average 29.4-29.8 mW over the eight
    configurations; Table 1: 0.029 W), and three host terms
    fitted once on two of Blouw et al.'s measured networks (see
    :mod:`sparse_neuro.experiments.loihi_calibration`): ``p_host_mw``, ``t_host_step_ns``,
    ``t_input_msg_ns`` (77.6 mW per chip, 159.5 us per step, 1.963 us per input message:
    on that board the x86 cores' spike injection set the time per inference).
``"nahuku32"`` / ``"pohoiki_springs"``
    ``loihi_measured`` on a multi-chip system: a Nahuku board of 32 chips (Davies et al.
    2021, Proc. IEEE 109(5)), and Pohoiki Springs, 768 chips on 24 Nahuku boards (Davies
    et al. 2021). The inter-chip link figures (``e_chip_hop_pj``, ``link_msgs_per_us``,
    ``t_barrier_chip_ns``) are *assumptions* of this model: no
    published per-message figure was found; they are stated in the preset's ``source``.

``"loihi2"``
    Loihi 2 where a figure is published (Intel, "Taking Neuromorphic Computing to the Next
    Level with Loihi 2", technology brief, 2021; Orchard et al. 2021, SiPS): 128
    neuromorphic cores per chip and up to 1 million neurons per chip, i.e. 8,192
    compartments per core. No per-operation energy or time, static power, synaptic memory
    per core or barrier time of Loihi 2 has been published (the brief gives up to 10x faster
    spike processing than Loihi 1 without a per-operation breakdown, not applied here):
    those fields keep ``loihi_measured``'s Loihi 1 values, as its ``source`` says.

Time model (see :mod:`sparse_neuro.hardware_models.timing`): a step lasts as long as its slowest
core (sum of its operation counts times their times) or its busiest inter-chip link, plus the
barrier, plus the host's per-step work. Energy (see :mod:`sparse_neuro.hardware_models.energy`):
counts times per-operation energies, plus ``(p_static_mw + p_host_mw) x chips x elapsed time``.

A spec can be written to / read from JSON (:meth:`LoihiSpec.to_json`, :func:`load_spec`) and
any field overridden with :meth:`LoihiSpec.replace`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from dataclasses import replace as _dc_replace
from pathlib import Path

from sparse_neuro.neuro.storage.atomic import write_text
from sparse_neuro.neuro.storage.safe_read import read_json

__all__ = ["LoihiSpec", "preset", "PRESETS", "load_spec"]

_ENERGY_FIELDS = (
    "e_syn_op_pj",
    "e_syn_update_pj",
    "e_neuron_active_pj",
    "e_neuron_inactive_pj",
    "e_spike_tile_pj",
    "e_hop_ew_pj",
    "e_hop_ns_pj",
    "e_input_spike_pj",
    "e_spike_out_pj",
    "e_msg_out_pj",
    "e_chip_hop_pj",
)
_TIME_FIELDS = (
    "t_syn_op_ns",
    "t_syn_update_ns",
    "t_neuron_active_ns",
    "t_neuron_inactive_ns",
    "t_spike_tile_ns",
    "t_hop_ew_ns",
    "t_hop_ns_ns",
    "t_spike_out_ns",
    "t_msg_out_ns",
    "t_msg_in_ns",
    "t_barrier_chip_ns",
    "t_host_step_ns",
    "t_input_msg_ns",
)
_POWER_FIELDS = ("p_static_mw", "p_host_mw", "link_msgs_per_us")
_INT_FIELDS = (
    "max_compartments",
    "synaptic_memory_bytes",
    "max_input_axons",
    "max_output_axons",
    "cores_per_tile",
    "max_cores",
    "mesh_width_tiles",
    "max_delay_steps",
    "weight_bits",
    "synapse_overhead_bits",
    "decay_bits",
    "membrane_bits",
    "chips_per_board",
    "max_boards",
    "board_width_chips",
    "trace_bits",
)
#: Rounding of learning traces and weight updates
#: (:mod:`sparse_neuro.hardware_models.fixed_point_stdp`).
LEARNING_ROUNDINGS = ("stochastic", "nearest")


@dataclass(frozen=True)
class LoihiSpec:
    """Per-operation costs, static power, resource limits of a Loihi-style chip and system.

    Energies in picojoules, times in nanoseconds, power in milliwatts, memory in bytes.
    A field at 0 is a cost the preset's source does not give (not charged).

    Parameters
    ----------
    name, source : str
        Preset name and the publications (tables, files) its numbers come from.
    e_syn_op_pj, t_syn_op_ns : float
        One synaptic spike operation (a spike arriving at one synapse: weight read and
        accumulation into the target's input).
    e_syn_update_pj, t_syn_update_ns : float
        One synaptic learning update (pairwise STDP) of one synapse.
    e_neuron_active_pj, t_neuron_active_ns : float
        Update of a neuron (compartment) that received input or spiked this step.
    e_neuron_inactive_pj, t_neuron_inactive_ns : float
        Update of a neuron with no input and no spike this step.
    e_spike_out_pj, t_spike_out_ns : float
        Generating one output spike (the axon lookup of a spiking neuron).
    e_msg_out_pj, t_msg_out_ns : float
        Sending one spike message (one per destination core) from the sending core.
    t_msg_in_ns : float
        Receiving one spike message at the destination core (before its synaptic ops).
    e_spike_tile_pj, t_spike_tile_ns : float
        One spike message delivered to a core in the same tile as the sender.
    e_hop_ew_pj, t_hop_ew_ns, e_hop_ns_pj, t_hop_ns_ns : float
        One east-west / north-south router hop of a spike message between tiles.
    e_input_spike_pj : float
        A spike injected from off-chip (host I/O), per destination core.
    e_chip_hop_pj : float
        One spike message crossing one chip-to-chip link.
    link_msgs_per_us : float
        Capacity of one chip-to-chip link (messages per microsecond); 0 = unlimited.
    barrier_points : tuple of (int, float)
        Mesh barrier synchronisation time (ns) at a number of tiles, interpolated
        piecewise linearly in the number of tiles used (extrapolated with the last slope
        beyond the last point, flat below the first); see :meth:`barrier_ns`.
    t_barrier_chip_ns : float
        Extra barrier time per chip-to-chip hop of the chip grid's diameter.
    p_static_mw : float
        Static (leakage) power of one powered chip, drawn for the whole elapsed time.
    p_host_mw : float
        Power of the host side (embedded x86 cores, I/O) of one chip while a network runs.
    t_host_step_ns, t_input_msg_ns : float
        Host-side time per step, and per input spike message injected from off-chip.
    max_compartments : int
        Compartments (neurons) per core (1,024).
    synaptic_memory_bytes : int
        Synaptic memory per core (128 KB = 131,072 bytes).
    max_input_axons, max_output_axons : int
        Input axon lists / output axons per core (4,096 each).
    cores_per_tile, max_cores, mesh_width_tiles : int
        4 cores per tile, 128 cores per chip, tiles laid out ``mesh_width_tiles`` wide.
    chips_per_board, max_boards, board_width_chips : int
        Chips per board, boards in the system, and the width of a board's chip grid
        (chips are laid out row-major, ``board_width_chips`` per row, boards side by side
        in one row of boards).
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
    trace_bits : int
        Precision of the learning traces x1, y1 (7 on Loihi: Lava's ``W_TRACE``), 2-16.
    learning_rounding : str
        Rounding of trace decay and weight updates: ``"stochastic"`` (Loihi) or
        ``"nearest"`` (see :mod:`sparse_neuro.hardware_models.fixed_point_stdp`).
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
    e_spike_out_pj: float = 0.0
    e_msg_out_pj: float = 0.0
    e_chip_hop_pj: float = 0.0
    t_syn_op_ns: float = 3.5
    t_syn_update_ns: float = 6.1
    t_neuron_active_ns: float = 8.4
    t_neuron_inactive_ns: float = 5.3
    t_spike_tile_ns: float = 2.1
    t_hop_ew_ns: float = 4.1
    t_hop_ns_ns: float = 6.5
    t_spike_out_ns: float = 0.0
    t_msg_out_ns: float = 0.0
    t_msg_in_ns: float = 0.0
    link_msgs_per_us: float = 0.0
    barrier_points: tuple = ((1, 113.0), (32, 465.0))
    t_barrier_chip_ns: float = 0.0
    p_static_mw: float = 0.0
    p_host_mw: float = 0.0
    t_host_step_ns: float = 0.0
    t_input_msg_ns: float = 0.0
    max_compartments: int = 1024
    synaptic_memory_bytes: int = 128 * 1024
    max_input_axons: int = 4096
    max_output_axons: int = 4096
    cores_per_tile: int = 4
    max_cores: int = 128
    mesh_width_tiles: int = 8
    chips_per_board: int = 1
    max_boards: int = 1
    board_width_chips: int = 1
    max_delay_steps: int = 62
    weight_bits: int = 8
    synapse_overhead_bits: int = 10
    decay_bits: int = 12
    membrane_bits: int = 24
    trace_bits: int = 7
    learning_rounding: str = "stochastic"

    def __post_init__(self) -> None:
        for f in ("name", "source", "learning_rounding"):
            if not isinstance(getattr(self, f), str):
                raise TypeError(f"LoihiSpec.{f} must be a string, got {getattr(self, f)!r}")
        for f in _ENERGY_FIELDS + _TIME_FIELDS + _POWER_FIELDS:
            v = getattr(self, f)
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise ValueError(f"LoihiSpec.{f} must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, f, float(v))
        for f in _INT_FIELDS:
            v = getattr(self, f)
            if (
                isinstance(v, bool)
                or not isinstance(v, int)
                or v < (0 if f in ("synapse_overhead_bits", "max_delay_steps") else 1)
            ):
                raise ValueError(f"LoihiSpec.{f} must be a positive integer, got {v!r}")
        if not 1 <= self.weight_bits <= 9:
            raise ValueError(f"LoihiSpec.weight_bits must be in [1, 9], got {self.weight_bits}")
        if not 1 <= self.decay_bits <= 16:
            raise ValueError(f"LoihiSpec.decay_bits must be in [1, 16], got {self.decay_bits}")
        if not 2 <= self.trace_bits <= 16:
            raise ValueError(f"LoihiSpec.trace_bits must be in [2, 16], got {self.trace_bits}")
        if self.learning_rounding not in LEARNING_ROUNDINGS:
            raise ValueError(
                f"LoihiSpec.learning_rounding must be one of {LEARNING_ROUNDINGS}, "
                f"got {self.learning_rounding!r}"
            )
        if not 8 <= self.membrane_bits <= 32:
            raise ValueError(
                f"LoihiSpec.membrane_bits must be in [8, 32], got {self.membrane_bits}"
            )
        if self.board_width_chips > self.chips_per_board:
            raise ValueError(
                f"LoihiSpec.board_width_chips ({self.board_width_chips}) must be <= "
                f"chips_per_board ({self.chips_per_board})"
            )
        object.__setattr__(self, "barrier_points", _barrier_points(self.barrier_points))

    # ------------------------------------------------------------------ derived
    @property
    def max_chips(self) -> int:
        """Chips in the system: ``chips_per_board * max_boards``."""
        return self.chips_per_board * self.max_boards

    def barrier_ns(self, n_tiles: int) -> float:
        """Barrier time for ``n_tiles`` tiles of one chip (piecewise linear in tiles).

        Beyond the last point of ``barrier_points`` the last segment is extrapolated (an
        assumption); with one point the barrier is constant.
        """
        if n_tiles < 1:
            raise ValueError(f"n_tiles must be >= 1, got {n_tiles}")
        x = [t for t, _ in self.barrier_points]
        y = [v for _, v in self.barrier_points]
        if len(x) == 1 or n_tiles <= x[0]:
            return y[0]
        k = min(max(1, sum(1 for t in x if t < n_tiles)), len(x) - 1)
        return y[k - 1] + (n_tiles - x[k - 1]) * (y[k] - y[k - 1]) / (x[k] - x[k - 1])

    def synapse_bits(self, uses_delays: bool, dense: bool = False) -> int:
        """Bits of synaptic memory one synapse takes (weight + index overhead + delay).

        A dense projection (every pair connected) is stored in Loihi's dense synapse
        encoding, which needs no target index (Davies et al. 2018: sparse, dense and
        run-length synapse formats), so it takes the weight (and delay) bits only.
        """
        index = 0 if dense else self.synapse_overhead_bits
        return self.weight_bits + index + (6 if uses_delays else 0)

    def replace(self, **changes: object) -> LoihiSpec:
        """Copy with some fields overridden (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown LoihiSpec fields {sorted(unknown)}; valid: "
                f"{[f.name for f in fields(self)]}"
            )
        return _dc_replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain dict of all fields (JSON-serialisable)."""
        return asdict(self)

    def to_json(self, path: str | Path) -> None:
        """Write the spec to a JSON file (atomically)."""
        write_text(path, json.dumps(self.to_dict(), indent=2))


def _barrier_points(points: object) -> tuple:
    """Validate ``barrier_points``: (tiles, ns) pairs, tiles strictly increasing, ns >= 0."""
    try:
        pts = tuple((int(t), float(v)) for t, v in points)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(
            f"LoihiSpec.barrier_points must be (tiles, ns) pairs, got {points!r}"
        ) from None
    tiles = [t for t, _ in pts]
    if (
        not pts
        or tiles[0] < 1
        or any(b <= a for a, b in zip(tiles, tiles[1:]))
        or any(not math.isfinite(v) or v < 0 for _, v in pts)
    ):
        raise ValueError(
            "LoihiSpec.barrier_points must be non-empty (tiles >= 1 strictly "
            f"increasing, ns finite >= 0), got {points!r}"
        )
    return pts


_SANA_FE = dict(
    e_syn_op_pj=35.5,
    t_syn_op_ns=3.8,
    e_neuron_inactive_pj=51.2,
    t_neuron_inactive_ns=6.0,
    e_neuron_active_pj=51.2 + 21.6,
    t_neuron_active_ns=6.0 + 3.7,
    e_spike_out_pj=69.3,
    t_spike_out_ns=30.0,
    e_msg_out_pj=111.0,
    t_msg_out_ns=5.1,
    t_msg_in_ns=16.0,
    e_spike_tile_pj=0.0,
    t_spike_tile_ns=0.0,
    e_hop_ew_pj=3.0,
    t_hop_ew_ns=4.1,
    e_hop_ns_pj=4.2,
    t_hop_ns_ns=6.5,
    barrier_points=((1, 600.0), (2, 1000.0), (4, 1400.0), (29, 1800.0)),
)
_SANA_FE_SOURCE = (
    "SANA-FE calibrated Loihi model (SLAM-Lab/SANA-FE arch/loihi.yaml): 35.5 pJ / 3.8 ns per "
    "dense synaptic op; neuron access 51.2 pJ / 6.0 ns + update 21.6 pJ / 3.7 ns; spike out "
    "69.3 pJ / 30 ns; message out 111 pJ / 5.1 ns; message in 16 ns; hops 3.0 / 4.2 pJ, "
    "4.1 / 6.5 ns; barrier table 0.6 / 1.0 / 1.4 / 1.8 us for 1 / 2 / 4 / 29 tiles"
)
#: Fitted once (sparse_neuro.experiments.loihi_calibration.fit_host_terms, seed 0, 3 inferences,
#: input spike probability 0.1 per channel and step) on two of Blouw et al. 2019's measured
#: networks, the keyword spotter and the N = 0 scaled network: host power of one chip
#: while running, host time per step and per input message injected. The fit returned
#: 77.6 mW, 159,519 ns and 1,963 ns; every other workload is predicted, not fitted.
_HOST_CALIBRATION = dict(p_host_mw=77.6, t_host_step_ns=159_500.0, t_input_msg_ns=1_963.0)
_MEASURED = dict(_SANA_FE, p_static_mw=29.5, **_HOST_CALIBRATION)
_MEASURED_SOURCE = (
    _SANA_FE_SOURCE + "; static power 29.5 mW: Loihi chip idle supply power (VDD + VDDM) "
    "measured by Blouw et al. 2019 (abr/power_benchmarks logs/idle/loihi_*.csv, 29.4-29.8 mW; "
    "their Table 1: 0.029 W); host terms fitted on two of their measured networks "
    "(sparse_neuro.experiments.loihi_calibration)"
)
#: Inter-chip assumptions (no published per-message figures found): a chip-to-chip message
#: costs like 10 east-west mesh hops (off-chip SerDes), links carry 100 messages/us, and the
#: barrier adds one mesh barrier's worth per chip hop of the grid's diameter.
_LINKS = dict(e_chip_hop_pj=30.0, link_msgs_per_us=100.0, t_barrier_chip_ns=465.0)
_LINKS_SOURCE = (
    "; inter-chip link figures are ASSUMPTIONS (none published): 30 pJ per chip "
    "hop (10 mesh hops), 100 messages/us per link, barrier +465 ns per chip hop "
    "of the grid diameter"
)

_LOIHI2_SOURCE = (
    "Loihi 2: 128 neuromorphic cores and up to 1 million neurons per chip (Intel Loihi 2 "
    "technology brief 2021; Orchard et al. 2021, SiPS): max_compartments = 8,192. NOT "
    "PUBLISHED for Loihi 2, Loihi 1 values kept (loihi_measured): every per-operation energy "
    "and time, barrier, static and host power, synaptic memory per core (Loihi 2 partitions "
    "its core SRAM flexibly), axon limits, weight and trace precisions; the brief's 'up to "
    "10x faster' is not applied. Loihi 1 source: " + _MEASURED_SOURCE
)

PRESETS: dict[str, LoihiSpec] = {
    "davies2018": LoihiSpec(),
    "sana_fe": LoihiSpec(name="sana_fe", source=_SANA_FE_SOURCE, **_SANA_FE),
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
    "loihi_measured": LoihiSpec(name="loihi_measured", source=_MEASURED_SOURCE, **_MEASURED),
    "loihi2": LoihiSpec(name="loihi2", source=_LOIHI2_SOURCE, max_compartments=8192, **_MEASURED),
    "nahuku32": LoihiSpec(
        name="nahuku32",
        source=_MEASURED_SOURCE + "; Nahuku board: 32 chips (Davies et al. 2021)" + _LINKS_SOURCE,
        chips_per_board=32,
        board_width_chips=8,
        max_boards=1,
        **_MEASURED,
        **_LINKS,
    ),
    "pohoiki_springs": LoihiSpec(
        name="pohoiki_springs",
        source=_MEASURED_SOURCE + "; Pohoiki Springs: 768 chips on 24 Nahuku boards of 32 "
        "(Davies et al. 2021)" + _LINKS_SOURCE,
        chips_per_board=32,
        board_width_chips=8,
        max_boards=24,
        **_MEASURED,
        **_LINKS,
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
    data = read_json(path, "Loihi spec file")  # regular file, capped, errors name the file
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of LoihiSpec fields")
    base = preset(data.pop("base", "davies2018"))
    return base.replace(**data)
