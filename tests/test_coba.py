"""COBA step against a tight-tolerance ODE solution (fine reference) and closed forms."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neuro.coba import coba_step
from neuro.lif import LIFParams

MEM = LIFParams(tau_mem_s=20e-3, v_rest=-60e-3, v_reset=-60e-3, v_threshold=-50e-3,
                tau_syn_s=(5e-3, 10e-3), e_rev=(0.0, -80e-3))
V0, G0, T = np.array([-55e-3]), np.array([[0.8], [1.5]]), 30e-3


def reference(t_end: float) -> float:
    def rhs(t, y):
        v, ge, gi = y
        return [((MEM.v_rest - v) + ge * (0.0 - v) + gi * (-80e-3 - v)) / MEM.tau_mem_s,
                -ge / 5e-3, -gi / 10e-3]
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
    np.testing.assert_allclose(v, MEM.v_rest + (V0 - MEM.v_rest) * np.exp(-1e-3 / 20e-3), rtol=1e-12)


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
