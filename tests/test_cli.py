"""Command-line traps of issue 15: unknown --set keys, unknown names, bad --out, output streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparse_neuro.experiments.__main__ import main
from sparse_neuro.experiments.common import UsageError, check_out_dir, format_summary

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sparse_neuro", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_demo_rejects_unknown_set_key_before_running(tmp_path, capsys):
    assert main(["run", "demo", "--out", str(tmp_path / "d"), "--set", "anything=1"]) == 2
    err = capsys.readouterr().err
    assert "anything" in err and "valid keys" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()  # nothing ran


def test_demo_set_goes_to_experiments_that_have_the_key():
    from sparse_neuro.experiments.demo import demo_overrides

    split = demo_overrides({"n_steps": "5"})
    assert split["digits-surrogate"] == {"n_steps": "5"} and split["cuba"] == {}


def test_unknown_set_key_and_bad_value_are_usage_errors(tmp_path, capsys):
    assert main(["run", "cuba", "--smoke", "--out", str(tmp_path / "a"), "--set", "nope=1"]) == 2
    assert "unknown parameter 'nope'" in capsys.readouterr().err
    assert main(["run", "cuba", "--smoke", "--out", str(tmp_path / "b"), "--set", "dt_s=-1"]) == 2
    assert "dt_s" in capsys.readouterr().err


def test_unknown_experiment_help_is_one_line_and_the_list(tmp_path):
    r = _cli("run", "nope", "--help", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "unknown experiment 'nope'" in r.stderr and "cuba" in r.stderr and "demo" in r.stderr


def test_existing_file_as_out_is_a_one_line_error(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["run", "cuba", "--smoke", "--out", str(f)]) == 2
    err = capsys.readouterr().err.strip()
    assert "existing file" in err and len(err.splitlines()) == 1
    assert main(["run", "cuba", "--smoke", "--out", str(f / "sub")]) == 2  # below a file
    assert f.read_text() == "x"


def test_read_only_out_directory_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    # tests run as root, who may write anywhere: simulate a read-only directory
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == ro else real(p, m))
    assert main(["run", "cuba", "--smoke", "--out", str(ro / "new")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not writable" in err and len(err.splitlines()) == 1
    with pytest.raises(UsageError):
        check_out_dir(ro)
    assert check_out_dir(tmp_path / "fresh" / "deeper") == tmp_path / "fresh" / "deeper"


def test_summary_on_stdout_progress_on_stderr_and_json(tmp_path):
    r = _cli("run", "cuba", "--smoke", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) > 3 and all(": " in line and len(line) < 200 for line in lines)
    assert "experiment: cuba" in lines
    assert "\r" not in r.stderr  # no progress bars when stderr is not a terminal
    assert "finished" in r.stderr  # the log line
    j = _cli("run", "cuba", "--smoke", "--json", "-q", "--out", str(tmp_path / "j"), cwd=tmp_path)
    assert j.returncode == 0 and j.stderr == ""
    summary = json.loads(j.stdout)
    assert summary == json.loads((tmp_path / "j" / "summary.json").read_text())


def test_format_summary_is_readable_lines():
    text = format_summary({"a": 0.123456789, "b": list(range(20)), "c": {"d": 1}})
    assert text.splitlines() == ["a: 0.1235", "b: [20 values]", "c:", "  d: 1"]


def test_quiet_and_verbose_together_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "cuba", "-q", "-v", "--out", str(tmp_path / "x")]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_failed_run_exits_1_with_one_line(tmp_path, monkeypatch, capsys):
    import sparse_neuro.experiments.cuba as cuba

    def boom(cfg, ctx):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(cuba, "run", boom)
    assert main(["run", "cuba", "--smoke", "--out", str(tmp_path / "f")]) == 1
    assert "RuntimeError: simulated failure" in capsys.readouterr().err
