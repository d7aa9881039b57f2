"""Run a benchmark worker against this tree and against the code of a baseline commit.

The baseline is checked out into a temporary git worktree for the duration of the
benchmark and removed afterwards, so "before" and "after" run in one run, on the same
machine, under the same load.

A worker imports the library as ``sparse_neuro.*`` whatever the tree (:func:`worker_env`,
:func:`use_tree`): this checkout through its install; another tree from after the move to one
namespace (issue 27) through that tree's installed layout, assembled as symbolic links beside
it; a tree from before it (top-level ``neuro``, ``experiments``, ...) through aliases of the
modules in :data:`SHARED`. The worker checks that the library it imports lies in its tree (an
editable install of this checkout would otherwise fill in whatever the tree lacks).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The engine before the engine-core rebuild (issue 11).
BASELINE = "dbe4968"

#: What a worker may import from a tree of another commit: the module under ``sparse_neuro``
#: -> the module of a tree from before issue 27 (parents before children).
SHARED = {
    "neuro": "neuro",
    "neuro.engines": "neuro.engines",
    "neuro.train": "neuro.layers",
    "hardware_models": "hardware_models",
    "experiments": "experiments",
    "experiments.cuba": "experiments.cuba",
    "encoders": "encoders",
    "learning": "learning",
    "learning.training": "learning.training",
}


@contextlib.contextmanager
def baseline_tree(commit: str = BASELINE) -> Iterator[Path]:
    """A temporary worktree of ``commit`` (removed on exit)."""
    path = Path(tempfile.mkdtemp(prefix="baseline-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(path.parent, ignore_errors=True)  # the assembled layout beside it


def worker_env(tree: Path) -> dict[str, str]:
    """The environment of a worker process that imports the library of ``tree``."""
    tree = Path(tree).resolve()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "SPARSE_NEURO_TREE": str(tree)}
    env.pop("SPARSE_NEURO_FLAT_TREE", None)
    if tree == ROOT:  # this checkout, as installed (the kernel cache stays warm)
        env["PYTHONPATH"] = str(ROOT)
    elif (tree / "sparse_neuro").is_dir():  # after issue 27: the installed layout, as links
        site = tree.parent / f"site-{tree.name}"
        if not site.exists():
            from sparse_neuro._layout import assemble

            assemble(tree, site)
        env["PYTHONPATH"] = str(site)
    else:  # before: top-level packages, aliased under sparse_neuro by use_tree()
        env.update(PYTHONPATH=str(tree), SPARSE_NEURO_FLAT_TREE="1")
    return env


def use_tree() -> None:
    """First thing in a worker, before any import of the library: import the library of the
    tree its parent chose (:func:`worker_env`), and check where it comes from. Nothing happens
    outside a worker; a second call only checks again."""
    import importlib

    tree = os.environ.get("SPARSE_NEURO_TREE")
    if not tree:
        return
    if os.environ.get("SPARSE_NEURO_FLAT_TREE") and "sparse_neuro" not in sys.modules:
        import types

        root = types.ModuleType("sparse_neuro")
        root.__path__ = []
        sys.modules["sparse_neuro"] = root
        for name, old in SHARED.items():
            mod = importlib.import_module(old)
            sys.modules[f"sparse_neuro.{name}"] = mod
            parent, _, leaf = f"sparse_neuro.{name}".rpartition(".")
            setattr(sys.modules[parent], leaf, mod)
    where = Path(importlib.import_module("sparse_neuro.neuro").__file__).resolve()
    if not where.is_relative_to(Path(tree)):
        raise RuntimeError(f"the worker imports {where}, not the library of the tree {tree}")


def run_worker(script: Path, tree: Path, args: list[str]) -> dict:
    """Run ``script --worker ...`` in a fresh interpreter that imports the packages of
    ``tree``; return the JSON of its last output line."""
    env = worker_env(tree)
    out = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, cwd=tree, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
