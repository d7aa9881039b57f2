"""Strict reading of HDF5 groups against a schema: every attribute required, none unknown,
every value of its declared type.

A file that verified its checksum can still have been edited and re-signed, or written by
another tool: a renamed attribute must not silently become its default, a float must not be
truncated to an integer, a string must not be parsed as a number. The helpers here raise a
:class:`~sparse_neuro.neuro.storage.integrity.FormatError` naming the group, the attribute, the
value found and what was expected. Unknown attributes and members are errors too (not ignored): a
file with content this version does not understand is not read as if that content were absent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import h5py
import numpy as np

from sparse_neuro.neuro.storage.integrity import FormatError, param_from_json

__all__ = [
    "JSON_SUFFIX",
    "check_members",
    "attr_int",
    "attr_float",
    "attr_str",
    "attr_floats",
    "read_fields",
]

#: Attribute suffix of parameter objects stored as JSON (``adaptation.json``).
JSON_SUFFIX = ".json"


def check_members(
    g: h5py.Group,
    attrs: Iterable[str],
    optional: Iterable[str] = (),
    members: Iterable[str] | None = None,
) -> None:
    """Require exactly the attributes ``attrs`` (plus any of ``optional``) and, if given,
    exactly the child names ``members``.

    Raises
    ------
    FormatError
        Naming the first missing and every unknown attribute or member.
    """
    required, allowed = set(attrs), set(attrs) | set(optional)
    have = set(g.attrs)
    missing, unknown = sorted(required - have), sorted(have - allowed)
    if missing:
        raise FormatError(
            f"{g.name}: attribute {missing[0]!r} is missing (required: {sorted(required)})"
        )
    if unknown:
        raise FormatError(
            f"{g.name}: unknown attribute(s) {unknown} (this schema has {sorted(allowed)})"
        )
    if members is not None:
        want, got = set(members), set(g.keys())
        if got != want:
            raise FormatError(
                f"{g.name}: members {sorted(got)}, expected {sorted(want)} "
                f"(missing: {sorted(want - got)}, unknown: {sorted(got - want)})"
            )


def _show(v: Any) -> Any:
    """A value as the user wrote it (2.9, not np.float64(2.9))."""
    return v.item() if isinstance(v, np.generic) else v


def _scalar(g: h5py.Group, name: str) -> tuple[Any, np.ndarray]:
    v = g.attrs[name]
    return v, np.asarray(v) if not isinstance(v, (str, bytes, h5py.Empty)) else np.asarray(None)


def attr_int(g: h5py.Group, name: str, lo: int | None = None) -> int:
    """Attribute ``name``: an integer (integer dtype; 2.9, True and '3' are refused)."""
    v, a = _scalar(g, name)
    if a.shape != () or a.dtype.kind not in "iu" or (lo is not None and int(a) < lo):
        rng = "an integer" if lo is None else f"an integer >= {lo}"
        raise FormatError(f"{g.name} attribute {name}: expected {rng}, got {_show(v)!r}")
    return int(a)


def attr_float(g: h5py.Group, name: str) -> float:
    """Attribute ``name``: a real number (integer or float dtype; not a string or bool)."""
    v, a = _scalar(g, name)
    if a.shape != () or a.dtype.kind not in "iuf":
        raise FormatError(f"{g.name} attribute {name}: expected a number, got {_show(v)!r}")
    return float(a)


def attr_floats(g: h5py.Group, name: str) -> tuple[float, ...]:
    """Attribute ``name``: a 1-D array of real numbers, as a tuple."""
    v = g.attrs[name]
    a = np.asarray(v) if not isinstance(v, (str, bytes, h5py.Empty)) else np.asarray(None)
    if a.ndim != 1 or a.dtype.kind not in "iuf":
        raise FormatError(
            f"{g.name} attribute {name}: expected a 1-D array of numbers, got {_show(v)!r}"
        )
    return tuple(float(x) for x in a)


def attr_str(g: h5py.Group, name: str) -> str:
    """Attribute ``name``: a string."""
    v = g.attrs[name]
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            pass
    if not isinstance(v, str):
        raise FormatError(f"{g.name} attribute {name}: expected a string, got {_show(v)!r}")
    return v


def _kind(field: dataclasses.Field) -> str:
    """Storage kind of a dataclass field from its annotation (str under PEP 563)."""
    t = str(field.type).replace(" ", "")
    for prefix, kind in (("tuple", "floats"), ("int", "int"), ("float", "float"), ("str", "str")):
        if t.startswith(prefix):
            return kind
    return "param"  # a registered parameter object (stored as JSON), or None


def read_fields(
    cls: type, g: h5py.Group, skip: Iterable[str] = (), absent_is_none: bool = False
) -> tuple[dict[str, Any], set[str]]:
    """The fields of dataclass ``cls`` stored as attributes of ``g``, each required and typed.

    ``None`` is stored as an empty attribute (``h5py.Empty``), a parameter object as
    ``<field>.json``. With ``absent_is_none`` (files of schema 2) an absent field whose
    default is ``None`` is ``None``.

    Returns
    -------
    values : dict
        Field name -> value.
    names : set of str
        The attribute names used (for :func:`check_members`).
    """
    out: dict[str, Any] = {}
    used: set[str] = set()
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        js = f.name + JSON_SUFFIX
        if js in g.attrs:
            if f.name in g.attrs:
                raise FormatError(f"{g.name}: both {f.name!r} and {js!r} are given")
            out[f.name] = param_from_json(attr_str(g, js), f"{g.name}.{js}")
            used.add(js)
            continue
        if f.name not in g.attrs:
            if absent_is_none and f.default is None:
                out[f.name] = None
                continue
            raise FormatError(f"{g.name}: attribute {f.name!r} is missing")
        used.add(f.name)
        v = g.attrs[f.name]
        if isinstance(v, h5py.Empty):
            if f.default is not None:
                raise FormatError(
                    f"{g.name} attribute {f.name}: empty, but {f.name} cannot be None"
                )
            out[f.name] = None
            continue
        kind = _kind(f)
        if kind == "param":
            raise FormatError(
                f"{g.name} attribute {f.name}: a parameter object must be "
                f"stored as {js!r} (JSON), got {_show(v)!r}"
            )
        read = {"int": attr_int, "float": attr_float, "str": attr_str, "floats": attr_floats}
        out[f.name] = read[kind](g, f.name)
    return out, used
