"""How the renderers write a value: `display` for people (4 significant digits, thousands
separators: the text and HTML reports) and `exact` for records (6 significant digits, no
separators: Markdown evidence and JUnit). One place, so the formats agree on NaN, inf and None."""

from __future__ import annotations

import math
from typing import Any


def display(value: Any) -> str:
    """1,750 / 1.465 / 2.65e-04 -> '2.65e-4'-style short forms; NaN, inf, null, true/false."""
    special = _special(value)
    if special is not None:
        return special
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
            return f"{value:.3g}"
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(display(item) for item in value) + "]"
    return str(value)


def exact(value: Any) -> str:
    """1750 / 1.46469 / 0.000265: enough digits to check a claim against the log."""
    special = _special(value)
    if special is not None:
        return special
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(exact(item) for item in value) + "]"
    return str(value)


def _special(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return None
