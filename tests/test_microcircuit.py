"""Potjans-Diesmann microcircuit: full-scale tables, memory-lean build, NEST's own-rule build."""

import numpy as np
import pytest

from sparse_neuro.experiments.microcircuit import (
    FULL_SIZES,
    POPULATIONS,
    PeakRSS,
    layer_ordering,
    microcircuit_network,
    synapse_counts,
)
from sparse_neuro.neuro.engines.backends.nest_bridge import nest_available

needs_nest = pytest.mark.skipif(
    not nest_available(), reason="NEST not installed (extra 'reference')"
)


def test_full_scale_tables():
    # the paper's full scale: 77,169 neurons and about 0.3 billion synapses (298.9 M from
    # K = ln(1 - p) / ln(1 - 1 / (N_pre N_post)) per pair of populations)
    assert sum(FULL_SIZES) == 77169
    full = synapse_counts(1.0)
    assert 2.985e8 < full.sum() < 2.992e8
    # scaling keeps in-degrees: totals scale with the target size (up to rounding)
    np.testing.assert_allclose(synapse_counts(0.1), full * 0.1, atol=0.5)


def test_build_is_lean_and_shared_with_a_float32_engine():
    from sparse_neuro.neuro.engines import ClockSimulator

    net = microcircuit_network(scale=0.01, seed=1)
    n_syn = net.n_synapses
    per_syn = (
        sum(
            pr.synapses.indices.nbytes + pr.synapses.weights.nbytes + pr.synapses.delays.nbytes
            for pr in net.projections
        )
        / n_syn
    )
    assert per_syn == 9  # int32 target, float32 weight, uint8 delay
    sim = ClockSimulator(net, 1e-4, dtype=np.float32, threads=1)
    first = net.projections[0].synapses
    plan = sim.plan
    arrays = {
        "indices": plan.routing.indices,
        "weights": plan.weights,
        "delays": plan.routing.delays,
    }
    for name in ("indices", "weights", "delays"):  # the engine runs on the network's arrays
        assert np.shares_memory(arrays[name], getattr(first, name)), name


def test_layer_ordering():
    published = {
        "L23E": 0.9,
        "L23I": 2.8,
        "L4E": 4.4,
        "L4I": 5.7,
        "L5E": 7.6,
        "L5I": 8.7,
        "L6E": 1.1,
        "L6I": 7.8,
    }
    assert layer_ordering(published) == {
        "excitatory_order": True,
        "inhibitory_above_excitatory": True,
    }
    swapped = {**published, "L23E": 1.2}  # L2/3E above L6E
    assert layer_ordering(swapped)["excitatory_order"] is False
    assert layer_ordering({**published, "L5I": 7.0})["inhibitory_above_excitatory"] is False


def test_peak_rss_sees_a_block_allocation():
    with PeakRSS() as before:
        pass
    with PeakRSS() as mem:
        a = np.ones(40_000_000)  # 305 MB, freed before the block ends
        del a
    assert mem.peak_mb > before.peak_mb + 250


@needs_nest
@pytest.mark.slow
def test_nest_own_rules_build_the_same_statistics():
    import nest
    from scipy import stats

    from sparse_neuro.experiments.microcircuit import (
        DELAY_E_S,
        PSP_MEAN_V,
        nest_microcircuit,
        psp_to_weight,
    )
    from sparse_neuro.neuro.engines.backends.nest_bridge import release_nest

    scale = 0.002
    mean_ms = DELAY_E_S * 1e3  # normal(mean, mean / 2) redrawn below one step (0.1 ms)
    delay_ms = stats.truncnorm(
        (0.1 - mean_ms) / (mean_ms / 2), np.inf, loc=mean_ms, scale=mean_ms / 2
    )
    model = nest_microcircuit(scale, "dc", 1e-4, seed=0, threads=1)
    counts = synapse_counts(scale)
    w_e = psp_to_weight(PSP_MEAN_V) * 1e3
    for s in (0, 1):  # L2/3E and L2/3I sources: counts, sign, mean weight and delay
        for t, tgt in enumerate(POPULATIONS):
            conns = nest.GetConnections(model.nodes[POPULATIONS[s]], model.nodes[tgt])
            assert len(conns) == counts[t, s]
            if not len(conns):
                continue
            w, d = np.asarray(conns.get("weight")), np.asarray(conns.get("delay"))
            if s == 1:
                assert np.all(w <= 0) and np.mean(w) == pytest.approx(-4 * w_e, rel=0.05)
            else:
                assert np.all(w >= 0) and np.mean(w) == pytest.approx(w_e, rel=0.05)
                assert d.min() >= 0.1 and np.mean(d) == pytest.approx(delay_ms.mean(), rel=0.05)
    rec = model.run(0.01)
    assert set(rec.spikes) == set(POPULATIONS)
    release_nest()


@needs_nest
@pytest.mark.slow
def test_microcircuit_smoke_summary_keys(tmp_path):
    from sparse_neuro.experiments.common import run_experiment

    s = run_experiment("microcircuit", tmp_path, smoke=True)
    for key in ("rate_hz", "nest_rate_hz"):
        assert set(s[key]) == set(POPULATIONS) and all(v >= 0 for v in s[key].values())
    assert s["sim_wall_s"] > 0 and s["nest_sim_wall_s"] > 0
    assert s["peak_rss_mb"] > 0 and s["nest_peak_rss_mb"] > 0 and s["build_wall_s"] > 0
    assert (tmp_path / "microcircuit_raster.png").exists() and (
        tmp_path / "microcircuit_rates.png"
    ).exists()


@needs_nest
@pytest.mark.slow
def test_ours_and_nest_spike_for_spike_on_the_same_synapses():
    # DC from step 0 in both (NEST: the neurons' I_e), same synapses and initial potentials:
    # the same spikes, step for step (a one-step-late DC start sends NEST elsewhere at once)
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.engines.backends.nest_bridge import run_nest

    net = microcircuit_network(scale=0.01, seed=2)
    ours = ClockSimulator(net, 1e-4, threads=1).run(0.03)
    nest = run_nest(net, 0.03, 1e-4)
    total = 0
    for p in POPULATIONS:
        a, b = ours.spikes[p], nest.spikes[p]
        key = np.lexsort((a.indices, a.times_s)), np.lexsort((b.indices, b.times_s))
        np.testing.assert_array_equal(a.indices[key[0]], b.indices[key[1]])
        np.testing.assert_allclose(a.times_s[key[0]], b.times_s[key[1]], atol=1e-9)
        total += a.n_spikes
    assert total > 100  # the initial potentials above threshold alone give many spikes
