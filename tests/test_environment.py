"""environment.yml (conda) stays consistent with pyproject.toml (pip)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*(#.*)?$", req)
    assert m, req
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _environment_specs() -> dict[str, str]:
    specs = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*([<>=!~][^#\s]*)?", line)
        if m and m.group(1) not in ("pip", "conda-forge"):
            specs[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    return specs


def test_every_pip_dependency_is_in_environment_yml_with_the_same_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = _environment_specs()
    deps = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    for req in deps:
        name, spec = _split(req)
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in env, f"{name} is in pyproject.toml but not in environment.yml"
        assert env[conda_name] == spec, (
            f"{name}: pyproject says {spec!r}, environment.yml {env[conda_name]!r}"
        )


def test_python_version_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "3.11" in project["requires-python"]
    assert re.search(r"-\s+python=3\.11", (ROOT / "environment.yml").read_text())


def test_numba_range_of_the_kernels_matches_pyproject():
    """``sparse_neuro.neuro.jit`` refuses an untested numba at import: its range is the declared
    one."""
    from sparse_neuro.neuro.jit import NUMBA_RANGE, _check_numba

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    spec = dict(_split(r) for r in project["dependencies"])["numba"]
    (lo_major, lo_minor), (hi_major, hi_minor) = NUMBA_RANGE
    assert spec == f">={lo_major}.{lo_minor},<{hi_major}.{hi_minor}"
    _check_numba(f"{lo_major}.{lo_minor}.0")
    for bad in (f"{lo_major}.{lo_minor - 1}.9", f"{hi_major}.{hi_minor}.0"):
        try:
            _check_numba(bad)
        except ImportError as err:
            assert bad in str(err) and spec.split(",")[0] in str(err)
        else:
            raise AssertionError(f"numba {bad} accepted")
