"""Known-good reference runs: their recipes, their loss against tokens seen, the seed spread at
their scale and the public source of every number; and which of them a run follows.

    >>> import plateau_doctor
    >>> [r.key for r in plateau_doctor.references()][:2]
    ['nanogpt-gpt2-124m-owt', 'llmc-gpt2-124m-fineweb10b']

The rule that compares a run with its reference is rules/reference_curve.py (PD607);
`plateau-doctor references` lists them.
"""

from __future__ import annotations

from .curve import Point, Recipe, Reference, Schedule, Source
from .matching import Choice, Match, choose, match
from .table import REFERENCES

__all__ = [
    "Choice",
    "Match",
    "Point",
    "Recipe",
    "Reference",
    "Schedule",
    "Source",
    "REFERENCES",
    "choose",
    "match",
    "references",
]


def references() -> tuple[Reference, ...]:
    """Every curated reference run, in a fixed order."""
    return REFERENCES
