"""Azure Activity Log record -> Event, for all three shapes (log-formats §2) plus the Azure SDK
snake_case ``EventData`` shape (plaso): diagnostic export (``time``, ``operationName`` string,
``resultType``, ``identity.claims``), REST/CLI (``eventTimestamp``, ``operationName.value``,
``status.value``, ``caller``, ``claims``, ``httpRequest``), Sentinel ``AzureActivity``
(``TimeGenerated``, ``OperationNameValue``, ``ActivityStatusValue``, ``Caller``, ``Claims``
JSON text).

Field choices:
* operation: returned as logged (case kept; rules compare case-insensitively).
* service: ``resourceProviderName.value`` / ``ResourceProviderValue``, else the part of the
  operation before the first ``/`` (``MICROSOFT.AUTHORIZATION`` stays upper-case).
* principal: ``caller``, else claims (UPN claim -> ``name`` -> ``appid`` -> object id), else
  (Storage resource logs, StorageBlobLogs: no claims) the OAuth requester (``upn`` -> object id
  -> app id), else ``identity.tokenHash`` (a SAS or account key: the credential is all the log
  names; STORAGE_CALLER).
  principal_type: ``authorization.evidence.principalType`` (diagnostic shape: under
  ``identity``); else the ``idtyp`` claim (``app`` -> ServicePrincipal, ``user`` -> User).
* region: None (``location`` is where Azure processed the event, not the resource region).
* account: the subscription id (``subscriptionId`` or the ``/subscriptions/<id>`` segment of the
  resource id, matched case-insensitively, returned as logged).
* status: resultType / status / ActivityStatusValue: Success(ed) -> success, Fail(ure|ed) ->
  failure, Start(ed) / Accept(ed) and any other non-empty value (``Active``, ``Resolved``...) ->
  other. Records with no outcome but a numeric HTTP ``statusCode`` (storage resource logs):
  < 400 success, else failure.
* error_code / error_message: only on failure: resultSignature / subStatus.value /
  properties.statusCode; resultDescription / properties.statusMessage (JSON text kept as text).
* event_id: eventDataId, else ``syn:`` + the first 16 hex digits of the SHA-256 of
  [UTC time (or the raw time text), correlationId, lower-cased operation, lower-cased outcome]
  (pitfall 13); None when neither a time nor a correlationId is present.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from trailhound.azure_fields import STORAGE_CALLER
from trailhound.model import Event, Issue, RawRecord, Status
from trailhound.normalize._fields import Fields, address, first, new_event, scalar_text

_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?#\s]+)", re.IGNORECASE)

_UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
_OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier"

_STATUS = {
    "success": "success",
    "succeeded": "success",
    "failure": "failure",
    "failed": "failure",
    "start": "other",
    "started": "other",
    "accept": "other",
    "accepted": "other",
}


def azure_status(outcome: str | None) -> Status | None:
    """Map an Azure outcome word (any case) to success | failure | other; None when empty."""
    if outcome is None or not outcome.strip():
        return None
    return _STATUS.get(outcome.strip().casefold(), "other")  # type: ignore[return-value]


def _principal(f: Fields) -> tuple[str | None, dict[Any, Any] | None]:
    caller = first(f.string("caller"))
    claims_hit = f.obj("claims", "identity.claims", "Claims_d")
    claims = claims_hit[1] if claims_hit else None
    if caller is not None:
        return caller, claims
    if claims is None:
        return first(f.string(*STORAGE_CALLER)), None
    prefix = claims_hit[0] if claims_hit else "claims"
    for key in (_UPN, "name", "appid", _OBJECT_ID):
        value = first(f.string((key,), root=claims, prefix=prefix))
        if value is not None:
            return value, claims
    return None, claims


def _principal_type(f: Fields, claims: dict[Any, Any] | None) -> str | None:
    paths = [
        "identity.authorization.evidence.principalType",
        "authorization.evidence.principalType",
        "Authorization_d.evidence.principalType",
    ]
    authz = f.raw("identity.authorization")
    if authz is not None and isinstance(authz[1], list):
        # Storage resource logs: a list of RBAC decisions with no evidence, not a bad record
        paths.pop(0)
    kind = first(f.string(*paths))
    if kind is not None or claims is None:
        return kind
    idtyp = f.string("idtyp", root=claims, prefix="claims")
    if idtyp is not None:
        return {"app": "ServicePrincipal", "user": "User"}.get(idtyp.casefold())
    return None


def _account(f: Fields) -> str | None:
    sub = first(f.string("subscriptionId", "subscription_id"))
    if sub is not None:
        return sub
    for path in ("resourceId", "resource_id", "_ResourceId", "id"):
        text = f.string(path)
        if text:
            match = _SUBSCRIPTION.search(text)
            if match:
                return match.group(1)
    return None


def _http_status(f: Fields) -> int | None:
    hit = f.raw("statusCode")
    if hit is None or isinstance(hit[1], bool):
        return None
    text = scalar_text(hit[1])
    if text is not None and text.isascii() and text.isdigit() and len(text) <= 3:
        return int(text)
    return None


def synthetic_id(
    time: str | None, correlation: str | None, op: str | None, outcome: str | None
) -> str:
    payload = json.dumps(
        [time, correlation, op.casefold() if op else op, outcome.casefold() if outcome else outcome]
    )
    return "syn:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec, decode_json_text=True)
    ev = new_event(rec)
    ev.time, ev.time_ns = f.time("time", "eventTimestamp", "event_timestamp", "TimeGenerated")
    f.require("time", ev.time, "time", "eventTimestamp", "event_timestamp", "TimeGenerated")
    ev.operation = first(f.named_value("operationName", "operation_name", "OperationNameValue"))
    f.require("event name", ev.operation, "operationName", "operation_name", "OperationNameValue")
    ev.resource = first(f.string("resourceId", "resource_id", "_ResourceId"))
    provider = first(
        f.named_value("resourceProviderName", "resource_provider_name", "ResourceProviderValue")
    )
    if provider is None and ev.operation and "/" in ev.operation:
        provider = first(ev.operation.split("/", 1)[0])
    ev.service = provider
    ev.principal, claims = _principal(f)
    ev.principal_type = _principal_type(f, claims)
    ev.src_ip = address(
        first(
            f.string(
                "callerIpAddress",
                "httpRequest.clientIpAddress",
                "http_request.client_ip_address",
                "HTTPRequest.clientIpAddress",
            )
        )
    )
    ev.region = None
    ev.account = _account(f)

    outcome = first(f.named_value("resultType", "status", "ActivityStatusValue", "ActivityStatus"))
    ev.status = azure_status(outcome)
    if ev.status is None:
        code = _http_status(f)
        if code is not None:
            ev.status = "success" if code < 400 else "failure"
            if ev.status == "failure":
                ev.error_code = first(f.string("statusText"), str(code))
    if ev.status == "failure":
        ev.error_code = first(
            f.string("resultSignature"),
            f.named_value("subStatus", "sub_status", "ActivitySubstatusValue"),
            f.string("properties.statusCode", "Properties_d.statusCode"),
            ev.error_code,
        )
        ev.error_message = first(
            f.string("resultDescription"),
            f.string("properties.statusMessage", "Properties_d.statusMessage"),
        )
    ev.user_agent = first(f.string("userAgent", "properties.userAgentHeader"))

    ev.correlation_id = first(f.string("correlationId", "correlation_id"))
    ev.event_id = first(f.string("eventDataId", "event_data_id"))
    if ev.event_id is None:
        time_key = ev.time or first(
            f.string("time", "eventTimestamp", "event_timestamp", "TimeGenerated")
        )
        correlation = first(f.string("correlationId", "correlation_id"))
        if time_key is not None or correlation is not None:
            ev.event_id = synthetic_id(time_key, correlation, ev.operation, outcome)
    return ev, f.issues
