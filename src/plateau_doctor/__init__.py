"""plateau-doctor: why did the loss stop improving? Reads a training log and its config.

The Python API mirrors the CLI:

    >>> import plateau_doctor
    >>> report = plateau_doctor.diagnose("examples/logs/h200_shakespeare_char_overfit_default.log")
    >>> report.findings[0].category
    'overfitting'
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "check", "compare", "diagnose", "diagnose_runs", "parse", "references"]


def __getattr__(name: str):
    # Imported on first use so that `plateau-doctor --version` never loads numpy or pandas.
    if name in ("check", "diagnose", "diagnose_runs", "parse"):
        from . import api

        return getattr(api, name)
    if name == "compare":
        from .comparison import compare

        return compare
    if name == "references":
        from .reference_runs import references

        return references
    raise AttributeError(name)
