"""PD303 schedule misconfigured: lr_decay_iters far from max_iters, min_lr far above a tenth of
learning_rate, or a warmup that is a large share of the run (nanoGPT's own advice)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_schedule_warning_when_the_decay_ends_long_before_max_iters(kit, curves):
    f = kit.one(diagnose(kit.log({"lr_decay_iters": 2500}, **curves)), "PD303")
    assert (f.category, f.severity) == ("lr_schedule", "warning")
    assert "2,500 iterations before max_iters" in f.title
    assert f.fixes == ["--lr_decay_iters=5000"]


def test_schedule_warning_when_the_run_ends_before_the_anneal(kit, curves):
    f = kit.one(diagnose(kit.log({"lr_decay_iters": 10000}, **curves)), "PD303")
    assert f.severity == "warning"
    # at iteration 5000 of a cosine from 100 to 10000 the LR is still ~5.57e-4, 5.6x min_lr
    assert f.evidence["lr_at_max_iters"] == pytest.approx(5.57e-4, rel=0.01)
    assert f.fixes == ["--lr_decay_iters=5000"]


def test_schedule_tolerates_lr_decay_iters_within_ten_percent_of_max_iters(kit, curves):
    report = diagnose(kit.log({"lr_decay_iters": 5400}, **curves))
    assert kit.by_code(report, "PD303") == []


def test_schedule_info_when_min_lr_is_half_the_peak(kit, curves):
    f = kit.one(diagnose(kit.log({"min_lr": 5e-4}, **curves)), "PD303")
    assert f.severity == "info"
    assert f.fixes == ["--min_lr=1.00e-4"]


def test_schedule_info_when_warmup_is_a_fifth_of_the_run(kit, curves):
    f = kit.one(diagnose(kit.log({"warmup_iters": 1000}, **curves)), "PD303")
    assert f.severity == "info"
    assert f.evidence == {"warmup_iters": 1000, "max_iters": 5000}


def test_schedule_silent_for_nanogpts_stock_schedule(kit, curves):
    # warmup 100, lr_decay_iters = max_iters = 5000, min_lr = learning_rate / 10
    assert kit.by_code(diagnose(kit.log(**curves)), "PD303") == []


def test_a_constant_lr_in_pretraining_is_a_warning_and_its_unused_settings_mean_nothing(kit, curves):
    # decay_lr=False: lr_decay_iters, min_lr and warmup are unused, so their values mean nothing;
    # the missing anneal itself is the finding
    path = kit.log({"decay_lr": False, "lr_decay_iters": 2500, "min_lr": 9e-4}, **curves)
    found = kit.by_code(diagnose(path), "PD303")
    assert [f.title for f in found] == ["The learning rate never decays (decay_lr=False)"]
    assert found[0].severity == "warning"
    assert "--decay_lr=True --lr_decay_iters=5000" in found[0].fixes[0]


def test_a_constant_lr_in_a_fine_tune_is_only_a_fact(kit, curves):
    path = kit.log({"decay_lr": False, "learning_rate": 3e-5}, init_from="gpt2", vocab_size=None, **curves)
    found = kit.by_code(diagnose(path), "PD303")
    assert [f.severity for f in found] == ["info"]


def test_a_warmup_over_half_the_run_is_a_warning(kit, curves):
    found = kit.by_code(diagnose(kit.log({"warmup_iters": 3000}, **curves)), "PD303")
    assert [(f.severity, f.title) for f in found] == [("warning", "Warmup is 60% of the run")]


def test_schedule_not_checked_without_a_config(kit, curves):
    report = diagnose(kit.log(header=False, **curves))
    assert kit.by_code(report, "PD303") == []
    assert kit.skipped(report, "PD303")


def test_schedule_uses_a_config_given_on_the_command_line_for_a_headerless_log(kit, curves):
    path = kit.log(header=False, **curves)
    config = kit.config_file({"lr_decay_iters": 2500})
    f = kit.one(diagnose(path, config=str(config)), "PD303")
    assert f.evidence["lr_decay_iters"] == 2500


def test_schedule_follows_an_overriding_line_in_the_log(kit, curves):
    # the echoed file says 5000 but `Overriding: lr_decay_iters = 2500` is what ran
    path = kit.log(overrides={"lr_decay_iters": 2500}, **curves)
    f = kit.one(diagnose(path), "PD303")
    assert f.evidence["lr_decay_iters"] == 2500


def test_min_lr_above_learning_rate_is_a_warning_that_the_decay_raises_the_lr(kit):
    from plateau_doctor import diagnose

    report = diagnose(
        kit.log({"min_lr": 1e4}, val_curve=kit.power_law(4.2, 1.5), train_curve=kit.power_law(4.2, 1.45))
    )
    found = [f for f in report.findings if f.code == "PD303" and "raises the LR" in f.title]
    assert found and found[0].severity == "warning"
    assert not [f for f in report.findings if f.code == "PD303" and "little annealing" in f.title]


def test_min_lr_equal_to_the_learning_rate_is_no_anneal(kit, curves):
    found = kit.by_code(diagnose(kit.log({"min_lr": 1e-3}, **curves)), "PD303")
    assert [f.title for f in found] == [
        "The learning rate never decays (min_lr=1.00e-3, learning_rate=1.00e-3)"
    ]
    assert found[0].severity == "warning"
    assert found[0].fixes == ["--decay_lr=True --lr_decay_iters=5000 --min_lr=1.00e-4"]


def test_a_warmup_longer_than_the_run_never_reaches_the_peak(kit, curves):
    f = kit.one(diagnose(kit.log({"warmup_iters": 8000}, **curves)), "PD303")
    assert f.title == "Warmup (8,000 iterations) is longer than the run (max_iters=5,000)"
    # at iteration 5000 of an 8000-iteration warmup the LR is 1e-3 x 5001 / 8001
    assert f.evidence["lr_at_max_iters"] == pytest.approx(1e-3 * 5001 / 8001, rel=1e-3)
    assert f.fixes == ["--warmup_iters=100"]
