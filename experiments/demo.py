"""The demo tour: every headline experiment at a quick size, and an index page of results."""

from __future__ import annotations

import dataclasses
import html
import sys
import time
import traceback
from pathlib import Path

from experiments.common import UsageError, load, run_experiment, write_json_atomic
from experiments.registry import DEMO
from neuro.atomic import atomic_open

__all__ = ["run_demo"]


def demo_overrides(overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    """Split ``--set`` overrides of the tour: each key goes to every demo experiment whose
    Config has it; a key that no demo experiment has is a :class:`UsageError`."""
    fields = {name: {f.name for f in dataclasses.fields(load(name).Config)} for name in DEMO}
    unknown = sorted(k for k in overrides if not any(k in f for f in fields.values()))
    if unknown:
        valid = sorted(set().union(*fields.values()))
        raise UsageError(f"unknown parameter(s) {unknown} for the demo; valid keys: {', '.join(valid)}")
    return {name: {k: v for k, v in overrides.items() if k in f} for name, f in fields.items()}


def run_demo(out_dir: Path | str, *, seed: int = 0, smoke: bool = False,
             overrides: dict[str, str] | None = None) -> dict:
    """Run each experiment of ``registry.DEMO`` at its QUICK size into ``out_dir/NAME``.

    ``overrides`` (``--set``) apply to every experiment that has the parameter (see
    :func:`demo_overrides`).

    Writes ``out_dir/index.html`` (figures and summary figures of every experiment) and
    ``out_dir/summary.json``. A failing experiment is reported on the page and makes the
    tour raise at the end, after the others have run.
    """
    per_experiment = demo_overrides(overrides or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for i, name in enumerate(DEMO, 1):
        print(f"== demo {i}/{len(DEMO)}: {name}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = run_experiment(name, out / name, seed=seed, smoke=smoke, quick=True,
                                           overrides=per_experiment[name])
        except Exception:  # keep touring; report at the end
            failures[name] = traceback.format_exc()
            print(failures[name], file=sys.stderr)
        print(f"   {name} took {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    write_json_atomic(out / "summary.json", {"experiments": results, "failures": failures})
    _write_index(out, results, failures)
    print(f"index page: {out / 'index.html'}", file=sys.stderr)
    if failures:
        raise RuntimeError(f"demo experiments failed: {sorted(failures)}")
    return results


def _write_index(out: Path, results: dict[str, dict], failures: dict[str, str]) -> None:
    parts = ["<!doctype html><meta charset='utf-8'><title>sparse-neuro demo</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "img{max-width:48%;margin:4px;border:1px solid #ccc}td,th{padding:2px 8px}"
             "pre{background:#fee}</style>",
             "<h1>Demo tour</h1>"]
    for name in DEMO:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if name in failures:
            parts.append(f"<pre>{html.escape(failures[name])}</pre>")
            continue
        rows = "".join(
            f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(_short(v))}</td></tr>"
            for k, v in results.get(name, {}).items()
        )
        parts.append(f"<table>{rows}</table>")
        for png in sorted((out / name).glob("*.png")):
            parts.append(f"<img src='{html.escape(name)}/{html.escape(png.name)}' alt='{png.stem}'>")
    with atomic_open(out / "index.html") as fh:
        fh.write("\n".join(parts))


def _short(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    s = str(v)
    return s if len(s) < 200 else s[:197] + "..."
