"""Speed of the kernels compiled for a generic x86-64 CPU vs the native CPU, in one run.

The kernels use only generic LLVM operations, so they run on any CPU numba supports; this
measures what a CPU without AVX-512 and AVX2 costs. ``generic`` is numba's
``NUMBA_CPU_NAME=generic`` (SSE2 only); ``native`` is the CPU this runs on. Both run the same
work in fresh processes, interleaved (native, generic, native, ...), 1 thread each; times are
CPU seconds of the worker, after a warm-up that compiles (each target has its own cache
entries).

Work:

- ``cuba``: the CUBA network (4,000 LIF neurons, 2% connectivity, ``sparse_neuro.experiments.cuba``)
  on the clock engine, ``--duration`` simulated seconds, float64.
- ``train_<density>``: sparse training steps (forward, backward, Adam) of the MNIST-sized
  784-1000-10 LIF network with the fused event kernels (``kernel="event"``), T = 25,
  batch 128, rate-coded random input of MNIST's mean intensity (no data files needed);
  ``--steps`` timed steps after one untimed one.

Writes a JSON record (figures, command, date, versions, CPU, threads) to
``benchmarks/results/generic_cpu.json``.

Run::

    python benchmarks/generic_cpu.py                     # 3 repeats
    python benchmarks/generic_cpu.py --repeats 1 --steps 5 --duration 0.5
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import RESULTS, write_record  # noqa: E402

TARGETS = ("native", "generic")


def worker(work: str, duration: float, steps: int) -> dict:
    """Run one measurement in this process; CPU seconds of the timed part."""
    import numba
    import numpy as np

    numba.set_num_threads(1)
    if work == "cuba":
        from sparse_neuro.experiments.cuba import cuba_network
        from sparse_neuro.neuro.engines import ClockSimulator

        ClockSimulator(cuba_network(0, n_neurons=100), 1e-4, seed=0).run(1e-3)  # compile
        sim = ClockSimulator(cuba_network(0), 1e-4, seed=0)
        c0 = time.process_time()
        rec = sim.run(duration)
        return {
            "cpu_s": time.process_time() - c0,
            "n_spikes": int(sum(s.n_spikes for s in rec.spikes.values())),
        }
    import torch

    from sparse_neuro.learning.training import count_ce_loss
    from sparse_neuro.neuro.train import SpikingMLP

    torch.set_num_threads(1)
    density = float(work.split("_", 1)[1])
    net = SpikingMLP((784, 1000, 10), n_steps=25, density=density, seed=0)
    for fc in net.fcs:
        fc.kernel = "event"
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    xs = [(torch.rand(25, 128, 784, generator=g) < 0.13).float() for _ in range(steps + 1)]
    ys = [torch.randint(0, 10, (128,), generator=g) for _ in range(steps + 1)]
    total = 0.0
    for b in range(steps + 1):
        c0 = time.process_time()
        loss = count_ce_loss(net(xs[b]), ys[b])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if b:  # the first step compiles
            total += time.process_time() - c0
    return {
        "cpu_s": total / steps,
        "loss": float(loss),
        "n_weights": int(np.sum([fc.weight.numel() for fc in net.fcs])),
    }


def measure(target: str, work: str, duration: float, steps: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CPU_NAME"}
    env.update(PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if target == "generic":
        env["NUMBA_CPU_NAME"] = "generic"
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            work,
            "--duration",
            str(duration),
            "--steps",
            str(steps),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{target} {work} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=1.0, help="CUBA simulated seconds")
    ap.add_argument("--steps", type=int, default=10, help="timed training steps per worker")
    ap.add_argument("--densities", type=float, nargs="+", default=[0.1, 0.02])
    ap.add_argument("--worker")
    ap.add_argument("--out", type=Path, default=RESULTS / "generic_cpu.json")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.duration, args.steps)))
        return
    if args.repeats < 1 or args.steps < 1 or not args.duration > 0:
        ap.error("--repeats and --steps must be >= 1 and --duration > 0")
    works = ["cuba", *(f"train_{d:g}" for d in args.densities)]
    load_start = os.getloadavg()
    print("warming the kernel caches of both targets...", file=sys.stderr, flush=True)
    for target in TARGETS:
        for work in works:
            measure(target, work, min(args.duration, 0.1), 1)
    runs: dict[str, dict[str, list[dict]]] = {w: {t: [] for t in TARGETS} for w in works}
    for r in range(args.repeats):
        for work in works:
            for target in TARGETS:  # interleaved: machine load hits both alike
                runs[work][target].append(measure(target, work, args.duration, args.steps))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    figures = {}
    print(f"{'work':<12}{'native (s)':>12}{'generic (s)':>13}{'generic/native':>16}")
    for work in works:
        med = {t: statistics.median(x["cpu_s"] for x in runs[work][t]) for t in TARGETS}
        ratio = med["generic"] / med["native"]
        figures[work] = {
            "native_cpu_s": med["native"],
            "generic_cpu_s": med["generic"],
            "generic_over_native": ratio,
            "runs": runs[work],
        }
        print(f"{work:<12}{med['native']:>12.3f}{med['generic']:>13.3f}{ratio:>15.2f}x")
    path = write_record(
        "generic_cpu",
        figures,
        threads=1,
        units={
            "cuba": f"CPU s per {args.duration:g} s simulated",
            "train_*": "CPU s per training step (batch 128, T = 25)",
        },
        load_start=load_start,
        out=args.out,
    )
    print(f"record: {path}")


if __name__ == "__main__":
    main()
