"""Bad parameters raise ValueError/TypeError naming the parameter and the valid range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparse_neuro.neuro import (
    CurrentInjection,
    LIFParams,
    Network,
    PoissonSource,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
    StateMonitor,
    firing_period,
    step_factors,
)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tau_mem_s": 0.0}, "tau_mem_s must be a finite number > 0"),
        ({"tau_mem_s": -1e-3}, "tau_mem_s must be a finite number > 0"),
        ({"tau_syn_s": (5e-3, -1.0)}, "tau_syn_s\\[1\\] must be a finite number > 0"),
        ({"v_threshold": -1.0, "v_reset": 0.0}, "v_threshold must be > v_reset"),
        ({"t_ref_s": -1e-3}, "t_ref_s must be >= 0"),
        ({"bias": math.nan}, "bias must be a finite number"),
        ({"reset_mode": "zero"}, "reset_mode must be 'value' or 'subtract'"),
    ],
)
def test_lif_params_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIFParams(**kwargs)


def test_step_factors_dt_must_be_positive():
    with pytest.raises(ValueError, match="dt_s must be a finite number > 0"):
        step_factors(LIFParams(), 0.0)


def test_step_factors_values():
    p = LIFParams(tau_mem_s=20e-3, tau_syn_s=(5e-3, 20e-3), t_ref_s=2e-3)
    f = step_factors(p, 1e-4)
    assert f.mem_decay == pytest.approx(math.exp(-1e-4 / 20e-3), rel=1e-15)
    assert f.ref_steps == 20
    # coupling of a unit current over one step, and its tau_syn == tau_mem limit
    a, b = math.exp(-1e-4 / 5e-3), math.exp(-1e-4 / 20e-3)
    assert f.syn_to_mem[0] == pytest.approx(5e-3 / (5e-3 - 20e-3) * (a - b), rel=1e-12)
    assert f.syn_to_mem[1] == pytest.approx(1e-4 / 20e-3 * b, rel=1e-12)
    assert firing_period(LIFParams(bias=0.5)) == math.inf


def test_network_validation():
    p = LIFParams()
    a = Population("a", 3, p)
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        Population("x", 0, p)
    with pytest.raises(ValueError, match="identifier"):
        Population("not a name", 2, p)
    with pytest.raises(ValueError, match="v_init must be finite"):
        Population("x", 2, p, v_init=[0.0, np.nan])
    with pytest.raises(ValueError, match="kwta_k must be in \\[0, 3\\]"):
        Population("x", 3, p, kwta_k=4)
    with pytest.raises(ValueError, match="unique"):
        Network([a, Population("a", 2, p)])
    with pytest.raises(ValueError, match="expected \\(source size, target size\\) = \\(3, 3\\)"):
        Network([a], [Projection("a", "a", SparseSynapses.from_dense(np.ones((2, 3))))])
    with pytest.raises(ValueError, match="unknown source"):
        Network([a], [Projection("b", "a", SparseSynapses.from_dense(np.ones((3, 3))))])
    with pytest.raises(ValueError, match="receptor must be in \\[0, 0\\]"):
        Network([a], [Projection("a", "a", SparseSynapses.from_dense(np.ones((3, 3))), receptor=1)])
    with pytest.raises(TypeError, match="SparseSynapses"):
        Projection("a", "a", np.ones((3, 3)))
    with pytest.raises(ValueError, match="monitor target"):
        Network([a], monitors=[SpikeMonitor("zz")])
    with pytest.raises(ValueError, match="needs channel 0"):
        Network([a], monitors=[StateMonitor("a", "I0", [0])])
    with pytest.raises(ValueError, match="indices must be in \\[0, 3\\)"):
        Network([a], monitors=[StateMonitor("a", "v", [5])])
    with pytest.raises(ValueError, match="amplitude shape"):
        Network([a], currents=[CurrentInjection("a", [1.0, 2.0])])


def test_inputs_validation():
    with pytest.raises(ValueError, match="rate_hz must be finite and >= 0"):
        PoissonSource("s", 3, -1.0)
    with pytest.raises(ValueError, match="same length"):
        SpikeArraySource("s", 3, [0.1, 0.2], [0])
    with pytest.raises(ValueError, match="indices must be in \\[0, 3\\)"):
        SpikeArraySource("s", 3, [0.1], [3])
    with pytest.raises(ValueError, match="finite and >= 0 s"):
        SpikeArraySource("s", 3, [-0.1], [0])
    with pytest.raises(ValueError, match="start_s < stop_s"):
        CurrentInjection("a", 1.0, 0.5, 0.1)
