import pytest
from prescribe_support import OVERFIT_CONFIG, OVERFIT_LOG

from plateau_doctor.api import diagnose
from plateau_doctor.model import Finding
from plateau_doctor.prescribe.changes import ConfigChange, changes_from_findings, format_value, nanogpt_value


def finding(code="PD999", fixes=(), severity="warning", confidence=0.9, title="Something: detail"):
    return Finding(
        code=code,
        category="config",
        severity=severity,
        confidence=confidence,
        title=title,
        message="",
        fixes=list(fixes),
    )


def test_changes_come_from_the_overfitting_findings_fixes():
    report = diagnose(str(OVERFIT_LOG), str(OVERFIT_CONFIG), dataset_tokens="1003854")
    changes, _ = changes_from_findings(report.findings)
    by_key = {c.key: c for c in changes}
    assert by_key["max_iters"].value == by_key["lr_decay_iters"].value
    assert by_key["max_iters"].code == "PD201" and by_key["max_iters"].confident
    assert "stop where val was best" in by_key["max_iters"].reason
    assert isinstance(by_key["dropout"].value, float)


def test_prose_alternatives_and_placeholders_are_not_changes():
    found = finding(
        fixes=[
            "more training data (x20)",
            "or --max_iters=100 to stop earlier",
            "--warmup_iters=<about 1-5% of max_iters>",
            "check the batches, then try --compile=False",
        ]
    )
    assert changes_from_findings([found]) == ([], [])


def test_a_fix_with_several_keys_gives_one_change_per_key_with_its_reason():
    found = finding(fixes=["--learning_rate=3.00e-4 --min_lr=3.00e-5 (GPT-3's LR for this size)"])
    changes, _ = changes_from_findings([found])
    assert [(c.key, c.value) for c in changes] == [("learning_rate", 3e-4), ("min_lr", 3e-5)]
    assert all(c.reason == "GPT-3's LR for this size" for c in changes)


def test_a_bare_word_value_is_a_string_as_the_configurator_reads_it():
    changes, _ = changes_from_findings([finding(fixes=["--dtype=bfloat16 (float16 overflows)"])])
    assert changes[0].value == "bfloat16"
    assert changes[0].override() == "--dtype=bfloat16"


def test_a_reason_that_only_says_the_old_value_falls_back_to_the_finding_title():
    changes, _ = changes_from_findings(
        [finding(fixes=["--dropout=0.3 (now 0.2)"], title="Overfitting: val rises")]
    )
    assert changes[0].reason == "overfitting"


def test_an_unsure_finding_offers_its_change_with_the_reason():
    low = finding(fixes=["--eval_iters=400 (more batches per eval)"], confidence=0.6)
    info = finding(fixes=["--grad_clip=1.0"], severity="info", confidence=0.95)
    changes, _ = changes_from_findings([low, info])
    assert not any(c.confident for c in changes)
    assert changes[0].reason.startswith("not sure (finding warning, confidence 0.60)")


def test_the_higher_ranked_finding_wins_a_key_and_the_other_is_reported():
    first = finding("PD201", ["--max_iters=1750 (stop where val was best)"])
    second = finding("PD501", ["--max_iters=10000 (train longer)"])
    changes, skipped = changes_from_findings([first, second])
    assert [(c.key, c.value, c.code) for c in changes] == [("max_iters", 1750, "PD201")]
    assert skipped[0].change.code == "PD501" and "PD201 sets max_iters to 1750" in skipped[0].why


def test_nanogpt_value_takes_train_pys_types():
    assert nanogpt_value("learning_rate", 1) == 1.0 and isinstance(nanogpt_value("learning_rate", 1), float)
    assert nanogpt_value("max_iters", 2000.0) == 2000 and isinstance(nanogpt_value("max_iters", 2000.0), int)
    with pytest.raises(ValueError, match="did you mean max_iters"):
        nanogpt_value("max_iter", 10)
    with pytest.raises(ValueError, match="max_iters"):
        nanogpt_value("max_iters", 10.5)
    with pytest.raises(ValueError, match="compile"):
        nanogpt_value("compile", "yes")


def test_override_of_a_float_keeps_it_a_float():
    assert ConfigChange("dropout", 1.0, "PD1", "r", True).override() == "--dropout=1.0"
    assert format_value(3e-05) == "3e-05"
