"""One import package, ``sparse_neuro`` (issue 27): the packaging configuration matches the
folders, nothing imports the parts by their bare folder names, a user's own ``experiments/``,
``learning/`` or ``neuro/`` folder changes nothing, the version comes from one place, and a
wheel installs exactly one top-level package."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from sparse_neuro._layout import PARTS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: The folders of the repository that are not the library's.
NOT_INSTALLED = ("benchmarks/", "tests/", "docs/")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _files(*patterns: str) -> list[str]:
    """Repository files (tracked, and new ones not yet ignored), relative paths."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted(f for f in set(out) if (ROOT / f).is_file())


def _dotted(folder: Path) -> str:
    """``neuro/engines`` -> ``sparse_neuro.neuro.engines``."""
    return ".".join(["sparse_neuro", *folder.relative_to(ROOT).parts])


def test_packages_and_package_dir_match_the_folders():
    setup = _pyproject()["tool"]["setuptools"]
    assert setup["package-dir"] == {
        "sparse_neuro": "sparse_neuro",
        **{f"sparse_neuro.{p}": p for p in PARTS},
    }
    data = setup["package-data"]
    expected = {"sparse_neuro"} | {
        _dotted(init.parent) for part in PARTS for init in (ROOT / part).rglob("__init__.py")
    }
    # a subpackage missing from the list would be left out of a wheel, while an editable
    # install still finds it through its parent
    assert set(setup["packages"]) - set(data) == expected
    # every folder that holds modules is a package (no namespace package slips through)
    for part in PARTS:
        for py in (ROOT / part).rglob("*.py"):
            assert (py.parent / "__init__.py").is_file(), f"{py.parent} has no __init__.py"
    # the data folders are listed packages whose files exist
    for pkg, globs in data.items():
        assert pkg in setup["packages"], pkg
        folder = ROOT.joinpath(*pkg.split(".")[1:])
        assert not (folder / "__init__.py").exists(), pkg
        for g in globs:
            assert list(folder.glob(g)), f"{pkg}: nothing matches {g}"


_PART = "(?:" + "|".join(PARTS) + ")"
#: an import statement of a bare part name in code held in a string (a subprocess's script, a
#: probe) or in the docs: at the start of a line or after a quote or ';'
_BARE_IMPORT = re.compile(
    rf"""(?:^|[;"'])[ \t]*(?:from[ \t]+{_PART}(?:\.\w+)*[ \t]+import[ \t]"""
    rf"""|import[ \t]+{_PART}(?:\.\w+)*[ \t]*(?:$|[;,"']|[ \t]as[ \t]))""",
    re.M,
)


def test_no_module_imports_the_old_top_level_names():
    """``import neuro`` from the repository root would give a second copy of every class,
    different from the one under ``sparse_neuro.neuro``; and a user's folder of that name would
    be imported instead of ours."""
    found = []
    for f in _files("*.py"):
        text = (ROOT / f).read_text()
        for node in ast.walk(ast.parse(text, f)):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{f}:{node.lineno}: {n}" for n in names if n.split(".")[0] in PARTS]
        found += [
            f"{f}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}"
            for m in _BARE_IMPORT.finditer(text)
        ]
    for f in _files("*.md", "*.sh", "*.j2", "*.yml", ".ci/run"):
        if f.startswith("benchmarks/results/"):  # records of past runs
            continue
        text = (ROOT / f).read_text()
        for pattern in (_BARE_IMPORT, re.compile(r"-m\s+experiments\b")):
            found += [
                f"{f}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}"
                for m in pattern.finditer(text)
            ]
    assert not found, "import through sparse_neuro.<part>:\n" + "\n".join(found)


def _user_project(tmp_path: Path) -> Path:
    """A research project with its own experiments/, learning/ and neuro/ folders, each of
    which stops the interpreter if anything imports or runs it."""
    where = tmp_path / "project"
    for name in ("experiments", "learning", "neuro"):
        (where / name).mkdir(parents=True)
        for module in ("__init__.py", "__main__.py"):
            (where / name / module).write_text(
                f'raise SystemExit("the user\'s {name}/ was imported")\n'
            )
    return where


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONWARNINGS"] = "ignore"
    return env


@pytest.mark.parametrize(
    "command",
    [
        [str(BIN / "sparse-neuro")],
        [sys.executable, "-m", "sparse_neuro"],
        [sys.executable, "-m", "sparse_neuro.experiments"],
    ],
    ids=["console-script", "python-m-sparse_neuro", "python-m-sparse_neuro.experiments"],
)
def test_a_users_own_folders_change_nothing(command, tmp_path):
    project = _user_project(tmp_path)
    out = subprocess.run(
        [*command, "list"], cwd=project, env=_clean_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "stdp-digits" in out.stdout
    assert "was imported" not in out.stdout + out.stderr
    code = (
        "import sparse_neuro.learning as m, sparse_neuro.neuro as n; print(m.__file__, n.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=_clean_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for f in out.stdout.split():
        assert Path(f).resolve().is_relative_to(ROOT), f


def test_version_from_one_place():
    import sparse_neuro

    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "sparse_neuro._version.__version__"
    }
    assert importlib.metadata.version("sparse-neuro") == sparse_neuro.__version__
    for command in ([str(BIN / "sparse-neuro")], [sys.executable, "-m", "sparse_neuro"]):
        out = subprocess.run(
            [*command, "--version"], cwd=ROOT, env=_clean_env(), capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr[-3000:]
        assert out.stdout.strip() == f"sparse-neuro {sparse_neuro.__version__}"


@pytest.mark.slow
def test_a_wheel_installs_exactly_one_top_level_package(tmp_path):
    import sparse_neuro

    # build from a copy of the repository's files, so the checkout gets no build/ or egg-info
    src = tmp_path / "src"
    for f in _files():
        if not f.startswith((*NOT_INSTALLED, ".")):
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    dist = tmp_path / "dist"
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(dist), str(src)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    (wheel,) = dist.glob("sparse_neuro-*.whl")
    info = f"sparse_neuro-{sparse_neuro.__version__}.dist-info"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n.split("/")[0] for n in names} == {"sparse_neuro", info}

    library = [f for f in _files("*.py") if f.split("/")[0] in (*PARTS, "sparse_neuro")]
    expected = {f if f.startswith("sparse_neuro/") else f"sparse_neuro/{f}" for f in library}
    assert {n for n in names if n.endswith(".py")} == expected
    data = [
        *(ROOT / "neuro/bio/data").glob("*.csv"),
        *(ROOT / "experiments/templates").glob("*.j2"),
    ]
    assert data
    missing = {f"sparse_neuro/{p.relative_to(ROOT).as_posix()}" for p in data} - names
    assert not missing, missing

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    before = set(os.listdir(site))
    out = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert set(os.listdir(site)) - before == {"sparse_neuro", info}
    assert (venv / "bin" / "sparse-neuro").is_file()
