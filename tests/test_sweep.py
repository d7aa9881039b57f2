"""Sweeps on a real Dask scheduler with two worker processes; resume and failure handling."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from sparse_neuro.experiments.common import UsageError
from sparse_neuro.experiments.sweep import parse_grid, parse_seeds, plan_points, run_sweep

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
NAME, GRID = "stdp-window", {"n_pairs": ["4", "6"]}  # a smoke point runs in ~1 s


def test_parsing_and_plan():
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    assert parse_grid(["a=1,2", "b=x"]) == {"a": ["1", "2"], "b": ["x"]}
    pts = plan_points({"a": ["1", "2"], "b": ["x"]}, [0, 1])
    assert [p.id for p in pts] == [
        "a=1__b=x__seed=0",
        "a=1__b=x__seed=1",
        "a=2__b=x__seed=0",
        "a=2__b=x__seed=1",
    ]
    for bad in ("", "1,1", "x", "-1"):
        with pytest.raises(UsageError):
            parse_seeds(bad)
    with pytest.raises(UsageError, match="n_pairs"):  # every point's config is checked first
        run_sweep(NAME, "/nonexistent-never-created", {"n_pairs": ["-1"]}, [0], smoke=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}
    return subprocess.Popen(
        args, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True
    )  # own process group: kill worker + nanny


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _wait_workers(address: str, n: int, timeout: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="20s") as c:
        c.wait_for_workers(n, timeout=timeout)


@pytest.mark.slow
def test_sweep_on_a_scheduler_survives_a_killed_worker_and_resumes(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    sched = _start(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        tmp_path / "scheduler.log",
    )
    workers = [
        _start(
            [
                str(DASK),
                "worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                f"w{i}",
            ],
            tmp_path / f"worker{i}.log",
        )
        for i in range(2)
    ]
    try:
        _wait_workers(address, 2)
        out = tmp_path / "sweep"
        result: dict = {}
        t = threading.Thread(
            target=lambda: result.update(
                run_sweep(NAME, out, GRID, [0, 1], smoke=True, scheduler=address)
            )
        )
        t.start()
        deadline = time.monotonic() + 60
        while not list(out.glob("points/*/summary.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        _kill(workers[0])  # mid-sweep: other points are queued or running
        n_done_at_kill = len(list(out.glob("points/*/summary.json")))
        t.join(120)
        assert not t.is_alive()
        assert 1 <= n_done_at_kill < 4
        assert result["points"] == 4 and result["finished"] == 4 and result["failed"] == 0
        rows = list(csv.DictReader((out / "sweep.csv").open()))
        assert sorted((r["n_pairs"], r["seed"]) for r in rows) == sorted(
            (a, str(s)) for a in GRID["n_pairs"] for s in (0, 1)
        )
        with h5py.File(out / "sweep.h5") as h:
            assert h["seed"].shape == (4,) and np.all(np.isfinite(h["total_wall_s"][:]))
        assert (out / "sweep.png").stat().st_size > 0

        # a killed sweep: remove two results (as if they never finished); the rerun runs
        # exactly those and skips the rest
        for p in sorted(out.glob("points/*/summary.json"))[:2]:
            p.unlink()
        before = {p: p.stat().st_mtime_ns for p in out.glob("points/*/summary.json")}
        again = run_sweep(NAME, out, GRID, [0, 1], smoke=True, scheduler=address)
        assert again["skipped"] == 2 and again["ran"] == 2 and again["finished"] == 4
        assert all(p.stat().st_mtime_ns == m for p, m in before.items())
    finally:
        for w in workers:
            _kill(w)
        _kill(sched)


def test_failed_points_are_reported_and_retried_on_request(tmp_path, monkeypatch):
    import sparse_neuro.experiments.sweep as sweep

    calls = []

    def fake_points(name, out, todo, smoke, overrides, scheduler, workers):
        # stands in for Dask: run in-process, first point fails
        failed = {}
        for p in todo:
            calls.append(p.id)
            res = sweep._run_point(
                name,
                str(out / "points" / p.id),
                p.seed,
                smoke,
                {**overrides, **dict(p.values), "n_pairs": "0"}
                if p.seed == 0 and len(calls) == 1
                else {**overrides, **dict(p.values)},
            )
            if res["status"] != "finished":
                failed[p.id] = res["error"]
        return failed

    monkeypatch.setattr(sweep, "_run_points", fake_points)
    r1 = run_sweep(NAME, tmp_path, {"n_pairs": ["4"]}, [0, 1], smoke=True)
    assert r1["failed"] == 1 and r1["finished"] == 1
    assert (tmp_path / "points" / "n_pairs=4__seed=0" / "error.txt").is_file()
    r2 = run_sweep(NAME, tmp_path, {"n_pairs": ["4"]}, [0, 1], smoke=True)
    assert r2["ran"] == 0 and r2["failed"] == 1  # reported again, not retried
    r3 = run_sweep(NAME, tmp_path, {"n_pairs": ["4"]}, [0, 1], smoke=True, retry_failed=True)
    assert r3["ran"] == 1 and r3["failed"] == 0 and r3["finished"] == 2
    assert not (tmp_path / "points" / "n_pairs=4__seed=0" / "error.txt").exists()


@pytest.mark.slow
def test_a_sweep_killed_with_its_workers_resumes_skipping_finished_points(tmp_path):
    out = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "sparse_neuro",
        "sweep",
        NAME,
        "--smoke",
        "--grid",
        "n_pairs=4,6",
        "--seeds",
        "0-1",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    first = _start(cmd, tmp_path / "first.log")
    deadline = time.monotonic() + 90
    while not list(out.glob("points/*/summary.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill(first)  # SIGKILL to the client, its LocalCluster and the running points
    done = {p.parent.name for p in out.glob("points/*/summary.json")}
    assert 1 <= len(done) < 4, (tmp_path / "first.log").read_text()[-2000:]
    second = subprocess.run(
        [*cmd, "--json", "-q"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert second.returncode == 0, second.stderr
    import json

    summary = json.loads(second.stdout)
    assert summary["skipped"] == len(done) and summary["ran"] == 4 - len(done)
    assert summary["finished"] == 4 and summary["failed"] == 0
