"""The documentation site builds without a warning, and its API reference holds every public
name: each name in the ``__all__`` of each public module or package of ``sparse_neuro.neuro``
(and its subpackages), ``sparse_neuro.learning``, ``sparse_neuro.encoders`` and
``sparse_neuro.hardware_models``.

The public names (``docs/apinames.py``, which also writes the reference pages) are compared
with the built ``objects.inv``: a name the pages describe under another path, a name autodoc
cannot import, or a page left out of the build fails the test; a subpackage the walk misses
fails it too (checked against the package list of ``pyproject.toml``).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _public_names() -> set[str]:
    """``module.name`` for every name of every public module's ``__all__`` (the same walk the
    reference pages are written from: one definition of "public")."""
    sys.path.insert(0, str(DOCS))
    try:
        import apinames
    finally:
        sys.path.remove(str(DOCS))
    modules = apinames.public_modules()
    # the walk reaches every installed subpackage of the documented packages that has __all__
    # (the list in pyproject.toml is the packaging test's, independent of the walk)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package in packages["packages"]:
        if package.startswith(apinames.PACKAGES) and hasattr(
            importlib.import_module(package), "__all__"
        ):
            assert package in modules, package
    return {f"{module}.{name}" for module, names in modules.items() for name in names}


def _inventory_names(path: Path) -> set[str]:
    """Python-domain names of a Sphinx ``objects.inv`` (version 2: four header lines, then
    zlib-compressed ``name domain:role priority uri dispname`` lines)."""
    data = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = data.index(b"\n", header_end) + 1
    assert data.startswith(b"# Sphinx inventory version 2"), data[:40]
    names = set()
    for line in zlib.decompress(data[header_end:]).decode().splitlines():
        name, role = line.split(" ", 2)[:2]
        if role.startswith("py:"):
            names.add(name)
    return names


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole site built as ``make -C docs html`` builds it (warnings are errors)."""
    try:
        import myst_parser  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError as err:
        pytest.fail(f"the docs extra is not installed ({err}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "2", "-b", "html"]
        + ["-d", str(out.parent / "doctrees"), str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"sphinx-build failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.mark.slow
def test_every_public_name_is_in_the_api_reference(built_site: Path) -> None:
    public = _public_names()
    assert len(public) > 500  # the walk found the packages' modules
    missing = sorted(public - _inventory_names(built_site / "objects.inv"))
    assert not missing, f"{len(missing)} public names missing from the API reference: {missing}"


@pytest.mark.slow
def test_every_section_is_built(built_site: Path) -> None:
    pages = [
        "getting_started",
        "ARCHITECTURE",
        "TRAINING_KERNELS",
        "api/index",
        *(f"guide/{p}" for p in ("networks", "backends", "semantics", "recordings", "training")),
        *(f"guide/{p}" for p in ("plasticity", "sparse_coding", "hardware", "scorecard")),
        *(f"guide/{p}" for p in ("interop", "experiments", "files")),
    ]
    for page in pages:
        html = (built_site / f"{page}.html").read_text()
        assert "TODO" not in html, page
    # the README's capability matrix reaches the backends page through the include
    assert "reward-modulated STDP" in (built_site / "guide/backends.html").read_text()
