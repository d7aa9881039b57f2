"""Canonical networks on our clock engine vs NEST 3.10, each with 1 and 2 threads.

Networks: the Potjans-Diesmann microcircuit (DC background, experiments/microcircuit.py;
full scale with ``--scale 1``) and Brunel's asynchronous irregular regime
(experiments/brunel.py). Each (network, simulator, threads) runs in a fresh Python process,
so that peak memory (``ru_maxrss`` of that process: everything it built, Python included)
belongs to one run:

- ``build_s``: from the network description to a ready simulator. Ours: building the
  network (synapses drawn in numpy) and ``ClockSimulator(...)``; NEST microcircuit: NEST's
  own example path, nodes + ``Connect`` with its ``fixed_total_number`` rule
  (:func:`sparse_neuro.experiments.microcircuit.nest_microcircuit`: ``static_synapse_hpc`` where
  NEST allows it, i.e. up to 65,534 nodes per thread, ``static_synapse`` on one thread at full
  scale), so the NEST process holds no network of ours; NEST Brunel: the bridge
  (``to_nest``) on our network;
- ``warmup_s``: a first 1 ms run, not timed as simulation (ours: loading the compiled
  kernels; NEST: ``Prepare``, which builds its target tables);
- ``sim_s``: the simulation of ``--duration`` seconds after it; ``rtf = sim_s / duration``
  (real-time factor; < 1 is faster than real time).

Our microcircuit runs in float32 on the network's own synapse arrays (9 bytes a synapse).

Usage::

    python benchmarks/network_vs_nest.py --scale 0.1 --duration 1
    python benchmarks/network_vs_nest.py --scale 1 --duration 0.3   # full microcircuit + Brunel
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from sparse_neuro.neuro.storage.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]


def _network(name: str, scale: float, dt_s: float):
    if name == "microcircuit":
        from sparse_neuro.experiments.microcircuit import microcircuit_network

        return microcircuit_network(scale, "dc", dt_s, seed=0)
    from sparse_neuro.experiments.brunel import REGIMES, brunel_network

    g, nu = REGIMES["ai"]
    return brunel_network(g, nu, scale=scale, dt_s=dt_s, seed=0)


def _nest_model(name: str, scale: float, dt_s: float, threads: int):
    if name == "microcircuit":
        from sparse_neuro.experiments.microcircuit import nest_microcircuit

        return nest_microcircuit(scale, "dc", dt_s, 0, threads)
    from sparse_neuro.neuro.engines.backends.nest_bridge import to_nest

    return to_nest(_network(name, scale, dt_s), dt_s, threads=threads)


def child(name: str, sim: str, threads: int, scale: float, duration_s: float, dt_s: float) -> dict:
    """One measurement in this process; returns the timings and peak RSS."""
    import numpy as np

    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.engines.backends.nest_bridge import nest_available

    if sim == "nest":
        nest_available()  # imports NEST (seconds) before the build is timed
    t0 = time.perf_counter()
    if sim == "ours":
        net = _network(name, scale, dt_s)
        dtype = np.float32 if name == "microcircuit" else np.float64
        model = ClockSimulator(net, dt_s, dtype=dtype, threads=threads)
        n_neurons, n_synapses = net.n_neurons, net.n_synapses
    else:
        model = _nest_model(name, scale, dt_s, threads)
        n_neurons = sum(len(n) for n in model.nodes.values())
        n_synapses = int(_nest().GetKernelStatus("num_connections"))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.run(1e-3)
    warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    rec = model.run(duration_s)
    sim_s = time.perf_counter() - t0
    n_spikes = sum(s.n_spikes for s in rec.spikes.values())
    return {
        "network": name,
        "simulator": sim,
        "threads": threads,
        "scale": scale,
        "n_neurons": n_neurons,
        "n_synapses": n_synapses,
        "duration_s": duration_s,
        "build_s": build,
        "warmup_s": warmup,
        "sim_s": sim_s,
        "rtf": sim_s / duration_s,
        "rate_hz": n_spikes / (sum(s.size for s in rec.spikes.values()) * duration_s),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _nest():
    import nest  # already loaded (and quieted) by sparse_neuro.neuro.engines.backends.nest_bridge

    return nest


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--networks", default="microcircuit,brunel_ai")
    ap.add_argument("--scale", type=float, default=0.1, help="microcircuit scale (1: full)")
    ap.add_argument(
        "--brunel-scale", type=float, default=1.0, help="Brunel scale (1: 12,500 neurons)"
    )
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--dt", type=float, default=1e-4)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "network_vs_nest.json"))
    ap.add_argument(
        "--child", nargs=3, metavar=("NETWORK", "SIM", "THREADS"), help=argparse.SUPPRESS
    )
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]), a.scale, a.duration, a.dt)))
        return
    runs, ratios = [], []
    thread_counts = [int(t) for t in a.threads.split(",")]
    load_start = os.getloadavg()
    for name in a.networks.split(","):
        net = name.removesuffix("_ai")
        scale = a.scale if net == "microcircuit" else a.brunel_scale
        sims = ("ours", "nest")
        for threads in thread_counts:
            rows = {}
            for sim in sims:
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                load = os.getloadavg()[0]
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        net,
                        sim,
                        str(threads),
                        "--scale",
                        str(scale),
                        "--duration",
                        str(a.duration),
                        "--dt",
                        str(a.dt),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if out.returncode != 0:  # e.g. out of memory: record it, go on with the others
                    row = {
                        "network": net,
                        "simulator": sim,
                        "threads": threads,
                        "scale": scale,
                        "error": f"exit {out.returncode}: {out.stderr.strip()[-500:]}",
                    }
                    runs.append(row)
                    print(f"{name:13s} {sim:5s} {threads}t  FAILED {row['error']}", flush=True)
                    continue
                row = {
                    **json.loads(out.stdout.strip().splitlines()[-1]),
                    "load_1min_at_start": load,
                }
                runs.append(row)
                rows[sim] = row
                print(
                    f"{name:13s} {sim:5s} {threads}t  build {row['build_s']:7.2f} s  warm-up {row['warmup_s']:6.2f} s"
                    f"  sim {row['sim_s']:8.2f} s  RTF {row['rtf']:7.2f}  peak {row['peak_rss_mb']:7.0f} MB"
                    f"  {row['rate_hz']:.2f} Hz  (load {load:.1f})",
                    flush=True,
                )
            if len(rows) == 2:  # ours vs NEST at this thread count: > 1 means ours is better
                o, n = rows["ours"], rows["nest"]
                ratios.append(
                    {
                        "network": net,
                        "threads": threads,
                        "speedup_sim": n["sim_s"] / o["sim_s"],
                        "speedup_build": n["build_s"] / o["build_s"],
                        "memory_ratio_nest_over_ours": n["peak_rss_mb"] / o["peak_rss_mb"],
                    }
                )
                print(
                    f"{name:13s} {threads}t  ours vs NEST: sim {ratios[-1]['speedup_sim']:.2f}x faster,"
                    f" build {ratios[-1]['speedup_build']:.2f}x, NEST/ours memory "
                    f"{ratios[-1]['memory_ratio_nest_over_ours']:.2f}",
                    flush=True,
                )
            _write(
                a.out, runs, ratios, load_start
            )  # after every pair: a long run keeps what it measured
    load = _write(a.out, runs, ratios, load_start)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; written {a.out}")


def _write(path: str, runs: list, ratios: list, load_start: tuple) -> tuple:
    load = os.getloadavg()
    result = {
        "runs": runs,
        "ratios": ratios,
        "load_average_start": load_start,
        "load_average_end": load,
        "command": " ".join(sys.argv),
    }
    write_text(Path(path), json.dumps(result, indent=1))
    return load


if __name__ == "__main__":
    main()
