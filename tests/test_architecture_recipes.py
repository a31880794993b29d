"""docs/ARCHITECTURE.md's two recipes are kept true: the code it shows for a new rule and for a
new log format, dropped into a package of its own, is found and works, touching nothing else."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _recipe_code(heading: str) -> str:
    section = DOC.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def package(tmp_path):
    made = []

    def make(name: str, module: str, code: str) -> str:
        root = tmp_path / name
        root.mkdir()
        (root / "__init__.py").write_text("")
        (root / f"{module}.py").write_text(code)
        made.append(name)
        return name

    sys.path.insert(0, str(tmp_path))
    yield make
    sys.path.remove(str(tmp_path))
    for name in made:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def test_the_add_a_rule_recipe_is_a_working_rule(package):
    from plateau_doctor.api import examine
    from plateau_doctor.rules import Context, load_rules, run_rules

    rules = load_rules(package("recipe_rules", "val_above_target", _recipe_code("Recipe: add a rule")))
    assert [r.info.code for r in rules] == ["PD999"]
    run = examine(str(ROOT / "examples" / "logs" / "h200_shakespeare_char_lr_high_1e-2.log"))
    outcome = run_rules(Context(run.parsed, run.config, run.facts, run.analyses), rules=rules)
    assert [f.code for f in outcome.findings] == ["PD999"]  # val 2.53 is above the target 2.0


def test_the_add_a_format_recipe_is_a_working_format(package):
    from plateau_doctor.parsers.formats import discover

    name = package("recipe_formats", "example_trainer", _recipe_code("Recipe: add a log format"))
    formats = discover(name)
    assert list(formats) == ["example_trainer"]
    module = formats["example_trainer"]
    lines = ["epoch 1 step 10 loss 2.50", "epoch 1 step 20 loss 2.41 val 2.60", "a line of prose"]
    assert module.sniff(lines) == 2
    assert module.sniff([*lines, "[rank0]: epoch 1 step 30 loss 2.30", "epoch 1 step 40 loss nan"]) == 3
    parsed = module.parse(lines)
    assert list(parsed.iters["loss"]) == [2.5, 2.41] and list(parsed.evals["val_loss"]) == [2.6]
    assert parsed.meta.eval_kind == "fixed"
