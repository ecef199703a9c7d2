"""Envelopes: a decoded JSON value -> RawRecord | Issue, unwrapping transport shapes.

`unwrap(value, ctx)` tries the registered envelope handlers in order on every object; the first
that recognises the object yields what is inside (recursing through `unwrap`, so envelopes nest:
JSON lines of EventBridge events, a Firehose file of CloudWatch Logs payloads, ...). An object no
handler claims is a record and goes to `classify`.

Adding a shape: write `def _my_shape(obj, ctx) -> Iterator[Item] | None` (None = not mine) and
one `ENVELOPES.register("my_shape", <order>, Envelope(("trigger key",), _my_shape))` line.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from trailhound.jsonutil import json_type
from trailhound.model import Issue, Location, RawRecord, Severity
from trailhound.sources._util import OrderedRegistry, describe, join_pointer, snippet
from trailhound.sources.classify import classify
from trailhound.sources.gzipio import decompress_payload
from trailhound.sources.salvage import BadElement

Item = RawRecord | Issue
MAX_DEPTH = 12  # envelopes inside envelopes; deeper is hostile input, not a real export

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where a value sits and what the envelopes around it said."""

    path: str
    line: int | None = None
    offset: int | None = None
    pointer: str = ""  # JSON pointer inside the top-level value ("" = the value itself)
    index: int | None = None
    envelope: str = "single"  # envelope name a bare record found here gets
    meta: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    declared: str | None = None  # log type named by an enclosing envelope (Panther)
    depth: int = 0

    def location(self) -> Location:
        return Location(
            path=self.path,
            line=self.line,
            offset=self.offset,
            index=self.index,
            pointer=self.pointer or None,
        )

    def at(self, token: str | int, index: int | None = None, envelope: str | None = None) -> Ctx:
        """The context of a member or element of this value."""
        return Ctx(
            self.path,
            self.line,
            self.offset,
            join_pointer(self.pointer, token),
            index if index is not None else self.index,
            envelope or self.envelope,
            self.meta,
            self.declared,
            self.depth + 1,
        )

    def wrapped(
        self,
        envelope: str,
        meta: Mapping[str, Any] | None = None,
        declared: str | None = None,
    ) -> Ctx:
        """Same place, inside an item envelope (EventBridge, lookup-events...)."""
        merged = {**self.meta, **meta} if meta else self.meta
        return Ctx(
            self.path,
            self.line,
            self.offset,
            self.pointer,
            self.index,
            envelope,
            merged,
            declared if declared is not None else self.declared,
            self.depth + 1,
        )

    def issue(self, kind: str, message: str, severity: Severity = "error") -> Issue:
        return Issue(self.location(), kind, message, severity)


Handler = Callable[[dict[str, Any], Ctx], "Iterator[Item] | None"]


@dataclass(frozen=True, slots=True)
class Envelope:
    triggers: tuple[str, ...]  # the handler runs only on objects holding one of these keys
    handler: Handler
    # (member key, envelope name, what) when the records are the elements of one array member:
    # a streamed input (sources.stream) then reads that array an element at a time
    container: tuple[str, str, str] | None = None


ENVELOPES: OrderedRegistry[Envelope] = OrderedRegistry("envelope")


def unwrap(value: Any, ctx: Ctx) -> Iterator[Item]:
    """Records (and issues) inside one decoded JSON value."""
    if isinstance(value, dict):
        if ctx.depth > MAX_DEPTH:
            yield ctx.issue("wrong_type", f"envelopes nested more than {MAX_DEPTH} deep; skipped")
            return
        for env in ENVELOPES.ordered():
            for key in env.triggers:
                if key in value:
                    out = env.handler(value, ctx)
                    if out is not None:
                        yield from out
                        return
                    break
        yield _record(value, ctx)
    elif isinstance(value, list):
        if ctx.depth > MAX_DEPTH:
            yield ctx.issue("wrong_type", f"arrays nested more than {MAX_DEPTH} deep; skipped")
            return
        envelope = "json_array" if ctx.envelope in ("single", "jsonl") else ctx.envelope
        for i, element in enumerate(value):
            yield from unwrap(element, ctx.at(i, index=i, envelope=envelope))
    elif isinstance(value, BadElement):
        yield ctx.issue("bad_json", value.message)
    else:
        yield ctx.issue(
            "wrong_type",
            f"expected a JSON object (a record or an envelope), found {describe(value)}; skipped",
        )


def _record(rec: dict[str, Any], ctx: Ctx) -> Item:
    verdict = classify(rec, ctx.declared)
    if verdict.source is not None:
        # A fresh dict when empty: records never share a mutable (or unserialisable) meta.
        meta = ctx.meta if ctx.meta else {}
        return RawRecord(rec, ctx.location(), verdict.source, ctx.envelope, meta)
    return ctx.issue(verdict.kind or "unknown_envelope", verdict.message, verdict.severity)


def _parse_embedded(text: Any, ctx: Ctx, what: str) -> tuple[Any, Issue | None]:
    """Decode JSON carried as a string inside an envelope."""
    if isinstance(text, (dict, list)):  # already decoded by whoever exported it
        return text, None
    if not isinstance(text, (str, bytes)):
        return None, ctx.issue("wrong_type", f"{what} should be JSON text, found {json_type(text)}")
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as exc:
        reason = str(exc).split(":", 1)[0]
        return None, ctx.issue(
            "bad_json",
            f"{what} is not valid JSON ({reason}); starts with {snippet(text, 40)}; skipped",
        )


# --- containers: arrays of records ---------------------------------------------------------


def _container(key: str, envelope: str, what: str) -> Handler:
    def handler(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item]:
        return _elements(obj[key], ctx, key, envelope, what)

    return handler


def _elements(items: Any, ctx: Ctx, key: str, envelope: str, what: str) -> Iterator[Item]:
    if not isinstance(items, list):
        yield ctx.at(key).issue(
            "wrong_type", f"{what} `{key}` should be an array, found {json_type(items)}; skipped"
        )
        return
    base = join_pointer(ctx.pointer, key)
    for i, element in enumerate(items):
        yield from element_items(element, i, ctx, base, envelope, what)


def element_items(
    element: Any, i: int, ctx: Ctx, base: str, envelope: str, what: str
) -> Iterator[Item]:
    """Records of element `i` of the container array at JSON pointer `base` inside `ctx`."""
    sub = Ctx(
        ctx.path, ctx.line, ctx.offset, f"{base}/{i}", i, envelope, ctx.meta, ctx.declared,
        ctx.depth + 2,
    )
    if isinstance(element, dict):
        yield from unwrap(element, sub)
    elif isinstance(element, BadElement):
        yield sub.issue("bad_json", element.message)
    else:
        yield sub.issue(
            "wrong_type",
            f"{what} element should be a JSON object, found {describe(element)}; skipped",
        )


_REST_KEYS = frozenset({"value", "nextLink", "NextLink", "count"})


def _rest_value(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """Azure REST / Microsoft Graph page: {"value": [...], "nextLink" | "@odata.nextLink"}."""
    extra = [k for k in obj if k not in _REST_KEYS and not k.startswith("@odata.")]
    if extra and not isinstance(obj["value"], list):
        return None  # a record that has a `value` field
    return _elements(obj["value"], ctx, "value", "rest_value", "REST page")


def _lookup_events_page(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """`aws cloudtrail lookup-events` output: {"Events": [...], "NextToken": ...}."""
    if not isinstance(obj["Events"], list) and "NextToken" not in obj and len(obj) > 1:
        return None
    return _elements(obj["Events"], ctx, "Events", "lookup_events", "lookup-events output")


# --- whole-file shapes that are not audit data -----------------------------------------------


_DIGEST_KEYS = ("digestStartTime", "digestEndTime", "digestS3Object", "logFiles")


def _digest(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    if sum(k in obj for k in _DIGEST_KEYS) < 2:
        return None
    return iter(
        [
            ctx.issue(
                "cloudtrail_digest",
                "CloudTrail digest file (log file hashes for integrity validation, no events); "
                "skipped",
                "skip",
            )
        ]
    )


# --- CloudWatch Logs subscription payloads -------------------------------------------------


def _cloudwatch(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    kind = obj["messageType"]
    if kind == "CONTROL_MESSAGE":
        return iter(
            [
                ctx.issue(
                    "cloudwatch_control",
                    "CloudWatch Logs CONTROL_MESSAGE (a reachability check, no log events); "
                    "skipped",
                    "skip",
                )
            ]
        )
    if "logEvents" not in obj:
        return None
    if kind != "DATA_MESSAGE":
        return iter(
            [
                ctx.issue(
                    "unknown_envelope",
                    f"CloudWatch Logs payload with messageType {snippet(kind, 30)}; "
                    "expected DATA_MESSAGE or CONTROL_MESSAGE",
                )
            ]
        )
    return _cloudwatch_events(obj, ctx)


def _cloudwatch_events(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item]:
    events = obj["logEvents"]
    if not isinstance(events, list):
        yield ctx.at("logEvents").issue(
            "wrong_type",
            f"CloudWatch Logs `logEvents` should be an array, found {json_type(events)}",
        )
        return
    base: dict[str, Any] = {k: obj[k] for k in ("owner", "logGroup", "logStream") if k in obj}
    for i, event in enumerate(events):
        sub = ctx.at("logEvents").at(i, index=i)
        if not isinstance(event, dict):
            yield sub.issue(
                "wrong_type",
                f"CloudWatch Logs log event should be an object, found {json_type(event)}",
            )
            continue
        meta: dict[str, Any] = dict(base)
        if "id" in event:
            meta["logEventId"] = event["id"]
        if "timestamp" in event:
            meta["logEventTimestamp"] = event["timestamp"]
        inner_ctx = sub.at("message").wrapped("cloudwatch_logs", meta)
        inner, problem = _parse_embedded(
            event.get("message"), inner_ctx, "CloudWatch Logs log event `message`"
        )
        if problem is not None:
            yield problem
        else:
            yield from unwrap(inner, inner_ctx)


def _cloudwatch_lambda(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """Lambda subscription event: {"awslogs": {"data": "<base64 of gzip of the payload>"}}."""
    awslogs = obj["awslogs"]
    if not isinstance(awslogs, dict) or "data" not in awslogs:
        return None
    sub = ctx.at("awslogs").at("data")
    data = awslogs["data"]
    try:
        if not isinstance(data, str):
            raise TypeError(f"found {json_type(data)}, not a string")
        decoded = decompress_payload(base64.b64decode(data, validate=True))
    except (TypeError, ValueError, binascii.Error) as exc:
        return iter(
            [
                sub.issue(
                    "bad_payload",
                    f"CloudWatch Logs `awslogs.data` is not base64 of gzip data ({exc}); skipped",
                )
            ]
        )
    payload, problem = _parse_embedded(decoded, sub, "decoded CloudWatch Logs payload")
    if problem is not None:
        return iter([problem])
    return unwrap(payload, sub.wrapped("cloudwatch_logs"))


# --- one record in an item envelope ------------------------------------------------------------

_EVENTBRIDGE_META = ("id", "time", "detail-type", "source", "account", "region")


def _eventbridge(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    if "detail" not in obj:
        return None
    meta = {k: obj[k] for k in _EVENTBRIDGE_META if k in obj}
    inner = ctx.at("detail").wrapped("eventbridge", meta)
    detail = obj["detail"]
    if not isinstance(detail, dict):
        return iter(
            [
                inner.issue(
                    "wrong_type",
                    f"EventBridge `detail` should be an object, found {json_type(detail)}",
                )
            ]
        )
    if not any(k in detail for k in ("eventSource", "eventName", "eventsource")):
        # An EventBridge event that does not carry a CloudTrail record (EC2 state change,
        # GuardDuty finding...): real input, but not audit data.
        kind = obj.get("detail-type")
        return iter(
            [
                inner.issue(
                    "not_audit_log",
                    f"EventBridge event of detail-type {snippet(kind, 60)} does not carry a "
                    "CloudTrail record; skipped",
                    "skip",
                )
            ]
        )
    return unwrap(detail, inner)


_LOOKUP_META = ("EventId", "EventName", "Username")


def _lookup_event(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    meta = {k: obj[k] for k in _LOOKUP_META if k in obj}
    inner_ctx = ctx.at("CloudTrailEvent").wrapped("lookup_events", meta)
    inner, problem = _parse_embedded(obj["CloudTrailEvent"], inner_ctx, "`CloudTrailEvent`")
    if problem is not None:
        return iter([problem])
    return unwrap(inner, inner_ctx)


def _sumo(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """Sumo Logic search export row: the record as JSON text in `_raw`."""
    meta: dict[str, Any] = {}
    for key, value in obj.items():
        low = key.lower() if isinstance(key, str) else key
        if low == "_sourcecategory":
            meta["_sourceCategory"] = value
        elif low == "_messagetime":
            meta["_messageTime"] = value
    inner_ctx = ctx.at("_raw").wrapped("sumo_export", meta)
    inner, problem = _parse_embedded(obj["_raw"], inner_ctx, "Sumo Logic `_raw`")
    if problem is not None:
        return iter([problem])
    return unwrap(inner, inner_ctx)


_PANTHER_KEYS = ("rule_id", "log_type", "expected_result")


def _panther(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """Panther rule test case: {"log": {...}, "rule_id", "log_type", "expected_result", ...}."""
    if not isinstance(obj["log"], dict) or not any(k in obj for k in _PANTHER_KEYS):
        return None
    meta = {k: v for k, v in obj.items() if k != "log"}
    declared = obj.get("log_type")
    inner = ctx.at("log").wrapped(
        "panther_test", meta, declared if isinstance(declared, str) else None
    )
    return unwrap(obj["log"], inner)


def _pubsub(obj: dict[str, Any], ctx: Ctx) -> Iterator[Item] | None:
    """Pub/Sub push delivery: {"message": {"data": "<base64 LogEntry>", ...}, "subscription"}."""
    message = obj["message"]
    if not isinstance(message, dict) or "data" not in message:
        return None
    if "subscription" not in obj and "messageId" not in message and "message_id" not in message:
        return None
    meta = {k: message[k] for k in ("messageId", "publishTime", "attributes") if k in message}
    if "subscription" in obj:
        meta["subscription"] = obj["subscription"]
    sub = ctx.at("message").at("data").wrapped("pubsub", meta)
    data = message["data"]
    try:
        if not isinstance(data, str):
            raise TypeError(f"found {json_type(data)}, not a string")
        decoded = base64.b64decode(data, validate=True)
    except (TypeError, ValueError, binascii.Error) as exc:
        return iter(
            [sub.issue("bad_payload", f"Pub/Sub `message.data` is not base64 ({exc}); skipped")]
        )
    inner, problem = _parse_embedded(decoded, sub, "decoded Pub/Sub `message.data`")
    if problem is not None:
        return iter([problem])
    return unwrap(inner, sub)


_S3 = ("Records", "s3_records", "CloudTrail file")
_AZURE = ("records", "azure_records", "Azure diagnostic export")
ENVELOPES.register("s3_records", 10, Envelope(("Records",), _container(*_S3), _S3))
ENVELOPES.register("azure_records", 11, Envelope(("records",), _container(*_AZURE), _AZURE))
ENVELOPES.register(
    "rest_value", 12, Envelope(("value",), _rest_value, ("value", "rest_value", "REST page"))
)
ENVELOPES.register(
    "lookup_events_page",
    13,
    Envelope(
        ("Events",), _lookup_events_page, ("Events", "lookup_events", "lookup-events output")
    ),
)
ENVELOPES.register(
    "cloudtrail_digest", 20, Envelope(("digestStartTime", "digestS3Object"), _digest)
)
ENVELOPES.register("cloudwatch_logs", 21, Envelope(("messageType",), _cloudwatch))
ENVELOPES.register("cloudwatch_lambda", 22, Envelope(("awslogs",), _cloudwatch_lambda))
ENVELOPES.register("eventbridge", 30, Envelope(("detail-type",), _eventbridge))
ENVELOPES.register("lookup_events", 31, Envelope(("CloudTrailEvent",), _lookup_event))
ENVELOPES.register("sumo_export", 32, Envelope(("_raw",), _sumo))
ENVELOPES.register("panther_test", 33, Envelope(("log",), _panther))
ENVELOPES.register("pubsub", 34, Envelope(("message",), _pubsub))
