"""HTML reports of experiment runs and of the demo tour, rendered from Jinja2 templates.

Figures are saved in PNG (300 dpi, for the page and for print) and SVG (vector), each with
the caption shown under it. Numbers are formatted by :func:`fmt` (no raw Python lists on the
page); the scorecard is a table with citations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import matplotlib.pyplot as plt

from neuro.atomic import atomic_path, write_text

__all__ = ["FigureEntry", "fmt", "render_demo_page", "render_run_page", "save_figure"]

TEMPLATES = Path(__file__).with_name("templates")
PRINT_DPI = 300


@dataclass(frozen=True)
class FigureEntry:
    """A saved figure: ``png`` and ``svg`` file names (relative to the page) and its caption."""

    png: str
    svg: str
    caption: str


def save_figure(fig: plt.Figure, out_dir: Path, name: str, caption: str) -> FigureEntry:
    """Save ``fig`` as ``name.png`` (300 dpi) and ``name.svg`` in ``out_dir`` atomically; close it."""
    if not caption.strip():
        raise ValueError("caption must not be empty: every figure in a report has one")
    out_dir = Path(out_dir)
    for ext, kw in (("png", {"dpi": PRINT_DPI}), ("svg", {})):
        with atomic_path(out_dir / f"{name}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", **kw)
    plt.close(fig)
    return FigureEntry(f"{name}.png", f"{name}.svg", caption)


def fmt(v: Any) -> str:
    """A number (or list of numbers) for a human reader: 4 significant digits, lists joined."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}: {fmt(x)}" for k, x in v.items())
    return str(v)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    return env


def _write(path: Path, text: str) -> Path:
    write_text(path, text)
    return path


def render_run_page(out_dir: Path, title: str, summary: dict, scorecard: list[dict] | None,
                    figures: list[FigureEntry]) -> Path:
    """Write ``out_dir/report.html``: summary table, scorecard (if any), captioned figures."""
    html = _env().get_template("run.html.j2").render(title=title, summary=summary,
                                                      scorecard=scorecard or [], figures=figures)
    return _write(Path(out_dir) / "report.html", html)


def render_demo_page(out_dir: Path, sections: list[dict]) -> Path:
    """Write ``out_dir/index.html`` for the demo tour.

    ``sections``: one dict per experiment with ``name``, ``summary`` (dict), ``failure``
    (traceback or None), ``figures`` (list of :class:`FigureEntry`, paths relative to
    ``out_dir``), ``report`` (relative link to its own page or None) and ``scorecard``.
    """
    html = _env().get_template("demo.html.j2").render(sections=sections)
    return _write(Path(out_dir) / "index.html", html)
