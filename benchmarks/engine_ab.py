"""This tree's engine against the baseline commit, chunk by chunk, for a loaded machine.

Two persistent worker processes (this tree and the baseline commit, ``benchmarks/_baseline.py``)
build the same network, compile, and then take turns: each runs ``--chunk`` seconds more of
simulation and reports the CPU time (``time.process_time``) it took, alternating which goes
first. Both see the same load within a few milliseconds, so the ratio of their CPU-time
quantiles is stable where fresh-process wall times on a shared machine are not. Cases:

- ``cuba``: the clock engine on the 4,000-neuron CUBA network (dt 0.1 ms, seed 0);
- ``eq_cuba``, ``eq_fanout``: the Loihi event-queue backend (float mode) on CUBA and on the
  fan-out network of ``benchmarks/event_queue_throughput.py`` (dt 1 ms), seed 1;
- ``brunel``: the clock engine on one thread on the Brunel network of
  ``benchmarks/threads.py`` (12,500 neurons in 16 partitions, delays, PoissonInput): the
  partitioned path, per thread (its speed-up on more threads is ``threads.py``'s).

Usage::

    PYTHONPATH=$PWD python benchmarks/engine_ab.py                  # all cases
    PYTHONPATH=$PWD python benchmarks/engine_ab.py --cases cuba --chunk 0.1 --chunks 40
    PYTHONPATH=$PWD python benchmarks/engine_ab.py --cases cuba --baseline main
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import BASELINE, ROOT, baseline_tree, use_tree, worker_env  # noqa: E402

use_tree()  # a worker: the library of its tree (before anything imports it)
from _record import write_record  # noqa: E402

CASES = ("cuba", "eq_cuba", "eq_fanout", "brunel")


def _simulator(case: str):
    """The warmed-up simulator of ``case``, built with the packages this process imports."""
    from sparse_neuro.experiments.cuba import cuba_network

    if case == "brunel":
        from threads import brunel_network

        from sparse_neuro.neuro.engines import ClockSimulator

        ClockSimulator(cuba_network(0, n_neurons=100), 1e-4, seed=0).run(1e-4)  # load kernels
        sim = ClockSimulator(brunel_network(0), 1e-4, seed=0, threads=1)
        sim.run(1e-3)  # the partitioned specialisation
        return sim
    if case == "cuba":
        from sparse_neuro.neuro.engines import ClockSimulator

        ClockSimulator(cuba_network(0, n_neurons=100), 1e-4, seed=0).run(1e-4)  # load kernels
        return ClockSimulator(cuba_network(0), 1e-4, seed=0)
    from event_queue_throughput import fanout_network

    from sparse_neuro.hardware_models import EventQueueSimulator

    dt = 1e-4 if case == "eq_cuba" else 1e-3
    sim = EventQueueSimulator(
        cuba_network(0) if case == "eq_cuba" else fanout_network(), dt, seed=1
    )
    sim.run(5 * dt)  # compile / load the kernels
    return sim


def worker(case: str) -> None:
    """Serve chunks: for each line ``D`` on stdin, run ``D`` seconds more and print the CPU
    and wall time as JSON."""
    sim = _simulator(case)
    print("ready", flush=True)
    for line in sys.stdin:
        c0, w0 = time.process_time(), time.perf_counter()
        sim.run(float(line))
        print(json.dumps([time.process_time() - c0, time.perf_counter() - w0]), flush=True)


def compare(case: str, chunk: float, chunks: int, old: Path) -> dict:
    """CPU time per chunk of this tree (``new``) and the baseline (``old``), interleaved."""
    procs = {}
    for label, tree in (("new", ROOT), ("old", old)):
        env = worker_env(tree)
        procs[label] = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", case],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    for p in procs.values():
        line = p.stdout.readline()
        while line and line.strip() != "ready":
            line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"a {case} worker exited before it was ready")
    cpu: dict[str, list[float]] = {k: [] for k in procs}
    order = list(procs)
    for i in range(chunks):
        for label in order if i % 2 == 0 else order[::-1]:
            p = procs[label]
            p.stdin.write(f"{chunk}\n")
            p.stdin.flush()
            cpu[label].append(json.loads(p.stdout.readline())[0])
    for p in procs.values():
        p.stdin.close()
        p.wait()
    res = {}
    for label, c in cpu.items():
        c = sorted(c)
        res[label] = {"min": c[0], "q25": c[len(c) // 4], "median": statistics.median(c)}
    res["ratio"] = {q: res["new"][q] / res["old"][q] for q in ("min", "q25", "median")}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", nargs="+", choices=CASES, default=["cuba", "eq_cuba", "eq_fanout"])
    ap.add_argument("--chunk", type=float, default=0.05, help="simulated seconds per chunk")
    ap.add_argument("--chunks", type=int, default=30, help="chunks per tree")
    ap.add_argument(
        "--baseline",
        default=BASELINE,
        help=f"commit to compare against (default {BASELINE}, before the rebuild)",
    )
    ap.add_argument("--worker", choices=CASES)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    load_start = os.getloadavg()
    print(f"load average at start: {load_start}")
    figures = {}
    with baseline_tree(args.baseline) as old:
        for case in args.cases:
            r = figures[case] = compare(case, args.chunk, args.chunks, old)
            for label in ("new", "old"):
                q = r[label]
                print(
                    f"{case:<10} {label}: CPU per chunk min {q['min'] * 1e3:.2f} ms, "
                    f"q25 {q['q25'] * 1e3:.2f} ms, median {q['median'] * 1e3:.2f} ms"
                )
            print(
                f"{case:<10} new / old CPU: min {r['ratio']['min']:.3f}x, "
                f"q25 {r['ratio']['q25']:.3f}x, median {r['ratio']['median']:.3f}x"
            )
    print(f"load average at end: {os.getloadavg()}")
    path = write_record(
        "engine_ab",
        {"baseline": args.baseline, "chunk_s": args.chunk, "chunks": args.chunks, **figures},
        threads=1,
        units={"*": "CPU s per chunk of chunk_s simulated seconds; ratio = new / old"},
        load_start=load_start,
    )
    print(f"record: {path}")


if __name__ == "__main__":
    main()
