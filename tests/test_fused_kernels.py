"""The fused sparse LIF layer (sparse_neuro.neuro.train.kernels.fused_lif via
sparse_neuro.neuro.train.fused_runs.sparse_lif) against the unfused event path (bit-equal spikes and
membranes) and the dense-masked path (gradients to float32 rounding), on random patterns and spike
trains."""

import numba
import numpy as np
import pytest
import torch

from sparse_neuro.neuro.train import LIF, SparseLinear, SpikingMLP, sparse_lif
from sparse_neuro.neuro.train.kernels.fused_lif import chunks, spike_bits
from sparse_neuro.neuro.train.surrogate import arctan, fast_sigmoid, triangle


def _inputs(kind: str, T: int, rng) -> torch.Tensor:
    if kind == "spikes":
        return torch.from_numpy((rng.random((T, 6, 60)) < 0.15).astype(np.float32))
    x = rng.normal(size=(T, 6, 60)).astype(np.float32)
    x[rng.random(x.shape) < 0.7] = 0  # analog values, mostly zero
    return torch.from_numpy(x)


def _run(kernel, x, rng_seed, density, spike_fn, reset, bias, fuse=True):
    """Forward + backward of a 60-40-5 MLP; returns outputs and every gradient."""
    net = SpikingMLP(
        (60, 40, 5),
        n_steps=x.shape[0],
        density=density,
        seed=3,
        spike_fn=spike_fn,
        reset=reset,
        bias=bias,
    )
    with torch.no_grad():
        for fc in net.fcs:
            fc.kernel = kernel
            fc.weight.mul_(3)  # enough drive for hidden and output spikes
            if fc.bias is not None:
                fc.bias.uniform_(-0.05, 0.1, generator=torch.Generator().manual_seed(rng_seed))
    xin = x.clone().requires_grad_(True)
    if fuse:
        out = net(xin)
        spikes, mems, hidden = out.spikes, out.mems, out.hidden[0]
    else:  # the same layers, unfused: SparseLinear then LIF
        hidden, _, _ = net.lifs[0](net.fcs[0](xin))
        spikes, mems, _ = net.lifs[1](net.fcs[1](hidden))
    g = torch.Generator().manual_seed(rng_seed)
    loss = (
        (spikes.sum(0) * torch.randn(spikes.shape[1:], generator=g)).sum()
        + (mems * torch.randn(mems.shape, generator=g)).sum() * 0.1
        + (hidden * torch.randn(hidden.shape, generator=g)).sum()
    )
    loss.backward()
    grads = [xin.grad] + [p.grad for p in net.parameters()]
    return torch.cat([hidden, spikes], 2), mems, grads


@pytest.mark.parametrize(
    "kind,T,spike_fn,reset,bias",
    [
        ("spikes", 12, fast_sigmoid(25.0), "subtract", False),
        ("spikes", 40, arctan(2.0), "value", True),  # more than 32 steps: no spike bits
        ("analog", 12, triangle(1.0), "subtract", True),  # not spikes: values read as they are
        ("analog", 7, fast_sigmoid(10.0), "value", False),
    ],
)
@pytest.mark.parametrize("density", [0.1, 0.5])
def test_fused_layer_equals_event_and_dense_paths(kind, T, spike_fn, reset, bias, density):
    rng = np.random.default_rng(int(density * 10) + T)
    x = _inputs(kind, T, rng)
    fused = _run("event", x, 1, density, spike_fn, reset, bias)
    unfused = _run("event", x, 1, density, spike_fn, reset, bias, fuse=False)
    dense = _run("dense", x, 1, density, spike_fn, reset, bias)
    assert fused[0][..., :40].sum() > 0 and fused[0][..., 40:].sum() > 0  # hidden and output spikes
    # same sums in the same order as the event kernel: equal to the last bit
    assert torch.equal(fused[0], unfused[0]) and torch.equal(fused[1], unfused[1])
    assert torch.equal(fused[0], dense[0])
    torch.testing.assert_close(fused[1], dense[1], rtol=1e-5, atol=1e-5)
    for gf, gd in zip(fused[2], dense[2]):
        assert gf.abs().max() > 0
        torch.testing.assert_close(gf, gd, rtol=1e-4, atol=1e-5)


def test_fused_gradients_do_not_depend_on_thread_count():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba runs one thread here")
    x = _inputs("spikes", 10, np.random.default_rng(0))
    before = numba.get_num_threads()
    try:
        runs = []
        for n in (1, 2):
            numba.set_num_threads(n)
            runs.append(_run("event", x, 2, 0.2, fast_sigmoid(25.0), "subtract", True))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(runs[0][2], runs[1][2]):
        assert torch.equal(a, b)


def test_spike_bits_hold_trains_or_refuse():
    x = np.zeros((3, 2, 4), np.float32)
    x[0, 0, 1] = x[2, 0, 1] = x[1, 1, 3] = 1
    bits = spike_bits(x)
    assert bits.tolist() == [[0, 0b101, 0, 0], [0, 0, 0, 0b010]]
    x[1, 1, 3] = 0.5
    assert spike_bits(x).size == 0  # not a spike train
    assert spike_bits(np.zeros((33, 1, 1), np.float32)).size == 0  # more steps than bits


def test_auto_fuses_when_cheaper_and_never_with_kwta():
    spikes = (torch.rand(25, 32, 784, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    sparse = SparseLinear.random(784, 1000, 0.02, seed=0)
    assert sparse.choose_fused(spikes)
    assert not SparseLinear.random(784, 1000, 1.0, seed=0).choose_fused(spikes)
    assert not SparseLinear.random(784, 1000, 0.02, seed=0, kernel="dense").choose_fused(spikes)
    assert SparseLinear.random(784, 1000, 1.0, seed=0, kernel="event").choose_fused(spikes)
    assert sparse_lif(spikes, sparse, LIF(0.9, kwta_k=5)) is None
    assert sparse_lif(spikes[0], sparse, LIF(0.9)) is None  # static input [B, N]
    spk, mem = sparse_lif(spikes, sparse, LIF(0.9))
    assert spk.shape == mem.shape == (25, 32, 1000)


def test_wide_layer_in_output_chunks_equals_dense_path():
    """600 outputs at fan-out ~120: the synapse loops run in 3 chunks of outputs."""
    rng = np.random.default_rng(5)
    x = torch.from_numpy((rng.random((9, 4, 50)) < 0.2).astype(np.float32))
    g = torch.from_numpy(rng.normal(size=(9, 4, 600)).astype(np.float32))
    res = []
    for kernel in ("event", "dense"):
        fc = SparseLinear.random(50, 600, 0.2, seed=1, kernel=kernel)
        with torch.no_grad():
            fc.weight.mul_(4)
        if kernel == "event":
            assert chunks(fc._indptr, fc._event_cols, 600).shape[1] - 1 == 3
        xin = x.clone().requires_grad_(True)
        lif = LIF(0.9)
        out = sparse_lif(xin, fc, lif) if kernel == "event" else lif(fc(xin))[:2]
        ((out[0] + 0.1 * out[1]) * g).sum().backward()
        res.append((out[0], fc.weight.grad, xin.grad))
    assert res[0][0].sum() > 0 and torch.equal(res[0][0], res[1][0])
    torch.testing.assert_close(res[0][1], res[1][1], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(res[0][2], res[1][2], rtol=1e-4, atol=1e-5)


def test_projection_with_forward_hook_runs_unfused():
    """Hooks (e.g. RigL's dense gradients) must see the projection called."""
    spikes = (torch.rand(5, 4, 30, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    fc = SparseLinear.random(30, 20, 0.3, seed=0, kernel="event")
    assert sparse_lif(spikes, fc, LIF(0.9)) is not None
    seen = []
    handle = fc.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    try:
        assert sparse_lif(spikes, fc, LIF(0.9)) is None
        SpikingMLP((30, 20, 3), n_steps=5, density=0.3)(spikes)  # other layers still fuse
    finally:
        handle.remove()
    assert seen == []
    net = SpikingMLP((30, 20, 3), n_steps=5, density=0.3)
    handle = net.fcs[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    net(spikes)
    handle.remove()
    assert seen == [(5, 4, 20)]


def test_input_modified_before_backward_is_an_error():
    x = (
        (torch.rand(5, 2, 30, generator=torch.Generator().manual_seed(2)) < 0.3)
        .float()
        .requires_grad_(True)
    )
    xin = x * 1.0
    spk, mem = sparse_lif(xin, SparseLinear.random(30, 20, 0.3, seed=0, kernel="event"), LIF(0.9))
    with torch.no_grad():
        xin.zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        mem.sum().backward()


def test_fused_layer_hands_its_spikes_as_bits_to_the_next():
    """The bits the fused forward returns are spike_bits of its spikes; the next layer reading
    them gives the same result as reading the spikes."""
    from sparse_neuro.neuro.train.fused_runs import _fused_layers

    x = (torch.rand(20, 5, 40, generator=torch.Generator().manual_seed(4)) < 0.3).float()
    fc1, fc2 = (
        SparseLinear.random(a, b, 0.3, seed=s, kernel="event")
        for a, b, s in ((40, 30, 0), (30, 7, 1))
    )
    with torch.no_grad():
        fc1.weight.mul_(3)
        fc2.weight.mul_(3)
    (spk,), _, bits = _fused_layers(x, [fc1], [LIF(0.9)], None, 1)
    assert spk.sum() > 0 and np.array_equal(bits, spike_bits(spk.detach().numpy()))
    with_bits = _fused_layers(spk, [fc2], [LIF(0.9)], bits, 1)
    without = _fused_layers(spk, [fc2], [LIF(0.9)], None, 1)
    assert with_bits[0][0].sum() > 0
    assert torch.equal(with_bits[0][0], without[0][0]) and torch.equal(with_bits[1], without[1])
    # the two layers as one run: the same spikes
    (h, out), mems, _ = _fused_layers(x, [fc1, fc2], [LIF(0.9), LIF(0.9)], None, 2)
    assert torch.equal(h, spk) and torch.equal(out, without[0][0]) and torch.equal(mems, without[1])


@pytest.mark.parametrize(
    "reset,bias,mem_loss,top",
    [
        ("subtract", False, False, "event"),
        ("value", True, True, "event"),
        ("subtract", True, False, "dense"),
    ],
)
def test_fused_run_skips_neurons_without_a_path_to_the_loss(reset, bias, mem_loss, top):
    """A 60-50-40-6 run whose sparse upper layers leave hidden neurons without synapses: the
    backward pass runs on the live neurons only (restricted synapses, compact gradients
    between the layers; the hidden layers keep the membranes of the neurons with synapses
    upwards only), and
    every gradient equals the dense path's to float32 rounding. ``top="dense"``: the readout
    does not run fused, so the run ends at the 40 neurons, whose membranes it then returns."""
    rng = np.random.default_rng(7)
    x = torch.from_numpy((rng.random((15, 8, 60)) < 0.2).astype(np.float32))
    grads, outs = {}, {}
    for kernel in ("event", "dense"):
        net = SpikingMLP((60, 50, 40, 6), n_steps=15, density=0.06, seed=5, reset=reset, bias=bias)
        with torch.no_grad():
            for fc in net.fcs:
                fc.kernel = kernel
                fc.weight.mul_(6)
        if kernel == "event":
            net.fcs[-1].kernel = top  # some hidden neurons of both layers have no synapse upwards
            for fc in net.fcs[1:]:
                assert (np.diff(fc._indptr) == 0).any() and (np.diff(fc._indptr) > 0).any()
        xin = x.clone().requires_grad_(True)
        out = net(xin)
        g = torch.Generator().manual_seed(1)
        loss = (out.spikes.sum(0) * torch.randn(out.spikes.shape[1:], generator=g)).sum()
        if mem_loss:
            loss = loss + 0.1 * (out.mems * torch.randn(out.mems.shape, generator=g)).sum()
        loss.backward()
        outs[kernel] = torch.cat([*out.hidden, out.spikes], 2)
        grads[kernel] = [xin.grad] + [p.grad for p in net.parameters()]
    assert outs["event"].sum() > 0 and torch.equal(outs["event"], outs["dense"])
    assert all(g.abs().sum() > 0 for g in grads["event"])
    for a, b in zip(grads["event"], grads["dense"]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
