"""Shared test fixtures: network builders used by several test files, thread settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
from sparse_neuro.neuro.model.features import Feature
from sparse_neuro.neuro.model.inputs import (
    CurrentInjection,
    PoissonInput,
    PoissonSource,
    SpikeArraySource,
)
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import RateMonitor, SpikeMonitor, StateMonitor


@pytest.fixture(scope="module")
def torch_one_thread() -> Iterator[None]:
    """Tiny tensors: one torch thread avoids OpenMP spinning on a shared machine
    (``pytestmark = pytest.mark.usefixtures("torch_one_thread")``)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def single_neuron(
    params: LIFParams,
    v0: float | None = None,
    name: str = "p",
    monitors: list | None = None,
    **kw: object,
) -> Network:
    """One neuron ``name`` with a spike monitor and a ``v`` monitor (unless ``monitors``)."""
    return Network(
        [Population(name, 1, params, v_init=v0)],
        monitors=monitors
        if monitors is not None
        else [SpikeMonitor(name), StateMonitor(name, "v", np.array([0]))],
        **kw,
    )


def tiny_network(seed: int = 0, n: int = 20, state_monitor: bool = True) -> Network:
    """A small network every backend runs: delta synapses with delays, a Poisson source and a
    spike-array source, recurrent connections, spike/rate monitors (and, for the clocked
    backends, a ``v`` monitor sampled every 2 steps)."""
    rng = np.random.default_rng(seed)
    p = LIFParams(tau_mem_s=10e-3, bias=0.6, t_ref_s=2e-3)
    w_in = SparseSynapses.fixed_probability(30, n, 0.3, 0.35, delay=1, seed=rng, dtype=np.float64)
    w_x = SparseSynapses.fixed_probability(4, n, 0.5, 0.5, seed=rng, dtype=np.float64)
    w_rec = SparseSynapses.fixed_probability(
        n, n, 0.1, -0.2, delay=3, seed=rng, allow_self=False, dtype=np.float64
    )
    mons = [SpikeMonitor("a"), RateMonitor("a"), SpikeMonitor("s")]
    if state_monitor:
        mons.append(StateMonitor("a", "v", np.array([0, 3, 7]), every_steps=2))
    return Network(
        [Population("a", n, p, v_init=rng.uniform(0.0, 0.9, n))],
        [Projection("s", "a", w_in), Projection("x", "a", w_x), Projection("a", "a", w_rec)],
        [
            PoissonSource("s", 30, 60.0),
            SpikeArraySource("x", 4, [0.0012, 0.0305, 0.061, 0.0833], [0, 1, 2, 3]),
        ],
        monitors=mons,
    )


def feature_network(feature: Feature) -> Network:
    """A minimal network whose only feature besides a spike-array source is ``feature``."""
    pop: dict = {}
    syn = SparseSynapses.from_dense(np.full((2, 2), 0.5))
    proj: dict = {}
    net: dict = {}
    if feature is Feature.EXP_CHANNELS:
        pop["params"] = LIFParams(tau_syn_s=(5e-3,))
    elif feature is Feature.CONDUCTANCE:
        pop["params"] = LIFParams(tau_syn_s=(5e-3,), e_rev=(2.0,))
    elif feature is Feature.KWTA:
        pop["kwta_k"] = 1
    elif feature is Feature.ADAPTATION:
        pop["adaptation"] = ThresholdAdaptation(theta_plus=0.1, tau_theta_s=0.1)
    elif feature is Feature.SUBTRACT_RESET:
        pop["params"] = LIFParams(reset_mode="subtract")
    elif feature is Feature.STDP:
        proj["plasticity"] = STDPRule()
    elif feature is Feature.REWARD_STDP:
        proj["plasticity"] = STDPRule(tau_eligibility_s=0.2)
    elif feature is Feature.DELAYS:
        syn = SparseSynapses.from_dense(np.full((2, 2), 0.5), delay=2)
    elif feature is Feature.PLASTIC_DELAYS:
        syn = SparseSynapses.from_dense(np.full((2, 2), 0.5), delay=2)
        proj["plasticity"] = STDPRule()
    elif feature is Feature.CURRENT_INJECTION:
        net["currents"] = [CurrentInjection("a", 0.5)]
    elif feature is Feature.STATE_MONITORS:
        net["monitors"] = [StateMonitor("a", "v", [0])]
    elif feature is Feature.POISSON_INPUT:
        net["drives"] = [PoissonInput("a", 10, 5.0, 0.1)]
    elif feature is Feature.POISSON_SOURCES:
        return Network(
            [Population("a", 2)], [Projection("p", "a", syn)], [PoissonSource("p", 2, 5.0)]
        )
    return Network(
        [Population("a", 2, **pop)],
        [Projection("x", "a", syn, **proj)],
        [SpikeArraySource("x", 2, [0.001], [0])],
        **net,
    )


def drive_as_sources(
    params: LIFParams, n: int, n_inputs: int, rate_hz: float, weight: float
) -> Network:
    """Population ``p`` of ``n`` neurons fed by ``n_inputs`` one-to-one Poisson sources each:
    the trains a ``PoissonInput("p", n_inputs, rate_hz, weight)`` stands for."""
    m = n * n_inputs
    one_to_one = SparseSynapses(
        np.arange(m + 1),
        np.repeat(np.arange(n), n_inputs),
        np.full(m, weight),
        np.zeros(m, np.int64),
        n,
    )
    return Network(
        [Population("p", n, params)],
        [Projection("s", "p", one_to_one)],
        [PoissonSource("s", m, rate_hz)],
        monitors=[SpikeMonitor("p")],
    )


@pytest.fixture
def make_drive_as_sources() -> Callable[..., Network]:
    """:func:`drive_as_sources`: a PoissonInput's trains as explicit sources."""
    return drive_as_sources


@pytest.fixture
def make_single_neuron() -> Callable[..., Network]:
    """:func:`single_neuron`: one neuron with spike and ``v`` monitors."""
    return single_neuron


@pytest.fixture
def make_tiny_network() -> Callable[..., Network]:
    """:func:`tiny_network`: a small network every backend runs."""
    return tiny_network
