"""HDF5 files (h5py): networks, recordings and experiment results, versioned and atomic.

Every file carries two root attributes: ``format`` (``"neuro-network"``,
``"neuro-recording"`` or ``"neuro-results"``) and ``schema_version`` (an integer,
:data:`SCHEMA_VERSION`). Writers build the file under a temporary name in the destination
directory, ``fsync`` it and ``os.replace`` it into place, so a crash never leaves a
half-written file behind. Readers raise :class:`FormatError` naming the file and what is
wrong for a truncated or corrupt file, a foreign HDF5 file, a file of another kind or a
newer schema version.

Layout of a network file (schema 1)::

    /populations/<name>      attrs: size, kwta_k?, kwta_losers, LIFParams fields,
                             adaptation.json? (class path + fields); v_init
    /sources/<name>          attrs: kind ("poisson" | "spike_array"), size;
                             rate_hz | times_s, indices
    /projections/<k>         attrs: source, target, receptor, n_post, plasticity? (JSON);
                             indptr, indices, weights, delays (dtypes preserved)
    /currents/<k>            attrs: target, start_s, stop_s; amplitude
    /monitors/<k>            attrs: kind ("spike" | "state" | "rate"), target,
                             variable, every_steps; indices
    (group order is kept in the ``order`` attribute of each container group)

Layout of a recording file::

    /spikes/<name>           attrs: size, duration_s; times_s, indices
    /states/<pop.var>        times_s, indices, values
    /rates/<name>            rate per step (Hz)
    root attrs: dt_s, duration_s, meta (JSON)
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neuro.inputs import CurrentInjection, PoissonSource, SpikeArraySource
from neuro.lif import LIFParams
from neuro.network import Network, Population, Projection
from neuro.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
)
from neuro.synapses import SparseSynapses

__all__ = [
    "SCHEMA_VERSION",
    "FormatError",
    "atomic_h5",
    "write_arrays",
    "read_arrays",
    "save_network",
    "load_network",
    "save_recording",
    "load_recording",
]

#: Schema version written by this module; files with a larger version are refused.
SCHEMA_VERSION = 1

_NETWORK = "neuro-network"
_RECORDING = "neuro-recording"
_RESULTS = "neuro-results"


class FormatError(ValueError):
    """A file is not a valid neuro HDF5 file of the expected kind (message names the file)."""


# --------------------------------------------------------------------------- atomic writing
def _fsync_path(path: str | os.PathLike, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # directories cannot be opened on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike, copy_existing: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success fsync it and rename it to ``path``."""
    dest = Path(path)
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"{dest}: directory {dest.parent} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if copy_existing and dest.exists():
            shutil.copyfile(dest, tmp)
        else:
            tmp.unlink()
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, dest)
        _fsync_path(dest.parent, directory=True)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def _stamp(f: h5py.File, kind: str) -> None:
    f.attrs["format"] = kind
    f.attrs["schema_version"] = SCHEMA_VERSION


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, kind: str = _RESULTS) -> Iterator[h5py.File]:
    """Open a new HDF5 file for writing that appears at ``path`` only when the block succeeds.

    The file is written under a temporary name in the same directory, closed, fsynced and
    renamed over ``path`` (``os.replace``, atomic on POSIX). If the block raises, ``path``
    is left untouched and the temporary file is removed.

    Parameters
    ----------
    path : str or Path
        Destination; its directory must exist.
    kind : str
        Value of the root ``format`` attribute (``"neuro-results"`` by default).

    Yields
    ------
    h5py.File
        Open in write mode, already stamped with ``format`` and ``schema_version``.

    Examples
    --------
    >>> with atomic_h5(tmp_path / "out.h5") as f:      # doctest: +SKIP
    ...     f["x"] = np.arange(3)
    """
    with _atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            _stamp(f, kind)
            yield f


def _open_checked(path: str | os.PathLike, kind: str, mode: str = "r") -> h5py.File:
    """Open ``path`` and verify format and schema version, else raise FormatError."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        f = h5py.File(p, mode)
    except OSError as e:
        raise FormatError(f"{p}: not a readable HDF5 file (truncated or corrupt?): {e}") from e
    try:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt is None:
            raise FormatError(
                f"{p}: not a neuro file (HDF5 without a 'format' attribute; expected {kind!r})"
            )
        if fmt != kind:
            raise FormatError(f"{p}: is a {fmt!r} file, expected {kind!r}")
        ver = f.attrs.get("schema_version")
        if ver is None or int(ver) != ver:
            raise FormatError(f"{p}: missing or invalid 'schema_version' attribute ({ver!r})")
        if int(ver) > SCHEMA_VERSION:
            raise FormatError(
                f"{p}: schema version {int(ver)} is newer than this version of neuro supports "
                f"({SCHEMA_VERSION}); upgrade neuro to read it"
            )
        if int(ver) < 1:
            raise FormatError(f"{p}: invalid schema version {int(ver)} (must be >= 1)")
    except BaseException:
        f.close()
        raise
    return f


@contextlib.contextmanager
def _reading(path: str | os.PathLike, kind: str) -> Iterator[h5py.File]:
    """Open for reading; any missing or damaged content becomes a FormatError naming the file."""
    f = _open_checked(path, kind)
    try:
        yield f
    except FormatError:
        raise
    except (KeyError, OSError, ValueError, TypeError, RuntimeError) as e:
        raise FormatError(f"{Path(path)}: damaged or incomplete {kind} file: {e}") from e
    finally:
        f.close()


# --------------------------------------------------------------------------- generic arrays
def _as_h5_array(name: str, value: Any) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind == "U":
        return a.astype(h5py.string_dtype())
    if a.dtype.kind == "O":
        raise TypeError(f"array {name!r}: object arrays cannot be stored in HDF5; got dtype=object")
    return a


def _attr_value(v: Any) -> Any:
    if isinstance(v, (str, bool, int, float, np.generic, np.ndarray)):
        return v
    if isinstance(v, (list, tuple)):
        return np.asarray(v)
    return json.dumps(v)


def write_arrays(
    path: str | os.PathLike,
    group: str,
    arrays: Mapping[str, Any],
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Add (or replace) datasets in ``group`` of a results file, atomically.

    The existing file (if any) is copied to a temporary file, modified and renamed over
    ``path``, so readers never see a partial write.

    Parameters
    ----------
    path : str or Path
        A ``"neuro-results"`` HDF5 file; created if missing.
    group : str
        Group path inside the file, e.g. ``"train/epoch_3"`` (created as needed; ``""`` or
        ``"/"`` is the root).
    arrays : mapping of str to array-like
        Datasets to write; an existing dataset of the same name is replaced.
    attrs : mapping, optional
        Attributes set on the group (numbers, strings, sequences; other values as JSON).

    Raises
    ------
    FormatError
        If ``path`` exists but is not a neuro results file (or is newer / damaged).
    """
    p = Path(path)
    if not isinstance(group, str):
        raise TypeError(f"group must be a str, got {type(group).__name__}")
    data = {str(k): _as_h5_array(str(k), v) for k, v in arrays.items()}
    for k in data:
        if not k or "/" in k:
            raise ValueError(f"array names must be non-empty and contain no '/', got {k!r}")
    if p.exists():
        _open_checked(p, _RESULTS).close()
    with _atomic_path(p, copy_existing=True) as tmp:
        with h5py.File(tmp, "a") as f:
            if "format" not in f.attrs:
                _stamp(f, _RESULTS)
            g = f.require_group(group.strip("/")) if group.strip("/") else f
            for k, a in data.items():
                if k in g:
                    del g[k]
                g.create_dataset(k, data=a)
            for k, v in (attrs or {}).items():
                g.attrs[k] = _attr_value(v)


def read_arrays(path: str | os.PathLike, group: str = "/") -> dict[str, np.ndarray]:
    """All datasets directly inside ``group`` of a results file, as numpy arrays."""
    with _reading(path, _RESULTS) as f:
        g = f[group] if group.strip("/") else f
        out = {}
        for k, d in g.items():
            if isinstance(d, h5py.Dataset):
                a = d[()]
                if d.dtype.kind == "O":
                    a = d.asstr()[()]
                out[k] = np.asarray(a)
        return out


# --------------------------------------------------------------------------- networks
def _write_dataclass_attrs(g: h5py.Group, obj: Any, skip: tuple[str, ...] = ()) -> None:
    for fld in dataclasses.fields(obj):
        if fld.name in skip:
            continue
        v = getattr(obj, fld.name)
        if v is None:
            continue
        if dataclasses.is_dataclass(v):  # e.g. Population.adaptation: class path + fields
            g.attrs[fld.name + _JSON_SUFFIX] = _dataclass_json(v)
        else:
            g.attrs[fld.name] = np.asarray(v, dtype=np.float64) if isinstance(v, tuple) else v


def _py(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return tuple(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode()
    return v


def _read_dataclass(cls: type, g: h5py.Group, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)} - set(skip)
    out = {k: _py(v) for k, v in g.attrs.items() if k in names}
    for k, v in g.attrs.items():
        base = k[: -len(_JSON_SUFFIX)]
        if k.endswith(_JSON_SUFFIX) and base in names:
            out[base] = _dataclass_from(_py(v))
    return out


_JSON_SUFFIX = ".json"


def _dataclass_json(obj: Any) -> str:
    """A frozen-dataclass parameter object as JSON: its class path and its fields."""
    cls = type(obj)
    if not dataclasses.is_dataclass(obj):
        raise ValueError(
            f"cannot save an object of type {cls.__name__}: only dataclass parameter objects "
            "(e.g. neuro.plasticity rules) with JSON-serialisable fields are stored"
        )
    spec = {"class": f"{cls.__module__}:{cls.__qualname__}", "fields": dataclasses.asdict(obj)}
    try:
        return json.dumps(spec)
    except TypeError as e:
        raise ValueError(f"{cls.__name__} has fields that are not JSON-serialisable: {e}") from e


def _dataclass_from(text: str) -> Any:
    spec = json.loads(text)
    module, _, qual = spec["class"].partition(":")
    if not module.startswith("neuro.") and module.split(".")[0] not in (
        "learning", "hardware_models", "encoders"
    ):
        raise ValueError(f"refusing to import {spec['class']!r}: not a class of this toolkit")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["fields"].items()}
    return obj(**fields)


def _ordered(g: h5py.Group) -> list[str]:
    order = g.attrs.get("order")
    return [_py(x) for x in order] if order is not None else sorted(g.keys(), key=_natural)


def _natural(k: str) -> tuple[int, str]:
    return (int(k), "") if k.isdigit() else (1 << 62, k)


def _set_order(g: h5py.Group, names: list[str]) -> None:
    g.attrs["order"] = np.asarray(names, dtype=h5py.string_dtype()) if names else np.zeros(0, "S1")


def save_network(path: str | os.PathLike, net: Network) -> None:
    """Save a network (parameters, sources, CSR synapses with delays, monitors) atomically.

    Parameters
    ----------
    path : str or Path
        Destination HDF5 file (replaced if it exists).
    net : Network
        Plasticity rules are saved only if they are dataclasses with JSON-serialisable
        fields (class path + fields); otherwise ValueError.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network, got {type(net).__name__}")
    with atomic_h5(path, _NETWORK) as f:
        pops = f.create_group("populations")
        _set_order(pops, [p.name for p in net.populations])
        for pop in net.populations:
            g = pops.create_group(pop.name)
            g.attrs["size"] = int(pop.size)
            _write_dataclass_attrs(g, pop.params)
            _write_dataclass_attrs(g, pop, skip=("name", "size", "params", "v_init"))
            g.create_dataset("v_init", data=pop.v_init)
        srcs = f.create_group("sources")
        _set_order(srcs, [s.name for s in net.sources])
        for s in net.sources:
            g = srcs.create_group(s.name)
            g.attrs["size"] = int(s.size)
            if isinstance(s, PoissonSource):
                g.attrs["kind"] = "poisson"
                g.create_dataset("rate_hz", data=s.rate_hz)
            else:
                g.attrs["kind"] = "spike_array"
                g.create_dataset("times_s", data=s.times_s)
                g.create_dataset("indices", data=s.indices)
        prj = f.create_group("projections")
        for k, pr in enumerate(net.projections):
            g = prj.create_group(str(k))
            g.attrs.update(source=pr.source, target=pr.target, receptor=int(pr.receptor))
            g.attrs["n_post"] = int(pr.synapses.n_post)
            if pr.plasticity is not None:
                g.attrs["plasticity"] = _dataclass_json(pr.plasticity)
            for name in ("indptr", "indices", "weights", "delays"):
                g.create_dataset(name, data=getattr(pr.synapses, name))
        cur = f.create_group("currents")
        for k, c in enumerate(net.currents):
            g = cur.create_group(str(k))
            g.attrs.update(target=c.target, start_s=float(c.start_s), stop_s=float(c.stop_s))
            g.create_dataset("amplitude", data=c.amplitude)
        mon = f.create_group("monitors")
        for k, m in enumerate(net.monitors):
            g = mon.create_group(str(k))
            g.attrs["target"] = m.target
            if isinstance(m, StateMonitor):
                g.attrs.update(kind="state", variable=m.variable, every_steps=int(m.every_steps))
                g.create_dataset("indices", data=m.indices)
            else:
                g.attrs["kind"] = "spike" if isinstance(m, SpikeMonitor) else "rate"


def _load_population(name: str, g: h5py.Group) -> Population:
    params = LIFParams(**_read_dataclass(LIFParams, g))
    extra = _read_dataclass(Population, g, skip=("name", "size", "params", "v_init"))
    return Population(name, int(g.attrs["size"]), params, v_init=g["v_init"][()], **extra)


def _load_source(name: str, g: h5py.Group) -> PoissonSource | SpikeArraySource:
    kind = _py(g.attrs["kind"])
    size = int(g.attrs["size"])
    if kind == "poisson":
        return PoissonSource(name, size, g["rate_hz"][()])
    if kind == "spike_array":
        return SpikeArraySource(name, size, g["times_s"][()], g["indices"][()])
    raise ValueError(f"source {name!r} has unknown kind {kind!r} (expected 'poisson' or 'spike_array')")


def _load_projection(g: h5py.Group) -> Projection:
    syn = SparseSynapses(
        g["indptr"][()], g["indices"][()], g["weights"][()], g["delays"][()], int(g.attrs["n_post"])
    )
    plast = g.attrs.get("plasticity")
    return Projection(
        _py(g.attrs["source"]), _py(g.attrs["target"]), syn, receptor=int(g.attrs["receptor"]),
        plasticity=None if plast is None else _dataclass_from(_py(plast)),
    )


def _load_monitor(g: h5py.Group) -> SpikeMonitor | StateMonitor | RateMonitor:
    kind, target = _py(g.attrs["kind"]), _py(g.attrs["target"])
    if kind == "spike":
        return SpikeMonitor(target)
    if kind == "rate":
        return RateMonitor(target)
    if kind == "state":
        return StateMonitor(target, _py(g.attrs["variable"]), g["indices"][()],
                            int(g.attrs["every_steps"]))
    raise ValueError(f"monitor of unknown kind {kind!r} (expected 'spike', 'state' or 'rate')")


def load_network(path: str | os.PathLike) -> Network:
    """Load a network written by :func:`save_network`.

    Raises
    ------
    FormatError
        Truncated/corrupt file, foreign file, wrong kind, newer schema, or missing data
        (the message names the file and the problem).
    """
    with _reading(path, _NETWORK) as f:
        pops = [_load_population(n, f["populations"][n]) for n in _ordered(f["populations"])]
        srcs = [_load_source(n, f["sources"][n]) for n in _ordered(f["sources"])]
        projs = [_load_projection(f["projections"][k]) for k in _ordered(f["projections"])]
        curs = [
            CurrentInjection(_py(g.attrs["target"]), g["amplitude"][()],
                             float(g.attrs["start_s"]), float(g.attrs["stop_s"]))
            for g in (f["currents"][k] for k in _ordered(f["currents"]))
        ]
        mons = [_load_monitor(f["monitors"][k]) for k in _ordered(f["monitors"])]
        return Network(pops, projs, srcs, curs, mons)


# --------------------------------------------------------------------------- recordings
def _json_default(o: Any) -> Any:
    """numpy scalars and arrays in ``meta`` are stored as plain JSON numbers and lists."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"object of type {type(o).__name__} is not JSON-serialisable")


def save_recording(path: str | os.PathLike, rec: Recording) -> None:
    """Save a :class:`Recording` (sparse spikes, sampled states, rates, meta) atomically.

    ``rec.meta`` must be JSON-serialisable (numbers, strings, lists, dicts; numpy
    scalars and arrays are converted to numbers and lists).
    """
    if not isinstance(rec, Recording):
        raise TypeError(f"rec must be a Recording, got {type(rec).__name__}")
    try:
        meta = json.dumps(rec.meta, default=_json_default)
    except TypeError as e:
        raise ValueError(f"rec.meta must be JSON-serialisable: {e}") from e
    with atomic_h5(path, _RECORDING) as f:
        f.attrs["dt_s"] = float(rec.dt_s)
        f.attrs["duration_s"] = float(rec.duration_s)
        f.attrs["meta"] = meta
        sp = f.create_group("spikes")
        _set_order(sp, list(rec.spikes))
        for name, st in rec.spikes.items():
            g = sp.create_group(name)
            g.attrs["size"] = int(st.size)
            g.attrs["duration_s"] = float(st.duration_s)
            g.create_dataset("times_s", data=st.times_s)
            g.create_dataset("indices", data=st.indices)
        stg = f.create_group("states")
        _set_order(stg, list(rec.states))
        for key, tr in rec.states.items():
            g = stg.create_group(key)
            for name in ("times_s", "indices", "values"):
                g.create_dataset(name, data=np.asarray(getattr(tr, name)))
        rg = f.create_group("rates")
        _set_order(rg, list(rec.rates))
        for name, r in rec.rates.items():
            rg.create_dataset(name, data=np.asarray(r))


def load_recording(path: str | os.PathLike) -> Recording:
    """Load a recording written by :func:`save_recording` (FormatError on a bad file)."""
    with _reading(path, _RECORDING) as f:
        spikes = {}
        for n in _ordered(f["spikes"]):
            g = f["spikes"][n]
            spikes[n] = SpikeTrains(g["times_s"][()], g["indices"][()], int(g.attrs["size"]),
                                    float(g.attrs["duration_s"]))
        states = {}
        for k in _ordered(f["states"]):
            g = f["states"][k]
            states[k] = StateTrace(g["times_s"][()], g["indices"][()], g["values"][()])
        rates = {n: f["rates"][n][()] for n in _ordered(f["rates"])}
        dt = float(f.attrs["dt_s"])
        dur = float(f.attrs["duration_s"])
        meta = json.loads(_py(f.attrs["meta"]))
        if not (math.isnan(dt) or dt > 0) or not dur >= 0:
            raise ValueError(f"invalid dt_s={dt} or duration_s={dur}")
        return Recording(spikes, states, rates, dt, dur, meta)
