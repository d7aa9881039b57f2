"""The network description: populations, LIF/COBA parameters, sparse synapses, connectivity
rules, inputs, monitors and recordings, plasticity rule descriptions, features.

Frozen and validated; imports neither numba nor torch nor any other part of the library
(import-linter contracts in pyproject.toml). The public names are re-exported by
:mod:`sparse_neuro.neuro`.
"""
