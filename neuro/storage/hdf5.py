"""HDF5 files (h5py): networks, recordings and experiment results, versioned and atomic.

Every file carries root attributes ``format`` (``"neuro-network"``, ``"neuro-recording"``
or ``"neuro-results"``), ``schema_version`` (an integer, :data:`SCHEMA_VERSION`), and, for
networks and recordings, a ``manifest`` (every group, dataset and attribute the file must
contain) and a ``checksum`` (SHA-256 of every dataset and attribute, see
:mod:`sparse_neuro.neuro.storage.integrity`). Writers use
:func:`sparse_neuro.neuro.storage.atomic.atomic_path`, so a crash never leaves a half-written file.
Readers open through :func:`sparse_neuro.neuro.storage.safe_read.open_h5`: regular files only (a
symlink or FIFO is refused, never waited on), no soft or external links, no virtual or external
storage, no dataset declaring more bytes than the file holds, all checked before any data is read.
They then verify the manifest and the checksum, require every attribute of the schema (a missing or
unknown attribute is a :class:`FormatError` naming it), check the type of every value (an integer
field does not accept 2.9 or ``'3'``), and raise only :class:`FormatError` (or ``FileNotFoundError``
/ ``PermissionError`` for the path itself) on bad input. Parameter objects (plasticity rules,
adaptation) are rebuilt from an explicit registry of this toolkit's classes
(:data:`sparse_neuro.neuro.storage.integrity.PARAMETER_CLASSES`); no file can import or run code.
Files of schema 1 (no checksum) are refused with a message naming the version. Schema 3 stores every
optional field, ``None`` as an empty attribute (``h5py.Empty``); in schema 2 files an absent
optional field meant ``None``.

Layout of a network file (schema 3)::

    /populations/<name>      attrs: size, kwta_k?, kwta_losers, LIFParams fields,
                             adaptation.json? (registry name + fields); v_init
    /sources/<name>          attrs: kind ("poisson" | "spike_array"), size;
                             rate_hz | times_s, indices
    /projections/<k>         attrs: source, target, receptor, n_post, dt_s?, plasticity? (JSON);
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
import json
import math
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sparse_neuro.neuro.model.inputs import CurrentInjection, PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
)
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.storage.atomic import atomic_path
from sparse_neuro.neuro.storage.h5schema import JSON_SUFFIX as _JSON_SUFFIX
from sparse_neuro.neuro.storage.h5schema import (
    attr_float,
    attr_int,
    attr_str,
    check_members,
    read_fields,
)
from sparse_neuro.neuro.storage.integrity import (
    FormatError,
    param_from_json,
    param_to_json,
    stamp_integrity,
    verify_integrity,
)
from sparse_neuro.neuro.storage.provenance import provenance_json
from sparse_neuro.neuro.storage.safe_read import open_binary, open_h5

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

#: Schema version written by this module; newer files are refused, and so are files of
#: schema 1 (no checksum or manifest). Schema 2 omitted optional fields that were None.
SCHEMA_VERSION = 3
_OLDEST_READ = 2

_NETWORK = "neuro-network"
_RECORDING = "neuro-recording"
_RESULTS = "neuro-results"


# --------------------------------------------------------------------------- atomic writing
@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike, copy_existing: bool = False) -> Iterator[Path]:
    """:func:`sparse_neuro.neuro.storage.atomic.atomic_path`, optionally starting from a copy of the
    existing file."""
    dest = Path(path)
    with atomic_path(dest) as tmp:
        if copy_existing and dest.exists():
            with open_binary(dest, "results file") as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
        yield tmp


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
            stamp_integrity(f)


def _check_kind(f: h5py.File, p: Path, kind: str) -> int:
    """Verify the ``format`` and ``schema_version`` attributes; the schema version."""
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
    a = np.asarray(ver)
    if ver is None or a.shape != () or a.dtype.kind not in "iu":
        raise FormatError(
            f"{p}: missing or invalid 'schema_version' attribute ({ver!r}; expected an integer)"
        )
    if int(a) > SCHEMA_VERSION:
        raise FormatError(
            f"{p}: schema version {int(a)} is newer than this version of neuro supports "
            f"({SCHEMA_VERSION}); upgrade neuro to read it"
        )
    if int(a) < _OLDEST_READ:
        raise FormatError(
            f"{p}: schema version {int(a)} has no checksum or manifest and is no longer "
            f"read (this version reads schema {_OLDEST_READ} to {SCHEMA_VERSION}); "
            "re-create the file"
        )
    return int(a)


@contextlib.contextmanager
def _reading(path: str | os.PathLike, kind: str) -> Iterator[h5py.File]:
    """Open safely (:func:`sparse_neuro.neuro.storage.safe_read.open_h5`), verify kind, manifest and
    checksum; any missing, damaged or invalid content (whatever exception h5py or a constructor
    raises) becomes a FormatError."""
    p = Path(path)
    try:
        with open_h5(p, f"{kind} file") as f:
            _check_kind(f, p, kind)
            verify_integrity(f, str(p))
            yield f
    except (FormatError, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as e:
        raise FormatError(f"{p}: damaged or invalid {kind} file: {type(e).__name__}: {e}") from None


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
        The file's root attribute ``provenance`` (JSON,
        :func:`sparse_neuro.neuro.storage.provenance.provenance`) records what wrote it.

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
        with _reading(p, _RESULTS):
            pass
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
            # what wrote the file (the last writer: a file extended by a resumed run says so)
            f.attrs["provenance"] = provenance_json()
            stamp_integrity(f)


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
    """Every field as an attribute: ``None`` as an empty attribute (so that a deleted
    attribute is an error, not ``None``), parameter objects as ``<field>.json``."""
    for fld in dataclasses.fields(obj):
        if fld.name in skip:
            continue
        v = getattr(obj, fld.name)
        if v is None:
            g.attrs[fld.name] = _NONE
        elif dataclasses.is_dataclass(v):  # e.g. Population.adaptation: registry name + fields
            g.attrs[fld.name + _JSON_SUFFIX] = param_to_json(v)
        else:
            g.attrs[fld.name] = np.asarray(v, dtype=np.float64) if isinstance(v, tuple) else v


#: How ``None`` is stored (schema 3): an attribute without data.
_NONE = h5py.Empty("f8")


def _py(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return tuple(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode()
    return v


def _ordered(g: h5py.Group) -> list[str]:
    """Member names in stored order; the ``order`` attribute (if any) must list every member."""
    check_members(g, (), ("order",))
    if "order" not in g.attrs:
        return sorted(g.keys(), key=_natural)
    order = g.attrs["order"]
    a = np.asarray(order)
    names = [_py(x) for x in a] if a.ndim == 1 else None
    if names is None or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise FormatError(
            f"{g.name} attribute order: expected a list of distinct names, got {order!r}"
        )
    if set(names) != set(g.keys()):
        raise FormatError(
            f"{g.name}: attribute order lists {sorted(names)}, but the members "
            f"are {sorted(g.keys())}"
        )
    return names


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
            dt = pr.synapses.dt_s
            g.attrs["dt_s"] = _NONE if dt is None else float(dt)
            plast = pr.plasticity
            g.attrs["plasticity"] = _NONE if plast is None else param_to_json(plast)
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


def _load_population(name: str, g: h5py.Group, legacy: bool) -> Population:
    params, used = read_fields(LIFParams, g)
    extra, used_p = read_fields(
        Population, g, skip=("name", "size", "params", "v_init"), absent_is_none=legacy
    )
    check_members(g, {"size"} | used | used_p, members={"v_init"})
    return Population(
        name, attr_int(g, "size"), LIFParams(**params), v_init=_array(g, "v_init", "f"), **extra
    )


def _load_source(name: str, g: h5py.Group) -> PoissonSource | SpikeArraySource:
    kind = attr_str(g, "kind")
    size = attr_int(g, "size")
    if kind == "poisson":
        check_members(g, ("kind", "size"), members={"rate_hz"})
        return PoissonSource(name, size, _array(g, "rate_hz", "iuf", ndim=None))
    if kind == "spike_array":
        check_members(g, ("kind", "size"), members={"times_s", "indices"})
        return SpikeArraySource(name, size, _array(g, "times_s", "f"), _array(g, "indices", "iu"))
    raise FormatError(
        f"{g.name}: source {name!r} has unknown kind {kind!r} (expected 'poisson' or 'spike_array')"
    )


def _optional(g: h5py.Group, name: str, legacy: bool) -> Any:
    """Attribute ``name`` or None (an empty attribute; absent in a schema 2 file)."""
    if name not in g.attrs:
        if legacy:
            return None
        raise FormatError(f"{g.name}: attribute {name!r} is missing")
    v = g.attrs[name]
    return None if isinstance(v, h5py.Empty) else v


def _load_projection(g: h5py.Group, legacy: bool) -> Projection:
    check_members(
        g,
        ("source", "target", "receptor", "n_post") + (() if legacy else ("dt_s", "plasticity")),
        ("dt_s", "plasticity"),
        members={"indptr", "indices", "weights", "delays"},
    )
    dt = None if _optional(g, "dt_s", legacy) is None else attr_float(g, "dt_s")
    plast = None if _optional(g, "plasticity", legacy) is None else attr_str(g, "plasticity")
    syn = SparseSynapses(
        _array(g, "indptr", "iu"),
        _array(g, "indices", "iu"),
        _array(g, "weights", "f"),
        _array(g, "delays", "iu"),
        attr_int(g, "n_post", lo=0),
        dt,
    )
    return Projection(
        attr_str(g, "source"),
        attr_str(g, "target"),
        syn,
        receptor=attr_int(g, "receptor"),
        plasticity=None if plast is None else param_from_json(plast, f"{g.name}.plasticity"),
    )


def _load_current(g: h5py.Group) -> CurrentInjection:
    check_members(g, ("target", "start_s", "stop_s"), members={"amplitude"})
    return CurrentInjection(
        attr_str(g, "target"),
        _array(g, "amplitude", "iuf", ndim=None),
        attr_float(g, "start_s"),
        attr_float(g, "stop_s"),
    )


def _load_monitor(g: h5py.Group) -> SpikeMonitor | StateMonitor | RateMonitor:
    kind, target = attr_str(g, "kind"), attr_str(g, "target")
    if kind in ("spike", "rate"):
        check_members(g, ("kind", "target"), members=set())
        return SpikeMonitor(target) if kind == "spike" else RateMonitor(target)
    if kind == "state":
        check_members(g, ("kind", "target", "variable", "every_steps"), members={"indices"})
        return StateMonitor(
            target, attr_str(g, "variable"), _array(g, "indices", "iu"), attr_int(g, "every_steps")
        )
    raise FormatError(
        f"{g.name}: monitor of unknown kind {kind!r} (expected 'spike', 'state' or 'rate')"
    )


_ROOT_ATTRS = ("format", "schema_version", "manifest", "checksum")


def load_network(path: str | os.PathLike) -> Network:
    """Load a network written by :func:`save_network`.

    Raises
    ------
    FormatError
        Truncated/corrupt file, foreign file, wrong kind, newer schema, links or external
        storage, a missing or unknown attribute or member, or a value of the wrong type
        (the message names the file and the problem).
    """
    with _reading(path, _NETWORK) as f:
        legacy = int(f.attrs["schema_version"]) < 3
        check_members(
            f,
            _ROOT_ATTRS,
            members={"populations", "sources", "projections", "currents", "monitors"},
        )
        pops = [
            _load_population(n, f["populations"][n], legacy) for n in _ordered(f["populations"])
        ]
        srcs = [_load_source(n, f["sources"][n]) for n in _ordered(f["sources"])]
        projs = [_load_projection(f["projections"][k], legacy) for k in _ordered(f["projections"])]
        curs = [_load_current(f["currents"][k]) for k in _ordered(f["currents"])]
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
            g.attrs["t_start_s"] = float(st.t_start_s)  # continued runs: absolute times
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


def _array(g: h5py.Group, name: str, kinds: str, ndim: int | None = 1) -> np.ndarray:
    """Dataset ``name`` of ``g``, required to have a dtype kind in ``kinds`` and ``ndim`` dims
    (any number of dims if ``ndim`` is None): weights stay float, indices integer."""
    d = g[name]
    ok = isinstance(d, h5py.Dataset) and d.dtype.kind in kinds
    if not ok or (ndim is not None and d.ndim != ndim):
        raise FormatError(
            f"{g.name}/{name}: expected a {ndim}-D array of kind {kinds!r}, "
            f"got {getattr(d, 'dtype', type(d))} {getattr(d, 'shape', '')}"
        )
    return d[()]


def _scalar(g: h5py.Group | h5py.File, name: str, integer: bool = False) -> float:
    """Attribute ``name``: a finite number >= 0 (an integer if ``integer``)."""
    v = g.attrs[name]
    a = np.asarray(v)
    ok = a.shape == () and a.dtype.kind in ("iu" if integer else "iuf")
    if not ok or not math.isfinite(float(a)) or float(a) < 0:
        raise FormatError(f"{g.name} attribute {name}: expected a finite number >= 0, got {v!r}")
    return int(a) if integer else float(a)


def _check_events(
    where: str,
    times: np.ndarray,
    indices: np.ndarray,
    size: int,
    end_s: float,
    start_s: float = 0.0,
) -> None:
    if times.shape != indices.shape:
        raise FormatError(
            f"{where}: times_s and indices differ in shape: {times.shape} vs {indices.shape}"
        )
    if times.size and not (
        np.all(np.isfinite(times)) and times.min() >= start_s and times.max() <= end_s
    ):
        raise FormatError(
            f"{where}: spike/sample times must be finite and in [{start_s}, {end_s}] s"
        )
    if indices.size and not (indices.min() >= 0 and indices.max() < size):
        raise FormatError(
            f"{where}: indices must be in [0, {size}), got [{indices.min()}, {indices.max()}]"
        )


def load_recording(path: str | os.PathLike) -> Recording:
    """Load a recording written by :func:`save_recording`.

    Sizes, durations, index ranges, times, dtypes and shapes are validated.

    Raises
    ------
    FormatError
        Any bad content (message names the file and the problem).
    """
    with _reading(path, _RECORDING) as f:
        check_members(
            f, (*_ROOT_ATTRS, "dt_s", "duration_s", "meta"), members={"spikes", "states", "rates"}
        )
        dt_attr = np.asarray(f.attrs["dt_s"])
        dt = float(dt_attr) if dt_attr.shape == () and dt_attr.dtype.kind == "f" else -1.0
        if not (math.isnan(dt) or (dt > 0 and math.isfinite(dt))):  # nan: exact engine
            raise FormatError(f"{path}: dt_s must be > 0 (or nan), got {f.attrs['dt_s']!r}")
        dur = _scalar(f, "duration_s")
        meta = json.loads(attr_str(f, "meta"))
        if not isinstance(meta, dict):
            raise FormatError(f"{path}: meta must be a JSON object")
        t0_rec = meta.get("t_start_s", 0.0)
        if not (isinstance(t0_rec, (int, float)) and math.isfinite(t0_rec) and t0_rec >= 0):
            raise FormatError(
                f"{path}: meta t_start_s must be a finite number >= 0, got {t0_rec!r}"
            )
        spikes = {}
        for n in _ordered(f["spikes"]):
            g = f["spikes"][n]
            check_members(g, ("size", "duration_s", "t_start_s"), members={"times_s", "indices"})
            size = _scalar(g, "size", integer=True)
            d = _scalar(g, "duration_s")
            t0 = _scalar(g, "t_start_s")
            t, i = _array(g, "times_s", "f"), _array(g, "indices", "iu")
            _check_events(g.name, t, i, size, t0 + d, start_s=t0)
            spikes[n] = SpikeTrains(t, i, size, d, t0)
        states = {}
        for k in _ordered(f["states"]):
            g = f["states"][k]
            check_members(g, (), members={"times_s", "indices", "values"})
            t, i = _array(g, "times_s", "f"), _array(g, "indices", "iu")
            v = _array(g, "values", "iuf", ndim=2)
            if v.shape != (t.size, i.size):
                raise FormatError(f"{g.name}/values: shape {v.shape}, expected {(t.size, i.size)}")
            if t.size and not (
                np.all(np.isfinite(t)) and t.min() >= t0_rec and t.max() <= t0_rec + dur
            ):
                raise FormatError(
                    f"{g.name}/times_s: times must be finite and in [{t0_rec}, {t0_rec + dur}] s"
                )
            if i.size and i.min() < 0:
                raise FormatError(f"{g.name}/indices: negative neuron index")
            states[k] = StateTrace(t, i, v)
        rates = {}
        for n in _ordered(f["rates"]):
            r = _array(f["rates"], n, "f")
            if not np.all(np.isfinite(r)) or (r.size and r.min() < 0):
                raise FormatError(f"{path}: rates/{n} must be finite and >= 0")
            rates[n] = r
        return Recording(spikes, states, rates, dt, dur, meta)
