"""Threshold values in force: the declared defaults, overridden by the user's settings.

A leaf module (it imports only model), so the analyses and the rules read thresholds the same way.
"""

from __future__ import annotations

from .model import Threshold


class Limits:
    """The values of a set of declared thresholds (a rule's, or the analyses'), with the
    settings' overrides applied ([tool.plateau-doctor.thresholds.<CODE or analyses>]). Reading a
    name that was not declared is a bug and raises AttributeError; overriding one raises KeyError."""

    def __init__(self, thresholds: tuple[Threshold, ...], overrides: dict[str, float] | None = None):
        self._values = {t.name: float(t.default) for t in thresholds}
        for name, value in (overrides or {}).items():
            if name not in self._values:
                raise KeyError(f"no threshold {name!r}")
            self._values[name] = float(value)

    def __getattr__(self, name: str) -> float:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"no threshold {name!r}") from None

    def as_dict(self) -> dict[str, float]:
        return dict(self._values)
