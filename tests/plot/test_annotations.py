"""What the plot shows, decided without matplotlib: best val, spans, events, LR, forecast."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plateau_doctor.api import examine
from plateau_doctor.plot.annotations import RunPicture, loss_limits, picture, run_labels, smooth, stagger

ROOT = Path(__file__).resolve().parents[2]
OVERFIT_LOG = ROOT / "examples" / "logs" / "h200_shakespeare_char_overfit_default.log"


def write_synthetic_log(
    path: Path,
    *,
    spike_at: int | None = 700,
    nan_from: int | None = None,
    n: int = 2000,
    max_iters: int = 6000,
) -> Path:
    """A nanoGPT log of a power-law curve with a constant LR (so the forecast is not refused),
    optionally one loss spike and NaN losses from some iteration on."""
    rnd = random.Random(0)
    lines = [
        f"Overriding: max_iters = {max_iters}",
        "Overriding: decay_lr = False",
        "Overriding: warmup_iters = 100",
        "tokens per iteration will be: 8,192",
        "found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)",
    ]
    for it in range(0, n + 1, 10):
        base = 1.5 + 2.5 * (1 + it / 50) ** -0.7
        broken = nan_from is not None and it >= nan_from
        if it % 100 == 0:
            val = "nan" if broken else f"{base + 0.03 + rnd.gauss(0, 0.003):.4f}"
            lines.append(f"step {it}: train loss {base - 0.02:.4f}, val loss {val}")
        loss = base + rnd.gauss(0, 0.02) + (1.5 if it == spike_at else 0.0)
        lines.append(f"iter {it}: loss {'nan' if broken else f'{loss:.4f}'}, time 50.00ms, mfu 5.00%")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def overfit() -> RunPicture:
    return picture(examine(str(OVERFIT_LOG)))


@pytest.fixture(scope="module")
def troubled(tmp_path_factory) -> RunPicture:
    log = write_synthetic_log(tmp_path_factory.mktemp("logs") / "troubled.log", nan_from=1800)
    return picture(examine(str(log)))


def test_best_val_is_marked_at_the_lowest_val_eval(overfit):
    best = [p for p in overfit.points if p.kind == "best_val"]
    assert len(best) == 1
    assert (best[0].step, best[0].value) == (1750, pytest.approx(1.4647))
    assert best[0].label.startswith("best val 1.4647")


def test_overfitting_region_runs_from_best_val_to_the_last_eval(overfit):
    spans = {s.kind: s for s in overfit.spans}
    assert (spans["overfitting"].start, spans["overfitting"].end) == (1750, 5000)
    assert "overfitting" in spans["overfitting"].label
    assert "plateau" not in spans  # the run overfits; no plateau finding is raised


def test_warmup_end_and_min_lr_are_drawn_where_the_schedule_puts_them(overfit):
    lines = {v.kind: v.step for v in overfit.lines}
    assert lines["warmup"] == 100 and lines["min_lr"] == 5000
    assert "max_iters" not in lines and "nan" not in lines  # the run finished, and stayed finite


def test_rebuilt_learning_rate_follows_the_nanogpt_schedule(overfit):
    assert overfit.lr_source == "rebuilt"
    lr = dict(zip(overfit.lr.x, overfit.lr.y, strict=True))
    assert lr[100] == pytest.approx(1e-3) and lr[5000] == pytest.approx(1e-4)
    assert lr[0] < 2e-5  # warmup starts near zero


def test_eval_band_is_two_standard_errors_and_tokens_axis_is_known(overfit):
    # the run memorised its train text (late train 0.74, val 1.59), so one eval's noise is val's
    # own scatter (0.0093), not train's sigma / sqrt(eval_iters) (0.00098)
    assert overfit.band_half_width == pytest.approx(2 * 0.0092606, rel=1e-3)
    assert overfit.tokens_per_iter == 16384
    assert overfit.x_end == 5000


def test_refused_forecast_draws_nothing(overfit):
    assert overfit.forecast is None  # the cosine tail makes analyse refuse to forecast


def test_spike_nan_onset_max_iters_and_forecast_come_from_the_analyses(troubled):
    spikes = [p for p in troubled.points if p.kind == "spike"]
    assert [p.step for p in spikes] == [700]
    lines = {v.kind: v for v in troubled.lines}
    assert lines["nan"].step == 1800 and "NaN" in lines["nan"].label
    assert lines["max_iters"].step == 6000
    assert "min_lr" not in lines  # decay_lr = False: the LR never heads for min_lr
    fc = troubled.forecast
    assert fc.target_step == 6000 and fc.low < fc.predicted < fc.high
    assert fc.curve.x[-1] == 6000 and troubled.x_end == 6000


def test_axis_does_not_stretch_to_a_max_iters_far_beyond_the_run(tmp_path):
    log = write_synthetic_log(tmp_path / "short.log", max_iters=600_000)
    pic = picture(examine(str(log)))
    assert pic.x_end == 2000
    assert "max_iters" not in {v.kind for v in pic.lines} and pic.forecast is None


def test_smoothing_keeps_a_single_spike_out_of_the_trend_line():
    y = np.full(200, 2.0)
    y[100] = 5.0
    s = smooth(y)
    assert len(s) == 200 and np.allclose(s, 2.0)


def test_smoothing_follows_a_slope_without_shifting_the_ends():
    y = np.linspace(3.0, 1.0, 300)
    s = smooth(y)
    assert abs(s[150] - y[150]) < 1e-9
    assert abs(s[0] - y[0]) < 0.05 and abs(s[-1] - y[-1]) < 0.05


def test_loss_axis_ignores_the_initial_loss_but_keeps_spikes_in_view(overfit, troubled):
    lo, hi = loss_limits([overfit])
    assert lo < 0.62 and 1.71 < hi < 3.0  # 4.28 at step 0 would squash the curve
    _, hi_full = loss_limits([overfit], skip_early=False)
    assert hi_full > 4.28
    spike = next(p.value for p in troubled.points if p.kind == "spike")
    assert loss_limits([troubled])[1] > spike


def test_labels_that_would_overlap_go_to_different_rows():
    rows = stagger([(0.0, 0.3), (0.2, 0.5), (0.6, 0.9), (0.25, 0.4)], rows=3)
    assert rows[0] == 0 and rows[2] == 0  # far apart: same row
    assert len({rows[0], rows[1], rows[3]}) == 3


def test_aligning_by_tokens_scales_every_step(overfit):
    scaled = overfit.scaled(16384)
    assert scaled.val.x[-1] == 5000 * 16384
    assert [s.start for s in scaled.spans] == [1750 * 16384]
    assert scaled.lr.x[-1] == overfit.lr.x[-1] * 16384
    assert np.array_equal(scaled.val.y, overfit.val.y)


def test_run_labels_are_file_names_unless_two_runs_share_one():
    assert run_labels(["a/x.log", "b/y.log"]) == ["x.log", "y.log"]
    assert run_labels(["a/x.log", "b/x.log"]) == ["a/x.log", "b/x.log"]


def test_plot_package_imports_without_matplotlib():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import plateau_doctor.plot, plateau_doctor.plot.annotations, plateau_doctor.report.html\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_train_band_of_a_memorised_run_is_trains_own_noise(overfit):
    # val's noise is its scatter (0.0093); train batches still give sigma / sqrt(200) (~0.001)
    assert overfit.train_band_half_width == pytest.approx(2 * 0.0009754, rel=1e-3)
