"""Conversion: torch model -> clock-engine Network (same spikes), snntorch -> our layers."""

import numpy as np
import pytest
import torch
from torch import nn

from sparse_neuro.encoders import load_digits_split, rate_code
from sparse_neuro.learning.convert import (
    engine_lif_params,
    from_snntorch,
    run_on_engine,
    to_network,
)
from sparse_neuro.learning.training import TrainConfig, count_ce_loss, rate_input, train
from sparse_neuro.neuro.model.lif import step_factors
from sparse_neuro.neuro.train import SpikingMLP


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread avoids OpenMP spinning on the shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.95, 0.99, 0.123456789])
@pytest.mark.parametrize("thr", [1.0, 0.7, 2.5])
def test_engine_params_are_bit_exact(beta, thr):
    p = engine_lif_params(beta, thr, 1e-3)
    assert step_factors(p, 1e-3).mem_decay == beta
    assert p.v_threshold == beta * thr
    assert p.v_threshold - p.v_reset == thr
    with pytest.raises(ValueError, match="beta"):
        engine_lif_params(1.0, thr, 1e-3)


def _compare(model, spikes):
    """Engine vs torch spikes for each sample of spikes [T, B, N]."""
    with torch.no_grad():
        out = model(torch.from_numpy(spikes).double())
    layers = [*out.hidden, out.spikes]
    net = to_network(model)
    n_spikes = 0
    for b in range(spikes.shape[1]):
        eng = run_on_engine(model, spikes[:, b], network=net)
        for e, s in zip(eng, layers):
            assert np.array_equal(e, s[:, b].numpy().astype(bool))
            n_spikes += int(e.sum())
    return n_spikes


@pytest.mark.parametrize("kwta", [None, 4])
def test_random_model_spikes_identical_on_clock_engine(kwta):
    model = SpikingMLP(
        (30, 40, 20, 6), n_steps=20, beta=0.9, threshold=0.8, kwta_k=kwta, seed=3
    ).double()
    with torch.no_grad():
        for fc in model.fcs:
            fc.weight.mul_(2.5)
    x = rate_code(np.random.default_rng(1).random((5, 30)), 20, seed=2)
    assert _compare(model, x) > 200


def test_trained_digits_model_reproduced_on_engine():
    d = load_digits_split()
    model = SpikingMLP((64, 48, 10), n_steps=15, beta=0.9, seed=0)
    enc = rate_input(15)
    train(
        model,
        d.x_train,
        d.y_train,
        TrainConfig(epochs=2, batch_size=64, lr=5e-3),
        encode=enc,
        loss_fn=count_ce_loss,
        progress=False,
    )
    model = model.double()
    x = rate_code(d.x_test[:40].astype(np.float64), 15, seed=11)
    assert _compare(model, x) > 1000
    with torch.no_grad():
        torch_pred = model(torch.from_numpy(x).double()).spikes.sum(0).argmax(1).numpy()
    net = to_network(model)
    eng_pred = np.array(
        [run_on_engine(model, x[:, b], network=net)[-1].sum(0).argmax() for b in range(40)]
    )
    assert np.array_equal(torch_pred, eng_pred)
    assert (eng_pred == d.y_test[:40]).mean() > 0.7


def test_conversion_errors():
    m = SpikingMLP((4, 3), reset="value")
    with pytest.raises(ValueError, match="reset"):
        to_network(m)
    m = SpikingMLP((4, 3)).double()
    with pytest.raises(ValueError, match="encode real-valued"):
        to_network(m, np.full((5, 4), 0.5))


snn = pytest.importorskip("snntorch")


class _LoopNet(nn.Module):
    """The explicit-loop form of snntorch tutorial 5."""

    def __init__(self, beta, spike_grad):
        super().__init__()
        self.fc1 = nn.Linear(20, 30)
        self.lif1 = snn.Leaky(beta=beta, spike_grad=spike_grad)
        self.fc2 = nn.Linear(30, 5)
        self.lif2 = snn.Leaky(beta=beta, spike_grad=spike_grad)

    def forward(self, x, T):
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        s_rec, m_rec, h_rec = [], [], []
        for t in range(T):
            s1, mem1 = self.lif1(self.fc1(x[t]), mem1)
            s2, mem2 = self.lif2(self.fc2(s1), mem2)
            h_rec.append(s1)
            s_rec.append(s2)
            m_rec.append(mem2)
        return torch.stack(s_rec), torch.stack(m_rec), torch.stack(h_rec)


@pytest.mark.parametrize("grad", ["atan", "fast_sigmoid"])
def test_snntorch_explicit_loop_import_identical(grad):
    torch.manual_seed(0)
    sg = snn.surrogate.atan(alpha=2.0) if grad == "atan" else snn.surrogate.fast_sigmoid(slope=25)
    ref = _LoopNet(0.9, sg)
    with torch.no_grad():
        ref.fc1.weight.mul_(3)
    ours = from_snntorch(ref, n_steps=12)
    x = (torch.rand(12, 7, 20) < 0.4).float()
    s_ref, m_ref, h_ref = ref(x, 12)
    out = ours(x)
    assert h_ref.sum() > 50
    assert torch.equal(out.hidden[0], h_ref) and torch.equal(out.spikes, s_ref)
    torch.testing.assert_close(out.mems, m_ref, rtol=1e-6, atol=1e-6)
    # gradients w.r.t. the weights agree too
    (m_ref.sum() + s_ref.sum()).backward()
    (out.mems.sum() + out.spikes.sum()).backward()
    # (weights are stored in CSR order: (pre, post) row-major, i.e. W.T flattened)
    for fc_ours, fc_ref in ((ours.fcs[0], ref.fc1), (ours.fcs[1], ref.fc2)):
        torch.testing.assert_close(
            fc_ours.weight.grad, fc_ref.weight.grad.t().reshape(-1), rtol=1e-4, atol=1e-5
        )
        torch.testing.assert_close(fc_ours.bias.grad, fc_ref.bias.grad, rtol=1e-4, atol=1e-5)


def test_snntorch_sequential_import_and_unsupported_layers():
    seq = nn.Sequential(
        nn.Linear(6, 8),
        snn.Leaky(beta=0.8, init_hidden=True),
        nn.Linear(8, 3),
        snn.Leaky(beta=0.8, init_hidden=True, output=True),
    )
    ours = from_snntorch(seq, n_steps=5)
    assert ours.sizes == (6, 8, 3) and ours.lifs[0].beta == pytest.approx(0.8)
    np.testing.assert_allclose(
        ours.fcs[0].dense_weight().detach().numpy(), seq[0].weight.detach().numpy().T
    )
    bad = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3), snn.Leaky(beta=0.8))
    with pytest.raises(ValueError, match="ReLU"):
        from_snntorch(bad)
