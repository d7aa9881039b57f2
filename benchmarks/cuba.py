"""CUBA on our clock engine vs Brian2's own CUBA example (cpp_standalone), and vs our engine
at the baseline commit (before the engine-core rebuild), in one run.

Backends: ``ours`` (this tree, float64), ``ours_f32`` (this tree, states and weights in
float32: ``ClockSimulator(..., dtype=numpy.float32)``, on request), ``ours_old`` (the same worker importing the baseline commit,
checked out in a temporary worktree by ``benchmarks/_baseline.py``), ``brian2_example``
(Brian2's ``examples/CUBA.py``: one NeuronGroup, two Synapses with constant ``on_pre``
increments, cpp_standalone, its own random connectivity), and, on request, the network our
bridge exports, on Brian2 cython (``brian2_cython``) and standalone (``brian2_standalone``).

Every measurement runs in a fresh Python process (warm on-disk caches: numba's, Brian2's
cython and standalone builds), interleaved across backends, repeated, and the median is
reported. Phases:

- ``sim_s``: the simulation loop only (ours: ``ClockSimulator.run`` after a one-step run of a
  small network that loads the compiled kernels; Brian2 cython: a second ``run()`` after a
  one-step warm-up that generates and loads the code; standalone: the binary's own run
  time, ``device._last_run_time``).
- ``total_s``: build the network + JIT/compile + run, timed from after the imports.

Usage::

    PYTHONPATH=$PWD python benchmarks/cuba.py                 # 1 s and 10 s, 3 repeats
    PYTHONPATH=$PWD python benchmarks/cuba.py --durations 1 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import BASELINE, ROOT, baseline_tree, run_worker, use_tree  # noqa: E402

use_tree()  # a worker: the library of its tree (before anything imports it)
from _record import write_record  # noqa: E402

BACKENDS = ("ours", "ours_f32", "ours_old", "brian2_example", "brian2_cython", "brian2_standalone")
DEFAULT_BACKENDS = ("ours", "ours_old", "brian2_example")


def brian2_example(duration: float, seed: int, build_dir: Path) -> dict:
    """Brian2's own CUBA example script (``examples/CUBA.py``), cpp_standalone."""
    import brian2 as b2
    from brian2 import ms, mV, second

    b2.set_device("cpp_standalone", directory=str(build_dir), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    t0 = time.perf_counter()
    b2.seed(seed)
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    vt, vr, el = -50 * mV, -60 * mV, -49 * mV
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    ns = {
        "taum": taum,
        "taue": taue,
        "taui": taui,
        "Vt": vt,
        "Vr": vr,
        "El": el,
        "we": (60 * 0.27 / 10) * mV,
        "wi": (-20 * 4.5 / 10) * mV,
    }
    P = b2.NeuronGroup(
        4000, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=ns
    )
    P.v = "Vr + rand() * (Vt - Vr)"
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns)
    Ce.connect("i<3200", p=0.02)
    Ci.connect("i>=3200", p=0.02)
    mon = b2.SpikeMonitor(P)
    net = b2.Network(P, Ce, Ci, mon)
    net.run(duration * second, namespace={})
    b2.device.build(directory=str(build_dir), compile=True, run=True, clean=False)
    return {
        "sim_s": float(b2.device._last_run_time),
        "total_s": time.perf_counter() - t0,
        "n_spikes": int(mon.num_spikes),
        "import_s": 0.0,
    }


def worker(backend: str, duration: float, seed: int) -> dict:
    """Run one measurement in this process and return its timings."""
    t_import = time.perf_counter()
    from sparse_neuro.experiments.cuba import cuba_network

    if backend in ("ours", "ours_f32"):
        import numpy as np

        from sparse_neuro.neuro.engines import ClockSimulator

        dtype = np.float32 if backend == "ours_f32" else np.float64
        t0 = time.perf_counter()
        net = cuba_network(seed, dtype=dtype)
        # load the compiled kernels (numba's on-disk cache) outside the simulation phase,
        # as Brian2 cython's one-step warm-up run does; it counts in the total
        ClockSimulator(cuba_network(seed, n_neurons=100), 1e-4, seed=seed).run(1e-4)
        sim = ClockSimulator(net, 1e-4, seed=seed, dtype=dtype)
        c0 = time.process_time()
        rec = sim.run(duration)
        cpu = time.process_time() - c0
        total = time.perf_counter() - t0
        n_spikes = sum(s.n_spikes for s in rec.spikes.values())
        wall = rec.meta.get("wall_s", rec.meta.get("sim_wall_s"))  # the baseline's name
        return {
            "sim_s": wall,
            "total_s": total,
            "n_spikes": n_spikes,
            "import_s": t0 - t_import,
            "sim_cpu_s": cpu,
        }
    if backend == "brian2_example":
        return brian2_example(
            duration, seed, Path(tempfile.gettempdir()) / f"cuba_example_{int(duration * 1000)}ms"
        )
    import brian2 as b2

    from sparse_neuro.neuro.engines.backends.brian2_bridge import to_brian2

    if backend == "brian2_cython":
        t0 = time.perf_counter()
        model = to_brian2(cuba_network(seed), 1e-4, target="cython", seed=seed)
        model.run(1e-4)  # code generation + compiled-module load
        t1 = time.perf_counter()
        rec = model.run(duration)
        total = time.perf_counter() - t0
        n_spikes = sum(s.n_spikes for s in rec.spikes.values())
        return {
            "sim_s": time.perf_counter() - t1,
            "total_s": total,
            "n_spikes": n_spikes,
            "import_s": t0 - t_import,
        }
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
        return {
            "sim_s": float(b2.device._last_run_time),
            "total_s": total,
            "n_spikes": n_spikes,
            "import_s": t0 - t_import,
        }
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def measure(backend: str, duration: float, seed: int, old: Path) -> dict:
    """Run :func:`worker` in a fresh interpreter (``ours_old``: importing the baseline tree
    ``old``)."""
    tree = old if backend == "ours_old" else ROOT
    name = "ours" if backend == "ours_old" else backend
    return run_worker(
        Path(__file__).resolve(),
        tree,
        ["--worker", name, "--duration", str(duration), "--seed", str(seed)],
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(DEFAULT_BACKENDS))
    ap.add_argument("--worker", choices=BACKENDS)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--baseline", default=BASELINE, help=f"ours_old's commit (default {BASELINE})")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.duration, args.seed)))
        return
    backends = list(dict.fromkeys(["ours", *args.backends]))
    results: dict = {"load_average_start": os.getloadavg(), "baseline": args.baseline}
    with baseline_tree(args.baseline) as old:
        print("warming caches (numba, Brian2 cython and standalone builds)...", file=sys.stderr)
        for b in backends:
            for d in args.durations:
                measure(b, d, args.seed, old)
        for d in args.durations:
            runs = {b: [] for b in backends}
            for _ in range(args.repeats):
                for b in backends:  # interleaved, so load on the machine affects all alike
                    runs[b].append(measure(b, d, args.seed, old))
            med = {
                b: {
                    k: statistics.median(r[k] for r in runs[b])
                    for k in ("sim_s", "total_s", "n_spikes")
                }
                for b in backends
            }
            results[d] = med
            print(f"\nCUBA, {d:g} s simulated (median of {args.repeats}, fresh process each)")
            print(f"{'backend':<20}{'sim (s)':>10}{'total (s)':>11}{'spikes':>9}")
            for b in backends:
                print(
                    f"{b:<20}{med[b]['sim_s']:>10.3f}{med[b]['total_s']:>11.3f}{med[b]['n_spikes']:>9.0f}"
                )
            ours = med["ours"]
            cpu = statistics.median(r["sim_cpu_s"] for r in runs["ours"])
            print(f"ours: simulation CPU time {cpu:.3f} s (wall {ours['sim_s']:.3f} s)")
            if "ours_old" in runs:  # CPU time is less sensitive to a loaded machine
                cpu_old = statistics.median(r["sim_cpu_s"] for r in runs["ours_old"])
                med["ours_old"]["sim_cpu_s"] = cpu_old
                print(f"ratio sim CPU ours / ours_old      : {cpu / cpu_old:.2f}x")
            med["ours"]["sim_cpu_s"] = cpu
            for b, goal in (
                ("ours_old", "<= 1.0"),
                ("brian2_example", "<= 0.5"),
                ("brian2_standalone", ""),
                ("brian2_cython", ""),
            ):
                if b in med:
                    print(
                        f"ratio sim ours / {b:<18}: {ours['sim_s'] / med[b]['sim_s']:.2f}x"
                        + (f" (goal {goal})" if goal else "")
                    )
            if "ours_f32" in med and "brian2_example" in med:  # float32: not the headline
                print(
                    f"ratio sim ours_f32 (float32) / brian2_example: "
                    f"{med['ours_f32']['sim_s'] / med['brian2_example']['sim_s']:.2f}x"
                )
    results["load_average_end"] = os.getloadavg()
    print(f"load average: start {results['load_average_start']}, end {results['load_average_end']}")
    path = write_record(
        "cuba",
        {str(k): v for k, v in results.items()},
        threads=1,
        units={"sim_s": "s wall", "total_s": "s wall", "sim_cpu_s": "s CPU"},
        load_start=results["load_average_start"],
        out=args.json,
    )
    print(f"record: {path}")


if __name__ == "__main__":
    main()
