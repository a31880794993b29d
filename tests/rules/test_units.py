"""Train and val in different units (nanochat: val in bits per byte, train an EMA in nats) are
never compared: no gap, no overfitting read from it."""

from __future__ import annotations

from plateau_doctor import diagnose


def _nanochat_log(tmp_path):
    lines = []
    for step in range(0, 2001, 10):
        ema = 2.0 + 6.0 * (1 + step / 100) ** -0.8  # nats per token, falling
        lines.append(
            f"step {step:05d}/02000 ({step / 20:.2f}%) | loss: {ema:.6f} | lrm: 1.00 | "
            f"dt: 100.00ms | tok/sec: 100,000 | mfu: 40.00 | total time: 0.10m"
        )
        if step % 250 == 0:
            bpb = 0.9 + 1.5 * (1 + step / 100) ** -0.8 + (0.02 if step > 1500 else 0.0)
            lines.append(f"Step {step:05d} | Validation bpb: {bpb:.6f}")
    path = tmp_path / "nanochat.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bits_per_byte_val_is_not_compared_with_a_nats_train_loss(tmp_path):
    report = diagnose(str(_nanochat_log(tmp_path)))
    assert report.format == "nanochat"
    pd201 = [f for f in report.findings if f.code == "PD201"]
    assert all("gap_last" not in f.evidence for f in pd201)
    assert "capacity_limited" not in {f.category for f in report.findings if f.raised}
