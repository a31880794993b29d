"""The registry of log formats: every module of this package that has NAME, TRAITS, sniff and
parse is a format (nothing lists them by hand), kept in DETECTION_ORDER, the order detection
breaks ties in (nanoGPT first, the generic tables last). Adding a format is adding a module."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

DEFAULT_DETECTION_ORDER = 150  # after the trainers' own formats, before the generic tables
REQUIRED = ("NAME", "TRAITS", "sniff", "parse")


def discover(package: str = __package__) -> dict[str, ModuleType]:
    """Every format module of `package`, by NAME, in detection order."""
    root = importlib.import_module(package)
    found = []
    for info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        if all(hasattr(module, attr) for attr in REQUIRED):
            found.append(module)
    found.sort(key=lambda m: (getattr(m, "DETECTION_ORDER", DEFAULT_DETECTION_ORDER), m.NAME))
    names = [m.NAME for m in found]
    if len(set(names)) != len(names):
        raise RuntimeError(f"two format modules share a NAME: {sorted(names)}")
    return {m.NAME: m for m in found}


FORMATS = discover()
