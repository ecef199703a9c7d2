"""`python -m trailhound` and the `trailhound` script (pyproject's entry point).

A Ctrl-C while the command line is still importing (~0.3-1 s, before click and the CLI's own
handling exist) ends it as one later does, "trailhound: aborted" and exit 130, not with Python's
KeyboardInterrupt traceback: there is nothing to clean up yet (no worker, no file written), so
the handler installed first exits at once. Only the first ~50 ms (the interpreter's own start-up,
before any trailhound code) stay Python's.
"""

from __future__ import annotations

import os
import signal
from types import FrameType


def _interrupted_at_start(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"\ntrailhound: aborted\n")
    os._exit(130)


def main() -> None:
    # Only where Python's own handler is in place: an ignored SIGINT (`nohup`, a background job
    # of a non-interactive shell) stays ignored, as it does for the CLI itself.
    ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if ours:
        try:
            signal.signal(signal.SIGINT, _interrupted_at_start)
        except ValueError:  # not the main thread (a program that runs us in one of its own)
            ours = False
    from trailhound.cli.app import main as cli_main

    if ours:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # KeyboardInterrupt: click's Abort
    cli_main()


if __name__ == "__main__":
    main()
