"""Engine core: the external drive stage, run splitting, chunking, threads and the Loihi model
give the same spikes; the drive's statistics and counters."""

from __future__ import annotations

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
from sparse_neuro.neuro.engines import ClockSimulator, layout, make_simulator
from sparse_neuro.neuro.model.inputs import PoissonInput, PoissonSource
from sparse_neuro.neuro.model.record import SpikeMonitor, StateMonitor

DT = 1e-4


def _driven_network() -> Network:
    """Several Poisson sources and PoissonInput drives (a delta and an exponential channel),
    delays and recurrence: every way of cutting a run must give the same spikes."""
    rng = np.random.default_rng(11)
    srcs = [PoissonSource(f"s{k}", 30, 20.0 + 15 * k) for k in range(3)]
    delta = LIFParams(tau_mem_s=10e-3, t_ref_s=2e-3)
    expo = LIFParams(tau_mem_s=20e-3, t_ref_s=1e-3, tau_syn_s=(5e-3, 10e-3))
    projs = [
        Projection(
            s.name,
            "a",
            SparseSynapses.fixed_probability(
                30, 120, 0.1, 0.25, delay=2, seed=rng, dtype=np.float64
            ),
        )
        for s in srcs
    ]
    projs += [
        Projection(
            "a",
            "a",
            SparseSynapses.fixed_probability(
                120, 120, 0.05, -0.1, delay=3, seed=rng, allow_self=False, dtype=np.float64
            ),
        ),
        Projection(
            "a",
            "b",
            SparseSynapses.fixed_probability(
                120, 80, 0.1, 0.3, delay=1, seed=rng, dtype=np.float64
            ),
            receptor=1,
        ),
    ]
    drives = [PoissonInput("a", 50, 10.0, 0.12), PoissonInput("b", 80, 12.0, 0.35, receptor=0)]
    return Network(
        [Population("a", 120, delta), Population("b", 80, expo)],
        projs,
        srcs,
        drives=drives,
        monitors=[SpikeMonitor("a"), SpikeMonitor("b")],
    )


def _spikes(recs: list) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        name: (
            np.concatenate([np.round(r.spikes[name].times_s / DT) for r in recs]),
            np.concatenate([r.spikes[name].indices for r in recs]),
        )
        for name in ("a", "b")
    }


def test_spikes_do_not_depend_on_how_a_run_is_cut(monkeypatch):
    net = _driven_network()
    whole = _spikes([ClockSimulator(net, DT, seed=4).run(0.3)])
    assert whole["a"][0].size > 500 and whole["b"][0].size > 500
    sim = ClockSimulator(net, DT, seed=4)
    variants = {
        "three runs": [sim.run(0.1), sim.run(0.1), sim.run(0.1)],
        "chunk_steps=777": [ClockSimulator(net, DT, seed=4, chunk_steps=777).run(0.3)],
        "1 thread": [ClockSimulator(net, DT, seed=4, threads=1).run(0.3)],
        "2 threads": [ClockSimulator(net, DT, seed=4, threads=2).run(0.3)],
        "loihi-float": [make_simulator(net, DT, "loihi-float", seed=4).run(0.3)],
    }
    # partitioned as a large network is (here 16 partitions of 200 neurons), 1 or 2 threads
    monkeypatch.setattr(layout, "PARALLEL_MIN_NEURONS", 0)
    for threads in (1, 2):
        sim = ClockSimulator(net, DT, seed=4, threads=threads)
        assert sim.plan.model.bounds.size == layout.N_PARTITIONS + 1
        variants[f"{layout.N_PARTITIONS} partitions, {threads} threads"] = [sim.run(0.3)]
    for label, recs in variants.items():
        got = _spikes(recs)
        for name in ("a", "b"):
            np.testing.assert_array_equal(got[name][0], whole[name][0], err_msg=label)
            np.testing.assert_array_equal(got[name][1], whole[name][1], err_msg=label)
    other_seed = _spikes([ClockSimulator(net, DT, seed=5).run(0.3)])
    assert not np.array_equal(other_seed["a"][1], whole["a"][1])


def _free_membrane(receptor_channels: int, backend: str = "clock", **options):
    """Neurons that never spike and barely leak: ``v`` sums the drive's inputs."""
    p = LIFParams(tau_mem_s=1e6, v_threshold=1e3, tau_syn_s=(1e6,) * receptor_channels)
    net = Network(
        [Population("p", 400, p)],
        drives=[PoissonInput("p", 40, 25.0, 0.5)],
        monitors=[StateMonitor("p", "v", np.arange(400))],
    )
    return make_simulator(net, 1e-3, backend, seed=9, **options)


def test_drive_adds_poisson_counts_of_the_right_mean_and_variance():
    n_steps, lam, w = 200, 40 * 25.0 * 1e-3, 0.5
    sim = _free_membrane(0)
    sim.run(n_steps * 1e-3)
    total = sim.state.v / w  # input count of each neuron over the run (leak ~1e-7)
    np.testing.assert_allclose(total, np.rint(total), atol=1e-3)
    mean, var = lam * n_steps, lam * n_steps  # Poisson: mean = variance
    assert abs(total.mean() - mean) < 4 * np.sqrt(var / total.size)
    assert 0.75 * var < total.var() < 1.3 * var


def test_drive_on_an_exponential_channel_reaches_the_current():
    sim = _free_membrane(1)
    sim.run(0.05)
    total = sim.state.syn[0] / 0.5
    assert total.mean() == pytest.approx(40 * 25.0 * 1e-3 * 50, rel=0.1)
    np.testing.assert_allclose(total, np.rint(total), atol=1e-3)


def test_loihi_counts_every_drive_input_as_an_input_spike():
    sim = _free_membrane(0, "loihi-float")
    sim.run(0.05)
    v = sim.state_dict()["v"]
    ctr = sim.counters()
    assert ctr.total("input_spikes") == int(np.rint(v.sum() / 0.5)) > 0
    assert ctr.total("syn_ops") == ctr.total("input_spikes")


def test_loihi_fixed_mode_runs_the_drive_in_integers():
    fixed = _free_membrane(0, "loihi-fixed")
    fixed.run(0.05)
    flt = _free_membrane(0, "loihi-float")
    flt.run(0.05)
    # same counts, one integer weight per input: v_int is a multiple of it
    assert fixed.counters().total("input_spikes") == flt.counters().total("input_spikes")
    v_int = fixed.state_dict()["v"]
    w_int = int(fixed.drives.weight[0])
    assert w_int > 0 and np.all(v_int % w_int == 0)


def test_bad_options_are_rejected():
    net = _driven_network()
    with pytest.raises(ValueError, match="chunk_steps"):
        ClockSimulator(net, DT, chunk_steps=0)
    with pytest.raises(ValueError, match="threads"):
        ClockSimulator(net, DT, threads=0)
    too_many = Network([Population("p", 2)], drives=[PoissonInput("p", 10**6, 1e4, 0.1)])
    with pytest.raises(ValueError, match="n_inputs \\* rate_hz \\* dt"):
        ClockSimulator(too_many, DT)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_threshold_scan_equals_update_then_scan(dtype):
    """lif_update's block-wise scan finds exactly the crossings a separate scan after the
    update finds (refractory neurons above threshold excluded), in neuron order, and leaves
    the same state; sizes around the block length."""
    from sparse_neuro.neuro.engines.primitives import SCAN_BLOCK, crossings, lif_update

    rng = np.random.default_rng(3)
    for m in (1, SCAN_BLOCK - 1, SCAN_BLOCK, 3 * SCAN_BLOCK + 17):
        v = rng.uniform(-1.0, 1.3, m).astype(dtype)
        s0 = rng.normal(0, 0.2, m).astype(dtype)
        s1 = rng.normal(0, 0.2, m).astype(dtype)
        drive = rng.normal(0, 0.1, m).astype(dtype)
        last = rng.integers(90, 101, m).astype(np.int64)  # step 100, 5 refractory steps
        a = (v.copy(), s0.copy(), s1.copy())
        b = (v.copy(), s0.copy(), s1.copy())
        consts = (
            (dtype(0.9), dtype(0.2), dtype(0.05), dtype(-0.03), dtype(0.8), dtype(0.9)),
            5,
            dtype(1.0),
        )
        cand_f = np.full(m, -1, np.int64)
        n_f = lif_update(100, *a, last, drive, *consts, True, 7, cand_f)
        assert lif_update(100, *b, last, drive, *consts, False, 7, np.empty(0, np.int64)) == 0
        cand_s = np.full(m, -1, np.int64)
        n_s = crossings(100, b[0], last, b[0], False, dtype(1.0), 5, 7, cand_s)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        assert n_f == n_s
        assert n_f > 0 or m == 1  # the case has crossings to find
        np.testing.assert_array_equal(cand_f[:n_f], cand_s[:n_s])
        expect = 7 + np.flatnonzero((b[0] > 1.0) & (100 - last >= 5))
        np.testing.assert_array_equal(cand_s[:n_s], expect)
