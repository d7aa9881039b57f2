"""k-winners-take-all: at most ``k`` of the threshold-crossing neurons spike per step.

Semantics shared by the engines and the torch layers (tested against each other):

* among the neurons that cross threshold in a step (``v > v_threshold``), the ones with
  the largest membrane potential win, at most ``k`` of them;
* ties are broken by the lower neuron index (deterministic);
* with groups, the competition runs independently in each group (e.g. per channel);
* the losers do not spike; whether they are reset or hold their potential is a
  population option (``Population.kwta_losers`` / ``LIF(kwta_losers=...)``).

:func:`kwta_select` is the plain numpy reference that defines the rule; the clock engine
implements the same rule in numba and :func:`kwta_mask_torch` in torch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.train.surrogate import fast_sigmoid

__all__ = ["kwta_select", "kwta_mask_torch", "KWTA"]


def _group_labels(groups: int | np.ndarray | None, n: int) -> np.ndarray:
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    if np.ndim(groups) == 0:
        g = int(groups)
        if g < 1 or n % g:
            raise ValueError(
                f"groups must be an integer >= 1 dividing the layer size {n}, got {groups}"
            )
        return np.repeat(np.arange(g), n // g)
    lab = np.asarray(groups)
    if lab.shape != (n,) or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"groups must be None, an int, or an integer label array of shape ({n},)")
    return lab.astype(np.int64)


def kwta_select(
    v: np.ndarray,
    crossed: np.ndarray,
    k: int,
    groups: int | np.ndarray | None = None,
) -> np.ndarray:
    """Reference k-WTA selection: which of the crossing neurons spike.

    Parameters
    ----------
    v : ndarray, shape (N,) or (B, N)
        Membrane potentials.
    crossed : ndarray of bool, same shape
        Neurons that crossed threshold this step.
    k : int
        Maximum number of winners per group, >= 0.
    groups : None, int or ndarray of int, shape (N,)
        ``None``: one group (the whole layer); an int ``g``: ``g`` equal contiguous
        groups (e.g. channels of a channel-major layout); an array: a group label per neuron.

    Returns
    -------
    ndarray of bool, same shape as ``v``
        Winners: ``crossed`` neurons ranked by ``v`` descending, ties by lower index,
        the first ``k`` of each group.

    Examples
    --------
    >>> kwta_select(np.array([0.5, 2.0, 2.0, 1.5]), np.array([True, True, True, True]), 2)
    array([False,  True,  True, False])
    """
    v = np.asarray(v, dtype=np.float64)
    crossed = np.asarray(crossed, dtype=bool)
    if v.shape != crossed.shape or v.ndim not in (1, 2):
        raise ValueError(
            f"v and crossed must have the same shape (N,) or (B, N), got {v.shape} and {crossed.shape}"
        )
    if int(k) != k or k < 0:
        raise ValueError(f"k must be an integer >= 0, got {k!r}")
    rows_v = v.reshape(-1, v.shape[-1])
    rows_c = crossed.reshape(rows_v.shape)
    n = rows_v.shape[1]
    labels = _group_labels(groups, n)
    out = np.zeros(rows_v.shape, dtype=bool)
    idx = np.arange(n)
    for b in range(rows_v.shape[0]):
        for g in np.unique(labels):
            members = idx[(labels == g) & rows_c[b]]
            # lexsort: last key is primary -> v descending, then index ascending
            order = members[np.lexsort((members, -rows_v[b, members]))]
            out[b, order[:k]] = True
    return out.reshape(v.shape)


def kwta_mask_torch(
    v: torch.Tensor, crossed: torch.Tensor, k: int, groups: int | None = None
) -> torch.Tensor:
    """Torch version of :func:`kwta_select` over the last dimension (no gradient).

    ``groups`` is ``None`` or a number of equal contiguous groups.
    """
    shape = v.shape
    n = shape[-1]
    g = 1 if groups is None else int(groups)
    vv = v.detach().reshape(-1, g, n // g)
    cc = crossed.reshape(vv.shape)
    if k == 0:
        return torch.zeros(shape, dtype=torch.bool, device=v.device)
    if k >= n // g:
        return crossed.clone()
    score = torch.where(cc, vv, torch.full_like(vv, -torch.inf))
    # stable descending sort keeps the lower index first among equal potentials
    order = torch.sort(score, dim=-1, descending=True, stable=True).indices[..., :k]
    win = torch.zeros_like(cc)
    win.scatter_(-1, order, True)
    return (win & cc).reshape(shape)


class KWTA(nn.Module):
    """Stateless k-WTA spike layer: spikes of the ``k`` largest crossing potentials.

    ``forward(v) -> spikes``: ``spikes = winners * spike_fn(v - threshold)``, so the
    forward value is the k-WTA spike mask and the surrogate gradient flows through the
    winners only. For k-WTA inside LIF dynamics (winners reset, losers hold or reset) use
    ``sparse_neuro.neuro.train.lif_layer.LIF(kwta_k=...)``.

    Parameters
    ----------
    k : int
        Winners per group, >= 0.
    threshold : float
    spike_fn : SurrogateSpike, optional
        Default ``sparse_neuro.neuro.train.surrogate.fast_sigmoid(25)``.
    groups : int, optional
        Number of equal contiguous groups (per-channel competition).
    """

    def __init__(
        self, k: int, threshold: float = 1.0, spike_fn=None, groups: int | None = None
    ) -> None:
        super().__init__()
        if int(k) != k or k < 0:
            raise ValueError(f"k must be an integer >= 0, got {k!r}")
        if groups is not None and (int(groups) != groups or groups < 1):
            raise ValueError(f"groups must be an integer >= 1, got {groups!r}")
        self.k, self.threshold, self.groups = int(k), float(threshold), groups
        self.spike_fn = spike_fn if spike_fn is not None else fast_sigmoid(25.0)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        if self.groups is not None and v.shape[-1] % self.groups:
            raise ValueError(
                f"last dimension {v.shape[-1]} must be divisible by groups={self.groups}"
            )
        s = self.spike_fn(v - self.threshold)
        win = kwta_mask_torch(v, s > 0, self.k, self.groups)
        return s * win.to(s.dtype)

    def extra_repr(self) -> str:
        return f"k={self.k}, threshold={self.threshold}, groups={self.groups}"
