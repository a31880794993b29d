"""Shared line cleaning: the prefixes launchers, loggers and pastes put in front of a trainer's line
(shapes from real logs: torchrun, srun, torchtitan's and torchtune's loggers, glog, DeepSpeed),
tqdm bars with a line glued behind them, and what must be left alone."""

import copy
import pickle
import re
import subprocess
import sys

import pytest

from plateau_doctor.parsers import detect, parse_lines
from plateau_doctor.parsers.lines import LazyRegex, Sample, as_sample, clean_line, pieces, rank_tag

LINE = "step 250: train loss 1.9747, val loss 2.0779"


@pytest.mark.parametrize(
    "prefix",
    [
        "[rank0]:",
        "[rank3]: ",
        "[default0]:",
        "[trainer0|3]:",
        "0: ",
        "12: ",
        "2024-05-01 12:00:00,123 - INFO - ",
        "2024-05-01 12:00:00,123 - root - INFO - ",
        "[2024-05-01 12:00:00] ",
        "[2024-05-01T12:00:00.123Z] ",
        "[12:00:00] ",
        "[titan] 2025-06-16 22:30:48,735 - root - INFO - ",
        "[rank0]:[titan] 2025-06-16 22:30:48,735 - root - INFO - ",
        "INFO:torchtune.utils._logging:",
        "[INFO] ",
        "I0501 12:00:00.123456 12345 train.py:123] ",
        "# ",
        "## ",
        "> ",
        "\x1b[31m",
    ],
)
def test_each_prefix_is_stripped(prefix):
    assert clean_line(prefix + LINE) == LINE


def test_stacked_prefixes_are_all_stripped():
    assert clean_line("0: [rank1]:2024-05-01 12:00:00,123 - INFO - " + LINE) == LINE


@pytest.mark.parametrize(
    "line",
    [
        "iter 10: loss 3.1462, time 67.89ms, mfu 5.49%",
        "Iter 10: Train loss 2.662, Learning Rate 1.000e-05",
        "1|27|Loss: 1.19:  27%|██▋ | 27/101 [07:00<17:31, 14.21s/it]",
        "[rank 0] GC: 0.01s",  # nanochat counts these: no colon after the bracket
        "Initializing a new model from scratch",
    ],
)
def test_lines_without_a_prefix_are_left_alone(line):
    assert clean_line(line) == line


def test_a_line_glued_behind_a_tqdm_bar_is_a_piece_of_its_own():
    bar = "Calculating loss...: 100%|██████| 25/25 [00:05<00:00,  4.75it/s]"
    assert pieces(bar + "Iter 1: Val loss 2.936, Val took 5.265s") == [
        bar,
        "Iter 1: Val loss 2.936, Val took 5.265s",
    ]
    assert pieces(bar) == [bar]  # a bar alone stays whole
    assert pieces("a\rb" + bar + "Iter 2") == ["a", "b" + bar, "Iter 2"]


def test_a_bar_with_a_postfix_and_an_unknown_remaining_time_ends_where_its_bracket_closes():
    bar = "  0%|          | 0/1000 [00:00<?, ?it/s]"
    assert pieces(bar + "Starting training..., iters: 1000")[1] == "Starting training..., iters: 1000"
    bar = " 1%|▊ | 10/1000 [00:32<53:42,  3.25s/it, Loss=3.4376, LR=1.00e-04]"
    assert pieces(bar + "Iter 20: Train loss 3.142")[1] == "Iter 20: Train loss 3.142"


def test_rank_tags_give_the_rank():
    assert [rank_tag(t + LINE) for t in ("[rank7]:", "[default2]:", "[trainer1|5]:", "0: ", "")] == [
        7,
        2,
        1,
        None,
        None,
    ]


def test_a_log_pasted_as_comments_is_read():
    log = parse_lines(
        [
            "# step 0: train loss 10.9, val loss 10.9",
            "# iter 0: loss 10.9, time 100.00ms, mfu -100.00%",
            "# iter 1: loss 10.1, time 100.00ms, mfu -100.00%",
        ]
    )
    assert log.format == "nanogpt" and log.iters["iter"].tolist() == [0, 1] and len(log.evals) == 1


def test_a_commented_metric_line_inside_a_config_echo_stays_config_text():
    log = parse_lines(
        [
            "Overriding config with config/x.py:",
            "# iter 0: loss 9.0 is a comment",
            "max_iters = 10",
            "tokens per iteration will be: 16,384",
            "iter 0: loss 4.2, time 10.00ms, mfu -100.00%",
        ]
    )
    assert log.iters["iter"].tolist() == [0] and log.iters["loss"].tolist() == [4.2]
    assert "# iter 0: loss 9.0 is a comment" in log.meta.config_echo[0][1]


def test_an_eval_line_after_a_tqdm_bar_is_detected_and_read():
    lines = [
        "Training: 100%|██████████| 50/50 [00:10<00:00,  4.90it/s]step 50: train loss 2.1, val loss 2.3",
        "iter 50: loss 2.0, time 10.00ms, mfu 1.00%",
    ]
    assert detect(lines) == "nanogpt"
    assert parse_lines(lines).evals[["step", "val_loss"]].values.tolist() == [[50, 2.3]]


@pytest.mark.parametrize(
    "line",
    ["...", "…", "[...]", "(... 200 lines omitted)", "<snip>", "[truncated]", "... 5 more lines skipped"],
)
def test_an_elision_line_marks_the_log_as_an_excerpt(line):
    from plateau_doctor.parsers import parse_lines

    log = parse_lines(
        ["step 0: train loss 4.2, val loss 4.2", line, "iter 900: loss 2.1, time 10.0ms, mfu 5.00%"]
    )
    assert log.meta.excerpt


@pytest.mark.parametrize("line", ["step 0: ...", "...loss 3.2", "loading ... done"])
def test_text_with_dots_in_it_is_not_an_elision(line):
    from plateau_doctor.parsers.lines import is_elision

    assert not is_elision(line)


def test_a_real_excerpt_ending_in_an_elision_is_not_called_a_stopped_run(shared_logs):
    from plateau_doctor import diagnose

    report = diagnose(str(shared_logs / "real_43_llmc_gpt2_1558M_8xH100_startup_EXCERPT.log"))
    assert not [f for f in report.findings if f.raised]
    [f] = [f for f in report.findings if f.code == "PD104"]
    assert f.evidence["excerpt"] is True


SAMPLE_LINES = [
    "iter 1: loss 2.0",
    "",
    "  step 1: train loss 2.0, val loss 2.1\riter 2: loss 1.9",
    "[rank0]: iteration 5 | step: 3\n(Step 4) iteration",
    "stepping\r\r\x1b[0m",
    "siter iteration iteration",
    "Iter 3",
]


@pytest.mark.parametrize("prefixes", [("iter ",), ("step",), ("step ", "iter "), ("s", "si", "I"), ("x",)])
def test_a_sample_gives_the_pieces_starting_with_prefixes_in_order(prefixes):
    expected = [p for p in Sample(SAMPLE_LINES).pieces if p.startswith(prefixes)]
    assert Sample(SAMPLE_LINES).starting(*prefixes) == expected
    assert as_sample(SAMPLE_LINES).starting(*prefixes) == expected


@pytest.mark.parametrize("needle", ["iteration", "(Step 4)", "step", "x", "▼", "1: loss", "2.0"])
def test_a_sample_gives_the_pieces_holding_a_word_in_order_once(needle):
    sample = Sample(SAMPLE_LINES * 10)  # over FEW_OCCURRENCES pieces in ten, and under
    expected = [p for p in sample.pieces if needle in p]
    assert Sample(SAMPLE_LINES * 10).containing(needle) == expected
    assert Sample(SAMPLE_LINES[:4] + ["x"] * 100).containing(needle) == [
        p for p in Sample(SAMPLE_LINES[:4] + ["x"] * 100).pieces if needle in p
    ]
    assert sample.mentions(needle) == bool(expected)
    assert sample.raw_mentions(needle) == any(needle in line for line in sample)


@pytest.mark.parametrize("needle", ["", "a\rb"])
def test_a_sample_refuses_words_that_joined_text_cannot_answer_for(needle):
    with pytest.raises(ValueError):
        Sample(SAMPLE_LINES).mentions(needle)
    with pytest.raises(ValueError):
        Sample(SAMPLE_LINES).starting("")


def test_a_lazy_regex_compiles_at_its_first_use_and_then_is_the_pattern():
    lazy = LazyRegex(r"^iter (\d+)", re.IGNORECASE)
    assert "compiled" not in vars(lazy)
    assert lazy.match("ITER 12").group(1) == "12"
    expected = re.compile(r"^iter (\d+)", re.IGNORECASE)
    assert lazy.compiled is expected  # re's own cache: the very same pattern object
    assert (lazy.pattern, lazy.flags) == (expected.pattern, expected.flags)
    assert lazy.findall("iter 1 iter 2") == ["1"]


@pytest.mark.parametrize("used", [False, True])
def test_a_lazy_regex_survives_copy_and_pickle_as_a_lazy_regex(used):
    """copy and pickle probe for dunder hooks; handed on to the pattern they recursed (copy,
    pickle) or turned the object into a compiled pattern (deepcopy)."""
    lazy = LazyRegex(r"^step (\d+)")
    if used:
        lazy.match("step 1")
    for clone in (copy.copy(lazy), copy.deepcopy(lazy), pickle.loads(pickle.dumps(lazy))):
        assert type(clone) is LazyRegex
        assert clone.match("step 42").group(1) == "42"


def test_importing_the_parsers_compiles_no_format_pattern():
    """Every format module is imported for detection; their patterns wait for a log that needs
    them (a module-level re.compile would cost every run ~0.1 ms a pattern)."""
    code = (
        "import re, plateau_doctor.parsers.formats as f, plateau_doctor.parsers.lines as lines\n"
        "from plateau_doctor.parsers.lines import LazyRegex\n"
        "found = [(m.NAME, k) for m in f.FORMATS.values() for k, v in vars(m).items()\n"
        "         if v is not getattr(lines, k, None)  # the shared clean-up's, used by every log\n"
        "         and (isinstance(v, re.Pattern) or (isinstance(v, LazyRegex) and 'compiled' in vars(v)))]\n"
        "lazy = sum(isinstance(v, LazyRegex) for m in f.FORMATS.values() for v in vars(m).values())\n"
        "print(found, lazy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    compiled, lazy = out.rsplit(" ", 1)
    assert compiled == "[]"
    assert int(lazy) > 50
