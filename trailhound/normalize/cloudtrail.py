"""AWS CloudTrail record -> Event (log-formats §1, §5).

Field choices:
* principal: ``userIdentity.arn``, else ``principalId``, ``userName``, ``accountId``,
  ``invokedBy`` (``userName`` is an addition to the brief: a failed ``ConsoleLogin`` often has
  only ``type`` and ``userName``); principal_type: ``userIdentity.type`` (None when missing,
  e.g. ``{"accountId", "invokedBy"}`` service events).
* account: ``recipientAccountId``, else ``userIdentity.accountId``.
* status: failure when ``errorCode`` is a non-empty value or ``responseElements.ConsoleLogin``
  is ``"Failure"`` (pitfall 23), else success. A failed ConsoleLogin without ``errorCode`` gets
  error_code ``"Failure"`` (the logged ConsoleLogin outcome) and the logged ``errorMessage``.
* src_ip, user_agent: as logged (``AWS Internal``, DNS names and 1 KB-truncated agents kept).
* time: ``eventTime``; only when it is absent, Logstash's ``@timestamp`` (the OTRF export moved
  eventTime there).
* required: a time and ``eventName``; a record without one is kept and reported
  (``missing_field``).
Records missing ``userIdentity`` (Insights, Permiso's trimmed records) get None for the identity
fields and no issue. ``responseElements`` given as JSON text (Athena) is decoded for the
ConsoleLogin check only.
"""

from __future__ import annotations

import json

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import Fields, first, new_event


def _console_login_failed(f: Fields) -> bool:
    hit = f.raw("responseElements")
    if hit is None:
        return False
    path, value = hit
    if isinstance(value, str):  # Athena / Lake exports keep responseElements as JSON text
        try:
            value = json.loads(value)
        except Exception:  # noqa: BLE001 - not JSON: no ConsoleLogin outcome to read
            return False
    if not isinstance(value, dict):
        return False
    outcome = f.string("ConsoleLogin", root=value, prefix=path)
    return outcome is not None and outcome.casefold() == "failure"


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec)
    ev = new_event(rec)
    ev.time, ev.time_ns = f.time("eventTime")
    if ev.time is None and f.raw("eventTime") is None:
        ev.time, ev.time_ns = f.time("@timestamp")  # Logstash moved eventTime here (OTRF)
    f.require("time", ev.time, "eventTime", "@timestamp")
    ev.operation = f.string("eventName")
    f.require("event name", ev.operation, "eventName")
    ev.service = f.string("eventSource")
    ev.principal = first(
        f.string("userIdentity.arn"),
        f.string("userIdentity.principalId"),
        f.string("userIdentity.userName"),
        f.string("userIdentity.accountId"),
        f.string("userIdentity.invokedBy"),
    )
    ev.principal_type = first(f.string("userIdentity.type"))
    ev.src_ip = f.string("sourceIPAddress")
    ev.region = f.string("awsRegion")
    ev.account = first(f.string("recipientAccountId"), f.string("userIdentity.accountId"))
    error_code = first(f.string("errorCode"))
    error_message = first(f.string("errorMessage"))
    if error_code is not None:
        ev.status = "failure"
    elif _console_login_failed(f):
        ev.status = "failure"
        error_code = "Failure"
    else:
        ev.status = "success"
    ev.error_code = error_code
    ev.error_message = error_message
    ev.user_agent = f.string("userAgent")
    ev.event_id = f.string("eventID")
    return ev, f.issues
