"""What makes a neuro HDF5 file trustworthy: a manifest, a checksum, a class registry.

* :func:`manifest` lists every group, dataset (with dtype and shape) and attribute of a
  file; a reader compares it with the ``manifest`` attribute the writer stored, so a
  deleted group or attribute, or a changed dtype or shape, is named in the error.
* :func:`checksum` is a SHA-256 over the names, dtypes, shapes and bytes of every dataset
  and attribute (the ``checksum`` attribute itself excluded), so a flipped byte anywhere in
  the data is detected.
* :data:`PARAMETER_CLASSES` is the explicit registry of parameter objects a file may name
  (plasticity rules, threshold adaptation). Reading never imports anything: a name not in
  the registry, or fields the class does not have, is a :class:`FormatError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import h5py
import numpy as np

from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation

__all__ = [
    "FormatError",
    "PARAMETER_CLASSES",
    "param_to_json",
    "param_from_json",
    "manifest",
    "checksum",
    "stamp_integrity",
    "verify_integrity",
]

CHECKSUM_ATTR = "checksum"
MANIFEST_ATTR = "manifest"


class FormatError(ValueError):
    """A file is not a valid neuro file of the expected kind (message names the file)."""


#: Registry name -> class of every parameter object a file may contain.
PARAMETER_CLASSES: dict[str, type] = {
    "STDPRule": STDPRule,
    "ThresholdAdaptation": ThresholdAdaptation,
}


def param_to_json(obj: Any) -> str:
    """A registered parameter object as JSON: ``{"class": name, "fields": {...}}``.

    Raises
    ------
    ValueError
        ``obj`` is not an instance of a class in :data:`PARAMETER_CLASSES`.
    """
    name = next((k for k, c in PARAMETER_CLASSES.items() if type(obj) is c), None)
    if name is None:
        raise ValueError(
            f"cannot save an object of type {type(obj).__name__}: only registered parameter "
            f"classes can be stored ({', '.join(PARAMETER_CLASSES)})"
        )
    return json.dumps({"class": name, "fields": dataclasses.asdict(obj)})


def param_from_json(text: str, where: str) -> Any:
    """Rebuild a registered parameter object (validated by its constructor) from JSON.

    Raises
    ------
    FormatError
        Not JSON, an unregistered class name, unknown fields, or invalid field values.
    """
    try:
        spec = json.loads(text)
    except (TypeError, ValueError) as e:
        raise FormatError(f"{where}: parameter object is not valid JSON: {e}") from None
    if not isinstance(spec, dict) or set(spec) != {"class", "fields"}:
        raise FormatError(f"{where}: parameter object must be {{'class': ..., 'fields': ...}}")
    cls = PARAMETER_CLASSES.get(spec["class"]) if isinstance(spec["class"], str) else None
    if cls is None:
        raise FormatError(
            f"{where}: unknown parameter class {spec['class']!r}; valid: {', '.join(PARAMETER_CLASSES)}"
        )
    fields = spec["fields"]
    names = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(fields, dict) or not set(fields) <= names:
        raise FormatError(f"{where}: {spec['class']} fields must be a subset of {sorted(names)}")
    for k, v in fields.items():
        if not (v is None or isinstance(v, (bool, int, float, str))):
            raise FormatError(f"{where}: {spec['class']}.{k} must be a number or string, got {v!r}")
    try:
        return cls(**fields)
    except (TypeError, ValueError) as e:
        raise FormatError(f"{where}: invalid {spec['class']}: {e}") from None


def _attr_bytes(v: Any) -> bytes:
    a = np.asarray(v)
    if a.dtype.kind in "OSU":
        return json.dumps(
            [x.decode() if isinstance(x, bytes) else str(x) for x in a.ravel()]
        ).encode()
    return a.dtype.str.encode() + str(a.shape).encode() + np.ascontiguousarray(a).tobytes()


def _items(f: h5py.File) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("/", f)]
    f.visititems(lambda name, obj: out.append(("/" + name, obj)))
    return sorted(out, key=lambda x: x[0])


def manifest(f: h5py.File) -> dict[str, Any]:
    """Every group, dataset (dtype, shape) and attribute name of an open file."""
    out: dict[str, Any] = {}
    for name, obj in _items(f):
        attrs = sorted(
            k for k in obj.attrs if name != "/" or k not in (CHECKSUM_ATTR, MANIFEST_ATTR)
        )
        entry: dict[str, Any] = {"attrs": attrs}
        if isinstance(obj, h5py.Dataset):
            entry["dtype"] = obj.dtype.str if obj.dtype.kind != "O" else "str"
            entry["shape"] = list(obj.shape)
        out[name] = entry
    return out


def checksum(f: h5py.File) -> str:
    """SHA-256 (hex) of every object name, attribute and dataset of an open file.

    Datasets are hashed block by block (:func:`_hash_dataset`), so hashing needs memory for
    one block, not for the whole dataset.
    """
    h = hashlib.sha256()
    for name, obj in _items(f):
        h.update(name.encode() + b"\0")
        for k in sorted(obj.attrs):
            if name == "/" and k == CHECKSUM_ATTR:
                continue
            h.update(k.encode() + b"=" + _attr_bytes(obj.attrs[k]) + b"\0")
        if isinstance(obj, h5py.Dataset):
            _hash_dataset(h, obj)
    return h.hexdigest()


#: Bytes read per block when hashing a dataset.
_BLOCK_BYTES = 16 << 20


def _hash_dataset(h: Any, d: h5py.Dataset) -> None:
    """Feed ``h`` the same bytes as ``_attr_bytes(d[()])``, reading rows in blocks."""
    if d.dtype.kind == "O" or d.ndim == 0 or d.size == 0:
        h.update(_attr_bytes(d.asstr()[()] if d.dtype.kind == "O" else d[()]))
        return
    h.update(d.dtype.str.encode() + str(d.shape).encode())
    row = max(1, d.size // d.shape[0]) * d.dtype.itemsize
    step = max(1, _BLOCK_BYTES // row)
    for start in range(0, d.shape[0], step):
        h.update(np.ascontiguousarray(d[start : start + step]).tobytes())


def stamp_integrity(f: h5py.File) -> None:
    """Store the manifest and then the checksum (which covers the manifest) in ``f``."""
    f.attrs[MANIFEST_ATTR] = json.dumps(manifest(f))
    f.attrs[CHECKSUM_ATTR] = checksum(f)


def verify_integrity(f: h5py.File, where: str) -> None:
    """Raise FormatError naming what is missing, extra or corrupt in an open file."""
    stored = f.attrs.get(MANIFEST_ATTR)
    digest = f.attrs.get(CHECKSUM_ATTR)
    if stored is None or digest is None:
        raise FormatError(
            f"{where}: no {MANIFEST_ATTR if stored is None else CHECKSUM_ATTR} attribute"
        )
    try:
        want = json.loads(stored.decode() if isinstance(stored, bytes) else str(stored))
    except ValueError:
        raise FormatError(f"{where}: manifest attribute is not valid JSON") from None
    have = manifest(f)
    if not isinstance(want, dict):
        raise FormatError(f"{where}: manifest attribute is not a mapping")
    for name in sorted(set(want) | set(have)):
        if name not in have:
            raise FormatError(f"{where}: {name} is missing")
        if name not in want:
            raise FormatError(f"{where}: unexpected object {name}")
        if have[name] != want[name]:
            w, h_ = want[name], have[name]
            if isinstance(w, dict) and w.get("attrs") != h_["attrs"]:
                w_attrs = w.get("attrs", []) if isinstance(w.get("attrs"), list) else []
                missing = sorted(set(w_attrs) - set(h_["attrs"]))
                extra = sorted(set(h_["attrs"]) - set(w_attrs))
                raise FormatError(
                    f"{where}: {name} attributes differ from the manifest "
                    f"(missing: {missing}, not in the manifest: {extra})"
                )
            raise FormatError(
                f"{where}: {name} has dtype/shape {h_.get('dtype')} {h_.get('shape')}, "
                f"expected {w.get('dtype') if isinstance(w, dict) else w} "
                f"{w.get('shape') if isinstance(w, dict) else ''}"
            )
    if checksum(f) != (digest.decode() if isinstance(digest, bytes) else str(digest)):
        raise FormatError(f"{where}: checksum mismatch (the file is corrupt)")
