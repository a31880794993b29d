"""The error bad input raises everywhere below the command line: a leaf module, so the sources,
the parsers and the stores can all raise it without importing each other."""

from __future__ import annotations


class InputError(Exception):
    """The input cannot be read. `str()` is the one line the user sees."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
