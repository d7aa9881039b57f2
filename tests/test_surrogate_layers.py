"""Surrogate functions, the fused LIF layer (vs snntorch.Leaky), SparseLinear and readouts."""

import math

import numpy as np
import pytest
import torch

snn = pytest.importorskip("snntorch")
from snntorch import surrogate as snn_sg  # noqa: E402

from learning.surrogate import arctan, fast_sigmoid, triangle  # noqa: E402
from neuro.layers import LIF, SparseLinear, SpikingMLP, max_membrane_readout, spike_count_readout  # noqa: E402
from neuro.synapses import SparseSynapses  # noqa: E402


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
    np.testing.assert_allclose(x.grad.numpy(), [formula(v) for v in x.detach().tolist()], rtol=1e-12)


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
    np.testing.assert_allclose(m[:first + 1, 0, 0].numpy(), free[:first + 1], rtol=1e-12)
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


@pytest.mark.parametrize("kernel", ["dense", "sparse"])
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


def test_sparse_linear_auto_kernel_and_density():
    assert SparseLinear.random(100, 100, 0.001, seed=0).kernel == "sparse"
    assert SparseLinear.random(100, 100, 0.1, seed=0).kernel == "dense"
    lin = SparseLinear.random(1000, 200, 0.1, seed=0)
    assert abs(lin.weight.numel() / 200_000 - 0.1) < 0.005
    with pytest.raises(ValueError, match="density"):
        SparseLinear.random(10, 10, 0.0)


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
