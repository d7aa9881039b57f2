"""Finished grid points of a long experiment, one JSON file each (resume and sharing).

A grid experiment (e.g. ``sparsity-sweep``) stores every finished point with
:meth:`PointStore.put`. A killed run, started again with the same configuration and seed,
finds those points and computes only the missing ones. Several processes of the same run
(same ``--out``) can share the grid: :meth:`PointStore.claim` gives each point to exactly
one live process (a lock file holding its pid; the lock of a dead process is taken over).
File names carry the run identity (a hash of the configuration fields that change the
points, and the seed), so points of another configuration are never reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from sparse_neuro.experiments.common import _json_default, write_json_atomic
from sparse_neuro.neuro.storage.atomic import _pid_alive
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.provenance import provenance
from sparse_neuro.neuro.storage.safe_read import read_bytes, read_json

__all__ = ["PointStore", "point_key"]

#: A point file holds a few figures of one grid point; anything larger is not one.
_POINT_MAX_BYTES = 16 << 20


class PointStore:
    """Results of grid points under ``directory``, for the run identified by ``identity``.

    Parameters
    ----------
    directory : Path
        Where the point files live (created).
    identity : str
        Identifies the run (e.g. :func:`sparse_neuro.neuro.storage.checkpoint.config_hash` of the
        fields that change the points, with the seed).
    fresh : bool
        Ignore points stored before this process started (they are recomputed and
        overwritten); meant for a single process.
    """

    def __init__(self, directory: Path, identity: str, fresh: bool = False) -> None:
        if not re.fullmatch(r"[0-9A-Za-z_-]+", identity):
            raise ValueError(f"identity must be letters, digits, '_' or '-', got {identity!r}")
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.identity, self.fresh = identity, fresh
        self._done_here: set[str] = set()

    def _file(self, key: str, suffix: str) -> Path:
        if not re.fullmatch(r"[0-9A-Za-z_.=-]+", key):
            raise ValueError(f"point key must be letters, digits or '_.=-', got {key!r}")
        return self.dir / f"{self.identity}-{key}{suffix}"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result of ``key`` (None if missing, or ignored because ``fresh``)."""
        path = self._file(key, ".json")
        # lexists: a symlink (even a dangling one) is refused by read_json, not skipped
        if (self.fresh and key not in self._done_here) or not os.path.lexists(path):
            return None
        stored = read_json(path, "point file", max_bytes=_POINT_MAX_BYTES)
        # provenance: a record of what computed the point (files of older versions lack it)
        if not (
            isinstance(stored, dict)
            and set(stored) - {"provenance"} == {"sha256", "result"}
            and isinstance(stored.get("provenance", {}), dict)
        ):
            raise FormatError(
                f"{path}: point file must hold exactly 'sha256', 'result' and 'provenance' "
                "(an object)"
            )
        if _digest(stored["result"]) != stored["sha256"]:
            raise FormatError(
                f"{path}: point result does not match its SHA-256 (damaged or edited)"
            )
        return stored["result"]

    def put(self, key: str, result: dict[str, Any]) -> None:
        """Store ``result`` (JSON-serialisable) for ``key`` atomically, with its SHA-256 and
        the provenance of the process that computed it."""
        plain = json.loads(json.dumps(result, default=_json_default))  # as it will read back
        write_json_atomic(
            self._file(key, ".json"),
            {"sha256": _digest(plain), "result": plain, "provenance": provenance()},
        )
        self._done_here.add(key)

    def claim(self, key: str) -> bool:
        """Take ``key`` for this process; False if a live process holds it."""
        lock = self._file(key, ".lock")
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(read_bytes(lock, 64, "lock file") or b"0")
                except (FileNotFoundError, ValueError):
                    pid = 0  # being written or just released: look again once
                if pid and (pid == os.getpid() or _pid_alive(pid)):
                    return pid == os.getpid()
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()  # left by a killed process
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return True
        return False

    def release(self, key: str) -> None:
        """Drop this process's lock on ``key``."""
        with contextlib.suppress(FileNotFoundError):
            self._file(key, ".lock").unlink()

    def compute_all(
        self,
        keys: Iterable[str],
        compute: Callable[[str], dict[str, Any]],
        poll_s: float = 5.0,
        on_done: Callable[[str], None] | None = None,
        wait: bool = True,
    ) -> dict[str, dict[str, Any]]:
        """Results for every key: stored ones, computed ones, and those other processes finish.

        ``compute(key)`` runs for every missing key this process can claim; keys held by
        another live process are awaited (polled every ``poll_s`` seconds), and computed
        here if that process dies. ``on_done(key)`` is called after each key (progress).
        ``wait=False`` returns after one pass, without the keys other processes hold.
        """
        results: dict[str, dict[str, Any]] = {}
        pending = list(keys)
        while pending:
            waiting = []
            for key in pending:
                got = self.get(key)
                if got is None and self.claim(key):
                    try:
                        got = self.get(key)  # finished between get() and claim()
                        if got is None:
                            got = compute(key)
                            self.put(key, got)
                    finally:
                        self.release(key)
                if got is None:
                    waiting.append(key)
                    continue
                results[key] = got
                if on_done is not None:
                    on_done(key)
            pending = waiting if wait else []
            if pending:
                time.sleep(poll_s)
        return results


def _digest(result: Any) -> str:
    """SHA-256 of a JSON value in canonical form (sorted keys)."""
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def point_key(*parts: Hashable) -> str:
    """A file-name-safe key from parts, e.g. ``point_key("rigl", 0.1, True)``."""
    return "_".join(f"{p:g}" if isinstance(p, float) else str(p) for p in parts)
