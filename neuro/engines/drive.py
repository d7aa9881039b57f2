"""External drive of a clocked run, generated chunk by chunk: source spikes and current steps.

Shared by every clocked backend so that, for one seed, all of them see the same input
spikes. Poisson trains are drawn with a ``numpy.random.Generator`` (its state can be
checkpointed), one uniform number per source channel and step: channel ``j`` spikes in step
``n`` when ``u < rate_j * dt``.
"""

from __future__ import annotations

import numpy as np

from neuro.engines.plan import FlatNetwork
from neuro.inputs import PoissonSource, SpikeArraySource
from neuro.network import Network

__all__ = ["time_to_step", "InputDrive"]


def time_to_step(t_s: np.ndarray | float, dt_s: float) -> np.ndarray:
    """Step index of a time, as Brian2 bins it: ``floor((t + 1e-3 dt) / dt)``."""
    return np.floor((np.asarray(t_s, dtype=np.float64) + 1e-3 * dt_s) / dt_s).astype(np.int64)


class InputDrive:
    """Source spikes and current-injection events for steps ``[n0, n1)``, in global ids.

    Parameters
    ----------
    network : Network
    flat : FlatNetwork
        The network flattened for the run's ``dt``.
    seed : int or numpy.random.Generator
        Seed of the Poisson sources.
    """

    def __init__(self, network: Network, flat: FlatNetwork, seed: int | np.random.Generator):
        self.rng = np.random.default_rng(seed)
        dt = flat.dt_s
        self._poisson: list[tuple[int, np.ndarray]] = []
        self._poisson_index: dict[str, int] = {}
        self._dt = dt
        fixed_steps, fixed_ids = [], []
        for src in network.sources:
            lo = flat.population_slice(src.name).start
            if isinstance(src, PoissonSource):
                p = src.rate_hz * dt
                if np.any(p > 1.0):
                    raise ValueError(
                        f"PoissonSource {src.name!r}: rate_hz * dt must be <= 1 "
                        f"(max rate {1.0 / dt:g} Hz at dt={dt:g} s), got max {src.rate_hz.max():g} Hz"
                    )
                self._poisson_index[src.name] = len(self._poisson)
                self._poisson.append((lo, p))
            elif isinstance(src, SpikeArraySource):
                steps = time_to_step(src.times_s, dt)
                ids = src.indices.astype(np.int64) + lo
                key = steps * (flat.n_neurons + flat.n_sources) + ids
                if np.unique(key).size != key.size:
                    raise ValueError(
                        f"SpikeArraySource {src.name!r}: a neuron spikes more than once in one "
                        f"step of dt={dt:g} s"
                    )
                fixed_steps.append(steps)
                fixed_ids.append(ids)
        steps = np.concatenate(fixed_steps) if fixed_steps else np.zeros(0, np.int64)
        ids = np.concatenate(fixed_ids) if fixed_ids else np.zeros(0, np.int64)
        order = np.lexsort((ids, steps))
        self._fixed_steps, self._fixed_ids = steps[order], ids[order]

        ev_steps, ev_ids, ev_vals = [], [], []
        for c in network.currents:
            sl = flat.population_slice(c.target)
            gids = np.arange(sl.start, sl.stop)
            amp = np.broadcast_to(c.amplitude, gids.shape)
            ev_steps.append(np.full(gids.size, time_to_step(c.start_s, dt)))
            ev_ids.append(gids)
            ev_vals.append(amp)
            if np.isfinite(c.stop_s):
                ev_steps.append(np.full(gids.size, time_to_step(c.stop_s, dt)))
                ev_ids.append(gids)
                ev_vals.append(-amp)
        s = np.concatenate(ev_steps) if ev_steps else np.zeros(0, np.int64)
        order = np.argsort(s, kind="stable")
        self._ev_steps = s[order]
        self._ev_ids = (np.concatenate(ev_ids) if ev_ids else np.zeros(0, np.int64))[order]
        self._ev_vals = (np.concatenate(ev_vals) if ev_vals else np.zeros(0))[order]

    def set_rates(self, source: str, rate_hz: np.ndarray | float) -> None:
        """Change the rates (Hz, >= 0, scalar or one per channel) of a Poisson source for
        the steps drawn from now on."""
        if source not in self._poisson_index:
            raise ValueError(f"source must be a PoissonSource, one of {sorted(self._poisson_index)}, "
                             f"got {source!r}")
        q = self._poisson_index[source]
        lo, p_old = self._poisson[q]
        p = np.broadcast_to(np.asarray(rate_hz, dtype=np.float64), p_old.shape) * self._dt
        if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1.0):
            raise ValueError(
                f"rate_hz of {source!r} must be finite, >= 0 and <= 1/dt = {1.0 / self._dt:g} Hz"
            )
        self._poisson[q] = (lo, p.copy())

    def spikes(self, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """Source spikes of steps ``[n0, n1)``: ``(ptr, ids)`` with step ``n0 + j``'s ids at
        ``ids[ptr[j]:ptr[j + 1]]``, sorted by id."""
        k = n1 - n0
        parts_s, parts_i = [], []
        a, b = np.searchsorted(self._fixed_steps, [n0, n1])
        parts_s.append(self._fixed_steps[a:b] - n0)
        parts_i.append(self._fixed_ids[a:b])
        for lo, p in self._poisson:
            draws = self.rng.random((k, p.size)) < p
            st, ch = np.nonzero(draws)
            parts_s.append(st.astype(np.int64))
            parts_i.append(ch.astype(np.int64) + lo)
        st = np.concatenate(parts_s)
        ids = np.concatenate(parts_i)
        order = np.lexsort((ids, st))
        ptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(np.bincount(st, minlength=k), out=ptr[1:])
        return ptr, ids[order]

    def current_events(self, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Drive changes of steps ``[n0, n1)`` as ``(ptr, ids, delta)`` (like :meth:`spikes`).

        Events scheduled before ``n0`` that were never applied are applied at ``n0``.
        """
        k = n1 - n0
        a = 0 if n0 == 0 else np.searchsorted(self._ev_steps, n0)
        b = np.searchsorted(self._ev_steps, n1)
        st = np.maximum(self._ev_steps[a:b] - n0, 0)
        ptr = np.zeros(k + 1, dtype=np.int64)
        np.cumsum(np.bincount(st, minlength=k), out=ptr[1:])
        return ptr, self._ev_ids[a:b], self._ev_vals[a:b]
