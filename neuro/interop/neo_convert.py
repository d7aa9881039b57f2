"""Recordings to and from Neo (``neo.Block``), so Elephant and Viziphant work on them directly.

Mapping (one ``neo.Segment`` per recording; HDF5 via :mod:`sparse_neuro.neuro.storage.hdf5` stays
the native format):

* each population's :class:`~sparse_neuro.neuro.model.record.SpikeTrains` -> one ``neo.SpikeTrain``
  per neuron (seconds, ``t_start = 0``, ``t_stop = duration_s``), annotated ``population``,
  ``index`` and ``population_size``; neurons that never fired get an empty train, so per-neuron
  statistics (rates, CV) see every neuron;
* each :class:`~sparse_neuro.neuro.model.record.StateTrace` -> a ``neo.IrregularlySampledSignal``
  named ``"population.variable"`` (dimensionless: our membrane units are not always volts),
  annotated with the recorded neuron ``indices``;
* each population rate -> a ``neo.AnalogSignal`` in Hz with ``sampling_period = dt_s``;
* ``dt_s``, ``duration_s`` and ``meta`` -> block annotations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sparse_neuro.neuro.model.record import Recording, SpikeTrains, StateTrace

__all__ = ["to_neo", "from_neo"]


def to_neo(recording: Recording) -> Any:
    """Convert a :class:`Recording` to a ``neo.Block`` (see the module docstring).

    Examples
    --------
    >>> from sparse_neuro.neuro.model.record import Recording, SpikeTrains
    >>> rec = Recording({"exc": SpikeTrains([0.01, 0.02], [0, 1], 3, 0.1)}, {}, {}, 1e-3, 0.1)
    >>> [len(st) for st in to_neo(rec).segments[0].spiketrains]
    [1, 1, 0]
    """
    import neo
    import quantities as pq

    if not isinstance(recording, Recording):
        raise TypeError(
            f"recording must be a sparse_neuro.neuro.model.record.Recording, got {type(recording).__name__}"
        )
    meta = {k: v for k, v in recording.meta.items() if isinstance(v, (str, int, float, bool))}
    block = neo.Block(
        name="neuro recording",
        dt_s=float(recording.dt_s),
        duration_s=float(recording.duration_s),
        **meta,
    )
    seg = neo.Segment(name="run")
    block.segments.append(seg)
    for name, st in recording.spikes.items():
        for i, times in enumerate(st.trains()):
            seg.spiketrains.append(
                neo.SpikeTrain(
                    np.sort(times) * pq.s,
                    t_start=0.0 * pq.s,
                    t_stop=st.duration_s * pq.s,
                    name=f"{name}[{i}]",
                    population=name,
                    index=i,
                    population_size=int(st.size),
                )
            )
    for key, tr in recording.states.items():
        seg.irregularlysampledsignals.append(
            neo.IrregularlySampledSignal(
                np.asarray(tr.times_s) * pq.s,
                np.asarray(tr.values),
                units=pq.dimensionless,
                name=key,
                indices=np.asarray(tr.indices).tolist(),
            )
        )
    for name, rate in recording.rates.items():
        seg.analogsignals.append(
            neo.AnalogSignal(
                np.asarray(rate)[:, None] * pq.Hz, sampling_period=recording.dt_s * pq.s, name=name
            )
        )
    return block


def from_neo(block: Any) -> Recording:
    """Convert a ``neo.Block`` (one segment) back to a :class:`Recording`.

    Spike trains are grouped by their ``population`` annotation (trains without one become
    the population ``"spikes"``, numbered in order); a population's size is its
    ``population_size`` annotation or its number of trains. Times are converted to seconds.
    """
    import neo
    import quantities as pq

    if not isinstance(block, neo.Block):
        raise TypeError(f"block must be a neo.Block, got {type(block).__name__}")
    if len(block.segments) != 1:
        raise ValueError(f"block must have exactly one segment, got {len(block.segments)}")
    seg = block.segments[0]
    ann = block.annotations
    groups: dict[str, dict[str, Any]] = {}
    for _k, st in enumerate(seg.spiketrains):
        a = st.annotations
        name = a.get("population", "spikes")
        g = groups.setdefault(
            name, {"t": [], "i": [], "n": 0, "size": a.get("population_size"), "stop": 0.0}
        )
        idx = int(a.get("index", g["n"]))
        times = st.times.rescale(pq.s).magnitude
        g["t"].append(times)
        g["i"].append(np.full(times.size, idx, dtype=np.int32))
        g["n"] = max(g["n"], idx + 1)
        g["stop"] = max(g["stop"], float(st.t_stop.rescale(pq.s)))
    duration = float(ann.get("duration_s", max((g["stop"] for g in groups.values()), default=0.0)))
    spikes = {
        name: SpikeTrains(
            np.concatenate(g["t"]), np.concatenate(g["i"]), int(g["size"] or g["n"]), duration
        )
        for name, g in groups.items()
    }
    states = {
        sig.name: StateTrace(
            sig.times.rescale(pq.s).magnitude,
            np.asarray(sig.annotations["indices"]),
            np.asarray(sig.magnitude),
        )
        for sig in seg.irregularlysampledsignals
    }
    rates = {sig.name: np.asarray(sig.rescale(pq.Hz).magnitude)[:, 0] for sig in seg.analogsignals}
    dt = float(ann.get("dt_s", math.nan))
    meta = {k: v for k, v in ann.items() if k not in ("dt_s", "duration_s")}
    return Recording(spikes, states, rates, dt, duration, meta)
