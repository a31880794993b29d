"""The command line's contract: exit codes, one-line errors, deterministic JSON, compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "examples" / "logs"
OVERFIT = LOGS / "h200_shakespeare_char_overfit_default.log"
HEALTHY = LOGS / "h200_pycode_healthy.log"
HEALTHY_2K = LOGS / "h200_shakespeare_char_healthy_2k.log"
LR_HIGH = LOGS / "h200_shakespeare_char_lr_high_1e-2.log"


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_version_prints_the_version():
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.decode().startswith("plateau-doctor ")


def test_exit_0_when_no_finding_reaches_fail_on():
    done = run("diagnose", str(HEALTHY), "--format", "json")
    report = json.loads(done.stdout)
    assert not [f for f in report["findings"] if f["severity"] == "error"]
    assert done.returncode == 0


def test_exit_1_when_a_finding_is_at_fail_on():
    assert run("diagnose", str(OVERFIT)).returncode == 1


def test_exit_1_when_fail_on_warning_and_only_warnings():
    # the stock shakespeare_char config stopped at 2000: 33 epochs with a growing gap (a warning)
    report = json.loads(run("diagnose", str(HEALTHY_2K), "--format", "json").stdout)
    assert any(f["severity"] == "warning" for f in report["findings"])
    assert not any(f["severity"] == "error" for f in report["findings"])
    assert run("diagnose", str(HEALTHY_2K)).returncode == 0
    assert run("diagnose", str(HEALTHY_2K), "--fail-on", "warning").returncode == 1


def test_a_finished_healthy_run_passes_a_warning_gate():
    assert run("diagnose", str(HEALTHY), "--fail-on", "warning").returncode == 0


def test_fail_on_never_exits_0_even_with_errors():
    assert run("diagnose", str(OVERFIT), "--fail-on", "never").returncode == 0


def test_missing_file_is_exit_2_with_one_line_naming_it():
    done = run("diagnose", "no/such/run.log")
    assert done.returncode == 2
    err = done.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "no/such/run.log" in err[0] and "no such file" in err[0]
    assert "Traceback" not in done.stderr.decode()


def test_garbage_file_is_exit_2_with_one_line(tmp_path):
    garbage = tmp_path / "garbage.log"
    garbage.write_bytes(bytes(range(256)) * 40)
    done = run("diagnose", str(garbage))
    assert done.returncode == 2
    err = done.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "no training-loss lines" in err[0]


def test_bad_config_is_exit_2_naming_the_config(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("learning_rate = = 3\n")
    done = run("diagnose", str(OVERFIT), "--config", str(bad))
    assert done.returncode == 2
    assert str(bad) in done.stderr.decode() and "not valid Python" in done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()


def test_bad_set_option_is_exit_2():
    done = run("diagnose", str(OVERFIT), "--set", "learning_rate")
    assert done.returncode == 2 and "KEY=VALUE" in done.stderr.decode()


def test_json_report_is_byte_identical_across_runs():
    first = run("diagnose", str(OVERFIT), "--format", "json").stdout
    second = run("diagnose", str(OVERFIT), "--format", "json").stdout
    assert first == second and json.loads(first)["schema_version"] == 1


def test_stdin_is_read_when_no_log_is_given():
    done = run("diagnose", "--format", "json", stdin=OVERFIT.read_bytes())
    report = json.loads(done.stdout)
    assert report["source"]["path"] == "<stdin>"
    assert report["findings"][0]["category"] == "overfitting"


def test_gzip_log_is_read(tmp_path):
    import gzip

    packed = tmp_path / "run.log.gz"
    packed.write_bytes(gzip.compress(OVERFIT.read_bytes()))
    report = json.loads(run("diagnose", str(packed), "--format", "json").stdout)
    assert report["run"]["last_iter"] == 5000


def test_several_logs_give_a_json_list_and_the_worst_exit_code():
    done = run("diagnose", str(HEALTHY), str(OVERFIT), "--format", "json")
    reports = json.loads(done.stdout)
    assert [r["source"]["path"] for r in reports] == [str(HEALTHY), str(OVERFIT)]
    assert done.returncode == 1


def test_output_is_written_to_file_not_stdout(tmp_path):
    target = tmp_path / "report.json"
    done = run("diagnose", str(OVERFIT), "--format", "json", "--output", str(target))
    assert done.stdout == b""
    assert json.loads(target.read_text())["source"]["format"] == "nanogpt"
    assert not list(tmp_path.glob(".plateau-doctor-*"))  # no temporary left behind


def test_select_and_ignore_by_category_and_code():
    only = json.loads(run("diagnose", str(OVERFIT), "--format", "json", "--select", "data_repetition").stdout)
    assert {f["category"] for f in only["findings"]} == {"data_repetition"}
    rest = json.loads(run("diagnose", str(OVERFIT), "--format", "json", "--ignore", "PD201,PD2").stdout)
    assert not [f for f in rest["findings"] if f["code"].startswith("PD2")]


def test_pyproject_settings_apply_and_flags_win(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.plateau-doctor]\nfail-on = "never"\nignore = ["PD202"]\n'
        '[tool.plateau-doctor.severity]\nPD201 = "warning"\n'
    )
    done = run("diagnose", str(OVERFIT), "--format", "json", cwd=tmp_path)
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert "PD202" not in {f["code"] for f in report["findings"]}
    assert report["findings"][0]["severity"] == "warning"
    assert run("diagnose", str(OVERFIT), "--fail-on", "warning", cwd=tmp_path).returncode == 1


def test_threshold_override_in_settings_changes_the_outcome(tmp_path):
    settings = tmp_path / "pd.toml"
    settings.write_text("[tool.plateau-doctor.thresholds.PD202]\nwarn_epochs = 100\nerror_epochs = 200\n")
    done = run("diagnose", str(OVERFIT), "--format", "json", "--config-file", str(settings))
    report = json.loads(done.stdout)
    assert "PD202" not in {f["code"] for f in report["findings"]}


def test_rules_and_explain_share_one_source():
    listed = json.loads(run("rules", "--format", "json").stdout)
    codes = [r["code"] for r in listed]
    assert codes == sorted(codes) and "PD201" in codes and "PD801" in codes
    for code in codes:
        doc = json.loads(run("explain", code, "--format", "json").stdout)
        assert doc["code"] == code and doc["what"] and doc["why"] and doc["fix"]


def test_explain_unknown_code_is_exit_2():
    assert run("explain", "PD999").returncode == 2


def test_compare_flags_the_high_lr_run_as_a_regression():
    done = run("compare", str(HEALTHY_2K), str(LR_HIGH), "--format", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 1
    assert {f["category"] for f in report["findings"] if f["severity"] == "error"} == {"regression"}


def test_compare_a_run_with_itself_is_not_a_regression():
    done = run("compare", str(HEALTHY_2K), str(HEALTHY_2K), "--format", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert not [f for f in report["findings"] if f["severity"] in ("warning", "error")]


def test_compare_better_candidate_exits_0():
    assert run("compare", str(LR_HIGH), str(HEALTHY_2K)).returncode == 0


def test_parse_exports_csv_with_iters_and_evals():
    done = run("parse", str(OVERFIT), "--to", "csv")
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("kind,step,loss,train_loss,val_loss")
    assert sum(1 for line in lines if line.startswith("eval,")) == 21
    assert sum(1 for line in lines if line.startswith("iter,")) == 501


def test_parse_json_has_meta_and_tables():
    data = json.loads(run("parse", str(OVERFIT), "--to", "json").stdout)
    assert data["format"] == "nanogpt" and data["meta"]["tokens_per_iter"] == 16384
    assert len(data["evals"]) == 21


@pytest.mark.parametrize("fmt", ["markdown", "sarif", "junit", "github", "text"])
def test_every_output_format_renders(fmt):
    done = run("diagnose", str(OVERFIT), "--format", fmt)
    assert done.returncode == 1 and done.stdout and not done.stderr


def test_text_report_is_plain_when_piped():
    out = run("diagnose", str(OVERFIT)).stdout.decode()
    assert "\x1b[" not in out and "PD201" in out


def test_parquet_export_without_output_is_one_usage_line_not_an_internal_error():
    done = run("parse", str(OVERFIT), "--to", "parquet")
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "plateau-doctor: --to parquet writes a binary file: give it --output FILE"
    ]


def test_parquet_export_needs_pyarrow_and_says_so_or_writes_the_table(tmp_path):
    target = tmp_path / "table.parquet"
    done = run("parse", str(OVERFIT), "--to", "parquet", "--output", str(target))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert done.returncode == 2
        assert "pip install 'plateau-doctor[parquet]'" in done.stderr.decode()
        assert not target.exists()
        return
    import pandas as pd

    assert done.returncode == 0
    table = pd.read_parquet(target)
    assert (table["kind"] == "eval").sum() == 21


ARROW_POOL = r"""
import sys
from plateau_doctor.cli import main
sys.argv = ["plateau-doctor", *sys.argv[1:]]
try:
    main()
except SystemExit:
    import pyarrow
    print(pyarrow.default_memory_pool().backend_name)
"""


@pytest.mark.parametrize("chosen, used", [(None, "system"), ("mimalloc", "mimalloc")])
def test_parquet_export_writes_with_the_c_allocator_unless_the_user_chose_one(tmp_path, chosen, used):
    pytest.importorskip("pyarrow")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    args = [str(OVERFIT), "--to", "parquet", "--output", str(tmp_path / "t.parquet")]
    done = subprocess.run([sys.executable, "-c", ARROW_POOL, "parse", *args], capture_output=True, env=env)
    assert done.stdout.decode().split() == [used], done.stderr.decode()


HEAVY_IMPORTS = r"""
import sys
from plateau_doctor.cli import main
sys.argv = ["plateau-doctor", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stderr.write("LOADED " + " ".join(m for m in ("numpy", "pandas") if m in sys.modules) + "\n")
"""


def loaded_heavy_modules(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", HEAVY_IMPORTS, *args], capture_output=True, cwd=ROOT, timeout=120
    )
    line = [x for x in done.stderr.decode().splitlines() if x.startswith("LOADED")][-1]
    return set(line.split()[1:])


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_version_and_help_import_neither_numpy_nor_pandas(flag):
    assert loaded_heavy_modules(flag) == set()


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_diagnose_never_imports_pandas(fmt):
    # pandas takes longer to import than a small log takes to diagnose; the loss table is numpy
    assert loaded_heavy_modules("diagnose", str(OVERFIT), "--format", fmt) == {"numpy"}


def test_a_document_format_lists_the_reports_in_command_line_order_whatever_finishes_first():
    # the big log finishes last in the pool; JSON must still follow the order given
    logs = [str(OVERFIT), str(HEALTHY), str(HEALTHY_2K), str(LR_HIGH)]
    for _ in range(3):
        done = run("diagnose", *logs, "--format", "json", "--jobs", "2")
        assert [r["source"]["path"] for r in json.loads(done.stdout)] == logs


# -- options declared once, errors mapped by meaning ------------------------------------------


@pytest.mark.parametrize("command", ["diagnose", "compare", "watch", "plot", "parse"])
def test_dash_h_is_help_for_every_command(command):
    done = run(command, "-h")
    assert done.returncode == 0 and done.stdout.decode().startswith(f"Usage: plateau-doctor {command}")


def test_the_shared_options_are_one_declaration_in_every_command():
    from plateau_doctor.cli import app

    def option(command: str, name: str):
        param = next(p for p in app.commands[command].params if p.name == name)
        return (tuple(param.opts), param.help, param.multiple, param.default)

    for name in ("set_", "log_format", "dataset_tokens", "config", "debug"):
        shapes = {
            option(c, name)
            for c in ("diagnose", "watch", "plot")
            if any(p.name == name for p in app.commands[c].params)
        }
        assert len(shapes) == 1, (name, shapes)
    for name in ("select", "ignore", "fmt", "output", "fail_on"):
        assert len({option(c, name) for c in ("diagnose", "compare")}) == 1, name


@pytest.mark.parametrize(
    "ext, check",
    [
        (".json", lambda text: json.loads(text)["schema_version"] == 1),
        (".sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        (".xml", lambda text: text.startswith("<?xml") and "<testsuites" in text),
        (".md", lambda text: text.startswith("## plateau-doctor:")),
        (".html", lambda text: text.startswith("<!DOCTYPE html>")),
        (".txt", lambda text: "PD201" in text and "\x1b[" not in text),
    ],
)
def test_output_picks_the_format_from_its_extension(tmp_path, ext, check):
    target = tmp_path / f"report{ext}"
    done = run("diagnose", str(OVERFIT), "--output", str(target))
    assert done.returncode == 1 and check(target.read_text())


def test_an_explicit_format_wins_over_the_extension(tmp_path):
    target = tmp_path / "report.sarif"
    run("diagnose", str(OVERFIT), "--output", str(target), "--format", "json")
    assert "schema_version" in json.loads(target.read_text())


def test_an_unexpected_exception_is_an_internal_error_not_bad_input(tmp_path):
    # a ValueError from a bug must not pass for "bad input": it says internal error and --debug
    code = (
        "import sys\nimport plateau_doctor.api as api\n"
        "def broken(*a, **k):\n    raise ValueError('a bug')\n"
        "api.examine = broken\nfrom plateau_doctor.cli import main\n"
        f"sys.argv = ['plateau-doctor', 'diagnose', {str(OVERFIT)!r}]\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 2 and "internal error: ValueError: a bug" in err and "--debug" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "name, content",
    [
        ("README.md", None),  # prose that mentions "val loss"
        ("cli.py", None),
        ("people.csv", "name,age,city\nbob,3,paris\nalice,4,rome\n"),
    ],
)
def test_files_that_are_not_training_logs_exit_2(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        source = ROOT / "README.md" if name == "README.md" else ROOT / "src" / "plateau_doctor" / "cli.py"
        content = source.read_text()
    path.write_text(content)
    done = run("diagnose", str(path))
    assert done.returncode == 2 and "no training-loss lines" in done.stderr.decode()


def test_a_forced_format_that_reads_nothing_names_the_detected_one():
    done = run("diagnose", str(OVERFIT), "--log-format", "llmc_stdout")
    err = done.stderr.decode()
    assert done.returncode == 2 and "read as llmc_stdout" in err and "looks like nanogpt" in err


def test_text_wraps_to_the_terminal_on_a_tty_and_stays_one_line_per_message_in_a_pipe():
    import pty

    piped = run("diagnose", str(OVERFIT)).stdout.decode()
    message = next(line for line in piped.splitlines() if line.startswith("   Val was lowest"))
    assert len(message) > 100  # a whole sentence, unbroken
    code = (
        "import os, sys\nos.environ['COLUMNS'] = '70'\nfrom plateau_doctor.cli import main\n"
        f"sys.argv = ['plateau-doctor', 'diagnose', {str(OVERFIT)!r}]\nmain()\n"
    )
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout is a terminal
        os.execvpe(sys.executable, [sys.executable, "-c", code], {**os.environ, "NO_COLOR": "1"})
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    screen = b"".join(chunks).decode(errors="replace").replace("\r", "")
    assert max(len(line) for line in screen.splitlines()) <= 70
    assert message.strip()[:40] in screen.replace("\n   ", " ")


@pytest.mark.parametrize(
    "line",
    [
        "step 1: train loss abc, val loss def",
        "iter 1: loss abc, time 5ms",
        "s:1 tel:abc",
        "step:1/10 val_loss:abc train_time:0ms",
        "Step 1 | Validation bpb: abc",
        "val loss was high",
        "{'loss': 'abc', 'epoch': 1}",
    ],
)
def test_a_sniffer_needs_a_number_where_the_format_has_one(line):
    from plateau_doctor.parsers import detect

    assert detect([line] * 20) is None


@pytest.mark.parametrize(
    "line, fmt",
    [
        ("step 1: train loss 1.0, val loss nan", "nanogpt"),
        ("s:1 tel:3.2", "llmc_mainlog"),
        ("step:1/10 train_time:5ms step_avg:nanms", "modded_nanogpt"),
        ("{'loss': nan}", "hf_trainer"),
        ("Step 00250 | Validation bpb: 1.2", "nanochat"),
        ("val loss 11.129390", "llmc_stdout"),
    ],
)
def test_nan_and_real_numbers_still_count(line, fmt):
    from plateau_doctor.parsers import detect

    assert detect([line] * 20) == fmt
