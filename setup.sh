#!/usr/bin/env bash
# Create .venv (Python >= 3.11; the tests run on 3.11) and install the toolkit with everything it needs.
# Idempotent: re-running with unchanged pyproject.toml does nothing.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' || {
  echo "setup.sh: Python >= 3.11 is required; set PYTHON=..." >&2
  exit 1
}
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ -f "$stamp" ]; then
  exit 0
fi
[ -d .venv ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU wheel first: an unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test,interop,reference,docs]"
# norse without its dependencies: it requires torchvision, whose wheels pin another torch
# (CUDA); its real runtime needs (torch, numpy, nir, nirtorch) come from the line above.
.venv/bin/python -m pip install -q --no-deps "norse>=1.0,<2"
rm -f .venv/.installed-*
touch "$stamp"
echo "setup.sh: environment ready in .venv" >&2
