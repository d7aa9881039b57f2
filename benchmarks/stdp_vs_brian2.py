"""Diehl & Cook STDP training speed: the clock engine vs Brian2 (cython runtime), one run.

The same network (``sparse_neuro.experiments.stdp_digits.diehl_cook_network``: Poisson inputs,
plastic all-to-all input synapses with pair STDP and hard bounds, excitatory layer with adaptive
thresholds, inhibitory population), the same dt, presentation and rest times, the same
per-image procedure (set the Poisson rates, run ``present_s``, silence the inputs, run
``rest_s``, normalise each neuron's input weights, repeat with higher rates if fewer than
``min_spikes`` spikes) on the same images. Brian2 gets the network through
:mod:`sparse_neuro.neuro.engines.backends.brian2_bridge` (identical connectivity, event-driven STDP
traces) with the ``cython`` code generation target; its compilation is excluded by a warm-up image.
The two backends use different random streams for the Poisson inputs, so spikes agree
statistically, not one to one. Timings are wall-clock per image, ours and Brian2's
interleaved in blocks so that machine load affects both alike.

Usage::

    python benchmarks/stdp_vs_brian2.py                       # MNIST, 400 neurons, 200 images
    python benchmarks/stdp_vs_brian2.py --dataset digits --n-neurons 100 --n-images 50
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from sparse_neuro.encoders.datasets import load_digits_split, load_mnist
from sparse_neuro.experiments.stdp_digits import Config, Trainer, diehl_cook_network, weight_total
from sparse_neuro.learning.homeostasis import normalize_columns
from sparse_neuro.neuro.storage.atomic import atomic_open


class Brian2Trainer:
    """The same per-image procedure as :class:`sparse_neuro.experiments.stdp_digits.Trainer`, in
    Brian2."""

    def __init__(self, net, cfg: Config, seed: int, target: str = "cython"):
        from sparse_neuro.neuro.engines.backends.brian2_bridge import to_brian2

        self.cfg = cfg
        self.model = to_brian2(net, cfg.dt_s, target=target, seed=seed)
        self.syn = self.model.synapses[0]
        self.j = np.asarray(self.syn.j[:])
        self.n = cfg.n_neurons
        self.total = weight_total(cfg, net.size("inp"))
        self.mon = self.model.spike_monitors["exc"]

    def present(self, x: np.ndarray) -> int:
        import brian2 as b2

        cfg = self.cfg
        inp = self.model.groups["inp"]
        for boost in range(cfg.max_boosts + 1):
            before = int(self.mon.num_spikes)
            inp.rates = x * cfg.max_rate_hz * (1 + boost) * b2.Hz
            self.model.run(cfg.present_s)
            n_spikes = int(self.mon.num_spikes) - before
            if cfg.rest_s > 0:
                inp.rates = 0 * b2.Hz
                self.model.run(cfg.rest_s)
            w = np.asarray(self.syn.w[:])
            normalize_columns(w, self.j, self.n, self.total, cfg.weight_norm)
            self.syn.w[:] = w
            if n_spikes >= cfg.min_spikes:
                break
        return n_spikes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=("mnist", "digits"), default="mnist")
    ap.add_argument("--n-neurons", type=int, default=400)
    ap.add_argument("--n-images", type=int, default=200)
    ap.add_argument("--block", type=int, default=20, help="images per interleaved block")
    ap.add_argument("--target", choices=("cython", "numpy"), default="cython")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    data = load_mnist(n_train=8000) if args.dataset == "mnist" else load_digits_split(0.25, 0)
    x = data.x_train[: args.n_images]
    cfg = replace(Config(), n_neurons=args.n_neurons, dataset=args.dataset)
    net = diehl_cook_network(x.shape[1], cfg, seed=args.seed)
    print(
        f"Diehl & Cook network: {x.shape[1]} inputs, {cfg.n_neurons} exc + {cfg.n_neurons} inh, "
        f"{net.n_synapses} synapses, dt {cfg.dt_s * 1e3:g} ms, {cfg.present_s * 1e3:g}+"
        f"{cfg.rest_s * 1e3:g} ms per image, {len(x)} images",
        flush=True,
    )

    t = time.perf_counter()
    ours = Trainer(net, cfg, seed=args.seed)
    ours.learning(True)
    ours.present(x[0], learn=True)  # numba compilation (cached after the first run)
    ours_setup = time.perf_counter() - t
    t = time.perf_counter()
    theirs = Brian2Trainer(net, cfg, seed=args.seed, target=args.target)
    theirs.present(x[0])  # code generation and compilation
    b2_setup = time.perf_counter() - t
    print(f"setup incl. first image: ours {ours_setup:.2f} s, Brian2 {b2_setup:.2f} s", flush=True)

    t_ours = t_b2 = 0.0
    spikes_ours = spikes_b2 = 0
    for start in range(1, len(x), args.block):
        imgs = x[start : start + args.block]
        t = time.perf_counter()
        for img in imgs:
            spikes_ours += int(ours.present(img, learn=True).sum())
        t_ours += time.perf_counter() - t
        t = time.perf_counter()
        for img in imgs:
            spikes_b2 += theirs.present(img)
        t_b2 += time.perf_counter() - t
        done = start + len(imgs) - 1
        print(
            f"  {done:4d} images: ours {t_ours / done * 1e3:8.2f} ms/image, "
            f"Brian2 {t_b2 / done * 1e3:8.2f} ms/image",
            flush=True,
        )
    n = len(x) - 1
    res = {
        "dataset": args.dataset,
        "n_neurons": cfg.n_neurons,
        "n_inputs": int(x.shape[1]),
        "n_synapses": int(net.n_synapses),
        "n_images_timed": n,
        "dt_ms": cfg.dt_s * 1e3,
        "present_ms": cfg.present_s * 1e3,
        "rest_ms": cfg.rest_s * 1e3,
        "ours_ms_per_image": t_ours / n * 1e3,
        "brian2_ms_per_image": t_b2 / n * 1e3,
        "speedup": t_b2 / t_ours,
        "ours_setup_s": ours_setup,
        "brian2_setup_s": b2_setup,
        "brian2_target": args.target,
        "exc_spikes_per_image_ours": spikes_ours / n,
        "exc_spikes_per_image_brian2": spikes_b2 / n,
    }
    print(json.dumps(res, indent=2))
    if args.json:
        with atomic_open(args.json) as fh:
            json.dump(res, fh, indent=2)


if __name__ == "__main__":
    main()
