"""Pruning of the private cache folder (TMPDIR/trailhound-<uid>, session._cache_dir): the Spark
code zips (`spark-<hash>.zip`, one per trailhound code version, ~1.5 MB) and the class-data
archives (`spark-cds-<hash>.jsa`, one per Java and Spark install, ~70 MB), which nothing else
removes: every edit of trailhound's code, every upgrade of Java or Spark leaves one behind.

When a new one is written, the others of its kind that were not written or used for `MAX_AGE`
are removed; the current one is kept. "Used" is the mtime: a run that reuses a zip or an archive
refreshes it (`touch`), so a file a running process may still read is one of the last few days'
and is left alone. (A process that took its file longer ago than that holds it open or has
copied it already: Spark copies a zip into its own files folder at addPyFile, a JVM maps its
archive at start; on POSIX an unlinked file stays readable to those who opened it.)

The removal itself is a rename to a private name, then a check that the file is still stale
(a run may have refreshed it just before the rename: then it goes back), then an unlink: each
step is atomic, and no run ever sees a half-removed file. Written here, not taken from a library:
no caching library knows Spark's or the JVM's readers; it is a few lines.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

MAX_AGE = 3 * 24 * 3600.0  # seconds: a few days, far beyond any one scan or Spark job start


def touch(path: Path) -> bool:
    """Mark `path` as used now; False if it is gone (pruned meanwhile: build it again)."""
    try:
        os.utime(path)
    except OSError:
        return False
    return True


def prune(keep: Path, patterns: tuple[str, ...], max_age: float = MAX_AGE) -> list[Path]:
    """Remove the files matching any of `patterns` beside `keep` (not `keep` itself) whose mtime
    is more than `max_age` seconds old; the paths removed. Errors (a file removed by a concurrent run, a
    permission) are skipped: pruning is housekeeping and never fails a scan."""
    removed: list[Path] = []
    deadline = time.time() - max_age
    for path in sorted({p for pattern in patterns for p in keep.parent.glob(pattern)}):
        if path == keep or not _stale(path, deadline):
            continue
        aside = path.with_name(f".{path.name}.{os.getpid()}.prune")
        try:
            os.rename(path, aside)
        except OSError:
            continue  # gone already, or not ours to move
        if _stale(aside, deadline):
            aside.unlink(missing_ok=True)
            removed.append(path)
        else:  # refreshed between the look and the rename: in use, put it back
            try:
                os.rename(aside, path)
            except OSError:
                aside.unlink(missing_ok=True)
    return removed


def _stale(path: Path, deadline: float) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_mtime < deadline
