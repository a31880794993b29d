"""PD603 tokens per iteration: the printed `tokens per iteration will be` against
gradient_accumulation_steps x batch_size x block_size from the resolved config."""

from __future__ import annotations

from plateau_doctor import diagnose


def test_printed_tokens_per_iteration_differing_from_the_config_is_a_warning(kit):
    report = diagnose(kit.log(printed_tokens=32_768, val_curve=kit.power_law(4.2, 1.40)))
    f = kit.one(report, "PD603")
    assert (f.category, f.severity) == ("config", "warning")
    assert f.evidence == {"printed": 32_768, "computed": 16_384}
    # the printed value is what the run did, and it is used
    assert report.run.tokens_per_iter == 32_768
    assert report.run.tokens_seen == 5000 * 32_768


def test_matching_tokens_per_iteration_is_silent(kit):
    report = diagnose(kit.log(val_curve=kit.power_law(4.2, 1.40)))
    assert report.run.tokens_per_iter == 16_384
    assert kit.by_code(report, "PD603") == []


def test_tokens_per_iteration_not_checked_without_a_config(kit):
    report = diagnose(kit.log(header=False, val_curve=kit.power_law(4.2, 1.40)))
    assert kit.by_code(report, "PD603") == []
    assert kit.skipped(report, "PD603")


def test_ddp_run_prints_the_global_tokens_per_iteration_without_a_mismatch(example_log):
    # torchrun on 2 GPUs: every rank prints the header; grad accumulation is global
    report = diagnose(str(example_log("h200_pycode_ddp2.log")))
    assert report.run.tokens_per_iter == 32_768
    assert not [f for f in report.findings if f.code == "PD603"]
