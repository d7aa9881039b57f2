"""hardware_models: what a network would cost on Loihi-style neuromorphic silicon.

- :mod:`.loihi`: :class:`LoihiSpec` (per-operation energies/times, core limits) and presets;
- :mod:`.mapping`: placement on cores/tiles/mesh with resource checks (:func:`place`);
- :mod:`.fixed_point`: Loihi's integer CUBA neuron and quantisation (:func:`quantize`);
- :mod:`.fixed_point_stdp`: pair STDP at Loihi's trace/weight precisions (the fixed mode's
  learning stage) and its plain-Python integer reference;
- :mod:`.event_queue`: the event-queue backend with per-core counters;
- :mod:`.timing`: duration of every step (slowest core, links, barrier, host);
- :mod:`.multichip`: chip grid, inter-chip links, count-based placement (:func:`place_counts`);
- :mod:`.energy`: :class:`EnergyReport` (dynamic + static + host) and the dense baseline.

Never imports :mod:`sparse_neuro.learning` (see DESIGN.md).

Examples
--------
>>> from sparse_neuro.hardware_models import EnergyReport, place, preset, run_event_queue
>>> rec, counters, mapping = run_event_queue(net, duration_s=0.1, dt_s=1e-3)  # doctest: +SKIP
>>> print(mapping.report())                                                   # doctest: +SKIP
>>> rep = EnergyReport.from_counters(counters, mapping, net, n_inferences=1)  # doctest: +SKIP
>>> print(rep.table()); rep.summary()["energy_ratio_dense_over_loihi"]        # doctest: +SKIP
>>> EnergyReport.from_counters(counters, mapping, net, spec=preset("sana_fe"))  # doctest: +SKIP
"""

from sparse_neuro.hardware_models.energy import (
    DENSE_PRESETS,
    DenseSpec,
    EnergyReport,
    dense_ops_per_step,
)
from sparse_neuro.hardware_models.event_queue import (
    COUNTERS,
    EventQueueSimulator,
    LoihiCounters,
    run_event_queue,
)
from sparse_neuro.hardware_models.fixed_point import (
    QuantizedNetwork,
    quantize,
    spike_count_agreement,
)
from sparse_neuro.hardware_models.loihi import PRESETS, LoihiSpec, load_spec, preset
from sparse_neuro.hardware_models.mapping import Mapping, MappingError, place
from sparse_neuro.hardware_models.multichip import (
    NetworkCounts,
    PopulationCount,
    ProjectionCount,
    SystemMapping,
    place_counts,
)
from sparse_neuro.hardware_models.timing import StepTimes, step_times

__all__ = [
    "COUNTERS",
    "DENSE_PRESETS",
    "DenseSpec",
    "EnergyReport",
    "EventQueueSimulator",
    "LoihiCounters",
    "LoihiSpec",
    "Mapping",
    "MappingError",
    "NetworkCounts",
    "PopulationCount",
    "ProjectionCount",
    "StepTimes",
    "SystemMapping",
    "PRESETS",
    "QuantizedNetwork",
    "dense_ops_per_step",
    "load_spec",
    "place",
    "place_counts",
    "preset",
    "quantize",
    "run_event_queue",
    "spike_count_agreement",
    "step_times",
]
