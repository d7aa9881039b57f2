"""sparsity-sweep: pruning and sparse-training methods across weight densities.

Network: LIF MLP ``in-hidden-classes`` (MNIST split 784-1000-10: first 8,000 test images
train, last 2,000 test; or sklearn digits 64-128-10), Bernoulli rate-coded input (so that
the trained network runs unchanged on the Loihi model), spike-count cross-entropy, Adam.
Every method ends at the same number of synapses ``density * (all possible)`` and trains
for the same number of epochs:

``fixed_random``  random pattern at the target density, fixed (the toolkit's old sparsity);
                  it and the dynamic methods split the synapses over layers by ``layout``
                  (``uniform``, or ``erk``: Erdos-Renyi-Kernel as in RigL, small layers denser);
``magnitude``     dense for ``prune_epoch`` epochs, one-shot global magnitude pruning, fine-tune;
``gmp``           gradual magnitude pruning (Zhu & Gupta 2017), per layer, every
                  ``update_every`` steps during the first ``gmp_end`` fraction of training;
``imp``           iterative magnitude pruning with rewinding to the weights after
                  ``rewind_steps`` steps, ``imp_rounds`` rounds (each a share of the epochs);
``snip``, ``synflow``  pruning at initialisation (global), then training;
``permutation``   SNIP's pattern randomly permuted within each layer (the sanity check);
``set``, ``dsr``, ``snfs``, ``rigl``, ``deepr``  dynamic sparse training from a random
                  pattern at the target density (:mod:`sparse_neuro.learning.sparsity.dst`).

Measured per point: test accuracy, hidden activation sparsity, and synaptic operations and
energy per inference on the Loihi model (:mod:`sparse_neuro.hardware_models`, the network converted
by :func:`sparse_neuro.learning.to_network` and run on ``energy_samples`` test images). Methods
listed in ``kwta_methods`` are also trained with k-WTA hidden layers
(``k = kwta_fraction * hidden``). A layer-wise sensitivity map prunes one layer at a time of the
trained dense network (magnitude, no retraining). Figures: accuracy vs density, accuracy vs energy
(Pareto front), sensitivity heat map.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sparse_neuro.encoders import Split, load_digits_split, load_mnist
from sparse_neuro.encoders.codes import rate_code
from sparse_neuro.experiments.point_store import PointStore, point_key
from sparse_neuro.hardware_models import (
    EnergyReport,
    EventQueueSimulator,
    LoihiCounters,
    place,
    preset,
)
from sparse_neuro.learning import evaluate, rate_input, to_network
from sparse_neuro.learning.sparsity import (
    LAYOUTS,
    DSTConfig,
    DynamicSparsity,
    WeightSnapshot,
    apply_layout,
    gmp_density,
    magnitude_prune,
    permute_patterns,
    prune_by_scores,
    rewind,
    snip_scores,
    synflow_prune,
)
from sparse_neuro.learning.sparsity.train_loop import cosine_lr, train_with_hook
from sparse_neuro.learning.training import check_finite_tensors, count_ce_loss
from sparse_neuro.neuro import SpikeArraySource
from sparse_neuro.neuro.model.validation import check_field_types
from sparse_neuro.neuro.storage.atomic import atomic_path
from sparse_neuro.neuro.storage.checkpoint import check_resume_mode, config_hash, seal, verify
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.provenance import provenance_json
from sparse_neuro.neuro.storage.safe_read import open_torch
from sparse_neuro.neuro.train import SpikingMLP

__all__ = ["Config", "run", "SMOKE", "QUICK", "METHODS", "loihi_energy_per_inference"]

METHODS = (
    "fixed_random",
    "magnitude",
    "gmp",
    "imp",
    "snip",
    "synflow",
    "permutation",
    "set",
    "dsr",
    "snfs",
    "rigl",
    "deepr",
)
_DST = ("set", "dsr", "snfs", "rigl", "deepr")
DT = 1e-3


@dataclass(frozen=True)
class Config:
    """Sweep parameters (defaults: the full MNIST sweep; epochs and layout chosen on the
    validation hold-out, ``validation_epochs``; ``lr_schedule="cosine"`` was not validated)."""

    dataset: str = "mnist"
    hidden: int = 1000
    n_train: int = 8000
    n_steps: int = 10
    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3  # mnist-surrogate's validated rate (2e-3 left a dense net at 30%)
    lr_schedule: str = "constant"  # or "cosine": decayed to 0 over each training run
    densities: tuple[float, ...] = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
    methods: tuple[str, ...] = METHODS
    kwta_methods: tuple[str, ...] = ("fixed_random", "rigl")
    kwta_fraction: float = 0.075
    update_every: int = 25
    drop_fraction: float = 0.3
    layout: str = "erk"
    dst_end: float = 0.75
    prune_epoch: int = 5
    gmp_end: float = 0.6
    imp_rounds: int = 2
    rewind_steps: int = 20
    synflow_iterations: int = 50
    energy_samples: int = 10
    sensitivity_densities: tuple[float, ...] = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01)
    # budget: methods outside ``full_methods`` (empty: all methods) run only at those of
    # ``densities`` in ``reduced_densities``; k-WTA variants at those in ``kwta_densities``
    # (empty: all densities)
    full_methods: tuple[str, ...] = ()
    reduced_densities: tuple[float, ...] = (0.1,)
    kwta_densities: tuple[float, ...] = ()
    # > 0: first train a dense net and RigL at ``validation_density`` on n_train -
    # validation_size images for this many epochs (RigL's schedule stretched over them) and
    # report their validation accuracy after every epoch (how the settings were chosen)
    validation_epochs: int = 0
    validation_density: float = 0.1
    validation_size: int = 1000
    threads: int = 1
    resume: str = "auto"

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if self.dataset not in ("mnist", "digits"):
            raise ValueError(f"dataset must be 'mnist' or 'digits', got {self.dataset!r}")
        for name in (
            "hidden",
            "n_steps",
            "epochs",
            "batch_size",
            "update_every",
            "prune_epoch",
            "imp_rounds",
            "synflow_iterations",
            "threads",
        ):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0 < self.n_train < 10000:
            raise ValueError(f"n_train must be in [1, 9999], got {self.n_train}")
        for name in ("densities", "sensitivity_densities", "reduced_densities"):
            vals = getattr(self, name)
            if not vals or any(not 0 < d < 1 for d in vals):
                raise ValueError(
                    f"{name} must be a non-empty tuple of values in (0, 1), got {vals}"
                )
        if self.validation_epochs < 0 or int(self.validation_epochs) != self.validation_epochs:
            raise ValueError(
                f"validation_epochs must be an integer >= 0, got {self.validation_epochs!r}"
            )
        if self.validation_epochs and not 0 < self.validation_size < self.n_train:
            raise ValueError(
                f"validation_size must be in [1, n_train - 1 = {self.n_train - 1}], "
                f"got {self.validation_size}"
            )
        check_resume_mode(self.resume)
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(
                f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}"
            )
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not 0 < self.validation_density < 1:
            raise ValueError(f"validation_density must be in (0, 1), got {self.validation_density}")
        bad = [
            m for m in (*self.methods, *self.kwta_methods, *self.full_methods) if m not in METHODS
        ]
        if bad:
            raise ValueError(f"unknown methods {bad}; valid: {METHODS}")
        for name in ("kwta_fraction", "dst_end", "gmp_end", "drop_fraction"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.prune_epoch >= self.epochs:
            raise ValueError(
                f"prune_epoch must be < epochs ({self.epochs}), got {self.prune_epoch}"
            )
        if self.imp_rounds > self.epochs:
            raise ValueError(f"imp_rounds must be <= epochs ({self.epochs}), got {self.imp_rounds}")
        if self.rewind_steps < 0 or self.energy_samples < 0:
            raise ValueError("rewind_steps and energy_samples must be >= 0")


SMOKE: dict[str, Any] = {
    "dataset": "digits",
    "hidden": 32,
    "n_steps": 6,
    "epochs": 2,
    "prune_epoch": 1,
    "densities": (0.2,),
    "update_every": 5,
    "synflow_iterations": 5,
    "energy_samples": 2,
    "sensitivity_densities": (0.5, 0.1),
    "rewind_steps": 2,
}
QUICK: dict[str, Any] = {
    "epochs": 3,
    "prune_epoch": 1,
    "densities": (0.1,),
    "methods": ("fixed_random", "snip", "set", "rigl"),
    "kwta_methods": (),
    "update_every": 25,
    "energy_samples": 5,
    "sensitivity_densities": (0.1, 0.01),
}


# ---------------------------------------------------------------------- training one point
class _Trainer:
    """Shared data and settings; trains one (method, density, k-WTA) point."""

    def __init__(self, cfg: Config, data, seed: int) -> None:
        self.cfg, self.data, self.seed = cfg, data, seed
        self.sizes = (data.n_features, cfg.hidden, data.n_classes)
        self.encode = rate_input(cfg.n_steps)
        self.steps_per_epoch = -(-len(data.y_train) // cfg.batch_size)

    def model(self, density: float, kwta: bool) -> SpikingMLP:
        k = max(1, round(self.cfg.kwta_fraction * self.cfg.hidden)) if kwta else None
        return SpikingMLP(
            self.sizes, n_steps=self.cfg.n_steps, density=density, kwta_k=k, seed=self.seed
        )

    def fit(
        self,
        model,
        epochs: int,
        hook=None,
        optimizer=None,
        seed_offset: int = 0,
        done_epochs: int = 0,
        schedule_epochs: int | None = None,
    ) -> dict:
        """Train ``epochs`` more epochs of a run of ``schedule_epochs`` (default ``cfg.epochs``)
        of which ``done_epochs`` are done: the step count and learning-rate schedule go on."""
        c = self.cfg
        spe = self.steps_per_epoch
        lr_at = (
            cosine_lr(c.lr, (schedule_epochs or c.epochs) * spe)
            if c.lr_schedule == "cosine"
            else None
        )
        return train_with_hook(
            model,
            self.data.x_train,
            self.data.y_train,
            epochs=epochs,
            batch_size=c.batch_size,
            lr=c.lr,
            seed=self.seed + seed_offset,
            encode=self.encode,
            loss_fn=count_ce_loss,
            hook=hook,
            optimizer=optimizer,
            lr_at=lr_at,
            first_step=done_epochs * spe,
        )

    def first_batch_loss(self, model):
        x = torch.as_tensor(self.data.x_train[: self.cfg.batch_size], dtype=torch.float32)
        y = torch.as_tensor(self.data.y_train[: self.cfg.batch_size], dtype=torch.int64)
        xb = self.encode(x, self.seed)
        return lambda: count_ce_loss(model(xb), y)

    def sparse_from_scratch(self, method: str, density: float, kwta: bool, epochs: int):
        """``fixed_random`` or a dynamic method: model, optimizer and step hook for ``epochs``."""
        c = self.cfg
        model = self.model(1.0, kwta)
        apply_layout(model.fcs, density, c.layout, seed=self.seed)
        opt = torch.optim.Adam(model.parameters(), lr=c.lr)
        hook = None
        if method in _DST:
            dst = DynamicSparsity(
                model.fcs,
                opt,
                DSTConfig(
                    method,
                    update_every=c.update_every,
                    drop_fraction=c.drop_fraction,
                    end_step=max(1, int(c.dst_end * epochs * self.steps_per_epoch)),
                    deepr_lr=c.lr,
                    seed=self.seed,
                ),
            )
            hook = lambda step, closure, _opt: dst.step(step, closure)  # noqa: E731
        return model, opt, hook

    def train_point(self, method: str, density: float, kwta: bool) -> SpikingMLP:
        c = self.cfg
        total_steps = c.epochs * self.steps_per_epoch
        if method in ("fixed_random", *_DST):
            model, opt, hook = self.sparse_from_scratch(method, density, kwta, c.epochs)
            self.fit(model, c.epochs, hook, opt)
            return model
        model = self.model(1.0, kwta)
        if method in ("snip", "permutation"):
            scores = snip_scores(model.fcs, self.first_batch_loss(model))
            prune_by_scores(model.fcs, scores, density, scope="global")
            if method == "permutation":
                permute_patterns(model.fcs, seed=self.seed)
            self.fit(model, c.epochs)
        elif method == "synflow":
            synflow_prune(model.fcs, density, c.synflow_iterations)
            self.fit(model, c.epochs)
        elif method == "magnitude":
            self.fit(model, c.prune_epoch)
            magnitude_prune(model.fcs, density, scope="global")
            self.fit(model, c.epochs - c.prune_epoch, seed_offset=1, done_epochs=c.prune_epoch)
        elif method == "gmp":
            opt = torch.optim.Adam(model.parameters(), lr=c.lr)
            end = max(c.update_every + 1, int(c.gmp_end * total_steps))

            def hook(step, _closure, _opt):
                if step % c.update_every == 0 or step == end:
                    target = gmp_density(step, density, 0, end)
                    if target < model.fcs[0].density or step == end:
                        magnitude_prune(model.fcs, target, scope="layer", optimizer=opt)

            self.fit(model, c.epochs, hook, opt)
        elif method == "imp":
            snap = {}

            def remember(step, _closure, _opt):
                if step == c.rewind_steps:
                    snap["w"] = WeightSnapshot(model.fcs)

            per_round = max(1, c.epochs // c.imp_rounds)
            for r in range(1, c.imp_rounds + 1):
                # every round restarts from the rewound weights, with its own schedule
                self.fit(
                    model,
                    per_round,
                    remember if r == 1 else None,
                    seed_offset=r,
                    schedule_epochs=per_round,
                )
                magnitude_prune(model.fcs, density ** (r / c.imp_rounds), scope="global")
                if "w" not in snap:  # rewind_steps = 0 or beyond round 1: rewind to init
                    snap["w"] = WeightSnapshot(self.model(1.0, kwta).fcs)
                rewind(model.fcs, snap["w"])
            last = max(1, c.epochs - per_round * c.imp_rounds)
            self.fit(model, last, seed_offset=99, schedule_epochs=last)
        return model


# ---------------------------------------------------------------------- energy
def loihi_energy_per_inference(
    model: SpikingMLP, x: np.ndarray, n_steps: int, seed: int
) -> dict[str, float]:
    """Energy and synaptic ops per inference of ``model`` on the Loihi model (rate-coded ``x``).

    The model is converted with :func:`sparse_neuro.learning.to_network` (float64), placed on cores
    with :func:`sparse_neuro.hardware_models.place`, and every sample is run by the event-queue
    simulator.
    """
    m64 = copy.deepcopy(model).double()
    spikes = rate_code(x, n_steps, seed=seed + 1).astype(np.float64)
    net = to_network(m64, None, DT)
    spec = preset()
    mapping = place(net, spec)
    sim = EventQueueSimulator(net, DT, mapping=mapping, seed=seed)
    per_step, per_pop = [], None
    for b in range(x.shape[0]):
        t, i = np.nonzero(spikes[:, b, :])
        sim.reset(sources=[SpikeArraySource("inp", x.shape[1], t * DT, i)])
        sim.run((n_steps + 2) * DT)
        c = sim.counters()
        per_step.append(c.per_step)
        per_pop = (
            c.per_population
            if per_pop is None
            else {k: per_pop[k] + v for k, v in c.per_population.items()}
        )
    ctr = LoihiCounters(
        np.concatenate(per_step), per_pop, DT, tuple(p.name for p in net.populations)
    )
    rep = EnergyReport.from_counters(ctr, mapping, net, x.shape[0], spec)
    return {
        "energy_uj": rep.energy_per_inference_uj,
        "syn_ops": ctr.total("syn_ops") / x.shape[0],
        "dense_energy_uj": rep.dense_energy_per_inference_uj,
    }


# ---------------------------------------------------------------------- figures
def _pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not dominated (lower energy and higher accuracy), sorted by energy."""
    front, best = [], -np.inf
    for e, a in sorted(points):
        if a > best:
            front.append((e, a))
            best = a
    return front


def _grid(cfg: Config) -> list[tuple[str, float, bool]]:
    """The (method, density, k-WTA) points of the run, in the order they are computed.

    Density-major in the order of ``cfg.densities``, methods in the order of ``cfg.methods``,
    the k-WTA variants last: list the densities and methods that matter most first, so that
    a run stopped early (and resumed with a narrower grid) has them.
    """
    full = cfg.full_methods or cfg.methods
    grid = [
        (m, d, False)
        for d in cfg.densities
        for m in cfg.methods
        if m in full or d in cfg.reduced_densities
    ]
    kw_d = cfg.kwta_densities or cfg.densities
    return grid + [(m, d, True) for d in cfg.densities for m in cfg.kwta_methods if d in kw_d]


def _figures(ctx, acc, energy, dense_acc, dense_energy, sens, sens_d, layer_names) -> None:
    fig = Figure(figsize=(12, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    # twelve methods: tab20 keeps every method's colour distinct (the default cycle has ten)
    colour = {m: colormaps["tab20"](i % 20) for i, m in enumerate(acc)}
    for m, by_d in acc.items():
        ds = sorted(by_d)
        ax1.semilogx(
            [100 * d for d in ds], [100 * by_d[d] for d in ds], "o-", ms=3, label=m, color=colour[m]
        )
    ax1.axhline(100 * dense_acc, color="k", ls="--", label="dense")
    ax1.set(xlabel="weight density (%)", ylabel="test accuracy (%)", title="accuracy vs density")
    ax1.legend(fontsize=6, ncol=2)
    pts = []
    for m, by_d in acc.items():
        es = [energy[m][d] for d in by_d]
        ax2.semilogx(es, [100 * a for a in by_d.values()], "o", ms=4, label=m, color=colour[m])
        pts += list(zip(es, by_d.values()))
    ax2.semilogx([dense_energy], [100 * dense_acc], "k*", ms=10, label="dense")
    front = _pareto(pts + [(dense_energy, dense_acc)])
    ax2.plot([e for e, _ in front], [100 * a for _, a in front], "k-", lw=1, label="Pareto front")
    ax2.set(
        xlabel="energy per inference, Loihi model (uJ)",
        ylabel="test accuracy (%)",
        title="accuracy vs energy",
    )
    ax2.legend(fontsize=6, ncol=2)
    im = ax3.imshow(100 * sens, aspect="auto", cmap="viridis")
    ax3.set_xticks(range(len(sens_d)), [f"{100 * d:g}%" for d in sens_d])
    ax3.set_yticks(range(len(layer_names)), layer_names)
    for i in range(sens.shape[0]):
        for j in range(sens.shape[1]):
            ax3.text(
                j, i, f"{100 * sens[i, j]:.0f}", ha="center", va="center", color="w", fontsize=8
            )
    ax3.set(
        xlabel="density of the pruned layer (others dense)",
        title="layer-wise sensitivity (accuracy %)",
    )
    fig.colorbar(im, ax=ax3)
    fig.tight_layout()
    ctx.save_figure(fig, "sparsity_sweep")


# ---------------------------------------------------------------------- run
_GRID_FIELDS = (
    "methods",
    "densities",
    "kwta_methods",
    "sensitivity_densities",
    "full_methods",
    "reduced_densities",
    "kwta_densities",
    "threads",
    "resume",
)


def _validation_curves(cfg: Config, data: Split, seed: int) -> dict[str, list[float]]:
    """Validation accuracy after every epoch of dense and of RigL, trained on the rest of the
    training set (RigL's update schedule spans all ``validation_epochs``)."""
    n = len(data.y_train) - cfg.validation_size
    fit_data = Split(data.x_train[:n], data.y_train[:n], data.x_train[n:], data.y_train[n:])
    tr = _Trainer(cfg, fit_data, seed)
    dense = tr.model(1.0, False)
    runs = {
        "accuracy": (dense, torch.optim.Adam(dense.parameters(), lr=cfg.lr), None),
        "rigl_accuracy": tr.sparse_from_scratch(
            "rigl", cfg.validation_density, False, cfg.validation_epochs
        ),
    }
    curves = {}
    for name, (model, opt, hook) in runs.items():
        curves[name] = []
        for epoch in range(cfg.validation_epochs):  # one epoch per call, a new shuffle each
            tr.fit(
                model,
                1,
                hook,
                optimizer=opt,
                seed_offset=epoch,
                done_epochs=epoch,
                schedule_epochs=cfg.validation_epochs,
            )
            curves[name].append(
                evaluate(model, fit_data.x_test, fit_data.y_test, encode=tr.encode, seed=seed)[
                    "accuracy"
                ]
            )
    return curves


def run(cfg: Config, ctx) -> dict:
    """Train every (method, density) point, evaluate, cost on the Loihi model, plot.

    Every finished point is stored under ``out/checkpoints`` (:class:`PointStore`): a killed
    run resumes, and several processes started with the same arguments share the grid.
    """
    torch.set_num_threads(cfg.threads)
    if cfg.dataset == "mnist":
        data = load_mnist(n_train=cfg.n_train)
    else:
        data = load_digits_split(test_size=0.25, random_state=0)
    tr = _Trainer(cfg, data, ctx.seed)
    x_e = data.x_test[: cfg.energy_samples]
    point_fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _GRID_FIELDS}
    store = PointStore(
        ctx.checkpoint_path("points"),
        config_hash(point_fields, seed=ctx.seed),
        fresh=cfg.resume == "fresh",
    )
    dense_path = ctx.checkpoint_path(f"{store.identity}-dense.pt")

    def measure(model) -> dict[str, float]:
        ev = evaluate(model, data.x_test, data.y_test, encode=tr.encode, seed=ctx.seed)
        out = {"accuracy": ev["accuracy"], "activation_sparsity": ev["activation_sparsity"][0]}
        if cfg.energy_samples:
            out.update(loihi_energy_per_inference(model, x_e, cfg.n_steps, ctx.seed))
        return out

    def compute(key: str) -> dict:
        if key == "validation":
            return _validation_curves(cfg, data, ctx.seed)
        m, d, kw = keys[key]
        if m == "dense":
            model = tr.model(1.0, kw)
            tr.fit(model, cfg.epochs)
            if not kw:  # the sensitivity map prunes this network
                with atomic_path(dense_path) as tmp:
                    payload = {"model": model.state_dict(), "provenance": provenance_json()}
                    torch.save(seal(payload), tmp)  # manifest, SHA-256
        else:
            model = tr.train_point(m, d, kw)
        return measure(model)

    keys = {
        point_key(m, d, kw): (m, d, kw)
        for m, d, kw in [
            ("dense", 1.0, False),
            *_grid(cfg),
            *([("dense", 1.0, True)] if cfg.kwta_methods else []),
        ]
    }
    todo = [*keys, *(["validation"] if cfg.validation_epochs else [])]
    bar = ctx.progress(total=len(todo), desc="sweep")
    done = store.compute_all(todo, compute, on_done=lambda _k: bar.update(1))
    points = {keys[k]: v for k, v in done.items() if k in keys}
    dense_r = points[("dense", 1.0, False)]
    dense = tr.model(1.0, False)
    if not dense_path.exists():  # stored points of a run whose weights were lost: retrain
        compute(point_key("dense", 1.0, False))
    try:  # tensors only (weights_only), sealed, finite, and the trained net's exact layout
        with open_torch(dense_path, "dense weights") as fh:  # regular file, no zip bomb
            payload = torch.load(fh, weights_only=True)
        weights = verify(payload, str(dense_path))["model"]
        check_finite_tensors(dense_path, "model", weights)
        dense.load_state_dict(weights)
    except (OSError, RuntimeError, EOFError, KeyError, pickle.UnpicklingError) as e:
        raise FormatError(
            f"{dense_path}: not the dense weights of this sweep: {type(e).__name__}: {e}"
        ) from None

    # layer-wise sensitivity: magnitude-prune one layer of the trained dense net, no retraining
    names = [f"layer {i} ({a}-{b})" for i, (a, b) in enumerate(zip(tr.sizes[:-1], tr.sizes[1:]))]
    sens = np.zeros((len(dense.fcs), len(cfg.sensitivity_densities)))
    state = dense.state_dict()
    for i in range(len(dense.fcs)):
        for j, d in enumerate(cfg.sensitivity_densities):
            net = tr.model(1.0, False)
            net.load_state_dict(state)
            magnitude_prune([net.fcs[i]], d, scope="layer")
            sens[i, j] = evaluate(net, data.x_test, data.y_test, encode=tr.encode, seed=ctx.seed)[
                "accuracy"
            ]

    def table(key: str, kwta: bool) -> dict[str, dict[float, float]]:
        methods = cfg.kwta_methods if kwta else cfg.methods
        return {
            m: {
                d: points[(m, d, kwta)].get(key, float("nan"))
                for d in cfg.densities
                if (m, d, kwta) in points
            }
            for m in methods
        }

    acc, energy = table("accuracy", False), table("energy_uj", False)
    _figures(
        ctx,
        acc,
        energy,
        dense_r["accuracy"],
        dense_r.get("energy_uj", np.nan),
        sens,
        cfg.sensitivity_densities,
        names,
    )
    arr = {
        k: np.array(
            [
                [points.get((m, d, False), {}).get(k, np.nan) for d in cfg.densities]
                for m in cfg.methods
            ]
        )
        for k in ("accuracy", "activation_sparsity", "energy_uj", "syn_ops")
    }
    ctx.save_arrays(
        "sweep",
        {
            **arr,
            "densities": np.asarray(cfg.densities),
            "sensitivity": sens,
            "sensitivity_densities": np.asarray(cfg.sensitivity_densities),
        },
        {"methods": ",".join(cfg.methods)},
    )

    def keyed(t: dict) -> dict[str, dict[str, float]]:
        return {m: {f"{d:g}": v for d, v in by_d.items()} for m, by_d in t.items()}

    summary = {
        "data": {"split": data.description},
        "architecture": "-".join(map(str, tr.sizes)),
        "accuracy": keyed(acc),
        "dense_accuracy": dense_r["accuracy"],
        "energy_uj": keyed(energy),
        "dense_energy_uj": dense_r.get("energy_uj"),
        "syn_ops_per_inference": keyed(table("syn_ops", False)),
        "dense_syn_ops_per_inference": dense_r.get("syn_ops"),
        "activation_sparsity": keyed(table("activation_sparsity", False)),
        "dense_activation_sparsity": dense_r["activation_sparsity"],
        "sensitivity": {
            n: {f"{d:g}": float(v) for d, v in zip(cfg.sensitivity_densities, row)}
            for n, row in zip(names, sens)
        },
        "energy_samples": cfg.energy_samples,
    }
    if cfg.kwta_methods:
        summary["kwta_accuracy"] = keyed(table("accuracy", True))
        summary["kwta_activation_sparsity"] = keyed(table("activation_sparsity", True))
        summary["kwta_energy_uj"] = keyed(table("energy_uj", True))
        dense_kw_r = points[("dense", 1.0, True)]
        summary["dense_kwta_accuracy"] = dense_kw_r["accuracy"]
        summary["dense_kwta_activation_sparsity"] = dense_kw_r["activation_sparsity"]
    if cfg.validation_epochs:
        summary["dense_validation_accuracy_per_epoch"] = done["validation"]["accuracy"]
        summary["rigl_validation_accuracy_per_epoch"] = done["validation"]["rigl_accuracy"]
    if ("rigl", 0.1, False) in points:
        summary["rigl_10pct_gap_points"] = 100 * (dense_r["accuracy"] - acc["rigl"][0.1])
    return summary
