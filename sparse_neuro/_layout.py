"""Where the parts of :mod:`sparse_neuro` live in a source checkout: folder X is ``sparse_neuro.X``.

``pyproject.toml`` maps them with setuptools' ``package-dir`` (tests/test_packaging.py keeps the
two equal). An editable install resolves the parts through setuptools' import finder, which
tools that walk a package's files do not see (import-linter), and a copy of the library needs
the installed layout: :func:`assemble` builds it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["PARTS", "assemble"]

#: The parts, each a top-level folder of the repository and a subpackage of sparse_neuro.
PARTS = ("neuro", "encoders", "learning", "hardware_models", "experiments")


def assemble(checkout: Path | str, dest: Path | str, *, copy: bool = False) -> Path:
    """Lay out ``dest/sparse_neuro`` as installed, from the checkout at ``checkout``.

    The modules of the checkout's ``sparse_neuro/`` folder and each part are symbolic links
    (``copy=False``: import-linter, A/B benchmarks of another commit) or copies
    (``copy=True``: a library that a test edits). Returns ``dest``: put it first on
    ``sys.path`` / ``PYTHONPATH`` (before an editable install's finder, which would
    otherwise supply any part missing here from the installed checkout).
    """
    checkout, dest = Path(checkout).resolve(), Path(dest)
    pkg = dest / "sparse_neuro"
    pkg.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__")
    for src in sorted((checkout / "sparse_neuro").glob("*.py")):
        if copy:
            shutil.copy2(src, pkg / src.name)
        else:
            (pkg / src.name).symlink_to(src)
    for part in PARTS:
        if copy:
            shutil.copytree(checkout / part, pkg / part, ignore=skip)
        else:
            (pkg / part).symlink_to(checkout / part, target_is_directory=True)
    return dest
