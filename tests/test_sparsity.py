"""sparse_neuro.learning.sparsity: each pruning / growth method tested on what defines it."""

import math

import numpy as np
import pytest
import torch

from sparse_neuro.learning.sparsity import (
    DSTConfig,
    DynamicSparsity,
    WeightSnapshot,
    apply_layout,
    dense_gradients,
    gmp_density,
    layer_counts,
    magnitude_prune,
    permute_patterns,
    rewind,
    rewire,
    snip_scores,
    synapse_keys,
    synflow_prune,
    synflow_scores,
)
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.train import SparseLinear, SpikingMLP


def _linear_net(seed=0, sizes=(6, 5, 3), density=1.0):
    return [
        SparseLinear.random(a, b, density, seed=seed + i, dtype=np.float64)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]


def _dense(layer):
    return layer.to_synapses().to_dense()


def test_rewire_keeps_csr_order_weights_and_remaps_adam_state():
    layer = SparseLinear.random(8, 6, 0.5, seed=1)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    layer(torch.rand(4, 8)).sum().backward()
    opt.step()
    keys, w = synapse_keys(layer), layer.weight.detach().numpy().copy()
    m = opt.state[layer.weight]["exp_avg"].clone().numpy()
    keep = np.arange(keys.size) % 3 != 0
    free = np.setdiff1d(np.arange(48), keys)[:4]
    rewire(layer, keep, free, 0.25, optimizer=opt)
    new_keys = synapse_keys(layer)
    assert np.all(np.diff(new_keys) > 0)  # CSR order
    assert set(new_keys) == set(keys[keep]) | set(free)
    pos = np.searchsorted(new_keys, keys[keep])
    np.testing.assert_array_equal(layer.weight.detach().numpy()[pos], w[keep])
    np.testing.assert_array_equal(opt.state[layer.weight]["exp_avg"].numpy()[pos], m[keep])
    grown = np.searchsorted(new_keys, free)
    assert np.all(layer.weight.detach().numpy()[grown] == 0.25)
    assert np.all(opt.state[layer.weight]["exp_avg"].numpy()[grown] == 0)
    opt.step()  # the optimizer still works on the resized parameter
    with pytest.raises(ValueError, match="grow"):
        rewire(layer, np.ones(layer.weight.numel(), bool), new_keys[:1])


def test_magnitude_prune_global_and_per_layer():
    layers = _linear_net(seed=2, sizes=(10, 8, 6))
    all_w = np.concatenate([np.abs(layer.weight.detach().numpy()) for layer in layers])
    k = int(round(0.3 * all_w.size))
    thr = np.sort(all_w)[::-1][k - 1]
    magnitude_prune(layers, 0.3, scope="global")
    kept = np.concatenate([np.abs(layer.weight.detach().numpy()) for layer in layers])
    assert kept.size == k and kept.min() >= thr
    layers = _linear_net(seed=2, sizes=(10, 8, 6))
    magnitude_prune(layers, 0.25, scope="layer")
    assert [layer.weight.numel() for layer in layers] == [20, 12]
    with pytest.raises(ValueError, match="scope"):
        magnitude_prune(layers, 0.2, scope="neuron")


def test_gmp_schedule_is_zhu_gupta_cubic():
    assert gmp_density(0, 0.1, 10, 110) == 1.0
    assert gmp_density(110, 0.1, 10, 110) == pytest.approx(0.1)
    assert gmp_density(500, 0.1, 10, 110) == pytest.approx(0.1)
    # halfway: s = s_f (1 - 0.5^3)
    assert gmp_density(60, 0.1, 10, 110) == pytest.approx(1 - 0.9 * (1 - 0.5**3))
    with pytest.raises(ValueError, match="start_step"):
        gmp_density(0, 0.1, 10, 10)


def test_imp_rewinding_restores_early_weights_of_survivors():
    layers = _linear_net(seed=3)
    snap = WeightSnapshot(layers)
    early = [_dense(layer) for layer in layers]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(-2).add_(0.1)  # "training"
    trained = [_dense(layer) for layer in layers]
    magnitude_prune(layers, 0.4)
    rewind(layers, snap)
    for layer, e in zip(layers, early):
        mask = layer.to_synapses().mask()
        np.testing.assert_array_equal(_dense(layer)[mask], e[mask])
    # survivors were chosen by the trained magnitudes (global scope)
    all_t = np.concatenate([np.abs(t).ravel() for t in trained])
    kept_t = np.concatenate(
        [np.abs(t[layer.to_synapses().mask()]) for t, layer in zip(trained, layers)]
    )
    assert kept_t.min() >= np.sort(all_t)[::-1][kept_t.size - 1]


def test_permutation_control_keeps_per_layer_density_and_weights():
    layers = _linear_net(seed=4, sizes=(20, 15, 10), density=0.3)
    before = [
        (layer.weight.numel(), np.sort(layer.weight.detach().numpy()), layer.to_synapses().mask())
        for layer in layers
    ]
    permute_patterns(layers, seed=1)
    for layer, (n, w, mask) in zip(layers, before):
        assert layer.weight.numel() == n
        np.testing.assert_array_equal(np.sort(layer.weight.detach().numpy()), w)
        assert not np.array_equal(layer.to_synapses().mask(), mask)


def test_snip_scores_equal_abs_g_times_w_by_hand():
    l1, l2 = _linear_net(seed=5)
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 6)))
    # L = sum((x W1) W2) -> dL/dW1 = x^T 1 W2^T, dL/dW2 = (x W1)^T 1
    scores = snip_scores([l1, l2], lambda: l2(l1(x)).sum())
    W1, W2, X = _dense(l1), _dense(l2), x.numpy()
    g1 = X.T @ np.ones((4, 3)) @ W2.T
    g2 = (X @ W1).T @ np.ones((4, 3))
    for s, g, W, layer in ((scores[0], g1, W1, l1), (scores[1], g2, W2, l2)):
        r, c = layer.rows.numpy(), layer.cols.numpy()
        np.testing.assert_allclose(s, np.abs(g * W)[r, c], rtol=1e-12)


def test_synflow_conserves_flow_and_prunes_to_density():
    layers = _linear_net(seed=6, sizes=(12, 9, 7, 4))
    scores, R = synflow_scores(layers)
    A = [np.abs(_dense(layer)) for layer in layers]
    assert R == pytest.approx(np.ones(12) @ A[0] @ A[1] @ A[2] @ np.ones(4))
    for s in scores:  # every layer carries the whole flow
        assert s.sum() == pytest.approx(R, rel=1e-10)
    synflow_prune(layers, 0.1, iterations=20)
    total = 12 * 9 + 9 * 7 + 7 * 4
    assert sum(layer.weight.numel() for layer in layers) == round(0.1 * total)
    assert all(layer.weight.numel() > 0 for layer in layers)  # no layer collapse
    s2, R2 = synflow_scores(layers)
    assert R2 > 0 and all(s.sum() == pytest.approx(R2, rel=1e-10) for s in s2)


def _model_and_closure(density=0.2, seed=0):
    net = SpikingMLP((30, 20, 5), n_steps=6, density=density, seed=seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.random((8, 30)).astype(np.float32) * 3)
    y = torch.from_numpy(rng.integers(0, 5, 8))
    return net, lambda: torch.nn.functional.cross_entropy(net(x).mems.sum(0), y)


def test_set_removes_stated_fraction_of_smallest_and_keeps_count():
    net, closure = _model_and_closure()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    dst = DynamicSparsity(
        net.fcs,
        opt,
        DSTConfig("set", update_every=5, drop_fraction=0.3, end_step=100, cosine=False),
    )
    before = [(synapse_keys(fc), fc.weight.detach().abs().numpy().copy()) for fc in net.fcs]
    counts = [fc.weight.numel() for fc in net.fcs]
    assert not dst.step(4) and dst.step(5)
    for fc, (keys, mag), n in zip(net.fcs, before, counts):
        assert fc.weight.numel() == n
        n_drop = round(0.3 * n)
        dropped = np.setdiff1d(keys, synapse_keys(fc))
        # the positions that disappeared are among the n_drop smallest (some may regrow)
        smallest = keys[np.argsort(mag, kind="stable")[:n_drop]]
        assert set(dropped) <= set(smallest) and len(dropped) >= n_drop - 3


def test_rigl_grows_largest_dense_gradient_on_cosine_schedule():
    cfg = DSTConfig("rigl", update_every=10, drop_fraction=0.4, end_step=100)
    assert cfg.fraction_at(10) == pytest.approx(0.2 * (1 + math.cos(math.pi * 0.1)))
    assert cfg.fraction_at(15) == 0 and cfg.fraction_at(100) == 0 and cfg.fraction_at(0) == 0
    net, closure = _model_and_closure(seed=1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    dst = DynamicSparsity(net.fcs, opt, cfg)
    grads = dense_gradients(net.fcs, closure)
    fc = net.fcs[0]
    # dense gradient at existing synapses equals the sparse layer's own weight gradient
    fc.weight.grad = None
    closure().backward()
    np.testing.assert_allclose(
        grads[0].numpy()[fc.rows, fc.cols], fc.weight.grad.numpy(), rtol=1e-4, atol=1e-7
    )
    keys0 = [synapse_keys(f) for f in net.fcs]
    counts = [f.weight.numel() for f in net.fcs]
    assert dst.step(10, closure)
    frac = cfg.fraction_at(10)
    for f, k0, g, n in zip(net.fcs, keys0, grads, counts):
        assert f.weight.numel() == n
        new = np.setdiff1d(synapse_keys(f), k0)
        n_grow = round(frac * n)
        score = g.abs().flatten().numpy()
        kept = np.intersect1d(synapse_keys(f), k0)
        cand = np.setdiff1d(np.arange(score.size), kept)
        best = cand[np.argsort(-score[cand], kind="stable")[:n_grow]]
        assert set(new) <= set(best)
        idx = np.searchsorted(synapse_keys(f), new)
        assert np.all(f.weight.detach().numpy()[idx] == 0)  # RigL grows at zero


def test_snfs_and_dsr_keep_total_count_and_redistribute():
    for method in ("snfs", "dsr"):
        net, closure = _model_and_closure(seed=2)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(3):
            opt.zero_grad()
            closure().backward()
            opt.step()
        dst = DynamicSparsity(
            net.fcs,
            opt,
            DSTConfig(method, update_every=1, drop_fraction=0.3, end_step=50, cosine=False),
        )
        total = dst.n_synapses()
        for t in range(1, 6):
            dst.step(t, closure)
            assert dst.n_synapses() == total
    with pytest.raises(ValueError, match="loss_closure"):
        DynamicSparsity(net.fcs, opt, DSTConfig("rigl", update_every=1)).step(1)


def test_deepr_removes_sign_flips_and_keeps_count():
    net, closure = _model_and_closure(seed=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    dst = DynamicSparsity(
        net.fcs,
        opt,
        DSTConfig("deepr", deepr_temperature=1e-3, deepr_lr=0.5, deepr_l1=1e-3, end_step=1000),
    )
    counts = [fc.weight.numel() for fc in net.fcs]
    changed = False
    for t in range(1, 8):
        keys = [synapse_keys(fc) for fc in net.fcs]
        opt.zero_grad()
        closure().backward()
        opt.step()
        dst.step(t)
        for fc, n, s, k in zip(net.fcs, counts, dst.signs, keys):
            assert fc.weight.numel() == n
            w = fc.weight.detach()
            assert torch.all(w * s >= 0)  # no active synapse has the wrong sign
            changed |= not np.array_equal(k, synapse_keys(fc))
    assert changed


def test_dst_config_validation():
    with pytest.raises(ValueError, match="method"):
        DSTConfig("magic")
    with pytest.raises(ValueError, match="drop_fraction"):
        DSTConfig(drop_fraction=1.0)
    with pytest.raises(ValueError, match="update_every"):
        DSTConfig(update_every=0)
    syn = SparseSynapses.fixed_probability(5, 5, 0.5, seed=0)
    with pytest.raises(ValueError, match="keep"):
        rewire(SparseLinear(syn), np.ones(3, bool))


def test_erk_counts_sum_to_target_and_follow_erdos_renyi_ratio():
    shapes = [(784, 1000), (300, 200), (200, 10)]
    total = sum(a * b for a, b in shapes)
    for density in (0.5, 0.1, 0.02, 0.01):
        counts = layer_counts(shapes, density, "erk")
        assert sum(counts) == round(density * total)
        dens = [n / (a * b) for n, (a, b) in zip(counts, shapes)]
        assert all(0 < d <= 1 for d in dens)
        # unsaturated layers: density proportional to (n_in + n_out) / (n_in n_out)
        er = [(a + b) / (a * b) for a, b in shapes]
        free = [j for j, d in enumerate(dens) if d < 1]
        eps = [dens[j] / er[j] for j in free]
        np.testing.assert_allclose(eps, eps[0], rtol=2e-3)
        # a saturated layer is one whose Erdos-Renyi score is the largest
        assert all(er[j] >= max(er[k] for k in free) for j, d in enumerate(dens) if d == 1)
    # 784-1000-10 at 10%: eps * 1010/10000 > 1, so the readout is dense and the rest goes in
    assert layer_counts([(784, 1000), (1000, 10)], 0.1) == [79400 - 10000, 10000]
    assert layer_counts([(784, 1000), (1000, 10)], 0.1, "uniform") == [78400, 1000]
    with pytest.raises(ValueError, match="layout"):
        layer_counts(shapes, 0.1, "random")
    with pytest.raises(ValueError, match="density"):
        layer_counts(shapes, 0.0)


def test_apply_layout_sets_patterns_and_rigl_leaves_dense_layer_alone():
    net, closure = _model_and_closure(density=1.0, seed=4)
    dens = apply_layout(net.fcs, 0.5, "erk", seed=1)
    counts = layer_counts([(30, 20), (20, 5)], 0.5)
    assert [fc.weight.numel() for fc in net.fcs] == counts and dens[1] == 1.0
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    dst = DynamicSparsity(
        net.fcs, opt, DSTConfig("rigl", update_every=1, drop_fraction=0.3, end_step=10)
    )
    w_readout = net.fcs[1].weight.detach().clone()
    keys0 = synapse_keys(net.fcs[0])
    assert dst.step(1, closure)
    torch.testing.assert_close(net.fcs[1].weight.detach(), w_readout)  # dense layer untouched
    assert not np.array_equal(synapse_keys(net.fcs[0]), keys0)
    assert [fc.weight.numel() for fc in net.fcs] == counts


def test_dst_no_update_at_or_after_end_step():
    cfg = DSTConfig("rigl", update_every=5, drop_fraction=0.3, end_step=40)
    fired = [t for t in range(1, 200) if cfg.fraction_at(t) > 0]
    assert fired == list(range(5, 40, 5))
    net, closure = _model_and_closure(seed=5)
    dst = DynamicSparsity(net.fcs, torch.optim.Adam(net.parameters()), cfg)
    keys = [synapse_keys(fc) for fc in net.fcs]
    assert not any(dst.step(t, closure) for t in range(40, 60))
    assert all(np.array_equal(k, synapse_keys(fc)) for k, fc in zip(keys, net.fcs))


def test_cosine_lr_and_first_step_continue_one_schedule():
    from sparse_neuro.learning.sparsity.train_loop import cosine_lr, train_with_hook

    lr_at = cosine_lr(0.01, 8)
    assert lr_at(1) == pytest.approx(0.01) and lr_at(5) == pytest.approx(0.005)
    assert lr_at(9) == pytest.approx(0.0, abs=1e-15)
    net = SpikingMLP((6, 4, 3), n_steps=3, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6)).astype(np.float32), rng.integers(0, 3, 8)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    seen = []
    hook = lambda step, _closure, o: seen.append((step, o.param_groups[0]["lr"]))  # noqa: E731
    for epoch in range(2):  # 2 batches per epoch: steps 1-2, then 3-4
        out = train_with_hook(
            net,
            x,
            y,
            epochs=1,
            batch_size=4,
            lr=0.01,
            hook=hook,
            optimizer=opt,
            lr_at=lr_at,
            first_step=2 * epoch,
        )
        assert out["steps"] == 2
    assert [s for s, _ in seen] == [1, 2, 3, 4]
    np.testing.assert_allclose([lr for _, lr in seen], [lr_at(s) for s in (1, 2, 3, 4)])
    with pytest.raises(ValueError, match="first_step"):
        train_with_hook(net, x, y, epochs=1, batch_size=4, lr=0.01, first_step=-1)
