"""Provenance: what produced a result (package, commit, dependencies, CPU, threads, date,
command line).

:func:`provenance` returns one JSON-serialisable dict; every ``summary.json``, ``results.h5``
(root attribute ``provenance``), ``report.html``, checkpoint and sweep point stores it, so a
number can be traced to the code and machine that made it.

Nothing here imports a dependency to read its version: ``importlib.metadata`` reads the
installed distribution's metadata. Importing NEST would print its banner and switch numba's
threading layer (see :mod:`sparse_neuro.neuro.engines.backends.nest_bridge`); importing torch
or brian2 costs seconds. Thread counts are read only from modules already imported.
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["DEPENDENCIES", "GIT_TIMEOUT_S", "provenance", "provenance_json", "git_state"]

#: Distributions whose versions are recorded (``None`` when not installed).
DEPENDENCIES = (
    "numpy",
    "scipy",
    "numba",
    "llvmlite",
    "torch",
    "brian2",
    "nest-simulator",
    "h5py",
    "snntorch",
    "norse",
)
#: A git call that takes longer (a network file system, a huge tree) is given up: provenance
#: must never stall a run.
GIT_TIMEOUT_S = 5.0
#: CPU flags worth recording: the vector units numba and torch pick their kernels by.
_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "neon")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, timeout
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(root: Path | None = None) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout that holds the
    package (``root``: default the folder above ``sparse_neuro/``).

    Only when ``root`` is the top of a git work tree: an installed package whose
    site-packages happens to lie inside some other repository (a venv in a project folder)
    must not report that repository's commit. ``dirty`` ignores untracked files.
    """
    import sparse_neuro

    root = Path(root) if root is not None else Path(sparse_neuro.__file__).resolve().parents[1]
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root.resolve():
        return {"commit": None, "dirty": None}
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _cpu() -> dict[str, Any]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model in ("", platform.machine(), platform.processor()):
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return {
        "model": model,
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "flags": [f for f in _FLAGS if f in flags],
    }


def _threads() -> dict[str, int | None]:
    """Thread counts of numba and torch when they are already imported (``None`` otherwise:
    importing them only to ask would cost seconds)."""
    numba, torch = sys.modules.get("numba"), sys.modules.get("torch")
    return {
        "numba": int(numba.get_num_threads()) if numba is not None else None,
        "torch": int(torch.get_num_threads()) if torch is not None else None,
    }


@functools.cache
def _static() -> dict[str, Any]:
    """The parts that do not change during a process (git is asked once)."""
    import sparse_neuro

    return {
        "sparse_neuro": sparse_neuro.__version__,
        "git": git_state(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dependencies": {d: _version(d) for d in DEPENDENCIES},
        "cpu": _cpu(),
    }


def provenance() -> dict[str, Any]:
    """What produced a result, as a JSON-serialisable dict.

    Keys: ``sparse_neuro`` (the package version), ``git`` (``commit`` and ``dirty`` when run
    from a git checkout, else ``None``), ``python``, ``platform``, ``dependencies``
    (distribution versions, ``None`` when not installed), ``cpu`` (model, machine, logical
    CPUs, vector flags), ``threads`` (numba and torch, when imported), ``date`` (UTC, ISO
    8601) and ``command_line`` (``sys.argv``).
    """
    return {
        **_static(),
        "threads": _threads(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command_line": [str(a) for a in sys.argv],
    }


def provenance_json() -> str:
    """:func:`provenance` as compact JSON text (HDF5 attributes, NPZ and torch checkpoints)."""
    return json.dumps(provenance(), sort_keys=True)
