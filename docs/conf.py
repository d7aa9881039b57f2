"""Sphinx configuration of the sparse-neuro documentation (``make -C docs html``)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import apinames  # noqa: E402

import sparse_neuro  # noqa: E402

project = "sparse-neuro"
author = "The sparse-neuro contributors"
copyright = "The sparse-neuro contributors (MIT license)"
release = sparse_neuro.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "figures/*.md"]
# README.md sections are included into the guide: their headings start at level 2
# A name re-exported by a package is documented on the package's page and on its module's
# page (both are public paths), so an unqualified reference to it in a docstring has two
# equal targets: Sphinx links the first and warns ("ref.python"); nothing else is in that class.
suppress_warnings = ["myst.header", "ref.python"]
myst_heading_anchors = 3

# NumPy-style docstrings; ``Attributes`` as :ivar: so that a dataclass field documented in the
# docstring is not described a second time as a member
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True
autosummary_generate = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": False}

html_theme = "furo"
html_title = f"sparse-neuro {release}"

# The API reference: one page per public module, written from its ``__all__`` at every build
API_MODULES = apinames.write_reference(HERE / "api" / "generated")
