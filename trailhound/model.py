"""Values that flow through the pipeline: sources -> normalize -> engine -> scoring -> report.

All are plain dataclasses so every stage (and every engine) can be tested in isolation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

# Where an input problem or a record sits. Every field is optional because positions depend on
# the container: JSON lines have a line, a {"Records": [...]} document has an index and a JSON
# pointer, a gzip stream cut short has a (compressed) byte offset.


@dataclass(frozen=True, slots=True)
class Location:
    path: str  # file path as given by the user, or "<stdin>"
    line: int | None = None  # 1-based line in the decompressed text
    offset: int | None = None  # 0-based byte offset (decompressed text unless `compressed`)
    index: int | None = None  # 0-based index of the record inside its container array
    pointer: str | None = None  # JSON pointer of the record inside its document, e.g. /Records/17
    compressed: bool = False  # True when `offset` counts bytes of the .gz file itself

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(f":{self.line}")
        if self.offset is not None:
            unit = "compressed byte" if self.compressed else "byte"
            parts.append(f" ({unit} {self.offset})")
        if self.pointer is not None:
            parts.append(f" at {self.pointer}")
        elif self.index is not None:
            parts.append(f" record #{self.index}")
        return "".join(parts)


Severity = Literal["error", "skip"]


@dataclass(frozen=True, slots=True)
class Issue:
    """Something in the input that was not turned into an event, or only partly.

    severity "error": bad input (truncated gzip, bad JSON, unknown envelope, wrong-typed field,
    non-UTF-8 bytes); counted, reported, and makes the exit code 3.
    severity "skip": input that is not audit data by design (CloudTrail digest files, S3 event
    notifications, CloudWatch CONTROL_MESSAGEs, non-JSON files met while walking a folder);
    counted in the summary only.
    `kind` is a short stable key for counting ("bad_json", "truncated_gzip", ...).
    `message` says what, why and what next; it never includes the location (see `__str__`).
    """

    location: Location
    kind: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One audit record, envelope removed, exactly as it was in the input.

    source: name of the record's Source (trailhound/logsources.py: `cloudtrail`,
            `azure_activity`, `entra_audit`, `entra_signin`, `gcp_audit`, `m365_audit`),
            decided by content, never by file name.
    envelope: the shape it came in (`s3_records`, `json_array`, `jsonl`, `single`, `eventbridge`,
            `cloudwatch_logs`, `lookup_events`, `azure_records`, `rest_value`, `sumo_export`,
            `panther_test`, ...), for the curious and for tests.
    meta: transport metadata that is not part of the record (e.g. `_sourceCategory` of a Sumo
            Logic export, the EventBridge envelope id).
    """

    data: dict[str, Any]
    location: Location
    source: str
    envelope: str
    meta: Mapping[str, Any] = field(default_factory=dict)


# (product, service) of the Sigma log source each source's events answer to, by source name.
# Derived from the Source registry (trailhound/logsources.py), which fills this dict in place
# when it is imported; read it through `trailhound.logsources` at import time.
LOGSOURCES: dict[str, tuple[str, str]] = {}

Status = Literal["success", "failure", "other"]


@dataclass(slots=True)
class Event:
    """A normalized audit event. Field names follow OCSF API Activity (class 6003) where one
    exists (noted on the right); `raw` keeps the original record untouched for rules and output.
    """

    source: str  # registry name, see RawRecord.source
    provider: str  # the Sigma product of its log source: aws | azure | gcp | m365
    raw: dict[str, Any]  # the original record (raw_data), never modified
    location: Location
    time: str | None = None  # time_dt: ISO-8601 UTC, full precision, e.g. 2024-01-02T03:04:05.1234567Z
    time_ns: int | None = None  # time, in epoch nanoseconds (ordering and windows)
    operation: str | None = None  # api.operation
    service: str | None = None  # api.service.name
    principal: str | None = None  # actor.user.uid: ARN / UPN / e-mail / object id
    principal_type: str | None = None  # actor.user.type
    src_ip: str | None = None  # src_endpoint.ip (as logged: may be a DNS name or "AWS Internal")
    region: str | None = None  # cloud.region
    account: str | None = None  # cloud.account.uid (AWS account, Azure subscription, GCP project)
    status: Status | None = None  # status: success | failure | other (started/accepted)
    error_code: str | None = None  # api.response.error / status_code
    error_message: str | None = None  # api.response.error_message / status_detail
    user_agent: str | None = None  # http_request.user_agent
    event_id: str | None = None  # metadata.uid
    correlation_id: str | None = None  # metadata.correlation_uid (Azure: one per operation)
    resource: str | None = None  # resources[0].uid: the Azure resource id an operation wrote
    meta: Mapping[str, Any] = field(default_factory=dict)  # transport metadata of the RawRecord

    @property
    def logsource(self) -> tuple[str, str]:
        try:
            return LOGSOURCES[self.source]
        except KeyError:  # an Event built before any module loaded the Source registry
            import trailhound.logsources  # noqa: F401 - registers the built-in sources

            return LOGSOURCES[self.source]


# Event's own slot for `raw` (a member descriptor): LazyEvent's `raw` property stores the decoded
# record there, so a decoded LazyEvent costs no more to read than an Event.
# mypy sees `raw` as a dataclass field (a dict), not the member descriptor that slots=True makes it.
_RAW_SLOT: Any = Event.raw  # type: ignore[misc]
PENDING: Any = object()  # a LazyEvent's `raw` not decoded yet


class LazyEvent(Event):
    """An Event whose raw record arrived as its JSON bytes (from a worker process or a spill file)
    and is decoded on first read of `raw`. Why: a rule that fires on most records makes most
    findings travel worker -> scoring -> spill -> row; only the row (and correlations) read
    the record, so it is decoded once instead of three times and spilled as the bytes it came
    as (`json`, None once `raw` was replaced). Build it with `raw=PENDING` and `json=...`.

    `row`: the output row of this event's finding as the worker that matched it built it
    (report/columns.PreRow), so the main process neither decodes the record nor builds the row
    again; a cache that columns.row_json uses only while the finding still is what the worker
    saw (same rules, one record, no correlation hit). None once `raw` was replaced.

    `head`: the event's other parts (its scalar fields, location and row) as the worker pickled
    them (spill.unpack_head): with `json`, the event's whole spill form, which the main process
    writes to a spill file as the bytes it came as, never encoding it. None once `raw` was
    replaced.
    """

    __slots__ = ("head", "json", "row")

    def __init__(self, *args: Any, json: bytes | None = None, row: Any = None,
                 head: bytes | None = None, **kwargs: Any) -> None:
        self.json = json
        self.row = row
        self.head = head
        Event.__init__(self, *args, **kwargs)

    @property
    def raw(self) -> dict[str, Any]:
        value = _RAW_SLOT.__get__(self, LazyEvent)
        if value is PENDING:
            value = orjson.loads(self.json)  # type: ignore[arg-type]
            _RAW_SLOT.__set__(self, value)
        return value  # type: ignore[no-any-return]

    @raw.setter
    def raw(self, value: dict[str, Any]) -> None:
        if value is not PENDING:
            # the bytes (and the row) no longer stand for the record
            self.json = self.row = self.head = None
        _RAW_SLOT.__set__(self, value)

    def __eq__(self, other: object) -> bool:
        # the dataclass's __eq__ wants the very same class: a LazyEvent equals the Event it stands for
        if not isinstance(other, Event):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in Event.__dataclass_fields__)

    __hash__ = None  # type: ignore[assignment]  # as Event's (mutable dataclass)

