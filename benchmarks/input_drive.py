"""Poisson source drive: geometric gaps from the counter RNG vs one draw per source and step.

The anchor is the previous drive's method (numpy ``Generator.random((steps, sources)) < p``
per block, what ``InputDrive`` did before the counter RNG), timed in the same run on the same
blocks. Reports wall time, spikes, peak traced memory (tracemalloc) and the ratio.

Usage::

    python benchmarks/input_drive.py
    python benchmarks/input_drive.py --sources 100000 --rate 5 --steps 2000 --block 100
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sparse_neuro.neuro import Network, Population
from sparse_neuro.neuro.engines.drive import InputDrive
from sparse_neuro.neuro.model.inputs import PoissonSource


def _ours(net: Network, dt: float, steps: int, block: int) -> int:
    drive, n, total = InputDrive(net, dt, seed=0), 0, 0
    while n < steps:
        ptr, ids = drive.spikes(n, min(n + block, steps))
        n += ptr.size - 1
        total += ids.size
    return total


def _dense(n_src: int, p: float, steps: int, block: int) -> int:
    rng, total = np.random.default_rng(0), 0
    for n in range(0, steps, block):
        st, ch = np.nonzero(rng.random((min(block, steps - n), n_src)) < p)
        total += ch.size
    return total


def _timed(fn, *args) -> tuple[float, int, float]:
    tracemalloc.start()
    t = time.perf_counter()
    n = fn(*args)
    wall = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, n, peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=10.0, help="Hz")
    ap.add_argument("--dt", type=float, default=1e-4, help="s")
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--block", type=int, default=1000, help="steps asked per call")
    a = ap.parse_args()
    net = Network([Population("a", 1)], sources=[PoissonSource("s", a.sources, a.rate)])
    _ours(net, a.dt, 10, 10)  # load the compiled kernels
    w_o, n_o, m_o = _timed(_ours, net, a.dt, a.steps, a.block)
    w_d, n_d, m_d = _timed(_dense, a.sources, a.rate * a.dt, a.steps, a.block)
    print(
        f"{a.sources} sources x {a.rate:g} Hz, dt {a.dt:g} s, {a.steps} steps in blocks of {a.block}"
    )
    print(f"  counter-RNG gaps : {w_o:8.3f} s  {n_o:>10} spikes  peak {m_o:8.1f} MB")
    print(f"  dense draws      : {w_d:8.3f} s  {n_d:>10} spikes  peak {m_d:8.1f} MB")
    print(f"  dense / ours     : {w_d / w_o:8.1f}x time, {m_d / max(m_o, 1e-9):.1f}x memory")


if __name__ == "__main__":
    main()
