"""Parameter sweeps and seeds on Dask:
``python -m sparse_neuro sweep NAME --grid k=v1,v2 --seeds 0-4``.

Every point (one combination of grid values and one seed) is an ordinary run of the
experiment into ``OUT/points/<point id>/``; its ``summary.json`` (written atomically by the
runner) is the proof that the point finished. So

* a killed sweep loses at most the points that were running, and re-running the same
  command skips every finished point;
* a failing point writes ``error.txt`` and is reported; it is retried only with
  ``--retry-failed``;
* a sweep directory belongs to one configuration: ``sweep.json`` records the experiment,
  ``--smoke``, the ``--set`` overrides and the code version, and running again into the same
  ``--out`` with any of them different is refused before anything runs or is written (the
  grid and the seeds may grow: each point's directory name says its grid values and seed);
* a worker that dies mid-point has its task rescheduled by the Dask scheduler on another
  worker (``distributed.scheduler.allowed-failures``).

At the end the table of all finished points is (re)built from the point directories:
``OUT/sweep.csv`` and ``OUT/sweep.h5`` (one dataset per column), and ``OUT/sweep.png``
plots every numeric summary key against the first swept parameter, mean and standard
deviation over seeds (one line per combination of the other swept parameters).
Points run on a ``LocalCluster`` of this machine (``--workers`` processes, one thread each)
unless ``--scheduler ADDRESS`` names a running scheduler.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import itertools
import logging
import math
import os
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparse_neuro.experiments.common import (
    UsageError,
    check_out_dir,
    load,
    make_config,
    parse_sets,
    run_experiment,
    write_json_atomic,
)
from sparse_neuro.neuro.storage.atomic import atomic_path, write_text
from sparse_neuro.neuro.storage.checkpoint import code_version
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.provenance import provenance
from sparse_neuro.neuro.storage.safe_read import read_bytes, read_json

__all__ = [
    "SweepPoint",
    "add_arguments",
    "parse_grid",
    "parse_seeds",
    "plan_points",
    "run_sweep",
    "run_sweep_command",
    "collect_table",
]

log = logging.getLogger("sparse_neuro.experiments.sweep")


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: grid values (strings, as on the command line) and a seed."""

    values: tuple[tuple[str, str], ...]
    seed: int

    @property
    def id(self) -> str:
        """Directory name, readable and unique: ``key=value__key=value__seed=N``."""
        parts = [f"{k}={v}" for k, v in self.values] + [f"seed={self.seed}"]
        return re.sub(r"[^A-Za-z0-9_.=+-]", "_", "__".join(parts))


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The sweep sub-command's own arguments (the runner's --out/--smoke/--set are added too)."""
    p.add_argument("name", help="experiment to sweep")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a swept parameter and its values (repeatable: the grid is the product)",
    )
    p.add_argument("--seeds", default="0", help="seeds: '0-4', '0,3,7' or '2' (default 0)")
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler (default: a LocalCluster here)",
    )
    p.add_argument(
        "--workers", type=int, default=2, help="LocalCluster worker processes (default 2)"
    )
    p.add_argument("--retry-failed", action="store_true", help="run failed points again")


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"1,5"`` -> ``[1, 5]`` (ranges and lists may mix)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            a, sep, b = part.strip().partition("-")
            seeds.extend(range(int(a), int(b) + 1) if sep else [int(a)])
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected integers like '0-4' or '0,2,5'") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UsageError(f"--seeds {text!r}: expected distinct seeds >= 0")
    return seeds


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["hidden=32,64", "lr=1e-3"]`` -> ``{"hidden": ["32", "64"], "lr": ["1e-3"]}``."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not vals:
            raise UsageError(f"--grid expects KEY=V1,V2,..., got {item!r}")
        if key.strip() in grid:
            raise UsageError(f"--grid {key.strip()!r} given twice")
        grid[key.strip()] = vals
    return grid


def plan_points(grid: dict[str, list[str]], seeds: list[int]) -> list[SweepPoint]:
    """Every combination of grid values, times every seed (seeds innermost)."""
    keys = list(grid)
    combos = itertools.product(*(grid[k] for k in keys)) if keys else [()]
    return [SweepPoint(tuple(zip(keys, combo)), s) for combo in combos for s in seeds]


def _run_point(name: str, out_dir: str, seed: int, smoke: bool, overrides: dict[str, str]) -> dict:
    """Worker side: one run; a failure is written to ``error.txt`` and returned, not raised."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "error.txt").unlink(missing_ok=True)
    try:
        summary = run_experiment(name, out, seed=seed, smoke=smoke, overrides=overrides)
        return {"status": "finished", "summary": summary}
    except Exception as e:  # a sweep reports failing points and goes on with the others
        text = traceback.format_exc()
        write_text(out / "error.txt", text)
        return {"status": "failed", "error": f"{type(e).__name__}: {e}"}


def _client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster

    # distributed installs its own INFO handler at import; keep its chatter to warnings
    # unless --verbose asked for debug output
    logging.getLogger("distributed").setLevel(max(logging.getLogger().level, logging.WARNING))
    if scheduler:
        client = Client(scheduler, timeout="20s")
        log.info("Dask dashboard of the scheduler: %s", client.dashboard_link)
        return client, None
    if workers < 1:
        raise UsageError(f"--workers must be >= 1, got {workers}")
    # the dashboard needs bokeh (the interop extra); without it distributed would warn instead
    has_bokeh = importlib.util.find_spec("bokeh") is not None
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0" if has_bokeh else None,
    )
    client = Client(cluster)
    if has_bokeh:
        log.info("Dask dashboard: %s", client.dashboard_link)
    else:
        log.debug("no Dask dashboard: bokeh is not installed (pip install 'sparse-neuro[interop]')")
    return client, cluster


def run_sweep(
    name: str,
    out_dir: Path | str,
    grid: dict[str, list[str]],
    seeds: list[int],
    *,
    smoke: bool = False,
    overrides: dict[str, str] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    retry_failed: bool = False,
) -> dict[str, Any]:
    """Run every point of the sweep on Dask, skipping finished ones; write the table and figure.

    Parameters
    ----------
    name : str
        Experiment name (see ``python -m sparse_neuro list``).
    out_dir : path
        Sweep directory: ``points/``, ``sweep.csv``, ``sweep.h5``, ``sweep.png``, ``sweep.json``.
    grid : dict of str -> list of str
        Swept parameters and their values (as ``--set`` strings).
    seeds : list of int
    smoke : bool
        Each point is a ``--smoke`` run.
    overrides : dict, optional
        Fixed ``--set`` values for every point (must not repeat a grid key).
    scheduler : str, optional
        Address of a running Dask scheduler; default a LocalCluster of ``workers`` processes.
    retry_failed : bool
        Run the points that failed before again (otherwise they are only reported).

    Returns
    -------
    dict
        Counts (``points``, ``ran``, ``skipped``, ``failed``), failed point ids and file paths.
    """
    overrides = dict(overrides or {})
    clash = sorted(set(grid) & set(overrides))
    if clash:
        raise UsageError(f"{clash} given both in --grid and --set")
    module = load(name)
    points = plan_points(grid, seeds)
    for p in points:  # every point's configuration is checked before anything runs
        make_config(module, smoke=smoke, overrides={**overrides, **dict(p.values)})
    out = Path(out_dir)
    identity = {
        "experiment": name,
        "smoke": smoke,
        "overrides": overrides,
        "code_version": code_version(),
    }
    stored = check_sweep_identity(out, identity)
    (out / "points").mkdir(parents=True, exist_ok=True)
    if stored is None or (stored.get("grid"), stored.get("seeds")) != (grid, seeds):
        for old in ("sweep.csv", "sweep.h5", "sweep.png"):  # tables of the previous grid
            (out / old).unlink(missing_ok=True)
        write_json_atomic(
            out / "sweep.json",
            {**identity, "grid": grid, "seeds": seeds, "provenance": provenance()},
        )
    todo, skipped, failed_before = [], [], []
    for p in points:
        d = out / "points" / p.id
        if (d / "summary.json").is_file():
            skipped.append(p)
        elif (d / "error.txt").is_file() and not retry_failed:
            failed_before.append(p)
        else:
            todo.append(p)
    log.info(
        "sweep %s: %d points, %d finished before, %d failed before%s, %d to run",
        name,
        len(points),
        len(skipped),
        len(failed_before),
        "" if retry_failed else " (not retried)",
        len(todo),
    )
    failed = {p.id: _last_line(out / "points" / p.id / "error.txt") for p in failed_before}
    if todo:
        failed.update(_run_points(name, out, todo, smoke, overrides, scheduler, workers))
    table = collect_table(out, points)
    files = write_table(out, table)
    if table:
        files["figure"] = str(write_figure(out, table, list(grid), name))
    for pid, err in failed.items():
        log.warning("point %s failed: %s", pid, err)
    return {
        "experiment": name,
        "points": len(points),
        "ran": len(todo),
        "skipped": len(skipped),
        "finished": len(table),
        "failed": len(failed),
        "failed_points": sorted(failed),
        **files,
    }


_MISSING = object()

#: What a sweep directory's configuration is (``sweep.json``); grid and seeds may change.
IDENTITY_KEYS = ("experiment", "smoke", "overrides", "code_version")


def check_sweep_identity(out: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """Refuse a sweep directory holding points of another configuration.

    Parameters
    ----------
    out : Path
        The sweep directory (may not exist yet).
    identity : dict
        This run's values of :data:`IDENTITY_KEYS`.

    Returns
    -------
    dict or None
        The stored ``sweep.json`` (None for a new directory).

    Raises
    ------
    UsageError
        ``sweep.json`` records another configuration, or there are points but no
        ``sweep.json`` (their configuration is unknown).
    FormatError
        ``sweep.json`` is not a JSON object (names the file).
    """
    path = out / "sweep.json"
    if not os.path.lexists(path):
        points = out / "points"
        if points.is_dir() and any(points.iterdir()):
            raise UsageError(
                f"{out}: has points but no sweep.json, so their configuration is "
                "unknown; use another --out (or delete the directory)"
            )
        return None
    stored = read_json(path, "sweep file")
    if not isinstance(stored, dict):
        raise FormatError(
            f"{path}: sweep file must hold a JSON object, got {type(stored).__name__}"
        )
    diff = [
        f"{k}: {stored.get(k, '(not recorded)')!r} there, {identity[k]!r} now"
        for k in IDENTITY_KEYS
        if stored.get(k, _MISSING) != identity[k]
    ]
    if diff:
        raise UsageError(
            f"{out} holds a sweep of another configuration ({'; '.join(diff)}); "
            "its points would be reused as if they were this one's. Use another "
            "--out, or the same --set/--smoke as before."
        )
    return stored


def _last_line(path: Path) -> str:
    """Last line of a point's ``error.txt`` (read capped: it is a traceback)."""
    text = read_bytes(path, 1 << 20, "point error file").decode("utf-8", errors="replace")
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(empty error.txt)"


def _run_points(name, out, todo, smoke, overrides, scheduler, workers) -> dict[str, str]:
    from distributed import as_completed

    from sparse_neuro.experiments.common import RunContext

    client, cluster = _client(scheduler, workers)
    failed: dict[str, str] = {}
    try:
        futures = {
            client.submit(
                _run_point,
                name,
                str(out / "points" / p.id),
                p.seed,
                smoke,
                {**overrides, **dict(p.values)},
                key=f"{name}-{p.id}",
                pure=False,
            ): p
            for p in todo
        }
        bar = RunContext(name, out, 0).progress(total=len(futures), desc="sweep points")
        t0, done = time.monotonic(), 0
        for fut in as_completed(futures):
            p = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # e.g. KilledWorker: the task killed every worker it ran on
                res = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
                write_text(out / "points" / p.id / "error.txt", res["error"] + "\n")
            if res["status"] != "finished":
                failed[p.id] = res["error"]
            bar.update()
            done += 1
            log.info(progress_line(name, done, len(failed), len(futures), time.monotonic() - t0))
        bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return failed


def progress_line(name: str, done: int, failed: int, total: int, elapsed_s: float) -> str:
    """One log line of a sweep's progress: points done (of which failed) and left, and the
    time left at the mean rate so far.

    >>> progress_line("cuba", 3, 1, 10, 90.0)
    'sweep cuba: 3 of 10 points done (1 failed), 7 left, about 3.5 min left'
    """
    left = total - done
    eta = elapsed_s / done * left if done else float("nan")
    when = f"about {_duration(eta)} left" if left else f"all done in {_duration(elapsed_s)}"
    return f"sweep {name}: {done} of {total} points done ({failed} failed), {left} left, {when}"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown time"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


_META = ("point", "seed", "experiment", "smoke")


def collect_table(out: Path | str, points: list[SweepPoint]) -> list[dict[str, Any]]:
    """One row per finished point: its grid values, seed and scalar summary figures."""
    rows = []
    for p in points:
        f = Path(out) / "points" / p.id / "summary.json"
        if not f.is_file():
            continue
        summary = read_json(f, "point summary")
        if not isinstance(summary, dict):
            raise FormatError(f"{f}: point summary must be a JSON object")
        row: dict[str, Any] = {"point": p.id, **dict(p.values), "seed": p.seed}
        for k, v in summary.items():
            if k not in row and isinstance(v, (int, float, str, bool)) and k not in _META:
                row[k] = v
        rows.append(row)
    return rows


def write_table(out: Path, rows: list[dict[str, Any]]) -> dict[str, str]:
    """``sweep.csv`` and ``sweep.h5`` (one dataset per column), both written atomically."""
    import h5py

    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, restval="")
    w.writeheader()
    w.writerows(rows)
    write_text(out / "sweep.csv", buf.getvalue())
    with atomic_path(out / "sweep.h5") as tmp, h5py.File(tmp, "w") as h:
        for c in cols:
            vals = [r.get(c) for r in rows]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                h[c] = np.array(vals, dtype=np.float64)
            else:
                h[c] = np.array(
                    ["" if v is None else str(v) for v in vals], dtype=h5py.string_dtype()
                )
    return {"table_csv": str(out / "sweep.csv"), "table_h5": str(out / "sweep.h5")}


def _as_number(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def write_figure(out: Path, rows: list[dict[str, Any]], swept: list[str], name: str) -> Path:
    """Each numeric summary key against the first swept parameter: mean +- std over seeds."""
    from matplotlib.figure import Figure

    from sparse_neuro.experiments.common import RunContext

    keys = [
        k
        for k in dict.fromkeys(k for r in rows for k in r)
        if k not in _META
        and k not in swept
        and all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool) for r in rows)
        and len({r[k] for r in rows}) > 1
    ]  # constants (n_test, ...) say nothing
    x_key = swept[0] if swept else "seed"
    others = swept[1:]
    x_labels = list(dict.fromkeys(str(r[x_key]) for r in rows))
    x_num = _as_number(x_labels)
    x_pos = dict(zip(x_labels, x_num if x_num is not None else range(len(x_labels))))
    ncols = min(4, max(1, len(keys)))
    nrows = max(1, math.ceil(len(keys) / ncols))
    fig = Figure(figsize=(3.4 * ncols, 2.6 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    groups = sorted({tuple(str(r[k]) for k in others) for r in rows})
    for ax, key in zip(axes, keys):
        for g in groups:
            sel = [r for r in rows if tuple(str(r[k]) for k in others) == g]
            xs = sorted({x_pos[str(r[x_key])] for r in sel})
            per_x = [[r[key] for r in sel if x_pos[str(r[x_key])] == x] for x in xs]
            mean = np.array([np.mean(v) for v in per_x])
            std = np.array([np.std(v) for v in per_x])
            label = ", ".join(f"{k}={v}" for k, v in zip(others, g)) or None
            ax.errorbar(xs, mean, yerr=std, marker="o", ms=3, capsize=3, label=label)
            for x, v in zip(xs, per_x):  # every seed, faint, so the spread is visible
                ax.plot([x] * len(v), v, ".", color="0.6", ms=3, zorder=0)
        ax.set_title(key, fontsize=8)
        ax.set_xlabel(x_key, fontsize=8)
        ax.tick_params(labelsize=7)
        if x_num is None:
            ax.set_xticks(range(len(x_labels)), x_labels)
        if len(groups) > 1:
            ax.legend(fontsize=6)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    n_seeds = len({r["seed"] for r in rows})
    fig.suptitle(
        f"{name}: mean +- std over {n_seeds} seed(s), grey dots = single seeds", fontsize=9
    )
    fig.tight_layout()
    return RunContext(name, out, 0).save_figure(fig, "sweep")


def run_sweep_command(args: argparse.Namespace) -> dict[str, Any]:
    """The ``sweep`` sub-command: parse its arguments and call :func:`run_sweep`."""
    out = check_out_dir(args.out or f"results/sweep-{args.name}")
    return run_sweep(
        args.name,
        out,
        parse_grid(args.grid),
        parse_seeds(args.seeds),
        smoke=args.smoke,
        overrides=parse_sets(args.sets),
        scheduler=args.scheduler,
        workers=args.workers,
        retry_failed=args.retry_failed,
    )
