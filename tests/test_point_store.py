"""PointStore: finished points are reused, a live lock is respected, a dead one taken over."""

import os
import subprocess
import sys

import pytest

from sparse_neuro.experiments.point_store import PointStore, point_key


def test_compute_all_computes_only_missing_points_and_resumes(tmp_path):
    calls = []

    def compute(key):
        calls.append(key)
        return {"v": len(key)}

    store = PointStore(tmp_path, "run1")
    assert store.compute_all(["a", "bb"], compute) == {"a": {"v": 1}, "bb": {"v": 2}}
    again = PointStore(tmp_path, "run1").compute_all(["a", "bb", "ccc"], compute)
    assert calls == ["a", "bb", "ccc"] and again["ccc"] == {"v": 3}
    # another identity (configuration) never sees these points; fresh recomputes them
    PointStore(tmp_path, "run2").compute_all(["a"], compute)
    PointStore(tmp_path, "run1", fresh=True).compute_all(["a"], compute)
    assert calls[3:] == ["a", "a"]
    assert not list(tmp_path.glob("*.lock"))


def test_claim_respects_a_live_process_and_takes_over_a_dead_one(tmp_path):
    store = PointStore(tmp_path, "r")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        (tmp_path / "r-x.lock").write_text(str(live.pid))
        (tmp_path / "r-y.lock").write_text(str(dead.pid))
        assert not store.claim("x")
        assert store.claim("y") and (tmp_path / "r-y.lock").read_text() == str(os.getpid())
        assert store.claim("y")  # already ours
    finally:
        live.kill()
        live.wait()
    assert store.claim("x")  # its holder died


def test_keys_and_identity_are_validated(tmp_path):
    assert point_key("rigl", 0.1, True) == "rigl_0.1_True"
    with pytest.raises(ValueError, match="identity"):
        PointStore(tmp_path, "a/b")
    with pytest.raises(ValueError, match="point key"):
        PointStore(tmp_path, "a").get("x y")


def test_compute_all_without_waiting_skips_points_held_elsewhere(tmp_path):
    store = PointStore(tmp_path, "r")
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "r-held.lock").write_text(str(holder.pid))
        got = store.compute_all(["held", "free"], lambda k: {"k": k}, wait=False)
    finally:
        holder.kill()
        holder.wait()
    assert got == {"free": {"k": "free"}}


def test_damaged_or_edited_point_raises_format_error(tmp_path):
    from sparse_neuro.neuro.storage.integrity import FormatError

    store = PointStore(tmp_path, "r")
    store.put("a", {"acc": 0.93, "curve": [0.5, 0.9]})
    assert PointStore(tmp_path, "r").get("a") == {"acc": 0.93, "curve": [0.5, 0.9]}
    f = tmp_path / "r-a.json"
    f.write_text(f.read_text().replace("0.93", "0.99"))  # edited result, stale digest
    with pytest.raises(FormatError, match="SHA-256"):
        store.get("a")
    f.write_text('{"acc": 0.9')  # truncated
    with pytest.raises(FormatError, match="not valid JSON"):
        store.get("a")
    f.write_text('{"acc": 0.9}')  # an old-format or foreign file
    with pytest.raises(FormatError, match="sha256"):
        store.get("a")


def test_a_point_file_records_provenance_and_older_files_still_read(tmp_path):
    import json

    store = PointStore(tmp_path, "r")
    store.put("a", {"acc": 0.5})
    f = tmp_path / "r-a.json"
    stored = json.loads(f.read_text())
    assert stored["provenance"]["command_line"] and "numpy" in stored["provenance"]["dependencies"]
    old = {k: v for k, v in stored.items() if k != "provenance"}  # written before provenance
    f.write_text(json.dumps(old))
    assert PointStore(tmp_path, "r").get("a") == {"acc": 0.5}
    f.write_text(json.dumps({**old, "provenance": "text"}))
    with pytest.raises(ValueError, match="provenance"):
        PointStore(tmp_path, "r").get("a")
