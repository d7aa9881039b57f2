"""Compiled kernels that cannot run stale: numba's on-disk cache keyed to the library's sources.

Numba's cache checks only the timestamp of the file that holds a cached function. The one step
loop inlines stages, rules and kernels of other modules
(:func:`sparse_neuro.neuro.engines.loop.register_stages`,
:func:`sparse_neuro.neuro.engines.learn.register_rule`, the LLVM IR of
:mod:`sparse_neuro.neuro.train.kernels.simd`), so a change to one of those would run the old
compiled code. Every kernel of the library is therefore compiled through :func:`njit`, which
places its cache in a directory named after a hash of the sources of every package that holds
kernels (:data:`PACKAGES`, found where they are imported from: :func:`package_dirs`;
:func:`source_key`): any edit of any of them, a ``git pull``, another installed version, gives
a new directory and a fresh compile, with no manual step. Old directories are pruned (the
newest :data:`KEEP` stay).

The cache lives under ``$SPARSE_NEURO_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/sparse-neuro``, else
``$XDG_CACHE_HOME/sparse-neuro/numba`` (``~/.cache/...``). If it cannot be written, kernels are
compiled in memory only (a warning says so), never cached where the key does not reach.

:func:`compile_time` measures the compilation that happens inside a block (numba's event API),
so engines report it apart from the simulation's wall time, and logs each compile on a cold
cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numba
from numba.core import config as _numba_config
from numba.core import event as _numba_event

__all__ = [
    "KEEP",
    "NUMBA_RANGE",
    "PACKAGES",
    "CompileTime",
    "cache_dir",
    "check_keyed",
    "compile_time",
    "njit",
    "package_dirs",
    "source_key",
]

log = logging.getLogger(__name__)

#: numba releases the kernels are tested with, ``[low, high)``: the lowest in CI's lowest-
#: version job, the highest in the default one. Kept equal to ``pyproject.toml`` by a test.
#: The kernels use numba's private ``_nrt=False`` option (no reference counting in the step
#: loop) and LLVM IR intrinsics, so an untested release is refused rather than trusted.
NUMBA_RANGE = ((0, 60), (0, 69))


def _check_numba(version: str = numba.__version__) -> None:
    """Raise ImportError unless numba ``version`` lies in :data:`NUMBA_RANGE`."""
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    low, high = NUMBA_RANGE
    if not low <= parts < high:
        fmt = ".".join
        raise ImportError(
            f"sparse-neuro needs numba >= {fmt(map(str, low))} and < {fmt(map(str, high))} "
            f"(the releases its kernels are tested with); numba {version} is installed. "
            f"Install a supported one: pip install 'numba>={fmt(map(str, low))},"
            f"<{fmt(map(str, high))}'"
        )


_check_numba()

#: Packages whose modules hold kernels or code that kernels inline.
PACKAGES = ("sparse_neuro.neuro", "sparse_neuro.hardware_models", "sparse_neuro.learning")
#: Cache directories of other source versions kept (the newest by modification time).
KEEP = 4


def package_dirs() -> dict[str, Path]:
    """The folder of each of :data:`PACKAGES` as this interpreter imports it: the repository's
    folder in an editable install, ``site-packages/sparse_neuro/<part>`` in a wheel, or a copy
    of the library that comes first on ``sys.path``. Finding a subpackage imports only its
    parent ``sparse_neuro``."""
    import importlib.util

    out = {}
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"sparse-neuro: cannot locate the package {name}")
        out[name] = Path(list(spec.submodule_search_locations)[0])
    return out


@functools.cache
def source_key() -> str:
    """SHA-256 (hex) of every ``.py`` file of :data:`PACKAGES` (``<package>/<relative path>``
    and bytes, in sorted order) and of the numba and llvmlite versions: the identity of the
    compiled code, the same for an editable install, a wheel and a copy of the same sources.

    Computed once per process (about 2 MB of source, a few milliseconds).
    """
    import llvmlite

    h = hashlib.sha256()
    h.update(f"numba {numba.__version__} llvmlite {llvmlite.__version__}\n".encode())
    for pkg, base in package_dirs().items():
        for path in sorted(base.rglob("*.py")):
            h.update(f"{pkg}/{path.relative_to(base).as_posix()}".encode() + b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _cache_root() -> Path:
    if os.environ.get("SPARSE_NEURO_CACHE_DIR"):
        return Path(os.environ["SPARSE_NEURO_CACHE_DIR"])
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "sparse-neuro"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "sparse-neuro" / "numba"


def _prune(root: Path, keep: Path) -> None:
    """Remove all but the newest :data:`KEEP` cache directories of other source versions."""
    try:
        others = [p for p in root.iterdir() if p.is_dir() and p != keep and not p.is_symlink()]
    except OSError:
        return
    others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


@functools.cache
def cache_dir() -> Path | None:
    """The cache directory of this source version (created), or ``None`` if it cannot be
    written (kernels are then compiled in memory on every run)."""
    root = _cache_root()
    path = root / source_key()[:20]
    try:
        fresh = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        warnings.warn(
            f"sparse-neuro: cannot write the kernel cache {path} ({err}); kernels are "
            "compiled on every run. Set SPARSE_NEURO_CACHE_DIR to a writable directory.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    if fresh:
        log.info(
            "new kernel cache %s: kernels compile on first use (once per source version)", path
        )
        _prune(root, path)
    os.utime(path)  # mark as recently used, so pruning keeps it
    return path


def njit(*args, **options) -> Callable:
    """``numba.njit`` with the on-disk cache in :func:`cache_dir` (``cache=True`` is implied).

    Use exactly as ``numba.njit``: ``@njit``, ``@njit(nogil=True, ...)`` or
    ``njit(...)(fn)``.
    """
    if args and callable(args[0]):
        return njit(**options)(args[0])
    options.setdefault("cache", True)
    where = cache_dir() if options["cache"] else None
    if getattr(_numba_config, "CACHE_LOCATOR_CLASSES", None):
        # the user chose numba's cache places: they would not be keyed, so compile in memory
        where = None
    if where is None:
        options["cache"] = False

    def decorate(fn: Callable) -> Callable:
        # numba picks a function's cache directory when the dispatcher is made (its
        # user-provided locator reads config.CACHE_DIR then), so the setting is needed only
        # for this call; the user's own kernels keep their own cache place.
        saved = _numba_config.CACHE_DIR
        _numba_config.CACHE_DIR = str(where) if where is not None else saved
        try:
            disp = numba.njit(*args, **options)(fn)
        finally:
            _numba_config.CACHE_DIR = saved
        return disp

    return decorate


def check_keyed(*functions: Callable) -> None:
    """Raise ValueError unless every function is defined in a module of :data:`PACKAGES`.

    Stages and rules are inlined into the cached step loop, whose cache key covers the
    library's sources only: code from elsewhere could change without the loop noticing.
    """
    for fn in functions:
        py = getattr(fn, "py_func", fn)
        module = getattr(py, "__module__", "") or ""
        if not any(module == p or module.startswith(p + ".") for p in PACKAGES):
            raise ValueError(
                f"{getattr(py, '__qualname__', fn)!r} is defined in module {module!r}; stages "
                f"and rules inlined into the cached step loop must live in one of {PACKAGES} "
                "(the kernel cache is keyed to those sources only; see sparse_neuro.neuro.jit)"
            )


class CompileTime:
    """Seconds spent compiling inside a :func:`compile_time` block (``seconds``)."""

    def __init__(self) -> None:
        self.seconds = 0.0


class _Listener(_numba_event.Listener):
    """Sums the outermost ``numba:compile`` events and logs each on a terminal-free line."""

    def __init__(self, out: CompileTime) -> None:
        self.out = out
        self.depth = 0
        self.t0 = 0.0

    def on_start(self, event) -> None:
        if self.depth == 0:
            self.t0 = time.perf_counter()
            data = event.data or {}
            disp = data.get("dispatcher")
            name = getattr(getattr(disp, "py_func", None), "__qualname__", "a kernel")
            log.info("compiling %s (first use of this source version; cached afterwards)", name)
        self.depth += 1

    def on_end(self, event) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.out.seconds += time.perf_counter() - self.t0


@contextlib.contextmanager
def compile_time() -> Iterator[CompileTime]:
    """Measure (and log) numba compilation inside the block.

    Yields a :class:`CompileTime` whose ``seconds`` is the time spent compiling, so a
    simulation can report its wall time without it (``meta["compile_s"]``).
    """
    out = CompileTime()
    with _numba_event.install_listener("numba:compile", _Listener(out)):
        yield out
