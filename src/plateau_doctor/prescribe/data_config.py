"""Apply config changes to YAML, TOML and JSON configs.

YAML and TOML keep their comments: a top-level `key: value` / `key = value` line has its value
replaced in the text and a trailing comment citing the finding; a key the file lacks is added at
the top level (in TOML before the first table, where it would otherwise land). A change the
diagnosis is unsure of is added as a comment. JSON has no comments: it is re-dumped with the
keys set (order kept), and its citations go to the summary the command prints instead; an unsure
change is left out and listed there.

HF TrainingArguments files use their own names: nanoGPT's keys are mapped to them where one
exists (max_iters -> max_steps, grad_clip -> max_grad_norm, ...); a key with no equivalent is
skipped, and said so.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..resolve.schemas import HF_NAMES, HF_ONLY_FIELDS
from .changes import ConfigChange, SkippedChange

MARK = "plateau-doctor"


def is_hf_training_arguments(values: dict[str, Any]) -> bool:
    return bool(HF_ONLY_FIELDS & set(values))


def hf_changes(changes: list[ConfigChange]) -> tuple[list[ConfigChange], list[SkippedChange]]:
    """The changes under TrainingArguments' names, and those that have none."""
    mapped, skipped = [], []
    for change in changes:
        name = HF_NAMES.get(change.key)
        if name is None:
            skipped.append(
                SkippedChange(change, f"TrainingArguments has no equivalent of nanoGPT's {change.key}")
            )
        else:
            mapped.append(ConfigChange(name, change.value, change.code, change.reason, change.confident))
    return mapped, skipped


def edit_json_config(text: str, changes: list[ConfigChange]) -> tuple[str, list[SkippedChange]]:
    """The JSON re-dumped with the confident changes set; the unsure ones are returned skipped."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the JSON config is not an object of keys")
    skipped = []
    for change in changes:
        if change.confident:
            data[change.key] = change.value
        else:
            skipped.append(SkippedChange(change, "JSON has no comments to offer it in: " + change.reason))
    return json.dumps(data, indent=2) + "\n", skipped


def edit_yaml_config(text: str, changes: list[ConfigChange]) -> str:
    return _edit_lines(
        text,
        changes,
        separator=": ",
        pattern=r"^{key}\s*:[ \t]*(?P<value>[^#\r\n]*?)"
        r"(?P<comment>[ \t]+#[^\r\n]*)?(?P<end>\r?\n?)$",
        render=yaml_scalar,
        table_header=None,
    )


def edit_toml_config(text: str, changes: list[ConfigChange]) -> str:
    return _edit_lines(
        text,
        changes,
        separator=" = ",
        pattern=r"^{key}\s*=[ \t]*(?P<value>[^#\r\n]*?)"
        r"(?P<comment>[ \t]+#[^\r\n]*)?(?P<end>\r?\n?)$",
        render=toml_scalar,
        table_header=re.compile(r"^\s*\["),
    )


def _edit_lines(
    text: str,
    changes: list[ConfigChange],
    separator: str,
    pattern: str,
    render,
    table_header: re.Pattern | None,
) -> str:
    lines = text.splitlines(keepends=True)
    # the top level of a TOML file ends at its first [table]
    top = next((i for i, line in enumerate(lines) if table_header and table_header.match(line)), len(lines))
    added = []
    for change in changes:
        regex = re.compile(pattern.format(key=re.escape(change.key)))
        hits = [i for i in range(top) if (m := regex.match(lines[i])) and m.group("value").strip()]
        if not hits:
            added.append(change)
            continue
        i = hits[-1]
        m = regex.match(lines[i])
        end = m.group("end") or "\n"
        if not change.confident:
            lines.insert(
                i + 1,
                f"# {change.key}{separator}{render(change.value)}  # {MARK} "
                f"{change.code}: {change.reason}{end}",
            )
            top += 1
            continue
        own = (m.group("comment") or "").strip().lstrip("#").strip()
        note = f"  # {MARK} {change.code}: {change.reason} (was {m.group('value').strip()})"
        lines[i] = (
            f"{lines[i][: m.start('value')]}{render(change.value)}{note}{'; ' + own if own else ''}{end}"
        )
    if added:
        block = [f"# {MARK}: keys this config did not set\n"]
        for change in added:
            line = f"{change.key}{separator}{render(change.value)}  # {MARK} {change.code}: {change.reason}\n"
            block.append(line if change.confident else "# " + line)
        if top < len(lines):
            lines[top:top] = block + ["\n"]
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines += ["\n"] + block
    return "".join(lines)


def yaml_scalar(value: Any) -> str:
    """A YAML 1.1 scalar PyYAML reads back as the same value: floats keep a dot ('3.0e-05';
    PyYAML reads '3e-05' as a string), booleans are true/false, strings are JSON-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, int) or value is None:
        return "null" if value is None else str(value)
    return json.dumps(value)


def toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))
