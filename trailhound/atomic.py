"""Output files written whole or not at all, without replacing what is not a file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replaced(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: a temporary file beside it, renamed over it when
    the block ends without an error (an interrupted run leaves the old file whole).

    A `path` that exists and is not a regular file (a FIFO, /dev/stdout, a device) is written in
    place: renaming over it replaced the pipe or the device node itself (`report -o /dev/full`
    run as root swapped /dev/full for a regular file; `-o /dev/stdout` would swap the link)."""
    p = Path(path)
    try:
        special = not stat.S_ISREG(os.stat(p).st_mode)  # follows /dev/stdout to the pipe
    except FileNotFoundError:
        special = False
    if special:
        with open(p, "wb") as out:
            yield out
        return
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            yield out
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
