"""Writing findings to stdout when the reader may leave early (`trailhound detect ... | head`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO


def write_stdout(writer: Callable[[Iterable[Any], TextIO], None], rows: Iterable[Any]) -> bool:
    """Write `rows` with `writer` to stdout; False when the reader closed the pipe first."""
    try:
        writer(rows, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        return False
    return True


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush of the unwritten rest does not
    fail again and print a traceback (the recipe of Python's signal module docs, SIGPIPE note)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
