"""Dynamic sparse training at a fixed total number of synapses: SET, DSR, SNFS, RigL, Deep R.

:class:`DynamicSparsity` is called after every optimizer step (:meth:`DynamicSparsity.step`)
and, every ``update_every`` steps until ``end_step``, removes synapses and grows as many new
ones, so that the total synapse count never changes:

``set``    (Mocanu et al. 2018) per layer: drop the fraction of smallest ``|w|``, grow as many
           at random empty positions (weights drawn like the initialisation).
``rigl``   (Evci et al. 2020) per layer: drop smallest ``|w|``, grow where the dense gradient
           ``|dL/dW|`` is largest (new weights 0); drop fraction decays as
           ``alpha/2 (1 + cos(pi t / end_step))``.
           ``set`` and ``rigl`` leave a dense layer (e.g. the small readout that an ERK
           layout, :mod:`~sparse_neuro.learning.sparsity.allocation`, makes dense) alone, as RigL's
           code.
``snfs``   (Dettmers & Zettlemoyer 2019) drop smallest ``|w|`` in every layer; the freed
           synapses are redistributed over layers in proportion to the mean momentum
           magnitude (the optimizer's first moment) of each layer's synapses and grown where
           the dense gradient is largest. Here the dense gradient is computed at update steps
           only (one extra dense product), not accumulated as momentum at every step.
``dsr``    (Mostafa & Wang 2019) global adaptive magnitude threshold ``H`` (doubled or halved
           to keep the number pruned near its target); the pruned count is regrown at random
           positions, allocated to layers in proportion to their surviving synapses.
``deepr``  (Bellec et al. 2018) every step: L1 shrinkage and Gaussian noise
           ``sqrt(2 lr T)`` on the weights; a synapse whose weight crosses zero (sign change)
           goes dormant (removed) and as many random synapses are created with weight 0 and
           a random sign, in the same layer.

Gradient-based growth (``rigl``, ``snfs``) needs a ``loss_closure`` at update steps
(:func:`dense_gradients`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sparse_neuro.learning.sparsity.rewire import empty_positions, rewire
from sparse_neuro.neuro.train import SparseLinear

__all__ = ["DSTConfig", "DynamicSparsity", "dense_gradients", "METHODS"]

METHODS = ("set", "rigl", "snfs", "dsr", "deepr")


@dataclass(frozen=True)
class DSTConfig:
    """Dynamic sparse training schedule.

    Parameters
    ----------
    method : one of :data:`METHODS`
    update_every : int >= 1
        ``Delta T``: steps between pattern updates (ignored by ``deepr``: every step).
    drop_fraction : float in [0, 1)
        ``alpha``: fraction of each layer's synapses replaced at the first update.
    end_step : int >= 1
        No update at or after this step (RigL's ``T_end``).
    cosine : bool
        Decay the drop fraction as ``alpha/2 (1 + cos(pi t / end_step))`` (RigL's
        schedule); otherwise constant.
    deepr_temperature, deepr_l1, deepr_lr : float
        Deep R's noise temperature ``T``, L1 strength and the learning rate that scales both.
    dsr_tolerance : float
        Relative band around the DSR target pruned count within which ``H`` is unchanged.
    seed : int
    """

    method: str = "rigl"
    update_every: int = 50
    drop_fraction: float = 0.3
    end_step: int = 1000
    cosine: bool = True
    deepr_temperature: float = 1e-6
    deepr_l1: float = 1e-5
    deepr_lr: float = 1e-3
    dsr_tolerance: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("update_every", "end_step"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not 0.0 <= self.drop_fraction < 1.0:
            raise ValueError(f"drop_fraction must be in [0, 1), got {self.drop_fraction}")
        for name in ("deepr_temperature", "deepr_l1", "deepr_lr", "dsr_tolerance"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def fraction_at(self, step: int) -> float:
        """Drop fraction of an update at ``step`` (0 when there is no update then)."""
        if step <= 0 or step >= self.end_step or step % self.update_every:
            return 0.0
        if not self.cosine:
            return self.drop_fraction
        return self.drop_fraction / 2 * (1 + math.cos(math.pi * step / self.end_step))


def dense_gradients(
    layers: Sequence[SparseLinear], loss_closure: Callable[[], torch.Tensor]
) -> list[torch.Tensor]:
    """``dL/dW`` at every ``(pre, post)`` position, existing synapse or not (``[in, out]`` each).

    Computed as ``X^T G`` from each layer's input ``X`` and output gradient ``G``, captured
    with forward hooks during ``loss_closure()``; each layer must be called once.
    """
    seen: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(module, inputs, output):
        seen[id(module)] = (inputs[0].detach(), output)

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        loss = loss_closure()
    finally:
        for h in handles:
            h.remove()
    outs = [seen[id(layer)][1] for layer in layers]
    gs = torch.autograd.grad(loss, outs, allow_unused=True)
    grads = []
    for layer, out, g in zip(layers, outs, gs):
        x = seen[id(layer)][0].reshape(-1, layer.in_features)
        g = torch.zeros_like(out) if g is None else g
        grads.append(x.t() @ g.reshape(-1, layer.out_features))
    return grads


class DynamicSparsity:
    """Prune-and-grow controller for the :class:`SparseLinear` layers of a model.

    Parameters
    ----------
    layers : the layers whose patterns evolve
    optimizer : the optimizer of the model (its state is remapped at every rewiring)
    config : DSTConfig
    """

    def __init__(
        self, layers: Sequence[SparseLinear], optimizer: torch.optim.Optimizer, config: DSTConfig
    ) -> None:
        self.layers, self.optimizer, self.config = list(layers), optimizer, config
        self.rng = np.random.default_rng(config.seed)
        self.threshold = None  # DSR's H, set at its first update
        self.signs = [torch.sign(layer.weight.detach()) for layer in self.layers]  # Deep R
        self.total = self.n_synapses()

    def n_synapses(self) -> int:
        """Total synapses over the layers (fixed by every method)."""
        return sum(layer.weight.numel() for layer in self.layers)

    def step(self, step: int, loss_closure: Callable[[], torch.Tensor] | None = None) -> bool:
        """Call after optimizer step number ``step`` (1-based); returns True if rewired."""
        cfg = self.config
        if cfg.method == "deepr":
            if step >= cfg.end_step:
                return False
            self._deepr()
            return True
        frac = cfg.fraction_at(step)
        if frac <= 0:
            return False
        if cfg.method in ("rigl", "snfs") and loss_closure is None:
            raise ValueError(f"method {cfg.method!r} needs loss_closure at update steps")
        getattr(self, f"_{cfg.method}")(frac, loss_closure)
        return True

    # ------------------------------------------------------------------ drop helpers
    def _drop_smallest(self, layer: SparseLinear, n_drop: int) -> np.ndarray:
        keep = np.ones(layer.weight.numel(), dtype=bool)
        if n_drop:
            keep[np.argsort(layer.weight.detach().abs().numpy(), kind="stable")[:n_drop]] = False
        return keep

    def _random_empty(self, layer: SparseLinear, keep: np.ndarray, n: int) -> np.ndarray:
        """``n`` random positions holding no kept synapse (dropped ones may come back)."""
        free = np.union1d(
            empty_positions(layer),
            (layer.rows.numpy() * layer.out_features + layer.cols.numpy())[~keep],
        )
        return self.rng.choice(free, size=min(n, free.size), replace=False)

    def _grow_by_gradient(
        self, layer: SparseLinear, keep: np.ndarray, n: int, grad: torch.Tensor
    ) -> np.ndarray:
        score = grad.abs().flatten().numpy().astype(np.float64)
        kept = (layer.rows.numpy() * layer.out_features + layer.cols.numpy())[keep]
        score[kept] = -np.inf
        return np.argsort(-score, kind="stable")[:n]

    def _init_bound(self, layer: SparseLinear) -> float:
        return 1.0 / math.sqrt(max(layer.weight.numel() / layer.out_features, 1.0))

    def _apply(self, layer: SparseLinear, keep: np.ndarray, grow: np.ndarray, w) -> None:
        rewire(layer, keep, grow, w, optimizer=self.optimizer)

    # ------------------------------------------------------------------ methods
    def _growable(self) -> list[SparseLinear]:
        """Layers with empty positions: a full layer could only regrow what it dropped."""
        return [
            layer
            for layer in self.layers
            if layer.weight.numel() < layer.in_features * layer.out_features
        ]

    def _set(self, frac: float, _closure) -> None:
        for layer in self._growable():
            n = int(round(frac * layer.weight.numel()))
            keep = self._drop_smallest(layer, n)
            grow = self._random_empty(layer, keep, n)
            b = self._init_bound(layer)
            self._apply(layer, keep, grow, self.rng.uniform(-b, b, grow.size))

    def _rigl(self, frac: float, closure) -> None:
        grads = dense_gradients(self.layers, closure)
        growable = self._growable()
        for layer, g in zip(self.layers, grads):
            if layer not in growable:
                continue
            n = int(round(frac * layer.weight.numel()))
            keep = self._drop_smallest(layer, n)
            self._apply(layer, keep, self._grow_by_gradient(layer, keep, n, g), 0.0)

    def _snfs(self, frac: float, closure) -> None:
        grads = dense_gradients(self.layers, closure)
        keeps = [
            self._drop_smallest(layer, int(round(frac * layer.weight.numel())))
            for layer in self.layers
        ]
        freed = sum(int((~k).sum()) for k in keeps)
        momentum = np.array([self._mean_momentum(layer) for layer in self.layers])
        capacity = np.array(
            [
                layer.in_features * layer.out_features - int(k.sum())
                for layer, k in zip(self.layers, keeps)
            ]
        )
        for layer, keep, g, n in zip(
            self.layers, keeps, grads, _allocate(freed, momentum, capacity)
        ):
            self._apply(layer, keep, self._grow_by_gradient(layer, keep, n, g), 0.0)

    def _mean_momentum(self, layer: SparseLinear) -> float:
        state = self.optimizer.state.get(layer.weight, {})
        m = state.get("exp_avg", state.get("momentum_buffer"))
        return float(m.abs().mean()) if m is not None and m.numel() else 1.0

    def _dsr(self, frac: float, _closure) -> None:
        cfg = self.config
        mags = [layer.weight.detach().abs().numpy() for layer in self.layers]
        target = int(round(frac * self.total))
        if self.threshold is None:  # start at the magnitude that prunes exactly the target
            self.threshold = (
                float(np.sort(np.concatenate(mags))[max(target - 1, 0)]) if target else 0.0
            )
        keeps = [m > self.threshold for m in mags]
        pruned = sum(int((~k).sum()) for k in keeps)
        if pruned < (1 - cfg.dsr_tolerance) * target:
            self.threshold *= 2
        elif pruned > (1 + cfg.dsr_tolerance) * target:
            self.threshold /= 2
        surviving = np.array([k.sum() for k in keeps], dtype=float)
        capacity = np.array(
            [
                layer.in_features * layer.out_features - int(k.sum())
                for layer, k in zip(self.layers, keeps)
            ]
        )
        for layer, keep, n in zip(self.layers, keeps, _allocate(pruned, surviving, capacity)):
            self._apply(layer, keep, self._random_empty(layer, keep, n), 0.0)

    def _deepr(self) -> None:
        cfg = self.config
        noise = math.sqrt(2 * cfg.deepr_lr * cfg.deepr_temperature)
        for i, layer in enumerate(self.layers):
            with torch.no_grad():
                w = layer.weight
                w.sub_(cfg.deepr_lr * cfg.deepr_l1 * self.signs[i])
                w.add_(
                    torch.from_numpy(
                        self.rng.normal(0, noise, w.numel()).astype(w.detach().numpy().dtype)
                    )
                )
            flipped = (layer.weight.detach() * self.signs[i] < 0).numpy()
            n = int(flipped.sum())
            if not n:
                continue
            keep = ~flipped
            grow = self._random_empty(layer, keep, n)
            new_signs = self.rng.choice([-1.0, 1.0], size=grow.size)
            keys = layer.rows.numpy() * layer.out_features + layer.cols.numpy()
            all_keys = np.concatenate([keys[keep], grow])
            all_signs = np.concatenate([self.signs[i].numpy()[keep], new_signs])
            self._apply(layer, keep, grow, 0.0)
            # rewire orders synapses by a stable sort of the same concatenation
            order = np.argsort(all_keys, kind="stable")
            self.signs[i] = torch.from_numpy(all_signs[order]).to(layer.weight.dtype)


def _allocate(n: int, weights: np.ndarray, capacity: np.ndarray) -> list[int]:
    """Split ``n`` into integer parts proportional to ``weights``, none above ``capacity``."""
    w = np.maximum(np.asarray(weights, dtype=float), 0)
    w = np.ones_like(w) if w.sum() <= 0 else w
    parts = np.minimum(np.floor(n * w / w.sum()).astype(int), capacity)
    # hand out the remainder one by one to the layers with room, largest weight first
    order = np.argsort(-w, kind="stable")
    while parts.sum() < n and (parts < capacity).any():
        for j in order:
            if parts.sum() < n and parts[j] < capacity[j]:
                parts[j] += 1
    return parts.tolist()
