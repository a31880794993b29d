"""Pictures of a run: the loss curves with the diagnosis drawn on them.

`annotations` decides what to draw (numpy only), `figure` draws it with matplotlib (an optional
extra, imported lazily), `command` is the `plot` command. Importing this package never imports
matplotlib.
"""

from __future__ import annotations

from .command import PlotError

__all__ = ["PlotError"]
