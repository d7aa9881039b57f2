"""Checks of a Brian2 snapshot
(:meth:`sparse_neuro.neuro.engines.backends.brian2_bridge.Brian2Simulator.state_dict`) before Brian2
restores it: its Cython target indexes with these values without bounds checks.

A snapshot is checked against the live model's own (same network, dt and target): the same
objects and variables, each array of the same dtype and (except the monitors' recorded
arrays) shape, floats not NaN; integer arrays equal to the live model's (the connectivity and
other constants) unless they change during a run, and then in range: spike spaces, clocks'
steps (equal for every clock), spike-queue offsets and synapse ids, monitor indices and
counts, the random-number buffers' positions. Each error is a ValueError naming the object,
the variable, the value and the valid range.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from sparse_neuro.neuro.engines.state_check import MAX_STEP, check_in_range

__all__ = ["check_brian2_state"]

# integer variables that change during a run (their range is checked instead of equality)
_DYNAMIC_INTS = {
    "_spikespace",
    "timestep",
    "count",
    "N",
    "i",
    "_lastindex",
    "_timebins",
    "rand_buffer_index",
    "randn_buffer_index",
    "numpy_state",
}


_WHAT = "brian2 state"  # how errors name a snapshot entry


def _fail(where: str, what: str) -> ValueError:
    return ValueError(f"brian2 state {where}: {what}")


def _is_monitor(obj: Mapping) -> bool:
    """Monitors record into arrays that grow with the run (``t``, ``N`` and values)."""
    return "t" in obj and "N" in obj and "timestep" not in obj


def _array(where: str, value: object, ref: np.ndarray, grows: bool) -> np.ndarray:
    """``value`` checked against the live array ``ref``: type, dtype, shape, no NaN."""
    if not isinstance(value, np.ndarray) or value.dtype != ref.dtype or value.ndim != ref.ndim:
        raise _fail(
            where,
            f"must be an array of {ref.dtype} with {ref.ndim} dimension(s), got "
            f"{getattr(value, 'dtype', type(value).__name__)} "
            f"{getattr(value, 'shape', '')}",
        )
    if value.shape[grows:] != ref.shape[grows:]:
        raise _fail(where, f"shape {value.shape}, expected {ref.shape}")
    if value.dtype.kind == "f" and np.any(np.isnan(value)):
        raise _fail(where, "must not be NaN")
    return value


def _variable(obj_name: str, var: str, value: object, ref: object, obj: Mapping) -> None:
    """One variable of an object: ``(array, size)`` as Brian2 stores it, checked."""
    where = f"{obj_name}.{var}"
    if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], np.ndarray):
        if not (isinstance(value, tuple) and len(value) == 2):
            raise _fail(where, f"must be a pair (values, size), got {type(value).__name__}")
        a = _array(where, value[0], ref[0], _is_monitor(obj))
        size = value[1]
        got = tuple(size) if isinstance(size, tuple) else (size,)
        if not all(isinstance(s, numbers.Integral) for s in got) or got != a.shape[: len(got)]:
            raise _fail(where, f"size {size!r} disagrees with the values' shape {a.shape}")
        _constant(where, var, a, ref[0])
        return
    if isinstance(ref, np.ndarray):
        _constant(where, var, _array(where, value, ref, False), ref)
        return
    if var == "_spikequeue":
        _spike_queue(where, value, ref, obj)
        return
    if isinstance(ref, (bool, np.bool_)):
        if not isinstance(value, (bool, np.bool_)):
            raise _fail(where, f"must be True or False, got {value!r}")
        return
    if ref is None or isinstance(ref, (numbers.Real, np.generic)):  # None until a first run
        ok = value is None or (
            isinstance(value, (numbers.Real, np.generic))
            and not isinstance(value, (bool, np.bool_))
            and bool(np.isfinite(value))
        )
        if not ok:
            raise _fail(where, f"must be None or a finite number, got {value!r}")
        return
    if type(value) is not type(ref):
        raise _fail(where, f"must be a {type(ref).__name__}, got {type(value).__name__}")


def _constant(where: str, var: str, a: np.ndarray, ref: np.ndarray) -> None:
    """Integer arrays that do not change during a run must be the live model's."""
    if a.dtype.kind in "iu" and var not in _DYNAMIC_INTS and not np.array_equal(a, ref):
        if var in ("rand_buffer", "randn_buffer"):  # Brian2 stores a raw pointer there
            raise _fail(
                where,
                f"is the address of Brian2's Cython random-number buffer, "
                f"{int(ref[0])} in this process, got {int(a[0])}: a snapshot "
                "restores only the buffer it was taken with",
            )
        raise _fail(where, "differs from this network's (a constant of its structure)")


def _buffer_size() -> int:
    """Numbers in Brian2's Cython random-number buffers (their index runs below it)."""
    try:
        from brian2.codegen.generators.cython_generator import _BUFFER_SIZE
    except ImportError:  # its value in Brian2 2.x
        return 20000
    return int(_BUFFER_SIZE)


def _spike_queue(where: str, value: object, ref: tuple, obj: Mapping) -> None:
    """``(offset, slots)``: the offset within the slots (at least one: Brian2 takes positions
    modulo their number), each slot a list of synapse ids. A queue not run yet has one slot,
    so the number is not the live model's."""
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], list)
        and len(value[1]) >= 1
        and all(isinstance(s, list) for s in value[1])
    ):
        raise _fail(where, "must be (offset, a list of >= 1 lists of synapse ids)")
    n_slots = len(value[1])
    if not isinstance(value[0], numbers.Integral) or not 0 <= value[0] < n_slots:
        raise _fail(where, f"offset {value[0]!r} is outside the valid range [0, {n_slots})")
    n_syn = obj["__n_synapses__"]
    for slot in value[1]:
        ids = np.asarray(slot)
        if ids.size and (ids.dtype.kind not in "iu" or ids.min() < 0 or ids.max() >= n_syn):
            raise _fail(where, f"synapse ids must be integers in [0, {n_syn}), got {slot!r}"[:300])


def _ranges(name: str, obj: Mapping) -> None:
    """Ranges of the integer variables that change during a run."""

    def get(var: str) -> np.ndarray | None:
        v = obj.get(var)
        return v[0] if isinstance(v, tuple) and isinstance(v[0], np.ndarray) else None

    sp = get("_spikespace")
    if sp is not None:
        check_in_range(f"{name}._spikespace", sp, -1, sp.size - 1, what=_WHAT)
    step = get("timestep")
    if step is not None:
        check_in_range(f"{name}.timestep", step, 0, MAX_STEP, what=_WHAT)
    if _is_monitor(obj):
        n_t = get("t").shape[0]
        if get("N") is not None and not np.all(get("N") == n_t):
            raise _fail(f"{name}.N", f"{get('N')} must be the number of records {n_t}")
        if get("count") is not None:
            check_in_range(f"{name}.count", get("count"), 0, n_t, what=_WHAT)
            if get("i") is not None:
                check_in_range(f"{name}.i", get("i"), 0, get("count").size - 1, what=_WHAT)
    for var in ("rand_buffer_index", "randn_buffer_index"):
        if isinstance(obj.get(var), np.ndarray):
            check_in_range(f"{name}.{var}", obj[var], 0, _buffer_size() - 1, what=_WHAT)
    last, times = get("_lastindex"), get("spike_time")
    if last is not None and times is not None:
        check_in_range(f"{name}._lastindex", last, 0, times.size, what=_WHAT)


def check_brian2_state(state: object, live: Mapping, wall_s: object) -> float:
    """Raise ValueError unless ``state`` (the ``brian2_state`` of a state dict) fits the live
    model's snapshot ``live`` (see module docstring); returns ``wall_s`` (the wall-clock
    seconds so far) if it is a finite number >= 0."""
    if (
        isinstance(wall_s, bool)
        or not isinstance(wall_s, numbers.Real)
        or not (np.isfinite(wall_s) and wall_s >= 0)
    ):
        raise ValueError(f"state 'wall_s' must be a finite number of seconds >= 0, got {wall_s!r}")
    if not isinstance(state, Mapping) or set(state) != set(live):
        extra = sorted(set(state) - set(live), key=str) if isinstance(state, Mapping) else []
        missing = sorted(set(live) - set(state), key=str) if isinstance(state, Mapping) else []
        raise ValueError(
            f"brian2_state must hold exactly this model's objects; missing "
            f"{missing}, unknown {extra}"
        )
    steps = set()
    for name, ref in live.items():
        obj = state[name]
        if not isinstance(ref, Mapping):  # the network time: a number
            if not isinstance(obj, float) or not np.isfinite(obj) or obj < 0:
                raise _fail(str(name), f"must be a finite time >= 0 s, got {obj!r}")
            continue
        if not isinstance(obj, Mapping) or set(obj) != set(ref):
            raise _fail(str(name), f"must hold the variables {sorted(ref)}")
        n_syn = _synapse_count(live, name)
        for var, r in ref.items():
            _variable(name, var, obj[var], r, {**obj, "__n_synapses__": n_syn})
        _ranges(name, obj)
        if "timestep" in obj:
            # clocks of one dt advance together (a monitor sampling every k steps has a
            # clock of its own, k dt, which counts fewer steps)
            dt = float(obj["dt"][0][0]) if "dt" in obj else None
            steps.add((dt, int(obj["timestep"][0][0])))
    dts = [dt for dt, _ in steps]
    if len(dts) != len(set(dts)):
        raise ValueError(
            f"brian2 state: clocks of the same dt have different timestep values "
            f"{sorted(steps, key=str)}; they advance together"
        )
    return float(wall_s)


def _synapse_count(live: Mapping, name: str) -> int:
    """Synapses of the Synapses object a spike queue (``<synapses>_pre``) belongs to."""
    owner = live.get(name.rsplit("_", 1)[0]) if name.endswith(("_pre", "_post")) else None
    n = owner.get("N") if isinstance(owner, Mapping) else None
    return int(n[0][0]) if isinstance(n, tuple) else 0
