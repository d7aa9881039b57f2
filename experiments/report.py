"""HTML reports of experiment runs and of the demo tour, rendered from Jinja2 templates.

Figures are saved in PNG (300 dpi, for the page and for print) and SVG (vector), each with
the caption shown under it. Numbers are formatted by :func:`fmt` (no raw Python lists on the
page), with the unit read from the summary key (:func:`unit_of`); the scorecard is a table with
citations.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib.pyplot as plt

from sparse_neuro.neuro.storage.atomic import atomic_path, write_text
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.provenance import provenance as current_provenance
from sparse_neuro.neuro.storage.safe_read import read_json

__all__ = [
    "FigureEntry",
    "default_caption",
    "figure_entries",
    "fmt",
    "render_demo_page",
    "render_experiment_page",
    "render_run_page",
    "rerender_run_page",
    "save_figure",
    "unit_of",
]

TEMPLATES = Path(__file__).with_name("templates")
PRINT_DPI = 300
#: A run's figures and captions, for pages that gather several runs.
FIGURES_FILE = "figures.json"
#: Lists longer than this are summarised (count and range) instead of printed in full.
MAX_LIST = 10
#: Unit tokens of summary keys (``mean_rate_hz``, ``train_seconds``, ``energy_uj_by_preset``).
_UNITS = {
    "s": "s",
    "seconds": "s",
    "ms": "ms",
    "us": "µs",
    "ns": "ns",
    "hz": "Hz",
    "mj": "mJ",
    "uj": "µJ",
    "nj": "nJ",
    "pj": "pJ",
    "mv": "mV",
    "deg": "degrees",
    "pct": "%",
    "percent": "%",
    "px": "pixels",
    "mb": "MB",
    "gb": "GB",
    "bytes": "bytes",
}


@dataclass(frozen=True)
class FigureEntry:
    """A saved figure: ``png`` and ``svg`` file names (relative to the page) and its caption."""

    png: str
    svg: str
    caption: str


def save_figure(
    fig: plt.Figure, out_dir: Path, name: str, caption: str, dpi: int | None = None
) -> FigureEntry:
    """Save ``fig`` as ``name.png`` (``dpi``, default :data:`PRINT_DPI`) and ``name.svg`` in
    ``out_dir`` atomically; close it."""
    if not caption.strip():
        raise ValueError("caption must not be empty: every figure in a report has one")
    if dpi is not None and not (isinstance(dpi, int) and 50 <= dpi <= 1200):
        raise ValueError(f"dpi must be an integer in [50, 1200], got {dpi!r}")
    out_dir = Path(out_dir)
    for ext, kw in (("png", {"dpi": dpi or PRINT_DPI}), ("svg", {})):
        with atomic_path(out_dir / f"{name}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", **kw)
    plt.close(fig)
    return FigureEntry(f"{name}.png", f"{name}.svg", caption)


def default_caption(experiment: str, name: str, fig: plt.Figure) -> str:
    """The registered caption of figure ``name`` (:mod:`sparse_neuro.experiments.captions`), else
    its titles."""
    from sparse_neuro.experiments.captions import caption_for

    text = caption_for(experiment, name)
    if text:
        return text
    titles = [t for t in (fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)) if t]
    return "; ".join(titles) + "." if titles else f"Figure {name!r} of {experiment}."


def unit_of(key: str) -> str:
    """The unit a summary key names by its last unit token (``"-"`` for none).

    >>> unit_of("mean_rate_hz"), unit_of("tau_plus_ms_fit"), unit_of("frac_gabor_bandpass")
    ('Hz', 'ms', 'fraction')
    """
    if "cycles_per_pixel" in key.lower():
        return "cycles/pixel"
    tokens = key.lower().split("_")
    for t in reversed(tokens):
        if t in _UNITS:
            return _UNITS[t]
    if tokens[0] in ("frac", "fraction") or "frac" in tokens or "fraction" in tokens:
        return "fraction"
    if tokens[0] == "n":
        return "count"
    return "-"


def fmt(v: Any) -> str:
    """A number (or list of numbers) for a human reader: 4 significant digits, short lists
    joined, long ones summarised by count and range."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    if isinstance(v, (list, tuple)):
        if len(v) > MAX_LIST and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v
        ):
            finite = sorted(x for x in v if not math.isnan(x))
            if not finite:
                return f"{len(v)} values, all n/a"
            med = float(statistics.median(finite))
            return (
                f"{len(v)} values, median {fmt(med)} (range {fmt(finite[0])} to {fmt(finite[-1])})"
            )
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {fmt(x)}" for k, x in v.items())
    return str(v)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["fmt"] = fmt
    env.filters["unit"] = unit_of
    return env


def _write(path: Path, text: str) -> Path:
    write_text(path, text)
    return path


def render_run_page(
    out_dir: Path,
    title: str,
    summary: dict,
    scorecard: list[dict] | None,
    figures: list[FigureEntry],
    config: dict | None = None,
    provenance: dict | None = None,
) -> Path:
    """Write ``out_dir/report.html``: summary table, scorecard (if any), captioned figures,
    the run's parameters (if given) and what produced it (``provenance``, default this
    process's: :func:`sparse_neuro.neuro.storage.provenance.provenance`)."""
    html = (
        _env()
        .get_template("run.html.j2")
        .render(
            title=title,
            summary=summary,
            config=config or {},
            scorecard=scorecard or [],
            figures=figures,
            provenance=provenance if provenance is not None else current_provenance(),
        )
    )
    return _write(Path(out_dir) / "report.html", html)


def figure_entries(run_dir: Path) -> list[FigureEntry]:
    """The captioned figures of a finished run (``figures.json``; empty if the run wrote none)."""
    path = Path(run_dir) / FIGURES_FILE
    return [FigureEntry(**f) for f in read_json(path, "figure list")] if path.is_file() else []


#: Run facts shown in the page's title rather than in its summary table.
_FACTS = ("experiment", "seed", "smoke", "provenance")


def _run_page(
    out_dir: Path, summary: dict, figures: list[FigureEntry], config: dict | None
) -> Path:
    """The page of a run from its summary (with the run facts), figures and parameters."""
    card_path = Path(out_dir) / "scorecard.json"
    scorecard = read_json(card_path, "scorecard") if card_path.is_file() else None
    smoke = ", smoke size" if summary.get("smoke") else ""
    title = f"{summary.get('experiment', '?')} (seed {summary.get('seed', '?')}{smoke})"
    if scorecard:
        title += f": {sum(r['passed'] for r in scorecard)} of {len(scorecard)} tests pass"
    prov = summary.get("provenance")
    return render_run_page(
        out_dir,
        title,
        {k: v for k, v in summary.items() if k not in _FACTS},
        scorecard,
        figures,
        config,
        # a page made again later shows what produced the run, not the rendering process
        provenance=prov if isinstance(prov, dict) else {},
    )


def render_experiment_page(ctx, cfg, summary: dict) -> Path:
    """The report page of a finished run of the experiment runner (``ctx``: its RunContext).

    Shows ``scorecard.json`` when the run wrote one (bio-suite); lists the figures with their
    captions in ``figures.json`` for pages that gather several runs (the demo tour) and for
    :func:`rerender_run_page`.
    """
    write_text(
        Path(ctx.out_dir) / FIGURES_FILE,
        json.dumps([dataclasses.asdict(f) for f in ctx.figures], indent=1),
    )
    return _run_page(ctx.out_dir, summary, ctx.figures, dataclasses.asdict(cfg))


def rerender_run_page(run_dir: Path | str) -> Path:
    """Write ``run_dir/report.html`` again from the run's files (``summary.json``, and when
    present ``config.json``, ``figures.json``, ``scorecard.json``): after a template change,
    or for a run copied from another machine. Nothing is recomputed.

    Raises
    ------
    FileNotFoundError
        ``run_dir`` has no ``summary.json`` (not the output directory of a finished run).
    sparse_neuro.neuro.storage.integrity.FormatError
        A file of the run is not what it should be (named).
    """
    run_dir = Path(run_dir)
    path = run_dir / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{run_dir}: no summary.json; give the output directory of a finished run "
            "(sparse-neuro run NAME --out DIR)"
        )
    summary = read_json(path, "run summary")
    if not isinstance(summary, dict):
        raise FormatError(f"{path}: a run summary must be a JSON object")
    cfg_path = run_dir / "config.json"
    config = read_json(cfg_path, "run configuration") if cfg_path.is_file() else None
    if config is not None and not isinstance(config, dict):
        raise FormatError(f"{cfg_path}: a run configuration must be a JSON object")
    if config is not None:
        config = {k: v for k, v in config.items() if k not in _FACTS}
    return _run_page(run_dir, summary, figure_entries(run_dir), config)


def render_demo_page(out_dir: Path, sections: list[dict], provenance: dict | None = None) -> Path:
    """Write ``out_dir/index.html`` for the demo tour.

    ``sections``: one dict per experiment with ``name``, ``summary`` (dict), ``failure``
    (traceback or None), ``figures`` (list of :class:`FigureEntry`, paths relative to
    ``out_dir``), ``report`` (relative link to its own page or None) and ``scorecard``.
    ``provenance``: the tour's (default this process's).
    """
    prov = provenance if provenance is not None else current_provenance()
    html = _env().get_template("demo.html.j2").render(sections=sections, provenance=prov)
    return _write(Path(out_dir) / "index.html", html)
