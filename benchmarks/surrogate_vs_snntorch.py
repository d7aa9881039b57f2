"""Surrogate-gradient training: our fused layers vs snntorch, same model, data, seed, one run.

snntorch tutorial 5: 784-1000-10 LIF (beta 0.95, atan surrogate, reset by subtraction),
T = 25 steps of direct current input, Adam 5e-4, batch 128, per-step membrane
cross-entropy. Data: the first 8,000 MNIST test images train, the last 2,000 test (the
training set is not available here). Both models start from the same weights (ours is
imported from the snntorch model with ``sparse_neuro.learning.convert.from_snntorch``), see the same
batches in the same order, and their training steps are interleaved batch by batch so that
machine load hits both equally.

Timed variants
--------------
``snntorch``     the tutorial's explicit loop: ``fc1 -> Leaky -> fc2 -> Leaky`` per step.
``ours``         :class:`sparse_neuro.neuro.train.models.SpikingMLP` with the static image as input:
                 the first projection is computed once per sample (it is the same at every step) and
                 the LIF loops run fused (one autograd node per layer).
``ours-repeat``  the same, fed the image repeated over T as a ``[T, B, 784]`` tensor: the
                 first projection runs on all T*B rows in one matrix product. This isolates
                 the fused kernels from the static-input saving.

Run::

    python benchmarks/surrogate_vs_snntorch.py            # 1 epoch, 2 threads
    python benchmarks/surrogate_vs_snntorch.py --epochs 1 --threads 1 --n-train 2000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from sparse_neuro.encoders import load_mnist
from sparse_neuro.learning.convert import from_snntorch
from sparse_neuro.learning.training import membrane_ce_loss


class TutorialNet(nn.Module):
    """snntorch tutorial 5 network (explicit time loop)."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, beta: float, n_steps: int) -> None:
        import snntorch as snn

        super().__init__()
        self.n_steps = n_steps
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.lif1 = snn.Leaky(beta=beta)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.lif2 = snn.Leaky(beta=beta)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        spk_rec, mem_rec = [], []
        for _ in range(self.n_steps):
            spk1, mem1 = self.lif1(self.fc1(x), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
        return torch.stack(spk_rec), torch.stack(mem_rec)


def _snn_loss(out, y):
    spk, mem = out
    return sum(nn.functional.cross_entropy(mem[t], y) for t in range(mem.shape[0]))


def _snn_pred(out):
    return out[0].sum(0).argmax(1)


def _our_pred(out):
    return out.spikes.sum(0).argmax(1)


@torch.no_grad()
def _accuracy(model, x, y, pred_fn, repeat_t: int | None = None) -> float:
    correct = 0
    for s in range(0, len(x), 500):
        xb = x[s : s + 500]
        if repeat_t:
            xb = xb.expand(repeat_t, *xb.shape)
        correct += int((pred_fn(model(xb)) == y[s : s + 500]).sum())
    return correct / len(x)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-train", type=int, default=8000)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--n-steps", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-repeat", action="store_true", help="skip the ours-repeat variant")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_mnist(n_train=8000)
    xtr = torch.from_numpy(data.x_train[: args.n_train])
    ytr = torch.from_numpy(data.y_train[: args.n_train])
    xte, yte = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)

    torch.manual_seed(args.seed)
    ref = TutorialNet(784, args.hidden, 10, 0.95, args.n_steps)
    models = {"snntorch": ref, "ours": from_snntorch(ref, n_steps=args.n_steps)}
    if not args.no_repeat:
        models["ours-repeat"] = from_snntorch(ref, n_steps=args.n_steps)
    opts = {
        k: torch.optim.Adam(m.parameters(), lr=5e-4, betas=(0.9, 0.999)) for k, m in models.items()
    }
    loss_fns = {"snntorch": _snn_loss, "ours": membrane_ce_loss, "ours-repeat": membrane_ce_loss}
    seconds = {k: 0.0 for k in models}
    step_ratio = []
    n_samples = 0
    for epoch in range(args.epochs):
        perm = torch.from_numpy(np.random.default_rng([args.seed, epoch]).permutation(len(xtr)))
        for s in range(0, len(xtr), args.batch_size):
            idx = perm[s : s + args.batch_size]
            xb, yb = xtr[idx], ytr[idx]
            step = {}
            for name, model in models.items():  # interleaved: same load for all
                inp = xb.expand(args.n_steps, *xb.shape) if name == "ours-repeat" else xb
                t0 = time.perf_counter()
                out = model(inp)
                loss = loss_fns[name](out, yb)
                opts[name].zero_grad(set_to_none=True)
                loss.backward()
                opts[name].step()
                step[name] = time.perf_counter() - t0
                seconds[name] += step[name]
            step_ratio.append(step["snntorch"] / step["ours"])
            n_samples += len(idx)
    acc = {
        "snntorch": _accuracy(ref, xte, yte, _snn_pred),
        "ours": _accuracy(models["ours"], xte, yte, _our_pred),
    }
    if "ours-repeat" in models:
        acc["ours-repeat"] = _accuracy(models["ours-repeat"], xte, yte, _our_pred, args.n_steps)
    sps = {k: n_samples / v for k, v in seconds.items()}
    print(
        f"MNIST 784-{args.hidden}-10, T={args.n_steps}, batch {args.batch_size}, "
        f"{args.epochs} epoch(s) of {len(xtr)} images, {args.threads} thread(s), shared machine"
    )
    print(f"{'model':<12} {'samples/s':>10} {'train s':>8} {'test acc':>9}")
    for k in models:
        print(f"{k:<12} {sps[k]:>10.0f} {seconds[k]:>8.2f} {100 * acc[k]:>8.2f}%")
    result = {
        "speed_ratio_ours_vs_snntorch": sps["ours"] / sps["snntorch"],
        "median_step_ratio": float(np.median(step_ratio)),
        "accuracy_difference_points": 100 * (acc["ours"] - acc["snntorch"]),
        "samples_per_s": sps,
        "test_accuracy": acc,
    }
    if "ours-repeat" in models:
        result["speed_ratio_repeat_vs_snntorch"] = sps["ours-repeat"] / sps["snntorch"]
    print(
        f"speed ratio ours/snntorch: {result['speed_ratio_ours_vs_snntorch']:.2f}x "
        f"(median per-step {result['median_step_ratio']:.2f}x)"
        + (
            f"; ours-repeat/snntorch: {result['speed_ratio_repeat_vs_snntorch']:.2f}x"
            if "ours-repeat" in models
            else ""
        )
    )
    print(
        f"accuracy difference ours - snntorch: {result['accuracy_difference_points']:+.2f} points"
    )
    return result


if __name__ == "__main__":
    main()
