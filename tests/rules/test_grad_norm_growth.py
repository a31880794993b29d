"""PD403 gradient-norm growth: a sustained rise of the logged norm while the loss has not moved
is an early warning; a single huge norm, or the norms of healthy and already-diverged real runs,
are not."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


def _hf_log(tmp_path, norm_at):
    lines = []
    for step in range(10, 2001, 10):
        lines.append(
            f"{{'loss': {2.0 + 1.0 / (1 + step / 200):.4f}, 'grad_norm': {norm_at(step):.4f}, "
            f"'learning_rate': 1e-04, 'epoch': {step / 2000:.3f}, 'step': {step}}}"
        )
    path = tmp_path / "hf.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_norm_growing_fourfold_over_the_last_fifth_warns_before_the_loss_moves(tmp_path):
    report = diagnose(str(_hf_log(tmp_path, lambda s: 0.5 if s < 1600 else 0.5 + 1.5 * (s - 1600) / 200)))
    [f] = [f for f in report.findings if f.code == "PD403"]
    assert f.raised and f.evidence["growth"] >= 3 and f.category == "divergence"


def test_a_single_huge_norm_is_not_growth(tmp_path):
    report = diagnose(str(_hf_log(tmp_path, lambda s: 72192.0 if s == 1900 else 0.5)))
    assert not [f for f in report.findings if f.code == "PD403"]


@pytest.mark.parametrize(
    "name",
    [
        "real_40_llmc_gpt2_124M_8xH100_main.log",
        "real_50_hf_trainer_deberta_xxl_normal.log",
        "real_51_hf_trainer_deberta_xxl_abnormal_diverged.log",
    ],
)
def test_real_runs_with_logged_norms_raise_no_growth_warning(shared_log, name):
    assert not [f for f in diagnose(str(shared_log(name))).findings if f.code == "PD403" and f.raised]
