"""Rules on a plan (`check`): every rule copes with an empty loss table, the rules that read
curves are skipped with one note, the plan-only rules never run on a log, and the log-free
rules word what they find as a plan."""

from __future__ import annotations

from plateau_doctor import check, diagnose
from plateau_doctor.api import examine_plan
from plateau_doctor.rules import Context, Limits, load_rules

SHAKESPEARE = {"dataset": "shakespeare_char"}  # 65 characters: its vocabulary is known
PLAN_ONLY = {"PD105", "PD404", "PD608", "PD609"}


def test_no_rule_raises_on_a_plan_whatever_it_reads(kit):
    run = examine_plan(str(kit.config_file({**SHAKESPEARE, "learning_rate": 5e-2, "warmup_iters": 0})))
    ctx = Context(run.parsed, run.config, run.facts, run.analyses)
    for rule in load_rules():  # called directly, log-only rules included
        assert isinstance(rule.check(ctx, Limits(rule.info.thresholds)), list), rule.info.code


def test_rules_that_read_curves_are_listed_in_one_note_not_run(kit):
    report = check(str(kit.config_file(SHAKESPEARE)))
    note = next(n for n in report.notes if n.startswith("judged only from a log"))
    assert "PD201" in note and "PD401" in note and "PD303" not in note
    assert "PD201" not in report.rules_checked and "PD303" in report.rules_checked


def test_plan_only_rules_never_run_on_a_log(example_log):
    report = diagnose(str(example_log("h200_shakespeare_char_noisy_eval.log")))
    assert not PLAN_ONLY & set(report.rules_checked)
    assert not any(code in note for note in report.notes for code in PLAN_ONLY)


def test_log_free_rules_word_a_plan_as_a_plan(kit):
    report = check(str(kit.config_file({**SHAKESPEARE, "learning_rate": 1e-2, "warmup_iters": 0})))
    lr = kit.one(report, "PD301")
    assert (lr.severity, lr.title) == ("warning", "Learning rate 1.00e-2 is 5x the reference for this model")
    assert "planned peak LR" in lr.message and "only the run can show" in lr.message
    assert lr.evidence["no_warmup"] is True
    low = kit.one(
        check(str(kit.config_file({**SHAKESPEARE, "learning_rate": 1e-5, "min_lr": 1e-6}))), "PD302"
    )
    assert low.severity == "warning" and "planned peak LR" in low.message  # never an error: no curve yet


def test_a_plan_between_the_lr_thresholds_is_a_fact(kit):
    f = kit.one(check(str(kit.config_file({**SHAKESPEARE, "learning_rate": 7e-3}))), "PD301")
    assert f.severity == "info" and not f.ruled_out  # 3.5x: unusual, below where a run usually breaks


def test_planned_tokens_per_parameter_is_a_warning_only_in_the_thousands(kit):
    # 124M GPT-2 shape (vocab 50304): 600k x 491,520 tokens is ~2,400 per parameter
    gpt2 = {"dataset": "openwebtext", "n_layer": 12, "n_head": 12, "n_embd": 768, "batch_size": 12}
    big = {**gpt2, "block_size": 1024, "gradient_accumulation_steps": 40}
    f = kit.one(check(str(kit.config_file({**big, "max_iters": 600000, "lr_decay_iters": 600000}))), "PD203")
    assert f.severity == "warning" and f.title.startswith("Model is small for its planned data")
    f = kit.one(check(str(kit.config_file({**big, "max_iters": 50000, "lr_decay_iters": 50000}))), "PD203")
    assert f.severity == "info"  # ~199 per parameter: past compute-optimal, not capped
