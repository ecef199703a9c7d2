"""Values that flow through the pipeline: sources -> normalize -> engine -> scoring -> report.

All are plain dataclasses so every stage (and every engine) can be tested in isolation.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson

_T = TypeVar("_T")


def _slot_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass an __init__ that stores each field through its slot's
    own descriptor: the same signature and defaults (read from the dataclass's fields), the same
    object. Why: the generated one looks every field up by name through object.__setattr__
    (the frozen path) and costs about twice as much, and the S3 path builds a Location and a
    RawRecord for every record it decodes."""
    env: dict[str, Any] = {"_MISSING": dataclasses.MISSING}
    params, body = [], []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        n = f.name
        env[f"_set_{n}"] = cls.__dict__[n].__set__
        if f.default is not dataclasses.MISSING:
            env[f"_default_{n}"] = f.default
            params.append(f"{n}=_default_{n}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_factory_{n}"] = f.default_factory
            params.append(f"{n}=_MISSING")
            body.append(f"    if {n} is _MISSING:\n        {n} = _factory_{n}()")
        else:
            params.append(n)
        body.append(f"    _set_{n}(self, {n})")
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(src, env)  # noqa: S102 - our own source, from the dataclass's field names
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


# Where an input problem or a record sits. Every field is optional because positions depend on
# the container: JSON lines have a line, a {"Records": [...]} document has an index and a JSON
# pointer, a gzip stream cut short has a (compressed) byte offset.


@_slot_init
@dataclass(frozen=True, slots=True)
class Location:
    path: str  # file path as given by the user, or "<stdin>"
    line: int | None = None  # 1-based line in the decompressed text
    offset: int | None = None  # 0-based byte offset (decompressed text unless `compressed`)
    index: int | None = None  # 0-based index of the record inside its container array
    pointer: str | None = None  # JSON pointer of the record inside its document, e.g. /Records/17
    compressed: bool = False  # True when `offset` counts bytes of the .gz file itself

    def __str__(self) -> str:
        # (no list joined: every finding row of a worker formats its record's location)
        text = self.path
        if self.line is not None:
            text = f"{text}:{self.line}"
        if self.offset is not None:
            unit = "compressed byte" if self.compressed else "byte"
            text = f"{text} ({unit} {self.offset})"
        if self.pointer is not None:
            return f"{text} at {self.pointer}"
        if self.index is not None:
            return f"{text} record #{self.index}"
        return text


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


@_slot_init
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
_UNREAD: Any = object()  # a LazyEvent's `row` not unpickled yet

EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(Event))
SCALAR_FIELDS = tuple(n for n in EVENT_FIELDS if n not in ("raw", "location", "meta"))
scalars_of = operator.attrgetter(*SCALAR_FIELDS)  # an Event's scalar fields, in one C call
_FIELD_SET = frozenset(EVENT_FIELDS)


def location_tuple(loc: Location) -> tuple[Any, ...]:
    return (loc.path, loc.line, loc.offset, loc.index, loc.pointer, loc.compressed)


def pack_head(e: Event) -> bytes:
    """An event's fields other than its raw record, pickled (LazyEvent.packed reads them back);
    its meta must be empty (not carried)."""
    return pickle.dumps((scalars_of(e), location_tuple(e.location)), pickle.HIGHEST_PROTOCOL)


class LazyEvent(Event):
    """An Event that arrived as bytes (from a worker process or a spill file) and is decoded on
    demand. Why: a rule that fires on most records makes most findings travel worker ->
    scoring -> spill -> row, and the main process is the one serial part of a scan; the JSON
    lines of such findings need none of their event's fields.

    * `json`: the raw record's JSON bytes, decoded on first read of `raw` (build it with
      `raw=PENDING`), so it is decoded at most once, and spilled as the bytes it came as.
    * `row`: the output row of this event's finding as the worker that matched it built it
      (report/columns.PreRow), so the main process neither decodes the record nor builds the
      row again; a cache that columns.row_json uses only while the finding still is what the
      worker saw (same rules, one record, no correlation hit). `rowp`: it, pickled by the
      worker, unpickled on first read of `row`.
    * `packed(head, json, rowp, keys)`: every field arrived as bytes - `head`, the other fields
      pickled by pack_head - and is unpickled on the first read of any of them, so a finding
      that goes from a worker through the spill to its JSON line never builds its event.
      `keys`: scoring.event_keys of the event, computed by the worker.

    An Event is not changed after it is normalized; replacing `raw` (tests do) drops the bytes,
    the row and the keys, which no longer stand for it.
    """

    __slots__ = ("_row", "head", "json", "keys", "rowp")
    head: bytes | None
    json: bytes | None
    rowp: bytes | None
    keys: Any

    def __init__(self, *args: Any, json: bytes | None = None, row: Any = None, **kwargs: Any) -> None:
        self.json = json
        self._row = row
        self.head = self.rowp = self.keys = None
        Event.__init__(self, *args, **kwargs)

    @classmethod
    def packed(cls, head: bytes, json: bytes, rowp: bytes | None, keys: Any = None) -> LazyEvent:
        e = cls.__new__(cls)  # the Event fields stay unset until one is read (__getattr__)
        e.head, e.json, e.rowp, e.keys, e._row = head, json, rowp, keys, _UNREAD
        return e

    def _unpack(self) -> None:
        scalars, loc = pickle.loads(self.head)  # type: ignore[arg-type]
        for name, value in zip(SCALAR_FIELDS, scalars, strict=True):
            setattr(self, name, value)
        self.location = Location(*loc)
        self.meta = {}
        _RAW_SLOT.__set__(self, PENDING)

    def __getattr__(self, name: str) -> Any:
        # only called for an attribute not set: a packed event's fields before the first read
        if name not in _FIELD_SET or self.head is None:
            raise AttributeError(name)
        self._unpack()
        return getattr(self, name)

    @property
    def row(self) -> Any:
        row = self._row
        if row is _UNREAD:
            row = self._row = None if self.rowp is None else pickle.loads(self.rowp)
        return row

    @row.setter
    def row(self, value: Any) -> None:
        self._row, self.rowp = value, None

    @property
    def raw(self) -> dict[str, Any]:
        try:
            value = _RAW_SLOT.__get__(self, LazyEvent)
        except AttributeError:  # packed: no field unpacked yet
            self._unpack()
            value = PENDING
        if value is PENDING:
            value = orjson.loads(self.json)  # type: ignore[arg-type]
            _RAW_SLOT.__set__(self, value)
        return value  # type: ignore[no-any-return]

    @raw.setter
    def raw(self, value: dict[str, Any]) -> None:
        if value is not PENDING:
            if self.head is not None and _unset(self):
                self._unpack()  # (the head is dropped below: its fields first)
            # the bytes, the row and the keys no longer stand for the record
            self.json = self.head = self.rowp = self.keys = self._row = None
        _RAW_SLOT.__set__(self, value)

    def __eq__(self, other: object) -> bool:
        # the dataclass's __eq__ wants the very same class: a LazyEvent equals the Event it stands for
        if not isinstance(other, Event):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in EVENT_FIELDS)

    __hash__ = None  # type: ignore[assignment]  # as Event's (mutable dataclass)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as the plain Event it stands for: the bytes are this process's shortcut
        return (Event, tuple(getattr(self, f) for f in EVENT_FIELDS))


def _unset(e: LazyEvent) -> bool:
    try:
        _RAW_SLOT.__get__(e, LazyEvent)
    except AttributeError:
        return True
    return False
