"""The recurrent sparse spiking layer: fused kernels equal the dense torch path, and it learns."""

import numpy as np
import pytest
import torch

from sparse_neuro.neuro.train.recurrent import RecurrentSparseLIF, SpikingRNN
from sparse_neuro.neuro.train.sparse_linear import SparseLinear
from sparse_neuro.neuro.train.surrogate import arctan, fast_sigmoid

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _layer(dtype, reset, spike_fn, bias):
    layer = RecurrentSparseLIF(
        12, 20, beta=0.9, threshold=0.5, spike_fn=spike_fn, reset=reset, density=0.5,
        rec_density=0.3, bias=bias, seed=3,
    ).to(dtype)  # fmt: skip
    with torch.no_grad():  # strong recurrent weights: the recurrence changes the spikes
        layer.fc_rec.weight.mul_(4.0)
        if bias:
            layer.fc_in.bias.copy_(torch.linspace(-0.1, 0.1, 20))
    return layer


@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float64, 1e-5), (torch.float32, 1e-4)])
@pytest.mark.parametrize("reset", ["subtract", "value"])
@pytest.mark.parametrize("spiking_input", [True, False])
def test_fused_recurrent_layer_equals_the_dense_path(dtype, rtol, reset, spiking_input):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(9, 5, 12, generator=g, dtype=dtype)
    x = (x < 0.4).to(dtype) if spiking_input else x * 1.5
    spike_fn = fast_sigmoid(10.0) if reset == "subtract" else arctan(2.0)
    results = []
    for fused in (True, False):
        layer = _layer(dtype, reset, spike_fn, bias=True)
        xi = x.clone().requires_grad_(True)
        assert layer.fusable(xi)
        spikes, mems = layer(xi, fused=fused)
        w_out = torch.rand(spikes.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
        loss = (spikes * w_out).sum() + (mems**2).sum() * 0.1
        loss.backward()
        results.append(
            (spikes.detach(), mems.detach(), xi.grad, layer.fc_in.weight.grad,
             layer.fc_rec.weight.grad, layer.fc_in.bias.grad)
        )  # fmt: skip
    (sf, mf, *gf), (sd, md, *gd) = results
    assert 0 < float(sd.mean()) < 0.7  # spikes, and not everywhere
    assert torch.equal(sf, sd)  # the same spikes (float32 too, on these inputs)
    torch.testing.assert_close(mf, md, rtol=rtol, atol=rtol * 1e-2)
    for a, b in zip(gf, gd):
        torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * 1e-2 * float(b.abs().max()))
    assert float(gf[3].abs().sum()) > 0  # the recurrent weights receive a gradient


def test_recurrence_changes_the_spikes():
    layer = _layer(torch.float64, "subtract", fast_sigmoid(10.0), bias=False)
    x = (torch.rand(9, 5, 12, generator=torch.Generator().manual_seed(0)) < 0.4).double()
    with_rec, _ = layer(x)
    with torch.no_grad():
        layer.fc_rec.weight.zero_()
    without, _ = layer(x)
    assert not torch.equal(with_rec, without)


def test_spiking_rnn_learns_a_tiny_task_on_the_fused_kernels():
    """Which of two input channels fired more often: a few Adam steps reduce the loss."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    rates = np.where(y[:, None] == np.arange(2), 0.6, 0.1)
    x = torch.as_tensor(rng.random((12, 32, 2)) < rates, dtype=torch.float32)
    x = x.repeat_interleave(4, dim=2)  # 8 inputs
    net = SpikingRNN((8, 32, 2), beta=0.9, threshold=0.5, density=0.8, rec_density=0.2, seed=1)
    assert net.recurrent.fusable(x)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    target = torch.as_tensor(y)
    losses = []
    for _ in range(15):
        out = net(x)
        loss = torch.nn.functional.cross_entropy(out.mems.sum(0), target)
        opt.zero_grad()
        loss.backward()
        assert net.recurrent.fc_rec.weight.grad is not None
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]


def test_a_replaced_projection_of_the_wrong_size_is_refused_before_any_kernel():
    """fc_in and fc_rec are public: sizes are checked at every call (the kernels do not)."""
    layer = RecurrentSparseLIF(6, 5, rec_density=0.5)
    x = torch.zeros(3, 2, 6, dtype=layer.fc_in.weight.dtype)
    layer.fc_rec = SparseLinear.random(5, 9, 0.5, seed=1)
    for fused in (None, False):
        with pytest.raises(ValueError, match="fc_rec must map the layer's 5 neurons"):
            layer(x, fused=fused)
    layer.fc_rec = SparseLinear.random(5, 5, 0.5, seed=1)
    with pytest.raises(ValueError, match="x has 4 inputs per step, fc_in expects 6"):
        layer(torch.zeros(3, 2, 4, dtype=layer.fc_in.weight.dtype))
    assert layer(x)[0].shape == (3, 2, 5)
