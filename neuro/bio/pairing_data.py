"""The stored pairing-protocol data as :class:`~sparse_neuro.neuro.analysis.stdp_fit.PairingData`
(what :func:`~sparse_neuro.neuro.analysis.stdp_fit.fit_stdp` fits), and the published fits to
show beside ours.

* :func:`bi_poo_1998_data`: the 45 cell pairs of Bi & Poo (1998) Fig. 7, 60 pairings at 1 Hz,
  no SEM (each point is one cell pair).
* :func:`sjostrom_2001_data`: Sjostrom, Turrigiano & Nelson (2001), 60 pairings at +10 ms and
  at -10 ms at 0.1-50 Hz, with SEM.
* :func:`pfister_2006_published` / :func:`bi_poo_published_window`: the published parameter
  sets (Pfister & Gerstner 2006 Tables 3-4; Bi & Poo's 16.8 / 33.7 ms).
"""

from __future__ import annotations

import numpy as np

from sparse_neuro.neuro.analysis.stdp_fit import PairingData
from sparse_neuro.neuro.bio.bi_poo import BI_POO_PAIRINGS, BI_POO_PERIOD_S, bi_poo_points
from sparse_neuro.neuro.bio.scorecard import read_table

__all__ = [
    "PFISTER_2006_FILE",
    "SJOSTROM_FILE",
    "SJOSTROM_INTERVAL_S",
    "SJOSTROM_PAIRINGS",
    "bi_poo_1998_data",
    "bi_poo_published_window",
    "pfister_2006_published",
    "sjostrom_2001_data",
]

SJOSTROM_FILE = "sjostrom2001_pfister2006.csv"
PFISTER_2006_FILE = "pfister2006_published_fits.csv"
BI_POO_WINDOW_FILE = "bi_poo_1998_window.csv"
#: The Sjostrom protocol: 60 pairings, post 10 ms after pre (and 10 ms before it).
SJOSTROM_PAIRINGS = 60
SJOSTROM_INTERVAL_S = 10e-3


def bi_poo_1998_data() -> PairingData:
    """Bi & Poo (1998): 45 intervals, 60 pairings at 1 Hz, relative changes, no SEM."""
    dt, dw = bi_poo_points()
    return PairingData("bi_poo_1998", dt, BI_POO_PERIOD_S, BI_POO_PAIRINGS, dw)


def sjostrom_2001_data() -> PairingData:
    """Sjostrom et al. (2001): the +10 ms protocols at each frequency, then the -10 ms ones."""
    rows = read_table(SJOSTROM_FILE)
    f = np.array([float(r["frequency_hz"]) for r in rows])
    n = f.size
    return PairingData(
        "sjostrom_2001",
        np.r_[np.full(n, SJOSTROM_INTERVAL_S), np.full(n, -SJOSTROM_INTERVAL_S)],
        np.r_[1.0 / f, 1.0 / f],
        SJOSTROM_PAIRINGS,
        np.array([float(r["dw_pre_post"]) for r in rows] + [float(r["dw_post_pre"]) for r in rows]),
        np.array(
            [float(r["sem_pre_post"]) for r in rows] + [float(r["sem_post_pre"]) for r in rows]
        ),
    )


def pfister_2006_published() -> dict[str, dict[str, float]]:
    """Published triplet-rule rows, ``key -> {STDPRule field: value}`` (empty cells left out)."""
    out = {}
    for r in read_table(PFISTER_2006_FILE):
        out[r["key"]] = {
            k: float(v)
            for k, v in r.items()
            if k not in ("key", "table", "pairing", "model") and v.strip() != ""
        }
    return out


def bi_poo_published_window() -> dict[str, float]:
    """Bi & Poo's published window time constants, ``tau_plus_s`` and ``tau_minus_s``."""
    rows = {r["parameter"]: float(r["value"]) * 1e-3 for r in read_table(BI_POO_WINDOW_FILE)}
    return {"tau_plus_s": rows["tau_plus"], "tau_minus_s": rows["tau_minus"]}
