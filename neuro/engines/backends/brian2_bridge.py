"""Run a :class:`sparse_neuro.neuro.model.network.Network` in Brian2: identical connectivity and
initial state.

Each population becomes a ``NeuronGroup`` (dimensionless ``v`` and channel currents, time
constants in seconds) integrated with ``method='exact'``:

.. math::

    \\frac{dv}{dt} = \\frac{v_{rest} + b + I_{ext} + \\sum_k I_k - v}{\\tau_m}
    \\quad (\\text{unless refractory}), \\qquad
    \\frac{dI_k}{dt} = -\\frac{I_k}{\\tau_k}

threshold ``v > v_threshold``, reset ``v = v_reset`` (``reset_mode="value"``) or
``v -= v_threshold - v_reset`` (``"subtract"``), refractory period ``t_ref_s`` (none when it
is shorter than one step, as in the clock engine).
Each projection becomes a ``Synapses`` object connected with the projection's own
``(pre, post)`` pairs, weights and per-synapse delays (``delays * dt``); an arriving spike
does ``I_k += w`` on the projection's receptor channel, or, for targets with delta
synapses, ``v += w`` unless the target is refractory (Brian2 marks a neuron refractory in
the thresholds slot, before the synapses slot, exactly as the clock engine discards delta
inputs to neurons that spiked in the same step). ``PoissonSource`` becomes a
``PoissonGroup`` (own random stream: agreement is statistical), ``SpikeArraySource`` a
``SpikeGeneratorGroup`` (Brian2 bins ``t`` into step ``floor((t + 1e-3 dt) / dt)``, like
:func:`sparse_neuro.neuro.engines.drive.time_to_step`), ``CurrentInjection`` an ``I_ext`` term set
at the start of each step, monitors ``SpikeMonitor`` / ``StateMonitor`` /
``PopulationRateMonitor``.

Conductance-based populations (``LIFParams.e_rev``, :mod:`sparse_neuro.neuro.engines.coba`) keep the
channel variables ``I_k`` (now conductances in leak units; a spike still does ``I_k += w``) and
enter the membrane equation as ``I_k m_k (E_k - v)`` with ``m_k = tau_k (1 - e^{-dt/tau_k})
/ dt``. They are integrated with ``method='exponential_euler'``, which holds ``I_k`` at its
start-of-step value and solves the then linear ``v`` equation exactly, and decays ``I_k``
exactly: with the factor ``m_k`` this is the clock engine's scheme (step-mean conductance,
exact membrane step), the same arithmetic up to rounding.

Parameters are written into the equations as numbers, so Brian2's exact solver sees the
actual system (with symbols it divides by ``tau_mem - tau_syn``, NaN when they are equal).
Brian2 also returns NaN for ``(unless refractory)`` with ``tau_syn == tau_mem`` (it solves
symbolically in ``not_refractory``); there ``v`` is integrated freely and restored to its
post-reset value after every refractory step, which gives the same trajectory. With these
rules the bridge and the clock engine produce identical spike trains (same indices, same
steps) where the arithmetic is the same; membrane potentials differ by float rounding
(~1e-12), as the two evaluate the same closed form in a different order.

Nothing touches Brian2's magic network or ``defaultclock``: every object gets ``dt`` and an
explicit namespace, and :class:`Brian2Model` owns its own ``brian2.Network``. Object names
are fixed (population and source names, ``"<src>__to__<tgt>__<k>"``, ``"<pop>__spikes"``,
...), never Brian2's ``name*`` counters, so the generated code of the same network is the
same every time and the Cython target reuses its compiled cache. The code
generation target (``"numpy"``: no compilation; ``"cython"``: compiled, faster for long
runs) and float64 are set in ``brian2.prefs`` only while the model is built or run.

Examples
--------
>>> from sparse_neuro.neuro import LIFParams, Network, Population, SpikeMonitor
>>> net = Network([Population("p", 1, LIFParams(tau_mem_s=10e-3, bias=1.5))],
...               monitors=[SpikeMonitor("p")])
>>> rec = to_brian2(net, dt_s=1e-4).run(0.05)          # doctest: +SKIP
>>> rec.spikes["p"].n_spikes                            # doctest: +SKIP
4
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sparse_neuro.neuro.engines.backends.brian2_state import check_brian2_state
from sparse_neuro.neuro.engines.capabilities import check_supported
from sparse_neuro.neuro.engines.coba import coba_factors
from sparse_neuro.neuro.engines.registry import register_backend
from sparse_neuro.neuro.engines.state_check import check_keys
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.inputs import PoissonInput, PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.lif import step_factors
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.record import (
    RateMonitor,
    Recording,
    SpikeMonitor,
    SpikeTrains,
    StateMonitor,
    StateTrace,
    run_meta,
)
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.model.validation import check_duration

__all__ = ["Brian2Model", "Brian2Simulator", "to_brian2", "run_brian2", "TARGETS"]

#: Valid Brian2 code generation targets (runtime mode).
TARGETS = ("numpy", "cython")


def _import_brian2() -> Any:
    """``import brian2``, leaving the process's warning and logging set-up as it was.

    On import Brian2 adds ``warnings`` filters, routes every Python warning into its own
    logger (``logging.captureWarnings``, with a stderr handler on ``py.warnings``) and replaces
    ``sys.excepthook``: the warnings of unrelated code would then be printed through Brian2's
    log, or hidden, from the moment any network is converted. Its own ``brian2`` logger is
    left as it sets it up.
    """
    if "brian2" in sys.modules:
        return sys.modules["brian2"]
    py_warnings = logging.getLogger("py.warnings")
    saved = (
        list(warnings.filters),
        warnings.showwarning,
        sys.excepthook,
        list(py_warnings.handlers),
        py_warnings.level,
        py_warnings.propagate,
        list(logging.root.handlers),
        logging.root.level,
        getattr(logging, "_warnings_showwarning", None),
    )
    try:
        with warnings.catch_warnings():  # restores the filters and showwarning on exit
            # Brian2's modules call deprecated pyparsing functions as they are imported:
            # dozens of warnings nobody but Brian2 can act on
            warnings.simplefilter("ignore", DeprecationWarning)
            import brian2
    finally:
        warnings.filters[:] = saved[0]
        getattr(warnings, "_filters_mutated", lambda: None)()  # drop cached "once" decisions
        warnings.showwarning, sys.excepthook = saved[1], saved[2]
        py_warnings.handlers[:] = saved[3]
        py_warnings.setLevel(saved[4])
        py_warnings.propagate = saved[5]
        logging.root.handlers[:] = saved[6]
        logging.root.setLevel(saved[7])
        logging._warnings_showwarning = saved[8]  # type: ignore[attr-defined]
    return brian2


@contextlib.contextmanager
def _brian2_prefs(target: str) -> Iterator[Any]:
    """Set the code generation target and float64 for the duration of the block, and hide
    the deprecation warnings Brian2's own code raises (its equation parser calls deprecated
    pyparsing functions: dozens per network, nothing a user of this bridge can act on)."""
    b2 = _import_brian2()

    old_target = b2.prefs.codegen.target
    old_dtype = b2.prefs.core.default_float_dtype
    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = np.float64
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", category=DeprecationWarning, module=r"(brian2|pyparsing)(\.|$)"
            )
            yield b2
    finally:
        b2.prefs.codegen.target = old_target
        b2.prefs.core.default_float_dtype = old_dtype


def _degenerate(pop: Population) -> bool:
    """Some synaptic current's time constant equals the membrane's (same test as
    sparse_neuro.neuro.model.lif; conductance populations are integrated by exponential Euler, which
    has no such case)."""
    if pop.params.conductance_based:
        return False
    tm = pop.params.tau_mem_s
    return any(math.isclose(ts, tm, rel_tol=1e-12) for ts in pop.params.tau_syn_s)


def _manual_freeze(pop: Population, refractory: bool) -> bool:
    # Brian2's exact solver multiplies dv/dt by int(not_refractory) for "(unless
    # refractory)" and then solves symbolically in it; when tau_syn == tau_mem that
    # solution has a 0/0 factor (NaN). There we integrate v freely and restore the
    # post-reset value after each refractory step instead (same result, one extra
    # operation per step).
    return refractory and _degenerate(pop)


def _equations(pop: Population, n_injections: int, refractory: bool, dt_s: float) -> str:
    """Model equations with the parameters written in as numbers.

    Literal constants (rather than namespace symbols) let Brian2's exact integrator solve
    the actual system, including the degenerate ``tau_syn == tau_mem`` case where the
    symbolic solution divides by ``tau_mem - tau_syn``. Conductance channels ``I{k}``
    enter as ``I{k} * m_k * (E_k - v)`` with ``m_k`` the step-mean factor of
    :func:`sparse_neuro.neuro.engines.coba.coba_factors` (see the module docstring).
    """
    p = pop.params
    if p.conductance_based:
        m = coba_factors(p, dt_s).g_mean
        currents = "".join(
            f" + I{k} * {float(m[k])!r} * ({e!r} - v)" for k, e in enumerate(p.e_rev)
        )
    else:
        currents = "".join(f" + I{k}" for k in range(p.n_channels))
    manual = _manual_freeze(pop, refractory)
    flag = " (unless refractory)" if refractory and not manual else ""
    lines = [f"dv/dt = ({p.v_inf!r} + I_ext{currents} - v) / ({p.tau_mem_s!r}*second) : 1{flag}"]
    lines += [f"dI{k}/dt = -I{k} / ({tau!r}*second) : 1" for k, tau in enumerate(p.tau_syn_s)]
    lines.append("I_ext : 1")
    # Amplitude of each current injection into this population, per neuron.
    lines += [f"cur_amp{j} : 1 (constant)" for j in range(n_injections)]
    if manual:
        lines.append("v_frozen : 1")
    ad = getattr(pop, "adaptation", None)
    if (
        ad is not None
    ):  # adaptive threshold (sparse_neuro.neuro.model.plasticity_rules.ThresholdAdaptation)
        lines.append(
            "theta : 1"
            if math.isinf(ad.tau_theta_s)
            else f"dtheta/dt = -theta / ({ad.tau_theta_s!r}*second) : 1"
        )
    return "\n".join(lines)


@dataclass(eq=False)
class Brian2Model:
    """A network built in Brian2 (its own ``brian2.Network``), ready to :meth:`run`.

    Attributes
    ----------
    network : Network
        The description it was built from.
    dt_s : float
        Step of every Brian2 object.
    target : str
        Code generation target, one of :data:`TARGETS`.
    b2_network : brian2.Network
        Holds every object below.
    groups : dict of str to brian2 group
        ``NeuronGroup`` per population, ``PoissonGroup`` / ``SpikeGeneratorGroup`` per source.
    synapses : list of brian2.Synapses or None
        One per projection, in order (None for a projection without synapses).
    spike_monitors, state_monitors, rate_monitors : dict
        Keyed by population name (state monitors by ``"population.variable"``).
    drives : list of brian2.PoissonInput
        One per ``network.drives`` entry, in order.
    seed : int
        Passed to ``brian2.seed`` before each run (Poisson sources).
    """

    network: Network
    dt_s: float
    target: str
    b2_network: Any
    groups: dict[str, Any]
    synapses: list[Any]
    spike_monitors: dict[str, Any] = field(default_factory=dict)
    state_monitors: dict[str, Any] = field(default_factory=dict)
    rate_monitors: dict[str, Any] = field(default_factory=dict)
    drives: list[Any] = field(default_factory=list)
    seed: int = 0
    wall_s: float = 0.0

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return float(self.b2_network.t_)

    def run(self, duration_s: float, *, report: str | None = None) -> Recording:
        """Advance Brian2 by ``duration_s`` seconds; return what was recorded in that interval.

        Like :meth:`sparse_neuro.neuro.engines.ClockSimulator.run`, successive calls continue the
        same simulation (one random stream, seeded once at t = 0).

        Parameters
        ----------
        duration_s : float
            > 0, a whole number of steps
            (:func:`sparse_neuro.neuro.model.validation.check_duration`).
        report : str, optional
            Brian2's progress report (``"text"``, ``"stdout"``), or None.

        Returns
        -------
        Recording
            Spike times are absolute step times ``n * dt`` (Brian2's ``t``); states are
            sampled at the start of a step; ``meta`` holds ``engine="brian2"``, the target,
            ``t_start_s`` and the wall time of this ``run`` (including code generation).
        """
        b2 = _import_brian2()

        # whole steps only, and refuse out-of-reach runs (one helper for every backend)
        n_steps = check_duration(duration_s, self.dt_s, self.network.n_neurons)
        start_step = self._step()
        with _brian2_prefs(self.target):
            if start_step == 0:
                b2.seed(self.seed)
            t0 = time.perf_counter()
            self.b2_network.run(n_steps * self.dt_s * b2.second, namespace={}, report=report)
            wall = time.perf_counter() - t0
        self.wall_s += wall
        rec = self.recording(start_step * self.dt_s)
        rec.meta["wall_s"] = wall  # this run's, not the model's total
        return rec

    def _step(self) -> int:
        return int(round(self.t_s / self.dt_s))

    def recording(self, t_start_s: float = 0.0) -> Recording:
        """Convert the Brian2 monitors' contents from ``t_start_s`` on into a :class:`Recording`."""
        dt = self.dt_s
        n0 = int(round(t_start_s / dt))
        n1 = self._step()
        eps = 1e-3 * dt  # Brian2's own tolerance when binning times into steps
        spikes = {}
        for name, mon in self.spike_monitors.items():
            t = np.asarray(mon.t_[:], dtype=np.float64)
            keep = t >= n0 * dt - eps
            spikes[name] = SpikeTrains(
                t[keep].copy(),
                np.asarray(mon.i[:])[keep].astype(np.int32),
                size=self.network.size(name),
                duration_s=(n1 - n0) * dt,
                t_start_s=n0 * dt,
            )
        states = {}
        for key, (mon, var, idx) in self.state_monitors.items():
            t = np.asarray(mon.t_[:], dtype=np.float64)
            keep = t >= n0 * dt - eps
            values = np.asarray(getattr(mon, var)[:], dtype=np.float64).T[keep].copy()
            states[key] = StateTrace(t[keep].copy(), idx.copy(), values)
        rates = {
            name: np.asarray(mon.rate_[:], dtype=np.float64)[n0:].copy()
            for name, mon in self.rate_monitors.items()
        }
        meta = run_meta("brian2", self.wall_s, n0 * dt, n1 - n0, brian2_target=self.target)
        return Recording(spikes, states, rates, dt, (n1 - n0) * dt, meta)


class Brian2Simulator:
    """A network run by Brian2 behind the :class:`~sparse_neuro.neuro.engines.protocol.Simulator`
    protocol.

    Parameters
    ----------
    network : Network
        Checked with :func:`~sparse_neuro.neuro.engines.capabilities.check_supported` (no k-WTA, no
        reward).
    dt_s : float
        Step of every Brian2 object, > 0.
    seed : int
        Seed of Brian2's random numbers (Poisson sources and drives), >= 0.
    target : str
        Code generation target, one of :data:`TARGETS`.
    """

    def __init__(self, network: Network, dt_s: float, *, seed: int = 0, target: str = "numpy"):
        self.model = to_brian2(network, dt_s, target=target, seed=seed)
        self.network, self.dt_s, self.seed, self.target = network, float(dt_s), int(seed), target

    @property
    def t_s(self) -> float:
        """Simulated time so far, in seconds."""
        return self.model.t_s

    def run(self, duration_s: float, *, progress: bool = False) -> Recording:
        """Advance by ``duration_s`` (see :meth:`Brian2Model.run`); ``progress`` prints
        Brian2's text report."""
        return self.model.run(duration_s, report="text" if progress else None)

    def reset(self, *, keep_weights: bool = False) -> None:
        """A fresh model of the network at ``t = 0`` with the same seed; with
        ``keep_weights``, with the current (learned) weights."""
        net = self.network.with_synapses(self.synapses()) if keep_weights else self.network
        self.model = to_brian2(net, self.dt_s, target=self.target, seed=self.seed)

    def _stable_names(self) -> dict[str, str]:
        """Brian2 object name -> the same name in every model of this network. Brian2 numbers
        clocks (``a_clock_1``) and PoissonInputs when a live model holds the name; its
        snapshots are keyed by object name."""
        from brian2.core.network import _get_all_objects

        names = {pi.name: f"drive{k}" for k, pi in enumerate(self.model.drives)}
        for obj in _get_all_objects(self.model.b2_network.objects):
            names.setdefault(obj.name, obj.name)
            names[obj.clock.name] = re.sub(r"_clock(_\d+)?$", "_clock", obj.clock.name)
        return names

    def state_dict(self) -> dict[str, object]:
        """Brian2's own snapshot of every object (state, queued spikes, random state)."""
        names = self._stable_names()
        with tempfile.TemporaryDirectory() as d, _brian2_prefs(self.target):
            path = Path(d) / "state.pkl"
            self.model.b2_network.store("snapshot", filename=str(path))
            with open(path, "rb") as f:
                state = pickle.load(f)["snapshot"]
        return {
            "brian2_state": {names.get(k, k): v for k, v in state.items()},
            "wall_s": self.model.wall_s,
        }

    def load_state_dict(self, d: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of a simulator of the same network, dt and target.

        The snapshot is checked against this model's own first
        (:func:`sparse_neuro.neuro.engines.backends.brian2_state.check_brian2_state`: Brian2's
        Cython code indexes with it unchecked); a ValueError names the object and variable.

        Brian2's random state is process-wide: it is restored here, so run this simulator
        before another Brian2 model draws random numbers.
        """
        d = check_keys(d, {"brian2_state", "wall_s"}, "state dict")
        wall = check_brian2_state(d["brian2_state"], self.state_dict()["brian2_state"], d["wall_s"])
        actual = {stable: name for name, stable in self._stable_names().items()}
        state = {actual.get(k, k): v for k, v in d["brian2_state"].items()}  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as tmp, _brian2_prefs(self.target):
            path = Path(tmp) / "state.pkl"
            with open(path, "wb") as f:
                pickle.dump({"snapshot": state}, f)
            self.model.b2_network.restore("snapshot", filename=str(path), restore_random_state=True)
        self.model.wall_s = wall

    def synapses(self) -> list[SparseSynapses]:
        """Each projection's synapses with Brian2's current weights (they change under STDP)."""
        out = []
        for pr, s in zip(self.network.projections, self.model.synapses):
            if s is None:
                out.append(pr.synapses)
                continue
            w = np.asarray(s.w[:], dtype=np.float64)
            # Brian2 keeps the synapses in the order they were connected: the CSR order
            out.append(pr.synapses.with_weights(w.astype(pr.synapses.weights.dtype)))
        return out

    def counters(self) -> None:
        """No hardware counters on this backend."""
        return None


def _source_group(b2: Any, src: PoissonSource | SpikeArraySource, dt: Any) -> Any:
    if isinstance(src, PoissonSource):
        return b2.PoissonGroup(src.size, rates=src.rate_hz * b2.Hz, dt=dt, name=src.name)
    return b2.SpikeGeneratorGroup(
        src.size, src.indices.astype(np.int32), src.times_s * b2.second, dt=dt, name=src.name
    )


def _poisson_input(
    b2: Any, d: PoissonInput, network: Network, groups: dict[str, Any], dt_s: float
) -> Any:
    """``brian2.PoissonInput`` for a drive: it adds ``weight * k`` in the synapses slot, like
    an arriving spike; on a delta channel the weight is zero while the target is refractory
    (our engines discard delta input then)."""
    target = network.population(d.target)
    if target.params.n_channels == 0:
        var = "v"
        weight = (
            f"{d.weight!r} * int(not_refractory)"
            if _ref_steps(target, dt_s) > 0
            else repr(d.weight)
        )
    else:
        var, weight = f"I{d.receptor}", repr(d.weight)
    # PoissonInput takes no name: Brian2 numbers it (its code is the same for each network)
    return b2.PoissonInput(groups[d.target], var, d.n_inputs, d.rate_hz * b2.Hz, weight=weight)


def _projection(
    b2: Any, k: int, pr: Projection, network: Network, groups: dict[str, Any], dt_s: float
) -> Any:
    syn = pr.synapses
    if syn.n_synapses == 0:
        return None
    target = network.population(pr.target)
    if target.params.n_channels == 0:
        # Delta synapse. Brian2 also conditions writes to an "unless refractory" variable
        # on not_refractory; being explicit documents the engine's rule. Without a
        # refractory period (fewer than one step) inputs are never discarded.
        if _ref_steps(target, dt_s) > 0:
            on_pre = "v_post += w * int(not_refractory_post)"
        else:
            on_pre = "v_post += w"
    else:
        on_pre = f"I{pr.receptor}_post += w"
    model, on_post = "w : 1", None
    if pr.plasticity is not None:
        model, stdp_pre, on_post = _stdp_code(pr.plasticity)
        on_pre = on_pre + "\n" + stdp_pre
    s = b2.Synapses(
        groups[pr.source],
        groups[pr.target],
        model=model,
        on_pre=on_pre,
        on_post=on_post,
        dt=dt_s * b2.second,
        namespace={},
        name=f"{pr.source}__to__{pr.target}__{k}",
    )
    s.connect(i=syn.pre_indices().astype(np.int32), j=syn.indices.astype(np.int32))
    s.w[:] = syn.weights.astype(np.float64)
    s.delay[:] = syn.delays.astype(np.float64) * dt_s * b2.second
    return s


def _stdp_code(rule: Any) -> tuple[str, str, str]:
    """Brian2 model / on_pre / on_post of a
    :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule`.

    Event-driven traces (decayed analytically at events, like the clock engine's); the
    spike is transmitted with the old weight, then depression (on_pre) or potentiation
    (on_post) with the other side's traces, then the own traces jump. Brian2 runs the
    ``pre`` pathways before the ``post`` ones in a step, as the engine does.
    """
    r = rule
    model = "\n".join(
        [
            "w : 1",
            f"dx1/dt = -x1 / ({r.tau_plus_s!r}*second) : 1 (event-driven)",
            f"dx2/dt = -x2 / ({r.tau_x_s!r}*second) : 1 (event-driven)",
            f"dy1/dt = -y1 / ({r.tau_minus_s!r}*second) : 1 (event-driven)",
            f"dy2/dt = -y2 / ({r.tau_y_s!r}*second) : 1 (event-driven)",
        ]
    )
    eta = r.learning_rate
    f_minus = "" if r.mu_minus == 0 else f" * clip(w - {r.w_min!r}, 0, inf)**{r.mu_minus!r}"
    f_plus = "" if r.mu_plus == 0 else f" * clip({r.w_max!r} - w, 0, inf)**{r.mu_plus!r}"
    jump = "{0} = 1" if r.pairing == "nearest" else "{0} += 1"
    on_pre = "\n".join(
        [
            f"w = clip(w - {eta!r} * y1 * ({r.a_minus!r} + {r.a3_minus!r} * x2){f_minus}, "
            f"{r.w_min!r}, {r.w_max!r})",
            jump.format("x1"),
            jump.format("x2"),
        ]
    )
    on_post = "\n".join(
        [
            f"w = clip(w + {eta!r} * x1 * ({r.a_plus!r} + {r.a3_plus!r} * y2){f_plus}, "
            f"{r.w_min!r}, {r.w_max!r})",
            jump.format("y1"),
            jump.format("y2"),
        ]
    )
    return model, on_pre, on_post


def _ref_steps(pop: Population, dt_s: float) -> int:
    return step_factors(pop.params, dt_s).ref_steps


def _time_to_step(t_s: float, dt_s: float) -> int:
    # Brian2's binning (and sparse_neuro.neuro.engines.drive.time_to_step):
    # floor((t + 1e-3 dt) / dt).
    return int(math.floor((t_s + 1e-3 * dt_s) / dt_s))


def _current_code(injections: list[Any], dt_s: float) -> str | None:
    """``I_ext = sum_j cur_amp_j * [start_j <= step < stop_j]``, run at the start of a step."""
    terms = []
    for j, c in enumerate(injections):
        active = f"timestep(t, dt) >= {_time_to_step(c.start_s, dt_s)}"
        if math.isfinite(c.stop_s):
            active += f" and timestep(t, dt) < {_time_to_step(c.stop_s, dt_s)}"
        terms.append(f"cur_amp{j} * int({active})")
    return ("I_ext = " + " + ".join(terms)) if terms else None


def to_brian2(network: Network, dt_s: float, target: str = "numpy", seed: int = 0) -> Brian2Model:
    """Build ``network`` in Brian2 (see module docstring for the mapping).

    Parameters
    ----------
    network : Network
        Must not use k-WTA; plasticity only as
        :class:`sparse_neuro.neuro.model.plasticity_rules.STDPRule` without reward modulation
        (adaptive thresholds and STDP are exported).
    dt_s : float
        Time step in seconds, > 0, for every Brian2 object.
    target : str
        Code generation target, one of ``"numpy"`` (no compilation) or ``"cython"``.
    seed : int
        Seed of Brian2's random numbers (Poisson sources), >= 0.

    Returns
    -------
    Brian2Model
    """
    for pr in network.projections:
        pr.synapses.check_dt(dt_s)  # delays made for another step would mean other times
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0):
        raise ValueError(f"dt_s must be a finite number > 0, got {dt_s!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not isinstance(network, Network):
        raise TypeError(f"network must be a neuro Network, got {type(network).__name__}")
    check_supported(network, "brian2")
    with _brian2_prefs(target) as b2:
        dt = dt_s * b2.second
        groups: dict[str, Any] = {}
        objects: list[Any] = []
        for pop in network.populations:
            p = pop.params
            injections = [c for c in network.currents if c.target == pop.name]
            reset = (
                f"v = {p.v_reset!r}"
                if p.reset_mode == "value"
                else f"v -= {p.v_threshold - p.v_reset!r}"
            )
            # A period shorter than one step is no refractoriness at all (as in the clock
            # engine); Brian2 would still mark a spiking neuron refractory for the rest of
            # its step and so discard same-step delta inputs.
            has_ref = _ref_steps(pop, dt_s) > 0
            if _manual_freeze(pop, has_ref):
                reset += "\nv_frozen = v"
            threshold = f"v > {p.v_threshold!r}"
            if pop.adaptation is not None:
                threshold += " + theta"
                reset += f"\ntheta += {pop.adaptation.theta_plus!r}"
            g = b2.NeuronGroup(
                pop.size,
                _equations(pop, len(injections), has_ref, dt_s),
                method="exponential_euler" if p.conductance_based else "exact",
                threshold=threshold,
                reset=reset,
                refractory=p.t_ref_s * b2.second if has_ref else False,
                dt=dt,
                namespace={},
                name=pop.name,
            )
            g.v[:] = pop.v_init.astype(np.float64)
            if pop.adaptation is not None:
                g.theta[:] = pop.adaptation.theta_init
            for j, c in enumerate(injections):
                setattr(
                    g, f"cur_amp{j}", np.broadcast_to(c.amplitude, (pop.size,)).astype(np.float64)
                )
            if _manual_freeze(pop, has_ref):
                objects.append(
                    g.run_regularly(
                        "v = v * int(not_refractory) + v_frozen * (1 - int(not_refractory))",
                        when="groups",
                        order=1,
                        dt=dt,
                        name=f"{pop.name}__freeze",
                    )
                )
            code = _current_code(injections, dt_s)
            if code is not None:
                objects.append(
                    g.run_regularly(code, when="start", dt=dt, name=f"{pop.name}__current")
                )
            groups[pop.name] = g
            objects.append(g)
        for src in network.sources:
            groups[src.name] = _source_group(b2, src, dt)
            objects.append(groups[src.name])
        synapses = [
            _projection(b2, k, pr, network, groups, dt_s)
            for k, pr in enumerate(network.projections)
        ]
        objects += [s for s in synapses if s is not None]
        drives = [_poisson_input(b2, d, network, groups, dt_s) for d in network.drives]
        objects += drives
        model = Brian2Model(
            network, float(dt_s), target, None, groups, synapses, seed=int(seed), drives=drives
        )
        for k, m in enumerate(network.monitors):
            if isinstance(m, SpikeMonitor) and m.target not in model.spike_monitors:
                model.spike_monitors[m.target] = b2.SpikeMonitor(
                    groups[m.target], name=f"{m.target}__spikes"
                )
            elif isinstance(m, RateMonitor) and m.target not in model.rate_monitors:
                model.rate_monitors[m.target] = b2.PopulationRateMonitor(
                    groups[m.target], name=f"{m.target}__rate"
                )
            elif isinstance(m, StateMonitor):
                ch = m.channel()
                var = "v" if ch < 0 else f"I{ch}"
                mon = b2.StateMonitor(
                    groups[m.target],
                    var,
                    record=m.indices.astype(np.int64),
                    dt=m.every_steps * dt,
                    when="start",
                    name=f"{m.target}__{var}__{k}",
                )
                model.state_monitors[m.key] = (mon, var, m.indices)
        objects += list(model.spike_monitors.values()) + list(model.rate_monitors.values())
        objects += [mon for mon, _, _ in model.state_monitors.values()]
        model.b2_network = b2.Network(*objects)
    return model


def run_brian2(
    network: Network, duration_s: float, dt_s: float, target: str = "numpy", seed: int = 0
) -> Recording:
    """Build ``network`` in Brian2 and run it: ``to_brian2(...).run(duration_s)``.

    Same call shape as :func:`sparse_neuro.neuro.engines.simulate`, so cross-backend tests compare
    the returned recordings directly.
    """
    return to_brian2(network, dt_s, target=target, seed=seed).run(duration_s)


register_backend(
    "brian2",
    Brian2Simulator,
    frozenset(Feature) - {Feature.KWTA, Feature.REWARD_STDP, Feature.PLASTIC_DELAYS},
    "the Brian2 bridge has no k-WTA and no reward input",
)
