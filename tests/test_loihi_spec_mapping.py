"""LoihiSpec presets/validation and the mapping's resource checks (just under / just over)."""

import json

import numpy as np
import pytest

from sparse_neuro.hardware_models import LoihiSpec, MappingError, load_spec, place, preset
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
)


def test_default_preset_is_davies_table2():
    s = preset()
    assert (s.e_syn_op_pj, s.e_syn_update_pj, s.e_neuron_active_pj, s.e_neuron_inactive_pj) == (
        23.6,
        120.0,
        81.0,
        52.0,
    )
    assert (s.e_spike_tile_pj, s.e_hop_ew_pj, s.e_hop_ns_pj) == (1.7, 3.0, 4.0)
    assert (
        s.max_compartments,
        s.synaptic_memory_bytes,
        s.max_input_axons,
        s.max_output_axons,
        s.cores_per_tile,
    ) == (1024, 131072, 4096, 4096, 4)
    assert "Davies" in s.source
    assert s.barrier_ns(1) == 113.0 and s.barrier_ns(32) == 465.0
    assert preset("sana_fe").e_syn_op_pj == 35.5 and preset("sana_fe").e_hop_ns_pj == 4.2
    assert preset("kerasspiking").e_syn_op_pj == pytest.approx(27.1)


def test_spec_validation_and_file_round_trip(tmp_path):
    with pytest.raises(ValueError, match="e_syn_op_pj"):
        LoihiSpec(e_syn_op_pj=-1.0)
    with pytest.raises(ValueError, match="weight_bits"):
        LoihiSpec(weight_bits=12)
    with pytest.raises(ValueError, match="unknown Loihi preset"):
        preset("truenorth")
    with pytest.raises(ValueError, match="unknown LoihiSpec fields"):
        preset().replace(e_magic_pj=1.0)
    p = tmp_path / "spec.json"
    preset("sana_fe").to_json(p)
    assert load_spec(p) == preset("sana_fe")
    p.write_text(json.dumps({"base": "davies2018", "e_syn_op_pj": 30.0}))
    assert load_spec(p).e_syn_op_pj == 30.0 and load_spec(p).e_hop_ew_pj == 3.0


def _net(n_src, n_post, mask=None, n_channels=0):
    params = LIFParams(tau_syn_s=(5e-3,) * n_channels)
    w = np.ones((n_src, n_post)) if mask is None else mask.astype(float)
    return Network(
        [Population("b", n_post, params)],
        [Projection("src", "b", SparseSynapses.from_dense(w * 0.1))],
        sources=[SpikeArraySource("src", n_src, np.zeros(0), np.zeros(0, int))],
    )


def test_compartment_limit_just_under_and_over():
    net_ok, net_bad = _net(1, 1024), _net(1, 1025)
    m = place(net_ok, cores={"b": 0})
    assert m.usage["compartments"][0] == 1024
    with pytest.raises(
        MappingError,
        match=r"core 0 .*compartments = 1025 exceeds the limit "
        r"max_compartments=1024 by 1",
    ):
        place(net_bad, cores={"b": 0})
    assert place(net_bad).n_cores == 2  # default placement splits
    # two current channels -> two compartments per neuron
    m2 = place(_net(1, 512, n_channels=2), cores={"b": 0})
    assert m2.usage["compartments"][0] == 1024
    with pytest.raises(MappingError, match="by 2"):
        place(_net(1, 513, n_channels=2), cores={"b": 0})


def test_synaptic_memory_limit_just_under_and_over():
    spec = LoihiSpec(synaptic_memory_bytes=900)  # 18 bits per synapse -> 400 synapses
    assert spec.synapse_bits(False) == 18
    mask = np.zeros((20, 21), bool)
    mask[:, :20] = True
    m = place(_net(20, 21, mask), spec, cores={"b": 0})
    assert m.usage["synaptic_memory_bytes"][0] == 900
    mask[0, 20] = True  # 401 x 18 bits = 902.25 B -> 903 B
    with pytest.raises(
        MappingError,
        match=r"synaptic_memory_bytes = 903 exceeds the limit "
        r"synaptic_memory_bytes=900 by 3",
    ):
        place(_net(20, 21, mask), spec, cores={"b": 0})
    assert place(_net(20, 21, mask), spec).n_cores == 2


def test_input_axon_limit_just_under_and_over():
    m = place(_net(4096, 1), cores={"b": 0})
    assert m.usage["input_axons"][0] == 4096
    with pytest.raises(
        MappingError,
        match=r"input_axons = 4097 exceeds the limit "
        r"max_input_axons=4096 by 1",
    ):
        place(_net(4097, 1), cores={"b": 0})
    with pytest.raises(
        MappingError,
        match=r"neuron 0 alone .*4097 input axons exceed "
        r"max_input_axons=4096 by 1",
    ):
        place(_net(4097, 1))


def test_output_axon_limit_just_under_and_over():
    spec = LoihiSpec(max_output_axons=8)
    params = LIFParams()

    def net(n_b):
        return Network(
            [Population("a", 4, params), Population("b", n_b, params)],
            [Projection("a", "b", SparseSynapses.from_dense(np.full((4, n_b), 0.1)))],
        )

    m = place(net(2), spec, cores={"a": 0, "b": np.array([1, 2])})
    assert m.usage["output_axons"][0] == 8
    with pytest.raises(
        MappingError,
        match=r"core 0 .*output_axons = 12 exceeds the limit "
        r"max_output_axons=8 by 4",
    ):
        place(net(3), spec, cores={"a": 0, "b": np.array([1, 2, 3])})
    m = place(net(3), spec)  # default placement shrinks a's cores until it fits
    assert np.all(m.usage["output_axons"] <= 8)


def test_too_many_cores_and_bad_user_placement():
    spec = LoihiSpec(max_cores=2)
    with pytest.raises(MappingError, match="max_cores=2 .over by 1"):
        place(_net(1, 3000), spec)
    with pytest.raises(ValueError, match="missing"):
        place(_net(1, 3), cores={})
    with pytest.raises(ValueError, match="cores\\['b'\\]"):
        place(_net(1, 3), cores={"b": np.array([0, 1])})


def test_default_placement_mesh_and_report():
    spec = LoihiSpec(cores_per_tile=2, mesh_width_tiles=2)
    m = place(_net(10, 4000), spec)
    assert m.n_cores == 4
    # serpentine over a 2-wide mesh: tiles (0,0), (1,0), then the next row
    assert m.core_xy.tolist() == [[0, 0], [0, 0], [1, 0], [1, 0]]
    ew, ns = m.hops(np.array([0]), np.array([3]))
    assert (int(ew[0]), int(ns[0])) == (1, 0)
    txt = m.report()
    assert "core" in txt and txt.count("\n") == 1 + m.n_cores


def test_energy_figures_take_mapping_coordinates():
    from sparse_neuro.neuro.plotting import core_heatmap, energy_breakdown

    m = place(_net(10, 3000))
    fig = core_heatmap(np.arange(m.n_cores, dtype=float), m.core_xy, m.spec.cores_per_tile)
    assert len(fig.axes) == 2  # map and colour bar
    with pytest.raises(ValueError, match="core_xy must have shape"):
        core_heatmap(np.ones(m.n_cores + 1), m.core_xy)
    fig = energy_breakdown({"a": {"syn_ops": 1.0, "neuron_active": 2.0}, "b": {"dense_mac": 5.0}})
    assert len(fig.axes[0].patches) == 3 * 2  # 3 categories x 2 bars (zeros drawn)
    bottoms = [p.get_y() for p in fig.axes[0].patches]
    assert max(bottoms) == 3.0  # linear axis: stacked
    # log axis: totals unstacked on the log panel, composition in % on a linear one
    fig = energy_breakdown(
        {"a": {"syn_ops": 1.0, "neuron_active": 3.0}, "b": {"dense_mac": 500.0}}, log=True
    )
    ax_t, ax_c = fig.axes
    assert ax_t.get_yscale() == "log" and ax_c.get_yscale() == "linear"
    assert [p.get_height() for p in ax_t.patches] == [4.0, 500.0]
    assert all(p.get_y() == 0 for p in ax_t.patches)
    np.testing.assert_allclose([p.get_height() for p in ax_c.patches], [25, 0, 75, 0, 0, 100])
    # heat map colour scale starts at zero
    fig = core_heatmap(np.array([5.0, 7.0]), np.array([[0, 0], [1, 0]]), 1)
    assert fig.axes[0].images[0].get_clim() == (0.0, 7.0)
    with pytest.raises(ValueError, match="at least one bar"):
        energy_breakdown({})


def test_delay_limit():
    def net(d):
        return Network(
            [Population("b", 2)],
            [Projection("src", "b", SparseSynapses.from_dense(np.ones((1, 2)), delay=d))],
            sources=[SpikeArraySource("src", 1, np.zeros(0), np.zeros(0, int))],
        )

    place(net(62))
    with pytest.raises(MappingError, match="delay 63 steps exceeds max_delay_steps=62 by 1"):
        place(net(63))


def test_default_placement_keeps_connected_neurons_close():
    # a chain src -> a -> b -> c -> d declared in scrambled order; 4 cores per population
    spec = LoihiSpec(max_compartments=64, cores_per_tile=2, mesh_width_tiles=4)
    params = LIFParams()
    names = ["c", "a", "d", "b"]
    chain = [("a", "b"), ("b", "c"), ("c", "d")]
    projs = [Projection("src", "a", SparseSynapses.fixed_probability(10, 256, 0.1, 0.1, seed=0))]
    projs += [
        Projection(x, y, SparseSynapses.fixed_probability(256, 256, 0.05, 0.1, seed=1))
        for x, y in chain
    ]
    net = Network(
        [Population(n, 256, params) for n in names],
        projs,
        sources=[SpikeArraySource("src", 10, np.zeros(0), np.zeros(0, int))],
    )
    m = place(net, spec)
    assert [int(m.population_cores(n).min()) for n in "abcd"] == [0, 4, 8, 12]  # chain order
    rng = np.random.default_rng(0)
    perm = rng.permutation(16)
    shuffled = place(
        net,
        spec,
        cores={
            n: perm[m.core_of[m.population_offsets[k] : m.population_offsets[k + 1]]]
            for k, n in enumerate(m.population_names)
        },
    )
    assert m.mean_synapse_hops(net) < shuffled.mean_synapse_hops(net)


def test_loihi2_preset_holds_8192_compartments_per_core():
    net = Network([Population("a", 8192), Population("b", 8193)])
    assert place(net, preset("loihi2")).n_cores == 1 + 2
    assert place(net, preset("loihi_measured")).n_cores == 8 + 9
    l2, l1 = preset("loihi2"), preset("loihi_measured")
    assert (
        "NOT PUBLISHED" in l2.source
        and l2.replace(max_compartments=1024, name=l1.name, source=l1.source) == l1
    )
