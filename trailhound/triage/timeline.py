"""One principal's timeline: every event it made (not only the findings), in time order, the
findings marked with their score and signals: "what else did they do?".

Events come from the one reader loop (scan.read_events: read -> normalize -> profile gate); the
marks come from the finding rows of any engine (report/columns.row), joined on the record's
origin (file and position), which every engine reports identically.
"""

from __future__ import annotations

import difflib
import operator
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from trailhound.errors import UsageError
from trailhound.model import Event
from trailhound.normalize.times import output_time
from trailhound.pipeline import ScanStats, read_events
from trailhound.profiles import Profile
from trailhound.report.columns import triage_columns
from trailhound.report.names import short_principal
from trailhound.scoring import collapse_key
from trailhound.spill import Runs, pack_event, spill_budget, unpack_event
from trailhound.tuning.window import TimeWindow

Row = dict[str, Any]

TIMELINE_COLUMNS = (
    "time",
    "provider",
    "account",
    "service",
    "operation",
    "principal",
    "identityType",
    "sourceIP",
    "userAgent",
    "accessKey",
    "region",
    "outcome",
    "errorCode",
    "errorMessage",
    "eventID",
    "suspicion_score",
    "signals",
    "around",
    "records",
    "origin",
)


@dataclass
class Timeline:
    principal: str
    rows: Iterator[Row]  # TIMELINE_COLUMNS, in time order; valid inside build_timeline's block
    events: int  # events of the principal read (before --around's window)
    stats: ScanStats


def is_principal(e: Event, wanted: str) -> bool:
    """`wanted` names the event's principal: the whole value (ARN, UPN, e-mail; case ignored)
    or the short form the table shows (`user/m.okafor`, `assumed-role/Deploy/sess`)."""
    if e.principal is None:
        return False
    folded = wanted.casefold()
    return e.principal.casefold() == folded or short_principal(e.principal, e.account).casefold() == folded


def _event_row(e: Event) -> Row:
    account, service, user_agent, access_key = triage_columns(e)
    return {
        "time": output_time(e.time_ns),  # the finding rows' format (report/columns.row)
        "provider": e.provider,
        "account": account,
        "service": service,
        "operation": e.operation,
        "principal": e.principal,
        "identityType": e.principal_type,
        "sourceIP": e.src_ip,
        "userAgent": user_agent,
        "accessKey": access_key,
        "region": e.region,
        "outcome": e.status,
        "errorCode": e.error_code,
        "errorMessage": e.error_message,
        "eventID": e.event_id,
        "suspicion_score": None,
        "signals": [],
        "around": False,
        "records": 1,
        "origin": str(e.location),
    }


def _sorted(key: Callable[[Any], Any], folder: str) -> Runs:
    return Runs(key, spill_budget(), folder)


_FIRST = operator.itemgetter(0)
_FIRST_TWO = operator.itemgetter(0, 1)
_TIME_KEY = operator.itemgetter(0, 1, 2)


@contextmanager
def build_timeline(
    paths: Sequence[str],
    profile: Profile,
    principal: str,
    finding_rows: Iterable[Row],
    *,
    around: str | None = None,
    window_ns: int = 3600 * 10**9,
    stdin: BinaryIO | None = None,
    within: TimeWindow | None = None,
    before_events: Callable[[], bool] | None = None,
) -> Iterator[Timeline | None]:
    """Every event of `principal` under `paths`, oldest first, marked from `finding_rows`; the
    rows stream inside the block. `around`: only the events within `window_ns` of the event
    with that id (or origin). `within` (--since/--until): only the events inside it, as for the
    findings. Raises UsageError (before any row) for an unknown principal or `around`.
    `before_events`: asked once the finding rows are read; True yields None (nothing to read).

    Bounded memory whatever the principal's volume: the finding rows, the events and the
    copies of one operation go through external merge sorts (spill.Runs) - finding marks joined
    to events on origin, copies grouped on scoring.collapse_key, the picked events sorted by
    time - so at most a budget's worth of each (TRAILHOUND_SPILL_AFTER) is in memory."""
    with tempfile.TemporaryDirectory(prefix="trailhound-timeline-") as folder:
        marks = _sorted(_FIRST, folder)  # (origin, score, signals, records)
        for r in finding_rows:
            marks.add((r["origin"], r["suspicion_score"], r["signals"], r["records"]))
        if before_events is not None and before_events():
            yield None
            return
        stats = ScanStats()
        seen: set[str] = set()
        mine = _sorted(_FIRST_TWO, folder)  # (origin, index, packed event)
        n = 0
        for e in read_events(paths, profile, stats, stdin):
            if within is not None and within.reject(e.time_ns) is not None:
                continue
            if is_principal(e, principal):
                mine.add((str(e.location), n, pack_event(e)))
                n += 1
            elif e.principal is not None and len(seen) < 100_000:  # names to suggest, bounded
                seen.update((e.principal, short_principal(e.principal, e.account)))
        if not n:
            close = difflib.get_close_matches(principal, sorted(seen), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UsageError(
                f"no event of principal {principal!r} in the input ({stats.events} events "
                f"read).{hint} `trailhound principals PATH...` lists the principals with findings."
            )
        del seen
        copies = _sorted(_FIRST_TWO, folder)  # (operation key, index, mark, packed event)
        for origin, i, packed, mark in _join_marks(iter(mine), iter(marks)):
            key = collapse_key(unpack_event(packed)) if profile.dedupe else None
            copies.add((repr(key) if key is not None else f"#{i}", i, mark, packed))
        picked = [_sorted(_TIME_KEY, folder) for _ in range(2 if around is not None else 1)]
        for item in _one_per_operation(iter(copies)):
            for runs in picked:
                runs.add(item)
        centre = None if around is None else _centre(iter(picked[0]), around, principal)
        yield Timeline(principal, _rows(iter(picked[-1]), centre, window_ns), n, stats)


def _join_marks(events: Iterator[tuple[str, int, Any]], marks: Iterator[tuple[Any, ...]]
                ) -> Iterator[tuple[str, int, Any, tuple[Any, ...] | None]]:
    """Each event (sorted by origin) with the finding row of its origin, if any: a merge join
    of the two sorted streams (the last row given for an origin wins, as in a dict)."""
    mark = next(marks, None)
    last_origin: str | None = None
    last_mark: tuple[Any, ...] | None = None
    for origin, i, packed in events:
        if origin != last_origin:
            found = None
            while mark is not None and mark[0] < origin:
                mark = next(marks, None)
            while mark is not None and mark[0] == origin:
                found, mark = mark, next(marks, None)
            last_origin, last_mark = origin, found
        yield origin, i, packed, last_mark


_FINAL = ("success", "failure")


def _one_per_operation(copies: Iterator[tuple[str, int, Any, Any]]) -> Iterator[tuple[Any, ...]]:
    """Copies of one operation (duplicate deliveries, Azure Started/Succeeded: the same test as
    the findings' dedupe, scoring.collapse_key), sorted by that key, shown once: the copy that
    is a finding, else the first with a final status, else the first; with the number of
    records it stands for. Yields (untimed, time, first index, packed event, mark, copies)."""
    group: list[tuple[str, int, Any, Any]] = []

    def pick() -> tuple[Any, ...]:
        events = [unpack_event(packed) for _, _, _, packed in group]
        best = min(range(len(group)),
                   key=lambda j: (group[j][2] is None, events[j].status not in _FINAL))
        e = events[best]
        return (e.time_ns is None, e.time_ns or 0, group[0][1], group[best][3], group[best][2],
                len(group))

    for item in copies:
        if group and item[0] != group[0][0]:
            yield pick()
            group = []
        group.append(item)
    if group:
        yield pick()


def _centre(picked: Iterator[tuple[Any, ...]], around: str, principal: str) -> tuple[int, int | None]:
    """(position among the shown events, time) of the event `around` names."""
    count = 0
    for i, item in enumerate(picked):
        e = unpack_event(item[3])
        if around in (e.event_id, str(e.location)):
            return i, e.time_ns
        count += 1
    raise UsageError(
        f"event {around!r} is not one of {principal}'s {count} events; run without "
        "--around to list them (the eventID column)"
    )


def _rows(picked: Iterator[tuple[Any, ...]], centre: tuple[int, int | None] | None,
          window_ns: int) -> Iterator[Row]:
    for i, (_, _, _, packed, mark, copies) in enumerate(picked):
        e = unpack_event(packed)
        if centre is not None:
            at, t0 = centre
            if i != at and (t0 is None or e.time_ns is None or abs(e.time_ns - t0) > window_ns):
                continue
        r = _event_row(e)
        r["records"] = copies
        if mark is not None:
            _, r["suspicion_score"], r["signals"], r["records"] = mark
        r["around"] = centre is not None and i == centre[0]
        yield r
