"""Fixed-point CUBA: the backend's integer mode equals a hand-written integer reference."""

import numpy as np
import pytest

from sparse_neuro.hardware_models import (
    EventQueueSimulator,
    LoihiSpec,
    quantize,
    spike_count_agreement,
)
from sparse_neuro.hardware_models.fixed_point import decay_int, quantize_weights
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
    StateMonitor,
)
from sparse_neuro.neuro.engines import simulate

DT = 1e-3


def _network(n_channels: int, t_ref_s: float, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    n_src, n = 30, 25
    taus = (5e-3, 12e-3)[:n_channels]
    p = LIFParams(
        tau_mem_s=15e-3, v_rest=0.1, v_reset=0.0, v_threshold=1.0, t_ref_s=t_ref_s, tau_syn_s=taus
    )
    times = rng.uniform(0, 0.1, 400)
    idx = rng.integers(0, n_src, 400)
    key = np.unique(np.stack([np.round(times / DT), idx], 1), axis=0)  # one spike per step
    src = SpikeArraySource("src", n_src, key[:, 0] * DT, key[:, 1].astype(int))
    w_in = rng.normal(0.25, 0.3, (n_src, n)) * (rng.random((n_src, n)) < 0.4)
    projs = [
        Projection(
            "src",
            "a",
            SparseSynapses.from_dense(w_in, delay=rng.integers(0, 3, (n_src, n))),
            receptor=0,
        )
    ]
    w_rec = rng.normal(-0.1, 0.2, (n, n)) * (rng.random((n, n)) < 0.2)
    projs.append(
        Projection(
            "a",
            "a",
            SparseSynapses.from_dense(w_rec, delay=1),
            receptor=n_channels - 1 if n_channels else 0,
        )
    )
    return Network(
        [Population("a", n, p, v_init=rng.uniform(0, 0.9, n))],
        projs,
        sources=[src],
        monitors=[SpikeMonitor("a"), StateMonitor("a", "v", np.arange(n))],
    )


def _reference(net: Network, q, n_steps: int, decay_bits: int = 12):
    """Plain-Python Loihi CUBA update, written from the hardware description (decays are
    ``decay_bits``-bit fractions)."""
    unity = 2**decay_bits
    f = q.plan
    n = f.n_neurons
    n_u = q.du.shape[1]
    u = np.zeros((n, n_u), dtype=np.int64)
    v = q.v_init.copy()
    inreg = np.zeros((n, n_u), dtype=np.int64)
    pend = np.zeros((n_steps + 8, n, n_u), dtype=np.int64)
    last = np.full(n, -(10**9))
    ref = int(f.neurons.ref_steps[0])
    # synapse table: (pre global id, post, channel, delay, integer weight)
    syn = []
    for p, pr in enumerate(net.projections):
        s = pr.synapses
        lo = int(f.routing.p_syn0[p])
        for k, (i, j) in enumerate(zip(s.pre_indices(), s.indices)):
            g = int(f.routing.p_src_off[p]) + int(i)
            syn.append((g, int(j), int(q.u_channel[p]), int(s.delays[k]), int(q.weights[lo + k])))
    src = net.sources[0]
    src_steps = np.round(src.times_s / DT).astype(int)
    vs, spikes = [], []
    for step in range(n_steps):
        vs.append(v.copy())
        for i in range(n):
            for k in range(n_u):
                x = int(u[i, k]) * (unity - int(q.du[i, k]))
                x = (x >> decay_bits) if x >= 0 else -((-x) >> decay_bits)
                x += int(inreg[i, k])
                if x >= 2**23:
                    x -= 2**24
                elif x < -(2**23):
                    x += 2**24
                u[i, k] = x
            inreg[i] = 0
            if step - last[i] >= ref:
                y = int(v[i]) * (unity - int(q.dv[i]))
                y = (y >> decay_bits) if y >= 0 else -((-y) >> decay_bits)
                y += int(u[i].sum()) + int(q.bias[i])
                v[i] = min(max(y, -(2**23 - 1)), 2**23 - 1)
        fired = [i for i in range(n) if step - last[i] >= ref and v[i] > q.vth[i]]
        for i in fired:
            last[i] = step
            spikes.append((step, i))
        pre = set(fired) | {n + int(c) for c in src.indices[src_steps == step]}
        for g, j, ch, d, w in syn:
            if g in pre:
                pend[step + d, j, ch] += w
        inreg += pend[step]
        for i in fired:
            v[i] = 0
    return np.array(vs), spikes


@pytest.mark.parametrize(
    "n_channels,t_ref_s,decay_bits", [(0, 0.0, 12), (1, 3e-3, 12), (2, 2e-3, 12), (2, 2e-3, 9)]
)
def test_fixed_mode_matches_integer_reference(n_channels, t_ref_s, decay_bits):
    net = _network(n_channels, t_ref_s, seed=n_channels)
    spec = LoihiSpec(decay_bits=decay_bits)
    q = quantize(net, DT, spec)
    sim = EventQueueSimulator(net, DT, mode="fixed", quantized=q, spec=spec)
    rec = sim.run(0.1)
    v_ref, spk_ref = _reference(net, q, 100, decay_bits)
    # recorded in float units like every backend: v_int / scale + v_reset
    np.testing.assert_array_equal(rec.states["a.v"].values, q.to_float_v(v_ref, "a"))
    got = list(
        zip(
            np.round(rec.spikes["a"].times_s / DT).astype(int).tolist(),
            rec.spikes["a"].indices.tolist(),
        )
    )
    assert got == sorted(spk_ref)
    assert len(spk_ref) > 10


def test_quantisation_constants():
    p = LIFParams(
        tau_mem_s=20e-3, v_rest=-49e-3, v_reset=-60e-3, v_threshold=-50e-3, tau_syn_s=(5e-3,)
    )
    net = Network(
        [Population("a", 2, p)],
        [Projection("a", "a", SparseSynapses.from_dense(np.array([[0, 1e-3], [0, 0]])))],
    )
    q = quantize(net, 1e-3, threshold_bits=17)
    assert q.dv[0] == round(4096 * (1 - np.exp(-1 / 20)))
    assert q.du[0, 0] == round(4096 * (1 - np.exp(-1 / 5)))
    assert q.vth[0] == 2**17 and q.vth[0] % 64 == 0
    # bias: steady state of v (in integer units) sits at v_inf - v_reset = 11 mV = 1.1 thresholds
    assert q.bias[0] / (q.dv[0] / 4096) == pytest.approx(1.1 * 2**17, rel=0.01)
    mant, e = quantize_weights(np.array([1000.0, -3000.0, 0.0]))
    assert np.abs(mant).max() <= 128 and e >= -6
    np.testing.assert_allclose(mant * 2.0 ** (6 + e), [1000, -3000, 0], atol=2.0 ** (5 + e))
    assert decay_int(np.array([-4097, 4097]), 2048).tolist() == [-2048, 2048]


def test_float_and_fixed_spike_counts_agree_statistically():
    rng = np.random.default_rng(0)
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, t_ref_s=2e-3, tau_syn_s=(5e-3,))
    net = Network(
        [Population("a", 100, p)],
        [
            Projection(
                "inp",
                "a",
                SparseSynapses.from_dense(
                    rng.uniform(0, 1.0, (50, 100)) * (rng.random((50, 100)) < 0.2)
                ),
            )
        ],
        sources=[PoissonSource("inp", 50, 100.0)],
        monitors=[SpikeMonitor("a")],
    )
    c_float = simulate(net, 0.5, DT, seed=1).spikes["a"].counts()
    c_fixed = EventQueueSimulator(net, DT, mode="fixed", seed=1).run(0.5).spikes["a"].counts()
    agree = spike_count_agreement(c_float, c_fixed)
    assert agree["count_correlation"] > 0.99
    assert abs(agree["total_rel_diff"]) < 0.02


def test_fixed_mode_current_injection_and_weight_error():
    from sparse_neuro.neuro import CurrentInjection

    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, tau_syn_s=(5e-3,))
    rng = np.random.default_rng(2)
    net = Network(
        [Population("a", 20, p)],
        [
            Projection(
                "a",
                "a",
                SparseSynapses.from_dense(
                    rng.normal(0, 0.05, (20, 20)) * (rng.random((20, 20)) < 0.3)
                ),
            )
        ],
        currents=[CurrentInjection("a", np.linspace(1.1, 2.0, 20), 0.02, 0.3)],
        monitors=[SpikeMonitor("a")],
    )
    c_float = simulate(net, 0.4, DT).spikes["a"].counts()
    q = quantize(net, DT)
    assert q.weight_rel_error[0] < 0.02
    c_fixed = EventQueueSimulator(net, DT, mode="fixed", quantized=q).run(0.4).spikes["a"].counts()
    assert c_float.sum() > 100
    # drive switched on at 20 ms and off at 300 ms: same counts within rounding
    assert np.abs(c_fixed - c_float).max() <= 1
