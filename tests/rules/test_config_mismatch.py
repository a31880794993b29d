"""PD601 config mismatch: the --config file disagrees with the config the log echoed or its
`Overriding:` lines. The log's values win, because they are what ran."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def run(kit):
    return kit.log(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_config_mismatch_warns_and_keeps_the_logs_value(kit, run):
    config = kit.config_file({"max_iters": 10000, "lr_decay_iters": 10000})
    report = diagnose(run, config=str(config))
    f = kit.one(report, "PD601")
    assert (f.category, f.severity) == ("config", "warning")
    assert set(f.evidence) == {"max_iters", "lr_decay_iters"}
    assert f.evidence["max_iters"] == "--config 10000, log 5000, using log"
    # the diagnosis uses what ran: no 'incomplete run' at 5000 of a believed 10000
    assert report.run.max_iters == 5000
    assert kit.by_code(report, "PD104") == []


def test_config_mismatch_against_an_overriding_line(kit):
    path = kit.log(overrides={"learning_rate": 3e-4, "min_lr": 3e-5}, val_curve=kit.power_law(4.2, 1.40))
    config = kit.config_file({})  # learning_rate 1e-3, as the echoed file says
    f = kit.one(diagnose(path, config=str(config)), "PD601")
    assert f.evidence["learning_rate"] == "--config 0.001, log 0.0003, using log"


def test_config_mismatch_silent_when_the_config_matches(kit, run):
    report = diagnose(run, config=str(kit.config_file({})))
    assert kit.by_code(report, "PD601") == []
    assert not kit.skipped(report, "PD601")


def test_config_mismatch_not_checked_without_config(kit, run):
    report = diagnose(run)
    assert kit.by_code(report, "PD601") == []
    assert kit.skipped(report, "PD601")


def test_config_file_fills_in_a_headerless_log_without_a_mismatch(kit):
    path = kit.log(header=False, val_curve=kit.power_law(4.2, 1.40))
    report = diagnose(path, config=str(kit.config_file({"learning_rate": 2e-5, "min_lr": 2e-6})))
    assert kit.by_code(report, "PD601") == []
    assert report.run.tokens_per_iter == 16_384
    assert report.run.lr_at_last_iter == pytest.approx(2e-6)


def test_a_set_value_contradicting_the_logs_echo_is_used_and_reported_with_both_values(kit):
    path = kit.log({"learning_rate": 3e-4}, val_curve=kit.power_law(4.2, 1.5))
    report = diagnose(path, overrides={"learning_rate": 1e-3})
    f = kit.one(report, "PD601")
    assert f.severity == "warning"
    assert f.evidence["learning_rate"] == "--set 0.001, log 0.0003, using --set"
    assert "--set" in f.title
