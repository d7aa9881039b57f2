"""Run a benchmark worker against this tree and against the code of a baseline commit.

The baseline is checked out into a temporary git worktree for the duration of the
benchmark and removed afterwards, so "before" and "after" run in one run, on the same
machine, under the same load.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The engine before the engine-core rebuild (issue 11).
BASELINE = "dbe4968"


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


def run_worker(script: Path, tree: Path, args: list[str]) -> dict:
    """Run ``script --worker ...`` in a fresh interpreter that imports the packages of
    ``tree``; return the JSON of its last output line."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, cwd=tree, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
