"""Canonical networks on our clock engine vs NEST 3.10 (1 and 2 threads), same networks.

Networks: the Potjans-Diesmann microcircuit (DC background, experiments/microcircuit.py)
and Brunel's asynchronous irregular regime (experiments/brunel.py, g = 6, nu_ratio = 4).
Each (network, simulator, threads) runs in a fresh Python process, so that peak memory
(``ru_maxrss`` of that process: everything it built, Python included) belongs to one run:

- ``build_s``: from the network description (already built, identical for both) to a
  ready simulator (ours: ``ClockSimulator(...)``; NEST: ``to_nest``: nodes + Connect);
- ``sim_s``: the simulation only (ours after a 1 ms warm-up run of a tiny network that
  compiles the numba kernels; NEST: ``nest.Simulate``);
- ``rtf``: ``sim_s / simulated seconds`` (real-time factor; < 1 is faster than real time).

Our clock engine is single-threaded: it runs once, beside NEST with 1 and 2 threads.
Brunel runs on our side only once the clock engine integrates ``Network.drives``.

Usage::

    python benchmarks/network_vs_nest.py --scale 0.1 --duration 1
    python benchmarks/network_vs_nest.py --networks microcircuit --scale 1 --duration 1
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

from neuro.atomic import write_text

ROOT = Path(__file__).resolve().parents[1]


def _network(name: str, scale: float, dt_s: float):
    if name == "microcircuit":
        from experiments.microcircuit import microcircuit_network

        return microcircuit_network(scale, "dc", dt_s, seed=0)
    from experiments.brunel import REGIMES, brunel_network

    g, nu = REGIMES["ai"]
    return brunel_network(g, nu, scale=scale, dt_s=dt_s, seed=0)


def child(name: str, sim: str, threads: int, scale: float, duration_s: float, dt_s: float) -> dict:
    """One measurement in this process; returns the timings and peak RSS."""
    net = _network(name, scale, dt_s)
    if sim == "ours":
        from neuro.engines import ClockSimulator

        ClockSimulator(_network(name, 0.002, dt_s), dt_s).run(1e-3)  # compile the kernels
        t0 = time.perf_counter()
        model = ClockSimulator(net, dt_s)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        rec = model.run(duration_s)
        sim_s = time.perf_counter() - t0
    else:
        from neuro.nest_bridge import to_nest

        model = to_nest(net, dt_s, threads=threads)
        build = model.build_wall_s
        rec = model.run(duration_s)
        sim_s = rec.meta["sim_wall_s"]
    n_spikes = sum(s.n_spikes for s in rec.spikes.values())
    return {"network": name, "simulator": sim, "threads": threads, "scale": scale,
            "n_neurons": net.n_neurons, "n_synapses": net.n_synapses, "duration_s": duration_s,
            "build_s": build, "sim_s": sim_s, "rtf": sim_s / duration_s,
            "rate_hz": n_spikes / (sum(s.size for s in rec.spikes.values()) * duration_s),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", default="microcircuit,brunel_ai")
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--dt", type=float, default=1e-4)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "network_vs_nest.json"))
    ap.add_argument("--child", nargs=3, metavar=("NETWORK", "SIM", "THREADS"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]), a.scale, a.duration, a.dt)))
        return
    from experiments.brunel import clock_engine_runs_drives

    runs = []
    for name in a.networks.split(","):
        ours_ok = name == "microcircuit" or clock_engine_runs_drives()
        plan = [("ours", 1)] if ours_ok else []
        plan += [("nest", int(t)) for t in a.threads.split(",")]
        for sim, threads in plan:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            out = subprocess.run([sys.executable, __file__, "--child", name.removesuffix("_ai"), sim, str(threads),
                                  "--scale", str(a.scale), "--duration", str(a.duration), "--dt", str(a.dt)],
                                 capture_output=True, text=True, env=env, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            runs.append(row)
            print(f"{name:13s} {sim:5s} {threads}t  build {row['build_s']:7.2f} s  sim {row['sim_s']:8.2f} s"
                  f"  RTF {row['rtf']:7.2f}  peak {row['peak_rss_mb']:7.0f} MB  {row['rate_hz']:.2f} Hz", flush=True)
    load = os.getloadavg()
    result = {"runs": runs, "load_average": load, "command": " ".join(sys.argv)}
    out = Path(a.out)
    write_text(out, json.dumps(result, indent=1))
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; written {out}")


if __name__ == "__main__":
    main()
