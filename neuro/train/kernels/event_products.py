"""Event-driven products of a batch of (spike) inputs with a CSR synaptic matrix (numba).

``x`` is ``[M, I]`` (``M = T * B`` flattened steps and samples), the matrix ``W`` is CSR over
its ``I`` presynaptic rows (``indptr``, ``indices``, ``w``). Each kernel skips the zero
entries of ``x`` (the neurons that did not spike) and touches only the existing synapses of
the others, so the work is ``nnz(x) * mean fan-out`` instead of ``M * I * O``:

* :func:`event_forward`: ``y = x @ W`` (accumulate the rows of the spiking inputs);
* :func:`event_weight_grad`: ``dL/dw[s] = sum_m x[m, pre(s)] g[m, post(s)]`` at the
  existing synapses only;
* :func:`synapse_input_grad`: ``dL/dx = g @ W^T``, which needs every input (also the silent
  ones: the surrogate gradient flows through neurons that did not spike), at ``M * nnz(W)``.

The loops run serially (one thread): accumulation into shared outputs would need atomics,
and the machine this was measured on is shared.
"""

from __future__ import annotations

import numpy as np

from sparse_neuro.neuro.jit import njit

__all__ = ["event_forward", "event_weight_grad", "synapse_input_grad"]


@njit(nogil=True)
def _forward(x, indptr, indices, w, y):  # pragma: no cover - compiled
    M, I = x.shape
    for m in range(M):
        row = x[m]
        out = y[m]
        for i in range(I):
            v = row[i]
            if v != 0:
                for s in range(indptr[i], indptr[i + 1]):
                    out[indices[s]] += v * w[s]


@njit(nogil=True)
def _weight_grad(x, g, indptr, indices, gw):  # pragma: no cover - compiled
    M, I = x.shape
    for m in range(M):
        row = x[m]
        gm = g[m]
        for i in range(I):
            v = row[i]
            if v != 0:
                for s in range(indptr[i], indptr[i + 1]):
                    gw[s] += v * gm[indices[s]]


@njit(nogil=True)
def _input_grad(g, indptr, indices, w, gx):  # pragma: no cover - compiled
    M = g.shape[0]
    I = indptr.size - 1
    for m in range(M):
        gm = g[m]
        for i in range(I):
            acc = 0.0
            for s in range(indptr[i], indptr[i + 1]):
                acc += w[s] * gm[indices[s]]
            gx[m, i] = acc


def event_forward(
    x: np.ndarray, indptr: np.ndarray, indices: np.ndarray, w: np.ndarray, n_out: int
) -> np.ndarray:
    """``x @ W`` touching only the synapses of non-zero inputs.

    Parameters
    ----------
    x : ndarray [M, I], C-contiguous, same float dtype as ``w``
    indptr, indices, w : CSR arrays of ``W`` (``I + 1``, ``nnz``, ``nnz``)
    n_out : int
        ``O``, number of postsynaptic neurons.

    Returns
    -------
    ndarray [M, O]
    """
    y = np.zeros((x.shape[0], n_out), dtype=w.dtype)
    _forward(x, indptr, indices, w, y)
    return y


def event_weight_grad(
    x: np.ndarray, g: np.ndarray, indptr: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """Gradient of the loss w.r.t. each existing synapse, from inputs ``x`` [M, I] and output gradients ``g`` [M, O]."""
    gw = np.zeros(indices.size, dtype=g.dtype)
    _weight_grad(x, g, indptr, indices, gw)
    return gw


def synapse_input_grad(
    g: np.ndarray, indptr: np.ndarray, indices: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """``g @ W^T`` [M, I]: gradient w.r.t. every input, over the existing synapses only."""
    gx = np.empty((g.shape[0], indptr.size - 1), dtype=g.dtype)
    _input_grad(g, indptr, indices, w, gx)
    return gx
