"""Where each normalized field (`trailhound.<attr>`, engine/fields.py section 4) lies in the raw
record of each log source, for exports that can only read raw records.

The normalizers (trailhound/normalize/<source>.py) decide where a principal, an account or a source
address is read, with fallbacks (`first(a, b, ...)`: the first value that is neither missing nor
empty). A SIEM query reads raw fields, so an export spells the same fallbacks out: `paths(source,
attr)` lists them in the normalizer's order, and `expand` rewrites a test on `trailhound.<attr>`
into tests on them ("a matches, or a is null and b matches, ..."). Allowlists (tuning/allowlist.py)
are Sigma filters over these names, so this is how they reach every target.

What is left out, because a query cannot say it with raw field tests: Azure's principal taken from
claims when `caller` is absent (a claim key spelled as a URL, picked by a priority list), Azure's
subscription taken from the `/subscriptions/<id>` segment of a resource id, GCP's project taken
from `logName`, Entra's principal chosen by the initiator's kind, Azure's synthetic event ids,
Microsoft 365's user agent inside `ExtendedProperties`. Those paths are the ones the export
reads; docs/export.md lists the difference, and tests/test_export_normalized.py checks the
table against the normalizers over the demo dataset.

The client's port that Microsoft 365 and Azure may write after a source address (`1.2.3.4:5678`,
`[2001:db8::1]:443`) is cut off by their normalizers (normalize/_fields.address), so an allowlist
`cidr` compares the address: a `|cidr` test on their `trailhound.src_ip` becomes an AddressCidr,
which each target renders over the address part of the raw column (ADDRESS_PATTERNS).
"""

from __future__ import annotations

from dataclasses import dataclass

from trailhound.engine import ir
from trailhound.model import LOGSOURCES

__all__ = ["ADDRESS_PATTERNS", "PATHS", "PORT_CUT", "AddressCidr", "expand", "paths", "provider",
           "simplify"]

_AZURE_OPERATION = ("operationName.value", "operationName", "operation_name.value", "OperationNameValue")

# source -> normalized attribute -> raw paths, first present one wins (the normalizer's order)
PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "cloudtrail": {
        "time": ("eventTime", "@timestamp"),
        "operation": ("eventName",),
        "service": ("eventSource",),
        "principal": (
            "userIdentity.arn", "userIdentity.principalId", "userIdentity.userName",
            "userIdentity.accountId", "userIdentity.invokedBy",
        ),
        "principal_type": ("userIdentity.type",),
        "src_ip": ("sourceIPAddress",),
        "region": ("awsRegion",),
        "account": ("recipientAccountId", "userIdentity.accountId"),
        "error_code": ("errorCode",),
        "error_message": ("errorMessage",),
        "user_agent": ("userAgent",),
        "event_id": ("eventID",),
    },
    "azure_activity": {
        "time": ("time", "eventTimestamp", "event_timestamp", "TimeGenerated"),
        "operation": _AZURE_OPERATION,
        "principal": ("caller", "Caller"),
        "src_ip": (
            "callerIpAddress", "httpRequest.clientIpAddress", "http_request.client_ip_address",
            "HTTPRequest.clientIpAddress",
        ),
        "account": ("subscriptionId", "subscription_id"),
        "user_agent": ("userAgent", "properties.userAgentHeader"),
        "correlation_id": ("correlationId", "correlation_id", "CorrelationId"),
        "event_id": ("eventDataId", "event_data_id", "EventDataId"),
    },
    "entra_audit": {
        "time": ("properties.activityDateTime", "activityDateTime", "ActivityDateTime", "time", "TimeGenerated"),
        "operation": (
            "properties.activityDisplayName", "activityDisplayName", "ActivityDisplayName",
            "operationName", "OperationName",
        ),
        "service": ("properties.loggedByService", "loggedByService", "LoggedByService"),
        "principal": (
            "properties.initiatedBy.user.userPrincipalName", "initiatedBy.user.userPrincipalName",
            "properties.initiatedBy.app.displayName", "initiatedBy.app.displayName",
        ),
        "src_ip": (
            "properties.initiatedBy.user.ipAddress", "initiatedBy.user.ipAddress", "callerIpAddress",
        ),
        "account": ("tenantId", "AADTenantId", "TenantId"),
        "event_id": ("properties.id", "id", "Id"),
    },
    "entra_signin": {
        "time": ("properties.createdDateTime", "createdDateTime", "time", "TimeGenerated"),
        "operation": ("operationName", "OperationName"),
        "principal": ("properties.userPrincipalName", "userPrincipalName", "UserPrincipalName"),
        "src_ip": ("properties.ipAddress", "ipAddress", "IPAddress", "callerIpAddress"),
        "account": ("tenantId", "AADTenantId", "TenantId"),
        "event_id": ("properties.id", "id", "Id"),
    },
    "gcp_audit": {
        "time": ("timestamp",),
        "operation": ("protoPayload.methodName",),
        "service": ("protoPayload.serviceName",),
        "principal": (
            "protoPayload.authenticationInfo.principalEmail",
            "protoPayload.authenticationInfo.principalSubject",
        ),
        "src_ip": ("protoPayload.requestMetadata.callerIp",),
        "account": ("resource.labels.project_id",),
        "user_agent": ("protoPayload.requestMetadata.callerSuppliedUserAgent",),
        "event_id": ("insertId",),
    },
    "m365_audit": {
        "time": ("CreationTime", "TimeGenerated"),
        "operation": ("Operation",),
        "service": ("Workload",),
        "principal": ("UserId",),
        "src_ip": ("ClientIP", "ClientIPAddress", "Client_IPAddress", "ActorIpAddress"),
        "account": ("OrganizationId", "TenantId"),
        "user_agent": ("UserAgent",),
        "event_id": ("Id", "OfficeId"),
    },
}

# The sources whose normalizer reads the source address through normalize/_fields.address
PORT_CUT = frozenset({"azure_activity", "m365_audit"})
# normalize/_fields.address as patterns a SIEM's regex engine runs (RE2, Java, PCRE), each with
# one group, the address: `[host]` or `[host]:port`; `host:port` (a host without a colon, not
# starting with `[`; the port ASCII digits). The first that matches gives the address; a value
# neither matches is the address as logged. `\z`: the very end (Java's and PCRE's `$` also
# match before a final newline).
ADDRESS_PATTERNS = (r"^\[([^\]]+)\](?::[0-9]+)?\z", r"^([^:\[][^:]*):[0-9]+\z")


@dataclass(frozen=True)
class AddressCidr(ir.Cidr):
    """`|cidr` on the address part of a raw source address (ADDRESS_PATTERNS): the test of an
    allowlist `cidr` (or any `trailhound.src_ip|cidr`) on a PORT_CUT source."""


TRUE: ir.Node = ir.And(())  # an empty conjunction: always true (targets render it as such)
FALSE: ir.Node = ir.Or(())  # an empty disjunction: never true


class NotExportable(Exception):
    """A test an export cannot say in the target's terms; `reason` is one line."""


def provider(source: str) -> str:
    return LOGSOURCES[source][0]


def paths(source: str, attr: str) -> tuple[str, ...]:
    """The raw paths of `attr` in records of `source`, first present one wins ((): not read)."""
    return PATHS.get(source, {}).get(attr, ())


def expand(node: ir.Node, source: str) -> ir.Node:
    """`node` with every `trailhound.<attr>` test rewritten over raw fields of `source`, and
    simplified (constant branches removed). Raises NotExportable for an attribute this source's
    records do not carry in a raw field."""
    return simplify(_expand(node, source))


def _expand(node: ir.Node, source: str) -> ir.Node:
    if isinstance(node, (ir.And, ir.Or)):
        return _expand_all(node, source)
    if isinstance(node, ir.Not):
        return ir.Not(_expand(node.arg, source))
    if isinstance(node, ir.Keyword) or node.attr is None:
        return node
    if node.attr == "provider":
        return TRUE if _constant_matches(node.matcher, provider(source)) else FALSE
    alternatives = paths(source, node.attr)
    matcher = node.matcher
    if node.attr == "src_ip" and source in PORT_CUT and isinstance(matcher, ir.Cidr):
        matcher = AddressCidr(matcher.network)
    if not alternatives:
        raise NotExportable(
            f"{node.field} has no raw field in {source} records (docs/export.md, normalized fields)"
        )
    # first(a, b, c) matches m  <=>  a matches, or (a null and b matches), or ...
    branches: list[ir.Node] = []
    for i, p in enumerate(alternatives):
        nulls = [ir.FieldTest(q, ir.Null()) for q in alternatives[:i]]
        test = ir.FieldTest(p, matcher)
        branches.append(ir.And((*nulls, test)) if nulls else test)
    return branches[0] if len(branches) == 1 else ir.Or(tuple(branches))


def _expand_all(node: ir.And | ir.Or, source: str) -> ir.Node:
    """An And / Or expanded: a part that cannot be said does not matter when another part
    decides the whole (an allowlist entry scoped `provider: aws` is FALSE on Entra records, so
    its `user_agent`, which Entra audit records lack, need not be said there)."""
    decides = FALSE if isinstance(node, ir.And) else TRUE
    args: list[ir.Node] = []
    refused: NotExportable | None = None
    for a in node.args:
        try:
            x = _expand(a, source)
        except NotExportable as exc:
            refused = refused or exc
            continue
        if simplify(x) == decides:
            return decides
        args.append(x)
    if refused is not None:
        raise refused
    return type(node)(tuple(args))


def _constant_matches(m: ir.Matcher, value: str) -> bool:
    from trailhound.engine import fields as F

    if isinstance(m, ir.Text):
        return F.compile_wildcard(m.parts, m.cased)(value)
    if isinstance(m, ir.Regex):
        return m.search(value)
    if isinstance(m, ir.Exists):
        return m.want
    if isinstance(m, ir.Null):
        return False
    raise NotExportable(f"trailhound.provider tested with {m}")


def simplify(node: ir.Node) -> ir.Node:
    if isinstance(node, ir.Not):
        arg = simplify(node.arg)
        if arg == TRUE:
            return FALSE
        if arg == FALSE:
            return TRUE
        return ir.Not(arg)
    if isinstance(node, (ir.And, ir.Or)):
        unit, zero = (TRUE, FALSE) if isinstance(node, ir.And) else (FALSE, TRUE)
        args = [a for a in (simplify(x) for x in node.args) if a != unit]
        if zero in args:
            return zero
        if len(args) == 1:
            return args[0]
        return type(node)(tuple(args))
    return node
