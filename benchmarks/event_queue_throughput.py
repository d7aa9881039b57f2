"""Throughput of the Loihi event-queue backend, and its overhead over the plain clock engine.

Two networks, each run on the clock engine (``sparse_neuro.neuro.engines.ClockSimulator``) and on
the event-queue backend (``sparse_neuro.hardware_models.EventQueueSimulator``, float mode: same
spikes), interleaved, after a warm-up run that compiles the kernels, repeated; medians reported:

- ``fanout``: ``n_src`` Poisson inputs at ``rate_hz`` into ``n_post`` neurons with
  connection probability ``p`` (weak weights): synaptic events dominate;
- ``cuba``: the 4,000-neuron CUBA network (dt = 0.1 ms): neuron updates dominate.

Synaptic events per second = synaptic ops counted by the backend / simulation wall time
(the clock engine processes the same events). The machine is shared: compare the ratios
taken in one run, not absolute times across runs.

Each measurement runs in a fresh process, for this tree and for the baseline commit
(``benchmarks/_baseline.py``, a temporary worktree), interleaved; ``new / old`` ratios are
reported.

Usage::

    PYTHONPATH=$PWD python benchmarks/event_queue_throughput.py
    PYTHONPATH=$PWD python benchmarks/event_queue_throughput.py --repeats 5 --steps 400
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import ROOT, baseline_tree, run_worker, use_tree  # noqa: E402

use_tree()  # a worker: the library of its tree (before anything imports it)

from sparse_neuro.neuro import (  # noqa: E402
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
)


def fanout_network(
    n_src: int = 1000, n_post: int = 4000, p: float = 0.25, rate_hz: float = 200.0, seed: int = 0
) -> Network:
    """Poisson inputs with a large fan-out into weakly driven LIF neurons."""
    syn = SparseSynapses.fixed_probability(n_src, n_post, p, 0.002, seed=seed)
    return Network(
        [Population("post", n_post, LIFParams(tau_mem_s=20e-3))],
        [Projection("inp", "post", syn)],
        sources=[PoissonSource("inp", n_src, rate_hz)],
    )


def _time(make, duration_s: float) -> tuple[float, object]:
    sim = make()
    t0 = time.perf_counter()
    sim.run(duration_s)
    return time.perf_counter() - t0, sim


def bench(name: str, net: Network, dt_s: float, steps: int, repeats: int) -> dict:
    """Median wall times of ``repeats`` runs of ``steps`` steps on both backends."""
    from sparse_neuro.hardware_models import EventQueueSimulator
    from sparse_neuro.neuro.engines import ClockSimulator

    duration = steps * dt_s
    clock = lambda: ClockSimulator(net, dt_s, seed=1)  # noqa: E731
    eq = lambda: EventQueueSimulator(net, dt_s, seed=1)  # noqa: E731
    _time(clock, 5 * dt_s)  # compile / warm caches
    _time(eq, 5 * dt_s)
    t_clock, t_eq = [], []
    events = 0
    for _ in range(repeats):
        t, _ = _time(clock, duration)
        t_clock.append(t)
        t, sim = _time(eq, duration)
        t_eq.append(t)
        events = sim.counters().total("syn_ops")
    mc, me = statistics.median(t_clock), statistics.median(t_eq)
    return {
        "network": name,
        "steps": steps,
        "synaptic_events": int(events),
        "clock_s": mc,
        "event_queue_s": me,
        "event_queue_events_per_s": events / me,
        "clock_events_per_s": events / mc,
        "overhead_event_queue_over_clock": me / mc,
    }


def worker(network: str, steps: int, repeats: int) -> dict:
    """One network's measurement with the packages this interpreter imports."""
    from sparse_neuro.experiments.cuba import cuba_network

    if network == "fanout":
        return bench("fanout", fanout_network(), 1e-3, steps, repeats)
    return bench("cuba", cuba_network(0), 1e-4, steps, repeats)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per process")
    ap.add_argument("--rounds", type=int, default=2, help="processes per tree, interleaved")
    ap.add_argument("--steps", type=int, default=300, help="steps of the fan-out network")
    ap.add_argument("--cuba-steps", type=int, default=3000, help="steps (0.1 ms) of CUBA")
    ap.add_argument("--worker", choices=("fanout", "cuba"))
    args = ap.parse_args()
    if args.worker:
        steps = args.steps if args.worker == "fanout" else args.cuba_steps
        print(json.dumps(worker(args.worker, steps, args.repeats)))
        return
    script = Path(__file__).resolve()
    rows = []
    with baseline_tree() as old:
        for net, steps in (("fanout", args.steps), ("cuba", args.cuba_steps)):
            cmd = [
                "--worker",
                net,
                "--steps",
                str(steps),
                "--cuba-steps",
                str(steps),
                "--repeats",
                str(args.repeats),
            ]
            runs: dict[str, list[dict]] = {"new": [], "old": []}
            for _ in range(args.rounds):
                for label, tree in (("new", ROOT), ("old", old)):
                    runs[label].append(run_worker(script, tree, cmd))
            for label in ("new", "old"):
                r = dict(runs[label][0])
                for k in ("clock_s", "event_queue_s"):
                    r[k] = min(x[k] for x in runs[label])
                r["code"] = label
                rows.append(r)
    print(
        f"{'network':<8} {'code':<5} {'events':>12} {'clock s':>8} {'evq s':>8} "
        f"{'evq Mev/s':>10} {'clock Mev/s':>11}"
    )
    for r in rows:
        print(
            f"{r['network']:<8} {r['code']:<5} {r['synaptic_events']:>12,d} {r['clock_s']:>8.3f} "
            f"{r['event_queue_s']:>8.3f} {r['synaptic_events'] / r['event_queue_s'] / 1e6:>10.1f} "
            f"{r['synaptic_events'] / r['clock_s'] / 1e6:>11.1f}"
        )
    for new, old in zip(rows[::2], rows[1::2]):
        print(
            f"{new['network']}: new/old wall time clock {new['clock_s'] / old['clock_s']:.2f}x, "
            f"event queue {new['event_queue_s'] / old['event_queue_s']:.2f}x"
        )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
