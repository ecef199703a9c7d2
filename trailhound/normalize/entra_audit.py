"""Microsoft Entra ID (Azure AD) audit record -> Event (log-formats §3).

Shapes: Microsoft Graph ``directoryAudit`` (fields at the top level), diagnostic-settings export
(``time``, ``operationName``, ``tenantId``, ``callerIpAddress`` at the top, the Graph object under
``properties``), Sentinel ``AuditLogs`` (PascalCase columns; ``InitiatedBy``,
``AdditionalDetails``, ``TargetResources`` as JSON text, decoded here).

Field choices:
* time: ``properties.activityDateTime`` first (7-digit precision) then ``activityDateTime``,
  Sentinel's ``ActivityDateTime``, ``time``, ``TimeGenerated`` (Sentinel's ingestion time: last).
* operation: ``activityDisplayName`` (properties, top level, Sentinel), else ``operationName``;
  as logged (trailing spaces, en dashes and periods kept).
* principal: user ``userPrincipalName`` (else user ``id``) with type ``User``; else app
  ``displayName`` / ``servicePrincipalName`` / ``appId`` / ``servicePrincipalId`` with type
  ``ServicePrincipal``.
* account: ``tenantId`` / ``AADTenantId`` (Sentinel ``TenantId`` is the workspace, used last),
  else the ``/tenants/<id>`` segment of ``resourceId``.
* status: result ``success`` (any case) -> success; any other non-empty result -> failure with
  error_code = result and error_message = resultReason.
* user_agent: the ``User-Agent`` entry of additionalDetails, else a ``UserAgent`` column.
* correlation_id: ``correlationId`` (the Graph object's, under ``properties`` in the export,
  else the export's top-level copy; Sentinel's ``CorrelationId`` by the case-insensitive
  fallback): one id shared by the records of one operation (OCSF ``metadata.correlation_uid``).
"""

from __future__ import annotations

import re
from typing import Any

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import Fields, first, keyed_value, new_event

_TENANT = re.compile(r"/tenants/([^/?#\s]+)", re.IGNORECASE)


def tenant(f: Fields) -> str | None:
    """Tenant id of an Entra record (shared with the sign-in normalizer)."""
    value = first(f.string("tenantId", "AADTenantId"))
    if value is not None:
        return value
    for path in ("resourceId", "_ResourceId"):
        text = f.string(path)
        if text:
            match = _TENANT.search(text)
            if match:
                return match.group(1)
    return None


def correlation(f: Fields) -> str | None:
    """correlationId of an Entra record (shared with the sign-in normalizer): the Graph
    object's first, then the diagnostic export's top-level copy or Sentinel's column."""
    return first(f.string("properties.correlationId", "correlationId"))


def _initiator(f: Fields) -> tuple[str | None, str | None, str | None]:
    """(principal, principal_type, ip address) from initiatedBy."""
    hit = f.obj("properties.initiatedBy", "initiatedBy")
    if hit is None:
        return None, None, None
    path, by = hit
    user_hit = f.obj("user", root=by, prefix=path)
    if user_hit is not None:
        upath, user = user_hit
        name = first(
            f.string("userPrincipalName", root=user, prefix=upath),
            f.string("id", root=user, prefix=upath),
        )
        ip = first(f.string("ipAddress", root=user, prefix=upath))
        if name is not None:
            return name, "User", ip
    else:
        ip = None
    app_hit = f.obj("app", root=by, prefix=path)
    if app_hit is not None:
        apath, app = app_hit
        name = first(
            f.string("displayName", root=app, prefix=apath),
            f.string("servicePrincipalName", root=app, prefix=apath),
            f.string("appId", root=app, prefix=apath),
            f.string("servicePrincipalId", root=app, prefix=apath),
        )
        if name is not None:
            return name, "ServicePrincipal", ip
    return None, None, ip


def _user_agent(f: Fields) -> str | None:
    hit = f.raw("properties.additionalDetails", "additionalDetails")
    if hit is not None:
        path, value = hit
        items: Any = f.as_array(value, path)
        agent = keyed_value(f, items, "User-Agent", path)
        if agent:
            return agent
    return first(f.string("UserAgent"))


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec, decode_json_text=True)
    ev = new_event(rec)
    # Sentinel's ActivityDateTime before its TimeGenerated: the activity, not the ingestion.
    ev.time, ev.time_ns = f.time(
        "properties.activityDateTime",
        "activityDateTime",
        "ActivityDateTime",
        "time",
        "TimeGenerated",
    )
    ev.operation = first(
        f.string(
            "properties.activityDisplayName",
            "activityDisplayName",
            "ActivityDisplayName",
            "operationName",
            "OperationName",
        )
    )
    f.require(
        "time", ev.time, "properties.activityDateTime", "activityDateTime", "time", "TimeGenerated"
    )
    f.require(
        "event name", ev.operation, "properties.activityDisplayName", "activityDisplayName",
        "operationName",
    )
    ev.service = first(f.string("properties.loggedByService", "loggedByService", "LoggedByService"))
    ev.principal, ev.principal_type, user_ip = _initiator(f)
    ev.src_ip = first(user_ip, f.string("callerIpAddress"))
    ev.account = tenant(f)
    result = first(f.string("properties.result", "result", "Result"))
    if result is not None:
        if result.strip().casefold() == "success":
            ev.status = "success"
        else:
            ev.status = "failure"
            ev.error_code = result
            ev.error_message = first(
                f.string("properties.resultReason", "resultReason", "ResultReason")
            )
    ev.user_agent = _user_agent(f)
    ev.event_id = first(f.string("properties.id", "id", "Id"))
    ev.correlation_id = correlation(f)
    return ev, f.issues
