"""STDP figures: the pairing window with fitted exponentials, the triplet rule's frequency
dependence, and label-assignment histograms of unsupervised networks.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["stdp_window", "pairing_frequency", "assignment_histogram"]


def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def stdp_window(
    dt_s: np.ndarray,
    dw: np.ndarray,
    fit: dict[str, float] | None = None,
    title: str = "STDP window",
) -> Figure:
    """Weight change per pair vs ``t_post - t_pre`` (ms), with fitted exponentials.

    Parameters
    ----------
    dt_s, dw : ndarray
        Intervals (s) and measured changes per pair.
    fit : dict, optional
        ``a_plus, tau_plus_s, a_minus, tau_minus_s`` (as from
        :func:`sparse_neuro.neuro.analysis.stdp_fit.fit_window`).
    """
    fig = _figure(5.0, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.plot(np.asarray(dt_s) * 1e3, dw, "o", ms=4, color="k", label="engine (pairing protocol)")
    if fit is not None:
        tp = np.linspace(1e-4, max(np.max(dt_s), 1e-3), 200)
        tm = np.linspace(min(np.min(dt_s), -1e-3), -1e-4, 200)
        ax.plot(
            tp * 1e3,
            fit["a_plus"] * np.exp(-tp / fit["tau_plus_s"]),
            color="C3",
            label=f"fit $\\tau_+$ = {fit['tau_plus_s'] * 1e3:.2f} ms",
        )
        ax.plot(
            tm * 1e3,
            -fit["a_minus"] * np.exp(tm / fit["tau_minus_s"]),
            color="C0",
            label=f"fit $\\tau_-$ = {fit['tau_minus_s'] * 1e3:.2f} ms",
        )
    ax.set_xlabel("$t_{post} - t_{pre}$ (ms)")
    ax.set_ylabel("$\\Delta w$ per pair")
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def pairing_frequency(
    freq_hz: np.ndarray,
    dw_by_interval: dict[str, np.ndarray],
    title: str = "Triplet STDP: pairing-frequency dependence",
) -> Figure:
    """Total weight change vs pairing frequency, one line per pre/post interval label."""
    fig = _figure(5.0, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    ax.axhline(0, color="0.7", lw=0.8)
    for label, dw in dw_by_interval.items():
        ax.plot(freq_hz, dw, "o-", label=label)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel("$\\Delta w$ (total)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def assignment_histogram(
    assignments: np.ndarray, n_classes: int, title: str = "Neuron labels"
) -> Figure:
    """How many neurons were assigned to each class."""
    fig = _figure(4.5, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    counts = np.bincount(np.asarray(assignments, dtype=np.int64), minlength=n_classes)
    ax.bar(np.arange(n_classes), counts, color="C2")
    ax.set_xticks(np.arange(n_classes))
    ax.set_xlabel("assigned class")
    ax.set_ylabel("neurons")
    ax.set_title(title)
    fig.tight_layout()
    return fig
