"""The time window (`--since` / `--until`): which events may be findings.

Semantics, the same in every engine: an event is inside when `since <= time < until` (since
inclusive, until exclusive, either side open when not given), compared on Event.time_ns (UTC
nanoseconds). With a window set, an event WITHOUT a time cannot be shown to be inside: it is left
out and counted apart ("no time"). Events left out are not findings and take no part in
correlations (the gate sits on the match stream, before scoring and correlation).

Bounds: an ISO-8601 time (normalize/times.parse_time: a date alone is midnight, no zone means
UTC) or a duration back from now: a number and a unit, `90s`, `30m`, `24h`, `7d`, `2w`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from trailhound.errors import UsageError
from trailhound.normalize.times import TimeOutOfRange, TimeParseError, format_ns, parse_time

__all__ = ["OUTSIDE", "UNTIMED", "TimeWindow", "parse_bound", "parse_duration"]

_NS = 1_000_000_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"([0-9]+)\s*([smhdw])", re.ASCII)

# why an event was left out (ScanStats.window keys)
OUTSIDE, UNTIMED = "outside", "no time"


def parse_duration(text: str) -> int | None:
    """`90s`, `30m`, `24h`, `7d`, `2w` as nanoseconds; None when `text` is not a duration."""
    m = _DURATION.fullmatch(text.strip())
    return None if m is None else int(m.group(1)) * _UNITS[m.group(2)] * _NS


def parse_bound(text: str, option: str, now_ns: int | None = None) -> int:
    """`text` as epoch nanoseconds: an ISO time, or a duration before `now_ns` (default: now)."""
    t = text.strip()
    span = parse_duration(t)
    if span is not None:
        now = time.time_ns() if now_ns is None else now_ns
        return now - span
    try:
        return parse_time(t)[1]
    except (TimeParseError, ValueError, TypeError) as exc:
        # a time read but not placeable (a year past 2261) says so, not "not a time"
        why = str(exc) if isinstance(exc, TimeOutOfRange) else "not a time or a duration"
        raise UsageError(
            f"{option} {text!r}: {why}; write an ISO time "
            "(2026-03-14, 2026-03-14T09:30:00Z) or a duration back from now (90m, 24h, 7d)"
        ) from None


@dataclass(frozen=True)
class TimeWindow:
    since_ns: int | None = None  # inclusive
    until_ns: int | None = None  # exclusive

    def __post_init__(self) -> None:
        if self.since_ns is not None and self.until_ns is not None and self.since_ns >= self.until_ns:
            raise UsageError(
                f"--since {format_ns(self.since_ns)} is not before --until "
                f"{format_ns(self.until_ns)}: the window is empty"
            )

    @classmethod
    def parse(
        cls, since: str | None, until: str | None, now_ns: int | None = None
    ) -> TimeWindow | None:
        """The window of the two options (None when neither is given); durations count back
        from the same `now`."""
        if since is None and until is None:
            return None
        now = time.time_ns() if now_ns is None else now_ns
        return cls(
            parse_bound(since, "--since", now) if since is not None else None,
            parse_bound(until, "--until", now) if until is not None else None,
        )

    def reject(self, time_ns: int | None) -> str | None:
        """None when the event is inside; else why it is left out (OUTSIDE / UNTIMED)."""
        if time_ns is None:
            return UNTIMED
        if self.since_ns is not None and time_ns < self.since_ns:
            return OUTSIDE
        if self.until_ns is not None and time_ns >= self.until_ns:
            return OUTSIDE
        return None

    def describe(self) -> str:
        since = format_ns(self.since_ns) if self.since_ns is not None else "the start"
        until = format_ns(self.until_ns) if self.until_ns is not None else "the end"
        return f"from {since} (inclusive) to {until} (exclusive)"
