"""Surrogate spike functions for surrogate-gradient training (re-exported).

They live in :mod:`neuro.surrogate` because the torch layers of :mod:`neuro.layers` use
one as their default spike function and ``neuro`` must not import ``learning``; this module
is the name the training code and users import them by. See :mod:`neuro.surrogate` for the
forward/backward formulas and their sources.
"""

from neuro.surrogate import SurrogateSpike, arctan, fast_sigmoid, triangle

__all__ = ["SurrogateSpike", "fast_sigmoid", "arctan", "triangle"]
