"""Multi-chip systems: chip grid and link loads by hand, and a just-under / just-over test for
every multi-chip limit (count-based placement and the event-queue placement)."""

import numpy as np
import pytest

from sparse_neuro.hardware_models import (
    LoihiSpec,
    MappingError,
    NetworkCounts,
    PopulationCount,
    ProjectionCount,
    place,
    place_counts,
    preset,
)
from sparse_neuro.hardware_models.multichip import chip_xy, grid_diameter, link_loads
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
)


def test_chip_grid_and_link_loads_by_hand():
    spec = LoihiSpec(chips_per_board=4, board_width_chips=2, max_boards=2)
    assert chip_xy(6, spec).tolist() == [[0, 0], [1, 0], [0, 1], [1, 1], [2, 0], [3, 0]]
    assert grid_diameter(1, spec) == 0 and grid_diameter(6, spec) == 4
    t = np.zeros((6, 6))
    t[0, 5] = 5.0  # (0,0) -> (3,0): three east links
    t[3, 0] = 2.0  # (1,1) -> (0,0): west on row 1, then north on column 0
    t[2, 2] = 9.0  # stays on chip
    loads = link_loads(t, spec)
    assert loads["east"][0].tolist() == [5.0, 5.0, 5.0]
    assert loads["west"][1].tolist() == [2.0, 0.0, 0.0]
    assert loads["north"][:, 0].tolist() == [2.0]
    assert loads["south"].sum() == 0.0
    assert loads["chip_hops"] == 5 * 3 + 2 * 2


def _counts(n_pre, n_post, p=1.0, rate=10.0, delays=False, compartments=1):
    return NetworkCounts(
        (PopulationCount("a", n_pre, rate), PopulationCount("b", n_post, rate, compartments)),
        (ProjectionCount("a", "b", int(round(p * n_pre * n_post)), delays),),
    )


def test_expected_axons_of_a_dense_projection_are_exact():
    m = place_counts(_counts(100, 50), LoihiSpec())
    assert m.per_core == {"a": 100, "b": 50} and m.n_cores == 2 and m.n_chips == 1
    step = m.step(1e-3)
    assert step["syn_ops"] == pytest.approx(100 * 50 * 10.0 * 1e-3)
    assert step["messages"] == pytest.approx(100 * 10.0 * 1e-3)  # one core of b per spike


def test_chip_count_limit_just_under_and_over():
    spec = LoihiSpec(max_compartments=10, max_cores=4, chips_per_board=2, max_boards=1)
    ok = NetworkCounts((PopulationCount("a", 80, 1.0),), ())  # 8 cores = 2 chips
    m = place_counts(ok, spec)
    assert (m.n_cores, m.n_chips, m.n_boards) == (8, 2, 1)
    bad = NetworkCounts((PopulationCount("a", 81, 1.0),), ())
    with pytest.raises(MappingError, match=r"9 cores = 3 chips .*max_chips=2 .*over by 1 chips"):
        place_counts(bad, spec)
    assert place_counts(bad, spec.replace(max_boards=2)).n_boards == 2


@pytest.mark.parametrize(
    "limit", ["compartments", "synaptic_memory_bytes", "input_axons", "output_axons"]
)
def test_core_limits_just_under_and_over(limit):
    spec = LoihiSpec()
    if limit == "compartments":
        ok, bad = _counts(1, 1, compartments=1024), _counts(1, 1, compartments=1025)
    elif limit == "synaptic_memory_bytes":  # dense projection: 8 weight bits per synapse
        spec = spec.replace(max_input_axons=10**7)
        n_fit = spec.synaptic_memory_bytes
        ok, bad = _counts(n_fit, 1), _counts(n_fit + 1, 1)
    elif limit == "input_axons":
        spec = spec.replace(synaptic_memory_bytes=10**7)
        ok, bad = _counts(4096, 1), _counts(4097, 1)
    else:  # one neuron of a reaching 4,096 / 4,097 cores of b (one neuron per core)
        spec = spec.replace(max_compartments=1)
        ok, bad = _counts(1, 4096), _counts(1, 4097)
    assert (
        place_counts(ok, spec, check=False).per_core["b" if limit != "output_axons" else "a"] == 1
    )
    with pytest.raises(
        MappingError,
        match=rf"one neuron alone does not fit a core: {limit} = .* "
        rf"exceeds .* by 1\b",
    ):
        place_counts(bad, spec, check=False)


def test_link_capacity_just_under_and_over():
    spec = preset("nahuku32").replace(max_compartments=100, max_cores=1, max_output_axons=10**6)
    m = place_counts(_counts(100, 100, rate=1000.0), spec)  # a on chip 0, b on chip 1
    need = m.step(1e-3)["link_max_msgs"]
    assert need == pytest.approx(100 * 1000.0 * 1e-3)  # every spike of a crosses the one link
    budget = need / spec.link_msgs_per_us * 1e3  # ns at which the link is exactly full
    m.check_links(1e-3, budget)
    with pytest.raises(
        MappingError,
        match=r"inter-chip link traffic 100.0 messages per step "
        r"exceeds the link capacity",
    ):
        m.check_links(1e-3, budget * 0.99)


def test_event_queue_placement_system_core_limit_just_under_and_over():
    spec = LoihiSpec(max_cores=2, chips_per_board=2, board_width_chips=2)  # 4 cores in the system

    def net(n):
        return Network(
            [Population("b", n, LIFParams())],
            [Projection("s", "b", SparseSynapses.from_dense(np.ones((1, n))))],
            sources=[SpikeArraySource("s", 1, np.zeros(0), np.zeros(0, int))],
        )

    m = place(net(4), spec, cores={"b": np.arange(4)})
    assert m.n_cores == 4
    with pytest.raises(
        MappingError, match=r"uses 5 cores .*max_cores=2 \(over by 1\) per chip x 2 chips"
    ):
        place(net(5), spec, cores={"b": np.arange(5)})


def test_microcircuit_counts_match_the_published_totals():
    from sparse_neuro.experiments.loihi_calibration import microcircuit_counts

    c = microcircuit_counts()
    assert c.n_neurons == 77169
    assert 2.9e8 < c.n_synapses < 3.1e8  # "0.3 billion synapses" (van Albada et al. 2018)
    with pytest.raises(MappingError, match="input_axons = .* exceeds max_input_axons=4096"):
        place_counts(c, preset("pohoiki_springs"))


def test_step_work_time_and_energy_by_hand():
    spec = LoihiSpec()  # davies2018: no spike-out / message-out costs, barrier 113 ns at 1 tile
    m = place_counts(_counts(100, 50, rate=10.0), spec)
    s = m.step(1e-3)
    act_a = 100 * (1 - np.exp(-1.0 / 100))  # a: 1 spike per step, no input
    act_b = 50 * (1 - np.exp(-(0.5 + 50.0) / 50))  # b: 0.5 spikes, 50 synaptic events
    hop_ew, hop_ns = 63 / 24, 15 / 12  # mean tile distances on the 8 x 4 mesh
    e_a = act_a * 81.0 + (100 - act_a) * 52.0 + 1.0 * (hop_ew * 3.0 + hop_ns * 4.0)
    e_b = 50 * 23.6 + act_b * 81.0 + (50 - act_b) * 52.0
    assert s["energy_pj"]["dynamic"] == pytest.approx(e_a + e_b)
    t_a = act_a * 8.4 + (100 - act_a) * 5.3 + hop_ew * 4.1 + hop_ns * 6.5
    t_b = 50 * 3.5 + act_b * 8.4 + (50 - act_b) * 5.3
    assert s["compute_ns"] == pytest.approx(max(t_a, t_b))
    assert s["barrier_ns"] == pytest.approx(113.0) and s["step_ns"] == pytest.approx(
        max(t_a, t_b) + 113.0
    )
    assert s["energy_per_syn_event_uj"] == pytest.approx((e_a + e_b) / 50 * 1e-6)
