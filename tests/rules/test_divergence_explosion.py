"""PD102 loss explosion: the smoothed loss leaves its minimum by 1.5x and stays up (error), or
comes back later (warning). A single spike never counts, being smoothed away."""

from __future__ import annotations

import numpy as np
import pytest

from plateau_doctor import diagnose


def _jump(curve, at, level):
    return lambda t: np.where(np.asarray(t, float) < at, curve(t), level)


def _bump(curve, start, end, level):
    def f(t):
        t = np.asarray(t, float)
        return np.where((t >= start) & (t < end), level, curve(t))

    return f


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_explosion_that_stays_up_is_an_error(kit, curves):
    path = kit.log(
        val_curve=_jump(curves["val_curve"], 3000, 3.3), train_curve=_jump(curves["train_curve"], 3000, 3.3)
    )
    report = diagnose(path)
    f = kit.one(report, "PD102")
    assert (f.category, f.severity) == ("divergence", "error")
    assert f.evidence["start_iter"] == 3000
    assert f.evidence["ratio"] >= 1.5
    assert f.evidence["recovered"] is False
    assert "3,000" in f.fixes[0]
    assert report.findings[0].category == "divergence"


def test_explosion_that_recovers_is_a_warning(kit, curves):
    path = kit.log(
        val_curve=_bump(curves["val_curve"], 2000, 2600, 3.3),
        train_curve=_bump(curves["train_curve"], 2000, 2600, 3.3),
    )
    f = kit.one(diagnose(path), "PD102")
    assert f.severity == "warning"
    assert f.evidence["recovered"] is True
    assert "recovered" in f.title


def test_a_single_spike_is_not_an_explosion(kit, curves):
    report = diagnose(kit.log(**curves, spikes={3000: 6.0}))
    assert kit.by_code(report, "PD102") == []


def test_a_small_rise_below_one_and_a_half_times_the_minimum_is_not_an_explosion(kit, curves):
    # val and train creep up 20% after their best: overfitting territory, not divergence
    path = kit.log(
        val_curve=kit.u_shape(2000, 1.47, rise_per_1k=0.08), train_curve=kit.power_law(4.2, 0.6, scale=500)
    )
    assert kit.by_code(diagnose(path), "PD102") == []


def test_a_healthy_falling_curve_does_not_explode(kit, curves):
    assert kit.by_code(diagnose(kit.log(**curves)), "PD102") == []


def test_explosion_ratio_threshold_can_be_raised(kit, curves):
    from plateau_doctor.rules import RuleSettings

    path = kit.log(
        val_curve=_jump(curves["val_curve"], 3000, 3.3), train_curve=_jump(curves["train_curve"], 3000, 3.3)
    )
    settings = RuleSettings(thresholds={"PD102": {"ratio": 5.0, "abs_rise": 5.0}})
    assert kit.by_code(diagnose(path, settings=settings), "PD102") == []
    # the jump is +1.9 nats: raising the ratio alone still leaves the absolute rise to catch it
    settings = RuleSettings(thresholds={"PD102": {"ratio": 5.0}})
    assert kit.by_code(diagnose(path, settings=settings), "PD102") != []


@pytest.mark.parametrize(
    "name",
    [
        "real_51_hf_trainer_deberta_xxl_abnormal_diverged.log",
        "real_52_hf_trainer_deberta_xl_semi_abnormal_diverged.log",
    ],
)
def test_hf_runs_that_jump_and_stay_stuck_lead_with_divergence(shared_log, name):
    report = diagnose(str(shared_log(name)))
    top = [f.category for f in report.findings if f.raised][:2]
    assert {"divergence", "loss_spikes", "lr_too_high"} & set(top)


def test_broken_initial_loss_run_leads_with_init_loss_or_divergence(shared_log):
    report = diagnose(str(shared_log("real_05_nanogpt_gpt2_124M_linesearch_broken_loss132.log")))
    top = [f.category for f in report.findings if f.raised][:2]
    assert {"init_loss", "divergence"} & set(top)


@pytest.mark.parametrize(
    "name",
    [
        "real_02_nanogpt_tinystories50M_healthy_ansi.log",
        "real_03_nanogpt_gpt2_124M_owt_4xA40_healthy.log",
        "real_30_modded_nanogpt_2024-10-10_Muon.log",
        "real_40_llmc_gpt2_124M_8xH100_main.log",
        "real_50_hf_trainer_deberta_xxl_normal.log",
    ],
)
def test_no_divergence_on_real_healthy_runs(shared_log, name):
    report = diagnose(str(shared_log(name)))
    assert "divergence" not in {f.category for f in report.findings if f.raised}


def _hf_log(tmp_path, losses, norms):
    lines = [
        f"{{'loss': {loss}, 'grad_norm': {norm}, 'learning_rate': 4e-05, 'epoch': {i / 100}}}"
        for i, (loss, norm) in enumerate(zip(losses, norms, strict=False), 1)
    ]
    path = tmp_path / "hf.log"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_jump_after_which_the_grad_norm_falls_is_called_a_collapse(tmp_path):
    losses = [6.0, 4.5, 3.6] + [2.2] * 15 + [4.3] * 12
    norms = [40.0, 20.0, 15.0] + [10.0] * 15 + [4.0] * 12
    f = [f for f in diagnose(_hf_log(tmp_path, losses, norms)).findings if f.code == "PD102"][0]
    assert f.evidence["grad_norm_median_before"] == 10.0 and f.evidence["grad_norm_median_after"] == 4.0
    assert "collapse" in f.message


def test_a_jump_with_a_rising_grad_norm_says_the_updates_are_too_large(tmp_path):
    losses = [6.0, 4.5, 3.6] + [2.2] * 15 + [4.3] * 12
    norms = [40.0, 20.0, 15.0] + [1.0] * 15 + [6.0] * 12
    f = [f for f in diagnose(_hf_log(tmp_path, losses, norms)).findings if f.code == "PD102"][0]
    assert "rose" in f.message and "collapse" not in f.message


def test_without_logged_grad_norms_the_finding_says_nothing_about_them(kit, curves):
    path = kit.log(
        val_curve=_jump(curves["val_curve"], 3000, 3.3), train_curve=_jump(curves["train_curve"], 3000, 3.3)
    )
    f = kit.one(diagnose(path), "PD102")
    assert not [k for k in f.evidence if k.startswith("grad_norm")] and "gradient norm" not in f.message
