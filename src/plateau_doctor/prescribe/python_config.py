"""Apply config changes to a nanoGPT .py config in place, in its own text.

The config is read with ast (never executed): each key's last top-level assignment is found by
its node's position and only its value is rewritten, so the comments, blank lines and layout of
the file stay as they were. The changed line gets a trailing comment citing the finding; an
existing comment on it is kept after ours. A key the file does not set, or sets in a way an edit
in place could not override (inside an `if`, as `+=`, after an edit), is appended at the end,
where it wins. A change the diagnosis is unsure of is written as a comment.
"""

from __future__ import annotations

import ast
import io
import tokenize

from .changes import ConfigChange, format_value

MARK = "plateau-doctor"


def edit_python_config(text: str, changes: list[ConfigChange]) -> str:
    """The config text with `changes` applied. ValueError when the text is not Python."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise ValueError(f"not valid Python (line {exc.lineno}): {exc.msg}") from None
    lines = text.splitlines(keepends=True)
    comments = _comments(text)
    in_place: dict[tuple[int, int], tuple[ast.expr, ConfigChange]] = {}
    appended: list[ConfigChange] = []
    for change in changes:
        node = _editable_assignment(tree, change.key)
        if node is None:
            appended.append(change)
        else:
            in_place[(node.value.lineno, node.value.col_offset)] = (node.value, change)
    for position in sorted(in_place, reverse=True):  # bottom up, right to left: positions hold
        value, change = in_place[position]
        lines = _rewrite(lines, text, value, change, comments)
    if appended:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"\n# {MARK}: keys this config did not set\n")
        lines += [_assignment_line(change) for change in appended]
    return "".join(lines)


def _editable_assignment(tree: ast.Module, key: str) -> ast.Assign | ast.AnnAssign | None:
    """The last top-level `key = value` when nothing binds `key` after it (an `if` block, `+=`,
    a tuple target, a loop); None otherwise, and the change is appended instead."""
    last = None
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and _binds_only_name(statement, key):
            last = statement
        elif any(
            isinstance(n, ast.Name) and n.id == key and isinstance(n.ctx, ast.Store)
            for n in ast.walk(statement)
        ):
            last = None  # bound some other way after the plain assignment
    return last


def _binds_only_name(statement, key: str) -> bool:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    names = [t for t in targets if isinstance(t, ast.Name)]
    return (
        bool(names)
        and len(names) == len(targets)
        and all(t.id == key for t in names)
        and statement.value is not None
    )


def _rewrite(
    lines: list[str], text: str, value: ast.expr, change: ConfigChange, comments: dict[int, str]
) -> list[str]:
    """Replace the value of one assignment (a confident change), or add the change as a comment
    below it (an unsure one)."""
    first, last = value.lineno - 1, value.end_lineno - 1
    ending = "\r\n" if lines[last].endswith("\r\n") else "\n"
    if not change.confident:
        return lines[: last + 1] + [_assignment_line(change).rstrip("\n") + ending] + lines[last + 1 :]
    head = _slice_chars(lines[first], 0, value.col_offset)
    tail = _slice_chars(lines[last], value.end_col_offset, None).rstrip("\r\n")
    own = ""
    comment = comments.get(last + 1)
    if comment and tail.rstrip().endswith(comment):
        tail = tail.rstrip()[: -len(comment)]
        own = comment.lstrip("#").strip()
    old = " ".join((ast.get_source_segment(text, value) or "").split())
    old = old if len(old) <= 40 else old[:37] + "..."
    note = f"  # {MARK} {change.code}: {change.reason} (was {old})" + (f"; {own}" if own else "")
    return (
        lines[:first]
        + [f"{head}{format_value(change.value)}{tail.rstrip()}{note}{ending}"]
        + lines[last + 1 :]
    )


def _assignment_line(change: ConfigChange) -> str:
    line = f"{change.key} = {format_value(change.value)}  # {MARK} {change.code}: {change.reason}\n"
    return line if change.confident else "# " + line


def _slice_chars(line: str, start: int, end: int | None) -> str:
    """ast columns count UTF-8 bytes; slice the text by the same measure."""
    raw = line.encode("utf-8")
    return raw[start:end].decode("utf-8", errors="replace")


def _comments(text: str) -> dict[int, str]:
    """Line number -> the comment on that line."""
    found = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = token.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found
