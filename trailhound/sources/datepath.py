"""The CloudTrail key layout's date folders (`.../CloudTrail/REGION/YYYY/MM/DD/`): a file is
filed under the UTC day it was delivered, after every event in it, and no file is ever added to
an earlier day's folder. So a listing can skip a date folder wholly before a day: `--since` on
s3:// inputs (sources/s3.py) and `watch --lookback` on folders and buckets (watch/cycle.py).

WALK_BEFORE: the day before which the local folder walk (sources/files.py) skips date folders;
None (the default, and always outside `watch --lookback`): it walks everything.
"""

from __future__ import annotations

from datetime import UTC, datetime

from trailhound.digits import is_digits

Day = tuple[int, int, int]

WALK_BEFORE: Day | None = None


def day_of(ns: int) -> Day:
    d = datetime.fromtimestamp(ns / 1e9, UTC)
    return (d.year, d.month, d.day)


def date_of(path: str) -> Day | None:
    """The day folder a CloudTrail file or folder path names (None: not that layout, or not down
    to the day)."""
    parts = _date_parts(path)
    return (parts[0], parts[1], parts[2]) if parts is not None and len(parts) >= 3 else None


def before(folder: str, day: Day) -> bool:
    """True when `folder` is a CloudTrail date folder (YYYY, YYYY/MM or YYYY/MM/DD after
    CloudTrail/REGION) wholly before `day`."""
    parts = _date_parts(folder)
    return parts is not None and len(parts) <= 3 and parts < day[: len(parts)]


def _date_parts(path: str) -> tuple[int, ...] | None:
    parts = path.rstrip("/").split("/")
    if "CloudTrail" not in parts:
        return None
    date: list[int] = []
    for p in parts[parts.index("CloudTrail") + 2:]:
        if not is_digits(p) or len(date) == 3:
            break
        date.append(int(p))
    return tuple(date) if date else None
