"""COBA step and the clock engine's COBA kernel against a tight-tolerance ODE solution (fine
reference) and closed forms."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from sparse_neuro.neuro import (
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.engines.coba import coba_factors, coba_step, coba_update
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.record import StateMonitor

MEM = LIFParams(
    tau_mem_s=20e-3,
    v_rest=-60e-3,
    v_reset=-60e-3,
    v_threshold=-50e-3,
    tau_syn_s=(5e-3, 10e-3),
    e_rev=(0.0, -80e-3),
)
V0, G0, T = np.array([-55e-3]), np.array([[0.8], [1.5]]), 30e-3


def reference(t_end: float) -> float:
    def rhs(t, y):
        v, ge, gi = y
        return [
            ((MEM.v_rest - v) + ge * (0.0 - v) + gi * (-80e-3 - v)) / MEM.tau_mem_s,
            -ge / 5e-3,
            -gi / 10e-3,
        ]

    sol = solve_ivp(rhs, (0, t_end), [V0[0], *G0[:, 0]], method="DOP853", rtol=1e-12, atol=1e-15)
    return float(sol.y[0, -1])


def integrate(dt: float) -> tuple[float, np.ndarray]:
    v, g = V0, G0
    for _ in range(round(T / dt)):
        v, g = coba_step(v, g, MEM, dt)
    return float(v[0]), g


def test_error_small_and_second_order():
    ref = reference(T)
    errs = [abs(integrate(dt)[0] - ref) for dt in (2e-4, 1e-4, 5e-5)]
    assert errs[1] < 1e-6  # volts: below 1 uV at dt = 0.1 ms
    # halving dt divides the error by ~4 (second order)
    assert errs[0] / errs[1] == pytest.approx(4.0, rel=0.2)
    assert errs[1] / errs[2] == pytest.approx(4.0, rel=0.2)


def test_conductances_decay_exactly_and_no_input_is_plain_lif():
    _, g = integrate(1e-4)
    np.testing.assert_allclose(g[:, 0], G0[:, 0] * np.exp(-T / np.array([5e-3, 10e-3])), rtol=1e-10)
    v, _ = coba_step(V0, np.zeros((2, 1)), MEM, 1e-3)
    np.testing.assert_allclose(
        v, MEM.v_rest + (V0 - MEM.v_rest) * np.exp(-1e-3 / 20e-3), rtol=1e-12
    )


def test_validation():
    with pytest.raises(ValueError, match="one reversal potential per channel"):
        LIFParams(e_rev=(0.0,), tau_syn_s=(5e-3, 1e-2))
    with pytest.raises(ValueError, match="1 or 2 channels"):
        LIFParams(e_rev=(0.0, 0.0, 0.0), tau_syn_s=(5e-3, 1e-2, 1e-2))
    with pytest.raises(ValueError, match="e_rev"):
        LIFParams(e_rev=(float("nan"),), tau_syn_s=(5e-3,))
    with pytest.raises(ValueError, match="shape"):
        coba_step(V0, np.zeros((1, 1)), MEM, 1e-4)
    with pytest.raises(ValueError, match="conductance-based"):
        coba_step(V0, np.zeros((0, 1)), LIFParams(), 1e-4)


def test_kernel_equals_reference_step_and_holds_refractory_neurons():
    rng = np.random.default_rng(0)
    n, dt = 37, 1e-4
    v = rng.uniform(-70e-3, -50e-3, n)
    g = rng.uniform(0.0, 3.0, (2, n))
    drive = np.zeros(n)
    last = np.full(n, -(2**40), dtype=np.int64)
    last[::5] = 10  # refractory at step 12 with rs = 50: v kept, g still decays
    f = coba_factors(MEM, dt)
    v_k, g_k = v.copy(), g.copy()
    coef = (MEM.v_inf, *MEM.e_rev, *f.g_mean, *f.g_decay, f.dt_over_tau)
    coba_update(12, v_k, g_k[0], g_k[1], last, drive, coef, 50)
    v_ref, g_ref = coba_step(v, g, MEM, dt)
    free = last < 0
    np.testing.assert_allclose(v_k[free], v_ref[free], rtol=1e-13)
    np.testing.assert_array_equal(v_k[~free], v[~free])
    np.testing.assert_allclose(g_k, g_ref, rtol=1e-13)


def _piecewise_reference(
    arrivals: list[tuple[float, int, float]], t_grid: np.ndarray
) -> np.ndarray:
    """v(t) of the COBA ODE with conductance jumps ``g[k] += w`` at the arrival times."""

    def rhs(t, y):
        v, ge, gi = y
        return [
            ((MEM.v_rest - v) + ge * (0.0 - v) + gi * (-80e-3 - v)) / MEM.tau_mem_s,
            -ge / 5e-3,
            -gi / 10e-3,
        ]

    y = np.array([MEM.v_rest, 0.0, 0.0])
    out = np.empty(t_grid.size)
    edges = [t for t, _, _ in arrivals] + [t_grid[-1] + 1.0]
    t0, done = 0.0, 0
    for j, t1 in enumerate(edges):
        sel = (
            (t_grid >= t0) & (t_grid <= t1)
            if j == len(arrivals)
            else (t_grid >= t0) & (t_grid < t1)
        )
        sol = solve_ivp(
            rhs,
            (t0, t1),
            y,
            method="DOP853",
            rtol=1e-12,
            atol=1e-15,
            t_eval=t_grid[sel],
            dense_output=True,
        )
        out[sel] = sol.y[0]
        done += sel.sum()
        if j == len(arrivals):
            break
        y = sol.sol(t1)
        y[1 + arrivals[j][1]] += arrivals[j][2]
        t0 = t1
    assert done == t_grid.size
    return out


def test_clock_engine_population_matches_fine_ode_with_injected_spikes():
    dt = 1e-4
    times = [2e-3, 4e-3, 6e-3, 10e-3, 15e-3]  # on the grid: arrival in that step
    chans = [0, 0, 1, 0, 1]
    w = {0: 0.8, 1: 1.5}
    src = SpikeArraySource("x", 2, times, chans)
    net = Network(
        [Population("a", 1, MEM)],
        [
            Projection("x", "a", SparseSynapses.from_dense(np.array([[w[0]], [0.0]])), receptor=0),
            Projection("x", "a", SparseSynapses.from_dense(np.array([[0.0], [w[1]]])), receptor=1),
        ],
        [src],
        monitors=[StateMonitor("a", "v", [0]), SpikeMonitor("a")],
    )
    rec = ClockSimulator(net, dt).run(0.03)
    assert rec.spikes["a"].n_spikes == 0  # subthreshold: the whole trajectory is compared
    trace = rec.states["a.v"]
    # an input of step n is added after that step's update: at its end, t = (n + 1) dt
    ref = _piecewise_reference([(t + dt, c, w[c]) for t, c in zip(times, chans)], trace.times_s)
    err = np.abs(trace.values[:, 0] - ref)
    assert err.max() < 1e-6  # volts, at dt = 0.1 ms
    assert np.ptp(ref) > 3e-3  # the inputs moved v by millivolts: the test can fail
