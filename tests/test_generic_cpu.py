"""Kernels run on any CPU numba supports, to the same bits.

The engines and the fused training kernels use only generic LLVM operations and intrinsics
(``shufflevector``, ``llvm.masked.compressstore``, ``llvm.fabs``, ``llvm.prefetch``): compiled
for a generic x86-64 target (``NUMBA_CPU_NAME=generic``: SSE2, no AVX) LLVM lowers them to
what that target has. Numba does not contract multiply-adds, so the results are the same
bits as on the native CPU. CI also runs the kernel tests themselves under the generic target
(``.ci/run``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import hashlib
import numpy as np
import torch
from sparse_neuro.neuro import (LIFParams, Network, PoissonSource, Population, Projection, SparseSynapses,
                   SpikeMonitor, StateMonitor)
from sparse_neuro.neuro.engines import make_simulator
from sparse_neuro.neuro.train import SpikingMLP
from sparse_neuro.neuro.model.plasticity_rules import STDPRule

h = hashlib.sha256()
syn = SparseSynapses.fixed_probability(60, 30, 0.4, 0.3, seed=0)
net = Network([Population("exc", 30, LIFParams(tau_mem_s=0.02, t_ref_s=2e-3), kwta_k=5)],
              [Projection("inp", "exc", syn, plasticity=STDPRule(a_plus=0.02))],
              [PoissonSource("inp", 60, 40.0)],
              monitors=[SpikeMonitor("exc"), StateMonitor("exc", "v", [0, 7])])
for backend in ("clock", "loihi-fixed"):
    sim = make_simulator(net, 1e-4, backend=backend, seed=1)
    rec = sim.run(0.1)
    h.update(rec.spikes["exc"].indices.tobytes() + rec.spikes["exc"].times_s.tobytes())
    for s in sim.synapses():
        h.update(np.ascontiguousarray(s.weights).tobytes())
torch.manual_seed(0)
mlp = SpikingMLP((48, 40, 6), n_steps=20, density=0.15, seed=3)
for fc in mlp.fcs:
    fc.kernel = "event"
    with torch.no_grad():
        fc.weight.mul_(3)
x = (torch.rand(20, 5, 48, generator=torch.Generator().manual_seed(1)) < 0.3).float()
out = mlp(x)
(out.spikes.sum() + out.mems.square().sum()).backward()
for t in (out.spikes, out.mems, out.hidden[0], *(p.grad for p in mlp.parameters())):
    h.update(t.detach().numpy().tobytes())
print(h.hexdigest())
"""


def _probe(cpu: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CPU_NAME"}
    env["NUMBA_NUM_THREADS"] = "1"
    if cpu:
        env["NUMBA_CPU_NAME"] = cpu
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_generic_x86_64_target_gives_the_native_bits():
    assert _probe("generic") == _probe(None)
