"""The import layers of pyproject.toml's ``[tool.importlinter]`` hold: the description below
the engines, the engines below the backends, neuro never importing learning, hardware_models
or experiments, no cycles between sibling modules."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_lint_imports_passes():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which(
        "lint-imports")
    assert exe, "import-linter is not installed (pip install import-linter)"
    # this checkout's packages, not an installed copy of them
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([exe, "--no-cache"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
