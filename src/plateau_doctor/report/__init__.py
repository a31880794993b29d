"""Report: one renderer per output format, all taking the same list of Reports."""

from __future__ import annotations

import importlib

FORMATS = ("text", "json", "markdown", "sarif", "junit", "github", "html")


def renderer(fmt: str):
    """The module rendering `fmt`; imported on demand so unused formats cost nothing."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{fmt}")
