"""Exact event-driven engine: PoissonInput drives in continuous time, run splitting."""

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, Population
from sparse_neuro.neuro.engines import ExactSimulator, simulate
from sparse_neuro.neuro.model.inputs import PoissonInput
from sparse_neuro.neuro.model.record import RateMonitor, SpikeMonitor

DT = 1e-4
P = LIFParams(tau_mem_s=10e-3, v_threshold=1.0, v_reset=0.0, t_ref_s=2e-3)


def _driven(n: int = 200) -> Network:
    return Network(
        [Population("p", n, P)],
        monitors=[SpikeMonitor("p"), RateMonitor("p")],
        drives=[PoissonInput("p", 100, 80.0, 0.02)],
    )


def test_drive_equals_its_trains_as_sources(make_drive_as_sources):
    """N trains of rate r per neuron, as a drive or as N one-to-one Poisson sources, are the
    same input in continuous time: the same rate (seeds 1-3 agreed within 0.3 %)."""
    sources = make_drive_as_sources(P, 200, 100, 80.0, 0.02)
    drive = simulate(_driven(), 0.5, DT, "exact", seed=1).spikes["p"].n_spikes
    trains = simulate(sources, 0.5, DT, "exact", seed=1).spikes["p"].n_spikes
    assert drive > 2000
    assert drive == pytest.approx(trains, rel=0.02)


def test_split_runs_and_seeds_with_drives():
    net = _driven(30)
    whole = ExactSimulator(net, DT, seed=4).run(0.1)
    sim = ExactSimulator(net, DT, seed=4)
    parts = [sim.run(0.05), sim.run(0.02), sim.run(0.03)]
    np.testing.assert_array_equal(
        np.concatenate([p.spikes["p"].times_s for p in parts]), whole.spikes["p"].times_s
    )
    np.testing.assert_array_equal(np.concatenate([p.rates["p"] for p in parts]), whole.rates["p"])
    other = ExactSimulator(net, DT, seed=5).run(0.1)
    assert not np.array_equal(other.spikes["p"].times_s, whole.spikes["p"].times_s)


def test_drive_into_refractory_neuron_is_discarded():
    """A huge drive cannot make a neuron fire faster than once per refractory period."""
    net = Network(
        [Population("p", 3, P)],
        monitors=[SpikeMonitor("p")],
        drives=[PoissonInput("p", 1000, 1000.0, 5.0)],
    )
    st = simulate(net, 0.05, DT, "exact").spikes["p"]
    for t in st.trains():
        assert np.all(np.diff(t) >= P.t_ref_s - 1e-12)
        assert t.size >= 20  # fires again as soon as the period ends
