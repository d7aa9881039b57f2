"""NIR files read as safely as the toolkit's own HDF5 files (NIR files carry no checksum).

``nir.read`` opens any path with h5py and follows whatever the file says: soft and external
links, virtual datasets and external raw storage read other files, a link to a FIFO blocks
for ever, and a declared size is allocated before it is found impossible. :func:`read_nir`
opens the file through :func:`sparse_neuro.neuro.storage.safe_read.open_h5` instead (regular files
only, every object checked before any data is read) and builds the graph with NIR's own converter.
"""

from __future__ import annotations

import os
from typing import Any

from sparse_neuro.neuro.storage.atomic import atomic_path
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.safe_read import open_h5

__all__ = ["read_nir", "write_nir"]


def read_nir(path: str | os.PathLike) -> Any:
    """Read a ``nir.NIRGraph`` from an HDF5 file written by ``nir.write``.

    Raises
    ------
    FormatError
        Not a regular file, not HDF5, links or external/virtual storage, declared sizes the
        file cannot hold, or content NIR cannot turn into a graph (names the file).
    FileNotFoundError, PermissionError
        For the path itself.
    """
    import nir
    from nir.serialization import hdf2dict

    with open_h5(path, "NIR file") as f:
        if "node" not in f:
            raise FormatError(f"{path}: NIR file has no 'node' group")
        try:
            data = hdf2dict(f["node"])
        except Exception as e:  # h5py raises many types for damaged data
            raise FormatError(f"{path}: damaged NIR file: {type(e).__name__}: {e}") from None
    if "type_check" in data:
        raise FormatError(f"{path}: NIR file has a reserved 'type_check' entry")
    try:
        return nir.dict2NIRNode({**data, "type_check": True})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise FormatError(f"{path}: not a valid NIR graph: {type(e).__name__}: {e}") from None


def write_nir(path: str | os.PathLike, graph: Any) -> None:
    """``nir.write`` to a temporary file renamed over ``path`` (atomic, as every writer)."""
    import nir

    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
