"""Google Cloud audit LogEntry -> Event (log-formats §4).

Field choices:
* principal: ``authenticationInfo.principalEmail``, else ``principalSubject``; type
  ``ServiceAccount`` when it ends with ``gserviceaccount.com`` (also for a ``serviceAccount:``
  subject and GKE ``system:serviceaccount:`` names), else ``User``.
* src_ip: ``requestMetadata.callerIp`` as logged (may be ``private`` / ``gce-internal-ip``);
  Panther's ``callerIP`` spelling is found by the case-insensitive fallback.
* region: ``resource.labels.location`` / ``zone`` / ``region``, else
  ``protoPayload.resourceLocation.currentLocations[0]``.
* account: ``resource.labels.project_id``, else ``projects/<id>/`` at the start of ``logName``.
* status: ``protoPayload.status`` missing, ``{}`` or code 0 -> success; any other code ->
  failure with error_code = the google.rpc.Code name (numbers outside the table are kept as
  text) and error_message = ``status.message``. An entry with no ``protoPayload`` at all
  (non-audit log) has status None.
"""

from __future__ import annotations

import re
from typing import Any

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import Fields, first, new_event, scalar_text

# google.rpc.Code (googleapis/google/rpc/code.proto)
RPC_CODES: dict[int, str] = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}
_CODE_BY_NAME = {name: number for number, name in RPC_CODES.items()}

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1  # google.rpc.Status.code is an int32

_PROJECT = re.compile(r"^projects/([^/]+)/")

_PP = "protoPayload"


def _service_account(principal: str) -> bool:
    folded = principal.casefold()
    return folded.endswith("gserviceaccount.com") or folded.startswith(
        ("serviceaccount:", "system:serviceaccount:")
    )


def _code(f: Fields, path: str, value: Any) -> int | None:
    """A status code as an int; None (reported) when it is not one."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int) and _INT32_MIN <= value <= _INT32_MAX:
        return value
    elif isinstance(value, float) and value.is_integer() and _INT32_MIN <= value <= _INT32_MAX:
        return int(value)
    elif isinstance(value, str):
        text = value.strip()
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and len(digits) <= 10:
            number = int(text)
            if _INT32_MIN <= number <= _INT32_MAX:
                return number
        if text.upper() in _CODE_BY_NAME:
            return _CODE_BY_NAME[text.upper()]
    f.wrong_type(path, value, "int32 number (google.rpc.Code)", "the status is left empty")
    return None


def _status(f: Fields, ev: Event) -> None:
    if f.raw(_PP) is None:
        return
    hit = f.raw(f"{_PP}.status")
    if hit is None:
        ev.status = "success"
        return
    path, status = hit
    if not isinstance(status, dict):
        f.wrong_type(path, status, "object (google.rpc.Status)", "the status is left empty")
        return
    code_hit = f.raw("code", root=status, prefix=path)
    code = 0 if code_hit is None else _code(f, *code_hit)
    if code is None:
        return
    if code == 0:
        ev.status = "success"
        return
    ev.status = "failure"
    ev.error_code = RPC_CODES.get(code, str(code))
    ev.error_message = first(f.string("message", root=status, prefix=path))


def _region(f: Fields) -> str | None:
    region = first(
        f.string("resource.labels.location", "resource.labels.zone", "resource.labels.region")
    )
    if region is not None:
        return region
    hit = f.raw(f"{_PP}.resourceLocation.currentLocations")
    if hit is None:
        return None
    path, value = hit
    locations = f.as_array(value, path)
    if not locations or locations[0] is None:
        return None
    text = scalar_text(locations[0])
    if text is None:
        f.wrong_type(f"{path}[0]", locations[0], "string")
    return first(text)


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec)
    ev = new_event(rec)
    ev.time, ev.time_ns = f.time("timestamp")
    f.require("time", ev.time, "timestamp")
    ev.operation = first(f.string(f"{_PP}.methodName"))
    if f.raw(_PP) is not None:  # an entry without an AuditLog payload names no method anyway
        f.require("event name", ev.operation, f"{_PP}.methodName")
    ev.service = first(f.string(f"{_PP}.serviceName"))
    ev.principal = first(
        f.string(f"{_PP}.authenticationInfo.principalEmail"),
        f.string(f"{_PP}.authenticationInfo.principalSubject"),
    )
    if ev.principal is not None:
        ev.principal_type = "ServiceAccount" if _service_account(ev.principal) else "User"
    ev.src_ip = first(f.string(f"{_PP}.requestMetadata.callerIp"))
    ev.region = _region(f)
    ev.account = first(f.string("resource.labels.project_id"))
    if ev.account is None:
        log_name = f.string("logName")
        match = _PROJECT.match(log_name) if log_name else None
        if match:
            ev.account = match.group(1)
    _status(f, ev)
    ev.user_agent = first(f.string(f"{_PP}.requestMetadata.callerSuppliedUserAgent"))
    ev.event_id = first(f.string("insertId"))
    return ev, f.issues
