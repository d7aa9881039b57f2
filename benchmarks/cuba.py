"""CUBA on our clock engine vs Brian2 (cython runtime, cpp_standalone), same connectivity.

Every measurement runs in a fresh Python process (warm on-disk caches: numba's, Brian2's
cython and standalone builds), interleaved across backends, repeated, and the median is
reported. Phases:

- ``sim_s``: the simulation loop only (ours: ``ClockSimulator.run`` after a one-step run of a
  small network that loads the compiled kernels; Brian2 cython: a second ``run()`` after a
  one-step warm-up that generates and loads the code; standalone: the binary's own run
  time, ``device._last_run_time``).
- ``total_s``: build the network + JIT/compile + run, timed from after the imports.

Usage::

    python benchmarks/cuba.py                 # 1 s and 10 s, 3 repeats
    python benchmarks/cuba.py --durations 1 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("ours", "brian2_cython", "brian2_standalone")


def worker(backend: str, duration: float, seed: int) -> dict:
    """Run one measurement in this process and return its timings."""
    t_import = time.perf_counter()
    from experiments.cuba import cuba_network

    if backend == "ours":
        from neuro.engines import ClockSimulator

        t0 = time.perf_counter()
        net = cuba_network(seed)
        # load the compiled kernels (numba's on-disk cache) outside the simulation phase,
        # as Brian2 cython's one-step warm-up run does; it counts in the total
        ClockSimulator(cuba_network(seed, n_neurons=100), 1e-4, seed=seed).run(1e-4)
        sim = ClockSimulator(net, 1e-4, seed=seed)
        c0 = time.process_time()
        rec = sim.run(duration)
        cpu = time.process_time() - c0
        total = time.perf_counter() - t0
        n_spikes = sum(s.n_spikes for s in rec.spikes.values())
        return {"sim_s": rec.meta["sim_wall_s"], "total_s": total, "n_spikes": n_spikes,
                "import_s": t0 - t_import, "sim_cpu_s": cpu}
    import brian2 as b2

    from neuro.brian2_bridge import to_brian2

    if backend == "brian2_cython":
        t0 = time.perf_counter()
        model = to_brian2(cuba_network(seed), 1e-4, target="cython", seed=seed)
        model.run(1e-4)  # code generation + compiled-module load
        t1 = time.perf_counter()
        rec = model.run(duration)
        total = time.perf_counter() - t0
        n_spikes = sum(s.n_spikes for s in rec.spikes.values())
        return {"sim_s": time.perf_counter() - t1, "total_s": total, "n_spikes": n_spikes,
                "import_s": t0 - t_import}
    if backend == "brian2_standalone":
        build_dir = Path(tempfile.gettempdir()) / f"cuba_standalone_{int(duration * 1000)}ms"
        b2.set_device("cpp_standalone", directory=str(build_dir), build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        t0 = time.perf_counter()
        model = to_brian2(cuba_network(seed), 1e-4, target="cython", seed=seed)
        model.b2_network.run(duration * b2.second, namespace={})
        b2.device.build(directory=str(build_dir), compile=True, run=True, clean=False)
        total = time.perf_counter() - t0
        n_spikes = sum(len(m.t_[:]) for m in model.spike_monitors.values())
        return {"sim_s": float(b2.device._last_run_time), "total_s": total, "n_spikes": n_spikes,
                "import_s": t0 - t_import}
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def measure(backend: str, duration: float, seed: int) -> dict:
    """Run :func:`worker` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", backend, "--duration", str(duration), "--seed", str(seed)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"{backend} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worker", choices=BACKENDS)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.duration, args.seed)))
        return
    print("warming caches (numba, Brian2 cython and standalone builds)...", file=sys.stderr)
    for b in BACKENDS:
        for d in args.durations:
            measure(b, d, args.seed)
    results: dict = {}
    for d in args.durations:
        runs = {b: [] for b in BACKENDS}
        for _ in range(args.repeats):
            for b in BACKENDS:  # interleaved, so load on the machine affects all alike
                runs[b].append(measure(b, d, args.seed))
        med = {b: {k: statistics.median(r[k] for r in runs[b]) for k in ("sim_s", "total_s", "n_spikes")}
               for b in BACKENDS}
        results[d] = med
        print(f"\nCUBA, {d:g} s simulated (median of {args.repeats}, fresh process each)")
        print(f"{'backend':<20}{'sim (s)':>10}{'total (s)':>11}{'spikes':>9}")
        for b in BACKENDS:
            print(f"{b:<20}{med[b]['sim_s']:>10.3f}{med[b]['total_s']:>11.3f}{med[b]['n_spikes']:>9.0f}")
        ours = med["ours"]
        cpu = statistics.median(r["sim_cpu_s"] for r in runs["ours"])
        print(f"ours: simulation CPU time {cpu:.3f} s (wall {ours['sim_s']:.3f} s)")
        print(f"ratio sim ours / Brian2 cpp_standalone sim : {ours['sim_s'] / med['brian2_standalone']['sim_s']:.2f}x (goal <= 1.0)")
        print(f"ratio total ours / Brian2 cython total     : {ours['total_s'] / med['brian2_cython']['total_s']:.2f}x (goal < 1.0)")
        print(f"ratio total ours / Brian2 standalone total : {ours['total_s'] / med['brian2_standalone']['total_s']:.2f}x")
    if args.json:
        from neuro.atomic import atomic_open  # here: workers time their own imports of neuro

        with atomic_open(args.json) as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
