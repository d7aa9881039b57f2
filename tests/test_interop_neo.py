"""Neo round trip of a simulated recording, and Elephant statistics equal to ours."""

from __future__ import annotations

import numpy as np
import pytest

neo = pytest.importorskip("neo")
elephant = pytest.importorskip("elephant")
import quantities as pq  # noqa: E402
from elephant.statistics import cv, isi, mean_firing_rate  # noqa: E402

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses  # noqa: E402
from sparse_neuro.neuro.analysis.spikes import firing_rates, isi_cv  # noqa: E402
from sparse_neuro.neuro.engines import simulate  # noqa: E402
from sparse_neuro.neuro.interop import from_neo, to_neo  # noqa: E402
from sparse_neuro.neuro.model.inputs import PoissonSource  # noqa: E402
from sparse_neuro.neuro.model.record import SpikeMonitor, StateMonitor  # noqa: E402


@pytest.fixture(scope="module")
def recording():
    net = Network(
        populations=[Population("exc", 40, LIFParams(tau_mem_s=10e-3, tau_syn_s=(5e-3,)))],
        sources=[PoissonSource("inp", 60, rate_hz=60.0)],
        projections=[
            Projection("inp", "exc", SparseSynapses.fixed_probability(60, 40, 0.3, 0.4, seed=0))
        ],
        monitors=[SpikeMonitor("exc"), SpikeMonitor("inp"), StateMonitor("exc", "v", np.arange(3))],
    )
    rec = simulate(net, 0.5, 1e-4, seed=2)
    assert rec.spikes["exc"].n_spikes > 100
    return rec


def test_round_trip_is_exact(recording):
    block = to_neo(recording)
    assert isinstance(block, neo.Block)
    trains = block.segments[0].spiketrains
    assert len(trains) == 40 + 60  # one per neuron, silent ones included
    back = from_neo(block)
    assert set(back.spikes) == set(recording.spikes)
    for name, st in recording.spikes.items():
        b = back.spikes[name]
        assert b.size == st.size and b.duration_s == st.duration_s
        assert np.array_equal(b.times_s, st.times_s) and np.array_equal(b.indices, st.indices)
    tr, tb = recording.states["exc.v"], back.states["exc.v"]
    assert np.array_equal(tr.values, tb.values) and np.array_equal(tr.indices, tb.indices)
    assert np.allclose(tr.times_s, tb.times_s, rtol=0, atol=1e-15)
    assert back.dt_s == recording.dt_s


def test_elephant_statistics_equal_ours(recording):
    st = recording.spikes["exc"]
    trains = [
        t for t in to_neo(recording).segments[0].spiketrains if t.annotations["population"] == "exc"
    ]
    rates = np.array([float(mean_firing_rate(t).rescale(pq.Hz)) for t in trains])
    assert np.allclose(rates, firing_rates(st), rtol=1e-12)
    ours_cv = isi_cv(st, min_spikes=3)
    theirs = np.array([cv(isi(t).magnitude) if len(t) >= 3 else np.nan for t in trains])
    both = ~np.isnan(ours_cv)
    assert both.sum() > 10 and np.array_equal(both, ~np.isnan(theirs))
    assert np.allclose(ours_cv[both], theirs[both], rtol=1e-12)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(TypeError, match="Recording"):
        to_neo({"exc": []})
    with pytest.raises(ValueError, match="one segment"):
        from_neo(neo.Block())
