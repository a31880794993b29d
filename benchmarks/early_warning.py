"""How early does the diagnosis warn of a divergence? Replays real diverging logs line by line,
as `watch` sees them, and finds the first prefix whose report raises a finding that points at the
coming divergence (divergence, lr_too_high, loss_spikes, or grad-norm growth), and compares its
step with where the run really diverged (the full log's explosion or first NaN).

    python benchmarks/early_warning.py [--logs ../shared/logs]

A positive lead means the warning came before the loss left its basin; zero or negative means
the diagnosis saw it only when (or after) it happened.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plateau_doctor.api import examine  # noqa: E402

WARNING_CATEGORIES = {"divergence", "lr_too_high", "loss_spikes"}
# Real runs that diverge: (file, folder key). The shared ones need ../shared/logs.
RUNS = [
    ("real_04_nanogpt_gpt2_124M_linesearch_lr_escalates.log", "shared"),
    ("real_51_hf_trainer_deberta_xxl_abnormal_diverged.log", "shared"),
    ("real_52_hf_trainer_deberta_xl_semi_abnormal_diverged.log", "shared"),
    ("nanogpt_minlora_gpt2_fp32_loss_explodes_iter110_README.log", "wild"),
    ("nanogpt_minlora_gpt2_fp16_nan_iter110_README.log", "wild"),
    ("nanogpt_issue215_gpt2_owt_fp16_nan_iter3010_EXCERPT.log", "wild"),
]
MAX_REPLAYS = 200  # a long log is replayed every len/200 lines, a short one line by line


def onset(path: Path) -> int | None:
    """Where the full run diverged: the explosion's start or the first non-finite loss."""
    a = examine(str(path)).analyses
    starts = [e.start_iter for e in (a.explosion, a.val_explosion) if e is not None and not e.recovered]
    if a.non_finite is not None:
        starts.append(a.non_finite.first_iter)
    if a.logged_lr is not None and a.logged_lr.doublings >= 2 and a.val_explosion is None and not starts:
        return None
    return min(starts) if starts else None


def first_warning(path: Path) -> tuple[int | None, str]:
    """The last step of the first prefix whose report raises a divergence-pointing finding."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / path.name
        stride = max(1, len(lines) // MAX_REPLAYS)
        for end in range(stride, len(lines) + stride, stride):
            prefix.write_text("".join(lines[:end]), encoding="utf-8")
            try:
                run = examine(str(prefix))
            except Exception:  # noqa: BLE001 - a prefix with no data line yet
                continue
            raised = [f for f in run.report.findings if f.raised and f.category in WARNING_CATEGORIES]
            if raised:
                return run.facts.last_iter, f"{raised[0].code} {raised[0].title}"
    return None, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=ROOT.parent / "shared" / "logs")
    args = parser.parse_args()
    folders = {"shared": args.logs, "wild": ROOT / "tests" / "data" / "wild"}
    print(f"{'log':58} {'diverged at':>11} {'warned at':>9} {'lead':>6}  first warning")
    for name, where in RUNS:
        path = folders[where] / name
        if not path.is_file():
            print(f"{name:58} (missing)")
            continue
        at = onset(path)
        warned, what = first_warning(path)
        lead = "" if at is None or warned is None else f"{at - warned:+d}"
        print(
            f"{name[:58]:58} {at if at is not None else '-':>11} {warned if warned is not None else '-':>9} "
            f"{lead:>6}  {what[:70]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
