"""Receptive-field tests against macaque V1 distributions: Gabor shape and spatial-frequency tuning.

Declared per code (e.g. ``"l0"``, ``"l1"``), from the files in ``neuro/bio/data``:

- ``{code}_ringach_nxny``: the (nx, ny) of the band-pass Gabor fits against the joint
  histogram of Ringach (2002) (:class:`~sparse_neuro.neuro.bio.binned2d.BinnedPermutation2D`);
- ``{code}_sf_bandwidth_ratio``: ``100 f_low / f_high`` at ``1/sqrt(2)`` of the peak against
  the simple-cell histogram of Schiller, Finlay & Volman (1976) (binned KS);
- ``{code}_sf_bandwidth_octaves``: the median half-amplitude bandwidth in octaves against the
  range of De Valois, Albrecht & Thorell (1982);
- ``{code}_preferred_sf_spread``: the spread of preferred spatial frequencies, in octaves from
  the median, against De Valois et al.'s simple cells. Image patches have no visual angle, so
  absolute frequencies (cycles/pixel vs cycles/degree) cannot be compared; the shape of the
  distribution on a log axis can.
"""

from __future__ import annotations

import numpy as np

from sparse_neuro.neuro.bio.binned2d import BinnedPermutation2D
from sparse_neuro.neuro.bio.scorecard import BinnedKS, BioTest, InRange, Reference, read_table

__all__ = [
    "NXNY_FILE",
    "PEAK_SF_FILE",
    "SF_BANDWIDTH_FILE",
    "SF_OCTAVES_FILE",
    "centred_log2",
    "histogram_median",
    "nxny_reference",
    "peak_sf_reference",
    "receptive_field_distribution_tests",
]

NXNY_FILE = "ringach2002_nxny_binned.csv"
SF_BANDWIDTH_FILE = "schiller1976_sf_bandwidth.csv"
SF_OCTAVES_FILE = "devalois1982_sf_bandwidth_summary.csv"
PEAK_SF_FILE = "devalois1982_peak_sf.csv"


def nxny_reference() -> BinnedPermutation2D:
    """The Ringach (2002) (nx, ny) joint histogram as a comparison."""
    rows = read_table(NXNY_FILE)
    xe = sorted({float(r["nx_low"]) for r in rows} | {float(r["nx_high"]) for r in rows})
    ye = sorted({float(r["ny_low"]) for r in rows} | {float(r["ny_high"]) for r in rows})
    counts = np.zeros((len(xe) - 1, len(ye) - 1))
    for r in rows:
        counts[xe.index(float(r["nx_low"])), ye.index(float(r["ny_low"]))] = float(r["n_cells"])
    return BinnedPermutation2D(tuple(xe), tuple(ye), tuple(map(tuple, counts)))


def peak_sf_reference() -> tuple[np.ndarray, np.ndarray]:
    """Bin edges (cycles/degree) and counts of the preferred SF of De Valois et al.'s simple
    cells (foveal + parafoveal: our fields are linear, i.e. simple-cell models)."""
    rows = read_table(PEAK_SF_FILE)
    edges = np.array([float(r["bin_low_cpd"]) for r in rows] + [float(rows[-1]["bin_high_cpd"])])
    counts = np.array([float(r["n_simple_foveal"]) + float(r["n_simple_parafoveal"]) for r in rows])
    return edges, counts


def histogram_median(edges: np.ndarray, counts: np.ndarray) -> float:
    """Median of a histogram, interpolated inside its bin on a log2 axis (the bins are log-spaced)."""
    cdf = np.concatenate([[0.0], np.cumsum(counts)]) / counts.sum()
    return float(2 ** np.interp(0.5, cdf, np.log2(edges)))


def centred_log2(values: np.ndarray) -> np.ndarray:
    """``log2(values / median(values))`` of the finite positive values: octaves from the median."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    return np.log2(v / np.median(v)) if v.size else v


def receptive_field_distribution_tests(code: str) -> list[BioTest]:
    """Shape and spatial-frequency tests of a learned dictionary ``code``."""
    g = "receptive_fields"
    label = code.upper()
    nxny = nxny_reference()
    nxny_ref = Reference(
        "Ringach (2002) J Neurophysiol 88:455",
        NXNY_FILE,
        f"(nx, ny) of {nxny.n_reference} macaque simple cells on a 5 x 5 log grid over [0.1, 1.58] "
        "(binned transcription, Dapello et al. 2020 VOneNet)",
    )

    bw = read_table(SF_BANDWIDTH_FILE)
    bw_edges = tuple(float(r["bin_low"]) for r in bw) + (float(bw[-1]["bin_high"]),)
    bw_counts = tuple(float(r["n_simple"]) for r in bw)
    bw_ref = Reference(
        "Schiller, Finlay & Volman (1976) J Neurophysiol 39:1334",
        SF_BANDWIDTH_FILE,
        f"SF bandwidth 100 f_low/f_high at 1/sqrt(2) of the peak, {sum(bw_counts):g} simple cells "
        "(transcription of Marques et al. 2021)",
    )

    octs = {r["key"]: r for r in read_table(SF_OCTAVES_FILE)}["median_sf_bandwidth_octaves"]
    oct_ref = Reference(octs["citation"], SF_OCTAVES_FILE, octs["note"])

    pe, pc = peak_sf_reference()
    med = histogram_median(pe, pc)
    pk_ref = Reference(
        "De Valois, Albrecht & Thorell (1982) Vision Res 22:545",
        PEAK_SF_FILE,
        f"preferred SF of {pc.sum():g} simple cells (foveal + parafoveal), octaves from the median "
        f"{med:.2f} c/deg (transcription of Marques et al. 2021)",
    )
    return [
        BioTest(
            f"{code}_ringach_nxny",
            g,
            f"{label} code: (nx, ny) = (sigma_x f, sigma_y f) of the band-pass Gabor fits",
            "1",
            nxny_ref,
            nxny,
        ),
        BioTest(
            f"{code}_sf_bandwidth_ratio",
            g,
            f"{label} code: SF bandwidth 100 f_low / f_high at 1/sqrt(2) of the peak (gratings at the "
            "preferred orientation; fields whose response does not fall that far are left out)",
            "%",
            bw_ref,
            BinnedKS(bw_edges, bw_counts),
        ),
        BioTest(
            f"{code}_sf_bandwidth_octaves",
            g,
            f"{label} code: median SF bandwidth, full width at half amplitude (gratings)",
            "octaves",
            oct_ref,
            InRange(float(octs["low"]), float(octs["high"]), "octaves"),
        ),
        BioTest(
            f"{code}_preferred_sf_spread",
            g,
            f"{label} code: preferred SF (gratings), octaves from the code's median",
            "octaves",
            pk_ref,
            BinnedKS(tuple(np.log2(pe / med)), tuple(pc)),
        ),
    ]
