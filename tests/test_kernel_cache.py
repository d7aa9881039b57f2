"""Compiled code never runs stale: a cached kernel is recompiled when any module it inlines
or calls changes (``sparse_neuro.neuro.jit``).

Each case copies the library to a temporary directory (in the installed layout,
``sparse_neuro._layout.assemble``), runs a probe in a fresh process (which
fills a private kernel cache), edits a function in ANOTHER module than the cached kernel that
inlines it, and runs the probe again in a fresh process: it must see the new behaviour. With
numba's own cache (keyed by the timestamp of the kernel's file only), the second run would
load the old compiled code and print the old number.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import importlib.util
import sys
import numpy as np
from sparse_neuro._layout import PARTS
# every part from the copy: a part missing there would come from the editable install
for part in ("", *PARTS):
    origin = importlib.util.find_spec("sparse_neuro" + (part and "." + part)).origin
    assert origin.startswith(sys.argv[2]), (part, origin)
case = sys.argv[1]
if case in ("stage", "rule"):
    from sparse_neuro.neuro import (LIFParams, Network, PoissonSource, Population, Projection,
                       SparseSynapses, SpikeMonitor)
    from sparse_neuro.neuro.engines import make_simulator
    from sparse_neuro.neuro.model.plasticity_rules import STDPRule
    syn = SparseSynapses.fixed_probability(50, 20, 0.5, 0.3, seed=0)
    rule = STDPRule(a_plus=0.02, a_minus=0.03) if case == "rule" else None
    net = Network([Population("exc", 20, LIFParams(tau_mem_s=0.02, t_ref_s=2e-3))],
                  [Projection("inp", "exc", syn, plasticity=rule)],
                  [PoissonSource("inp", 50, 40.0)], monitors=[SpikeMonitor("exc")])
    sim = make_simulator(net, 1e-4, seed=0)
    rec = sim.run(0.2)
    w = sum(float(np.sum(s.weights)) for s in sim.synapses())
    print(len(rec.spikes["exc"].indices), repr(w), "|", rec.meta["compile_s"] > 0)
else:
    import torch
    from sparse_neuro.neuro.train import SpikingMLP
    torch.manual_seed(0)
    net = SpikingMLP((40, 30, 5), n_steps=16, density=0.2, seed=3)
    for fc in net.fcs:
        fc.kernel = "event"
        with torch.no_grad():
            fc.weight.mul_(3)
    x = (torch.rand(16, 4, 40, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    out = net(x)
    print(int(out.hidden[0].sum()), repr(float(out.mems.sum())), "|", None)
"""

#: case -> (file, old text, new text): each edit changes what the probe prints.
EDITS = {
    # a stage of the one step loop (inlined into neuro/engines/loop.py's run_steps)
    "stage": (
        "sparse_neuro/neuro/engines/primitives.py",
        "if vb[i] > th and",
        "if vb[i] > 0.5 * th and",
    ),
    # a learning rule (inlined into the loop through register_rule)
    "rule": (
        "sparse_neuro/neuro/engines/learn.py",
        "amp = st.learning_rate[q] * (pl.par[q, P_AMINUS]",
        "amp = 0.0 * st.learning_rate[q] * (pl.par[q, P_AMINUS]",
    ),
    # the LLVM IR of a fused training kernel's LIF tile (inlined into
    # neuro/train/kernels/fused_lif.py)
    "fused": (
        "sparse_neuro/neuro/train/kernels/simd.py",
        'fired = builder.fcmp_ordered(">", mt, thr_v)',
        'fired = builder.fcmp_ordered(">", builder.fadd(mt, mt), thr_v)',
    ),
}


def _probe(case: str, lib: Path, cache: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    # NUMBA_OPT=1: about half the compile time, the same semantics (this cache is the test's
    # own); at NUMBA_OPT=0 the step loop holds dynamic globals and numba cannot cache it
    env.update(
        PYTHONPATH=str(lib), SPARSE_NEURO_CACHE_DIR=str(cache), NUMBA_NUM_THREADS="1", NUMBA_OPT="1"
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, case, str(lib)],
        env=env,
        cwd=lib,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EDITS))
def test_edit_in_another_module_recompiles(case, tmp_path):
    from sparse_neuro._layout import assemble

    lib = assemble(ROOT, tmp_path / "lib", copy=True)
    cache = tmp_path / "cache"
    before, compiled = _probe(case, lib, cache).split(" | ")
    again, compiled_again = _probe(case, lib, cache).split(" | ")
    assert again == before  # the warm cache gives the same result...
    if compiled != "None":  # ...without compiling; a cold one reports its compile time apart
        assert (compiled, compiled_again) == ("True", "False")
    path, old, new = EDITS[case]
    src = (lib / path).read_text()
    assert src.count(old) == 1, f"{path} no longer holds {old!r}: update the edit"
    (lib / path).write_text(src.replace(old, new))
    after = _probe(case, lib, cache).split(" | ")[0]
    assert after != before, f"{case}: the edit of {path} was not compiled (stale kernel cache)"
    # the edited source is a new cache directory of its own, the old one is kept
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_kernels_are_cached_in_the_keyed_directory(tmp_path):
    """A library kernel's cache files land in the directory of the current source key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(SPARSE_NEURO_CACHE_DIR=str(tmp_path))
    code = (
        "from sparse_neuro.neuro.engines.rng import uniform_array; import numpy as np; "
        "uniform_array(1, 2, 3, 4); "
        "from sparse_neuro.neuro.jit import cache_dir; print(cache_dir())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    where = Path(out.stdout.strip())
    assert where.parent == tmp_path
    assert any(where.rglob("*.nbi")), "no cache index written in the keyed directory"


def _outside_stage(n, model, st, bk, sc):  # pragma: no cover - never compiled
    return 0


def test_stages_from_outside_the_keyed_packages_are_refused():
    from typing import NamedTuple

    from sparse_neuro.neuro.engines.learn import register_rule
    from sparse_neuro.neuro.engines.loop import register_stages

    class Record(NamedTuple):
        x: int

    with pytest.raises(ValueError, match="test_kernel_cache"):
        register_stages(Record, _outside_stage, _outside_stage)
    with pytest.raises(ValueError, match="kernel cache is keyed"):
        register_rule(Record, _outside_stage, _outside_stage)


def test_checkpoint_code_version_follows_the_sources():
    from sparse_neuro.neuro.jit import source_key
    from sparse_neuro.neuro.storage.checkpoint import code_version

    assert code_version().endswith("+src." + source_key()[:12])


def test_every_kernel_is_compiled_through_the_keyed_cache():
    """No module of the keyed packages calls numba's jit directly (its cache would not be
    keyed to the sources it inlines)."""
    import re

    from sparse_neuro.neuro import jit

    direct = re.compile(r"numba\.n?jit\(|from numba import [^\n]*\bn?jit\b")
    found = []
    dirs = jit.package_dirs()
    assert len(dirs) == 3
    for pkg, base in dirs.items():
        for path in sorted(base.rglob("*.py")):
            if path.resolve() == Path(jit.__file__).resolve():
                continue
            for k, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0]
                if direct.search(code) and "``" not in code:
                    found.append(f"{pkg}: {path.relative_to(base)}:{k}: {line.strip()}")
    assert not found, "compile through sparse_neuro.neuro.jit.njit instead:\n" + "\n".join(found)
