"""The public names the API reference documents: each public module of the documented packages
with its ``__all__``.

Shared by ``conf.py`` (which writes one reference page per module from it, so the reference
cannot fall behind the code) and ``tests/test_docs.py`` (which checks the built inventory
against it).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

PACKAGES = (
    "sparse_neuro.neuro",
    "sparse_neuro.learning",
    "sparse_neuro.encoders",
    "sparse_neuro.hardware_models",
)


def public_modules() -> dict[str, list[str]]:
    """Every public module or package under :data:`PACKAGES` that declares ``__all__``.

    Returns
    -------
    dict of str to list of str
        Dotted module name -> its ``__all__`` in declaration order. A module whose dotted path
        has a component starting with ``_`` is private and left out; so is a module without
        ``__all__`` (its names are re-exported by its package, e.g. ``neuro.model``).
    """
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        names = [package] + [m.name for m in pkgutil.walk_packages(pkg.__path__, package + ".")]
        for name in names:
            if any(part.startswith("_") for part in name.split(".")[1:]):
                continue
            module = importlib.import_module(name)
            exported = getattr(module, "__all__", None)
            if exported is not None:
                found[name] = list(exported)
    return found


def write_reference(out_dir: Path) -> list[str]:
    """Write ``<module>.rst`` for every public module into ``out_dir`` and return the module
    names in order (the caller's toctree lists them). Unchanged files are not rewritten, so an
    incremental build stays incremental."""
    out_dir.mkdir(parents=True, exist_ok=True)
    modules = public_modules()
    pages = {m: [(m, name) for name in exported] for m, exported in modules.items()}
    described_classes: dict[type, str] = {}
    documented = {f"{m}.{n}" for entries in pages.values() for m, n in entries}
    for module, entries in pages.items():
        # a module named like an attribute of its package (``plotting.raster`` the module and
        # ``plotting.raster`` the function): the function keeps the name in the index
        no_index = ["   :no-index:"] if module in documented else []
        lines = [module, "=" * len(module), "", f".. automodule:: {module}", *no_index, ""]
        # the summary table shows the first docstring line; a data value's is its type's
        summarized = [n for m, n in entries if _kind(m, n) != "data"]
        if summarized:
            lines += [".. autosummary::", ""] + [f"   {n}" for n in summarized] + [""]
        for mod, name in entries:
            lines += _describe(mod, name, described_classes)
        text = "\n".join(lines)
        path = out_dir / f"{module}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return list(pages)


def _kind(module: str, name: str) -> str:
    """``class``, ``exception``, ``function`` or ``data``: what ``module.name`` is."""
    obj = getattr(importlib.import_module(module), name)
    if isinstance(obj, type):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function" if callable(obj) else "data"


def _describe(module: str, name: str, described_classes: dict[type, str]) -> list[str]:
    """The reST describing one exported name.

    Classes and functions: autodoc. A class defined in a module without a page gets its full
    description on its first page only: autodoc registers it under its defining (canonical)
    name too, and a second such registration is a duplicate; later pages describe the name as
    that class. Data: the ``#:`` comment of the module that assigns it (autodoc would show the
    docstring of the value's type, ``dict`` or ``int``, when the name is re-exported).
    """
    kind = _kind(module, name)
    obj = getattr(importlib.import_module(module), name)
    full = f"{module}.{name}"
    if kind in ("class", "exception"):
        canonical = f"{obj.__module__}.{obj.__qualname__}"
        first = described_classes.setdefault(obj, full)
        if first != full and canonical != full:
            return [
                f".. py:{kind}:: {name}",
                f"   :module: {module}",
                "",
                f"   The class :class:`{first}`.",
                "",
            ]
        return [f".. auto{kind}:: {full}", ""]
    if kind == "function":
        return [f".. autofunction:: {full}", ""]
    lines = [f".. py:data:: {name}", f"   :module: {module}", f"   :type: {type(obj).__name__}", ""]
    lines += [f"   {line}" if line else "" for line in _attribute_comment(module, name, obj)]
    return lines + [""]


def _attribute_comment(module: str, name: str, obj: object) -> list[str]:
    """The ``#:`` comment above the assignment of ``obj``, in ``module`` or in the module of
    the same package that defines it; empty when there is none."""
    from sphinx.pycode import ModuleAnalyzer, PycodeError

    candidates = [module] + sorted(
        m
        for m, mod in sys.modules.items()
        if m.startswith(module.split(".")[0] + ".")
        and m != module
        and getattr(mod, name, None) is obj
    )
    for candidate in candidates:
        try:
            docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except PycodeError:
            continue
        comment = docs.get(("", name))
        if comment:
            return list(comment)
    return []
