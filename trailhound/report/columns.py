"""The finding row: the seed query's columns, then trailhound's. One function builds it for every
output format so JSONL, CSV and the table can never disagree."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import orjson

from trailhound.engine.base import Match
from trailhound.engine.correlate import Hit
from trailhound.model import Event
from trailhound.normalize.times import output_time
from trailhound.profiles import Profile
from trailhound.rules.guides import guide_ref
from trailhound.rules.model import Rule
from trailhound.scoring import SIGNALS, Finding, RowFinding, Signal, score_match

# What a responder needs to act on a finding (issue #11): appended last, so that a CSV read by
# position keeps every earlier column where it was. Filled from the normalized event in both
# profiles (the seed query has no such columns to be bug-compatible with).
TRIAGE_COLUMNS = ("account", "service", "userAgent", "accessKey")

# The query's `table` list, in its order (`_messageTime` is `time`), then ours.
SEED_COLUMNS = (
    "time",
    "eventName",
    "operationName",
    "userArn",
    "identityType",
    "sourceIP",
    "awsRegion",
    "errorCode",
    "errorMessage",
    *SIGNALS,
    "suspicion_score",
)
COLUMNS = (
    *SEED_COLUMNS,
    "eventID",
    "provider",
    "signals",
    "outcome",
    "source",
    "origin",
    "records",
    "correlations",
    *TRIAGE_COLUMNS,
)

# Raw JSON paths the seed query extracts with `json field=_raw "<path>"`.
SEED_PATHS = {
    "eventName": ("eventName",),
    "operationName": ("operationName",),
    "userArn": ("userIdentity", "arn"),
    "identityType": ("userIdentity", "type"),
    "sourceIP": ("sourceIPAddress",),
    "awsRegion": ("awsRegion",),
    "errorCode": ("errorCode",),
    "errorMessage": ("errorMessage",),
}


# Memoised: most records of one delivery file share a few hundred seconds, and formatting a
# time costs more than the rest of the row's scalars (the rule that fires on most records).
_output_time = functools.lru_cache(maxsize=1 << 14)(output_time)


def literal(raw: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """What Sumo's `json field=_raw "a.b" nodrop` yields: the string, the JSON text of any other
    value, or null when the path is missing or null."""
    cur: Any = raw
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)  # (absent and null alike: None, which ends the path)
    if cur is None or isinstance(cur, str):
        return cur
    return orjson.dumps(cur).decode()


# The credential a call was signed with, where the log names it: the key to rotate.
_ACCESS_KEY_PATHS = {
    "aws": ("userIdentity", "accessKeyId"),
    "gcp": ("protoPayload", "authenticationInfo", "serviceAccountKeyName"),
}


def triage_columns(e: Event) -> list[str | None]:
    """The TRIAGE_COLUMNS values of an event, in order (the Spark engine calls this too)."""
    path = _ACCESS_KEY_PATHS.get(e.provider)
    return [e.account, e.service, e.user_agent, literal(e.raw, path) if path else None]


def signal_obj(rule: Signal) -> dict[str, Any]:
    """A counted rule as the `signals` column lists it (a fresh dict: callers may change it)."""
    obj = _signal_obj(rule)
    return {**obj, "tags": list(obj["tags"])}


@functools.lru_cache(maxsize=4096)
def _signal_obj(rule: Signal) -> dict[str, Any]:
    # Rules are frozen and compared by identity: built once per rule, not once per finding
    # (a scan can list one rule on 800,000 findings)
    return {
        "rule_id": rule.id,
        "title": rule.title,
        "level": rule.level,
        "weight": rule.weight,
        "signal": rule.signal,
        "context": rule.context,
        "author": rule.author,
        "tags": list(rule.tags),
        "guide": guide_ref(rule),  # the command that shows the rule's response playbook
    }


def correlation_obj(hit: Hit) -> dict[str, Any]:
    """A correlation hit the event is part of: the correlation, and the event ids (in time
    order) of the events that formed the hit: every one, or the first correlate.LISTED and
    `events_omitted`, how many more (each of those is a finding listing the hit too)."""
    obj: dict[str, Any] = {
        "rule_id": hit.correlation.id,
        "title": hit.correlation.title,
        "events": list(hit.event_ids),
    }
    if hit.size > len(hit.event_ids):
        obj["events_omitted"] = hit.size - len(hit.event_ids)
    return obj


def row(f: Finding, profile: Profile, *, raw: bool = False) -> dict[str, Any]:
    """The finding's row; `raw` adds the original record (key `raw`, not a column) and the
    normalized columns (key `normalized`, whatever the profile) for the writers that keep them
    (writers.wants_raw: OCSF's evidence)."""
    pre = _pre_row(f, profile)
    if pre is not None:  # the same row, as the worker built it
        out: dict[str, Any] = orjson.loads(pre)
        out["records"] = f.copies  # (the worker saw one record; scoring counts the copies)
    else:
        out = _built_row(f, profile)
    if raw:
        e = f.event
        out["raw"] = e.raw
        # the evidence names who and from where even when the profile's columns are the seed's
        # literal CloudTrail extractions (an Azure or GCP finding has none there)
        out["normalized"] = normalized_columns(e)
    return out


def _built_row(f: Finding, profile: Profile, signal: Any = signal_obj) -> dict[str, Any]:
    """The row built from the finding (`signal`: how a counted rule is listed)."""
    return _values(
        f.event, profile, _flags(f), [signal(r) for r in f.rules], f.copies,
        [correlation_obj(h) for h in f.hits],
    )


def _flags(f: Finding) -> tuple[Any, ...]:
    """The finding's SIGNALS flags (0 / 1, in order), then its suspicion_score."""
    raised = f.signals()
    return (*(int(s in raised) for s in SIGNALS), f.score)


def _dict_of(keys: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """A function of len(keys) values, in order, returning the dict of `keys` to them. Why
    generated: a dict display with constant keys is built at its final size in one step
    (BUILD_CONST_KEY_MAP), about twice as fast as dict(zip(keys, values)) or filling a dict key
    by key, and a rule that fires on most records builds one row per record in the workers
    (pre_row). The keys are our own constants (COLUMNS), written as Python literals (repr)."""
    names = [f"v{i}" for i in range(len(keys))]
    body = ", ".join(f"{k!r}: {n}" for k, n in zip(keys, names, strict=True))
    env: dict[str, Any] = {}
    exec(f"def of({', '.join(names)}):\n    return {{{body}}}\n", env)  # noqa: S102 - our own source
    return env["of"]  # type: ignore[no-any-return]


def _values(e: Event, profile: Profile, scored: tuple[Any, ...], signals: Any, copies: int,
            correlations: Any) -> dict[str, Any]:
    """The row, COLUMNS in order: the event's values, with the finding's `scored` (the SIGNALS
    flags, then suspicion_score), `signals`, `copies` and `correlations` put in their places."""
    # every profile: the one output time format (normalize/times.output_time); the seed's
    # `_messageTime` is Sumo's own epoch-ms timestamp, not a raw field it extracts
    if profile.literal_columns:
        raw = e.raw
        head = [literal(raw, path) for path in _SEED_PATHS]
        event_id = literal(raw, _EVENT_ID) or e.event_id
    else:
        head = _normalized_values(e)
        event_id = e.event_id
    return _ROW(
        _output_time(e.time_ns), *head, *scored, event_id, e.provider, signals, e.status,
        e.source, str(e.location), copies, correlations, *triage_columns(e),
    )


_ROW = _dict_of(COLUMNS)
_SEED_PATHS = tuple(SEED_PATHS.values())
_EVENT_ID = ("eventID",)
_NORMALIZED_KEYS = tuple(SEED_PATHS)  # the same eight columns, filled from the event


def _normalized_values(e: Event) -> list[Any]:
    aws = e.provider == "aws"
    return [
        e.operation if aws else None, None if aws else e.operation, e.principal,
        e.principal_type, e.src_ip, e.region, e.error_code, e.error_message,
    ]


def normalized_columns(e: Event) -> dict[str, Any]:
    """The columns a profile without literal columns fills from the normalized event."""
    return dict(zip(_NORMALIZED_KEYS, _normalized_values(e), strict=True))


# A finding's row as the worker that matched its event built it (engine/file_scan.py), carried
# on the event (model.LazyEvent.row): the row's JSON, the ids of the rules it lists (rule ids
# are unique in a RuleSet) and the profile's `literal_columns` (the row's one profile input).
PreRow = tuple[bytes, tuple[str, ...], bool]


def pre_row(m: Match, profile: Profile) -> PreRow | None:
    """The row of the finding `m` makes as it stands (scoring.score_match; one record, no
    correlation hit), or None when it makes none. Why in the worker: with a rule that fires on
    most records, building each row (and decoding each record for it) in the one main process
    was the main process's largest cost; the worker has the record decoded anyway."""
    scored = _scored(tuple(m.rules))
    if scored is None:
        return None
    flags, signals, ids = scored
    # (the worker's event carries no row yet: the row is built, as row() would)
    json = orjson.dumps(_values(m.event, profile, flags, signals, 1, []))
    return json, ids, profile.literal_columns


@functools.lru_cache(maxsize=4096)
def _scored(rules: tuple[Rule, ...]) -> tuple[tuple[Any, ...], orjson.Fragment, tuple[str, ...]] | None:
    """What a finding of exactly these matched rules puts in its row, by scoring.score_match
    itself: the SIGNALS flags and score, the `signals` column as JSON (orjson.Fragment: encoded
    once, not once per finding) and the counted rules' ids; None: no finding. Why cached: a
    scan has a few rule combinations and up to one finding per record. (Rules compare by
    identity: the key holds them, so an id is never reused for another rule while cached.)"""
    f = score_match(Match(None, list(rules), []))  # type: ignore[arg-type]  # (reads no event)
    if f is None:
        return None
    signals = orjson.Fragment(orjson.dumps([_signal_obj(r) for r in f.rules]))
    return _flags(f), signals, tuple(r.id for r in f.rules)


def row_json(f: Finding, profile: Profile) -> bytes:
    """`orjson.dumps(row(f, profile))`, without decoding and encoding the row again when the
    worker built it (the JSON lines writer's rows)."""
    if f.__class__ is RowFinding and f.copies == 1:  # (most findings of a rows-only scan)
        return f.json
    pre = _pre_row(f, profile)
    return pre if pre is not None and f.copies == 1 else orjson.dumps(row(f, profile))


def _pre_row(f: Finding, profile: Profile) -> bytes | None:
    """The JSON of the worker's PreRow when the finding is still the one it was built for (same
    rules, so same score and signals; no correlation hit; same profile kind); its `records`
    says 1."""
    if f.__class__ is RowFinding:  # final in the worker: its row is all it carries
        return f.json
    pre: PreRow | None = getattr(f.event, "row", None)
    if (
        pre is not None
        and not f.hits
        and pre[2] == profile.literal_columns
        and pre[1] == tuple(r.id for r in f.rules)
    ):
        return pre[0]
    return None
