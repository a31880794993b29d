"""PD103 initial loss: a from-scratch model starts near ln(vocab_size); far above is a bug, far
below is a resumed model or a leak. Fine-tunes and resumes start wherever their weights are."""

from __future__ import annotations

import math

import pytest

from plateau_doctor import diagnose


def _from(kit, start):
    return dict(val_curve=kit.power_law(start, 1.40), train_curve=kit.power_law(start, 1.10))


def test_initial_loss_near_ln_vocab_is_fine(kit):
    # ln 65 = 4.17; real shakespeare_char logs start at 4.18-4.29
    assert kit.by_code(diagnose(kit.log(**_from(kit, 4.28))), "PD103") == []


def test_initial_loss_far_above_ln_vocab_is_an_error(kit):
    path = kit.log(**_from(kit, 8.0))
    report = diagnose(path)
    f = kit.one(report, "PD103")
    assert (f.category, f.severity) == ("init_loss", "error")
    assert f.evidence["expected_ln_vocab"] == pytest.approx(math.log(65), abs=1e-3)
    assert f.evidence["excess_nats"] == pytest.approx(8.0 - math.log(65), abs=0.02)
    assert path.read_text().splitlines()[f.line - 1].startswith("step 0: ")
    assert report.findings[0].code == "PD103"


def test_initial_loss_far_below_ln_vocab_is_a_warning(kit):
    f = kit.one(diagnose(kit.log(**_from(kit, 2.0))), "PD103")
    assert f.severity == "warning"
    assert "not fresh" in f.message


def test_initial_loss_judged_against_the_runs_own_vocabulary(kit):
    # byte-level vocab 256: ln 256 = 5.55; a start at 5.6 is right, 10.9 is 5 nats too high
    assert kit.by_code(diagnose(kit.log(**_from(kit, 5.6), vocab_size=256, name="a.log")), "PD103") == []
    assert kit.one(diagnose(kit.log(**_from(kit, 10.9), vocab_size=256, name="b.log")), "PD103").raised


def test_initial_loss_of_a_gpt2_bpe_scratch_run(kit):
    # vocab 50304 (defaulted): ln = 10.83; real scratch GPT-2 logs start at 10.93-10.99
    bpe = {"dataset": "owt_sample", "block_size": 256}
    assert kit.by_code(diagnose(kit.log(bpe, vocab_size=None, **_from(kit, 10.95))), "PD103") == []


def test_initial_loss_not_judged_for_a_finetune_from_gpt2(kit):
    ft = {
        "init_from": "gpt2",
        "dataset": "shakespeare",
        "batch_size": 1,
        "block_size": 1024,
        "gradient_accumulation_steps": 32,
        "learning_rate": 3e-5,
        "decay_lr": False,
        "max_iters": 100,
        "eval_interval": 10,
        "log_interval": 1,
        "warmup_iters": 0,
        "dropout": 0.0,
    }
    report = diagnose(
        kit.log(
            ft,
            init_from="gpt2",
            vocab_size=None,
            eval_ms=200,
            val_curve=kit.power_law(3.9, 3.2, 50),
            iter_noise=0.3,
        )
    )
    assert kit.by_code(report, "PD103") == []


def test_initial_loss_not_judged_after_a_resume(kit):
    report = diagnose(kit.log(init_from="resume", **_from(kit, 1.6)))
    assert kit.by_code(report, "PD103") == []


def test_an_initial_loss_impossible_for_any_vocabulary_is_an_error_even_without_a_header(kit):
    report = diagnose(kit.log(header=False, **_from(kit, 132.0)))
    f = kit.one(report, "PD103")
    assert f.severity == "error"
    assert "impossible" in f.title


def test_initial_loss_not_judged_without_a_vocabulary_when_it_is_plausible(kit):
    report = diagnose(kit.log(header=False, **_from(kit, 10.9)))
    assert kit.by_code(report, "PD103") == []
    assert kit.skipped(report, "PD103")


def test_real_broken_loss_132_run_gets_init_loss(shared_log):
    report = diagnose(str(shared_log("real_05_nanogpt_gpt2_124M_linesearch_broken_loss132.log")))
    assert any(f.code == "PD103" and f.severity == "error" for f in report.findings)


@pytest.mark.parametrize(
    "name", ["h200_shakespeare_char_healthy_2k.log", "h200_pycode_healthy.log", "h200_pycode_lr_high.log"]
)
def test_labelled_scratch_runs_start_at_ln_vocab(example_log, name):
    report = diagnose(str(example_log(name)))
    assert not [f for f in report.findings if f.code == "PD103"]


def test_nanochat_validation_bpb_at_step_0_is_not_read_as_an_initial_loss_in_nats(tmp_path):
    # bits per byte (3.17) next to a first train loss of 10.397 = ln(32768): not "far below ln V"
    from plateau_doctor import diagnose

    lines = ["Vocab size: 32,768", "Step 00000 | Validation bpb: 3.169725"]
    lines += [
        f"step {s:05d}/00500 ({s / 5:.2f}%) | loss: {10.397340 - 0.02 * s:.6f} | lrm: 0.03 | "
        f"dt: 2485.81ms | tok/sec: 105,456 | bf16_mfu: 0.00 | total time: 0.00m"
        for s in range(30)
    ]
    lines += ["Step 00030 | Validation bpb: 2.9"]
    path = tmp_path / "nanochat.log"
    path.write_text("\n".join(lines) + "\n")
    report = diagnose(str(path))
    assert report.format == "nanochat"
    assert not [f for f in report.findings if f.code == "PD103" and f.raised]


def test_a_first_loss_above_any_vocabulary_that_training_brings_down_is_large_init_logits_not_a_bug():
    # modded-nanogpt's Adam baseline starts at 15.99 (> ln 2^18 = 12.48) and reaches 3.34: the loss works
    from pathlib import Path

    wild = Path(__file__).resolve().parents[1] / "data" / "wild"
    report = diagnose(str(wild / "modded_nanogpt_2024-10-29_optimizers_adam_baseline_CUT.log"))
    [f] = [f for f in report.findings if f.code == "PD103"]
    assert f.severity == "info" and "large initial logits" in f.title
    assert f.evidence["lowest_early_loss"] < f.evidence["uniform_guess_loss"]
