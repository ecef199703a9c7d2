"""normalize.cloudtrail.normalize, for plain records, without the generic field walker.

`cloudtrail_event(rec)` returns exactly what `normalize(rec)` returns (the same Event, no
issues) when the record is PLAIN, and None otherwise (the caller then runs `normalize`):

* every field the CloudTrail normalizer reads at the top level (eventTime, eventName,
  eventSource, sourceIPAddress, awsRegion, recipientAccountId, errorCode, errorMessage,
  userAgent, eventID, responseElements) and in userIdentity (arn, principalId, userName,
  accountId, invokedBy, type) is either a string, null, or absent with no other key of that
  object equal to its name ignoring case (the normalizer's case-insensitive second pass would
  take such a key);
* eventTime is a string `parse_time` reads in an ISO-8601 form (not the US form, which the
  normalizer reports); eventName is a non-empty string (a record without one is reported
  `missing_field`); userIdentity is an object, null or absent; responseElements (read for the
  ConsoleLogin outcome) is an object or null.

Why the result is the same, for plain records (normalize/_fields.py): an exact key holding a
non-empty string wins the first pass; null and "" give None in both passes (the second pass
finds the same exact key first); an absent key gives None when no case variant exists. No
issue is raised on any of these paths.

The equivalence is held by tests/test_engine_fast_normalize.py (hypothesis, and every
CloudTrail record of the external corpus): a change to the normalizer that this module does
not follow fails them. It stays off only when another function is registered as the
CloudTrail normalizer (`enabled`).
"""

from __future__ import annotations

from typing import Any

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize import NORMALIZERS, cloudtrail, normalize
from trailhound.normalize.times import TimeParseError, is_us_form, parse_time

__all__ = ["cloudtrail_event", "enabled", "normalize_fast"]

_TIMES: dict[str, tuple[str, int] | None] = {}
_TIMES_MAX = 8192
_MISSING = object()


def _enabled() -> bool:
    """Off when another CloudTrail normalizer is registered (this one reproduces the built-in)."""
    return NORMALIZERS.get("cloudtrail") is cloudtrail.normalize


enabled = _enabled()


def _time(text: str) -> tuple[str, int] | None:
    got = _TIMES.get(text, _MISSING)
    if got is _MISSING:
        try:
            got = None if is_us_form(text) else parse_time(text)
        except TimeParseError:
            got = None
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()
        _TIMES[text] = got
    return got  # type: ignore[return-value]


class _NotPlain(Exception):
    pass


def _folded(obj: dict[str, Any]) -> set[str]:
    return {k.casefold() for k in obj if isinstance(k, str)}


# Every key this module asks about (the absent-field test below relies on it: `_text` checks).
_NAMES = frozenset({
    "eventTime", "userIdentity", "eventName", "eventSource", "sourceIPAddress", "awsRegion",
    "recipientAccountId", "errorCode", "errorMessage", "userAgent", "eventID",
    "responseElements", "arn", "principalId", "userName", "accountId", "invokedBy", "type",
    "ConsoleLogin",
})
_FOLDED_NAMES = {n.casefold(): n for n in _NAMES}
# Keys met in records that are no case variant of a name in _NAMES (other than the name
# itself). Why: building each object's case-folded key set to test an absent field was a
# quarter of a worker's time when most records match; an object whose keys are all here has no
# case variant of any absent field, tested by one C call. Bounded: CloudTrail's own key names.
_SAFE: set[str] = set()
_SAFE_MAX = 4096


def _no_variants(obj: dict[str, Any]) -> bool:
    """True when no key of `obj` is a case variant of a name in _NAMES (False: maybe one)."""
    if _SAFE.issuperset(obj):
        return True
    for k in obj:
        if k in _SAFE:
            continue
        if not isinstance(k, str):
            return False
        name = _FOLDED_NAMES.get(k.casefold())
        if name is not None and name != k:
            return False
        if len(_SAFE) < _SAFE_MAX:
            _SAFE.add(k)
    return True


def _absent_plain(obj: dict[str, Any], key: str, plain: list[bool | None]) -> bool:
    """Whether `key`, absent from `obj`, has no case variant there either (`plain`: the
    object's _no_variants, computed once)."""
    p = plain[0]
    if p is None:
        p = plain[0] = _no_variants(obj)
    return p or key.casefold() not in _folded(obj)


def _text(obj: dict[str, Any], key: str, plain: list[bool | None]) -> str | None:
    """What Fields.string(key) gives on a plain object (raises _NotPlain otherwise)."""
    v = obj.get(key, _MISSING)
    if v is _MISSING:
        if key not in _NAMES or not _absent_plain(obj, key, plain):
            raise _NotPlain
        return None
    if v is None:
        return None
    if v.__class__ is not str:
        raise _NotPlain
    return v or None


def normalize_fast(rec: RawRecord) -> tuple[Event, list[Issue]]:
    """normalize(rec), by the short way when the record is plain (engine/loop.py's normalizer
    in the fast engine)."""
    return cloudtrail_event(rec) or normalize(rec)


def cloudtrail_event(rec: RawRecord, force: bool = False) -> tuple[Event, list[Issue]] | None:
    """normalize(rec) for a plain CloudTrail record, else None (`force`: even when another
    CloudTrail normalizer is registered; the Spark executors decide on the driver)."""
    if not (enabled or force) or rec.source != "cloudtrail":
        return None
    d = rec.data
    if d.__class__ is dict and _SAFE.issuperset(d):
        ui = d.get("userIdentity")
        if ui is None or (ui.__class__ is dict and _SAFE.issuperset(ui)):
            return _quick(rec, d, ui)
    return _careful(rec, d)


_STR_OR_NONE = frozenset({str, type(None)})


def _quick(rec: RawRecord, d: dict[str, Any], ui: dict[str, Any] | None
           ) -> tuple[Event, list[Issue]] | None:
    """_careful's result for a record whose keys and userIdentity's keys are all known to be no
    case variant of a name read here (_SAFE): an absent field then reads None like a null one,
    so each field is one dict lookup, and one C call checks that all are strings or null. Why:
    this runs once per record that may match, and _careful's per-field calls were a sixth of a
    worker's time when a rule fires on most records. Anything else (a value of another type, a
    time it does not read at once) is left to _careful, whose answer stands."""
    get = d.get
    when = get("eventTime")
    if when.__class__ is not str:
        return _careful(rec, d)
    parsed = _TIMES.get(when) or _time(when)
    if parsed is None:
        return None  # (_careful: not ISO-8601 or not a time; the normalizer reports it)
    if ui is None:
        arn = pid = uname = uacct = invoked = utype = None
    else:
        u = ui.get
        arn, pid, uname, uacct = u("arn"), u("principalId"), u("userName"), u("accountId")
        invoked, utype = u("invokedBy"), u("type")
    operation, service, src_ip = get("eventName"), get("eventSource"), get("sourceIPAddress")
    region, recipient, error_code = get("awsRegion"), get("recipientAccountId"), get("errorCode")
    error_message, user_agent, event_id = get("errorMessage"), get("userAgent"), get("eventID")
    if not _STR_OR_NONE.issuperset(map(type, (
        arn, pid, uname, uacct, invoked, utype, operation, service, src_ip, region, recipient,
        error_code, error_message, user_agent, event_id,
    ))):
        return _careful(rec, d)
    if not operation:
        return None  # (no event name: the normalizer reports the record)
    if error_code:
        status = "failure"
    else:
        error_code = None
        resp = get("responseElements")
        if resp is None:
            status = "success"
        elif resp.__class__ is dict:
            try:
                failed = _login_failed(resp)
            except _NotPlain:
                return None
            status, error_code = ("failure", "Failure") if failed else ("success", None)
        else:
            return _careful(rec, d)
    return _event(
        rec, parsed, operation, service or None, arn or pid or uname or uacct or invoked or None,
        utype or None, src_ip or None, region or None, recipient or uacct or None, status,
        error_code, error_message or None, user_agent or None, event_id or None,
    )


def _login_failed(resp: dict[str, Any]) -> bool:
    """Whether responseElements says a console login failed (raises _NotPlain)."""
    outcome = _text(resp, "ConsoleLogin", [None])
    return outcome is not None and outcome.casefold() == "failure"


def _event(rec: RawRecord, parsed: tuple[str, int], operation: str, service: str | None,
           principal: str | None, principal_type: str | None, src_ip: str | None,
           region: str | None, account: str | None, status: str, error_code: str | None,
           error_message: str | None, user_agent: str | None, event_id: str | None
           ) -> tuple[Event, list[Issue]]:
    """The Event of a plain record from its fields as read (empty strings already None)."""
    ev = Event(source=rec.source, provider="aws", raw=rec.data, location=rec.location, meta=rec.meta)
    ev.time, ev.time_ns = parsed
    ev.operation = operation
    ev.service = service
    ev.principal = principal
    ev.principal_type = principal_type
    ev.src_ip = src_ip
    ev.region = region
    ev.account = account
    ev.status = status  # type: ignore[assignment]
    ev.error_code = error_code
    ev.error_message = error_message
    ev.user_agent = user_agent
    ev.event_id = event_id
    return ev, []


def _careful(rec: RawRecord, d: Any) -> tuple[Event, list[Issue]] | None:
    """cloudtrail_event, field by field: what the normalizer's two passes give on a plain
    record, None otherwise."""
    try:
        top: list[bool | None] = [None]
        when = d.get("eventTime")
        if not isinstance(when, str):
            return None
        parsed = _time(when)
        if parsed is None:
            return None
        ui = d.get("userIdentity", _MISSING)
        if ui is _MISSING:
            if not _absent_plain(d, "userIdentity", top):
                return None
            ui = None
        if ui is None:
            arn = pid = uname = uacct = invoked = utype = None
        elif ui.__class__ is dict:
            inner: list[bool | None] = [None]
            arn = _text(ui, "arn", inner)
            pid = _text(ui, "principalId", inner)
            uname = _text(ui, "userName", inner)
            uacct = _text(ui, "accountId", inner)
            invoked = _text(ui, "invokedBy", inner)
            utype = _text(ui, "type", inner)
        else:
            return None
        operation = _text(d, "eventName", top)
        if operation is None:
            return None
        service = _text(d, "eventSource", top)
        src_ip = _text(d, "sourceIPAddress", top)
        region = _text(d, "awsRegion", top)
        recipient = _text(d, "recipientAccountId", top)
        error_code = _text(d, "errorCode", top)
        error_message = _text(d, "errorMessage", top)
        user_agent = _text(d, "userAgent", top)
        event_id = _text(d, "eventID", top)
        if error_code is not None:
            status = "failure"
        else:
            resp = d.get("responseElements", _MISSING)
            failed = False
            if resp is _MISSING:
                if not _absent_plain(d, "responseElements", top):
                    return None
            elif resp is None:
                pass
            elif resp.__class__ is dict:
                failed = _login_failed(resp)
            else:
                return None
            if failed:
                status, error_code = "failure", "Failure"
            else:
                status = "success"
    except _NotPlain:
        return None
    return _event(
        rec, parsed, operation, service, arn or pid or uname or uacct or invoked, utype, src_ip,
        region, recipient or uacct, status, error_code, error_message, user_agent, event_id,
    )
