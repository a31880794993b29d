"""Imports go one way: each part of the package imports only parts below it (names imported
under `if TYPE_CHECKING:` are types, not runtime imports, and the package's `__version__` is
metadata). Leaves (data, domain maths) at the bottom, the front ends (cli, watch, sweep,
comparison, plotting, the trainer callbacks in integrations) at the top; nothing below the front
ends imports api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "plateau_doctor"

# bottom to top; a part may import any part of a lower line
LAYERS = [
    {"model", "errors", "output"},
    {"limits", "domain", "reference_runs", "remote", "export"},
    {"read"},
    {"parsers"},
    {"stores"},
    {"resolve"},
    {"analyse"},
    {"rules", "prescribe"},
    {"settings", "plot"},
    {"report"},
    {"api"},
    {"sweep"},
    {"comparison", "watch", "plotting", "integrations"},
    {"cli"},
    {"__init__", "__main__"},
]
LAYER = {part: n for n, parts in enumerate(LAYERS) for part in parts}
FRONT_ENDS = {
    "api",
    "sweep",
    "comparison",
    "watch",
    "plotting",
    "integrations",
    "cli",
    "__init__",
    "__main__",
}


# model.Report's faces in a notebook and a REPL (_repr_html_, __repr__, __str__, the DataFrames)
# are looked up by Python on the object itself, so they are methods of the data class that render
# through report/notebook.py: imported inside the method, never when model.py is imported.
DISPLAY_HOOKS = {("model", "report.notebook")}


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return inside


def _function_nodes(tree: ast.AST) -> set[int]:
    return {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for n in ast.walk(node)
    }


def _imports(path: Path) -> list[tuple[str, int]]:
    """(part of the package imported, line) for every runtime import in the module, but the
    DISPLAY_HOOKS imported inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    in_function = _function_nodes(tree)
    mine = _part(path)
    package = list(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or id(node) in skip:
            continue
        if node.level == 0:
            if not (node.module or "").startswith("plateau_doctor"):
                continue
            target = node.module.split(".")[1:]
        else:
            base = package[: len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
        if not target:  # `from . import x` / `from .. import __version__`: the package root
            if all(alias.name == "__version__" for alias in node.names):
                continue
            target = [node.names[0].name] if package == [] else ["__init__"]
        if (mine, ".".join(target)) in DISPLAY_HOOKS and id(node) in in_function:
            continue
        found.append((target[0], node.lineno))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(p) for p in MODULES}
    assert parts <= set(LAYER), f"no layer for {sorted(parts - set(LAYER))}: place them in LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_what_lies_below_it(path):
    mine = _part(path)
    for target, line in _imports(path):
        if target == mine or target not in LAYER:
            continue
        assert LAYER[target] < LAYER[mine], (
            f"{path.name}:{line} imports {target} (layer {LAYER[target]}) from {mine} (layer {LAYER[mine]})"
        )
        if target == "api":
            assert mine in FRONT_ENDS, f"{path.name}:{line}: only the front ends import api"
