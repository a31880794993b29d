"""PD701 throughput: the share of wall time spent in evals (iterations right after an eval
include it) and MFU, from real measurements only (the -100% placeholder is not one)."""

from __future__ import annotations

import pytest

from plateau_doctor import diagnose


@pytest.fixture
def curves(kit):
    return dict(val_curve=kit.power_law(4.2, 1.40), train_curve=kit.power_law(4.2, 1.10))


def test_evals_taking_most_of_the_wall_time_is_a_warning(kit, curves):
    # an eval every 50 iterations costing 6 s against 60 ms iterations: ~67% of the time
    report = diagnose(kit.log({"eval_interval": 50}, **curves, eval_ms=6000, iter_ms=60))
    f = kit.one(report, "PD701")
    assert (f.category, f.severity) == ("throughput", "warning")
    assert f.evidence["eval_time_share"] == pytest.approx(0.67, abs=0.03)
    assert f.evidence["median_iter_ms"] == pytest.approx(60, rel=0.05)


def test_evals_taking_a_fifth_to_a_half_of_the_time_is_info(kit, curves):
    f = kit.one(diagnose(kit.log(**curves, eval_ms=8000, iter_ms=60)), "PD701")
    assert 0.2 <= f.evidence["eval_time_share"] < 0.5
    assert f.severity == "info"


def test_cheap_evals_and_a_measured_mfu_are_silent(kit, curves):
    assert kit.by_code(diagnose(kit.log(**curves, eval_ms=100, mfu=30.0)), "PD701") == []


def test_low_measured_mfu_is_info(kit, curves):
    f = kit.one(diagnose(kit.log(**curves, eval_ms=100, mfu=2.0)), "PD701")
    assert f.severity == "info"
    assert f.evidence["median_mfu_percent"] == pytest.approx(2.0, rel=0.05)
    assert "312 TFLOPS" in f.message


def test_the_minus_100_mfu_placeholder_is_not_a_measurement(kit, curves):
    # every iter line prints `mfu -100.00%` (as before local iteration 5): no MFU finding
    report = diagnose(kit.log(**curves, eval_ms=100, mfu=None))
    assert kit.by_code(report, "PD701") == []


def test_the_compile_time_of_iteration_0_is_not_eval_time(kit, curves):
    # iteration 0 takes 9 s (compile), evals are cheap: nothing to report
    report = diagnose(kit.log(**curves, eval_ms=50))
    assert kit.by_code(report, "PD701") == []


def test_llmc_placeholder_mfu_is_not_a_throughput_finding(shared_log):
    report = diagnose(str(shared_log("real_42_llmc_issue796_blackwell_stdout_EXCERPT.log")))
    assert "throughput" not in {f.category for f in report.findings if f.raised}
