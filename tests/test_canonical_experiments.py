"""Brunel network construction and regime classification; brette2007 and brunel runs (small)."""

import json

import numpy as np
import pytest

from sparse_neuro.experiments.brunel import REGIMES, brunel_network, classify, population_statistics
from sparse_neuro.experiments.common import run_experiment
from sparse_neuro.neuro.engines.backends.nest_bridge import nest_available
from sparse_neuro.neuro.model.record import SpikeTrains

needs_nest = pytest.mark.skipif(
    not nest_available(), reason="NEST not installed (extra 'reference')"
)


def test_brunel_network_indegrees_weights_and_drive():
    net = brunel_network(5.0, 2.0, scale=0.1, seed=0)
    assert [p.size for p in net.populations] == [1000, 250]
    j = 0.1e-3 / 0.1
    for pr in net.projections:
        k, w = (100, j) if pr.source == "E" else (25, -5.0 * j)
        np.testing.assert_array_equal(pr.synapses.fan_in(), k)
        np.testing.assert_allclose(pr.synapses.weights, w, rtol=1e-6)
        np.testing.assert_array_equal(pr.synapses.delays, 15)
    # nu_ext = 2 nu_thr, nu_thr = theta / (J C_E tau): mean external input = 2 theta per tau
    d = net.drives[0]
    assert d.n_inputs * d.rate_hz * d.weight * 20e-3 == pytest.approx(2 * 20e-3)


def _oscillating(freq_hz: float, p_fire: float, n: int = 400, duration: float = 1.0, seed: int = 0):
    """Each neuron fires on each cycle of a ``freq_hz`` rhythm with probability ``p_fire``."""
    rng = np.random.default_rng(seed)
    cycles = np.arange(0.0, duration, 1 / freq_hz)
    fire = rng.random((cycles.size, n)) < p_fire
    c, i = np.nonzero(fire)
    t = cycles[c] + rng.normal(0, 0.3e-3, c.size)
    ok = (t >= 0) & (t < duration)
    return SpikeTrains(t[ok], i[ok], n, duration)


def test_classify_synthetic_regimes():
    rng = np.random.default_rng(1)
    counts = rng.poisson(20.0, 400)
    idx = np.repeat(np.arange(400), counts)
    poisson = SpikeTrains(rng.random(idx.size), idx, 400, 1.0)
    stats = population_statistics(poisson, 0.0, 400)
    assert stats["synchrony"] == pytest.approx(1.0, abs=0.2)
    assert classify(stats) == "ai"
    assert classify(population_statistics(_oscillating(100.0, 1.0), 0.0, 400)) == "sr"
    fast = population_statistics(_oscillating(180.0, 0.1), 0.0, 400)
    assert fast["peak_hz"] == pytest.approx(180.0, abs=5.0) and classify(fast) == "si_fast"
    assert classify(population_statistics(_oscillating(20.0, 0.2), 0.0, 400)) == "si_slow"


@needs_nest
@pytest.mark.slow
def test_brette2007_cuba_same_network_three_simulators(tmp_path):
    s = run_experiment("brette2007", tmp_path, smoke=True, overrides={"benchmarks": "cuba"})
    # the Brian2 bridge reproduces our spikes exactly; NEST statistically (its d = 0 delay
    # is one step, the chaotic network then diverges)
    assert s["cuba_brian2_rate_hz"] == s["cuba_rate_hz"]
    assert s["cuba_nest_rate_hz"] == pytest.approx(s["cuba_rate_hz"], rel=0.1)
    assert s["cuba_nest_isi_cv"] == pytest.approx(s["cuba_isi_cv"], abs=0.05)
    assert json.loads((tmp_path / "summary.json").read_text())["experiment"] == "brette2007"
    assert (tmp_path / "raster_cuba.png").exists()


@needs_nest
def test_brunel_smoke_writes_nest_statistics(tmp_path):
    s = run_experiment("brunel", tmp_path, smoke=True)
    assert s["ai_nest_rate_hz"] > 0 and s["ai_nest_class"] in REGIMES
    assert (tmp_path / "brunel_ai.png").exists()
    with pytest.raises(ValueError, match="both g and nu_ratio"):
        run_experiment("brunel", tmp_path, smoke=True, overrides={"g": "5"})


def test_microcircuit_psp_weight_gives_the_psp_in_the_clock_engine():
    from sparse_neuro.experiments.microcircuit import NEURON, PSP_MEAN_V, psp_to_weight
    from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.model.inputs import SpikeArraySource
    from sparse_neuro.neuro.model.record import StateMonitor

    p = LIFParams(**{**NEURON.__dict__, "v_rest": 0.0, "v_reset": -1.0, "v_threshold": 1.0})
    net = Network(
        [Population("t", 1, p)],
        [Projection("s", "t", SparseSynapses.from_dense(np.array([[psp_to_weight(PSP_MEAN_V)]])))],
        sources=[SpikeArraySource("s", 1, np.array([1e-3]), np.array([0]))],
        monitors=[StateMonitor("t", "v")],
    )
    v = ClockSimulator(net, 1e-6).run(5e-3).states["t.v"].values
    assert v.max() == pytest.approx(PSP_MEAN_V, rel=1e-3)


def test_microcircuit_synapse_numbers_and_signs():
    from sparse_neuro.experiments.microcircuit import (
        CONN_PROBS,
        FULL_SIZES,
        POPULATIONS,
        microcircuit_network,
        synapse_counts,
    )

    full = synapse_counts(1.0)
    # K draws with multapses connect a given pair with probability 1 - (1 - 1/(N N'))^K = p;
    # ~0.3 billion synapses in total (the paper's figure)
    n = np.asarray(FULL_SIZES, dtype=float)
    p = -np.expm1(full * np.log1p(-1.0 / np.outer(n, n)))
    np.testing.assert_allclose(p, CONN_PROBS, atol=1e-7)
    assert 2.9e8 < full.sum() < 3.1e8
    net = microcircuit_network(scale=0.002, seed=0)
    for pr in net.projections:
        t, s = POPULATIONS.index(pr.target), POPULATIONS.index(pr.source)
        assert pr.synapses.n_synapses == synapse_counts(0.002)[t, s]
        assert (
            np.all(pr.synapses.weights < 0)
            if pr.source.endswith("I")
            else np.all(pr.synapses.weights > 0)
        )
        assert pr.synapses.delays.min() >= 1


def test_brette2007_coba_network_shares_cuba_synapses_and_draws_starts():
    from sparse_neuro.experiments.brette2007 import G_EXC, G_INH, benchmark_network

    cuba = benchmark_network("cuba", 0, 200, 0.1)
    coba = benchmark_network("coba", 0, 200, 0.1)
    other = benchmark_network("coba", 0, 200, 0.1, start=1)
    for pop in coba.populations:
        assert pop.params.conductance_based and pop.params.e_rev == (0.0, -80e-3)
    for a, b, c in zip(cuba.projections, coba.projections, other.projections, strict=True):
        assert a.receptor == b.receptor == (0 if a.source == "exc" else 1)
        np.testing.assert_array_equal(a.synapses.indices, b.synapses.indices)
        np.testing.assert_array_equal(b.synapses.indices, c.synapses.indices)
        np.testing.assert_array_equal(b.synapses.weights, G_EXC if a.source == "exc" else G_INH)
    assert [c.stop_s for c in coba.currents] == [0.05, 0.05]
    assert not np.array_equal(coba.currents[0].amplitude, other.currents[0].amplitude)
    with pytest.raises(ValueError, match="start must be an integer >= 0"):
        benchmark_network("coba", 0, 200, 0.1, start=-1)
