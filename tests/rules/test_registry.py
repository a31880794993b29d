"""Rules are found, not listed: a module with RULE and check in the rules package is a rule. A
throwaway rule in a temporary package proves that adding a rule is one new file, and a scan of
the rule modules proves their numbers are named thresholds, not inline literals."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from plateau_doctor import rules as rules_package
from plateau_doctor.rules import RuleDefinitionError, load_rules, run_rules

RULES_DIR = Path(rules_package.__file__).parent


def _package(tmp_path: Path, name: str, modules: dict[str, str]) -> str:
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, text in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    return name


THROWAWAY = """
    from plateau_doctor.model import RuleInfo, Threshold
    from plateau_doctor.rules.base import CERTAIN, finding

    RULE = RuleInfo(code="PD999", name="throwaway", category="plateau", severity="warning",
                    summary="s", what="w", why="y", fix="f", example="e",
                    thresholds=(Threshold("limit", 1.0, "nats", "why"),))

    def check(ctx, limits):
        if ctx.analyses.val.values[-1] > limits.limit:
            return [finding(RULE, confidence=CERTAIN, title="above", message="m", evidence={})]
        return []
"""


def test_a_rule_in_a_new_module_is_found_and_run(tmp_path, example_log):
    from plateau_doctor.api import examine
    from plateau_doctor.rules import Context

    package = _package(tmp_path, "extra_rules_one", {"throwaway": THROWAWAY, "helpers": "X = 1\n"})
    try:
        found = load_rules(package)
        assert [r.info.code for r in found] == ["PD999"]
        run = examine(str(example_log("h200_shakespeare_char_tiny_model.log")))
        outcome = run_rules(Context(run.parsed, run.config, run.facts, run.analyses), rules=found)
        assert [f.code for f in outcome.findings] == ["PD999"]
    finally:
        sys.path.remove(str(tmp_path))


def test_two_rules_with_one_code_are_refused(tmp_path):
    package = _package(
        tmp_path, "extra_rules_two", {"a": THROWAWAY, "b": THROWAWAY.replace("throwaway", "other")}
    )
    try:
        with pytest.raises(RuleDefinitionError, match="PD999"):
            load_rules(package)
    finally:
        sys.path.remove(str(tmp_path))


def _float_literals_outside_declarations(path: Path) -> list[tuple[int, float]]:
    """Float literals in a rule module that are not inside a Threshold(...) declaration or a
    module-level named constant (NAME = ...); 0.0 and 1.0 are not magic."""
    tree = ast.parse(path.read_text())
    allowed: set[int] = set()
    for node in ast.walk(tree):
        declared = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Threshold"
        if declared:
            allowed |= {id(n) for n in ast.walk(node)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, (ast.Name, ast.Tuple)) for t in node.targets):
            names = [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if names and all(name.isupper() for name in names):
                allowed |= {id(n) for n in ast.walk(node)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, float)
        and id(node) not in allowed
        and node.value not in (0.0, 1.0)
    ]


@pytest.mark.parametrize("module", sorted(p.name for p in RULES_DIR.glob("*.py")))
def test_rule_modules_hold_no_inline_float_literals(module):
    assert _float_literals_outside_declarations(RULES_DIR / module) == []


def test_every_threshold_a_rule_reads_is_declared():
    """A rule reading limits.<name> it does not declare would fail at run time on some log."""
    for rule in load_rules():
        module = sys.modules[rule.check.__module__]
        tree = ast.parse(Path(module.__file__).read_text())
        read = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "limits"
        }
        declared = {t.name for t in rule.info.thresholds}
        assert read <= declared, (rule.info.code, read - declared)
