"""The demo tour: every headline experiment at a quick size, and an index page of results."""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from pathlib import Path

from sparse_neuro.experiments.common import UsageError, load, run_experiment, write_json_atomic
from sparse_neuro.experiments.names import DEMO
from sparse_neuro.experiments.report import figure_entries, render_demo_page
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.provenance import provenance
from sparse_neuro.neuro.storage.safe_read import read_json

log = logging.getLogger(__name__)

__all__ = ["run_demo"]


def demo_overrides(overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    """Split ``--set`` overrides of the tour: each key goes to every demo experiment whose
    Config has it; a key that no demo experiment has is a :class:`UsageError`."""
    fields = {name: {f.name for f in dataclasses.fields(load(name).Config)} for name in DEMO}
    unknown = sorted(k for k in overrides if not any(k in f for f in fields.values()))
    if unknown:
        valid = sorted(set().union(*fields.values()))
        raise UsageError(
            f"unknown parameter(s) {unknown} for the demo; valid keys: {', '.join(valid)}"
        )
    return {name: {k: v for k, v in overrides.items() if k in f} for name, f in fields.items()}


def run_demo(
    out_dir: Path | str,
    *,
    seed: int = 0,
    smoke: bool = False,
    overrides: dict[str, str] | None = None,
) -> dict:
    """Run each experiment of ``registry.DEMO`` at its QUICK size into ``out_dir/NAME``.

    ``overrides`` (``--set``) apply to every experiment that has the parameter (see
    :func:`demo_overrides`).

    Writes ``out_dir/index.html`` (from the report templates: summary, scorecard and
    captioned figures of every experiment, linking each run's own ``report.html``) and
    ``out_dir/summary.json``. A failing experiment is reported on the page and makes the
    tour raise at the end, after the others have run.
    """
    per_experiment = demo_overrides(overrides or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for i, name in enumerate(DEMO, 1):
        log.info("demo %d/%d: %s", i, len(DEMO), name)
        t0 = time.perf_counter()
        try:
            results[name] = run_experiment(
                name, out / name, seed=seed, smoke=smoke, quick=True, overrides=per_experiment[name]
            )
        except Exception:  # keep touring; report at the end
            failures[name] = traceback.format_exc()
            log.error("demo experiment %s failed:\n%s", name, failures[name])
        log.info("demo %s took %.1f s", name, time.perf_counter() - t0)
    prov = provenance()
    write_json_atomic(
        out / "summary.json", {"experiments": results, "failures": failures, "provenance": prov}
    )
    _write_index(out, results, failures, prov)
    log.info("demo index page: %s", out / "index.html")
    if failures:
        raise RuntimeError(f"demo experiments failed: {sorted(failures)}")
    return results


def rerender_index(out_dir: Path) -> Path:
    """Write a finished tour's ``index.html`` again from its ``summary.json`` (and each run's
    files); nothing is rerun."""
    out = Path(out_dir)
    path = out / "summary.json"
    tour = read_json(path, "demo summary")
    if not (
        isinstance(tour, dict)
        and isinstance(tour.get("experiments"), dict)
        and isinstance(tour.get("failures"), dict)
    ):
        raise FormatError(f"{path}: a demo summary holds 'experiments' and 'failures' objects")
    prov = tour.get("provenance")
    _write_index(out, tour["experiments"], tour["failures"], prov if isinstance(prov, dict) else {})
    return out / "index.html"


def _write_index(
    out: Path, results: dict[str, dict], failures: dict[str, str], provenance: dict | None = None
) -> None:
    """The tour's page from the report templates: per experiment its summary, scorecard,
    captioned figures and a link to its own report page."""
    sections = []
    for name in DEMO:
        run_dir = out / name
        card = run_dir / "scorecard.json"
        sections.append(
            {
                "name": name,
                "failure": failures.get(name),
                "summary": {
                    k: v
                    for k, v in results.get(name, {}).items()
                    if k not in ("experiment", "seed", "smoke", "provenance")
                },
                "figures": [
                    dataclasses.replace(f, png=f"{name}/{f.png}", svg=f"{name}/{f.svg}")
                    for f in figure_entries(run_dir)
                ],
                "report": f"{name}/report.html" if (run_dir / "report.html").is_file() else None,
                "scorecard": read_json(card, "scorecard") if card.is_file() else [],
            }
        )
    render_demo_page(out, sections, provenance)
