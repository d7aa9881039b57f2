"""Any network of the toolkit runs on the Loihi model: an snntorch import and a trained-style
SpikingMLP conversion give the clock engine's spikes in float mode, and per-population
counters add up to the per-core ones."""

import numpy as np
import pytest

from sparse_neuro.hardware_models import EnergyReport, run_event_queue
from sparse_neuro.neuro.engines import simulate

snn = pytest.importorskip("snntorch")
torch = pytest.importorskip("torch")


def test_snntorch_import_runs_on_the_loihi_model():
    from torch import nn

    from sparse_neuro.learning import from_snntorch, to_network

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(20, 30, bias=False),
        snn.Leaky(beta=0.9, init_hidden=True),
        nn.Linear(30, 5, bias=False),
        snn.Leaky(beta=0.8, init_hidden=True),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
        model[2].weight.mul_(3.0)
    ours = from_snntorch(model.double(), n_steps=30)
    spikes = (np.random.default_rng(0).random((30, 20)) < 0.3).astype(np.float64)
    net = to_network(ours, spikes, dt_s=1e-3)
    ref = simulate(net, 0.032, 1e-3)
    rec, ctr, m = run_event_queue(net, 0.032, 1e-3)
    for k in ("h1", "out"):
        np.testing.assert_array_equal(rec.spikes[k].times_s, ref.spikes[k].times_s)
        np.testing.assert_array_equal(rec.spikes[k].indices, ref.spikes[k].indices)
    assert ref.spikes["h1"].n_spikes > 20
    # default placement: one population per core, so attribution by population is exact
    tot = ctr.totals()
    summed = sum(ctr.per_population.values())
    assert summed.tolist() == [tot[k] for k in tot]
    rep = EnergyReport.from_counters(ctr, m, net)
    assert sum(rep.by_population.values()) == pytest.approx(rep.total_pj)
    assert rep.by_core.sum() == pytest.approx(rep.total_pj)
