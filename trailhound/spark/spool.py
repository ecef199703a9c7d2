"""Bytes the driver hands to the executors through disk, in bounded memory.

    path = spool_stream(sys.stdin.buffer)      # stdin copied 1 MiB at a time to TMPDIR
    paths = spool_lines(lines)                 # lines (findings) to files of about 16 MiB
    ref = ship(sc, path)                       # what an executor needs to find it
    local_path(ref)                            # on the executor: a path it can open

Why a file rather than bytes in the task: a task's data is pickled on the driver and held by
the driver's JVM for the RDD's life (`sc.parallelize`), so a 10 GB stdin would need 10 GB (twice)
on the driver (and `spark.createDataFrame(rows)` holds every row there too). A spooled file
costs its size in `TMPDIR` and a buffer in memory.

A local master (`local[...]`, `local-cluster[...]`) runs its executors on this machine: they
open the driver's file where it is. Any other master gets it through `SparkContext.addFile`
(the driver serves it, each executor fetches a copy into its work directory once; Spark removes
those copies when the application ends).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from typing import Any, BinaryIO, NamedTuple

CHUNK = 1 << 20  # bytes copied at a time
PART = 16 << 20  # bytes of lines per file (spool_lines): a DataFrame partition each


class Shipped(NamedTuple):
    """Where an executor finds a spooled file: `path` as it is (local master), or the name
    `addFile` registered it under (`fetched` True)."""

    path: str
    fetched: bool


def spool_stream(src: BinaryIO, prefix: str = "trailhound-stdin-") -> str:
    """Copy `src` to a new file in TMPDIR, CHUNK bytes at a time; its path (the caller removes
    it). Raises OSError (reading `src` or writing the disk), leaving no file behind."""
    fd, path = tempfile.mkstemp(prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
    except BaseException:
        remove(path)
        raise
    return path


def spool_lines(lines: Iterable[bytes], part_size: int = PART, prefix: str = "trailhound-") -> list[str]:
    """`lines` (each ending in a newline) written to files in TMPDIR of about `part_size`
    bytes each (a file per executor task when they are read back); their paths, in order (the
    caller removes them). On an error, no file is left behind."""
    paths: list[str] = []
    out: BinaryIO | None = None
    size = 0
    try:
        for line in lines:
            if out is None or size >= part_size:
                if out is not None:
                    out.close()
                fd, path = tempfile.mkstemp(prefix=prefix, suffix=".jsonl")
                paths.append(path)
                out, size = os.fdopen(fd, "wb"), 0
            out.write(line)
            size += len(line)
    except BaseException:
        if out is not None:
            out.close()
        for path in paths:
            remove(path)
        raise
    if out is not None:
        out.close()
    return paths


def is_local_master(sc: Any) -> bool:
    return str(sc.master).startswith("local")


def ship(sc: Any, path: str) -> Shipped:
    """Make the driver's file `path` readable by every executor (see the module docstring)."""
    if is_local_master(sc):
        return Shipped(path, False)
    sc.addFile(path)
    return Shipped(os.path.basename(path), True)


def local_path(ref: Shipped) -> str:
    """On an executor: the path of a shipped file."""
    if not ref.fetched:
        return ref.path
    from pyspark import SparkFiles

    return SparkFiles.get(ref.path)


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
