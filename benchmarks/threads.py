"""Clock engine on 1 vs N threads: a Brunel (2000) network, identical spikes, speed-up.

Brunel's model A network: 10,000 excitatory and 2,500 inhibitory LIF neurons, connection
probability 0.1 (15.6 M synapses), J = 0.1 mV, g = 5, delay 1.5 ms, and the external drive
of ``C_E = 1000`` Poisson inputs per neuron at ``eta * nu_thr`` (``eta = 2``) as one
:class:`sparse_neuro.neuro.model.inputs.PoissonInput`. dt = 0.1 ms.

Runs alternate between thread counts (after one compile run each); the minimum wall time
of each is reported, with the machine's load average (the machine may be shared).

    PYTHONPATH=$PWD python benchmarks/threads.py [--duration 0.5] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

# only package-level names: benchmarks/engine_ab.py's workers import this module with the
# library of another commit (benchmarks/_baseline.py, SHARED)
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    PoissonInput,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator

DT = 1e-4


def brunel_network(seed: int = 0, n_exc: int = 10_000, g: float = 5.0, eta: float = 2.0) -> Network:
    """Brunel (2000) model A with a PoissonInput external drive (see module docstring)."""
    n_inh = n_exc // 4
    n = n_exc + n_inh
    j, tau, theta, c_e = 0.1, 20e-3, 20.0, n_exc // 10
    params = LIFParams(tau_mem_s=tau, v_rest=0.0, v_reset=10.0, v_threshold=theta, t_ref_s=2e-3)
    delay = round(1.5e-3 / DT)
    rng = np.random.default_rng(seed)
    exc = SparseSynapses.fixed_probability(n_exc, n, 0.1, j, delay, seed=rng, dtype=np.float64)
    inh = SparseSynapses.fixed_probability(n_inh, n, 0.1, -g * j, delay, seed=rng, dtype=np.float64)
    # the excitatory and inhibitory rows as one presynaptic population's projection
    syn = SparseSynapses(
        np.concatenate([exc.indptr, exc.indptr[-1] + inh.indptr[1:]]),
        np.concatenate([exc.indices, inh.indices]),
        np.concatenate([exc.weights, inh.weights]),
        np.concatenate([exc.delays, inh.delays]),
        n,
    )
    nu_thr = theta / (j * c_e * tau)
    return Network(
        [Population("brunel", n, params, v_init=rng.uniform(0, theta, n))],
        [Projection("brunel", "brunel", syn)],
        drives=[PoissonInput("brunel", c_e, eta * nu_thr, j)],
        monitors=[SpikeMonitor("brunel")],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=0.5, help="simulated seconds per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="thread count compared with 1")
    args = ap.parse_args()
    t = time.perf_counter()
    net = brunel_network()
    build_s = time.perf_counter() - t
    counts = (1, args.threads)
    sims = {k: ClockSimulator(net, DT, seed=1, threads=k) for k in counts}
    for sim in sims.values():  # compile
        sim.run(10 * DT)
    walls: dict[int, list[float]] = {k: [] for k in counts}
    spikes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(args.repeats):
        for k in counts:
            sims[k].reset()
            rec = sims[k].run(args.duration)
            walls[k].append(rec.meta["wall_s"])
            st = rec.spikes["brunel"]
            spikes[k] = (st.times_s, st.indices)
    same = all(np.array_equal(spikes[1][i], spikes[args.threads][i]) for i in (0, 1))
    n_spk = spikes[1][0].size
    out = {
        "neurons": net.n_neurons,
        "synapses": int(sum(p.synapses.n_synapses for p in net.projections)),
        "duration_s": args.duration,
        "rate_hz": n_spk / net.n_neurons / args.duration,
        "build_s": build_s,
        "wall_s": {str(k): min(v) for k, v in walls.items()},
        "speedup": min(walls[1]) / min(walls[args.threads]),
        "identical_spikes": same,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
