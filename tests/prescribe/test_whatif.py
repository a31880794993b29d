import json

import pytest
from prescribe_support import OVERFIT_CONFIG, OVERFIT_LOG, SEED_CONFIG, SEED_LOG

from plateau_doctor.api import examine
from plateau_doctor.prescribe.whatif import WhatIfError, render_text, to_json, what_if


@pytest.fixture(scope="module")
def seed():
    return examine(str(SEED_LOG), str(SEED_CONFIG))


def test_a_longer_schedule_forecasts_a_lower_end_loss_and_costs_more(seed):
    result = what_if(seed, {"max_iters": 30000, "lr_decay_iters": 30000})
    assert result.new.predicted < result.old.predicted < result.last_val
    assert result.new.low < result.new.predicted < result.new.high
    assert (result.old.iterations, result.new.iterations) == (20000, 30000)
    assert result.new.tokens == 30000 * 524288
    assert result.new.hours == pytest.approx(result.old.hours * 1.5, rel=0.01)


def test_resuming_counts_the_remaining_iterations(seed):
    result = what_if(seed, {"max_iters": 30000, "lr_decay_iters": 30000}, resume=True)
    assert (result.old.iterations, result.new.iterations) == (5500, 15500)
    assert "remaining" in render_text(result)


def test_the_configured_end_of_a_finished_run_is_its_measured_val():
    finished = examine(str(OVERFIT_LOG), str(OVERFIT_CONFIG))
    result = what_if(finished, {"max_iters": 1750, "lr_decay_iters": 1750})
    assert result.old.measured and result.old.predicted == pytest.approx(1.7036)
    assert result.new.predicted < result.old.predicted
    assert any("best val" in note for note in result.notes)
    assert "(measured)" in render_text(result)


def test_an_overfitting_run_is_not_forecast_past_its_best_val():
    finished = examine(str(OVERFIT_LOG), str(OVERFIT_CONFIG))
    result = what_if(finished, {"max_iters": 4000, "lr_decay_iters": 4000})
    assert result.new.predicted is None


def test_a_peak_lr_change_is_flagged_as_rough(seed):
    result = what_if(seed, {"learning_rate": 6e-4})
    assert any("rough" in note for note in result.notes)


def test_only_schedule_keys_can_be_changed(seed):
    with pytest.raises(WhatIfError, match="did you mean max_iters"):
        what_if(seed, {"max_iter": 100})
    with pytest.raises(WhatIfError, match="schedule only"):
        what_if(seed, {"n_layer": 24})
    with pytest.raises(WhatIfError, match="max_iters"):
        what_if(seed, {"max_iters": 1.5})


def test_a_log_without_a_schedule_is_refused(tmp_path):
    # only the loss lines of a real log: no echoed config, no overrides
    lines = [
        line
        for line in OVERFIT_LOG.read_text().splitlines(keepends=True)
        if line.startswith(("step ", "iter "))
    ]
    (tmp_path / "bare.log").write_text("".join(lines))
    bare = examine(str(tmp_path / "bare.log"))
    with pytest.raises(WhatIfError, match="schedule"):
        what_if(bare, {"max_iters": 100})


def test_json_carries_both_plans_and_the_difference(seed):
    data = json.loads(to_json(what_if(seed, {"max_iters": 30000, "lr_decay_iters": 30000})))
    assert set(data) >= {"old", "new", "difference", "method", "notes", "refusal"}
    assert data["difference"] < 0 and data["new"]["end_iter"] == 30000


def test_a_schedule_far_from_the_fitted_peak_lr_is_not_forecast(seed):
    result = what_if(seed, {"learning_rate": 3e-3})
    assert result.new.predicted is None
    assert any("not trusted that far" in note for note in result.notes)


def test_a_run_ending_inside_its_warmup_is_not_forecast(seed):
    result = what_if(seed, {"max_iters": 100})
    assert result.new.predicted is None
    assert any("inside its warmup" in note for note in result.notes)


def test_a_far_extrapolation_is_called_one(seed):
    result = what_if(seed, {"max_iters": 1_000_000, "lr_decay_iters": 1_000_000})
    assert result.new.low < result.new.predicted < result.new.high
    assert any("extrapolation" in note for note in result.notes)
