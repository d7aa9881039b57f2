"""Fits of STDP to measured weight changes.

:func:`fit_window` fits the two-exponential pair window to (interval, change) points (used by
:mod:`sparse_neuro.neuro.bio` to judge rules against data; re-exported by
:mod:`sparse_neuro.learning.stdp`). :func:`fit_stdp` fits the parameters of an engine rule
(:class:`~sparse_neuro.neuro.model.plasticity_rules.STDPRule`: pair or triplet amplitudes, time
constants) to pairing-protocol data by least squares, with standard errors from the Jacobian;
its predictions (:func:`predict_pairing`) apply the rule event by event exactly as the engine
does, so a fitted rule runs on the engines unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit, least_squares

from sparse_neuro.neuro.model.plasticity_rules import STDPRule

__all__ = ["PairingData", "StdpFit", "fit_stdp", "fit_window", "predict_pairing", "FIT_PARAMETERS"]


def _exp_decay(x: np.ndarray, a: float, tau: float) -> np.ndarray:
    return a * np.exp(-x / tau)


def fit_window(dt_s: np.ndarray, dw: np.ndarray) -> dict[str, float]:
    """Fit ``A+ exp(-dt/tau+)`` to the ``dt > 0`` changes and ``-A- exp(dt/tau-)`` to the
    ``dt < 0`` ones (nonlinear least squares).

    Returns
    -------
    dict
        ``a_plus``, ``tau_plus_s``, ``a_minus``, ``tau_minus_s`` (amplitudes as magnitudes).
    """
    dt = np.asarray(dt_s, dtype=np.float64)
    dw = np.asarray(dw, dtype=np.float64)
    pos, neg = dt > 0, dt < 0
    if pos.sum() < 3 or neg.sum() < 3:
        raise ValueError("fit_window needs at least 3 positive and 3 negative intervals")
    (ap, tp), _ = curve_fit(_exp_decay, dt[pos], dw[pos], p0=(dw[pos].max(), 0.02), maxfev=10000)
    (am, tm), _ = curve_fit(_exp_decay, -dt[neg], -dw[neg], p0=(-dw[neg].min(), 0.02), maxfev=10000)
    return {
        "a_plus": float(ap),
        "tau_plus_s": float(tp),
        "a_minus": float(am),
        "tau_minus_s": float(tm),
    }


#: Parameters of :class:`STDPRule` that :func:`fit_stdp` can fit (amplitudes >= 0, time
#: constants in seconds).
FIT_PARAMETERS = (
    "a_plus",
    "a_minus",
    "a3_plus",
    "a3_minus",
    "tau_plus_s",
    "tau_minus_s",
    "tau_x_s",
    "tau_y_s",
)
#: Default bounds: amplitudes >= 0; time constants between 1 ms and 3 s (beyond that a
#: pairing protocol of seconds cannot tell them apart from a constant).
_DEFAULT_BOUNDS = {
    **{k: (0.0, np.inf) for k in FIT_PARAMETERS if not k.startswith("tau")},
    **{k: (1e-3, 3.0) for k in FIT_PARAMETERS if k.startswith("tau")},
}
#: A parameter is "not determined" by the data when its relative standard error exceeds
#: this, or when the normal matrix is this ill-conditioned (a ridge of equally good fits).
MAX_RELATIVE_STDERR = 1.0
MAX_CONDITION = 1e12


@dataclass(frozen=True)
class PairingData:
    """One set of pairing-protocol measurements.

    Protocol ``i`` pairs a presynaptic spike with a postsynaptic one ``n_pairs`` times,
    ``intervals_s[i] = t_post - t_pre`` apart, one pairing every ``periods_s[i]``; ``dw[i]`` is
    the measured relative weight change (the prediction is the change of a weight of 1).

    Parameters
    ----------
    name : str
        Label of the data set (keys of :attr:`StdpFit.r2`).
    intervals_s, periods_s : ndarray
        Spike timing (s, any sign) and time between pairings (s, > 0) of each protocol;
        ``periods_s`` may be a scalar.
    n_pairs : int
        Pairings per protocol, >= 1.
    dw : ndarray
        Measured relative changes.
    sem : ndarray or None
        Standard errors (> 0) of ``dw``; ``None``: unweighted, the uncertainty is scaled by
        the scatter of the residuals.
    """

    name: str
    intervals_s: np.ndarray
    periods_s: np.ndarray
    n_pairs: int
    dw: np.ndarray
    sem: np.ndarray | None = None

    def __post_init__(self) -> None:
        d = np.asarray(self.intervals_s, dtype=np.float64).ravel()
        if d.size == 0 or not np.all(np.isfinite(d)):
            raise ValueError(f"intervals_s must be a non-empty array of finite seconds, got {d!r}")
        per = np.broadcast_to(np.asarray(self.periods_s, dtype=np.float64), d.shape).copy()
        if not np.all(per > np.abs(d)) or not np.all(np.isfinite(per)):
            raise ValueError(
                "periods_s must be finite and longer than |intervals_s| (pairings do not overlap), "
                f"got {per!r}"
            )
        dw = np.asarray(self.dw, dtype=np.float64).ravel()
        if dw.shape != d.shape or not np.all(np.isfinite(dw)):
            raise ValueError(f"dw must hold {d.size} finite values, got {dw!r}")
        if not isinstance(self.n_pairs, (int, np.integer)) or self.n_pairs < 1:
            raise ValueError(f"n_pairs must be an integer >= 1, got {self.n_pairs!r}")
        object.__setattr__(self, "intervals_s", d)
        object.__setattr__(self, "periods_s", per)
        object.__setattr__(self, "dw", dw)
        object.__setattr__(self, "n_pairs", int(self.n_pairs))
        if self.sem is not None:
            sem = np.asarray(self.sem, dtype=np.float64).ravel()
            if sem.shape != d.shape or not np.all(sem > 0) or not np.all(np.isfinite(sem)):
                raise ValueError(f"sem must hold {d.size} finite values > 0, got {sem!r}")
            object.__setattr__(self, "sem", sem)


def _check_predictable(rule: STDPRule) -> None:
    if not isinstance(rule, STDPRule):
        raise TypeError(f"rule must be an STDPRule, got {type(rule).__name__}")
    if rule.reward_modulated:
        raise ValueError(
            "predict_pairing: a reward-modulated rule (tau_eligibility_s set) changes weights "
            "only with a reward; pairing data cannot be predicted without one"
        )
    if rule.mu_plus != 0 or rule.mu_minus != 0:
        raise ValueError(
            "predict_pairing: only the additive rule (mu_plus = mu_minus = 0) is predicted, got "
            f"mu_plus={rule.mu_plus}, mu_minus={rule.mu_minus}"
        )


def predict_pairing(rule: STDPRule, data: PairingData, *, dt_s: float | None = None) -> np.ndarray:
    """Weight change of each protocol of ``data`` under ``rule`` (additive, without bounds).

    The traces are updated event by event in the engine's order (a presynaptic event before
    a postsynaptic one at the same time; the amplitude is applied with the trace values
    before the spike's own jump) with exact exponential decays, vectorised over protocols;
    it equals :func:`sparse_neuro.learning.stdp.reference_weight` synapse by synapse.

    Parameters
    ----------
    dt_s : float or None
        If set, spike times are rounded to steps of this size first (as an engine would
        place them).

    Raises
    ------
    ValueError
        For rules this does not predict (reward-modulated or weight-dependent ones).
    """
    _check_predictable(rule)
    d = data.intervals_s
    k = np.arange(data.n_pairs)
    pre = data.periods_s[:, None] * k[None, :] + np.maximum(-d, 0.0)[:, None]
    post = pre + d[:, None]
    if dt_s is not None:
        pre, post = np.round(pre / dt_s) * dt_s, np.round(post / dt_s) * dt_s
    times = np.concatenate([pre, post], axis=1)
    is_post = np.concatenate([np.zeros(pre.shape, bool), np.ones(post.shape, bool)], axis=1)
    # time order, presynaptic first at equal times
    order = np.lexsort((is_post, times), axis=-1)
    times = np.take_along_axis(times, order, axis=1)
    is_post = np.take_along_axis(is_post, order, axis=1)
    m = d.size
    x1, x2, y1, y2, w = (np.zeros(m) for _ in range(5))
    last = times[:, 0].copy()
    nearest = rule.pairing == "nearest"
    for e in range(times.shape[1]):
        t, post_e = times[:, e], is_post[:, e]
        gap = t - last
        last = t
        x1 *= np.exp(-gap / rule.tau_plus_s)
        x2 *= np.exp(-gap / rule.tau_x_s)
        y1 *= np.exp(-gap / rule.tau_minus_s)
        y2 *= np.exp(-gap / rule.tau_y_s)
        w += np.where(
            post_e,
            x1 * (rule.a_plus + rule.a3_plus * y2),
            -y1 * (rule.a_minus + rule.a3_minus * x2),
        )
        pre_e = ~post_e
        if nearest:
            x1, x2 = np.where(pre_e, 1.0, x1), np.where(pre_e, 1.0, x2)
            y1, y2 = np.where(post_e, 1.0, y1), np.where(post_e, 1.0, y2)
        else:
            x1, x2, y1, y2 = x1 + pre_e, x2 + pre_e, y1 + post_e, y2 + post_e
    return rule.learning_rate * w


@dataclass(frozen=True)
class StdpFit:
    """Result of :func:`fit_stdp`.

    Attributes
    ----------
    rule : STDPRule
        The input rule with the fitted values.
    values, stderr : dict
        Fitted value and standard error (from the Jacobian) of each free parameter.
    correlation : ndarray
        Correlation matrix of the free parameters (order of :attr:`values`).
    determined : dict
        ``False`` for a parameter the data do not determine (relative standard error > 1,
        or the normal matrix singular to 1e12): its value is one point of a ridge.
    condition : float
        Condition number of ``J^T J``.
    bootstrap : dict or None
        16th/50th/84th percentiles of each parameter over the bootstrap refits.
    r2, chi2 : dict
        Per data set: explained variance, and (where SEMs are given) the mean of the squared
        normalised residuals.
    dof : int
        Number of points minus free parameters.
    success : bool
    message : str
    """

    rule: STDPRule
    values: dict[str, float]
    stderr: dict[str, float]
    correlation: np.ndarray
    determined: dict[str, bool]
    condition: float
    bootstrap: dict[str, tuple[float, float, float]] | None
    r2: dict[str, float]
    chi2: dict[str, float]
    dof: int
    success: bool
    message: str

    def table(self, published: Mapping[str, float] | None = None) -> str:
        """One line per free parameter: fit +- sd (or "not determined") beside ``published``."""
        lines = [f"{'parameter':<12} {'fit':>24} {'published':>12}"]
        for name, v in self.values.items():
            fit = f"{v:.4g} +- {self.stderr[name]:.2g}"
            if not self.determined[name]:
                fit = f"({v:.3g}) not determined"
            pub = "" if published is None or name not in published else f"{published[name]:.4g}"
            lines.append(f"{name:<12} {fit:>24} {pub:>12}")
        return "\n".join(lines)


def _as_list(data: PairingData | Sequence[PairingData]) -> list[PairingData]:
    sets = [data] if isinstance(data, PairingData) else list(data)
    if not sets or not all(isinstance(d, PairingData) for d in sets):
        raise TypeError("data must be a PairingData or a non-empty sequence of them")
    return sets


def _least_squares(residuals, starts, lo, hi, scale):
    best = None
    for x0 in starts:
        r = least_squares(residuals, x0, bounds=(lo, hi), x_scale=scale)
        if best is None or r.cost < best.cost:
            best = r
    return best


def fit_stdp(
    rule: STDPRule,
    data: PairingData | Sequence[PairingData],
    free: Sequence[str] = ("a_plus", "tau_plus_s", "a_minus", "tau_minus_s"),
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    n_bootstrap: int = 0,
    seed: int = 0,
) -> StdpFit:
    """Fit the ``free`` parameters of ``rule`` to pairing data by least squares.

    The other parameters keep the values of ``rule``. Residuals are ``(predicted - dw) / sem``
    for data with SEMs and ``predicted - dw`` otherwise; several data sets are fitted jointly
    (a data set without SEMs is then weighted by the scatter of its residuals after a first
    pass). The fit starts from the rule's values and from half and twice them, and keeps
    the best. Standard errors come from ``(J^T J)^-1`` (absolute with SEMs; scaled by the
    residual variance ``SSR / dof`` when there are none).

    Parameters
    ----------
    rule : STDPRule
        Starting values and the fixed parameters (additive, not reward-modulated).
    data : PairingData or sequence of PairingData
    free : sequence of str
        Names from :data:`FIT_PARAMETERS`.
    bounds : mapping, optional
        ``name -> (low, high)`` overriding the defaults (amplitudes >= 0, time constants
        1 ms .. 3 s).
    n_bootstrap : int
        Refits on resampled data (points drawn with replacement without SEMs; ``dw`` drawn
        from ``N(dw, sem)`` with them); 0: none.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    StdpFit
    """
    _check_predictable(rule)
    sets = _as_list(data)
    free = tuple(free)
    bad = [f for f in free if f not in FIT_PARAMETERS]
    if not free or bad or len(set(free)) != len(free):
        raise ValueError(f"free must name distinct parameters of {FIT_PARAMETERS}, got {free!r}")
    n_points = sum(d.dw.size for d in sets)
    if n_points <= len(free):
        raise ValueError(f"{n_points} data points cannot determine {len(free)} free parameters")
    if not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    bnd = dict(_DEFAULT_BOUNDS)
    for name, (low, high) in (bounds or {}).items():
        if name not in free or not low < high:
            raise ValueError(
                f"bounds[{name!r}] must be (low < high) of a free parameter, got {(low, high)!r}"
            )
        bnd[name] = (float(low), float(high))
    lo = np.array([bnd[f][0] for f in free])
    hi = np.array([bnd[f][1] for f in free])
    x_rule = np.array([getattr(rule, f) for f in free], dtype=np.float64)
    # a start at 0 would give x_scale 0: start an absent amplitude small but positive
    x_rule = np.where(x_rule > 0, x_rule, 1e-3)
    scale = x_rule.copy()

    def start(x):
        return np.clip(x, lo + 1e-12 * np.maximum(np.abs(lo), 1.0), hi * (1 - 1e-12))

    starts = [start(x_rule * f) for f in (1.0, 0.5, 2.0)]

    def with_values(x) -> STDPRule:
        return dataclasses.replace(rule, **{f: float(v) for f, v in zip(free, x)})

    def weighted(dsets, weights):
        def residuals(x):
            r = with_values(x)
            return np.concatenate(
                [(predict_pairing(r, d) - d.dw) / w for d, w in zip(dsets, weights)]
            )

        return residuals

    def weights_for(dsets, scales):
        return [d.sem if d.sem is not None else s for d, s in zip(dsets, scales)]

    unweighted = [d.sem is None for d in sets]
    scales = [1.0] * len(sets)
    res = _least_squares(weighted(sets, weights_for(sets, scales)), starts, lo, hi, scale)
    if any(unweighted) and len(sets) > 1:
        # weight each set without SEMs by the scatter of its own residuals, then refit
        rule1 = with_values(res.x)
        scales = [
            float(np.sqrt(np.mean((predict_pairing(rule1, d) - d.dw) ** 2))) or 1.0 for d in sets
        ]
        res = _least_squares(
            weighted(sets, weights_for(sets, scales)), [res.x, *starts], lo, hi, scale
        )
    dof = n_points - len(free)
    jtj = res.jac.T @ res.jac
    cond = float(np.linalg.cond(jtj))
    cov = np.linalg.pinv(jtj)
    if len(sets) == 1 and unweighted[0]:
        cov = cov * (2.0 * res.cost / dof)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    fitted = with_values(res.x)
    values = {f: float(v) for f, v in zip(free, res.x)}
    stderr = {f: float(s) for f, s in zip(free, sd)}
    determined = {
        f: bool(cond < MAX_CONDITION and np.isfinite(s) and s <= MAX_RELATIVE_STDERR * abs(v))
        for f, v, s in zip(free, res.x, sd)
    }
    r2, chi2 = {}, {}
    for d in sets:
        p = predict_pairing(fitted, d)
        r2[d.name] = float(1.0 - np.sum((d.dw - p) ** 2) / np.sum((d.dw - d.dw.mean()) ** 2))
        if d.sem is not None:
            chi2[d.name] = float(np.mean(((p - d.dw) / d.sem) ** 2))
    boot = None
    if n_bootstrap:
        rng = np.random.default_rng(seed)
        samples = np.empty((n_bootstrap, len(free)))
        for b in range(n_bootstrap):
            resampled = [_resample(d, rng) for d in sets]
            rb = least_squares(
                weighted(resampled, weights_for(resampled, scales)),
                start(res.x),
                bounds=(lo, hi),
                x_scale=scale,
            )
            samples[b] = rb.x
        pct = np.percentile(samples, [16, 50, 84], axis=0)
        boot = {
            f: (float(pct[0, i]), float(pct[1, i]), float(pct[2, i])) for i, f in enumerate(free)
        }
    return StdpFit(
        rule=fitted,
        values=values,
        stderr=stderr,
        correlation=corr,
        determined=determined,
        condition=cond,
        bootstrap=boot,
        r2=r2,
        chi2=chi2,
        dof=dof,
        success=bool(res.success),
        message=str(res.message),
    )


def _resample(d: PairingData, rng: np.random.Generator) -> PairingData:
    if d.sem is not None:
        return dataclasses.replace(d, dw=d.dw + rng.normal(size=d.dw.shape) * d.sem)
    idx = rng.integers(0, d.dw.size, d.dw.size)
    return PairingData(d.name, d.intervals_s[idx], d.periods_s[idx], d.n_pairs, d.dw[idx], None)
