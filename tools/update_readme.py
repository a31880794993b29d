#!/usr/bin/env python3
"""Write the README's rules table from the rule definitions (src/plateau_doctor/rules/*.py).

python tools/update_readme.py          # rewrite README.md in place
python tools/update_readme.py --check  # exit 1 when the README is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from plateau_doctor.report.rules_table import markdown_table, replace_section  # noqa: E402
from plateau_doctor.rules import all_rules  # noqa: E402


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = replace_section(text, markdown_table(all_rules()))
    if "--check" in sys.argv:
        if updated != text:
            print("README.md's rules table is stale: run python tools/update_readme.py")
            return 1
        return 0
    readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
