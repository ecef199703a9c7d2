"""Microsoft 365 Unified Audit Log record -> Event.

Shapes: the Office 365 Management Activity API record (``CreationTime``, ``Operation``,
``Workload``, ``UserId``, ``ClientIP``... at the top level; ``ExtendedProperties``,
``Parameters``, ``OperationProperties`` as ``[{"Name": ..., "Value": ...}]`` lists), the same
record as Panther stores it (``Microsoft365.Audit.*``; the Exchange schema lower-cases every
top-level key: ``creationtime``, ``operation``, ``clientip``; found by the case-insensitive
fallback), and a Sentinel ``OfficeActivity`` row (``TimeGenerated``, ``OfficeWorkload``,
``OfficeId``, ``OfficeObjectId``, ``Client_IPAddress``; list columns as JSON text, decoded here).

Provider: ``m365``, the Sigma product of its log source (m365/audit), as every source's provider
is (new_event): what the README, the hunt table and `--allow`'s ``provider`` field promise, and
what Panther and SigmaHQ call these records. The tenant still joins Entra and M365 records: a
UAL record's ``OrganizationId`` is the Entra tenant id, which both put in ``account``.

Field choices:
* time: ``CreationTime`` (UTC; usually written without a zone, read as UTC), else Sentinel's
  ``TimeGenerated``.
* operation: ``Operation`` as logged (Exchange cmdlet names, ``Update user.`` with its period).
* service: ``Workload`` / Sentinel ``OfficeWorkload``.
* principal: ``UserId`` (a UPN, or a system account such as ``NT AUTHORITY\\SYSTEM (...)``).
* principal_type: ``UserType``, a number turned into its UserType member name (0 Regular,
  1 Reserved, 2 Admin, 3 DcAdmin, 4 System, 5 Application, 6 ServicePrincipal, 7 CustomPolicy,
  8 SystemPolicy: the Management Activity API schema; 9 PartnerTechnician, 10 Guest: the same
  enum as Microsoft Graph ``auditLogUserType`` continues it); numbers outside the table are kept
  as text; a name (Sentinel writes ``Regular``) is kept as logged.
* src_ip: ``ClientIP``, else ``ClientIPAddress`` (Exchange mailbox records), Sentinel
  ``Client_IPAddress``, ``ActorIpAddress`` (Entra records); the address only: the UAL often
  writes the client's port after it (``1.2.3.4:5678``, ``[2001:db8::1]:443``), which is cut off
  here (the raw record keeps it) so that an allowlist ``cidr``, the principal ranking's address
  list, first-seen and OCSF's ``src_endpoint.ip`` see one address per client, not one per
  connection. A bare IPv6 address (``2001:db8::7``: more than one colon, no brackets) is kept.
* account: ``OrganizationId`` (the tenant), else ``TenantId`` (in Sentinel that is the
  workspace, so it comes last).
* status: ``ResultStatus`` ``Succeeded`` / ``Success`` / ``True`` (any case) -> success;
  ``Failed`` / ``Failure`` / ``False`` -> failure with error_code = the value as logged;
  ``PartiallySucceeded`` and any other value -> other. A sign-in with a ``LogonError`` (or the
  ``UserLoginFailed`` operation) is a failure whatever ``ResultStatus`` says: for STS logon
  records Microsoft documents ``ResultStatus`` as the HTTP outcome, not the logon's; error_code
  is then the ``LogonError``.
* user_agent: ``UserAgent``, else the ``UserAgent`` entry of ``ExtendedProperties``, else
  ``ClientInfoString`` (Exchange mailbox records keep the client there:
  ``Client=OWA;Mozilla/5.0 ...``).
* event_id: ``Id`` / Sentinel ``OfficeId``. correlation_id: ``CorrelationId`` (SharePoint) or
  ``AppAccessContext.CorrelationId``. region: none (the UAL has no cloud region).
"""

from __future__ import annotations

from trailhound.model import Event, Issue, RawRecord
from trailhound.normalize._fields import Fields, address, first, new_event

# Management Activity API schema, "Enum: User Type" (0-8); 9-10 as Graph's auditLogUserType.
USER_TYPES: dict[int, str] = {
    0: "Regular",
    1: "Reserved",
    2: "Admin",
    3: "DcAdmin",
    4: "System",
    5: "Application",
    6: "ServicePrincipal",
    7: "CustomPolicy",
    8: "SystemPolicy",
    9: "PartnerTechnician",
    10: "Guest",
}

_SUCCESS = frozenset({"succeeded", "success", "true"})
_FAILURE = frozenset({"failed", "failure", "false"})


def _user_type(f: Fields) -> str | None:
    hit = f.raw("UserType")
    if hit is None:
        return None
    path, value = hit
    number: int | None = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) <= 18:
            number = int(text)
        else:
            return value  # a member name, as logged
    if number is None or abs(number) >= 10**18:
        f.wrong_type(path, value, "UserType number or name", "the principal type is left empty")
        return None
    return USER_TYPES.get(number, str(number))


def _extended(f: Fields, name: str) -> str | None:
    """Value of the ``{"Name": name, "Value": ...}`` entry of ExtendedProperties (any case)."""
    hit = f.raw("ExtendedProperties")
    if hit is None:
        return None
    path, value = hit
    items = f.as_array(value, path)
    if not items:
        return None
    folded = name.casefold()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        where = f"{path}[{index}]"
        key = f.string("Name", root=item, prefix=where)
        if key is not None and key.casefold() == folded:
            return f.string("Value", root=item, prefix=where)
    return None


def _status(f: Fields, ev: Event) -> None:
    logon_error = first(f.string("LogonError"))
    if logon_error is not None:
        ev.status = "failure"
        ev.error_code = logon_error
        return
    result = first(f.string("ResultStatus"))
    if ev.operation is not None and ev.operation.casefold() == "userloginfailed":
        ev.status = "failure"
        return
    if result is None:
        return
    folded = result.strip().casefold()
    if folded in _SUCCESS:
        ev.status = "success"
    elif folded in _FAILURE:
        ev.status = "failure"
        ev.error_code = result
    else:
        ev.status = "other"


def normalize(rec: RawRecord) -> tuple[Event, list[Issue]]:
    f = Fields(rec, decode_json_text=True)
    ev = new_event(rec)
    ev.time, ev.time_ns = f.time("CreationTime", "TimeGenerated")
    f.require("time", ev.time, "CreationTime", "TimeGenerated")
    ev.operation = first(f.string("Operation"))
    f.require("event name", ev.operation, "Operation")
    ev.service = first(f.string("Workload", "OfficeWorkload"))
    ev.principal = first(f.string("UserId"))
    ev.principal_type = _user_type(f)
    ev.src_ip = address(
        first(f.string("ClientIP", "ClientIPAddress", "Client_IPAddress", "ActorIpAddress"))
    )
    ev.account = first(f.string("OrganizationId", "TenantId"))
    _status(f, ev)
    ev.user_agent = first(
        f.string("UserAgent"), _extended(f, "UserAgent"), f.string("ClientInfoString")
    )
    ev.event_id = first(f.string("Id", "OfficeId"))
    ev.correlation_id = first(f.string("CorrelationId", "AppAccessContext.CorrelationId"))
    return ev, f.issues
