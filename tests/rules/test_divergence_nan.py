"""PD101 non-finite loss: `nan`/`inf` in the iter losses or the eval estimates, and where it
starts. A NaN at the first update is numerics or data, not the LR schedule."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_nan_from_the_first_update_blames_numerics_not_the_schedule(kit, curves):
    short = {
        "log_interval": 1,
        "dtype": "float16",
        "max_iters": 300,
        "lr_decay_iters": 300,
        "eval_interval": 50,
        "warmup_iters": 10,
    }
    report = diagnose(kit.log(short, **curves, nan_from=1))
    f = kit.one(report, "PD101")
    assert (f.category, f.severity) == ("divergence", "error")
    assert f.evidence["first_non_finite_iter"] == 1
    assert "first update" in f.message
    assert f.fixes[0].startswith("check the first batch")
    assert any(fix.startswith("--dtype=bfloat16") for fix in f.fixes)
    assert report.findings[0].code == "PD101"


def test_nan_mid_run_is_an_error_pointing_at_its_line(kit, curves):
    path = kit.log(**curves, nan_from=3000)
    report = diagnose(path)
    f = kit.one(report, "PD101")
    assert f.severity == "error"
    assert f.evidence["first_non_finite_iter"] == 3000
    assert f.evidence["recovered"] is False
    assert path.read_text().splitlines()[f.line - 1].startswith("iter 3000: loss nan")
    assert "--learning_rate=5.00e-4 (half of 1.00e-3)" in f.fixes
    # bf16 advice only for float16 runs
    assert not any("bfloat16" in fix for fix in f.fixes)


def test_a_run_that_went_nan_is_not_told_to_keep_training(kit, curves):
    report = diagnose(kit.log(**curves, nan_from=3000, eval_nan_from=3000))
    assert "still_improving" not in kit.raised_categories(report)


def test_no_nan_no_finding(kit, curves):
    assert kit.by_code(diagnose(kit.log(**curves)), "PD101") == []


def test_nan_eval_losses_are_reported(kit, curves):
    f = kit.one(diagnose(kit.log(**curves, eval_nan_from=3000)), "PD101")
    assert f.evidence["first_non_finite_eval_step"] == 3000


def test_nan_from_iteration_one_of_a_gpt2_finetune_is_the_top_finding(shared_log):
    report = diagnose(str(shared_log("real_09_nanogpt_issue210_finetune_gpt2_nan_iter1_EXCERPT.log")))
    top = report.findings[0]
    assert (top.category, top.code) == ("divergence", "PD101")


@pytest.mark.parametrize(
    "name",
    [
        "h200_shakespeare_char_healthy_2k.log",
        "h200_shakespeare_char_overfit_default.log",
        "h200_pycode_healthy.log",
    ],
)
def test_no_divergence_on_labelled_healthy_logs(example_log, name):
    report = diagnose(str(example_log(name)))
    assert "divergence" not in {f.category for f in report.findings if f.raised}


def test_a_nan_out_of_a_stable_run_points_at_numerics_and_the_dtype(tmp_path):
    # a real V100 fp16 run: steady ~4.0 for 3000 iterations, then NaN from 3010 on
    from plateau_doctor import diagnose

    lines = [
        f"iter {i}: loss {4.0 + 0.05 * ((i // 10) % 3 - 1):.4f}, time 1099.34ms, mfu 15.34%"
        for i in range(2900, 3010, 10)
    ]
    lines += [f"iter {i}: loss nan, time 1099.34ms, mfu 15.34%" for i in range(3010, 3080, 10)]
    path = tmp_path / "fp16.log"
    path.write_text("\n".join(lines) + "\n")
    f = [f for f in diagnose(str(path)).findings if f.code == "PD101"][0]
    assert "numerics" in f.message and f.fixes[0].startswith("--dtype=bfloat16 if the GPU has it")
