"""A linear map over a :class:`SparseSynapses` pattern and its kernel choice (torch).

Only the existing synapses are parameters. ``kernel=`` chooses how a call runs: a dense
GEMM, the event-driven CSR products (:mod:`sparse_neuro.neuro.train.kernels.event_products`),
``torch.sparse.mm``, or ``"auto"``: the cheaper of dense and event by a cost model
measured on this project's CPU (:meth:`SparseLinear.choose_kernel`), and whether a
following LIF layer runs fused (:meth:`SparseLinear.choose_fused`). Which LIF
implementation runs when: docs/TRAINING_KERNELS.md.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.train.kernels import fused_lif as _fused
from sparse_neuro.neuro.train.kernels.event_products import (
    event_forward,
    event_weight_grad,
    synapse_input_grad,
)

__all__ = ["SparseLinear", "synapses_to_torch"]


class _EventLinear(torch.autograd.Function):
    """``x @ W`` over the existing synapses of the non-zero inputs
    (:mod:`sparse_neuro.neuro.train.kernels.event_products`)."""

    @staticmethod
    def forward(ctx, x, weight, indptr, indices, n_out):  # type: ignore[override]
        xn = x.detach().contiguous().numpy()
        y = event_forward(xn, indptr, indices, weight.detach().numpy(), n_out)
        ctx.save_for_backward(x, weight)
        ctx.csr = (indptr, indices)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x, weight = ctx.saved_tensors
        indptr, indices = ctx.csr
        gn = g.contiguous().numpy()
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch.from_numpy(synapse_input_grad(gn, indptr, indices, weight.detach().numpy()))
        if ctx.needs_input_grad[1]:
            gw = torch.from_numpy(
                event_weight_grad(x.detach().contiguous().numpy(), gn, indptr, indices)
            )
        return gx, gw, None, None, None


_KERNELS = ("auto", "dense", "event", "sparse")


# Cost model of the automatic kernel choice, per elementary operation, measured on this
# project's 2-core CPU with one thread (torch 2.13, numba 0.68; benchmarks/sparse_training.py
# prints the calibration): a multiply-add inside torch's GEMM, an event-driven synapse
# update (indirect load/store), and the test of one input for zero.
_NS_PER_MAC = 0.017


_NS_PER_EVENT = 2.0


_NS_PER_SCAN = 0.6


# ... a dense product's pass over its [M, in] operand (what bounds a skinny GEMM such as the
# 1000 -> 10 readout), and for the fused kernels (sparse_lif): a pass over one input entry
# (its spike bits), what they add per output neuron and step to the LIF steps both paths run
# (the transposes between trains and steps, the output bits), and one vector operation over
# 16 steps at a synapse. Calibrated on the kernels of benchmarks/sparse_training.py (1 thread,
# the 784 -> 1000 layer at densities 1e-5, 2% and 10%, CPU time) before the LIF steps ran in
# registers (sparse_neuro.neuro.train.kernels.simd.lif_tile): the fused kernels are now faster than
# this estimates, so the choice errs towards the dense kernel.
_NS_PER_DENSE_ENTRY = 0.5


_NS_PER_ENTRY = 0.2


_NS_PER_OUT_ENTRY = 1.2


_NS_PER_VECTOR = 2.4


class SparseLinear(nn.Module):
    """Linear map whose connectivity pattern is a :class:`SparseSynapses` matrix.

    Only the weights of existing synapses are parameters (``self.weight``, in the CSR order
    of the pattern); absent synapses stay zero through training. The pattern itself can be
    changed (pruning, growth) with :meth:`set_synapses`.

    Parameters
    ----------
    synapses : SparseSynapses
        Pattern and initial weights, shape ``(in_features, out_features)``.
    bias : bool
        Add a learnable bias per output.
    kernel : {"auto", "dense", "event", "sparse"}
        ``"dense"`` scatters the weights into a dense matrix and uses one GEMM (memory
        ``in * out``); ``"event"`` touches only the existing synapses of the non-zero inputs
        (spikes) in the forward pass and the weight gradient
        (:mod:`sparse_neuro.neuro.train.kernels.event_products`); ``"sparse"`` uses
        ``torch.sparse.mm``. ``"auto"`` picks ``"event"`` or ``"dense"`` at every call from the
        estimated time of each (the number of non-zero inputs, the number of synapses and the
        measured cost per operation), and never ``"dense"`` when the dense matrix would exceed
        ``max_dense_bytes``. Followed by a :class:`LIF` layer (:class:`SpikingMLP`,
        :func:`sparse_lif`), the event choice runs the projection and the LIF layer fused
        (:mod:`sparse_neuro.neuro.train.kernels.fused_lif`, chosen by :meth:`choose_fused`).
    max_dense_bytes : int
        Largest dense weight matrix (bytes, and as much again for its gradient) the dense
        kernel may allocate; ``kernel="dense"`` beyond it is an error at construction.

    Examples
    --------
    >>> import torch
    >>> syn = SparseSynapses.fixed_probability(20, 5, p=0.1, weight=0.5, seed=0)
    >>> lin = SparseLinear(syn)
    >>> lin(torch.ones(3, 2, 20)).shape
    torch.Size([3, 2, 5])
    """

    def __init__(
        self,
        synapses: SparseSynapses,
        bias: bool = False,
        kernel: str = "auto",
        max_dense_bytes: int = 2**30,
    ) -> None:
        super().__init__()
        if not isinstance(synapses, SparseSynapses):
            raise TypeError(f"synapses must be SparseSynapses, got {type(synapses).__name__}")
        if kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
        if int(max_dense_bytes) != max_dense_bytes or max_dense_bytes < 0:
            raise ValueError(f"max_dense_bytes must be an integer >= 0, got {max_dense_bytes!r}")
        self.in_features, self.out_features = synapses.shape
        self.max_dense_bytes = int(max_dense_bytes)
        need = self.dense_bytes(synapses.weights.dtype)
        if kernel == "dense" and need > self.max_dense_bytes:
            raise ValueError(
                f"kernel='dense' would allocate {need / 2**30:.3g} GiB for the "
                f"{self.in_features}x{self.out_features} weight matrix and its gradient, more than "
                f"max_dense_bytes={self.max_dense_bytes} ({self.max_dense_bytes / 2**30:.3g} GiB); "
                "use kernel='event' or 'auto', or raise max_dense_bytes"
            )
        self.kernel = kernel
        self.weight = nn.Parameter(torch.from_numpy(synapses.weights.copy()))
        self.set_synapses(synapses)
        self.bias = (
            nn.Parameter(torch.zeros(self.out_features, dtype=self.weight.dtype)) if bias else None
        )

    def dense_bytes(self, dtype=None) -> int:
        """Bytes the dense kernel allocates: the dense matrix and its gradient."""
        itemsize = np.dtype(dtype).itemsize if dtype is not None else self.weight.element_size()
        return 2 * self.in_features * self.out_features * itemsize

    def set_synapses(self, synapses: SparseSynapses) -> None:
        """Replace the pattern and the weights (``weight`` becomes a new Parameter).

        An optimizer holding the old ``weight`` must be told;
        :func:`sparse_neuro.learning.sparsity.rewire` does that and carries its state over.
        """
        if not isinstance(synapses, SparseSynapses):
            raise TypeError(f"synapses must be SparseSynapses, got {type(synapses).__name__}")
        if synapses.shape != (self.in_features, self.out_features):
            raise ValueError(
                f"synapses shape must be {(self.in_features, self.out_features)}, "
                f"got {synapses.shape}"
            )
        if synapses.max_delay:
            raise ValueError(
                f"SparseLinear needs delay-0 synapses (got max delay {synapses.max_delay} steps)"
            )
        rows = torch.from_numpy(synapses.pre_indices().astype(np.int64))
        cols = torch.from_numpy(synapses.indices.astype(np.int64))
        if "rows" in self._buffers:
            self.rows, self.cols = rows, cols
        else:
            self.register_buffer("rows", rows)
            self.register_buffer("cols", cols)
        self._indptr = synapses.indptr.copy()
        # the (post, pre) indices the sparse kernel reads unchecked: private, as validated
        # (the rows/cols buffers are public and saved; a changed buffer must not reach it)
        self._coo = torch.stack([cols, rows])
        # narrowest unsigned column index for the numba loops: less memory traffic per
        # synapse and no negative-index check (uint16 measured 1.6x faster than int64 at 10%)
        self._event_cols = synapses.indices.astype(
            np.uint16 if self.out_features <= np.iinfo(np.uint16).max + 1 else np.uint32
        )
        self._chunks = _fused.chunks(self._indptr, self._event_cols, self.out_features)
        # a complete pattern in CSR order is the row-major dense matrix: no scatter needed
        self._full = synapses.n_synapses == self.in_features * self.out_features and np.array_equal(
            synapses.indices,
            np.tile(np.arange(self.out_features, dtype=np.int32), self.in_features),
        )
        # a new Parameter, not new .data: autograd caches the shape of a leaf it has seen
        self.weight = nn.Parameter(
            torch.from_numpy(synapses.weights.copy()).to(self.weight.dtype),
            requires_grad=self.weight.requires_grad,
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[override]
        # a saved pattern may differ from this one (pruned, regrown): adopt it, then load
        rows, cols = state_dict.get(prefix + "rows"), state_dict.get(prefix + "cols")
        w = state_dict.get(prefix + "weight")
        if (
            rows is not None
            and cols is not None
            and w is not None
            and not (
                rows.shape == self.rows.shape
                and torch.equal(rows, self.rows)
                and torch.equal(cols, self.cols)
            )
        ):
            r = rows.numpy()
            if r.size and (np.any(np.diff(r) < 0) or r.min() < 0 or r.max() >= self.in_features):
                raise ValueError(
                    f"{prefix}rows must be sorted presynaptic indices in [0, {self.in_features})"
                )
            indptr = np.zeros(self.in_features + 1, dtype=np.int64)
            np.cumsum(np.bincount(r, minlength=self.in_features), out=indptr[1:])
            self.set_synapses(
                SparseSynapses(indptr, cols.numpy(), w.detach().numpy(), 0, self.out_features)
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @classmethod
    def random(
        cls,
        in_features: int,
        out_features: int,
        density: float = 1.0,
        *,
        seed: int = 0,
        bias: bool = False,
        kernel: str = "auto",
        dtype: type = np.float32,
    ) -> SparseLinear:
        """Random pattern of the given density; weights uniform in ``+-1/sqrt(fan_in)``.

        ``fan_in = in_features * density`` (the expected number of inputs), as
        ``nn.Linear``'s default initialisation for the dense case.
        """
        if not (0.0 < density <= 1.0):
            raise ValueError(f"density must be in (0, 1], got {density}")
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(max(in_features * density, 1.0))
        syn = SparseSynapses.fixed_probability(
            in_features, out_features, density, seed=rng, dtype=dtype
        )
        w = rng.uniform(-bound, bound, size=syn.n_synapses).astype(dtype)
        return cls(syn.with_weights(w), bias=bias, kernel=kernel)

    @property
    def density(self) -> float:
        """Fraction of the ``in * out`` possible synapses that exist."""
        return self.weight.numel() / (self.in_features * self.out_features)

    def dense_weight(self) -> torch.Tensor:
        """The ``(in, out)`` weight matrix (differentiable w.r.t. ``self.weight``)."""
        if self._full:
            return self.weight.view(self.in_features, self.out_features)
        if self.dense_bytes() > self.max_dense_bytes:
            raise MemoryError(
                f"the dense {self.in_features}x{self.out_features} weight matrix needs "
                f"{self.dense_bytes() / 2**30:.3g} GiB with its gradient, more than "
                f"max_dense_bytes={self.max_dense_bytes}"
            )
        w = torch.zeros(
            self.in_features, self.out_features, dtype=self.weight.dtype, device=self.weight.device
        )
        return w.index_put((self.rows, self.cols), self.weight)

    def choose_kernel(self, flat: torch.Tensor) -> str:
        """The kernel a call on ``flat`` [M, in] uses (``self.kernel`` unless ``"auto"``)."""
        if self.kernel != "auto":
            return self.kernel
        if self.dense_bytes() > self.max_dense_bytes:
            return "event"
        M, I, O = flat.shape[0], self.in_features, self.out_features
        training = torch.is_grad_enabled() and (self.weight.requires_grad or flat.requires_grad)
        grad_w = training and self.weight.requires_grad
        grad_x = training and flat.requires_grad
        dense_ns = _NS_PER_MAC * M * I * O * (1 + grad_w + grad_x)
        # numpy counts ~2.5x faster than torch.count_nonzero on CPU (measured, float32)
        nnz = (
            np.count_nonzero(flat.detach().numpy())
            if flat.device.type == "cpu"
            else int(torch.count_nonzero(flat))
        )
        events = int(nnz) * (self.weight.numel() / I)
        event_ns = _NS_PER_EVENT * (
            events * (1 + grad_w) + grad_x * M * self.weight.numel()
        ) + _NS_PER_SCAN * M * I * (1 + grad_w)
        return "event" if event_ns < dense_ns else "dense"

    def choose_fused(
        self,
        x: torch.Tensor,
        bits: np.ndarray | None = None,
        needs_grad: tuple[bool, bool] | None = None,
    ) -> bool:
        """Whether :func:`sparse_lif` runs this projection and its LIF layer fused on ``x`` [T, B,
        in].

        ``kernel="event"``: always; ``"dense"``, ``"sparse"``: never; ``"auto"``: when the
        estimated time of the fused kernels (:mod:`sparse_neuro.neuro.train.kernels.fused_lif`: a
        pass over the input, the LIF tiles per output neuron and step, then vector operations over
        the steps for each synapse of each input that spiked in a sample; ``bits``, the input's
        :func:`sparse_neuro.neuro.train.kernels.fused_lif.spike_bits` if known, saves a pass) is
        below that of the dense matrix products, or the dense matrix would exceed
        ``max_dense_bytes``. ``needs_grad``: whether the weights' and the input's gradients will be
        computed (default: from grad mode and ``requires_grad``).
        """
        if self.kernel != "auto":
            return self.kernel == "event"
        if self.dense_bytes() > self.max_dense_bytes:
            return True
        T, B, I = x.shape
        O, nnz = self.out_features, self.weight.numel()
        if needs_grad is None:
            grad_mode = torch.is_grad_enabled()
            needs_grad = (grad_mode and self.weight.requires_grad, grad_mode and x.requires_grad)
        grad_w, grad_x = needs_grad
        training = grad_w or grad_x
        dense_ns = (_NS_PER_MAC * O + _NS_PER_DENSE_ENTRY) * T * B * I * (1 + grad_w + grad_x)
        vectors = -(-T // _fused.LANES)  # vector operations per synapse and input train
        pairs = (
            np.count_nonzero(bits)
            if bits is not None and bits.size
            else _fused.count_active_inputs(x.detach().contiguous().numpy())
        )
        fused_ns = (_NS_PER_ENTRY * I + _NS_PER_OUT_ENTRY * O) * T * B * (
            1 + training
        ) + _NS_PER_VECTOR * vectors * (pairs * nnz / I * (1 + grad_w) + grad_x * B * nnz)
        return fused_ns < dense_ns

    def checked_weight(self) -> torch.Tensor:
        """``weight``, checked to hold one value per synapse: the compiled kernels index it
        by synapse, and ``weight`` is a public attribute that may have been replaced."""
        n = self._event_cols.size
        if tuple(self.weight.shape) != (n,):
            raise ValueError(
                f"weight must have shape ({n},) (one value per synapse), got "
                f"{tuple(self.weight.shape)}; change the pattern with set_synapses"
            )
        return self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ W (+ bias)`` over the last dimension; any leading shape (e.g. ``[T, B]``)."""
        self.checked_weight()
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input last dimension must be {self.in_features}, got {x.shape[-1]}")
        flat = x.reshape(-1, self.in_features)
        kernel = self.choose_kernel(flat)
        if kernel == "dense":
            y = flat @ self.dense_weight()
        elif kernel == "event":
            if flat.dtype != self.weight.dtype:
                raise TypeError(
                    f"input dtype {flat.dtype} must match the weights' {self.weight.dtype}"
                )
            y = _EventLinear.apply(
                flat, self.weight, self._indptr, self._event_cols, self.out_features
            )
        else:
            wt = torch.sparse_coo_tensor(
                self._coo.to(self.weight.device),
                self.weight,
                (self.out_features, self.in_features),
                is_coalesced=False,
                check_invariants=False,  # indices come from a validated SparseSynapses
            )
            y = torch.sparse.mm(wt, flat.t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def to_synapses(self) -> SparseSynapses:
        """Current weights as :class:`SparseSynapses` (same pattern, delay 0)."""
        w = self.weight.detach().cpu().numpy().copy()
        return SparseSynapses(
            self._indptr, self.cols.cpu().numpy().astype(np.int32), w, 0, self.out_features
        )

    def extra_repr(self) -> str:
        return (
            f"in={self.in_features}, out={self.out_features}, synapses={self.weight.numel()}, "
            f"density={self.density:.3g}, kernel={self.kernel!r}"
        )


def synapses_to_torch(synapses: SparseSynapses, layout: str = "csr") -> torch.Tensor:
    """Torch sparse tensor of shape ``(n_pre, n_post)`` holding ``synapses``' weights; layout
    ``"csr"`` or ``"coo"``."""
    import warnings

    if layout == "csr":
        with warnings.catch_warnings():  # "CSR support is in beta": nothing to act on
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(synapses.indptr.copy()),
                torch.from_numpy(synapses.indices.astype(np.int64)),
                torch.from_numpy(synapses.weights.copy()),
                size=synapses.shape,
                check_invariants=False,  # validated at construction
            )
    if layout == "coo":
        idx = np.vstack([synapses.pre_indices(), synapses.indices]).astype(np.int64)
        return torch.sparse_coo_tensor(
            torch.from_numpy(idx),
            torch.from_numpy(synapses.weights.copy()),
            size=synapses.shape,
            check_invariants=False,
        ).coalesce()
    raise ValueError(f"layout must be one of 'csr', 'coo'; got {layout!r}")
