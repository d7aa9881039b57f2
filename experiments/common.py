"""The experiment contract and the context a run writes through.

An experiment is a module with

- ``Config``: a frozen, validated dataclass of parameters (the defaults are the full run),
- ``SMOKE``: overrides for a run of a few seconds (tests), ``QUICK``: overrides for the demo,
- ``run(cfg, ctx) -> dict``: does the work and returns flat summary figures.

The runner writes ``summary.json`` (the figures plus run facts and the run's provenance,
:func:`sparse_neuro.neuro.storage.provenance.provenance`), ``config.json`` and
``report.html`` (summary, scorecard if the run wrote one, captioned figures); figures and
arrays go through :class:`RunContext` so every file is written atomically.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import sys
import time
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from sparse_neuro.experiments.names import EXPERIMENTS  # noqa: E402
from sparse_neuro.neuro.model.validation import integer  # noqa: E402
from sparse_neuro.neuro.storage.atomic import atomic_open  # noqa: E402
from sparse_neuro.neuro.storage.provenance import provenance  # noqa: E402

__all__ = [
    "RunContext",
    "UsageError",
    "check_out_dir",
    "format_summary",
    "load",
    "make_config",
    "parse_sets",
    "run_experiment",
    "setup_output",
    "write_json_atomic",
]

log = logging.getLogger("sparse_neuro.experiments")
_SHOW_PROGRESS: bool | None = None  # set by setup_output; None: bars when stderr is a terminal


class UsageError(ValueError):
    """A bad command line: unknown experiment or parameter, unusable output directory."""


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file in the same directory, then rename it into place."""
    with atomic_open(path) as f:
        json.dump(obj, f, indent=2, default=_json_default)


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON-serialisable: {type(x).__name__}")


@dataclass
class RunContext:
    """Where and how an experiment run writes its outputs.

    Attributes
    ----------
    name : str
        Experiment name.
    out_dir : Path
        Output directory (created).
    seed : int
        Seed for every random choice of the run.
    smoke : bool
        True for the tiny test-sized run.
    figures : list of sparse_neuro.experiments.report.FigureEntry
        Figures saved so far, with captions (the run's report page shows them).
    """

    name: str
    out_dir: Path
    seed: int
    smoke: bool = False
    figures: list = dataclasses.field(default_factory=list)

    def save_figure(
        self,
        fig: matplotlib.figure.Figure,
        name: str,
        dpi: int | None = None,
        caption: str | None = None,
    ) -> Path:
        """Save ``fig`` as ``out_dir/name.png`` (print resolution unless ``dpi``) and
        ``name.svg`` atomically, close it, and list it with its caption for the run's report.

        ``caption`` defaults to the registered one (:mod:`sparse_neuro.experiments.captions`), else
        to the figure's titles.
        """
        from sparse_neuro.experiments.report import default_caption, save_figure

        try:
            text = caption or default_caption(self.name, name, fig)
            self.figures.append(save_figure(fig, self.out_dir, name, text, dpi=dpi))
        finally:
            plt.close(fig)
        return self.out_dir / f"{name}.png"

    def save_arrays(
        self, group: str, arrays: dict[str, np.ndarray], attrs: dict | None = None
    ) -> Path:
        """Store arrays under ``group`` in ``out_dir/results.h5`` (atomic rewrite)."""
        from sparse_neuro.neuro.storage.hdf5 import write_arrays

        path = self.out_dir / "results.h5"
        write_arrays(path, group, arrays, attrs)
        return path

    @property
    def show_progress(self) -> bool:
        """Whether to draw progress bars (stderr is a terminal and not ``--quiet``); pass it
        as ``progress=`` to engines and training loops."""
        return _SHOW_PROGRESS if _SHOW_PROGRESS is not None else sys.stderr.isatty()

    def progress(
        self, iterable: Iterable | None = None, total: int | None = None, desc: str = ""
    ) -> tqdm:
        """A tqdm progress bar labelled with the experiment name (off unless :attr:`show_progress`)."""
        return tqdm(
            iterable,
            total=total,
            desc=f"{self.name}: {desc}" if desc else self.name,
            leave=False,
            mininterval=1.0,
            disable=not self.show_progress,
        )

    def checkpoint_path(self, name: str) -> Path:
        """Path for a checkpoint file (the directory is created)."""
        d = self.out_dir / "checkpoints"
        d.mkdir(parents=True, exist_ok=True)
        return d / name


def load(name: str) -> types.ModuleType:
    """Import the module of experiment ``name``."""
    if name not in EXPERIMENTS:
        raise UsageError(f"unknown experiment {name!r}; valid: {', '.join(sorted(EXPERIMENTS))}")
    return importlib.import_module(EXPERIMENTS[name])


def _parse(value: str, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if tp in (int, float, str):
            return tp(value)
        if origin is tuple:
            inner = typing.get_args(tp)[0]
            return tuple(inner(v) for v in value.split(",") if v.strip())
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if value.lower() == "none" and len(args) < len(typing.get_args(tp)):
                return None
            return _parse(value, args[0], key)
    except ValueError:
        raise UsageError(
            f"--set {key}={value!r}: cannot read it as {getattr(tp, '__name__', tp)}"
        ) from None
    raise UsageError(f"--set {key}: unsupported parameter type {tp}")


def _check_finite_set(cfg_cls: type, key: str, raw: str, value: Any) -> None:
    """Refuse ``--set key=nan`` (or inf) for a parameter whose default is finite: NaN passes
    most range checks (every comparison is False) and fails later under another name."""
    if not isinstance(value, float) or np.isfinite(value):
        return
    field = {f.name: f for f in dataclasses.fields(cfg_cls)}[key]
    default = field.default
    if isinstance(default, (int, float)) and not isinstance(default, bool) and np.isfinite(default):
        raise UsageError(f"--set {key}={raw!r}: must be a finite number (default {default!r})")


def make_config(
    module: types.ModuleType,
    smoke: bool = False,
    quick: bool = False,
    overrides: dict[str, str] | None = None,
) -> Any:
    """The module's Config with SMOKE/QUICK and ``key=value`` string overrides applied."""
    cfg_cls = module.Config
    hints = typing.get_type_hints(cfg_cls)
    values: dict[str, Any] = {}
    if quick:
        values.update(getattr(module, "QUICK", {}))
    if smoke:
        values.update(getattr(module, "SMOKE", {}))
    for key, raw in (overrides or {}).items():
        if key not in hints:
            valid = ", ".join(f.name for f in dataclasses.fields(cfg_cls))
            raise UsageError(f"unknown parameter {key!r}; valid keys: {valid}")
        values[key] = _parse(raw, hints[key], key)
        _check_finite_set(cfg_cls, key, raw, values[key])
    try:
        return cfg_cls(**values)
    except ValueError as e:  # a --set value out of its valid range
        raise UsageError(f"{module.__name__.rsplit('.', 1)[-1]}: {e}") from None


def describe(module: types.ModuleType) -> str:
    """Help text: the experiment's docstring and its parameters with defaults."""
    lines = [(module.__doc__ or "").strip(), "", "parameters (--set key=value):"]
    for f in dataclasses.fields(module.Config):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"  {f.name} = {default!r}")
    smoke = getattr(module, "SMOKE", {})
    if smoke:
        lines.append(f"--smoke sets: {smoke}")
    return "\n".join(lines)


#: Largest seed an experiment accepts (numpy's SeedSequence takes more, torch's manual_seed
#: and some legacy generators take 32 bits: one range for all).
MAX_SEED = 2**32 - 1


def check_seed(seed: int) -> int:
    """``seed`` as an int in ``[0, MAX_SEED]``, or a ValueError naming ``seed`` and the range."""
    return integer("seed", seed, 0, MAX_SEED)


def run_experiment(
    name: str,
    out_dir: Path | str,
    *,
    seed: int = 0,
    smoke: bool = False,
    quick: bool = False,
    overrides: dict[str, str] | None = None,
) -> dict:
    """Run experiment ``name`` into ``out_dir``; return its summary (also in summary.json)."""
    seed = check_seed(seed)
    module = load(name)
    cfg = make_config(module, smoke=smoke, quick=quick, overrides=overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(name=name, out_dir=out, seed=int(seed), smoke=smoke)
    write_json_atomic(
        out / "config.json",
        {"experiment": name, "seed": seed, "smoke": smoke, **dataclasses.asdict(cfg)},
    )
    t0 = time.perf_counter()
    summary = dict(module.run(cfg, ctx))
    summary.setdefault("total_wall_s", time.perf_counter() - t0)
    full = {"experiment": name, "seed": int(seed), "smoke": smoke, **summary}
    full.setdefault("provenance", provenance())
    write_json_atomic(out / "summary.json", full)
    from sparse_neuro.experiments.report import render_experiment_page

    render_experiment_page(ctx, cfg, full)
    log.info(
        "%s finished in %.1f s; summary in %s", name, summary["total_wall_s"], out / "summary.json"
    )
    return full


# ----------------------------------------------------------------------------- command line
def parse_sets(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` -> ``{key: value}`` (strings; typed later by :func:`make_config`)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def check_out_dir(path: Path | str) -> Path:
    """``path`` as an output directory, or a :class:`UsageError` saying why it cannot be one.

    It must be a directory (or not exist yet) and writable; when it does not exist, its
    nearest existing ancestor must be a writable directory.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(path)!r} is an existing file, not a directory")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--out {str(path)!r}: {str(probe)!r} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(path)!r}: directory {str(probe)!r} is not writable")
    return out


def setup_output(quiet: bool = False, verbose: bool = False) -> None:
    """Log to stderr (INFO; WARNING with ``quiet``, DEBUG with ``verbose``) and silence tqdm
    bars when stderr is not a terminal or ``quiet`` (a redirected log stays small)."""
    global _SHOW_PROGRESS
    if quiet and verbose:
        raise UsageError("--quiet and --verbose exclude each other")
    _SHOW_PROGRESS = not quiet and sys.stderr.isatty()
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s", force=True
    )
    for noisy in ("matplotlib", "numba", "distributed", "asyncio", "fsspec", "PIL", "h5py"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    if quiet or not sys.stderr.isatty():
        # tqdm (>= 4.66) reads TQDM_* at import: this reaches worker processes started from
        # here; the command line sets it before its own imports (experiments/__main__.py)
        os.environ["TQDM_DISABLE"] = "1"


def format_summary(summary: dict[str, Any], indent: str = "") -> str:
    """Readable ``key: value`` lines (floats to 4 significant digits, long lists shortened)."""
    lines = []
    for k, v in summary.items():
        if k == "provenance" and isinstance(v, dict):  # in full in summary.json and --json
            lines.append(f"{indent}{k}: {_short_provenance(v)}")
        elif isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(format_summary(v, indent + "  "))
        else:
            lines.append(f"{indent}{k}: {_fmt(v)}")
    return "\n".join(lines)


def _short_provenance(p: dict[str, Any]) -> str:
    """``sparse-neuro 0.2.0, commit 1a2b3c4d5e6f (dirty), 2026-01-01T00:00:00+00:00``."""
    git = p.get("git") if isinstance(p.get("git"), dict) else {}
    commit = git.get("commit")
    where = f", commit {str(commit)[:12]}{' (dirty)' if git.get('dirty') else ''}" if commit else ""
    return f"sparse-neuro {p.get('sparse_neuro', '?')}{where}, {p.get('date', '?')}"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"[{len(v)} values]"
    return str(v)
