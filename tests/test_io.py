"""HDF5 I/O: exact round trips, atomic writes, clear errors for bad files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sparse_neuro.neuro import (
    CurrentInjection,
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    RateMonitor,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
    StateMonitor,
)
from sparse_neuro.neuro.engines import simulate
from sparse_neuro.neuro.storage.hdf5 import (
    SCHEMA_VERSION,
    atomic_h5,
    load_network,
    load_recording,
    read_arrays,
    save_network,
    save_recording,
    write_arrays,
)
from sparse_neuro.neuro.storage.integrity import FormatError


def _network() -> Network:
    rng = np.random.default_rng(0)
    exc = Population(
        "exc",
        30,
        LIFParams(
            tau_mem_s=20e-3,
            v_rest=-0.049,
            v_reset=-0.06,
            v_threshold=-0.05,
            t_ref_s=5e-3,
            tau_syn_s=(5e-3, 10e-3),
        ),
        v_init=rng.uniform(-0.06, -0.05, 30),
    )
    out = Population(
        "out", 4, LIFParams(reset_mode="subtract", bias=0.5), kwta_k=2, kwta_losers="hold"
    )
    w_rec = SparseSynapses.fixed_probability(30, 30, 0.2, 1.62e-3, seed=1, allow_self=False)
    w_rec = SparseSynapses(
        w_rec.indptr, w_rec.indices, w_rec.weights, rng.integers(0, 300, w_rec.n_synapses), 30
    )  # uint16 delays
    return Network(
        [exc, out],
        [
            Projection(
                "inp", "exc", SparseSynapses.fixed_probability(8, 30, 0.5, 2e-3, delay=2, seed=2)
            ),
            Projection("exc", "exc", w_rec, receptor=1),
            Projection(
                "exc",
                "out",
                SparseSynapses.fixed_probability(30, 4, 0.5, 0.3, seed=3, dtype=np.float64),
            ),
            Projection("arr", "out", SparseSynapses.from_dense(np.eye(2, 4) * 0.7)),
        ],
        [
            PoissonSource("inp", 8, rng.uniform(5, 50, 8)),
            SpikeArraySource("arr", 2, [0.001, 0.0015, 0.02], [1, 0, 1]),
        ],
        [
            CurrentInjection("out", np.array([0.1, 0.2, 0.3, 0.4]), 0.01, 0.05),
            CurrentInjection("exc", 1e-3),
        ],
        [
            SpikeMonitor("exc"),
            SpikeMonitor("arr"),
            RateMonitor("out"),
            StateMonitor("exc", "I1", np.array([0, 5]), every_steps=2),
        ],
    )


def _assert_networks_equal(a: Network, b: Network) -> None:
    assert [p.name for p in a.populations] == [p.name for p in b.populations]
    for pa, pb in zip(a.populations, b.populations):
        assert pa.size == pb.size and pa.params == pb.params
        assert pa.kwta_k == pb.kwta_k and pa.kwta_losers == pb.kwta_losers
        np.testing.assert_array_equal(pa.v_init, pb.v_init)
    for ra, rb in zip(a.projections, b.projections, strict=True):
        assert (ra.source, ra.target, ra.receptor) == (rb.source, rb.target, rb.receptor)
        for f in ("indptr", "indices", "weights", "delays"):
            xa, xb = getattr(ra.synapses, f), getattr(rb.synapses, f)
            assert xa.dtype == xb.dtype, f
            np.testing.assert_array_equal(xa, xb)
        assert ra.synapses.n_post == rb.synapses.n_post
    for sa, sb in zip(a.sources, b.sources, strict=True):
        assert type(sa) is type(sb) and sa.name == sb.name and sa.size == sb.size
    for ca, cb in zip(a.currents, b.currents, strict=True):
        assert (ca.target, ca.start_s, ca.stop_s) == (cb.target, cb.start_s, cb.stop_s)
        np.testing.assert_array_equal(ca.amplitude, cb.amplitude)
    assert [type(m) for m in a.monitors] == [type(m) for m in b.monitors]


def test_network_round_trip_is_identical_and_simulates_identically(tmp_path):
    net = _network()
    path = tmp_path / "net.h5"
    save_network(path, net)
    back = load_network(path)
    _assert_networks_equal(net, back)
    np.testing.assert_array_equal(back.sources[0].rate_hz, net.sources[0].rate_hz)
    np.testing.assert_array_equal(back.sources[1].times_s, net.sources[1].times_s)
    ra, rb = simulate(net, 0.1, 1e-4, seed=3), simulate(back, 0.1, 1e-4, seed=3)
    assert ra.spikes["exc"].n_spikes > 0
    for k in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[k].times_s, rb.spikes[k].times_s)
        np.testing.assert_array_equal(ra.spikes[k].indices, rb.spikes[k].indices)
    np.testing.assert_array_equal(ra.states["exc.I1"].values, rb.states["exc.I1"].values)


def test_recording_round_trip(tmp_path):
    rec = simulate(_network(), 0.05, 1e-4, seed=1)
    path = tmp_path / "rec.h5"
    save_recording(path, rec)
    back = load_recording(path)
    assert back.dt_s == rec.dt_s and back.duration_s == rec.duration_s
    assert back.meta == rec.meta
    assert list(back.spikes) == list(rec.spikes)
    for k, st in rec.spikes.items():
        b = back.spikes[k]
        assert (b.size, b.duration_s) == (st.size, st.duration_s)
        np.testing.assert_array_equal(b.times_s, st.times_s)
        np.testing.assert_array_equal(b.indices, st.indices)
    for k, tr in rec.states.items():
        for f in ("times_s", "indices", "values"):
            np.testing.assert_array_equal(getattr(back.states[k], f), getattr(tr, f))
    np.testing.assert_array_equal(back.rates["out"], rec.rates["out"])


def test_write_arrays_appends_and_replaces(tmp_path):
    path = tmp_path / "results.h5"
    write_arrays(
        path,
        "train/epoch_1",
        {"loss": np.array([0.5, 0.4]), "names": np.array(["a", "b"])},
        attrs={"lr": 1e-3, "layers": [64, 10], "cfg": {"k": 1}},
    )
    write_arrays(path, "train/epoch_2", {"loss": np.array([0.3])})
    write_arrays(path, "train/epoch_1", {"loss": np.array([9.0])})
    write_arrays(path, "/", {"top": 3})
    e1 = read_arrays(path, "train/epoch_1")
    np.testing.assert_array_equal(e1["loss"], [9.0])
    assert list(e1["names"]) == ["a", "b"]
    np.testing.assert_array_equal(read_arrays(path, "train/epoch_2")["loss"], [0.3])
    assert read_arrays(path)["top"] == 3
    with h5py.File(path) as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION and f.attrs["format"] == "neuro-results"
        assert f["train/epoch_1"].attrs["lr"] == 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.h5"]  # no temp files left


def test_failed_write_leaves_old_file_untouched(tmp_path):
    path = tmp_path / "results.h5"
    write_arrays(path, "a", {"x": np.arange(3)})
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_h5(path) as f:
            f["y"] = np.arange(10)
            raise RuntimeError("boom")
    with pytest.raises(TypeError, match="object"):
        write_arrays(path, "a", {"bad": np.array([object()])})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.h5"]


def test_truncated_file_error_names_file(tmp_path):
    good = tmp_path / "net.h5"
    save_network(good, _network())
    bad = tmp_path / "cut.h5"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FormatError, match=r"cut\.h5.*(truncated|damaged)"):
        load_network(bad)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(FormatError, match="junk.h5"):
        load_recording(junk)


def test_foreign_wrong_kind_and_newer_files(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.arange(3)
    with pytest.raises(FormatError, match=r"foreign\.h5.*not a neuro file"):
        load_network(foreign)
    with pytest.raises(FormatError, match="foreign.h5"):
        write_arrays(foreign, "g", {"x": np.arange(2)})
    net_path = tmp_path / "net.h5"
    save_network(net_path, _network())
    with pytest.raises(FormatError, match=r"net\.h5.*'neuro-network'.*expected 'neuro-recording'"):
        load_recording(net_path)
    with h5py.File(net_path, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(
        FormatError, match=rf"net\.h5.*schema version {SCHEMA_VERSION + 1} is newer"
    ):
        load_network(net_path)


def test_missing_content_is_a_format_error(tmp_path):
    path = tmp_path / "net.h5"
    save_network(path, _network())
    with h5py.File(path, "a") as f:
        del f["projections/1/weights"]
    with pytest.raises(FormatError, match=r"net\.h5.*/projections/1/weights is missing"):
        load_network(path)
    assert issubclass(FormatError, ValueError)


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        load_network(tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError, match="directory"):
        save_network(tmp_path / "no_dir" / "x.h5", _network())
    with pytest.raises(TypeError, match="Network"):
        save_network(tmp_path / "x.h5", "not a network")


def test_exact_engine_recording_with_nan_dt_and_numpy_meta(tmp_path):
    from sparse_neuro.neuro.engines import simulate_exact
    from sparse_neuro.neuro.model.record import Recording

    net = Network([Population("a", 2, LIFParams(bias=1.5))], monitors=[SpikeMonitor("a")])
    rec = simulate_exact(net, 0.1)
    rec = Recording(
        rec.spikes,
        rec.states,
        rec.rates,
        float("nan"),
        rec.duration_s,
        {**rec.meta, "np_value": np.float32(0.5), "arr": np.arange(3)},
    )
    save_recording(tmp_path / "e.h5", rec)
    back = load_recording(tmp_path / "e.h5")
    assert np.isnan(back.dt_s)
    assert back.meta["np_value"] == 0.5 and back.meta["arr"] == [0, 1, 2]
    np.testing.assert_array_equal(back.spikes["a"].times_s, rec.spikes["a"].times_s)
    with pytest.raises(ValueError, match="meta"):
        save_recording(tmp_path / "f.h5", Recording({}, {}, {}, 1e-4, 0.1, {"x": object()}))


def test_plasticity_rule_round_trip(tmp_path):
    plasticity = pytest.importorskip("sparse_neuro.neuro.model.plasticity_rules")
    rule = plasticity.STDPRule(a_plus=0.02, pairing="nearest", tau_eligibility_s=0.2)
    net = _network()
    pr = net.projections[2]
    from dataclasses import replace

    net = replace(
        net, projections=(*net.projections[:2], replace(pr, plasticity=rule), net.projections[3])
    )
    save_network(tmp_path / "p.h5", net)
    back = load_network(tmp_path / "p.h5")
    assert back.projections[2].plasticity == rule
    assert back.projections[0].plasticity is None
    with pytest.raises(TypeError, match="STDPRule"):  # a Projection takes known rules only
        replace(pr, plasticity=object())


def test_population_adaptation_round_trip(tmp_path):
    import dataclasses

    # the field must exist: a renamed field would otherwise be lost from files silently
    assert "adaptation" in {f.name for f in dataclasses.fields(Population)}
    from sparse_neuro.neuro.model.plasticity_rules import ThresholdAdaptation

    ad = ThresholdAdaptation(theta_plus=0.1, theta_init=0.2)  # tau_theta_s = inf
    net = Network([Population("a", 3, LIFParams(), adaptation=ad), Population("b", 2)])
    save_network(tmp_path / "a.h5", net)
    back = load_network(tmp_path / "a.h5")
    assert back.populations[0].adaptation == ad
    assert back.populations[1].adaptation is None


def test_recording_of_a_continued_run_keeps_its_start_time(tmp_path):
    """A recording from t > 0 (absolute times, t_start_s set) loads with the same interval."""
    from sparse_neuro.neuro import (
        LIFParams,
        Network,
        PoissonSource,
        Population,
        Projection,
        SparseSynapses,
        SpikeMonitor,
    )
    from sparse_neuro.neuro.engines import ClockSimulator
    from sparse_neuro.neuro.storage.hdf5 import load_recording, save_recording

    net = Network(
        [Population("e", 20, LIFParams(tau_mem_s=10e-3))],
        [Projection("p", "e", SparseSynapses.fixed_probability(30, 20, 0.3, 0.4, seed=0))],
        sources=[PoissonSource("p", 30, rate_hz=200.0)],
        monitors=[SpikeMonitor("e")],
    )
    sim = ClockSimulator(net, 1e-4, seed=0)
    sim.run(0.05)
    rec = sim.run(0.05)
    st = rec.spikes["e"]
    assert st.t_start_s == pytest.approx(0.05) and st.n_spikes > 0
    save_recording(tmp_path / "r.h5", rec)
    back = load_recording(tmp_path / "r.h5")
    b = back.spikes["e"]
    assert b.t_start_s == st.t_start_s and b.duration_s == st.duration_s
    assert np.array_equal(b.times_s, st.times_s) and np.array_equal(b.indices, st.indices)
    assert np.array_equal(b.rate_hz(0.01)[1], st.rate_hz(0.01)[1])


def test_conductance_population_round_trip(tmp_path):
    coba = LIFParams(
        tau_mem_s=20e-3,
        v_rest=-0.06,
        v_reset=-0.06,
        v_threshold=-0.05,
        tau_syn_s=(5e-3, 10e-3),
        e_rev=(0.0, -0.08),
    )
    net = Network([Population("a", 5, coba), Population("b", 2)])
    save_network(tmp_path / "c.h5", net)
    back = load_network(tmp_path / "c.h5")
    assert back.populations[0].params == coba and back.populations[0].params.conductance_based
    assert not back.populations[1].params.conductance_based
