"""Sparse inference: codes ``a`` for signals ``x`` under a dictionary ``D`` (ISTA, FISTA, LCA).

All solvers work on a batch at once and minimise, for each row ``x`` of ``X``,

.. math:: E(a) = \\tfrac12 \\lVert x - D a \\rVert_2^2 + \\lambda \\lVert a \\rVert_1

(``D`` has shape ``(n_features, n_atoms)``, atoms in columns). ISTA and FISTA (Beck &
Teboulle 2009) are proximal-gradient methods with step ``1/L``, ``L`` the largest eigenvalue
of the Gram matrix ``G = D^T D``. The LCA (Rozell et al. 2008) integrates

.. math:: \\tau \\dot u = D^T x - u - (G - I) a, \\qquad a = T_\\lambda(u)

with the soft threshold ``T(u) = sign(u) max(|u| - lambda, 0)`` (its fixed points minimise
``E``) or the hard threshold ``T(u) = u [|u| > lambda]`` (an approximate L0 penalty).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> D = rng.normal(size=(20, 40)); D /= np.linalg.norm(D, axis=0)
>>> X = rng.normal(size=(5, 20))
>>> res = fista(D, X, lam=0.5)
>>> res.codes.shape
(5, 40)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["InferenceResult", "fista", "ista", "l1_objective", "lca", "soft_threshold"]


@dataclass(frozen=True, eq=False)
class InferenceResult:
    """Output of a sparse-inference solver.

    Attributes
    ----------
    codes : ndarray, shape (n_samples, n_atoms)
    n_iter : int
        Iterations (time steps for the LCA) performed.
    converged : bool
        Whether the stopping tolerance was met before ``max_iter``.
    objective_trace : ndarray, shape (n_recorded,)
        Mean objective over the batch after each iteration when ``trace=True``, else empty.
    """

    codes: np.ndarray
    n_iter: int
    converged: bool
    objective_trace: np.ndarray


def _check(D: np.ndarray, X: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    D = np.asarray(D)
    X = np.asarray(X)
    if D.ndim != 2:
        raise ValueError(f"D must be 2-D (n_features, n_atoms), got shape {D.shape}")
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != D.shape[0]:
        raise ValueError(f"X must have shape (n_samples, {D.shape[0]}) to match D, got {X.shape}")
    if not (isinstance(lam, (int, float, np.floating)) and math.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be a finite number > 0, got {lam!r}")
    if not np.all(np.isfinite(D)):
        raise ValueError("D must be finite (found NaN/inf)")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite (found NaN/inf)")
    dtype = np.result_type(D.dtype, X.dtype, np.float32)
    return D.astype(dtype, copy=False), X.astype(dtype, copy=False)


def _check_iter(max_iter: int, tol: float) -> None:
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be >= 0, got {tol!r}")


def l1_objective(D: np.ndarray, X: np.ndarray, A: np.ndarray, lam: float) -> np.ndarray:
    """Per-sample objective ``0.5 ||x - D a||^2 + lam ||a||_1``, shape (n_samples,)."""
    X2 = np.atleast_2d(X)
    A2 = np.atleast_2d(A)
    R = X2 - A2 @ D.T
    return 0.5 * np.einsum("ij,ij->i", R, R) + lam * np.abs(A2).sum(axis=1)


def soft_threshold(u: np.ndarray, lam: float) -> np.ndarray:
    """``sign(u) max(|u| - lam, 0)``, the proximal operator of ``lam |.|``."""
    return np.sign(u) * np.maximum(np.abs(u) - lam, 0.0)


def _lipschitz(G: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(G.astype(np.float64))[-1])


def _rel_change(new: np.ndarray, old: np.ndarray) -> float:
    scale = max(float(np.abs(new).max(initial=0.0)), 1e-12)
    return float(np.abs(new - old).max(initial=0.0)) / scale


def ista(
    D: np.ndarray,
    X: np.ndarray,
    lam: float,
    max_iter: int = 500,
    tol: float = 1e-4,
    A0: np.ndarray | None = None,
    trace: bool = False,
) -> InferenceResult:
    """Iterative shrinkage-thresholding: ``a <- T_{lam/L}(a - (G a - D^T x) / L)``.

    Parameters
    ----------
    D : ndarray, shape (n_features, n_atoms)
    X : ndarray, shape (n_samples, n_features)
    lam : float
        L1 weight, > 0.
    max_iter : int
    tol : float
        Stop when the largest change of a code, relative to the largest code, is below it.
    A0 : ndarray, shape (n_samples, n_atoms), optional
        Warm start (zeros by default).
    trace : bool
        Record the mean objective after every iteration (it decreases monotonically).
    """
    return _proximal(D, X, lam, max_iter, tol, A0, trace, accelerate=False)


def fista(
    D: np.ndarray,
    X: np.ndarray,
    lam: float,
    max_iter: int = 500,
    tol: float = 1e-4,
    A0: np.ndarray | None = None,
    trace: bool = False,
) -> InferenceResult:
    """FISTA (ISTA with Nesterov momentum, ``O(1/k^2)`` convergence); arguments as :func:`ista`."""
    return _proximal(D, X, lam, max_iter, tol, A0, trace, accelerate=True)


def _proximal(D, X, lam, max_iter, tol, A0, trace, accelerate) -> InferenceResult:
    D, X = _check(D, X, lam)
    _check_iter(max_iter, tol)
    G = D.T @ D
    B = X @ D
    L = _lipschitz(G)
    if not L > 0:
        raise ValueError("D is all zeros")
    A = np.zeros_like(B) if A0 is None else np.array(A0, dtype=B.dtype).reshape(B.shape)
    Y = A.copy()
    t = 1.0
    step = 1.0 / L
    hist = []
    converged = False
    n = 0
    for n in range(1, max_iter + 1):  # noqa: B007 (n is the iteration count after the loop)
        Z = Y - step * (Y @ G - B)
        A_new = soft_threshold(Z, lam * step)
        if accelerate:
            t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
            Y = A_new + ((t - 1.0) / t_new) * (A_new - A)
            t = t_new
        else:
            Y = A_new
        change = _rel_change(A_new, A)
        A = A_new
        if trace:
            hist.append(float(l1_objective(D, X, A, lam).mean()))
        if change < tol:
            converged = True
            break
    return InferenceResult(A, n, converged, np.asarray(hist))


def lca(
    D: np.ndarray,
    X: np.ndarray,
    lam: float,
    threshold: str = "soft",
    dt_over_tau: float = 0.1,
    max_iter: int = 1000,
    tol: float = 1e-5,
    nonnegative: bool = False,
    trace: bool = False,
) -> InferenceResult:
    """Locally competitive algorithm (Rozell et al. 2008), Euler-integrated.

    Parameters
    ----------
    D, X, lam
        As in :func:`ista`.
    threshold : {"soft", "hard"}
        ``"soft"`` converges to the L1 minimiser; ``"hard"`` gives sparser codes for an
        approximate L0 cost ``lam^2/2 * ||a||_0``.
    dt_over_tau : float
        Euler step in units of the LCA time constant, in (0, 1]; capped at ``1 / L``
        (``L`` the largest eigenvalue of ``G``) so that the Euler scheme stays stable
        for coherent dictionaries.
    max_iter : int
        Maximum number of steps.
    tol : float
        Stop when the largest change of the internal state ``u`` per step, relative to
        its largest value, is below ``tol * dt_over_tau``.
    nonnegative : bool
        Rectify the threshold (``a >= 0``), as rate-coded (spiking) neurons must.
    trace : bool
        Record the mean L1 objective after each step.
    """
    D, X = _check(D, X, lam)
    _check_iter(max_iter, tol)
    if threshold not in ("soft", "hard"):
        raise ValueError(f"threshold must be 'soft' or 'hard', got {threshold!r}")
    if not (0 < dt_over_tau <= 1):
        raise ValueError(f"dt_over_tau must be in (0, 1], got {dt_over_tau!r}")
    G = D.T @ D
    dt_over_tau = min(dt_over_tau, 1.0 / max(_lipschitz(G), 1e-12))
    np.fill_diagonal(G, 0.0)  # competition excludes self-inhibition: (G - I) for unit atoms
    B = X @ D
    U = np.zeros_like(B)
    A = U
    hist = []
    converged = False
    n = 0
    for n in range(1, max_iter + 1):  # noqa: B007 (n is the iteration count after the loop)
        if threshold == "soft":
            A = np.maximum(U - lam, 0.0) if nonnegative else soft_threshold(U, lam)
        else:
            A = U * ((U > lam) if nonnegative else (np.abs(U) > lam))
        dU = dt_over_tau * (B - U - A @ G - A * (np.einsum("ij,ij->j", D, D) - 1.0))
        U = U + dU
        if trace:
            hist.append(float(l1_objective(D, X, A, lam).mean()))
        if _rel_change(U, U - dU) < tol * dt_over_tau:
            converged = True
            break
    if threshold == "soft":
        A = np.maximum(U - lam, 0.0) if nonnegative else soft_threshold(U, lam)
    else:
        A = U * ((U > lam) if nonnegative else (np.abs(U) > lam))
    return InferenceResult(A, n, converged, np.asarray(hist))
