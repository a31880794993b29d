"""Property-based tests of the config loader: configs come from strangers' repositories.

`load_config_file` (.py read with ast, .yaml, .json, .toml) and `read_python_config` must return
values or raise ConfigError (one line naming the file), within a time bound, on anything; nothing
in a .py config may ever run. "Never runs" is checked two ways: generated configs hold code that
would create a marker file or start a process if executed (the marker must never appear), and a
Python audit hook records every `exec`, `os.system`, `subprocess.Popen`, ... event while a config
is read (there must be none). Whatever loads is then fed through the whole diagnosis, as are random
`--set` values: invalid values are a ConfigError, never a crash.

Budget: see conftest.py (PLATEAU_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import math
import re
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plateau_doctor
from plateau_doctor.api import diagnose
from plateau_doctor.parsers import parse_lines
from plateau_doctor.resolve.config import parse_set_options, parse_value
from plateau_doctor.resolve.defaults import NANOGPT_DEFAULTS
from plateau_doctor.resolve.files import ConfigError, claimed_params, load_config_file, read_python_config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
from hostile_support import no_compiler_warnings  # noqa: E402

PROFILE = settings.get_profile("plateau-hostile")
# Values near 1e308 overflow in numpy (to inf, as they should); the warnings are noise here.
# (On the command line they reach stderr: see test_corpus.py::test_huge_values_report_without_noise_on_stderr.)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


LOAD_SECONDS = 5.0
CONFIG_TEXT = (ROOT / "examples" / "configs" / "h200_shakespeare_char_tiny_model.py").read_text()
LOG_LINES = (ROOT / "examples" / "logs" / "h200_shakespeare_char_tiny_model.log").read_text().split("\n")
PARSED = parse_lines(LOG_LINES, "nanogpt")

# -- "nothing runs": an audit hook ------------------------------------------------------------

FORBIDDEN_EVENTS = (
    "exec",
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.startfile",
    "pickle.find_class",
    "socket.connect",
    "builtins.input",
    "ctypes.dlopen",
    "shutil.rmtree",
    "os.remove",
)
_recording: list[list[str]] = []


# Importing a module executes its code (an "exec" event) the first time it is imported; that is
# the program's own code, not the config's. A config's code would come from the config's path.
_OWN_CODE = tuple(
    {
        form
        for place in (sys.prefix, sys.base_prefix, sys.exec_prefix, Path(plateau_doctor.__file__).parent)
        for form in (str(place), str(Path(place).resolve()))
    }
)


def _audit(event: str, args) -> None:
    if not _recording or not event.startswith(FORBIDDEN_EVENTS):
        return
    if event == "exec":
        filename = str(getattr(args[0], "co_filename", "")) if args else ""
        if filename.startswith(_OWN_CODE) or filename.startswith("<frozen "):
            return
    _recording[-1].append(f"{event} {args!r:.200}")


sys.addaudithook(_audit)  # cannot be removed; it records nothing outside `nothing_runs`


class nothing_runs:
    """Context: fail if code was executed or a process started inside it."""

    def __enter__(self):
        _recording.append([])
        return self

    def __exit__(self, *exc):
        events = _recording.pop()
        assert not events, f"reading a config triggered {events}"
        return False


# -- checks -------------------------------------------------------------------------------------


def load_or_fail_cleanly(path: Path):
    start = time.perf_counter()
    with nothing_runs(), no_compiler_warnings():
        try:
            loaded = load_config_file(str(path))
        except ConfigError as exc:
            check_config_error(exc, str(path))
            loaded = None
    seconds = time.perf_counter() - start
    assert seconds < LOAD_SECONDS, f"loading {path.name} took {seconds:.1f}s"
    return loaded


def check_config_error(exc: ConfigError, path: str) -> None:
    message = str(exc)
    assert message.startswith(path + ": "), message[:200]
    assert "\n" not in message and "\r" not in message, repr(message[:300])
    assert len(message) < 2000, len(message)


def diagnose_with_config(path: Path) -> None:
    """A config that loads goes through the whole pipeline: a report, or a ConfigError (a value
    of the wrong type for its nanoGPT key) naming the file."""
    try:
        diagnose(parsed=PARSED, config=str(path))
    except ConfigError as exc:
        check_config_error(exc, str(path))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("configs")


def write(workdir: Path, name: str, text: str) -> Path:
    path = workdir / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# -- Python configs -----------------------------------------------------------------------------

MARKER = "PLATEAU_DOCTOR_EXECUTED_ME"

# Each would create the marker file or start a process if the config were executed or imported.
DANGEROUS = [
    f"import os; os.system('touch {MARKER}')",
    f"__import__('os').system('touch {MARKER}')",
    f"open('{MARKER}', 'w').write('x')",
    f"exec(\"open('{MARKER}', 'w')\")",
    f"eval(\"open('{MARKER}', 'w')\")",
    f"learning_rate = __import__('os').system('touch {MARKER}') or 6e-4",
    f"max_iters = [open('{MARKER}', 'w') for _ in range(1)] and 5000",
    f"n_layer = {{k: open('{MARKER}', 'w') for k in 'a'}} and 12",
    f"dropout = (lambda: open('{MARKER}', 'w'))() and 0.1",
    f"wandb_run_name = f\"{{open('{MARKER}', 'w')}}\"",
    f"out_dir = getattr(__builtins__, 'open')('{MARKER}', 'w')",
    "batch_size = ().__class__.__bases__[0].__subclasses__() and 12",
    f"block_size = os.path.getsize('{MARKER}')",
    f"dtype = 'bfloat16' if open('{MARKER}', 'w') else 'float16'",
    f"@(lambda f: open('{MARKER}', 'w'))\ndef f(): pass",
    f"class C(metaclass=lambda *a: open('{MARKER}', 'w')): pass",
    f"with open('{MARKER}', 'w') as fh: fh.write('x')",
    f"import subprocess; subprocess.run(['touch', '{MARKER}'])",
    f"if True:\n    open('{MARKER}', 'w')",
    f"try:\n    open('{MARKER}', 'w')\nexcept Exception:\n    pass",
    f"gradient_accumulation_steps = (x := open('{MARKER}', 'w'))",
    f"from os import system as s; s('touch {MARKER}')",
    "del __builtins__; min_lr = 1e-4",
    f"warmup_iters: int = int(open('{MARKER}', 'w') is None)",
    f"globals()['max_iters'] = open('{MARKER}', 'w')",
    f"print(open('{MARKER}', 'w'))",
]
LITERALS = [f"{key} = {value!r}" for key, value in NANOGPT_DEFAULTS.items()]
PY_TOKENS = [
    "1if",
    '"\\d"',
    "0x",
    "=",
    " ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ".",
    "'",
    '"',
    "f'",
    "#",
    "\\",
    "lambda",
    "import",
    "os",
    "**",
    "*",
    "-",
    "+",
    "/",
    "//",
    "%",
    "1",
    "0",
    "9" * 50,
    "1e999",
    "max_iters",
    "a",
    "a = a * a",
    "a = [a, a]",
    "\n",
    "\t",
    "    ",
    "yield",
    "await",
    "async def",
    "return",
    "@",
    "->",
    "...",
    "not",
    "if",
    "else",
    "for",
    "in",
    "True",
    "None",
    "\x00",
    "\ufffd",
]


@st.composite
def hostile_python(draw) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(DANGEROUS),
                st.sampled_from(LITERALS),
                st.lists(st.sampled_from(PY_TOKENS), max_size=12).map("".join),
                st.text(max_size=20),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return "\n".join(parts) + "\n"


@settings(PROFILE)
@given(st.text(max_size=2000))
def test_any_text_as_a_python_config(text):
    start = time.perf_counter()
    with nothing_runs(), no_compiler_warnings():
        try:
            read_python_config(text, "x.py")
        except ConfigError as exc:
            check_config_error(exc, "x.py")
    assert time.perf_counter() - start < LOAD_SECONDS


@settings(PROFILE)
@given(hostile_python())
def test_python_configs_are_read_never_run(workdir, text):
    marker = Path.cwd() / MARKER
    path = write(workdir, "hostile.py", text)
    loaded = load_or_fail_cleanly(path)
    assert not marker.exists(), "a config was executed"
    if loaded is not None:
        for key in loaded.values:  # only literal assignments are read...
            assert key not in ("", None)
        diagnose_with_config(path)  # ...and they never crash the diagnosis
    assert not marker.exists(), "a config was executed"


def test_each_dangerous_construct_is_reported_unknown_not_run(workdir):
    marker = Path.cwd() / MARKER
    for snippet in DANGEROUS:
        text = "max_iters = 5000\n" + snippet + "\neval_iters = 20\n"
        loaded = load_or_fail_cleanly(write(workdir, "one.py", text))
        assert loaded is not None, snippet
        target = re.match(r"(\w+)\s*(?::\s*\w+\s*)?=[^=]", snippet)
        assert loaded.values.get("eval_iters") == 20, snippet
        if not (target and target.group(1) == "max_iters"):
            assert loaded.values.get("max_iters") == 5000, snippet
        if target and target.group(1) in NANOGPT_DEFAULTS:  # set by code: unknown, not read
            key = target.group(1)
            assert key not in loaded.values and key in loaded.unknown, (key, snippet)
        diagnose_with_config(workdir / "one.py")
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "a = 999999 ** 64\n" + "a = a * a\n" * 64,  # 2^64-fold growth through a name
        "a = [1]\n" + "a = [a, a]\n" * 200,  # a 2^200-leaf list
        "a = [1]\n" + "a = [a]\n" * 5000,  # a list 5000 levels deep
        "b = [" + "1, " * 50_000 + "]\n" + "c = [b]\n" * 15_000,  # a big list named again and again
        "x = " + "-" * 100_000 + "1\n",  # deep unary chain
        "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",  # deep parentheses
        "x = " + "1 + " * 100_000 + "1\n",  # a 100k-term sum
        "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "x = (-8) ** 0.5\n",  # complex: no config value is
        "# a GPT model of " + "1" * 200_000 + "M\n",  # the comment scan for claimed sizes
        "x = 10 ** 10 ** 10\n",
        "x = '" + "a" * 3_000_000 + "'\n",
    ],
)
def test_python_configs_that_grow_or_nest_are_bounded(workdir, text):
    loaded = load_or_fail_cleanly(write(workdir, "grow.py", text))
    if loaded is not None:
        for value in loaded.values.values():
            assert not isinstance(value, complex)
            assert not (isinstance(value, int) and value.bit_length() > 256)
        diagnose_with_config(workdir / "grow.py")


def test_claimed_sizes_scan_is_linear():
    start = time.perf_counter()
    assert claimed_params("# model " + "1" * 100_000) == []
    assert claimed_params("x = 1  # a 125M param model\n") == ["125M"]
    assert time.perf_counter() - start < 0.5


# -- YAML, JSON, TOML ---------------------------------------------------------------------------

YAML_TOKENS = [
    "&a ",
    "*a",
    "<<: *a",
    "!!python/object/apply:os.system ['touch " + MARKER + "']",
    "!!python/name:os.system",
    "!custom ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!omap ",
    "2001-13-45",
    "2001-12-14t21:59:43.10-05:00",
    "0x",
    "0o7",
    "1e999",
    "-.inf",
    ".nan",
    "~",
    "null",
    "[",
    "]",
    "{",
    "}",
    "- ",
    ": ",
    "? ",
    "|",
    ">",
    "---",
    "...",
    "%YAML 1.1",
    "%TAG ! tag:x,2000:",
    "'",
    '"',
    "#",
    "\t",
    "  ",
    "\n",
    "max_iters",
    "learning_rate",
    "9" * 5000,
    "a",
    "1",
    ",",
    "@",
    "`",
]
JSON_TOKENS = [
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    '"max_iters"',
    '"learning_rate"',
    '"a"',
    "1",
    "-1",
    "1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "null",
    "true",
    "9" * 5000,
    '"\\u0000"',
    '"\\ud800"',
    " ",
    "\n",
    '{"value": 3}',
    "[" * 3000,
    "]" * 3000,
]
TOML_TOKENS = [
    "[tool]",
    "[tool.plateau-doctor]",
    "[tool.plateau-doctor.run]",
    "tool = 1",
    "max_iters = ",
    "learning_rate = ",
    "a = ",
    "[[a]]",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    '"',
    "'",
    "'''",
    '"""',
    "1",
    "inf",
    "nan",
    "-inf",
    "9" * 5000,
    "1979-05-27T07:32:00Z",
    "true",
    "\n",
    " ",
    "\t",
    "#",
    ".",
    "a.b.c = 1",
    "x = [" * 200,
]


def _soup(tokens):
    return st.lists(st.one_of(st.sampled_from(tokens), st.text(max_size=6)), max_size=40).map("".join)


@settings(PROFILE)
@given(st.one_of(st.text(max_size=2000), _soup(YAML_TOKENS)))
def test_any_yaml_config_loads_or_fails_cleanly(workdir, text):
    marker = Path.cwd() / MARKER
    path = write(workdir, "c.yaml", text)
    if load_or_fail_cleanly(path) is not None:
        diagnose_with_config(path)
    assert not marker.exists()


@settings(PROFILE)
@given(st.one_of(st.text(max_size=2000), _soup(JSON_TOKENS)))
def test_any_json_config_loads_or_fails_cleanly(workdir, text):
    path = write(workdir, "c.json", text)
    if load_or_fail_cleanly(path) is not None:
        diagnose_with_config(path)


@settings(PROFILE)
@given(st.one_of(st.text(max_size=2000), _soup(TOML_TOKENS)))
def test_any_toml_config_loads_or_fails_cleanly(workdir, text):
    path = write(workdir, "c.toml", text)
    if load_or_fail_cleanly(path) is not None:
        diagnose_with_config(path)


def _as_yaml(values: dict) -> str:
    return "".join(
        f"{k}: {v!r}\n".replace("True", "true").replace("False", "false") for k, v in values.items()
    )


@settings(PROFILE)
@given(st.data())
def test_real_configs_with_corrupted_values_load_or_fail_cleanly(workdir, data):
    """The example config in every format, with some values replaced by hostile ones."""
    values = dict(read_python_config(CONFIG_TEXT).values)
    for key in data.draw(st.lists(st.sampled_from(sorted(values)), max_size=5)):
        values[key] = data.draw(CONFIG_VALUES)
    import json

    texts = {"c.py": "".join(f"{k} = {v!r}\n" for k, v in values.items()), "c.yaml": _as_yaml(values)}
    try:
        texts["c.json"] = json.dumps(values)
    except (TypeError, ValueError):
        pass
    for name, text in texts.items():
        path = write(workdir, name, text)
        if load_or_fail_cleanly(path) is not None:
            diagnose_with_config(path)


# -- --set values and the values the log's `Overriding:` lines carry --------------------------

CONFIG_VALUES = st.one_of(
    st.integers(),
    st.integers(-5, 10**6),
    st.sampled_from([0, 1, -1, 2**53, 2**63, 10**400]),
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, 5e-324]),
    st.booleans(),
    st.none(),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(["openwebtext", "shakespeare_char", "gpt2", "scratch", "resume", "float16"]),
)
KEYS = st.sampled_from(sorted(NANOGPT_DEFAULTS) + ["vocab_size", "not_a_nanogpt_key"])


@settings(PROFILE)
@given(st.dictionaries(KEYS, CONFIG_VALUES, max_size=8))
def test_any_set_values_give_a_report_or_a_config_error(overrides):
    try:
        diagnose(parsed=PARSED, overrides=overrides)
    except ConfigError as exc:
        assert str(exc).startswith("--set: ") and "\n" not in str(exc), str(exc)[:300]


@settings(PROFILE)
@given(st.lists(st.tuples(KEYS, st.one_of(CONFIG_VALUES.map(repr), st.text(max_size=30))), max_size=8))
def test_any_overriding_lines_in_a_log_never_crash(pairs):
    """`Overriding: key = value` comes from the log: a bad value is unknown, not fatal."""
    lines = list(LOG_LINES)
    at = lines.index("Overriding: out_dir = out-tiny_model")
    lines[at:at] = [
        f"Overriding: {key} = {text}".replace("\n", " ").replace("\r", " ") for key, text in pairs
    ]
    parsed = parse_lines(lines, "nanogpt")
    with nothing_runs(), no_compiler_warnings():
        diagnose(parsed=parsed)


@settings(PROFILE)
@given(st.text(max_size=300))
def test_parse_value_and_set_options_never_crash(text):
    with nothing_runs(), no_compiler_warnings():
        parse_value(text)
        try:
            parse_set_options([text, "a=" + text])
        except ValueError as exc:
            assert str(exc).startswith("--set expects KEY=VALUE")


# -- targeted cases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        (
            "laughs.yaml",
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
            ),
            "aliases are not allowed",
        ),
        ("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested too deeply"),
        ("deep_block.yaml", "- " * 5000 + "x\n", "YAML nested too deeply"),
        (
            "tag.yaml",
            f"a: !!python/object/apply:os.system ['touch {MARKER}']\n",
            "could not determine a constructor",
        ),
        ("custom.yaml", "a: !secret 42\n", "could not determine a constructor"),
        ("month.yaml", "a: 2001-13-45\n", "invalid YAML"),
        ("stamp.yaml", "a: !!timestamp x\n", "invalid YAML"),
        ("bigint.yaml", "a: 1" + "0" * 5000 + "\n", "invalid YAML"),
        ("deep.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "invalid JSON"),
        ("nested.json", '{"a": ' + "[" * 500 + "]" * 500 + "}", "nested more than"),
        ("bigint.json", '{"a": 1' + "0" * 5000 + "}", "invalid JSON"),
        ("list.json", "[1, 2]", "expected a mapping"),
        ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n", "TOML"),
        ("tool.toml", "tool = 1\nmax_iters = 10\n", None),
        ("inf.toml", "max_iters = inf\n", "max_iters = inf: expected a whole number"),
        ("str.py", "max_iters = 'many'\n", "max_iters = 'many': expected a whole number"),
        ("neg.py", "learning_rate = 1e308 * 10\n", None),
    ],
)
def test_hostile_config_files(workdir, name, text, fragment):
    path = write(workdir, name, text)
    loaded = load_or_fail_cleanly(path)
    try:
        if loaded is not None:
            diagnose(parsed=PARSED, config=str(path))
        error = None
    except ConfigError as exc:
        check_config_error(exc, str(path))
        error = str(exc)
    if loaded is None:
        with pytest.raises(ConfigError) as caught:
            load_config_file(str(path))
        error = str(caught.value)
    if fragment is None:
        assert error is None, error
    else:
        assert error is not None and fragment in error, error
    assert not (Path.cwd() / MARKER).exists()


@pytest.mark.parametrize(
    "text",
    [
        "tool = 1\n",
        "[tool]\nplateau-doctor = 1\n",
        "[tool.plateau-doctor]\nthresholds = [1]\n",
        "[tool.plateau-doctor.thresholds.PD201]\nx = 'high'\n",
        "[tool.plateau-doctor]\nseverity = 3\n",
    ],
)
def test_tool_settings_in_a_hostile_pyproject_are_a_config_error(workdir, text):
    from plateau_doctor.settings import load_tool_settings

    path = write(workdir, "pyproject.toml", text)
    try:
        load_tool_settings(str(path))  # settings, or ...
    except ConfigError as exc:  # ... one line naming the file; nothing else
        check_config_error(exc, str(path))
