"""One principal's timeline: every event it made (not only the findings), in time order, the
findings marked with their score and signals: "what else did they do?".

Events come from the one reader loop (scan.read_events: read -> normalize -> profile gate); the
marks come from the finding rows of any engine (report/columns.row), joined on the record's
origin (file and position), which every engine reports identically.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
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
    rows: list[Row]  # TIMELINE_COLUMNS, in time order
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


def _one_per_operation(events: list[Event], findings: dict[str, Row]) -> list[tuple[Event, int]]:
    """Copies of one operation (duplicate deliveries, Azure Started/Succeeded: the same test as
    the findings' dedupe, scoring.collapse_key) shown once: the copy that is a finding, else the
    first with a final status, else the first; with the number of records it stands for."""
    groups: dict[object, list[Event]] = {}
    for i, e in enumerate(events):
        groups.setdefault(collapse_key(e) or i, []).append(e)
    return [
        (
            min(
                copies,
                key=lambda e: (str(e.location) not in findings, e.status not in ("success", "failure")),
            ),
            len(copies),
        )
        for copies in groups.values()
    ]


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
) -> Timeline:
    """Every event of `principal` under `paths`, oldest first, marked from `finding_rows`.
    `around`: only the events within `window_ns` of the event with that id (or origin).
    `within` (--since/--until): only the events inside it, as for the findings."""
    findings = {r["origin"]: r for r in finding_rows}
    stats = ScanStats()
    seen: set[str] = set()
    mine: list[Event] = []
    for e in read_events(paths, profile, stats, stdin):
        if within is not None and within.reject(e.time_ns) is not None:
            continue
        if is_principal(e, principal):
            mine.append(e)
        elif e.principal is not None and len(seen) < 100_000:  # names to suggest, bounded
            seen.update((e.principal, short_principal(e.principal, e.account)))
    if not mine:
        close = difflib.get_close_matches(principal, sorted(seen), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"no event of principal {principal!r} in the input ({stats.events} events read).{hint} "
            "`trailhound principals PATH...` lists the principals with findings."
        )
    if profile.dedupe:
        picked = _one_per_operation(mine, findings)
    else:
        picked = [(e, 1) for e in mine]
    picked.sort(key=lambda p: (p[0].time_ns is None, p[0].time_ns or 0))
    rows = []
    for e, copies in picked:
        r = _event_row(e)
        r["records"] = copies
        f = findings.get(r["origin"])
        if f is not None:
            r["suspicion_score"] = f["suspicion_score"]
            r["signals"] = f["signals"]
            r["records"] = f["records"]
        rows.append(r)
    if around is not None:
        rows = _window(rows, picked, around, window_ns, principal)
    return Timeline(principal, rows, len(mine), stats)


def _window(
    rows: list[Row], picked: list[tuple[Event, int]], around: str, window_ns: int, principal: str
) -> list[Row]:
    centre = next(
        (i for i, r in enumerate(rows) if around in (r["eventID"], r["origin"])), None
    )
    if centre is None:
        raise UsageError(
            f"event {around!r} is not one of {principal}'s {len(rows)} events; run without "
            "--around to list them (the eventID column)"
        )
    t0 = picked[centre][0].time_ns
    rows[centre]["around"] = True
    if t0 is None:
        return [rows[centre]]
    return [
        r
        for r, (e, _) in zip(rows, picked)
        if e.time_ns is not None and abs(e.time_ns - t0) <= window_ns
    ]
