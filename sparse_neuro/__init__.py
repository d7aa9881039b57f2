"""sparse-neuro: a spiking neuromorphic network toolkit, one import package.

Its parts (folder X of the repository is ``sparse_neuro.X``, mapped by setuptools' package-dir):

- :mod:`sparse_neuro.neuro`: what a network is (``neuro.model``) and how it is simulated
  (``sparse_neuro.neuro.engines`` and its ``backends``) or trained (``neuro.train`` and its
  ``kernels``); files (``neuro.storage``), interoperability, analysis, plotting, the scorecard
  (``sparse_neuro.neuro.bio``);
- :mod:`sparse_neuro.encoders`: datasets and spike codes;
- :mod:`sparse_neuro.learning`: trainers, STDP and homeostasis, sparse coding, sparsity methods;
- :mod:`sparse_neuro.hardware_models`: the Loihi-style hardware model and its backend;
- :mod:`sparse_neuro.experiments`: the experiments and the command line (``sparse-neuro``).

Importing ``sparse_neuro`` itself imports none of them.
"""

from sparse_neuro._version import __version__

__all__ = ["__version__"]
