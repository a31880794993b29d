"""`python -m plateau_doctor` and the `plateau-doctor` console script.

`--version` alone is answered here, before the command line's libraries (click, rich) are
imported: it then costs the interpreter's start and nothing more. Everything else is cli.main.
"""

import os
import sys


def run() -> None:
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
