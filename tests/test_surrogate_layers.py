"""Surrogate functions, the fused LIF layer (vs snntorch.Leaky), SparseLinear and readouts."""

import math

import numpy as np
import pytest
import torch

snn = pytest.importorskip("snntorch")
from snntorch import surrogate as snn_sg  # noqa: E402

from sparse_neuro.neuro.model.synapses import SparseSynapses  # noqa: E402
from sparse_neuro.neuro.train import (  # noqa: E402
    LIF,
    SparseLinear,
    SpikingMLP,
    max_membrane_readout,
    spike_count_readout,
)
from sparse_neuro.neuro.train.surrogate import arctan, fast_sigmoid, triangle  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread avoids OpenMP spinning on the shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize(
    "fn, formula",
    [
        (fast_sigmoid(10.0), lambda x: 1 / (10 * abs(x) + 1) ** 2),
        (arctan(2.0), lambda x: 1.0 / (1 + (math.pi * x) ** 2)),
        (triangle(0.5), lambda x: max(0.0, 1 - abs(x) / 0.5)),
    ],
)
def test_surrogate_forward_is_heaviside_and_backward_matches_formula(fn, formula):
    x = torch.tensor([-0.7, -0.2, 0.0, 0.1, 0.4], dtype=torch.float64, requires_grad=True)
    s = fn(x)
    assert s.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]  # strict: x = 0 does not spike
    s.sum().backward()
    np.testing.assert_allclose(
        x.grad.numpy(), [formula(v) for v in x.detach().tolist()], rtol=1e-12
    )


def test_arctan_has_unit_area():
    x = torch.linspace(-2000, 2000, 2_000_001, dtype=torch.float64)
    area = torch.trapezoid(arctan(3.0).derivative(x), x).item()
    assert area == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_surrogate_factories_reject_bad_parameters(bad):
    for factory in (fast_sigmoid, arctan, triangle):
        with pytest.raises(ValueError, match="> 0"):
            factory(bad)


def _snn_run(x, beta, thr, grad, mech):
    lk = snn.Leaky(beta=beta, threshold=thr, spike_grad=grad, reset_mechanism=mech)
    mem = torch.zeros(x.shape[1:], dtype=x.dtype)
    spk, mems = [], []
    for t in range(x.shape[0]):
        s, mem = lk(x[t], mem)
        spk.append(s)
        mems.append(mem)
    return torch.stack(spk), torch.stack(mems)


@pytest.mark.parametrize(("reset", "snn_reset"), [("subtract", "subtract"), ("value", "zero")])
@pytest.mark.parametrize(
    "ours, theirs",
    [(fast_sigmoid(25.0), snn_sg.fast_sigmoid(25.0)), (arctan(2.0), snn_sg.atan(2.0))],
    ids=["fast_sigmoid", "arctan"],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lif_matches_snntorch_leaky(reset, snn_reset, ours, theirs, dtype):
    # beta 0.9375 is exact in float32, as snntorch stores beta as a float32 buffer
    beta, thr = (0.9, 1.0) if dtype == torch.float32 else (0.9375, 1.0)
    g = torch.Generator().manual_seed(3)
    T, B, N = 30, 5, 40
    x = torch.rand(T, B, N, generator=g, dtype=dtype) * 0.9
    w_s, w_m = torch.randn(2, T, B, N, generator=g, dtype=dtype)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    s1, m1, _ = LIF(beta, thr, ours, reset)(x1)
    ((s1 * w_s).sum() + (m1 * w_m).sum()).backward()
    s2, m2 = _snn_run(x2, beta, thr, theirs, snn_reset)
    ((s2 * w_s).sum() + (m2 * w_m).sum()).backward()
    assert s1.sum() > 100  # the comparison covers many spikes and resets
    assert torch.equal(s1, s2.to(dtype))
    assert torch.equal(m1, m2)
    # snntorch's spikes are float32 even for float64 input, so its spike-path gradient is
    # rounded to float32: agreement is to float32 precision in both cases
    tol = 1e-5
    torch.testing.assert_close(x1.grad, x2.grad, rtol=tol, atol=tol * x2.grad.abs().max().item())


def test_lif_state_in_state_out_continues_a_sequence():
    x = torch.rand(20, 3, 7) * 0.8
    lif = LIF(0.9)
    s_all, m_all, _ = lif(x)
    s_a, _, mem = lif(x[:8])
    s_b, m_b, _ = lif(x[8:], mem)
    assert torch.equal(torch.cat([s_a, s_b]), s_all)
    assert torch.equal(m_b, m_all[8:])


def test_lif_analytic_constant_input():
    # m_t = c (1 - beta^(t+1)) / (1 - beta) below threshold: first spike when that exceeds 1
    beta, c = 0.9, 0.15
    s, m, _ = LIF(beta)(torch.full((40, 1, 1), c, dtype=torch.float64))
    t = np.arange(40)
    free = c * (1 - beta ** (t + 1)) / (1 - beta)
    first = int(np.argmax(free > 1.0))
    np.testing.assert_allclose(m[: first + 1, 0, 0].numpy(), free[: first + 1], rtol=1e-12)
    assert s[:first, 0, 0].sum() == 0 and s[first, 0, 0] == 1


def test_lif_rejects_bad_parameters():
    with pytest.raises(ValueError, match="beta"):
        LIF(1.5)
    with pytest.raises(ValueError, match="threshold"):
        LIF(0.9, threshold=0.0)
    with pytest.raises(ValueError, match="reset"):
        LIF(0.9, reset="none")
    with pytest.raises(TypeError, match="spike_fn"):
        LIF(0.9, spike_fn=torch.sigmoid)
    with pytest.raises(ValueError, match=r"\[T, B, N\]"):
        LIF(0.9)(torch.zeros(3, 4))


@pytest.mark.parametrize("kernel", ["dense", "sparse", "event"])
def test_sparse_linear_matches_dense_product_and_keeps_pattern(kernel):
    syn = SparseSynapses.fixed_probability(30, 20, 0.2, weight=0.0, seed=1)
    w = np.random.default_rng(0).normal(size=syn.n_synapses).astype(np.float64)
    lin = SparseLinear(syn.with_weights(w), kernel=kernel)
    x = torch.rand(4, 3, 30, dtype=torch.float64)
    y = lin(x)
    ref = x.numpy() @ syn.with_weights(w).to_dense()
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    y.sum().backward()
    # gradient of each existing synapse = sum over samples of its presynaptic input
    expect = x.reshape(-1, 30).sum(0).numpy()[syn.pre_indices()]
    np.testing.assert_allclose(lin.weight.grad.numpy(), expect, rtol=1e-12)
    back = lin.to_synapses()
    assert np.array_equal(back.indptr, syn.indptr) and np.array_equal(back.indices, syn.indices)


@pytest.mark.parametrize("density", [0.05, 0.3, 1.0])
def test_event_kernel_gradients_equal_dense_path_on_spike_trains(density):
    """Event-driven forward/backward == dense-masked path (float32) inside a spiking MLP."""
    rng = np.random.default_rng(int(density * 100))
    x = torch.from_numpy((rng.random((12, 5, 100)) < 0.2).astype(np.float32))  # spike trains
    y = torch.from_numpy(rng.integers(0, 4, 5))
    h_w = torch.from_numpy(rng.normal(size=30).astype(np.float32))
    grads, outs = [], []
    for kernel in ("dense", "event"):
        net = SpikingMLP((100, 30, 4), n_steps=12, density=density, seed=3)
        for fc in net.fcs:
            fc.kernel = kernel
            with torch.no_grad():
                fc.weight.mul_(4)  # enough drive for hidden spikes
        out = net(x)
        # the hidden term reaches layer 0 even when the sparse output layer misses it
        loss = torch.nn.functional.cross_entropy(out.mems.sum(0), y) + (out.hidden[0] * h_w).sum()
        loss.backward()
        outs.append(torch.cat([out.hidden[0], out.spikes], 2))
        grads.append([fc.weight.grad.clone() for fc in net.fcs])
    assert outs[0].sum() > 0 and torch.equal(outs[0], outs[1])
    assert grads[0][0].abs().max() > 0
    for gd, ge in zip(*grads):
        torch.testing.assert_close(ge, gd, rtol=1e-5, atol=1e-6)


def test_event_kernel_input_gradient_and_zero_inputs():
    syn = SparseSynapses.fixed_probability(25, 15, 0.3, seed=4)
    w = np.random.default_rng(1).normal(size=syn.n_synapses).astype(np.float32)
    x = torch.from_numpy(np.random.default_rng(2).normal(size=(7, 25)).astype(np.float32))
    x[:, :10] = 0  # silent inputs still receive a gradient
    gx = []
    for kernel in ("dense", "event"):
        xi = x.clone().requires_grad_(True)
        lin = SparseLinear(syn.with_weights(w), kernel=kernel)
        (lin(xi) * torch.arange(15.0)).sum().backward()
        gx.append(xi.grad)
    assert gx[1][:, :10].abs().sum() > 0
    torch.testing.assert_close(gx[1], gx[0], rtol=1e-5, atol=1e-6)


def test_auto_kernel_follows_estimated_cost_and_memory():
    lin = SparseLinear.random(784, 1000, 0.02, seed=0)
    sparse_spikes = (torch.rand(3200, 784) < 0.05).float()
    assert lin.choose_kernel(sparse_spikes) == "event"
    assert lin.choose_kernel(torch.ones(3200, 784)) == "dense"
    assert SparseLinear.random(784, 1000, 1.0, seed=0).choose_kernel(sparse_spikes) == "dense"
    lin = SparseLinear.random(1000, 200, 0.1, seed=0)
    assert abs(lin.weight.numel() / 200_000 - 0.1) < 0.005
    with pytest.raises(ValueError, match="density"):
        SparseLinear.random(10, 10, 0.0)
    with pytest.raises(ValueError, match="kernel"):
        SparseLinear.random(10, 10, 0.5, kernel="gpu")


def test_huge_layer_never_allocates_dense_matrix():
    """Issue 12: 2e5 x 1e5 (80 GB dense): clear error for 'dense', event kernel for 'auto'."""
    syn = SparseSynapses.fixed_probability(200_000, 100_000, 2e-7, seed=0)
    with pytest.raises(ValueError, match="max_dense_bytes"):
        SparseLinear(syn, kernel="dense")
    lin = SparseLinear(syn)
    x = torch.zeros(2, 200_000)
    i = int(lin.rows[0])
    x[1, i] = 1.0
    assert lin.choose_kernel(x) == "event"
    y = lin(x)
    assert y.shape == (2, 100_000) and float(y[1].sum()) == pytest.approx(
        float(lin.weight[lin.rows == i].sum())
    )
    with pytest.raises(MemoryError, match="max_dense_bytes"):
        lin.dense_weight()


def test_set_synapses_and_state_dict_adopt_a_new_pattern():
    a = SparseLinear.random(20, 10, 0.3, seed=0)
    b = SparseLinear.random(20, 10, 0.5, seed=1)
    b.load_state_dict(a.state_dict())
    assert b.weight.numel() == a.weight.numel()
    assert np.array_equal(b.to_synapses().to_dense(), a.to_synapses().to_dense())
    x = torch.rand(3, 20)
    torch.testing.assert_close(b(x), a(x))
    with pytest.raises(ValueError, match="shape"):
        a.set_synapses(SparseSynapses.fixed_probability(10, 10, 0.3, seed=0))


def test_readouts_and_mlp_static_input_equals_repeated_input():
    net = SpikingMLP((12, 16, 4), n_steps=6, seed=2).double()
    with torch.no_grad():
        net.fcs[0].weight.mul_(4)
    x = torch.rand(5, 12, dtype=torch.float64)
    a = net(x)
    b = net(x.expand(6, 5, 12))
    assert torch.equal(a.spikes, b.spikes) and torch.allclose(a.mems, b.mems, atol=1e-12)
    assert torch.equal(spike_count_readout(a.spikes), a.spikes.sum(0))
    assert torch.equal(max_membrane_readout(a.mems), a.mems.max(0).values)
    assert a.hidden[0].sum() > 0


@pytest.mark.parametrize("kind", ["fast_sigmoid", "arctan", "triangle"])
@pytest.mark.parametrize("reset", ["subtract", "value"])
@pytest.mark.parametrize("kwta_k", [None, 6])
def test_lif_compiled_backward_equals_the_torch_backward(monkeypatch, kind, reset, kwta_k):
    from sparse_neuro.neuro.train import lif_layer as layers
    from sparse_neuro.neuro.train import lif_sequence

    fn = {"fast_sigmoid": fast_sigmoid(25.0), "arctan": arctan(2.0), "triangle": triangle(0.5)}[
        kind
    ]
    g = torch.Generator().manual_seed(5)
    T, B, N = 20, 4, 30
    x = torch.rand(T, B, N, generator=g) * 0.4
    w_s, w_m = torch.randn(2, T, B, N, generator=g)
    mem0 = torch.rand(B, N, generator=g)

    def grads():
        xx, m0 = x.clone().requires_grad_(), mem0.clone().requires_grad_()
        s, m = lif_sequence(xx, m0, 0.9, 1.0, fn, reset, kwta_k)
        ((s * w_s).sum() + (m * w_m).sum()).backward()
        return s, xx.grad, m0.grad

    s1, gx1, g01 = grads()  # the compiled pass (CPU, a known surrogate)
    monkeypatch.setattr(layers, "SURROGATE_CODES", {})  # forces the torch pass
    s2, gx2, g02 = grads()
    assert s1.sum() > 50 and torch.equal(s1, s2)
    torch.testing.assert_close(gx1, gx2, rtol=1e-5, atol=1e-6 * gx2.abs().max().item())
    torch.testing.assert_close(g01, g02, rtol=1e-5, atol=1e-6 * g02.abs().max().item())


@pytest.mark.parametrize("reset", ["subtract", "value"])
def test_lif_compiled_forward_equals_the_torch_loop_from_a_state(reset):
    """The compiled steps (CPU, no k-WTA) against the torch loop (the k-WTA path with k = all
    neurons, which never suppresses a spike), from a non-zero initial membrane."""
    from sparse_neuro.neuro.train import lif_sequence

    g = torch.Generator().manual_seed(8)
    x = torch.rand(15, 3, 20, generator=g) * 0.5
    mem0 = torch.rand(3, 20, generator=g) * 1.5  # some start above the threshold
    s1, m1 = lif_sequence(x, mem0, 0.9, 1.0, fast_sigmoid(25.0), reset)
    s2, m2 = lif_sequence(x, mem0, 0.9, 1.0, fast_sigmoid(25.0), reset, kwta_k=20)
    assert s1.sum() > 20 and torch.equal(s1, s2) and torch.equal(m1, m2)
