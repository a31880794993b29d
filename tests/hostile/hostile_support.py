"""Helpers shared by the hostile-input tests (imported by name: pytest puts this folder on
sys.path)."""

from __future__ import annotations

import contextlib
import warnings


@contextlib.contextmanager
def no_compiler_warnings():
    """Fail if compiling config text or a printed dict let a SyntaxWarning (`1if x else 2`) or an
    invalid-escape DeprecationWarning ("\\d") out: on the command line those land on stderr.
    (Turning them into errors would not do: the compiler then raises SyntaxError, which the
    readers catch, and the leak would go unseen.)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    leaked = [
        f"{w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, SyntaxWarning)
        or (issubclass(w.category, DeprecationWarning) and "escape sequence" in str(w.message))
    ]
    assert not leaked, leaked
