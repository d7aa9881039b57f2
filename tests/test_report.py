"""Report helpers: units from summary keys, number formatting, captions, per-run pages."""

from __future__ import annotations

import dataclasses
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from sparse_neuro.experiments.captions import caption_for  # noqa: E402
from sparse_neuro.experiments.common import RunContext  # noqa: E402
from sparse_neuro.experiments.report import (  # noqa: E402
    FIGURES_FILE,
    default_caption,
    figure_entries,
    fmt,
    save_figure,
    unit_of,
)

#: Stand-in experiment Config (the runner passes a frozen dataclass).
_Cfg = dataclasses.make_dataclass("_Cfg", [("duration_s", float, 1.0)], frozen=True)


@pytest.mark.parametrize(
    "key, unit",
    [
        ("mean_rate_hz", "Hz"),
        ("tau_plus_ms_fit", "ms"),
        ("train_seconds", "s"),
        ("total_wall_s", "s"),
        ("energy_per_inference_uj_by_preset", "µJ"),
        ("frac_gabor_bandpass", "fraction"),
        ("n_tests", "count"),
        ("f0_cycles_per_pixel", "cycles/pixel"),
        ("median_nx", "-"),
    ],
)
def test_unit_of_reads_the_unit_token(key, unit):
    assert unit_of(key) == unit


def test_fmt_has_no_raw_lists_and_summarises_long_ones():
    assert fmt([0.25, 0.5]) == "0.25, 0.5"
    assert fmt(list(range(21))) == "21 values, median 10 (range 0 to 20)"
    assert fmt([float("nan")] * 11) == "11 values, all n/a"
    assert (
        fmt(1234567) == "1,234,567" and fmt(0.000123) == "1.23e-04" and fmt(float("nan")) == "n/a"
    )
    assert fmt(True) == "yes" and fmt({"a": 1.0}) == "a: 1"


def test_captions_registered_and_prefix_keys_match():
    assert "CUBA" in caption_for("cuba", "raster")
    assert caption_for("brunel", "brunel_sync_regular") == caption_for(
        "brunel", "brunel_async_irregular"
    )
    assert caption_for("cuba", "no_such_figure") is None


def test_default_caption_falls_back_to_titles():
    fig, ax = plt.subplots()
    ax.set_title("left panel")
    fig.suptitle("whole figure")
    assert default_caption("none", "x", fig) == "whole figure; left panel."
    plt.close(fig)


def test_save_figure_needs_a_caption_and_a_sane_dpi(tmp_path):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="caption"):
        save_figure(fig, tmp_path, "x", "  ")
    with pytest.raises(ValueError, match="dpi"):
        save_figure(fig, tmp_path, "x", "c", dpi=5)
    plt.close(fig)


def test_run_context_lists_figures_with_captions_in_png_and_svg(tmp_path):
    from sparse_neuro.experiments.report import render_experiment_page

    ctx = RunContext("cuba", tmp_path, 0)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1])
    ctx.save_figure(fig, "raster")
    fig, ax = plt.subplots(figsize=(2, 2))
    ctx.save_figure(fig, "extra", caption="My own caption.")
    assert (tmp_path / "raster.png").is_file() and (tmp_path / "raster.svg").is_file()
    render_experiment_page(ctx, _Cfg(), {"experiment": "cuba", "mean_rate_hz": 2.5})
    entries = figure_entries(tmp_path)
    assert [e.caption for e in entries] == [caption_for("cuba", "raster"), "My own caption."]
    assert json.loads((tmp_path / FIGURES_FILE).read_text())[1]["png"] == "extra.png"
    page = (tmp_path / "report.html").read_text()
    assert "My own caption." in page and "2.5" in page and "Hz" in page and "duration_s" in page
