"""Safe reading of untrusted files: regular files only, no links, sizes checked before reading.

Every reader of the toolkit (networks, recordings, results, NIR graphs, sweep and point
files, checkpoints, datasets) opens its file through this module, so the rules live in one
place:

* :func:`open_regular` opens without following a symbolic link and without blocking
  (``O_NOFOLLOW | O_NONBLOCK``), then requires a regular file (``fstat``): a symlink, a FIFO,
  a device such as ``/dev/zero`` or a directory is a :class:`FormatError`, never read and
  never waited on. The checks apply to the descriptor that is then read, so the path cannot
  be swapped in between.
* :func:`read_bytes` / :func:`read_json` cap what they read.
* :func:`open_h5` opens an HDF5 file from that descriptor and walks every object before any
  data is read (:func:`check_h5`): soft and external links, virtual datasets, external raw
  storage, objects reachable by several hard links, unknown filters and non-numeric dtypes
  are refused, and a dataset or attribute may not declare more bytes than its file can hold
  (uncompressed data: the file size; compressed data: :data:`MAX_RATIO` times its stored
  bytes).
* the total declared by a file must fit in the available memory
  (:func:`available_memory`), else the error names both sizes;
* :func:`load_npz` / :func:`load_npy` check the sizes declared in zip members and ``.npy``
  headers the same way (a zip bomb is refused from its directory, not by running out of
  memory).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import h5py
import numpy as np

from sparse_neuro.neuro.model import validation
from sparse_neuro.neuro.storage.integrity import FormatError

__all__ = [
    "MAX_RATIO",
    "open_regular",
    "open_binary",
    "read_bytes",
    "read_json",
    "open_h5",
    "check_h5",
    "load_npz",
    "open_torch",
    "check_mat",
    "load_npy",
    "available_memory",
]

#: Largest believable ratio of declared (uncompressed) to stored bytes of compressed data:
#: deflate cannot exceed about 1032:1, so a larger claim is a bomb or a lie.
MAX_RATIO = 1100

#: Filters HDF5 has built in (deflate, shuffle, fletcher32, szip, nbit, scale-offset) and
#: h5py's lzf. Any other id would make HDF5 search its plugin path for code to load.
_FILTERS = {
    1: "deflate",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
}
_NOT_COMPRESSING = {2, 3}

#: Default cap of JSON files (sweep, point, summary files are a few kB).
JSON_MAX_BYTES = 64 << 20


def _fail(path: str | os.PathLike, what: str, problem: str) -> FormatError:
    return FormatError(f"{path}: {what} {problem}")


def open_regular(path: str | os.PathLike, what: str = "file") -> int:
    """Open ``path`` read-only if, and only if, it is a regular file; return the descriptor.

    Parameters
    ----------
    path : str or Path
        The file; its last component must not be a symbolic link.
    what : str
        What the file should be (used in messages), e.g. ``"network file"``.

    Returns
    -------
    int
        An open descriptor (the caller closes it).

    Raises
    ------
    FileNotFoundError, PermissionError
        For the path itself, as :func:`open` would.
    FormatError
        A symbolic link, FIFO, device, socket or directory.
    """
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:  # O_NOFOLLOW on a symbolic link
            raise _fail(
                path,
                what,
                "is a symbolic link; readers open regular files only (give the target's path)",
            ) from None
        if e.errno == errno.ENXIO:  # e.g. a socket or an unconnected device
            raise _fail(path, what, "is not a regular file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a directory"
                if stat.S_ISDIR(mode)
                else "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "special"
            )
            raise _fail(path, what, f"is not a regular file ({kind})")
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def open_binary(path: str | os.PathLike, what: str = "file") -> Iterator[BinaryIO]:
    """:func:`open_regular` as a binary file object (closed when the block ends)."""
    fh = os.fdopen(open_regular(path, what), "rb")
    with fh:
        yield fh


def read_bytes(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` bytes.

    Raises
    ------
    FormatError
        Not a regular file, or larger than ``max_bytes`` (checked before reading, and again
        while reading, in case the file grows).
    """
    with open_binary(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise _fail(path, what, f"has {size} bytes, more than the {max_bytes} allowed")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _fail(path, what, f"grew beyond the {max_bytes} bytes allowed while read")
    return data


def read_json(
    path: str | os.PathLike, what: str = "JSON file", max_bytes: int = JSON_MAX_BYTES
) -> Any:
    """Parse a JSON file (UTF-8, at most ``max_bytes``); every failure names the file.

    Raises
    ------
    FormatError
        Not a regular file, too large, not UTF-8, not JSON, or nested too deeply for the
        parser (``RecursionError``).
    """
    raw = read_bytes(path, max_bytes, what)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise _fail(path, what, f"is not UTF-8 text: {e}") from None
    except json.JSONDecodeError as e:
        raise _fail(path, what, f"is not valid JSON: {e}") from None
    except RecursionError:
        raise _fail(path, what, "is nested too deeply to be parsed") from None


# --------------------------------------------------------------------------- HDF5
@contextlib.contextmanager
def open_h5(path: str | os.PathLike, what: str = "HDF5 file") -> Iterator[h5py.File]:
    """Open an HDF5 file read-only after :func:`open_regular`, checked by :func:`check_h5`.

    HDF5 reads through the already checked descriptor (h5py's file-object driver), so the
    file that was checked is the file that is read.

    Raises
    ------
    FormatError
        Not a regular file, not HDF5, or any object :func:`check_h5` refuses.
    """
    with open_binary(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            f = h5py.File(fh, "r")
        except (OSError, ValueError) as e:
            raise _fail(
                path, what, f"is not a readable HDF5 file (truncated or corrupt?): {e}"
            ) from None
        try:
            check_h5(f, str(path), size)
            yield f
        finally:
            f.close()


def check_h5(f: h5py.File, where: str, file_size: int) -> None:
    """Refuse links, virtual or external storage and impossible sizes, reading no data.

    Parameters
    ----------
    f : h5py.File
        Open file.
    where : str
        Name of the file in messages.
    file_size : int
        Its size in bytes (the bound of uncompressed declared sizes).

    Raises
    ------
    FormatError
        Naming the object and what is wrong with it.
    """
    budget = [file_size, 0]  # [uncompressed bytes allowed, compressed bytes stored]
    total = _check_object(f, "/", where, file_size)
    stack: list[tuple[str, h5py.Group]] = [("/", f)]
    while stack:
        gname, g = stack.pop()
        for name in g:
            full = gname.rstrip("/") + "/" + name
            link = g.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                raise FormatError(
                    f"{where}: {full} is a soft link (to {link.path}); links are refused"
                )
            if isinstance(link, h5py.ExternalLink):
                raise FormatError(
                    f"{where}: {full} is an external link (to {link.filename}:"
                    f"{link.path}); links to other files are refused"
                )
            if not isinstance(link, h5py.HardLink):
                raise FormatError(f"{where}: {full} is a link of unknown type; refused")
            obj = g[name]
            if h5py.h5o.get_info(obj.id).rc != 1:
                raise FormatError(
                    f"{where}: {full} is reachable under several names (hard links); refused"
                )
            total += _check_object(obj, full, where, file_size)
            if isinstance(obj, h5py.Dataset):
                nbytes, stored, compressed = _check_dataset(obj, full, where, file_size)
                total += nbytes
                budget[1] += stored if compressed else 0
            elif isinstance(obj, h5py.Group):
                stack.append((full, obj))
            else:
                raise FormatError(
                    f"{where}: {full} is a {type(obj).__name__}; only groups and datasets are read"
                )
    # many datasets each as large as the file would still add up to a multiple of it
    if total > budget[0] + MAX_RATIO * budget[1]:
        raise FormatError(
            f"{where}: datasets and attributes declare {total} bytes in all, "
            f"more than a {file_size}-byte file can hold"
        )
    _check_memory(total, where)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None if unknown: what
    :func:`sparse_neuro.neuro.model.validation.available_memory` says (the one helper every size
    check asks, readers and builders alike)."""
    avail = validation.available_memory()
    return None if avail >= validation.UNKNOWN_MEMORY else avail


def _check_memory(nbytes: int, where: str) -> None:
    """Refuse a read that cannot fit in the available memory, before allocating it."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise FormatError(
            f"{where}: reading it needs about {nbytes / 2**30:.2f} GiB "
            f"({nbytes} bytes), more than the {avail / 2**30:.2f} GiB of memory "
            "available; free memory or read it on a larger machine"
        )


def _declared(shape: tuple[int, ...] | None, tid: Any) -> int:
    """Bytes a dataset or attribute of ``shape`` and HDF5 type ``tid`` claims in memory."""
    n = math.prod(shape) if shape else 1
    return n * max(int(tid.get_size()), 1)


def _check_dtype(dtype: np.dtype, full: str, where: str) -> None:
    """Numbers, booleans and strings only: no references, compounds, opaque or vlen arrays."""
    if h5py.check_string_dtype(dtype) is not None:
        return
    if dtype.kind not in "biufcS" or dtype.fields is not None or dtype.subdtype is not None:
        raise FormatError(
            f"{where}: {full} has dtype {dtype}; only numbers, booleans and strings are read"
        )


def _check_object(obj: h5py.HLObject, full: str, where: str, file_size: int) -> int:
    """Check the attributes of ``obj`` (dtype, declared size); their declared bytes."""
    total = 0
    for name in obj.attrs:
        aid = h5py.h5a.open(obj.id, name.encode())
        what = f"{full} attribute {name!r}"
        if aid.get_space().get_simple_extent_type() == h5py.h5s.NULL:
            continue  # h5py.Empty: no data at all
        _check_dtype(aid.dtype, what, where)
        nbytes = _declared(aid.shape, aid.get_type())
        if nbytes > file_size:
            raise FormatError(
                f"{where}: {what} declares {nbytes} bytes, more than the file "
                f"({file_size} bytes) can hold"
            )
        total += nbytes
    return total


def _check_dataset(d: h5py.Dataset, full: str, where: str, file_size: int) -> tuple[int, int, bool]:
    """Refuse virtual, external or oversized datasets; (declared bytes, stored bytes,
    compressed?)."""
    dcpl = d.id.get_create_plist()
    if dcpl.get_layout() == h5py.h5d.VIRTUAL:
        raise FormatError(f"{where}: {full} is a virtual dataset (data from other files); refused")
    if dcpl.get_external_count() > 0:
        ext = dcpl.get_external(0)[0].decode(errors="replace")
        raise FormatError(f"{where}: {full} keeps its data in an external file ({ext}); refused")
    _check_dtype(d.dtype, full, where)
    filters = [dcpl.get_filter(i)[0] for i in range(dcpl.get_nfilters())]
    unknown = [fid for fid in filters if fid not in _FILTERS]
    if unknown:
        raise FormatError(
            f"{where}: {full} uses unknown HDF5 filter(s) {unknown}; known: "
            f"{sorted(_FILTERS.values())}"
        )
    compressed = any(fid not in _NOT_COMPRESSING for fid in filters)
    nbytes = _declared(d.shape, d.id.get_type())
    stored = int(d.id.get_storage_size())
    limit = MAX_RATIO * stored + 4096 if compressed else file_size
    if nbytes > limit:
        how = (
            f"{MAX_RATIO} times its {stored} stored bytes"
            if compressed
            else f"the file ({file_size} bytes)"
        )
        raise FormatError(
            f"{where}: {full} declares {nbytes} bytes ({d.shape} {d.dtype}), "
            f"more than {how} can hold"
        )
    return nbytes, stored, compressed


# --------------------------------------------------------------------------- numpy files
def _npy_header(fh: BinaryIO, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and data bytes declared by a ``.npy`` header (no data read)."""
    try:
        version = np.lib.format.read_magic(fh)
        shape, _fortran, dtype = (
            np.lib.format.read_array_header_1_0(fh)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(fh)
        )
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"{where}: not a .npy array: {e}") from None
    if dtype.hasobject:
        raise FormatError(f"{where}: holds Python objects (dtype {dtype}); refused")
    return shape, dtype, math.prod(shape) * dtype.itemsize


def load_npy(path: str | os.PathLike, what: str = ".npy file") -> np.ndarray:
    """A ``.npy`` array whose declared size its file holds (no pickles)."""
    with open_binary(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        shape, dtype, nbytes = _npy_header(fh, str(path))
        if nbytes > size - fh.tell():
            raise _fail(
                path,
                what,
                f"declares {nbytes} bytes ({shape} {dtype}), more than its {size} bytes hold",
            )
        fh.seek(0)
        return np.load(fh, allow_pickle=False)


def _zip_file(fh: BinaryIO, path: str | os.PathLike, what: str) -> zipfile.ZipFile:
    """``fh`` opened as a zip archive (to read its directory), or a FormatError."""
    try:
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _fail(path, what, f"is not a zip archive: {e}") from None


def _check_zip_directory(
    members: list[zipfile.ZipInfo], size: int, cap: int, path: str | os.PathLike, what: str
) -> int:
    """The total size the members of a zip archive of ``size`` bytes declare, refusing a zip
    bomb before anything is extracted: a stored member may declare at most the file size, a
    compressed one :data:`MAX_RATIO` times its stored size, all together at most ``cap``
    bytes and the memory available."""
    declared = 0
    for m in members:
        limit = (
            size if m.compress_type == zipfile.ZIP_STORED else MAX_RATIO * m.compress_size + 4096
        )
        declared += m.file_size
        if m.file_size > limit or declared > cap:
            raise _fail(
                path,
                what,
                f"member {m.filename!r} declares {m.file_size} "
                f"bytes from {m.compress_size} stored ({declared} "
                f"in all, at most {cap} allowed); refused",
            )
    _check_memory(declared, str(path))
    return declared


@contextlib.contextmanager
def open_torch(path: str | os.PathLike, what: str = "torch file") -> Iterator[BinaryIO]:
    """A regular file written by ``torch.save`` (a zip archive), opened for ``torch.load``
    after its directory was checked: its members may declare together at most the file size
    (``torch.save`` stores them uncompressed), so a zip bomb is refused before loading.

    Raises
    ------
    FormatError
        Not a zip archive, or members declaring more than the file holds.
    """
    with open_binary(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        with _zip_file(fh, path, what) as zf:
            _check_zip_directory(zf.infolist(), size, size, path, what)
        fh.seek(0)
        yield fh


def check_mat(fh: BinaryIO, path: str | os.PathLike, what: str = "MATLAB file") -> None:
    """Refuse a MATLAB (v5) file whose variables declare more than it can hold, before
    ``scipy.io.loadmat`` inflates them: its directory (``scipy.io.whosmat``) gives every
    variable's shape; at 8 bytes an element they may take at most :data:`MAX_RATIO` times the
    file size (compressed variables) and the memory available. ``fh`` is left at its start.

    Raises
    ------
    FormatError
        Not a MATLAB file scipy can list, or declared sizes beyond the caps.
    """
    import scipy.io

    size = os.fstat(fh.fileno()).st_size
    try:
        listing = scipy.io.whosmat(fh)
    except Exception as e:  # scipy raises ValueError, TypeError, MatReadError...
        raise _fail(path, what, f"is not a MATLAB file scipy can read: {e}") from None
    finally:
        fh.seek(0)
    declared = sum(8 * int(np.prod(shape, dtype=np.float64)) for _name, shape, _cls in listing)
    if declared > MAX_RATIO * size + 4096:
        raise _fail(
            path,
            what,
            f"declares {declared} bytes of variables in a file of {size} bytes; refused",
        )
    _check_memory(declared, str(path))


def load_npz(
    path: str | os.PathLike, what: str = ".npz file", max_bytes: int | None = None
) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, refusing a zip bomb from its directory.

    Parameters
    ----------
    path : str or Path
    what : str
        Used in messages.
    max_bytes : int, optional
        Cap of the arrays' total size. Default: the file size, i.e. the file must hold its
        arrays uncompressed (as ``np.savez`` writes them); a caller expecting compressed
        members (``np.savez_compressed``) passes the size it expects. A compressed member
        may in any case declare at most :data:`MAX_RATIO` times its compressed size.

    Raises
    ------
    FormatError
        Not a zip of ``.npy`` arrays, or sizes beyond the caps (named with the member).
    """
    with open_binary(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        with _zip_file(fh, path, what) as zf:
            members = zf.infolist()
            declared = _check_zip_directory(
                members, size, size if max_bytes is None else max_bytes, path, what
            )
            _check_memory(declared, str(path))
            out = {}
            for m in members:
                name = m.filename[:-4] if m.filename.endswith(".npy") else m.filename
                try:
                    with zf.open(m) as member:
                        _shape, _dt, nbytes = _npy_header(member, f"{path}:{m.filename}")
                        if nbytes > m.file_size:
                            raise _fail(
                                path,
                                what,
                                f"member {m.filename!r} declares {nbytes} bytes in {m.file_size}",
                            )
                    with zf.open(m) as member:
                        out[name] = np.lib.format.read_array(member, allow_pickle=False)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                    if isinstance(e, FormatError):
                        raise
                    raise _fail(path, what, f"member {m.filename!r} is damaged: {e}") from None
            return out
