"""neuro.bio: biological-plausibility scorecard (declared tests against cited reference data).

:mod:`neuro.bio.scorecard` defines a test (statistic + reference + comparison -> verdict);
:mod:`neuro.bio.catalogue` declares the tests of the bio-suite from ``neuro/bio/data``.
"""

from neuro.bio.scorecard import (
    GROUPS,
    BioTest,
    InRange,
    ReducedChiSquare,
    Reference,
    RelativeTo,
    Result,
)

__all__ = ["GROUPS", "BioTest", "InRange", "Reference", "ReducedChiSquare", "RelativeTo", "Result"]
