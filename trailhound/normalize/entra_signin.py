"""Microsoft Entra ID sign-in record (SignInLogs, NonInteractiveUserSignInLogs,
ServicePrincipalSignInLogs, ManagedIdentitySignInLogs, ADFSSignInLogs: AD FS sign-ins that
Entra Connect Health reports with the same signIn fields) -> Event.

Shapes: Graph ``signIn`` (top level), diagnostic export (Graph object under ``properties``),
Sentinel ``SigninLogs`` (PascalCase, ``Status`` etc. as JSON text).

Field choices:
* time: ``properties.createdDateTime`` / ``createdDateTime`` / Sentinel ``CreatedDateTime`` /
  ``time`` / ``TimeGenerated`` (Sentinel's ingestion time: last).
* operation: the logged ``operationName`` (``Sign-in activity``), else ``Sign-in activity``.
* service: ``resourceDisplayName`` (the resource signed in to, e.g. ``Microsoft Graph``).
* principal: ``userPrincipalName`` (type ``User``), else ``servicePrincipalName`` /
  ``servicePrincipalId`` / ``appId`` (type ``ServicePrincipal``).
* src_ip: ``ipAddress`` (properties or top level), else ``callerIpAddress``.
* status: ``status.errorCode`` 0 -> success, other -> failure (error_code = the code as text,
  error_message = ``status.failureReason``); without it, ``resultType`` ``0`` (or ``success``)
  -> success, other -> failure (message ``resultDescription``).
* user_agent: ``userAgent``; event_id: ``id``; account and correlation_id
  (``correlationId``): as for audit records.
* required: the time (a record without one is kept and reported ``missing_field``); the
  operation is always "Sign-in activity", so its absence is not reported.
"""

from __future__ import annotations

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import Fields, first, new_event
from trailhound.normalize.entra_audit import correlation, tenant

SIGN_IN_ACTIVITY = "Sign-in activity"


def _is_zero(code: str) -> bool:
    text = code.strip()
    digits = text.lstrip("+-")
    return text.casefold() == "success" or (digits != "" and set(digits) <= {"0"})


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec, decode_json_text=True)
    ev = new_event(rec)
    # Sentinel's CreatedDateTime before its TimeGenerated: the sign-in, not the ingestion.
    ev.time, ev.time_ns = f.time(
        "properties.createdDateTime", "createdDateTime", "CreatedDateTime", "time", "TimeGenerated"
    )
    f.require("time", ev.time, "properties.createdDateTime", "createdDateTime", "time", "TimeGenerated")
    ev.operation = first(f.string("operationName"), SIGN_IN_ACTIVITY)
    ev.service = first(f.string("properties.resourceDisplayName", "resourceDisplayName"))
    upn = first(f.string("properties.userPrincipalName", "userPrincipalName"))
    if upn is not None:
        ev.principal, ev.principal_type = upn, "User"
    else:
        sp = first(
            f.string("properties.servicePrincipalName", "servicePrincipalName"),
            f.string("properties.servicePrincipalId", "servicePrincipalId"),
            f.string("properties.appId", "appId"),
        )
        if sp is not None:
            ev.principal, ev.principal_type = sp, "ServicePrincipal"
    ev.src_ip = first(f.string("properties.ipAddress", "ipAddress"), f.string("callerIpAddress"))
    ev.account = tenant(f)

    code = first(f.string("properties.status.errorCode", "status.errorCode"))
    if code is not None:
        if _is_zero(code):
            ev.status = "success"
        else:
            ev.status = "failure"
            ev.error_code = code
            ev.error_message = first(
                f.string("properties.status.failureReason", "status.failureReason"),
                f.string("resultDescription"),
            )
    else:
        result = first(f.string("resultType"))
        if result is not None:
            if _is_zero(result):
                ev.status = "success"
            else:
                ev.status = "failure"
                ev.error_code = result
                ev.error_message = first(
                    f.string("resultDescription"),
                    f.string("properties.status.failureReason", "status.failureReason"),
                )
    ev.user_agent = first(f.string("properties.userAgent", "userAgent"))
    ev.event_id = first(f.string("properties.id", "id"))
    ev.correlation_id = correlation(f)
    return ev, f.issues
