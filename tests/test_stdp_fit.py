"""fit_stdp: the pairing predictor, the least-squares fit with its uncertainties, the fitted
presets (their literals, their engine runs) and the fits beside the published ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sparse_neuro.learning.stdp import reference_weight
from sparse_neuro.neuro.analysis.stdp_fit import PairingData, fit_stdp, predict_pairing
from sparse_neuro.neuro.bio.pairing_data import (
    bi_poo_1998_data,
    bi_poo_published_window,
    pfister_2006_published,
    sjostrom_2001_data,
)
from sparse_neuro.neuro.model.plasticity_rules import STDPRule

PAIR_FREE = ("a_plus", "tau_plus_s", "a_minus")
MINIMAL_FREE = ("a3_plus", "a_minus")


def _minimal_start() -> STDPRule:
    pub = pfister_2006_published()["visual_cortex_all_to_all_minimal"]
    return STDPRule(**{k: v for k, v in pub.items() if k != "tau_x_s"})


def _within(fit, name, published, n_sd=2.0):
    return abs(fit.values[name] - published) <= n_sd * fit.stderr[name]


# ---- the predictor ------------------------------------------------------------------------


def test_predictor_equals_the_pair_closed_form_at_1_hz():
    rule = STDPRule(a_plus=0.01, a_minus=0.012, tau_plus_s=0.017, tau_minus_s=0.034)
    d = np.array([-0.08, -0.02, -0.005, 0.0, 0.004, 0.03, 0.09])
    data = PairingData("x", d, 1.0, 60, np.zeros(d.size))
    closed = np.where(d >= 0, 60 * 0.01 * np.exp(-d / 0.017), -60 * 0.012 * np.exp(d / 0.034))
    # neighbouring pairings interact only through traces decayed by exp(-0.91 s / 34 ms) ~ 2e-12
    np.testing.assert_allclose(predict_pairing(rule, data), closed, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_predictor_equals_reference_weight_synapse_by_synapse(pairing):
    rng = np.random.default_rng(3)
    for _ in range(4):
        rule = STDPRule(
            a_plus=rng.uniform(0, 0.01),
            a_minus=rng.uniform(0, 0.01),
            a3_plus=rng.uniform(0, 0.01),
            a3_minus=rng.uniform(0, 0.005),
            tau_plus_s=rng.uniform(0.01, 0.03),
            tau_minus_s=rng.uniform(0.02, 0.05),
            tau_x_s=rng.uniform(0.05, 0.8),
            tau_y_s=rng.uniform(0.03, 0.2),
            learning_rate=rng.uniform(0.5, 2.0),
            pairing=pairing,
            w_min=-100.0,
            w_max=100.0,
        )
        d = rng.uniform(-0.015, 0.015, 6)
        periods = rng.choice([0.02, 0.05, 0.1, 1.0], 6)
        data = PairingData("r", d, periods, 12, np.zeros(6))
        got = predict_pairing(rule, data)
        k = np.arange(12)
        for i in range(6):
            pre = periods[i] * k + max(-d[i], 0.0)
            want = reference_weight(pre, pre + d[i], rule, 0.0)
            assert got[i] == pytest.approx(want, rel=1e-10, abs=1e-14)


def test_predictor_refuses_rules_it_cannot_predict():
    data = bi_poo_1998_data()
    with pytest.raises(ValueError, match="reward"):
        predict_pairing(STDPRule(tau_eligibility_s=0.5), data)
    with pytest.raises(ValueError, match="mu_plus"):
        predict_pairing(STDPRule(mu_plus=1.0), data)
    with pytest.raises(TypeError, match="STDPRule"):
        predict_pairing(object(), data)  # type: ignore[arg-type]


def test_pairing_data_rejects_bad_input():
    with pytest.raises(ValueError, match="periods_s"):
        PairingData("x", [0.01, 0.5], 0.2, 60, [0.1, 0.2])
    with pytest.raises(ValueError, match="dw"):
        PairingData("x", [0.01], 1.0, 60, [0.1, 0.2])
    with pytest.raises(ValueError, match="sem"):
        PairingData("x", [0.01], 1.0, 60, [0.1], [0.0])
    with pytest.raises(ValueError, match="n_pairs"):
        PairingData("x", [0.01], 1.0, 0, [0.1])
    with pytest.raises(ValueError, match="free"):
        fit_stdp(STDPRule(), bi_poo_1998_data(), ("w_max",))
    with pytest.raises(ValueError, match="bounds"):
        fit_stdp(STDPRule(), bi_poo_1998_data(), ("a_plus",), bounds={"a_plus": (1.0, 0.0)})
    with pytest.raises(ValueError, match="n_bootstrap"):
        fit_stdp(STDPRule(), bi_poo_1998_data(), ("a_plus",), n_bootstrap=-1)
    with pytest.raises(ValueError, match="cannot determine"):
        fit_stdp(STDPRule(), PairingData("x", [0.01, -0.01], 1.0, 60, [0.1, -0.1]), PAIR_FREE)
    with pytest.raises(TypeError, match="PairingData"):
        fit_stdp(STDPRule(), [], ("a_plus",))


# ---- the fit --------------------------------------------------------------------------------


def test_fit_recovers_a_known_rule_and_its_uncertainty_matches_the_bootstrap():
    true = STDPRule(a_plus=0.008, a_minus=0.004, a3_plus=0.006, tau_y_s=0.08)
    sj = sjostrom_2001_data()
    base = predict_pairing(true, sj)
    sem = np.full(base.size, 0.05)
    noisy = base + np.random.default_rng(0).normal(size=base.size) * sem
    data = dataclasses.replace(sj, dw=noisy, sem=sem)
    start = STDPRule(a_plus=0.005, a_minus=0.006, a3_plus=0.003, tau_y_s=0.08)
    fit = fit_stdp(start, data, ("a_plus", "a_minus", "a3_plus"), n_bootstrap=60, seed=1)
    assert fit.success
    for name in ("a_plus", "a_minus", "a3_plus"):
        assert all(fit.determined.values())
        assert _within(fit, name, getattr(true, name))
        lo, _, hi = fit.bootstrap[name]
        assert (hi - lo) / 2 == pytest.approx(fit.stderr[name], rel=0.3)


# ---- the fitted parameters beside the published ones (issue 30, "as a test") -----------------


def test_pair_fit_to_bi_poo_beside_the_published_window():
    published = bi_poo_published_window()
    fit = fit_stdp(STDPRule(), bi_poo_1998_data(), PAIR_FREE)
    assert fit.success and all(fit.determined.values())
    # tau+ 16.5 +- 8.5 ms against Bi & Poo's 16.8 ms
    assert _within(fit, "tau_plus_s", published["tau_plus_s"])
    assert fit.r2["bi_poo_1998"] > 0.55
    # tau- free: the points do not determine it (relative error > 1), so the preset fixes it
    free = fit_stdp(STDPRule(), bi_poo_1998_data(), (*PAIR_FREE, "tau_minus_s"))
    assert not free.determined["tau_minus_s"]
    assert free.determined["tau_plus_s"]
    assert "not determined" in free.table(published)


def test_minimal_triplet_fit_to_sjostrom_beside_pfister_gerstner_table_3():
    published = pfister_2006_published()["visual_cortex_all_to_all_minimal"]
    fit = fit_stdp(_minimal_start(), sjostrom_2001_data(), MINIMAL_FREE)
    assert fit.success and all(fit.determined.values())
    for name in MINIMAL_FREE:
        assert _within(fit, name, published[name])
    assert fit.chi2["sjostrom_2001"] < 1.0
    # tau_y free: within 2 sd of the published values, but the ridge leaves tau_y undetermined
    free = fit_stdp(_minimal_start(), sjostrom_2001_data(), (*MINIMAL_FREE, "tau_y_s"))
    for name in (*MINIMAL_FREE, "tau_y_s"):
        assert _within(free, name, published[name])
    assert not free.determined["tau_y_s"]
    assert free.correlation[0, 2] < -0.95
    # the full model (6 parameters) is not determined by 10 points
    full_pub = pfister_2006_published()["visual_cortex_all_to_all_full"]
    full = fit_stdp(
        STDPRule(**full_pub),
        sjostrom_2001_data(),
        ("a_plus", "a3_plus", "a_minus", "a3_minus", "tau_x_s", "tau_y_s"),
    )
    undetermined = {k for k, ok in full.determined.items() if not ok}
    assert {"a_plus", "a3_plus", "a3_minus", "tau_x_s", "tau_y_s"} <= undetermined
    assert full.determined["a_minus"]  # the depression amplitude alone is pinned down


# ---- the presets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "start", "data", "free", "source"),
    [
        (STDPRule.bi_poo_1998, STDPRule, bi_poo_1998_data, PAIR_FREE, "bi_poo_1998_points.csv"),
        (
            STDPRule.visual_cortex_2006,
            _minimal_start,
            sjostrom_2001_data,
            MINIMAL_FREE,
            "sjostrom2001_pfister2006.csv",
        ),
    ],
)
def test_preset_literals_agree_with_a_refit(preset, start, data, free, source):
    rule = preset()
    fit = fit_stdp(start(), data(), free)
    for name in free:
        assert getattr(rule, name) == pytest.approx(fit.values[name], rel=1e-3)
        assert abs(getattr(rule, name) - fit.values[name]) < 0.05 * fit.stderr[name]
    fixed = {f.name for f in dataclasses.fields(STDPRule)} - set(free)
    for name in fixed - {"w_min", "w_max", "learning_rate", "tau_eligibility_s"}:
        assert getattr(rule, name) == getattr(fit.rule, name), name
    assert source in preset.__doc__ and "fit_stdp" in preset.__doc__


def test_preset_scaling_and_overrides():
    r = STDPRule.visual_cortex_2006(w_scale=0.5, w_min=-1.0, pairing="nearest")
    assert r.a3_plus == pytest.approx(0.5 * STDPRule.visual_cortex_2006().a3_plus)
    assert r.w_min == -1.0 and r.pairing == "nearest" and r.a_plus == 0.0
    with pytest.raises(ValueError, match="w_scale"):
        STDPRule.bi_poo_1998(w_scale=0.0)


@pytest.mark.parametrize("backend", ["clock", "loihi-float"])
@pytest.mark.parametrize("preset", [STDPRule.bi_poo_1998, STDPRule.visual_cortex_2006])
def test_presets_run_on_the_engines_as_predicted(preset, backend):
    from sparse_neuro.experiments.stdp_window import pairing_protocol

    # the rule unchanged but for bounds wide enough for a protocol's change of a weight of 1
    rule = preset(w_min=-100.0, w_max=100.0)
    dt = 1e-4
    intervals = np.array([10e-3, -10e-3, 5e-3, -25e-3, 10e-3, -10e-3])
    periods = np.array([0.1, 0.1, 1.0, 0.05, 0.025, 0.02])
    dw, true = pairing_protocol(intervals, rule, 10, periods, dt, backend=backend)
    np.testing.assert_allclose(true, intervals, atol=1e-9)
    data = PairingData("engine", intervals, periods, 10, np.zeros(intervals.size))
    want = predict_pairing(rule, data, dt_s=dt)
    assert np.all(np.abs(want) > 1e-6)  # every protocol changes the weight
    np.testing.assert_allclose(dw, want, rtol=1e-9, atol=1e-12)


# ---- the scorecard rows of the presets ------------------------------------------------------


def test_fitted_rows_sit_beside_the_legacy_ones_and_judge_the_presets():
    from sparse_neuro.neuro.bio.catalogue import fitted_plasticity_tests, plasticity_tests

    rows = {t.name: t for t in fitted_plasticity_tests()}
    assert len(rows) == 10
    assert not set(rows) & {t.name for t in plasticity_tests()}
    bp, sj = bi_poo_1998_data(), sjostrom_2001_data()
    verdicts = {}
    for prefix, preset in (
        ("bi_poo_1998", STDPRule.bi_poo_1998()),
        ("visual_cortex_2006", STDPRule.visual_cortex_2006()),
    ):
        on_bp, on_sj = predict_pairing(preset, bp), predict_pairing(preset, sj)
        n = sj.dw.size // 2
        for name, value in (
            ("bi_poo_window", on_bp),
            ("sjostrom_pre_post", on_sj[:n]),
            ("sjostrom_post_pre", on_sj[n:]),
        ):
            verdicts[f"{prefix}_{name}"] = rows[f"{prefix}_{name}"].judge(value).passed
    # each preset passes the data of its own preparation...
    assert verdicts["bi_poo_1998_bi_poo_window"]
    assert verdicts["visual_cortex_2006_sjostrom_pre_post"]
    assert verdicts["visual_cortex_2006_sjostrom_post_pre"]
    # ...and neither passes the other preparation's (LTP at 1 Hz implies LTP at 0.1 Hz in a
    # pair or triplet rule; Sjostrom's 0.1 Hz point is -0.04 +- 0.05)
    assert not verdicts["bi_poo_1998_sjostrom_pre_post"]
    assert not verdicts["visual_cortex_2006_bi_poo_window"]


def test_stdp_fit_experiment_smoke(tmp_path):
    import json

    from sparse_neuro.experiments.common import run_experiment

    summary = run_experiment("stdp-fit", tmp_path, seed=0, smoke=True)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["pair_tau_plus_s"] == pytest.approx(STDPRule.bi_poo_1998().tau_plus_s, rel=1e-3)
    assert summary["pair_tau_minus_free_tau_minus_s_determined"] is False
    assert summary["minimal_a3_plus_published"] == 6.5e-3
    for ext in ("png", "svg"):
        assert (tmp_path / f"stdp_fit.{ext}").stat().st_size > 10_000


def test_bio_suite_computes_every_fitted_row(tmp_path, monkeypatch):
    """The wiring of the rows (every declared row gets a value, the verdicts are those of the
    predictor); the engine part of the protocol is checked against the predictor above."""
    from sparse_neuro.experiments import bio_plasticity
    from sparse_neuro.experiments.common import RunContext
    from sparse_neuro.neuro.bio.catalogue import fitted_plasticity_tests

    def predicted_protocol(intervals_s, rule, n_pairs, period_s, dt_s, t0_s=0.2):
        d = np.asarray(intervals_s, dtype=np.float64)
        data = PairingData("p", d, period_s, n_pairs, np.zeros(d.size))
        return predict_pairing(rule, data, dt_s=dt_s), d

    monkeypatch.setattr(bio_plasticity, "pairing_protocol", predicted_protocol)
    values = bio_plasticity.fitted_plasticity(60, RunContext("bio-suite", tmp_path, seed=0))
    passed = {t.name: t.judge(values[t.name]).passed for t in fitted_plasticity_tests()}
    assert passed == {
        "bi_poo_1998_bi_poo_window": True,
        "bi_poo_1998_sjostrom_pre_post": False,
        "bi_poo_1998_sjostrom_post_pre": False,
        "bi_poo_1998_tau_plus_ms": True,
        "bi_poo_1998_tau_minus_ms": True,
        "visual_cortex_2006_bi_poo_window": False,
        "visual_cortex_2006_sjostrom_pre_post": True,
        "visual_cortex_2006_sjostrom_post_pre": True,
        "visual_cortex_2006_tau_plus_ms": True,
        "visual_cortex_2006_tau_minus_ms": True,
    }
    assert (tmp_path / "fitted_sjostrom_frequency.png").is_file()
    assert (tmp_path / "fitted_bi_poo_window.png").is_file()
