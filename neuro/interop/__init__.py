"""Interoperability: NIR graphs (snntorch, norse, Lava, Rockpool, ...) and Neo/Elephant.

Public API
----------
to_nir(model_or_network) / from_nir(graph)
    Trained torch models (:class:`sparse_neuro.neuro.train.models.SpikingMLP`, discrete time: see
    :mod:`sparse_neuro.neuro.interop.nir_graph` for how the time step is handled) and engine
    networks (:class:`sparse_neuro.neuro.model.network.Network`, continuous time:
    :mod:`sparse_neuro.neuro.interop.nir_network`) to and from ``nir.NIRGraph``.
read_nir(path) / write_nir(path, graph)
    NIR files, read without following links or external storage (``from_nir`` also takes
    a path); see :mod:`sparse_neuro.neuro.interop.nir_file`.
to_neo(recording) / from_neo(block)
    A :class:`sparse_neuro.neuro.model.record.Recording` to and from a :class:`neo.Block` of
    :class:`neo.SpikeTrain` (see :mod:`sparse_neuro.neuro.interop.neo_convert`).

``nir`` and ``neo`` are optional dependencies (``pip install sparse-neuro[interop]``),
imported only when these functions are called.
"""

from sparse_neuro.neuro.interop.neo_convert import from_neo, to_neo
from sparse_neuro.neuro.interop.nir_file import read_nir, write_nir
from sparse_neuro.neuro.interop.nir_graph import from_nir, to_nir

__all__ = ["to_nir", "from_nir", "read_nir", "write_nir", "to_neo", "from_neo"]
