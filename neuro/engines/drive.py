"""External drive of a clocked run, generated block by block: source spikes and current steps.

Shared by every clocked backend so that, for one seed, all of them see the same input
spikes. A Poisson channel with spike probability ``p = rate * dt`` per step is a Bernoulli
process, so the gap to its next spike is geometric:

.. math:: G = 1 + \\left\\lfloor \\frac{\\ln(1 - u)}{\\ln(1 - p)} \\right\\rfloor, \\qquad
          P(G = g) = (1 - p)^{g - 1} p

Each channel keeps the step of its next spike and a draw counter ``k``; draw ``k`` of channel
``j`` of source group ``s`` is ``uniform(seed, stream_id(0, s), k, j)``
(:mod:`sparse_neuro.neuro.engines.rng`). The work and memory follow the spikes (one draw per spike,
a few numbers per channel), not ``steps x channels``; and since each channel's sequence of draws
depends on nothing else, the spikes do not depend on block length, on how a run is split into
calls, or on the backend.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sparse_neuro.neuro.engines.rng import stream_id, uniform
from sparse_neuro.neuro.engines.state_check import (
    check_in_range,
    check_keys,
    check_step,
    state_array,
)
from sparse_neuro.neuro.jit import njit
from sparse_neuro.neuro.model.inputs import PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.network import Network
from sparse_neuro.neuro.model.validation import broadcast, real_array

__all__ = ["time_to_step", "InputDrive"]

_NEVER = np.int64(2**62)  # "no next spike" (rate 0); far beyond any run


def time_to_step(t_s: np.ndarray | float, dt_s: float) -> np.ndarray:
    """Step index of a time, as Brian2 bins it: ``floor((t + 1e-3 dt) / dt)``."""
    return np.floor((np.asarray(t_s, dtype=np.float64) + 1e-3 * dt_s) / dt_s).astype(np.int64)


def _inverse_log_q(p: np.ndarray) -> np.ndarray:
    """``1 / ln(1 - p)`` per channel (``-0.0`` for ``p = 1``, ``+inf`` for ``p = 0``: never)."""
    with np.errstate(divide="ignore"):
        return np.where(p > 0, 1.0 / np.log1p(-p), np.inf)


class _Channels(NamedTuple):
    """The drive's input channels (constant): the Poisson source of each channel; per
    source its first channel, first global id and random stream; the spikes of the
    ``SpikeArraySource`` s (steps and global ids, sorted)."""

    src: np.ndarray
    src_chan0: np.ndarray
    src_gid0: np.ndarray
    src_stream: np.ndarray
    fixed_steps: np.ndarray
    fixed_ids: np.ndarray


class _Draws(NamedTuple):
    """Per Poisson channel: ``1 / ln(1 - p)``, the step of its next spike, its draw count."""

    inv: np.ndarray
    next_step: np.ndarray
    count: np.ndarray


class _Buckets(NamedTuple):
    """Scratch of :func:`_emit`: per window step the first linked channel and the count,
    per channel the next linked one."""

    head: np.ndarray
    link: np.ndarray
    size: np.ndarray


@njit(nogil=True, inline="always")
def _gap(seed, stream, k, j, inv_log_q):
    """Geometric gap (>= 1 steps) to the next spike of a channel, from its ``1 / ln(1 - p)``
    (``log``, not ``log1p``, of ``1 - u``: several times faster, and ``u`` has 53 bits only)."""
    if inv_log_q > 0.0:
        return _NEVER
    x = np.floor(np.log(1.0 - uniform(seed, stream, k, j)) * inv_log_q)
    return np.int64(1) + np.int64(x) if x < 1e18 else _NEVER


@njit(nogil=True)
def _redraw(seed, n, chans, ch, dr):
    """Memoryless restart at step ``n``: each channel in ``chans`` gets a fresh next spike
    (``ch`` a :class:`_Channels`, ``dr`` the :class:`_Draws`)."""
    chan_src, src_chan0, src_stream = ch.src, ch.src_chan0, ch.src_stream
    inv, next_step, count = dr.inv, dr.next_step, dr.count
    for c in chans:
        s = chan_src[c]
        next_step[c] = n - 1 + _gap(seed, src_stream[s], count[c], c - src_chan0[s], inv[c])
        count[c] += 1


@njit(nogil=True)
def _emit(seed, n0, n1, ch, dr, bu, out):
    """Write the spike ids of steps ``n0, n0 + 1, ...`` into ``out`` while they fit.

    Channels whose next spike falls in ``[n0, n1)`` are linked into per-step buckets
    (``head``/``link``, reset here); after a step is emitted its channels draw their next
    spike and are relinked if it is still inside the window. Returns ``(m, n_ids)``: steps
    ``[n0, n0 + m)`` are complete and ``size[j]`` holds the number of ids of step ``n0 + j``;
    channels of later steps keep their drawn next spike, so the next call resumes exactly.
    ``m == 0`` means the first step alone exceeds ``out`` (its count is left in ``size[0]``).
    ``ch``, ``dr``, ``bu``: the :class:`_Channels`, :class:`_Draws` and :class:`_Buckets`.
    """
    chan_src, src_chan0, src_gid0, src_stream = ch.src, ch.src_chan0, ch.src_gid0, ch.src_stream
    fixed_steps, fixed_ids = ch.fixed_steps, ch.fixed_ids
    inv, next_step, count = dr.inv, dr.next_step, dr.count
    head, link, size = bu.head, bu.link, bu.size
    w = n1 - n0
    head[:w] = -1
    size[:w] = 0
    for c in range(next_step.shape[0]):
        st = next_step[c]
        if st < n1:
            j = st - n0
            link[c] = head[j]
            head[j] = c
            size[j] += 1
    f = np.searchsorted(fixed_steps, n0)
    n_ids = 0
    for j in range(w):
        f_end = np.searchsorted(fixed_steps, n0 + j + 1)
        k = size[j] + (f_end - f)
        if n_ids + k > out.shape[0]:
            size[j] = k  # tells the caller how much one step needs
            return j, n_ids
        start = n_ids
        for q in range(f, f_end):
            out[n_ids] = fixed_ids[q]
            n_ids += 1
        f = f_end
        c = head[j]
        while c >= 0:
            nxt = link[c]
            s = chan_src[c]
            local = c - src_chan0[s]
            out[n_ids] = src_gid0[s] + local
            n_ids += 1
            st = n0 + j + _gap(seed, src_stream[s], count[c], local, inv[c])
            count[c] += 1
            next_step[c] = st
            if st < n1:
                jj = st - n0
                link[c] = head[jj]
                head[jj] = c
                size[jj] += 1
            c = nxt
        out[start:n_ids].sort()
        size[j] = k
    return w, n_ids


class InputDrive:
    """Source spikes and current-injection events of a clocked run, in global ids.

    Global ids: every population's neurons first, then every source's channels
    (:meth:`sparse_neuro.neuro.model.network.Network.id_range`).

    Parameters
    ----------
    network : Network
    dt_s : float
        Step of the run in seconds, > 0.
    seed : int
        Seed of the Poisson sources, >= 0.
    max_block_spikes : int
        Bound on the spike ids one :meth:`spikes` call returns (memory bound), >= 1; a call
        returns fewer steps than asked rather than more ids (a single step that has more
        spikes is returned alone).

    Examples
    --------
    >>> drive = InputDrive(net, 1e-4, seed=0)          # doctest: +SKIP
    >>> ptr, ids = drive.spikes(0, 10_000)             # steps [0, len(ptr) - 1)
    """

    def __init__(
        self, network: Network, dt_s: float, seed: int = 0, *, max_block_spikes: int = 1 << 20
    ):
        dt = float(dt_s)
        if not (np.isfinite(dt) and dt > 0):
            raise ValueError(f"dt_s must be a finite number > 0, got {dt_s!r}")
        if isinstance(seed, (bool, np.bool_)) or int(seed) != seed or not 0 <= int(seed) < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
        if int(max_block_spikes) < 1:
            raise ValueError(f"max_block_spikes must be >= 1, got {max_block_spikes!r}")
        self.dt_s, self.seed = dt, int(seed)
        self._cap = int(max_block_spikes)
        poisson = [(g, s) for g, s in enumerate(network.sources) if isinstance(s, PoissonSource)]
        self._slices: dict[str, slice] = {}
        chan0 = 0
        for _, src in poisson:
            self._slices[src.name] = slice(chan0, chan0 + src.size)
            chan0 += src.size
        n_chan = chan0
        self._chan_src = np.repeat(
            np.arange(len(poisson), dtype=np.int32), [s.size for _, s in poisson]
        ).astype(np.int32)
        self._src_chan0 = np.array([self._slices[s.name].start for _, s in poisson], np.int64)
        self._src_gid0 = np.array([network.id_range(s.name).start for _, s in poisson], np.int64)
        self._src_stream = np.array([stream_id(0, g) for g, _ in poisson], np.int64)
        self._inv = np.empty(n_chan)  # 1 / ln(1 - rate dt) of each channel
        for _, src in poisson:
            self._inv[self._slices[src.name]] = _inverse_log_q(
                self._probabilities(src.name, src.rate_hz)
            )
        self._next = np.empty(n_chan, np.int64)
        self._count = np.empty(n_chan, np.int64)
        self._link = np.empty(n_chan, np.int32)
        self._ch = _Channels(
            self._chan_src,
            self._src_chan0,
            self._src_gid0,
            self._src_stream,
            *self._spike_arrays(network, dt),
        )
        self._draws = _Draws(self._inv, self._next, self._count)
        self._ev_steps, self._ev_ids, self._ev_vals = self._current_steps(network, dt)
        self._out = np.empty(0, np.int64)
        self._head = self._size = np.empty(0, np.int64)
        self.reset()

    # ------------------------------------------------------------------ setup
    def _probabilities(self, name: str, rate_hz: np.ndarray | float) -> np.ndarray:
        n = self._slices[name].stop - self._slices[name].start
        what = f"PoissonSource {name!r}: rate_hz"
        p = broadcast(what, real_array(what, rate_hz), n) * self.dt_s
        if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1.0):
            raise ValueError(
                f"PoissonSource {name!r}: rate_hz * dt must be in [0, 1] (rates finite, "
                f">= 0 and <= 1/dt = {1.0 / self.dt_s:g} Hz at dt={self.dt_s:g} s), "
                f"got max {np.max(p) / self.dt_s:g} Hz"
            )
        return p

    @staticmethod
    def _spike_arrays(network: Network, dt: float) -> tuple[np.ndarray, np.ndarray]:
        steps, ids = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for src in network.sources:
            if not isinstance(src, SpikeArraySource):
                continue
            st = time_to_step(src.times_s, dt)
            key = st * src.size + src.indices
            if np.unique(key).size != key.size:
                raise ValueError(
                    f"SpikeArraySource {src.name!r}: a neuron spikes more than once in one "
                    f"step of dt={dt:g} s"
                )
            steps.append(st)
            ids.append(src.indices.astype(np.int64) + network.id_range(src.name).start)
        st, i = np.concatenate(steps), np.concatenate(ids)
        order = np.lexsort((i, st))
        return st[order], i[order]

    @staticmethod
    def _current_steps(network: Network, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps, ids, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
        for c in network.currents:
            r = network.id_range(c.target)
            gids = np.arange(r.start, r.stop, dtype=np.int64)
            amp = broadcast(f"current into {c.target!r}: amplitude", c.amplitude, gids.size)
            steps.append(np.full(gids.size, time_to_step(c.start_s, dt)))
            ids.append(gids)
            vals.append(amp)
            if np.isfinite(c.stop_s):
                steps.append(np.full(gids.size, time_to_step(c.stop_s, dt)))
                ids.append(gids)
                vals.append(-amp)
        s = np.concatenate(steps)
        order = np.argsort(s, kind="stable")
        return s[order], np.concatenate(ids)[order], np.concatenate(vals)[order]

    # ------------------------------------------------------------------ state
    @property
    def step(self) -> int:
        """The next step :meth:`spikes` will emit."""
        return self._step

    def reset(self) -> None:
        """Back to step 0 with the same seed (the same spikes again)."""
        self._step = 0
        self._count[:] = 0
        _redraw(self.seed, 0, np.arange(self._inv.size), self._ch, self._draws)

    def state_dict(self) -> dict[str, object]:
        """Everything needed to resume the drive: step, rates, next spikes, draw counters."""
        return {
            "step": self._step,
            "inv_log_q": self._inv.copy(),
            "next": self._next.copy(),
            "count": self._count.copy(),
        }

    def load_state_dict(self, d: dict[str, object], step: int | None = None) -> None:
        """Restore a :meth:`state_dict` of a drive of the same network and dt.

        Every value is checked before any is used (the compiled emitter indexes by
        ``next - step``): ``step`` in ``[0, MAX_STEP]`` (and equal to ``step`` if given: the
        simulator's), ``inv_log_q`` of a rate in ``[0, 1/dt]`` (``<= 0``, or ``+inf`` for
        rate 0), ``next >= step``, ``count >= 0``. A ValueError names the key; the drive
        keeps its state.
        """
        d = check_keys(d, {"step", "inv_log_q", "next", "count"}, "input drive state")
        n = check_step("inputs.step", d["step"])
        if step is not None and n != step:
            raise ValueError(f"state 'inputs.step' = {n} must equal the simulator's step {step}")
        new = {
            k: state_array(f"inputs.{k}", d[k], arr, allow_inf=True)
            for k, arr in (("inv_log_q", self._inv), ("next", self._next), ("count", self._count))
        }
        inv = new["inv_log_q"]
        bad = ~((inv <= 0) | (inv == np.inf))
        if np.any(bad):
            raise ValueError(
                f"state 'inputs.inv_log_q' = {inv[bad][0].item()!r} is outside "
                "the valid range [-inf, 0] or +inf (1 / ln(1 - rate dt) of a rate "
                "in [0, 1/dt])"
            )
        check_in_range("inputs.next", new["next"], n, np.iinfo(np.int64).max)
        check_in_range("inputs.count", new["count"], 0, np.iinfo(np.int64).max)
        self._inv[...], self._next[...] = new["inv_log_q"], new["next"]
        self._count[...] = new["count"]
        self._step = n

    def set_rates(self, source: str, rate_hz: np.ndarray | float) -> None:
        """Change the rates (Hz, >= 0, scalar or one per channel) of a Poisson source from
        step :attr:`step` on (each channel's next spike is redrawn: a Poisson process is
        memoryless, and the draw counter keeps it deterministic)."""
        if source not in self._slices:
            raise ValueError(
                f"source must be a PoissonSource, one of {sorted(self._slices)}, got {source!r}"
            )
        sl = self._slices[source]
        self._inv[sl] = _inverse_log_q(self._probabilities(source, rate_hz))
        _redraw(self.seed, self._step, np.arange(sl.start, sl.stop), self._ch, self._draws)

    # ------------------------------------------------------------------ blocks
    def spikes(self, n0: int, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """Source spikes of steps ``[n0, n0 + m)``, ``1 <= m <= n1 - n0``.

        Parameters
        ----------
        n0, n1 : int
            ``n0`` must be :attr:`step` (blocks are drawn in order); ``n1 > n0``.

        Returns
        -------
        ptr : ndarray of int64, shape (m + 1,)
            Step ``n0 + j``'s ids are ``ids[ptr[j]:ptr[j + 1]]``; ``m`` is chosen so that
            at most ``max_block_spikes`` ids are returned (or one step, if it has more).
        ids : ndarray of int64
            Global presynaptic ids, ascending within a step.
        """
        if n0 != self._step:
            raise ValueError(f"spikes must continue at step {self._step}, got n0={n0}")
        if n1 <= n0:
            raise ValueError(f"need n1 > n0, got [{n0}, {n1})")
        w = n1 - n0
        if self._head.size < w:
            self._head = np.empty(w, np.int64)
            self._size = np.empty(w, np.int64)
        if self._out.size == 0:
            self._out = np.empty(self._cap, np.int64)  # untouched pages cost no memory
        m, n_ids = self._emit(n0, n1, self._out)
        out = self._out
        if m == 0:  # one step has more spikes than the cap: return it alone
            out = np.empty(int(self._size[0]), np.int64)
            m, n_ids = self._emit(n0, n0 + 1, out)
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(self._size[:m], out=ptr[1:])
        self._step = n0 + m
        return ptr, out[:n_ids].copy()

    def _emit(self, n0: int, n1: int, out: np.ndarray) -> tuple[int, int]:
        return _emit(
            self.seed,
            n0,
            n1,
            self._ch,
            self._draws,
            _Buckets(self._head, self._link, self._size),
            out,
        )

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
