"""Checkpoint identity: which run (configuration, seed, code) a checkpoint belongs to.

:func:`write_state_dict` / :func:`read_state_dict` store a simulator's state dict (nested
dicts and lists of numbers and arrays) as a sealed NPZ; ``load_state_dict`` then checks
its values (:mod:`sparse_neuro.neuro.engines.state_check`).

A trainer stores :func:`run_identity` in every checkpoint and calls :func:`check_identity`
before resuming, so a run never continues from a checkpoint of another configuration, seed
or code version. Checkpoints themselves hold only arrays and plain data (HDF5/NPZ without
pickles, or ``torch.save`` read back with ``weights_only=True``).

Integrity: every checkpoint, whatever its container, carries a manifest (each entry's path,
dtype and shape) and a SHA-256 over the entries, as the HDF5 files do
(:mod:`sparse_neuro.neuro.storage.integrity`, whose byte encoding is reused): :func:`seal` adds them
to a nested payload (``torch.save`` checkpoints), :func:`seal_arrays` to a flat dict of arrays
(NPZ); :func:`verify` / :func:`verify_arrays` raise
:class:`sparse_neuro.neuro.storage.integrity.FormatError` naming the file and the entry that is
missing, unexpected, retyped or changed. Values are checked after that by each reader (a re-signed
file must still hold values in range).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sparse_neuro.neuro.storage.integrity import FormatError, _attr_bytes

__all__ = [
    "RESUME_MODES",
    "check_resume_mode",
    "CheckpointMismatch",
    "code_version",
    "config_hash",
    "describe_code_change",
    "source_hashes",
    "run_identity",
    "check_identity",
    "INTEGRITY_KEY",
    "seal",
    "verify",
    "seal_arrays",
    "verify_arrays",
    "PROVENANCE_ENTRY",
    "write_state_dict",
    "read_state_dict",
]


#: ``"auto"``: resume this run's checkpoint, refuse another run's; ``"fresh"``: start over.
RESUME_MODES = ("auto", "fresh")


def check_resume_mode(mode: str) -> None:
    """Raise ValueError unless ``mode`` is one of :data:`RESUME_MODES`."""
    if mode not in RESUME_MODES:
        raise ValueError(f"resume must be one of {RESUME_MODES}, got {mode!r}")


class CheckpointMismatch(ValueError):
    """An existing checkpoint belongs to another run (configuration, seed or code version)."""


def code_version() -> str:
    """The installed sparse-neuro version and the hash of its sources
    (``"<version>+src.<hash>"``, :func:`sparse_neuro.neuro.jit.source_key`): an edited tree is
    another code version even when the package version did not change."""
    from sparse_neuro.neuro.jit import source_key

    try:
        version = metadata.version("sparse-neuro")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{version}+src.{source_key()[:12]}"


def config_hash(config: Any, **extra: Any) -> str:
    """SHA-256 (first 16 hex digits) of a dataclass config plus ``extra`` values (e.g. seed).

    Parameters
    ----------
    config : dataclass instance or mapping
    **extra
        More values that identify the run (seed, data sizes).
    """
    d = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    text = json.dumps({"config": d, **extra}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.cache
def source_hashes() -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each source file of the packages whose code the
    kernels run (:data:`sparse_neuro.neuro.jit.PACKAGES`), keyed by its path in the
    installed package (``"sparse_neuro/neuro/engines/primitives.py"``).

    Stored in every checkpoint, so that a refused resume can name what changed.
    Computed once per process.
    """
    from sparse_neuro.neuro.jit import package_dirs

    out = {}
    for pkg, base in package_dirs().items():
        for path in sorted(base.rglob("*.py")):
            name = f"{pkg.replace('.', '/')}/{path.relative_to(base).as_posix()}"
            out[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return out


def run_identity(config: Any, **extra: Any) -> dict[str, str]:
    """What to store in a checkpoint, all strings: ``config_hash`` and ``code_version``
    (checked by :func:`check_identity`), ``source_hashes`` (JSON of :func:`source_hashes`: a
    refusal names the changed modules) and ``provenance`` (JSON,
    :func:`sparse_neuro.neuro.storage.provenance.provenance`: what wrote it)."""
    from sparse_neuro.neuro.storage.provenance import provenance_json

    return {
        "config_hash": config_hash(config, **extra),
        "code_version": code_version(),
        "source_hashes": json.dumps(source_hashes(), sort_keys=True),
        "provenance": provenance_json(),
    }


#: Modules named in a refusal; the rest are counted.
_MAX_NAMED = 8


def describe_code_change(stored_hashes: object) -> str:
    """What changed in the sources since a checkpoint recorded ``stored_hashes`` (the JSON
    text of :func:`source_hashes` then): the modules changed, added and removed, by path, or
    a note when the checkpoint does not record them or no module changed (then the package,
    numba or llvmlite version did)."""
    try:
        then = json.loads(str(stored_hashes))
    except ValueError:
        then = None
    if not (isinstance(then, dict) and all(isinstance(v, str) for v in then.values())):
        return "the checkpoint does not record its modules' hashes (written by an older version)"
    now = source_hashes()
    parts = [
        *(f"{m} changed" for m in sorted(set(now) & set(then)) if now[m] != then[m]),
        *(f"{m} was added" for m in sorted(set(now) - set(then))),
        *(f"{m} was removed" for m in sorted(set(then) - set(now))),
    ]
    if not parts:
        return "no module changed: the package, numba or llvmlite version did"
    more = f" and {len(parts) - _MAX_NAMED} more" if len(parts) > _MAX_NAMED else ""
    return ", ".join(parts[:_MAX_NAMED]) + more + " since the checkpoint was written"


def check_identity(stored: Mapping[str, Any], expected: dict[str, str], where: str) -> None:
    """Raise :class:`CheckpointMismatch` unless ``stored`` is the identity ``expected``
    (its ``config_hash`` and ``code_version``).

    A code change names the modules that changed (:func:`describe_code_change`). The message
    says how to start fresh instead (``--set resume=fresh`` for experiments).
    """
    for key in ("config_hash", "code_version"):
        if str(stored.get(key)) != expected[key]:
            why = (
                describe_code_change(stored.get("source_hashes"))
                if key == "code_version"
                else "another configuration or seed"
            )
            raise CheckpointMismatch(
                f"{where}: checkpoint belongs to another run ({key} {stored.get(key)!r}, this run "
                f"{expected[key]!r}: {why}); refusing to resume. Use another output directory, "
                "or start fresh (--set resume=fresh)."
            )


#: Key of the manifest and checksum in a sealed payload (NPZ: ``__manifest__``, ``__checksum__``).
INTEGRITY_KEY = "integrity"
_NPZ_MANIFEST, _NPZ_CHECKSUM = "__manifest__", "__checksum__"


def _leaves(obj: Any, path: str = "") -> Iterator[tuple[str, np.ndarray]]:
    """Every leaf of a nested payload as ``(path, array)``: dicts by key (``/name``, ``/#3``
    for an int key), lists and tuples by index (their length is a leaf too), tensors and
    arrays as arrays, scalars and strings as ``"type:repr"`` text."""
    torch = sys.modules.get("torch")
    if isinstance(obj, Mapping):
        for k in sorted(obj, key=lambda k: (not isinstance(k, str), str(k))):
            yield from _leaves(obj[k], f"{path}/{k}" if isinstance(k, str) else f"{path}/#{k!r}")
    elif isinstance(obj, (list, tuple)):
        yield path, np.asarray(f"{type(obj).__name__}[{len(obj)}]")
        for i, x in enumerate(obj):
            yield from _leaves(x, f"{path}[{i}]")
    elif torch is not None and isinstance(obj, torch.Tensor):
        t = obj.detach().cpu()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: hash its bits
            t = t.view(torch.int16)
        yield path, t.numpy()
    elif isinstance(obj, np.ndarray):
        yield path, obj
    elif obj is None or isinstance(obj, (bool, int, float, str, np.generic)):
        yield path, np.asarray(f"{type(obj).__name__}:{obj!r}")
    else:
        raise TypeError(
            f"checkpoint entry {path or '/'} of type {type(obj).__name__} cannot be "
            "stored (arrays, tensors, numbers, strings, lists and dicts only)"
        )


def _manifest_and_digest(leaves: Iterator[tuple[str, np.ndarray]]) -> tuple[dict, str]:
    """The manifest ``{path: "dtype shape"}`` and the SHA-256 of paths, dtypes, shapes and
    bytes (:func:`sparse_neuro.neuro.storage.integrity._attr_bytes`, the HDF5 files' encoding)."""
    h = hashlib.sha256()
    manifest: dict[str, str] = {}
    for path, a in leaves:
        manifest[path] = f"{a.dtype.str if a.dtype.kind not in 'OSU' else 'str'} {list(a.shape)}"
        h.update(path.encode() + b"\0" + _attr_bytes(a) + b"\0")
    return manifest, h.hexdigest()


def _compare(want: object, have: dict, where: str) -> None:
    """Raise FormatError naming the first entry missing, unexpected or retyped."""
    if not isinstance(want, dict):
        raise FormatError(f"{where}: the manifest is not a mapping")
    for name in sorted(set(want) | set(have)):
        if name not in have:
            raise FormatError(f"{where}: entry {name} is missing")
        if name not in want:
            raise FormatError(f"{where}: unexpected entry {name}")
        if want[name] != have[name]:
            raise FormatError(
                f"{where}: entry {name} has dtype/shape {have[name]}, expected {want[name]}"
            )


def seal(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` plus its manifest and checksum under :data:`INTEGRITY_KEY`."""
    if INTEGRITY_KEY in payload:
        raise ValueError(f"payload must not have a key {INTEGRITY_KEY!r} (reserved)")
    manifest, digest = _manifest_and_digest(_leaves(payload))
    return {**payload, INTEGRITY_KEY: {"manifest": json.dumps(manifest), "checksum": digest}}


def verify(payload: object, where: str) -> dict[str, Any]:
    """The payload of a :func:`seal` ed checkpoint, without its integrity entry.

    Raises
    ------
    FormatError
        Not a mapping, no or a malformed integrity entry, an entry missing, unexpected or of
        another dtype or shape than the manifest says, or a checksum mismatch (``where``,
        the file, is named).
    """
    if not isinstance(payload, Mapping):
        raise FormatError(f"{where}: a checkpoint must be a mapping, got {type(payload).__name__}")
    seal_ = payload.get(INTEGRITY_KEY)
    if not (
        isinstance(seal_, Mapping)
        and set(seal_) == {"manifest", "checksum"}
        and all(isinstance(v, str) for v in seal_.values())
    ):
        raise FormatError(
            f"{where}: no manifest and checksum ({INTEGRITY_KEY!r} entry); the "
            "file was not written by this version, or was edited"
        )
    body = {k: v for k, v in payload.items() if k != INTEGRITY_KEY}
    return _verified(body, _leaves(body), seal_["manifest"], seal_["checksum"], where)


def _verified(
    body: dict, leaves: Iterator[tuple[str, np.ndarray]], manifest: str, digest: str, where: str
) -> dict:
    try:
        have, have_digest = _manifest_and_digest(leaves)
    except TypeError as e:
        raise FormatError(f"{where}: {e}") from None
    try:
        want = json.loads(manifest)
    except ValueError:
        raise FormatError(f"{where}: the manifest is not valid JSON") from None
    _compare(want, have, where)
    if have_digest != digest:
        raise FormatError(f"{where}: checksum mismatch (the file is corrupt or was edited)")
    return body


def seal_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A flat dict of arrays (an NPZ's entries) plus its manifest and checksum entries."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if {_NPZ_MANIFEST, _NPZ_CHECKSUM} & set(arrays):
        raise ValueError(f"array names {_NPZ_MANIFEST!r} and {_NPZ_CHECKSUM!r} are reserved")
    manifest, digest = _manifest_and_digest(iter(sorted(arrays.items())))
    return {
        **arrays,
        _NPZ_MANIFEST: np.asarray(json.dumps(manifest)),
        _NPZ_CHECKSUM: np.asarray(digest),
    }


def verify_arrays(arrays: Mapping[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """The arrays of a :func:`seal_arrays` ed dict without the integrity entries (see
    :func:`verify` for the errors)."""
    m, c = arrays.get(_NPZ_MANIFEST), arrays.get(_NPZ_CHECKSUM)
    if not all(isinstance(x, np.ndarray) and x.shape == () and x.dtype.kind == "U" for x in (m, c)):
        raise FormatError(
            f"{where}: no manifest and checksum entries ({_NPZ_MANIFEST}, "
            f"{_NPZ_CHECKSUM}); the file was not written by this version, or was "
            "edited"
        )
    body = {k: v for k, v in arrays.items() if k not in (_NPZ_MANIFEST, _NPZ_CHECKSUM)}
    return _verified(body, iter(sorted(body.items())), str(m), str(c), where)


_TREE = "__tree__"
#: NPZ entry of a state dict file: JSON of what wrote it (provenance; absent in older files).
PROVENANCE_ENTRY = "__provenance__"


def write_state_dict(path: str | Path, d: Mapping[str, Any]) -> None:
    """Write a state dict (``state_dict()`` of a clocked or exact simulator: nested dicts
    with string keys, lists, numbers and numeric arrays) to ``path`` atomically, as an NPZ
    sealed with a manifest and SHA-256 (no pickles), with the provenance of the writer
    (entry :data:`PROVENANCE_ENTRY`)."""
    from sparse_neuro.neuro.storage.atomic import atomic_open
    from sparse_neuro.neuro.storage.provenance import provenance_json

    arrays: dict[str, np.ndarray] = {}

    def encode(x: Any, name: str) -> Any:
        if isinstance(x, Mapping):
            if not all(isinstance(k, str) for k in x):
                raise ValueError(f"state dict keys must be strings (at {name or '/'})")
            return {"dict": {k: encode(v, f"{name}.{k}" if name else k) for k, v in x.items()}}
        if isinstance(x, (list, tuple)):
            return {"list": [encode(v, f"{name}[{i}]") for i, v in enumerate(x)]}
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise ValueError(f"state dict entry {name} must be numeric, got dtype {a.dtype}")
        arrays[name] = a
        return {"array": name, "scalar": not isinstance(x, np.ndarray)}

    tree = encode(d, "")
    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            **seal_arrays(
                {
                    **arrays,
                    _TREE: np.asarray(json.dumps(tree)),
                    PROVENANCE_ENTRY: np.asarray(provenance_json()),
                }
            ),
        )


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """A state dict written by :func:`write_state_dict`, its manifest and checksum verified
    (values are checked by the simulator's ``load_state_dict``).

    Raises
    ------
    FormatError
        Not such a file, or edited (naming the file and the entry).
    """
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in z.files}
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as e:  # zip, header or pickle errors: one kind for the caller
        raise FormatError(f"{where}: not a state dict file: {type(e).__name__}: {e}") from None
    arrays = verify_arrays(raw, where)
    try:
        tree = json.loads(str(arrays.pop(_TREE)))
    except (KeyError, ValueError):
        raise FormatError(f"{where}: no valid {_TREE} entry") from None
    arrays.pop(PROVENANCE_ENTRY, None)  # a record for people, not state
    used: set[str] = set()

    def decode(node: Any) -> Any:
        if not isinstance(node, dict) or len(node) not in (1, 2):
            raise FormatError(f"{where}: malformed {_TREE} node {node!r}"[:300])
        if "dict" in node and isinstance(node["dict"], dict):
            return {k: decode(v) for k, v in node["dict"].items()}
        if "list" in node and isinstance(node["list"], list):
            return [decode(v) for v in node["list"]]
        name = node.get("array")
        if not isinstance(name, str) or name not in arrays or name in used:
            raise FormatError(f"{where}: {_TREE} names a missing or repeated array {name!r}")
        used.add(name)
        a = arrays[name]
        return a.item() if node.get("scalar") is True and a.ndim == 0 else a

    d = decode(tree)
    if used != set(arrays):
        raise FormatError(f"{where}: arrays not in the state dict: {sorted(set(arrays) - used)}")
    if not isinstance(d, dict):
        raise FormatError(f"{where}: a state dict file must hold a dict")
    return d
