"""Sparse training cost: dense-masked vs event-driven vs torch.sparse kernels, same run.

Network: MNIST 784-1000-10 LIF (:class:`sparse_neuro.neuro.train.models.SpikingMLP`, beta 0.95,
T = 25), Bernoulli rate-coded input (spikes, so that the first projection sees events), spike-count
cross-entropy, Adam 1e-3, batch 128; data: the first 8,000 MNIST test images train, the
last 2,000 test. For every weight density, one model per kernel starts from the same
weights and pattern; the models are trained in lockstep (batch ``b`` of every model, then
batch ``b + 1``) so that machine load hits them equally, and every step is timed in CPU
time of this process (``time.process_time``, all its threads), which does not
count the time other processes of a shared machine take; the first batch (numba compilation,
warm-up) is not timed, the epoch time is the mean per timed batch times the batches. Gradients of the kernels agree to
float32 rounding, so the models stay (nearly) the same and their test accuracies are
compared at the end.

Kernels (:class:`sparse_neuro.neuro.train.sparse_linear.SparseLinear`, ``kernel=``)
--------------------------------------------------------
``dense``   dense-masked, what a user would write: the weights scattered into a dense matrix,
            torch GEMMs forward and backward, then the LIF layer
            (:class:`sparse_neuro.neuro.train.lif_layer.LIF`: its forward and backward run the
            compiled, vectorised steps of :mod:`sparse_neuro.neuro.train.kernels.lif_steps`, the
            same step code the fused kernels run, so the ratio comes from the synapses and the
            spikes, not from a better LIF loop).
``event``   ours: every projection and its LIF layer fused
            (:func:`sparse_neuro.neuro.train.fused_runs.sparse_lif`,
            :mod:`sparse_neuro.neuro.train.kernels.fused_lif`): one numba call runs all steps
            forward, one runs back-propagation through time, touching only the synapses of inputs
            that spiked.
``auto``    per layer and call, whichever the cost model estimates faster (the default).
``sparse``  ``torch.sparse.mm`` (COO), timed on the first ``--sparse-batches`` batches only
            (it is the slowest) and extrapolated to the epoch.

torch and numba run ``--threads`` threads each (the same for every kernel).

Before/after (``--baseline COMMIT``): the training step (forward, backward, Adam) of the
``dense`` and ``event`` models, timed per batch in fresh worker processes that import this
tree and the baseline commit (checked out in a temporary worktree), alternating, ``--rounds``
times each; the medians and their ratio (this tree / baseline) go into the record.

Run::

    python benchmarks/sparse_training.py                       # 1 epoch, densities 0.1 0.02
    python benchmarks/sparse_training.py --densities 0.1 0.05 0.02 0.01 --threads 1
    python benchmarks/sparse_training.py --baseline 00068a3 --rounds 3   # before / after

Each run writes its record to ``benchmarks/results/sparse_training.json`` (or
``sparse_training_ab.json`` for ``--baseline``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numba
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import ROOT, baseline_tree, run_worker, use_tree  # noqa: E402
from _record import write_record  # noqa: E402

use_tree()  # a worker: the library of its tree (before anything imports it)

from sparse_neuro.encoders import load_mnist  # noqa: E402
from sparse_neuro.learning.training import (  # noqa: E402
    _batch_seed,
    count_ce_loss,
    evaluate,
    rate_input,
)
from sparse_neuro.neuro.train import SpikingMLP, sparse_lif  # noqa: E402

KERNELS = ("dense", "event", "auto", "sparse")
AB_KERNELS = ("dense", "event")


def _model(density: float, kernel: str, n_steps: int, seed: int) -> SpikingMLP:
    net = SpikingMLP((784, 1000, 10), n_steps=n_steps, density=density, seed=seed)
    for fc in net.fcs:
        fc.kernel = kernel
    return net


def bench_density(density: float, data, args) -> dict[str, dict[str, float]]:
    """Train one model per kernel in lockstep for ``args.epochs``; time every step."""
    encode = rate_input(args.n_steps)
    models = {k: _model(density, k, args.n_steps, args.seed) for k in KERNELS}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    x_all = torch.as_tensor(data.x_train, dtype=torch.float32)
    y_all = torch.as_tensor(data.y_train, dtype=torch.int64)
    n = len(y_all)
    n_batches = math.ceil(n / args.batch_size)
    seconds = {k: 0.0 for k in KERNELS}
    timed_batches = {k: 0 for k in KERNELS}
    for epoch in range(args.epochs):
        perm = torch.from_numpy(np.random.default_rng([args.seed, epoch]).permutation(n))
        for b in range(n_batches):
            idx = perm[b * args.batch_size : (b + 1) * args.batch_size]
            xb = encode(x_all[idx], _batch_seed(args.seed, epoch, b))
            for k, model in models.items():
                if k == "sparse" and (epoch > 0 or b >= args.sparse_batches):
                    continue
                t0 = time.process_time()
                loss = count_ce_loss(model(xb), y_all[idx])
                opts[k].zero_grad(set_to_none=True)
                loss.backward()
                opts[k].step()
                if epoch or b:  # the first batch compiles (numba) and warms up: not timed
                    seconds[k] += time.process_time() - t0
                    timed_batches[k] += 1
    out = {}
    for k, model in models.items():
        per_epoch = seconds[k] / timed_batches[k] * n_batches
        acc = (
            evaluate(model, data.x_test, data.y_test, encode=encode, seed=args.seed)["accuracy"]
            if k != "sparse"
            else float("nan")
        )  # trained on a few batches only
        out[k] = {"epoch_s": per_epoch, "accuracy": acc, "batches_timed": timed_batches[k]}
    return out


def layer_times(density: float, data, args, repeats: int = 5) -> dict[str, float]:
    """First layer alone (784 -> 1000 projection and LIF), forward + backward, one rate-coded batch.

    Separates the layer whose cost follows the density from the readout, loss and optimizer;
    median of ``repeats`` interleaved runs, milliseconds.
    """
    x = torch.as_tensor(data.x_train[: args.batch_size], dtype=torch.float32)
    spikes = rate_input(args.n_steps)(x, args.seed)
    nets = {k: _model(density, k, args.n_steps, args.seed) for k in ("dense", "event")}
    g = torch.randn(args.n_steps, args.batch_size, 1000, generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {k: [] for k in nets}
    for _ in range(repeats + 1):  # the first round compiles and warms up
        for k, net in nets.items():
            t0 = time.process_time()
            net.fcs[0].weight.grad = None
            fused = sparse_lif(spikes, net.fcs[0], net.lifs[0])
            out = fused[0] if fused is not None else net.lifs[0](net.fcs[0](spikes))[0]
            (out * g).sum().backward()
            times[k].append(time.process_time() - t0)
    out = {k: 1e3 * float(np.median(v[1:])) for k, v in times.items()}
    out["input_activity"] = float(spikes.mean())
    return out


def step_times(density: float, data, args) -> dict[str, float]:
    """Median CPU seconds of one training step (forward, backward, Adam) per kernel of
    :data:`AB_KERNELS`, over ``args.ab_batches`` batches after one untimed warm-up batch,
    the kernels in lockstep."""
    encode = rate_input(args.n_steps)
    models = {k: _model(density, k, args.n_steps, args.seed) for k in AB_KERNELS}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    x_all = torch.as_tensor(data.x_train, dtype=torch.float32)
    y_all = torch.as_tensor(data.y_train, dtype=torch.int64)
    times: dict[str, list[float]] = {k: [] for k in models}
    for b in range(args.ab_batches + 1):
        idx = torch.arange(b * args.batch_size, (b + 1) * args.batch_size) % len(y_all)
        xb = encode(x_all[idx], _batch_seed(args.seed, 0, b))
        for k, model in models.items():
            t0 = time.process_time()
            loss = count_ce_loss(model(xb), y_all[idx])
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            if b:
                times[k].append(time.process_time() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def before_after(args) -> None:
    """This tree against ``args.baseline``: alternating fresh workers, ``args.rounds`` each."""
    load_start = os.getloadavg()
    print(f"load average at start: {load_start}")
    worker_args = [
        "--ab-worker",
        "--densities",
        *map(str, args.densities),
        "--threads",
        str(args.threads),
        "--ab-batches",
        str(args.ab_batches),
        "--n-train",
        str(args.n_train),
    ]
    # the baseline's worktree is not beside ../shared: name the data directory
    os.environ.setdefault("NEURO_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    runs: dict[str, list[dict]] = {"new": [], "old": []}
    with baseline_tree(args.baseline) as old:
        trees = [("new", ROOT), ("old", old)]
        for r in range(args.rounds):
            for label, tree in trees if r % 2 == 0 else trees[::-1]:
                runs[label].append(run_worker(Path(__file__).resolve(), tree, worker_args))
                print(f"round {r + 1} {label}: {runs[label][-1]}", flush=True)
    figures: dict[str, object] = {"baseline": args.baseline, "rounds": args.rounds}
    for d in args.densities:
        for k in AB_KERNELS:
            med = {
                label: statistics.median(run[str(d)][k] for run in rs) for label, rs in runs.items()
            }
            ratio = med["new"] / med["old"]
            figures[f"{d}_{k}"] = {"new_s": med["new"], "old_s": med["old"], "ratio": ratio}
            print(
                f"density {d:5.3f} {k:>6}: step {med['new'] * 1e3:7.1f} ms (this tree) vs "
                f"{med['old'] * 1e3:7.1f} ms ({args.baseline}): new / old {ratio:.3f}x"
            )
    print(f"load average at end: {os.getloadavg()}")
    path = write_record(
        "sparse_training_ab",
        figures,
        threads=args.threads,
        units={"*_s": "CPU s per training step (median)", "ratio": "new / old"},
        load_start=load_start,
    )
    print(f"record: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--densities", type=float, nargs="+", default=[0.1, 0.02])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-steps", type=int, default=25)
    ap.add_argument("--n-train", type=int, default=8000)
    ap.add_argument("--sparse-batches", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", help="compare the training step with this commit")
    ap.add_argument("--rounds", type=int, default=3, help="workers per tree (--baseline)")
    ap.add_argument("--ab-batches", type=int, default=15, help="timed steps per worker")
    ap.add_argument("--ab-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline:
        before_after(args)
        return
    if args.sparse_batches < 2:  # the first batch of every kernel is not timed
        ap.error(
            f"--sparse-batches must be >= 2 (the first batch compiles and is not timed), got {args.sparse_batches}"
        )
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    data = load_mnist(n_train=args.n_train)
    if args.ab_worker:
        print(json.dumps({str(d): step_times(d, data, args) for d in args.densities}))
        return
    print(
        f"torch {torch.__version__}, numba {numba.__version__}, {args.threads} thread(s) each, "
        f"{os.cpu_count()} cores, "
        f"load average before {os.getloadavg()}"
    )
    print(
        f"MNIST 784-1000-10, T={args.n_steps}, batch {args.batch_size}, rate-coded input, "
        f"{args.n_train} training images, {args.epochs} epoch(s)"
    )
    print("times: CPU seconds of this process (time.process_time)")
    print(f"{'density':>8} {'kernel':>7} {'s/epoch':>9} {'dense/this':>10} {'test acc':>9}")
    load_start = os.getloadavg()
    figures: dict[str, object] = {"epochs": args.epochs, "n_train": args.n_train}
    for d in args.densities:
        res = bench_density(d, data, args)
        figures[f"{d}_epoch"] = {
            k: {**r, "dense_over_this": res["dense"]["epoch_s"] / r["epoch_s"]}
            for k, r in res.items()
        }
        for k, r in res.items():
            note = f"  (extrapolated from {r['batches_timed']} batches)" if k == "sparse" else ""
            print(
                f"{d:8.3f} {k:>7} {r['epoch_s']:9.2f} {res['dense']['epoch_s'] / r['epoch_s']:10.2f} "
                f"{r['accuracy']:9.4f}{note}",
                flush=True,
            )
    print(
        "first layer alone (784 -> 1000 projection + LIF, forward + backward, one batch of "
        f"{args.batch_size} x {args.n_steps} steps, median of 5):"
    )
    for d in args.densities:
        r = layer_times(d, data, args)
        figures[f"{d}_first_layer_ms"] = r
        print(
            f"{d:8.3f}  dense {r['dense']:7.1f} ms  fused {r['event']:7.1f} ms  "
            f"dense/fused {r['dense'] / r['event']:5.2f}  (input activity {r['input_activity']:.3f})",
            flush=True,
        )
    print(f"load average after {os.getloadavg()}")
    path = write_record(
        "sparse_training",
        figures,
        threads=args.threads,
        units={"epoch_s": "CPU s per epoch", "*_ms": "CPU ms, forward + backward"},
        load_start=load_start,
    )
    print(f"record: {path}")


if __name__ == "__main__":
    main()
