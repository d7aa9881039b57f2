"""Checkpoint identity: which run (configuration, seed, code) a checkpoint belongs to.

A trainer stores :func:`run_identity` in every checkpoint and calls :func:`check_identity`
before resuming, so a run never continues from a checkpoint of another configuration, seed
or code version. Checkpoints themselves hold only arrays and plain data (HDF5/NPZ without
pickles, or ``torch.save`` read back with ``weights_only=True``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib import metadata
from typing import Any

__all__ = ["RESUME_MODES", "check_resume_mode", "CheckpointMismatch", "code_version", "config_hash", "run_identity", "check_identity"]


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
    (``"<version>+src.<hash>"``, :func:`neuro.jit.source_key`): an edited tree is another code
    version even when the package version did not change."""
    from neuro.jit import source_key

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


def run_identity(config: Any, **extra: Any) -> dict[str, str]:
    """``{"config_hash": ..., "code_version": ...}`` to store in a checkpoint."""
    return {"config_hash": config_hash(config, **extra), "code_version": code_version()}


def check_identity(stored: dict[str, Any], expected: dict[str, str], where: str) -> None:
    """Raise :class:`CheckpointMismatch` unless ``stored`` is the identity ``expected``.

    The message says how to start fresh instead (``--set resume=fresh`` for experiments).
    """
    for key in ("config_hash", "code_version"):
        if str(stored.get(key)) != expected[key]:
            raise CheckpointMismatch(
                f"{where}: checkpoint belongs to another run ({key} {stored.get(key)!r}, this run "
                f"{expected[key]!r}: another configuration, seed or code version); refusing to "
                "resume. Use another output directory, or start fresh (--set resume=fresh)."
            )
