"""The HTML report in a real headless browser (Chromium from the system packages).

The page must render, every image must load, the console must stay silent; a screenshot is
written to ``$NEURO_TEST_ARTIFACTS`` (default ``.test-artifacts/`` in the repository). CI
(`.ci/run`) installs Chromium; the test skips only where no Chromium binary exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from sparse_neuro.experiments.report import render_run_page, save_figure  # noqa: E402
from sparse_neuro.neuro.bio.catalogue import plasticity_tests  # noqa: E402

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary (apt-get install chromium)"
)
ARTIFACTS = Path(
    os.environ.get("NEURO_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / ".test-artifacts")
)


def _chromium(*args: str) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def _report(tmp_path: Path, broken: bool = False) -> Path:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    entry = save_figure(fig, tmp_path, "line", "A straight line, for the test.")
    test = next(
        t for t in plasticity_tests() if t.name == "stdp_digits_tau_plus_ms"
    )  # a scalar statistic
    card = [test.judge(16.9).as_dict(), test.judge(30.0).as_dict()]
    page = render_run_page(
        tmp_path, "browser test", {"n_tests": 2, "rate_hz": 1.23456}, card, [entry]
    )
    if broken:
        (tmp_path / "line.png").unlink()
    return page


def _load(page: Path) -> tuple[str, list[str]]:
    res = _chromium("--dump-dom", page.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    console = [ln for ln in res.stderr.splitlines() if ":CONSOLE" in ln]
    return res.stdout, console


def _screenshot(page: Path, name: str) -> None:
    """Save a screenshot of ``page`` in the test artifacts (part of the test output)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    res = _chromium("--window-size=1200,1400", f"--screenshot={shot}", page.as_uri())
    assert res.returncode == 0 and shot.stat().st_size > 10_000


def test_report_renders_with_images_and_no_console_errors(tmp_path):
    page = _report(tmp_path)
    dom, console = _load(page)
    assert 'data-images="loaded"' in dom
    assert re.search(r'data-n-images="(\d+)"', dom).group(1) == "1"
    assert "Scorecard" in dom and "Bi &amp; Poo" in dom and "1.235" in dom
    assert console == []
    _screenshot(page, "report_screenshot.png")


def test_browser_check_detects_a_missing_image(tmp_path):
    dom, _ = _load(_report(tmp_path, broken=True))
    assert 'data-images="broken"' in dom


def _demo(tmp_path: Path, monkeypatch) -> Path:
    """The tour's index page over two fake finished runs (one with a scorecard, one failed)."""
    import json

    import sparse_neuro.experiments.demo as demo
    from sparse_neuro.experiments.report import FIGURES_FILE

    monkeypatch.setattr(demo, "DEMO", ["first", "second", "broken"])
    results = {}
    for name in ("first", "second"):
        run = tmp_path / name
        run.mkdir()
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [1, 0])
        entry = save_figure(fig, run, "curve", f"Caption of the {name} run's figure.")
        (run / FIGURES_FILE).write_text(json.dumps([entry.__dict__]))
        results[name] = {
            "experiment": name,
            "mean_rate_hz": 3.14159,
            "orientation_histogram": [0.25, 0.75],
        }
    test = next(
        t for t in plasticity_tests() if t.name == "stdp_digits_tau_plus_ms"
    )  # a scalar statistic
    (tmp_path / "second" / "scorecard.json").write_text(json.dumps([test.judge(16.9).as_dict()]))
    demo._write_index(tmp_path, results, {"broken": "Traceback: boom"})
    return tmp_path / "index.html"


def test_demo_page_renders_every_figure_with_its_caption(tmp_path, monkeypatch):
    page = _demo(tmp_path, monkeypatch)
    dom, console = _load(page)
    assert 'data-images="loaded"' in dom
    assert re.search(r'data-n-images="(\d+)"', dom).group(1) == "2"
    assert "Caption of the first run" in dom and "Caption of the second run" in dom
    assert (
        "3.142" in dom
        and "Hz" in dom
        and "0.25, 0.75" in dom
        and "[" not in dom.split("<body")[1].split("<script")[0]
    )
    assert "Bi &amp; Poo" in dom and "Traceback: boom" in dom
    assert console == []
    _screenshot(page, "demo_screenshot.png")
