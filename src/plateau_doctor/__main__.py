"""`python -m plateau_doctor` and the `plateau-doctor` console script.

`--version` alone is answered here, before the command line's libraries (click, rich) are
imported: it then costs the interpreter's start and nothing more. Everything else is cli.main.
"""

import gc
import os
import sys

# Python's cyclic collector runs every 700 new container objects by default; importing numpy, the
# rules and their dataclasses makes hundreds of thousands, and each full collection walks all of
# them again: ~5% of a small diagnosis. A command line run makes few cycles, so it collects them
# far less often. (Library users keep their own settings: this is the console script only.)
GC_FIRST_GENERATION_THRESHOLD = 100_000


def run() -> None:
    gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, *gc.get_threshold()[1:])
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        try:
            sys.stdout.write(f"plateau-doctor {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:  # quiet on a closed pipe, as every command is
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    from .cli import main

    main()


if __name__ == "__main__":
    run()
