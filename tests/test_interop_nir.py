"""NIR export/import: ours -> NIR -> ours, and against snntorch's and norse's own NIR code."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("nir")
import nir  # noqa: E402

from sparse_neuro.encoders import load_digits_split  # noqa: E402
from sparse_neuro.learning.training import TrainConfig, count_ce_loss, train  # noqa: E402
from sparse_neuro.neuro.engines import simulate  # noqa: E402
from sparse_neuro.neuro.interop import from_nir, to_nir  # noqa: E402
from sparse_neuro.neuro.interop.nir_graph import fold_input_scale  # noqa: E402
from sparse_neuro.neuro.model.inputs import SpikeArraySource  # noqa: E402
from sparse_neuro.neuro.model.lif import LIFParams  # noqa: E402
from sparse_neuro.neuro.model.network import Network, Population, Projection  # noqa: E402
from sparse_neuro.neuro.model.record import SpikeMonitor  # noqa: E402
from sparse_neuro.neuro.model.synapses import SparseSynapses  # noqa: E402
from sparse_neuro.neuro.train import SpikingMLP  # noqa: E402

T = 25


@pytest.fixture(scope="module")
def digits_model():
    """A digits model trained here (64-48-10, reset to zero: NIR's reset), and the test set."""
    torch.manual_seed(0)
    data = load_digits_split(test_size=0.25, random_state=0)
    model = SpikingMLP((64, 48, 10), n_steps=T, beta=0.9, reset="value", seed=0)
    train(
        model,
        data.x_train,
        data.y_train,
        TrainConfig(epochs=2, batch_size=64, lr=2e-3),
        loss_fn=count_ce_loss,
        progress=False,
    )
    x = torch.as_tensor(data.x_test, dtype=torch.float32)
    with torch.no_grad():
        out = model(x)
    acc = float((out.spikes.sum(0).argmax(1).numpy() == data.y_test).mean())
    assert acc > 0.5  # a trained model, so the spike comparison is not on silence
    return model, x, out


def _snntorch_spikes(graph, x_static: torch.Tensor) -> torch.Tensor:
    from snntorch.import_nir import import_from_nir

    net = import_from_nir(graph)  # Leaky(init_hidden=True): state lives in the modules
    outs = []
    with torch.no_grad():
        for _ in range(T):
            r = net(x_static)
            outs.append(r[0] if isinstance(r, tuple) else r)
    return torch.stack(outs)


def _norse_spikes(graph, x_static: torch.Tensor, dt: float) -> torch.Tensor:
    import norse.torch as norse

    net = norse.from_nir(fold_input_scale(graph), dt=dt)  # norse ignores r: folded into weights
    state, outs = None, []
    with torch.no_grad():
        for _ in range(T):
            z, state = net(x_static, state)
            outs.append(z)
    return torch.stack(outs)


def test_round_trip_identical_spikes_and_parameters(digits_model):
    model, x, out = digits_model
    g = to_nir(model)
    assert [type(n).__name__ for n in g.nodes.values()] == [
        "Input",
        "Linear",
        "LIF",
        "Linear",
        "LIF",
        "Output",
    ]
    back = from_nir(g)
    for a, b in zip(model.lifs, back.lifs):
        assert a.beta == b.beta and a.threshold == b.threshold and b.reset == "value"
    for a, b in zip(model.fcs, back.fcs):
        assert torch.equal(a.dense_weight(), b.dense_weight())
    with torch.no_grad():
        again = back(x)
    assert torch.equal(again.spikes, out.spikes) and torch.equal(again.hidden[0], out.hidden[0])
    assert out.spikes.sum() > 100


def test_round_trip_through_a_file_sparse_bias_kwta_subtract(tmp_path):
    m = SpikingMLP(
        (12, 20, 4), n_steps=8, beta=0.8, threshold=0.7, density=0.3, kwta_k=3, bias=True, seed=3
    ).double()
    with torch.no_grad():
        for fc in m.fcs:
            fc.bias.uniform_(0.0, 0.3)
    with pytest.warns(UserWarning, match="extensions"):
        g = to_nir(m, dt_s=1e-3)
    nir.write(tmp_path / "m.nir", g)
    back = from_nir(nir.read(tmp_path / "m.nir"))
    assert back.lifs[0].kwta_k == 3 and back.lifs[0].reset == "subtract" and back.n_steps == 8
    assert back.fcs[0].weight.numel() == m.fcs[0].weight.numel()  # the sparse pattern survives
    x = (torch.rand(8, 6, 12, generator=torch.Generator().manual_seed(0)) < 0.5).double() * 1.5
    with torch.no_grad():
        a, b = m(x), back(x)
    assert (
        a.spikes.sum() > 0
        and torch.equal(a.spikes, b.spikes)
        and torch.equal(a.hidden[0], b.hidden[0])
    )


def test_our_digits_model_in_snntorch_identical_spikes(digits_model):
    model, x, out = digits_model
    spikes = _snntorch_spikes(to_nir(model), x)
    assert torch.equal(spikes, out.spikes)  # every test sample, every step, every output neuron


def test_our_digits_model_in_norse_documented_equivalent(digits_model):
    """norse integrates v + (dt/tau)(x - v): the same Euler step with other rounding."""
    model, x, out = digits_model
    g = to_nir(model)
    spikes = _norse_spikes(g, x, g.metadata["neuro.dt_s"])
    same_sample = (spikes == out.spikes).all(0).all(1)
    assert float(same_sample.float().mean()) >= 0.95
    assert float((spikes.sum(0).argmax(1) == out.spikes.sum(0).argmax(1)).float().mean()) >= 0.98
    # where they differ, it is rounding at threshold: total spike counts agree to 0.5%
    assert abs(float(spikes.sum() - out.spikes.sum())) <= 0.005 * float(out.spikes.sum())


def test_snntorch_model_to_nir_to_ours_same_spikes():
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(1)

    def leaky(n: int, beta: float, **kw):
        # per-neuron parameter vectors: snntorch's exporter cannot type a scalar-beta layer
        return snn.Leaky(
            beta=torch.full((n,), beta),
            threshold=torch.ones(n),
            init_hidden=True,
            reset_mechanism="zero",
            reset_delay=False,
            **kw,
        )

    net = torch.nn.Sequential(
        torch.nn.Linear(20, 30),
        leaky(30, 0.875),
        torch.nn.Linear(30, 5),
        leaky(5, 0.75, output=True),
    )
    with torch.no_grad():  # excitatory-leaning weights: both layers fire
        net[0].weight.uniform_(-0.1, 0.3)
        net[2].weight.uniform_(-0.1, 0.4)
    x = torch.rand(T, 16, 20)
    ref = []
    with torch.no_grad():
        for t in range(T):
            ref.append(net(x[t])[0])
    ref = torch.stack(ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = export_to_nir(net, x[0, 0])  # one unbatched sample gives the node shapes
    ours = from_nir(g)
    # snntorch stores tau = dt / (1 - beta) in float32: beta comes back within float32 rounding
    assert np.allclose([lif.beta for lif in ours.lifs], [0.875, 0.75], rtol=0, atol=1e-6)
    with torch.no_grad():
        spikes = ours(x).spikes
    assert ref.sum() > 50 and torch.equal(spikes, ref)


def test_unsupported_graphs_and_objects_are_clear_errors():
    with pytest.raises(ValueError, match="plasticity"):
        from sparse_neuro.neuro.model.plasticity_rules import STDPRule

        to_nir(
            Network(
                populations=[Population("a", 3)],
                projections=[
                    Projection(
                        "a", "a", SparseSynapses.from_dense(np.ones((3, 3))), plasticity=STDPRule()
                    )
                ],
            )
        )
    with pytest.raises(TypeError, match="SpikingMLP"):
        to_nir(torch.nn.Linear(2, 2))
    n = 4
    cuba = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([n])),
            "fc": nir.Linear(np.eye(n)),
            "lif": nir.CubaLIF(
                tau_syn=np.ones(n),
                tau_mem=np.ones(n),
                r=np.ones(n),
                v_leak=np.zeros(n),
                v_threshold=np.ones(n),
            ),
            "output": nir.Output(np.array([n])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    with pytest.raises(ValueError, match="CubaLIF"):
        from_nir(cuba)


def test_network_round_trip_identical_spikes_on_the_clock_engine(tmp_path):
    """Delta and exponential synapses, sparse and dense projections, per-neuron delays,
    refractoriness, subtract reset and k-WTA (extensions) through a .nir file."""
    rng = np.random.default_rng(0)
    n_in, dt = 30, 1e-4
    t = np.sort(rng.uniform(0, 0.2, 600))
    src = SpikeArraySource("inp", n_in, t, rng.integers(0, n_in, t.size))
    delta = Population(
        "delta", 25, LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=2e-3, bias=0.2)
    )
    cuba = Population(
        "cuba",
        15,
        LIFParams(
            tau_mem_s=20e-3, tau_syn_s=(5e-3,), v_rest=-0.1, v_reset=-0.2, reset_mode="subtract"
        ),
        kwta_k=3,
    )
    d_pre = rng.integers(0, 12, n_in)  # a delay per presynaptic neuron: a nir.Delay node
    dense = np.where(rng.random((n_in, 25)) < 0.3, rng.uniform(0.1, 0.6, (n_in, 25)), 0.0)
    syn_in = SparseSynapses.from_dense(dense, np.broadcast_to(d_pre[:, None], dense.shape))
    net = Network(
        populations=[delta, cuba],
        sources=[src],
        projections=[
            Projection("inp", "delta", syn_in),
            Projection(
                "delta", "cuba", SparseSynapses.from_dense(rng.uniform(0.05, 0.4, (25, 15)))
            ),
        ],
        monitors=[SpikeMonitor("delta"), SpikeMonitor("cuba")],
    )
    g = to_nir(net, dt_s=dt)
    kinds = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert kinds["delta"] == "LIF" and kinds["cuba"] == "CubaLIF" and kinds["delay0"] == "Delay"
    nir.write(tmp_path / "net.nir", g)
    back = from_nir(nir.read(tmp_path / "net.nir"))
    assert isinstance(back, Network)
    back = back.with_sources([src])  # the input spikes are data, not part of the graph
    a, b = simulate(net, 0.25, dt), simulate(back, 0.25, dt)
    for pop in ("delta", "cuba"):
        assert a.spikes[pop].n_spikes > 20
        assert np.array_equal(a.spikes[pop].times_s, b.spikes[pop].times_s)
        assert np.array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
    with pytest.raises(ValueError, match="dt_s"):
        to_nir(net)  # delays are in steps: the step must be given
