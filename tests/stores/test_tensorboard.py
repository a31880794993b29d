"""TensorBoard event files written by tensorboardX (and torch.utils.tensorboard where torch is
installed), read without TensorBoard: every point, tags mapped to the loss table."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import need

from plateau_doctor.api import diagnose, parse
from plateau_doctor.read import InputError
from plateau_doctor.stores import tfrecord


def _writer(logdir):
    need("tensorboardX", "in the test extra")
    from tensorboardX import SummaryWriter

    return SummaryWriter(str(logdir))


def test_every_point_is_read_where_tensorboard_keeps_a_1000_point_sample(tmp_path):
    writer = _writer(tmp_path)
    for step in range(5000):
        writer.add_scalar("train/loss", 4.0 / (1 + step / 100), step)
    writer.close()
    parsed = parse(str(tmp_path))
    assert parsed.format == "tensorboard"
    assert parsed.iter_table["iter"].tolist() == list(range(5000))
    assert parsed.iter_table["loss"][4999] == pytest.approx(4.0 / 50.99, rel=1e-6)


def test_hf_trainer_tags_fill_the_loss_lr_grad_norm_and_eval_columns(tmp_path):
    writer = _writer(tmp_path)
    for step in range(10, 110, 10):
        writer.add_scalar("train/loss", 3.0 - step / 100, step)
        writer.add_scalar("train/learning_rate", 5e-5, step)
        writer.add_scalar("train/grad_norm", 1.5, step)
        writer.add_scalar("train/epoch", step / 100, step)
        if step == 50:  # Trainer.evaluate() logs in a call of its own
            writer.add_scalar("eval/loss", 2.5, step)
            writer.add_histogram("weights", np.arange(10.0), step)  # not a scalar: skipped
    writer.close()
    parsed = parse(str(tmp_path))
    iters, evals = parsed.iter_table, parsed.eval_table
    assert iters["iter"].tolist() == list(range(10, 110, 10))
    assert iters["lr"][0] == pytest.approx(5e-5) and iters["grad_norm"][0] == pytest.approx(1.5)
    assert parsed.meta.lr_logged and parsed.meta.epochs == pytest.approx(1.0)
    assert evals["step"].tolist() == [50] and evals["val_loss"][0] == pytest.approx(2.5)
    assert evals["train_loss"][0] == pytest.approx(2.5)  # the train loss logged at that step


def test_a_replayed_overfitting_run_reads_as_its_log_and_is_diagnosed_overfitting(tensorboardx_logdir, curve):
    parsed = parse(str(tensorboardx_logdir))
    assert parsed.iter_table["iter"].tolist() == [step for step, _, _ in curve.iters]
    # event files hold float32: the log's 4-decimal losses come back within float32 precision
    np.testing.assert_allclose(parsed.iter_table["loss"], [loss for _, loss, _ in curve.iters], rtol=1e-6)
    np.testing.assert_allclose(parsed.eval_table["val_loss"], [val for _, _, val in curve.evals], rtol=1e-6)
    report = diagnose(str(tensorboardx_logdir))
    raised = [f.category for f in report.findings if f.raised]
    assert raised[0] == "overfitting"  # labels.yaml: expect_top overfitting
    assert not {"divergence", "lr_too_high", "lr_too_low", "capacity_limited"} & set(raised)


def test_the_args_text_summary_is_the_runs_config(tensorboardx_logdir, curve):
    meta = parse(str(tensorboardx_logdir)).meta
    assert meta.overrides["learning_rate"] == repr(curve.config["learning_rate"])
    assert meta.overrides["block_size"] == repr(curve.config["block_size"])
    assert meta.config_schema == "nanogpt"  # nanoGPT's config keys: resolve may use its defaults


def test_tensor_scalars_as_tf2_writes_them_are_read(tmp_path):
    writer = _writer(tmp_path)
    from tensorboardX.proto.summary_pb2 import Summary
    from tensorboardX.proto.tensor_pb2 import TensorProto

    for step, value in enumerate([2.0, 1.5, 1.25]):
        tensor = TensorProto(dtype=tfrecord.DT_FLOAT, float_val=[value])
        writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag="loss", tensor=tensor)]), step)
    double = TensorProto(dtype=tfrecord.DT_DOUBLE, tensor_content=np.float64(1.125).tobytes())
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag="loss", tensor=double)]), 3)
    writer.close()
    assert parse(str(tmp_path)).iter_table["loss"].tolist() == [2.0, 1.5, 1.25, 1.125]


def test_torch_utils_tensorboard_writes_a_run_read_the_same(tmp_path, curve):
    need("torch", "pip install torch==2.13.0: the CPU build on this machine's disk")
    need("tensorboard", "torch.utils.tensorboard imports it: pip install tensorboard")
    import store_writers
    from torch.utils.tensorboard import SummaryWriter

    store_writers.write_tensorboard(SummaryWriter, tmp_path, curve)
    parsed = parse(str(tmp_path))
    np.testing.assert_allclose(parsed.iter_table["loss"], [loss for _, loss, _ in curve.iters], rtol=1e-6)


def test_a_file_cut_mid_record_is_read_up_to_the_cut_and_says_so(tmp_path):
    writer = _writer(tmp_path / "run")
    for step in range(100):
        writer.add_scalar("loss", 1.0 + step, step)
    writer.close()
    (event,) = (tmp_path / "run").iterdir()
    data = event.read_bytes()
    cut = tmp_path / "cut" / event.name
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) - 20])  # a writer still at work: its last record half there
    parsed = parse(str(cut.parent))
    assert parsed.iter_table["iter"].tolist() == list(range(99))
    assert any("cut short" in note for note in parsed.meta.notes)


def test_a_corrupt_record_length_ends_the_read_there(tmp_path):
    writer = _writer(tmp_path)
    for step in range(10):
        writer.add_scalar("loss", 1.0, step)
    writer.close()
    (event,) = tmp_path.iterdir()
    data = bytearray(event.read_bytes())
    first = 12 + int.from_bytes(data[:8], "little") + 4
    second = first + 12 + int.from_bytes(data[first : first + 8], "little") + 4
    data[second + 7] = 0x7F  # the third record's length: huge, CRC mismatch
    event.write_bytes(bytes(data))
    parsed = parse(str(event))
    assert parsed.iter_table["iter"].tolist() == [0]
    assert any("corrupt record length" in note for note in parsed.meta.notes)


def test_a_file_that_is_not_an_event_file_is_an_input_error(tmp_path):
    fake = tmp_path / "events.out.tfevents.123.host"
    fake.write_text("iter 0: loss 4.2\n" * 10)
    with pytest.raises(InputError, match="not a TensorBoard event file"):
        parse(str(fake))


def test_a_run_without_a_loss_tag_names_its_tags(tmp_path):
    writer = _writer(tmp_path)
    writer.add_scalar("accuracy", 0.5, 1)
    writer.close()
    with pytest.raises(InputError, match="no loss metric recognised among 'accuracy'"):
        parse(str(tmp_path))


def test_columns_map_a_tag_the_names_do_not(tmp_path):
    writer = _writer(tmp_path)
    for step in range(5):
        writer.add_scalar("objective/nll", 2.0 - step / 10, step)
    writer.close()
    parsed = parse(str(tmp_path), columns={"train": "objective/nll"})
    assert parsed.iter_table["loss"].tolist() == pytest.approx([2.0, 1.9, 1.8, 1.7, 1.6])


def test_a_restart_in_a_new_event_file_keeps_the_later_values_of_repeated_steps(tmp_path):
    first = _writer(tmp_path)
    for step in range(0, 60, 10):
        first.add_scalar("loss", 3.0, step)
    first.close()
    (older,) = tmp_path.iterdir()
    newer_name = older.name.replace(older.name.split(".")[3], str(int(older.name.split(".")[3]) + 60))
    second = _writer(tmp_path / "second")
    for step in range(30, 90, 10):  # resumed from the step-30 checkpoint
        second.add_scalar("loss", 2.0, step)
    second.close()
    (resumed,) = (tmp_path / "second").iterdir()
    resumed.rename(tmp_path / newer_name)
    parsed = parse(str(tmp_path))
    assert parsed.iter_table["iter"].tolist() == [0, 10, 20, 30, 40, 50, 60, 70, 80]
    assert parsed.iter_table["loss"].tolist() == [3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    assert any("2 event files read as one run" in note for note in parsed.meta.notes)


def test_without_protobuf_the_error_is_one_line_with_the_extra_to_install(tmp_path, monkeypatch):
    writer = _writer(tmp_path)
    writer.add_scalar("loss", 1.0, 0)
    writer.close()
    tfrecord._build_event_class.cache_clear()
    monkeypatch.setitem(sys.modules, "google.protobuf", None)
    try:
        with pytest.raises(InputError) as caught:
            parse(str(tmp_path))
    finally:
        monkeypatch.undo()
        tfrecord._build_event_class.cache_clear()
    assert "pip install 'plateau-doctor[tensorboard]'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_masked_crc_matches_the_crc_tensorboardx_wrote_for_every_record(tmp_path):
    writer = _writer(tmp_path)
    for step in range(50):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.close()
    (event,) = tmp_path.iterdir()
    data = event.read_bytes()
    at = checked = 0
    while at < len(data):
        length = int.from_bytes(data[at : at + 8], "little")
        assert tfrecord.masked_crc(data[at : at + 8]) == int.from_bytes(data[at + 8 : at + 12], "little")
        body = data[at + 12 : at + 12 + length]
        assert tfrecord.masked_crc(body) == int.from_bytes(
            data[at + 12 + length : at + 16 + length], "little"
        )
        at += 16 + length
        checked += 1
    assert checked == 51  # the file_version event, then one per scalar
