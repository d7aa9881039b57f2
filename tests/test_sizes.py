"""Sizes checked before allocating: builders refuse calls estimated beyond available memory
quickly and without taking the memory; runs are bounded in steps as well as neuron-steps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sparse_neuro.neuro.model.validation import (
    MAX_STEPS,
    TooLargeError,
    available_memory,
    check_duration,
    check_memory,
)

ROOT = Path(__file__).resolve().parents[1]

# Each call runs in a fresh process so that its peak memory (ru_maxrss) is its own: the
# increase over the process after its imports is what the refused call took.
_SCRIPT = """
import json, resource, sys, time
import sparse_neuro.neuro.model.validation as v
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model import connectivity as c

if sys.argv[2] != "real":  # the memory this machine has is not the test's business
    v.available_memory = lambda: int(float(sys.argv[2]))
calls = {
    "fixed_probability": lambda: SparseSynapses.fixed_probability(100_000, 20_000, 0.5, seed=0),
    "fixed_indegree": lambda: SparseSynapses.fixed_indegree(100_000, 1_000_000, 1000, seed=0),
    "fixed_total_number": lambda: c.fixed_total_number(100_000, 100_000, 10**9, seed=0),
    "multapses": lambda: c.fixed_indegree(100_000, 1_000_000, 1000, seed=0),
    "normal_weights": lambda: c.normal_weights(10**9, 0.1, 0.01),
    "arena": lambda: c.SynapseArena(10**9),
    "huge": lambda: SparseSynapses.fixed_probability(10**6, 10**6, 0.1, seed=0),
}
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    calls[sys.argv[1]]()
    out = {"error": None}
except v.TooLargeError as e:  # a ValueError and a MemoryError, not numpy's MemoryError
    out = {"error": str(e)}
out["seconds"] = time.perf_counter() - t0
out["mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
print(json.dumps(out))
"""


def _refused(call: str, avail: str) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT, call, avail],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "call, words",
    [
        (
            "fixed_probability",
            ["fixed_probability(n_pre=100000, n_post=20000, p=0.5)", "1e+09", "lower p"],
        ),
        (
            "fixed_indegree",
            ["fixed_indegree(n_pre=100000, n_post=1000000, k=1000)", "1e+09", "lower k"],
        ),
        ("fixed_total_number", ["n_synapses=1000000000", "lower n_synapses"]),
        ("multapses", ["k=1000", "lower k"]),
        ("normal_weights", ["normal_weights(n=1000000000)", "lower n"]),
        ("arena", ["SynapseArena(n_synapses=1000000000)", "lower n_synapses"]),
    ],
)
def test_builder_of_1e9_synapses_is_refused_fast_without_the_memory(call, words):
    out = _refused(call, "4e9")  # a machine with 4 GB available
    assert out["error"] is not None, f"{call} was not refused"
    assert "GiB" in out["error"] and "3.73 GiB of memory available" in out["error"]
    for w in words:
        assert w in out["error"], (w, out["error"])
    assert out["seconds"] < 1.0 and out["mb"] < 100, out


def test_builder_beyond_any_machine_is_refused_with_the_real_available_memory():
    out = _refused("huge", "real")  # 1e11 synapses: 5.6 TB
    assert out["error"] is not None and "about 1e+11 synapses" in out["error"]
    assert out["seconds"] < 1.0 and out["mb"] < 100, out


def test_available_memory_is_positive_and_below_the_total():
    with open("/proc/meminfo") as f:
        total = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
    assert 0 < available_memory() <= total
    check_memory("a small call", 1024, "nothing to reduce")
    with pytest.raises(
        TooLargeError,
        match=r"a big call needs about .* GiB, more than .*; "
        r"use less",
    ) as info:
        check_memory("a big call", 2.0 * total, "use less")
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)


def test_readers_and_builders_ask_one_helper(monkeypatch):
    import sparse_neuro.neuro.model.validation as v
    from sparse_neuro.neuro.storage import safe_read

    monkeypatch.setattr(v, "available_memory", lambda: 12345)
    assert safe_read.available_memory() == 12345
    monkeypatch.setattr(v, "available_memory", lambda: v.UNKNOWN_MEMORY)
    assert safe_read.available_memory() is None  # unknown: the readers check nothing


def test_population_beyond_memory_is_refused():
    from sparse_neuro.neuro import Population

    with pytest.raises(
        TooLargeError,
        match=r"Population\('a', size=10000000000000\) needs about "
        r".* GiB.*; lower size",
    ):
        Population("a", 10**13)


def test_small_builders_are_not_refused():
    from sparse_neuro.neuro.model.synapses import SparseSynapses

    assert SparseSynapses.fixed_probability(200, 100, 0.5, seed=0).n_synapses > 9000


def test_steps_are_bounded_as_well_as_neuron_steps():
    # one neuron for 1e12 steps (about a week) and 10 neurons at dt = 1e-12 s: refused
    with pytest.raises(ValueError, match=r"1e\+12 steps, above the limit 1e\+09 steps"):
        check_duration(1e8, 1e-4, 1)
    with pytest.raises(ValueError, match=r"dt_s=1e-12 s is 1e\+10 steps, above the limit"):
        check_duration(1e-2, 1e-12, 10)
    assert check_duration(MAX_STEPS * 1e-4, 1e-4, 1) == MAX_STEPS
    assert check_duration(1e8, 1e-4, 1, max_steps=None) == 10**12
