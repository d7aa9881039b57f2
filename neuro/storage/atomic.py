"""One atomic-write helper for every file the toolkit writes.

A writer gets a temporary path in the destination directory, named
``.<name>.<pid>.<random>.neuro-tmp`` so that it is recognisable; when the block succeeds the
file is fsynced and renamed over the destination (``os.replace``, atomic on POSIX) and the
directory is fsynced. Readers therefore only ever see the old or the new file.

Clean failure:

* an exception (including ``KeyboardInterrupt`` from SIGINT) removes the temporary file;
* SIGTERM, while a write is in progress in the main thread, removes every active temporary
  file and then terminates the process as SIGTERM would have;
* SIGKILL cannot be caught: the next write into the same directory sweeps temporary files
  there left by processes that no longer exist;
* an ``OSError`` while writing (full disk, read-only directory) becomes :class:`WriteError`
  with a one-line message naming the path; nothing is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WriteError", "TMP_SUFFIX", "atomic_path", "atomic_open", "write_text", "temp_files_of"]

#: Suffix of every temporary file the toolkit writes.
TMP_SUFFIX = ".neuro-tmp"

_active: set[Path] = set()
_lock = threading.RLock()  # re-entrant: the SIGTERM handler may run while it is held


class WriteError(OSError):
    """Writing a file failed (e.g. disk full, read-only directory); nothing was left behind."""


def temp_files_of(path: str | os.PathLike) -> list[Path]:
    """Temporary files (of any process) belonging to destination ``path``."""
    p = Path(path)
    return sorted(p.parent.glob(f".{_glob_escape(p.name)}.*{TMP_SUFFIX}"))


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


#: ``.<name>.<pid>.<8 hex digits>.neuro-tmp``: the only names :func:`_sweep` may remove.
_TMP_NAME = re.compile(r"\..+\.(\d+)\.[0-9a-f]{8}" + re.escape(TMP_SUFFIX))


def _sweep(dest: Path) -> None:
    """Remove temporary files in the directory of ``dest`` whose writing process is gone.

    Any writer sweeps its whole directory (not only its own destination), so a file killed
    mid-write (SIGKILL) does not wait for the next write to the same path. Only names of the
    toolkit's own pattern are touched, and only when the pid in the name is not a live
    process: a concurrent writer (alive by definition) keeps its file. (A writer on another
    machine or in another pid namespace sharing the directory cannot be told apart.)
    """
    for tmp in dest.parent.glob(f".*{TMP_SUFFIX}"):
        m = _TMP_NAME.fullmatch(tmp.name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            with _lock:
                if tmp in _active:
                    continue
        elif _pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            tmp.unlink()


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _on_sigterm(signum: int, frame: object) -> None:
    """Remove active temporary files, then die of SIGTERM as the default action would."""
    with _lock:
        for tmp in list(_active):
            with contextlib.suppress(OSError):
                tmp.unlink()
        _active.clear()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def _sigterm_cleanup() -> Iterator[None]:
    """Install the SIGTERM clean-up while a write runs (main thread, default handler only)."""
    installed = False
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _on_sigterm)
                installed = True
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _one_line(dest: Path, e: OSError) -> WriteError:
    reason = {
        errno.ENOSPC: "disk full",
        errno.EROFS: "read-only file system",
        errno.EACCES: "permission denied",
        errno.EDQUOT: "disk quota exceeded",
    }.get(e.errno, e.strerror or str(e))
    return WriteError(e.errno, f"cannot write {dest}: {reason}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        Destination file; its directory must exist.

    Yields
    ------
    Path
        A path that does not exist yet; the block creates the file there (with any library:
        h5py, torch.save, matplotlib's savefig, ...).

    Raises
    ------
    FileNotFoundError
        The destination directory does not exist.
    WriteError
        An ``OSError`` while writing or renaming (one-line message; nothing left behind).
    """
    dest = Path(path)
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"{dest}: directory {dest.parent} does not exist")
    _sweep(dest)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    with _sigterm_cleanup():
        with _lock:
            _active.add(tmp)
        try:
            yield tmp
            if not tmp.exists():
                raise FileNotFoundError(f"{dest}: the writer created no file")
            _fsync(tmp)
            os.replace(tmp, dest)
            _fsync(dest.parent, directory=True)
        except BaseException as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(e, OSError) and not isinstance(e, (WriteError, FileNotFoundError)):
                raise _one_line(dest, e) from e
            raise
        finally:
            with _lock:
                _active.discard(tmp)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a file for writing that appears at ``path`` only when the block succeeds.

    Parameters
    ----------
    path : str or Path
        Destination.
    mode : {"w", "wb"}
        Text or binary; ``kwargs`` go to :func:`open` (e.g. ``encoding``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
