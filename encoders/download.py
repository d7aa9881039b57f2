"""Fetch data files from mirrors into a data home: verified, atomic, resumable.

One concept: a named file with a known SHA-256 is brought into a directory, or an error
says exactly which files to put where. Only the standard library's ``urllib`` is used.

* **Data home**: ``$SPARSE_NEURO_DATA``, else the user cache directory
  (``platformdirs`` when it is installed, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then
  ``sparse-neuro/data``).
* **Verified**: a file already present is hashed; a match is used as it is (no request),
  a mismatch is fetched again. A download whose hash does not match is discarded.
* **Atomic**: bytes go to ``<name>.part``, which is fsynced and renamed onto ``<name>``
  only after its checksum matched, so ``<name>`` is never a partial file.
* **Resumable**: an existing ``<name>.part`` is continued with an HTTP ``Range`` request;
  a server that ignores ``Range`` (status 200) is read from the start.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DownloadError",
    "RemoteFile",
    "data_home",
    "ensure_files",
    "fetch_file",
    "sha256_of",
]

log = logging.getLogger(__name__)

#: bytes read from the network per call (large enough to be cheap, small enough to resume)
_CHUNK = 1 << 16
#: seconds without data before a connection is given up (the next mirror is tried then)
TIMEOUT_S = 30.0


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum; the message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """A file known by name and SHA-256, to be fetched from ``base_url + name``.

    Parameters
    ----------
    name : str
        File name in the target directory and the last part of each URL (no ``/``).
    sha256 : str
        Expected SHA-256 of the file's bytes, 64 lowercase hex digits.
    size : int or None
        Expected size in bytes, if known (shown in messages and progress; not a check).
    """

    name: str
    sha256: str
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or "\\" in self.name or self.name in (".", ".."):
            raise ValueError(f"name must be a plain file name, got {self.name!r}")
        h = self.sha256
        if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {h!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"size must be >= 0 bytes or None, got {self.size}")


def data_home() -> Path:
    """Directory for downloaded data: ``$SPARSE_NEURO_DATA`` or the user cache directory."""
    env = os.environ.get("SPARSE_NEURO_DATA")
    if env:
        return Path(env).expanduser()
    try:
        import platformdirs  # optional: the platform's own convention where installed
    except ImportError:
        platformdirs = None
    if platformdirs is not None:
        return Path(platformdirs.user_cache_dir("sparse-neuro")) / "data"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "sparse-neuro" / "Cache" / "data"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sparse-neuro" / "data"


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(directory: Path) -> None:
    # the rename is durable only once the directory entry is on disk (POSIX; not on Windows)
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Progress:
    """A bar on a terminal, else a log line at every 25 % (or every 8 MiB when size unknown)."""

    def __init__(self, name: str, total: int | None, start: int) -> None:
        self.name, self.total, self.done = name, total, start
        self.tty = sys.stderr.isatty()
        self._next_log = self._step()

    def _step(self) -> int:
        quarter = (self.total or 0) // 4
        return self.done + (quarter if quarter > 0 else 8 << 20)

    def update(self, n: int) -> None:
        self.done += n
        if self.tty:
            if self.total:
                frac = min(self.done / self.total, 1.0)
                bar = "#" * int(30 * frac)
                sys.stderr.write(f"\r{self.name}: [{bar:<30}] {100 * frac:5.1f}%")
            else:
                sys.stderr.write(f"\r{self.name}: {self.done / 1e6:.1f} MB")
            sys.stderr.flush()
        elif self.done >= self._next_log:
            of = f" of {self.total}" if self.total else ""
            log.info("%s: %d%s bytes", self.name, self.done, of)
            self._next_log = self._step()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _download(url: str, part: Path, total: int | None) -> None:
    """Append ``url``'s bytes to ``part``, continuing from its size with a Range request."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url)
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code != 416 or not have:
            raise
        # 416: the part already holds every byte (or more than the file has); the
        # checksum decides, and a bad part is removed by the caller
        return
    with resp:
        if have and resp.status != 206:
            log.info("%s ignored the Range request: downloading %s from the start", url, part.name)
            have = 0
        elif have:
            if not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                # bytes from another offset would be spliced in: start again next time
                part.unlink()
                raise DownloadError(
                    f"{url}: answered Range bytes={have}- with Content-Range "
                    f"{resp.headers.get('Content-Range')!r}"
                )
            log.info("resuming %s at byte %d", part.name, have)
        length = resp.headers.get("Content-Length")
        progress = _Progress(part.name.removesuffix(".part"), total, have)
        got = 0
        with open(part, "ab" if have else "wb") as fh:
            try:
                for block in iter(lambda: resp.read(_CHUNK), b""):
                    if total is not None and have + got + len(block) > total:
                        # a server that sends more than the file has is not sending the file
                        fh.truncate(0)
                        raise DownloadError(f"{url}: more than the expected {total} bytes")
                    fh.write(block)
                    got += len(block)
                    progress.update(len(block))
            finally:
                # what arrived is kept on disk so that the next call resumes from it
                fh.flush()
                os.fsync(fh.fileno())
                progress.close()
        if length is not None and length.isdigit() and got < int(length):
            # a connection closed early is not a checksum failure: keep the part to resume
            raise http.client.IncompleteRead(b"", int(length) - got)


def fetch_file(remote: RemoteFile, directory: Path, mirrors: Sequence[str]) -> Path:
    """Bring ``remote`` into ``directory`` from the first mirror that delivers it intact.

    Returns the path of the verified file. A file already there with the right checksum
    is returned without any request.

    Raises
    ------
    DownloadError
        Every mirror failed or delivered a file with another checksum.
    """
    directory.mkdir(parents=True, exist_ok=True)
    dest, part = directory / remote.name, directory / (remote.name + ".part")
    if dest.is_file():
        if sha256_of(dest) == remote.sha256:
            return dest
        log.warning("%s: checksum mismatch, fetching it again", dest)
        dest.unlink()
    errors: list[str] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + remote.name
        for _ in range(2):
            resumed = part.exists()
            try:
                _download(url, part, remote.size)
            except (OSError, http.client.HTTPException) as exc:
                # a broken connection leaves a part to resume from on the next call
                why = getattr(exc, "reason", None) or exc
                errors.append(f"{url}: {type(exc).__name__}: {why}")
                break
            got = sha256_of(part)
            if got == remote.sha256:
                os.replace(part, dest)
                _fsync_dir(directory)
                log.info("%s: downloaded and verified (sha256 %s)", dest, got)
                return dest
            part.unlink()
            errors.append(f"{url}: sha256 {got}, expected {remote.sha256}")
            if not resumed:
                break  # a whole download with a wrong checksum: try the next mirror
            # a resumed part may have been stale: once more from the start
    raise DownloadError(
        f"could not download {remote.name} ({'; '.join(errors) or 'no mirrors given'})"
    )


def ensure_files(
    files: Sequence[RemoteFile],
    directory: str | os.PathLike,
    mirrors: Sequence[str],
    *,
    download: bool = True,
) -> Mapping[str, Path]:
    """Every file of ``files`` in ``directory``, verified; fetched when missing or damaged.

    Parameters
    ----------
    files : sequence of RemoteFile
        Names and checksums.
    directory : path
        Where the files live (created when downloading).
    mirrors : sequence of str
        Base URLs tried in order; a file's URL is ``mirror + name``.
    download : bool
        When False, nothing is fetched: missing or damaged files are an error.

    Returns
    -------
    dict
        File name -> verified path.

    Raises
    ------
    DownloadError
        A file could not be had; the message lists every missing file with its URLs and
        checksum and the directory to put it in.
    """
    directory = Path(directory)
    out: dict[str, Path] = {}
    failed: list[tuple[RemoteFile, str]] = []
    for f in files:
        try:
            if download:
                out[f.name] = fetch_file(f, directory, mirrors)
            elif (directory / f.name).is_file() and sha256_of(directory / f.name) == f.sha256:
                out[f.name] = directory / f.name
            else:
                failed.append((f, "missing or damaged (download=False)"))
        except DownloadError as exc:
            failed.append((f, str(exc)))
    if failed:
        raise DownloadError(_manual_instructions(failed, directory, mirrors))
    return out


def _manual_instructions(
    failed: Sequence[tuple[RemoteFile, str]], directory: Path, mirrors: Sequence[str]
) -> str:
    lines = [f"{len(failed)} file(s) could not be had. Put them into {directory}:"]
    for f, why in failed:
        size = f" ({f.size} bytes)" if f.size is not None else ""
        lines.append(f"  {f.name}{size}  sha256 {f.sha256}")
        lines.extend(f"      from {m.rstrip('/')}/{f.name}" for m in mirrors)
        lines.append(f"      why: {why}")
    lines.append("(or set SPARSE_NEURO_DATA to a directory that holds them; check with sha256sum)")
    return "\n".join(lines)
