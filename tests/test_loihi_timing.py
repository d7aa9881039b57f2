"""Step-time model against hand-computed cases; static and host energy against elapsed time."""

import numpy as np
import pytest

from sparse_neuro.hardware_models import (
    EnergyReport,
    LoihiSpec,
    place,
    preset,
    run_event_queue,
    step_times,
)
from sparse_neuro.hardware_models.event_queue import COUNTERS
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
)


def _counters(rows):
    """per_step array from [{core: {counter: value}}] per step."""
    n_cores = 1 + max(c for step in rows for c in step)
    out = np.zeros((len(rows), n_cores, len(COUNTERS)), np.int64)
    for n, step in enumerate(rows):
        for c, vals in step.items():
            for k, v in vals.items():
                out[n, c, COUNTERS.index(k)] = v
    return out


def test_one_core_step_is_its_work_plus_barrier():
    spec = preset("davies2018")
    ps = _counters(
        [
            {
                0: {
                    "syn_ops": 100,
                    "neuron_active": 10,
                    "neuron_inactive": 30,
                    "msgs_tile": 4,
                    "hops_ew": 2,
                    "hops_ns": 1,
                }
            }
        ]
    )
    t = step_times(ps, spec, n_tiles=1)
    hand = 100 * 3.5 + 10 * 8.4 + 30 * 5.3 + 4 * 2.1 + 2 * 4.1 + 1 * 6.5
    assert t.compute_ns[0] == pytest.approx(hand)
    assert t.total_ns[0] == pytest.approx(hand + 113.0)
    assert t.bound() == {"compute": 1, "link": 0, "barrier": 0, "host": 0}


def test_two_cores_slowest_sets_the_pace_and_barrier_grows_with_tiles():
    spec = preset("sana_fe")  # barrier table 0.6 / 1.0 / 1.4 / 1.8 us at 1 / 2 / 4 / 29 tiles
    ps = _counters(
        [
            {0: {"syn_ops": 50}, 1: {"syn_ops": 200, "spikes_out": 2}},
            {0: {"neuron_inactive": 10}, 1: {}},
        ]
    )
    for tiles, barrier in ((1, 600.0), (2, 1000.0), (3, 1200.0)):
        t = step_times(ps, spec, n_tiles=tiles)
        assert t.total_ns[0] == pytest.approx(200 * 3.8 + 2 * 30.0 + barrier)
        assert t.total_ns[1] == pytest.approx(10 * 6.0 + barrier)
    assert (
        step_times(ps, spec, 1, chip_diameter=3).barrier_ns[0] == 600.0
    )  # no chip term in sana_fe
    assert step_times(ps, preset("nahuku32"), 1, chip_diameter=3).barrier_ns[0] == pytest.approx(
        600.0 + 3 * 465.0
    )


def test_link_bound_step():
    spec = preset("nahuku32")  # 100 messages per us per link (an assumption of the preset)
    ps = _counters([{0: {"syn_ops": 10}}, {0: {"syn_ops": 10}}])
    links = np.array([[50.0, 20_000.0], [10.0, 0.0]])  # step 0: 200 us on the busiest link
    t = step_times(ps, spec, n_tiles=1, link_msgs=links)
    host = spec.t_host_step_ns
    assert t.link_ns[0] == pytest.approx(200_000.0)
    assert t.total_ns[0] == pytest.approx(200_000.0 + 600.0 + host)
    assert t.total_ns[1] == pytest.approx(max(10 * 3.8, 100.0) + 600.0 + host)
    assert t.bound()["link"] == 1
    with pytest.raises(ValueError, match="link_msgs must have shape"):
        step_times(ps, spec, 1, link_msgs=np.zeros((3, 2)))


def test_host_time_per_step_and_per_input_message():
    spec = LoihiSpec(t_host_step_ns=1000.0, t_input_msg_ns=7.0, t_msg_in_ns=2.0)
    ps = _counters([{0: {"input_spikes": 3}, 1: {"input_spikes": 5}}])
    t = step_times(ps, spec, n_tiles=1)
    assert t.host_ns[0] == pytest.approx(1000.0 + 8 * 7.0)
    assert t.compute_ns[0] == pytest.approx(5 * 2.0)  # input messages received by core 1


def _net():
    w = np.full((20, 30), 0.6)
    return Network(
        [Population("b", 30, LIFParams(tau_mem_s=20e-3, v_threshold=1.0))],
        [Projection("src", "b", SparseSynapses.from_dense(w))],
        sources=[SpikeArraySource("src", 20, np.array([0.0, 0.002, 0.004]), np.array([0, 5, 7]))],
    )


@pytest.mark.parametrize("duration", [0.01, 0.03])
def test_static_energy_is_power_times_elapsed_time(duration):
    spec = preset("loihi_measured")
    net = _net()
    _, ctr, m = run_event_queue(net, duration, 1e-3, spec=spec)
    rep = EnergyReport.from_counters(ctr, m, net, spec=spec)
    elapsed = rep.times.elapsed_s
    assert rep.static_pj == pytest.approx(29.5e-3 * elapsed * 1e12)
    assert rep.host_pj == pytest.approx(77.6e-3 * elapsed * 1e12)
    assert rep.energy_per_inference_uj == pytest.approx(
        (rep.total_pj + rep.static_pj + rep.host_pj) * 1e-6
    )
    # a slower host (longer steps) costs static energy in proportion to the elapsed time
    slow = EnergyReport.from_counters(
        ctr, m, net, spec=spec.replace(t_host_step_ns=2 * spec.t_host_step_ns)
    )
    assert slow.static_pj / rep.static_pj == pytest.approx(slow.times.elapsed_s / elapsed)
    assert slow.total_pj == pytest.approx(rep.total_pj)  # dynamic energy unchanged
    # presets without static power report only dynamic energy
    d = EnergyReport.from_counters(ctr, m, net, spec=preset("davies2018"))
    assert d.static_pj == 0.0 and d.energy_per_inference_uj == pytest.approx(d.total_pj * 1e-6)


def test_static_energy_counts_every_chip():
    spec = preset("nahuku32").replace(max_cores=1)  # every core is its own chip
    net = _net()
    cores = {"b": np.repeat(np.arange(3), 10)}
    _, ctr, m = run_event_queue(net, 0.01, 1e-3, spec=spec, mapping=place(net, spec, cores=cores))
    rep = EnergyReport.from_counters(ctr, m, net, spec=spec)
    assert rep.n_chips == 3
    assert rep.static_pj == pytest.approx(3 * spec.p_static_mw * rep.times.elapsed_s * 1e9)


def test_barrier_table_interpolation_and_validation():
    spec = LoihiSpec(barrier_points=((1, 100.0), (3, 300.0), (5, 400.0)))
    assert [spec.barrier_ns(n) for n in (1, 2, 3, 4, 5, 7)] == [
        100.0,
        200.0,
        300.0,
        350.0,
        400.0,
        500.0,
    ]
    assert LoihiSpec(barrier_points=((4, 50.0),)).barrier_ns(1) == 50.0
    for bad in ((), ((2, 1.0), (2, 3.0)), ((0, 1.0),), ((1, -5.0),), "x"):
        with pytest.raises(ValueError, match="barrier_points"):
            LoihiSpec(barrier_points=bad)
    with pytest.raises(ValueError, match="n_tiles must be >= 1"):
        spec.barrier_ns(0)
