"""sparse_neuro.neuro.bio: biological-plausibility scorecard (declared tests against cited reference
data).

:mod:`sparse_neuro.neuro.bio.scorecard` defines a test (statistic + reference + comparison ->
verdict); :mod:`sparse_neuro.neuro.bio.catalogue` declares the tests of the bio-suite from
``neuro/bio/data``.
"""

from sparse_neuro.neuro.bio.scorecard import (
    GROUPS,
    BioTest,
    InRange,
    ReducedChiSquare,
    Reference,
    RelativeTo,
    Result,
)

__all__ = ["GROUPS", "BioTest", "InRange", "Reference", "ReducedChiSquare", "RelativeTo", "Result"]
